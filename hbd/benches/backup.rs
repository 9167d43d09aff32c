//! `hbd backup` and `hbd restore` at size: a state database with HOSTS hosts (default
//! 10,000), each with four plugins' recent reports, history entries and an alert, as
//! the daemon's store writes them; then the backup and the restore, timed. Prints the
//! figures (the goal: each under a minute on the CI machine).
//!
//!   cargo bench -p hbd --bench backup [-- HOSTS]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is right

use std::sync::Arc;
use std::time::{Duration, Instant};

use hb_proto::PluginKind;
use hbd::clock::Timestamp;
use hbd::samples::Sample;
use hbd::store::backup::{backup, restore};
use hbd::store::{Batch, HistoryEntry, Store};
use hbd_core::model::{Event, EventKind, Host, HostState};

/// Reports kept per host and plugin (the daemon's default history is longer; this is
/// what a day of 5-minute reports under remote_write keeps).
const KEPT: usize = 24;
const PLUGINS: [&str; 4] = [
    "cpu_monitor",
    "memory_monitor",
    "disk_monitor",
    "network_monitor",
];

fn main() {
    let hosts: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let filled = Instant::now();
    let mut store = Store::open(&state, KEPT).unwrap();
    for chunk in (0..hosts).collect::<Vec<_>>().chunks(500) {
        let mut batch = Batch::default();
        for &i in chunk {
            let name = format!("host{i:05}");
            let mut host = Host::new(&name, Duration::from_secs(60), Timestamp(1_000));
            host.state = HostState::Up;
            batch.hosts.push(host);
            for round in 0..KEPT {
                for plugin in PLUGINS {
                    let data =
                        serde_json::json!({"percent": (i + round) % 100, "total": 1u64 << 34})
                            .as_object()
                            .cloned()
                            .unwrap();
                    batch.samples.push(Arc::new(Sample {
                        host: name.clone(),
                        plugin: plugin.into(),
                        kind: PluginKind::Monitor,
                        received: Timestamp(1_000 + round as u64 * 300_000),
                        status: None,
                        duration_ms: Some(1.5),
                        data,
                    }));
                }
                batch.history.push(HistoryEntry::event(&Event {
                    host: name.clone(),
                    at: Timestamp(1_000 + round as u64),
                    kind: EventKind::Message {
                        text: format!("round {round}"),
                    },
                }));
            }
        }
        store.write(&batch).unwrap();
    }
    drop(store);
    let size = std::fs::metadata(&state).unwrap().len();
    println!(
        "state database: {hosts} hosts, {} samples, {:.1} MiB, filled in {:.1} s",
        hosts * PLUGINS.len() * KEPT,
        size as f64 / 1048576.0,
        filled.elapsed().as_secs_f64()
    );
    // The backup runs while a writer (the daemon) holds the database open.
    let writer = Store::open(&state, KEPT).unwrap();
    let file = dir.path().join("backup.db");
    let b = backup(&state, &file).unwrap();
    println!(
        "backup:  {:.2} s, {:.1} MiB",
        b.took.as_secs_f64(),
        b.bytes as f64 / 1048576.0
    );
    drop(writer);
    let restored = dir.path().join("restored/state.db");
    let r = restore(&file, &restored).unwrap();
    println!(
        "restore: {:.2} s, {:.1} MiB",
        r.took.as_secs_f64(),
        r.bytes as f64 / 1048576.0
    );
}
