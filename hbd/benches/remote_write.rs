//! remote_write throughput: samples per second from `RemoteWrite::push` (as the engine
//! hands them over, one plugin report at a time) to a real VictoriaMetrics on loopback,
//! in the daemon's batches of snappy protobuf. Prints the figure; skips without
//! `victoria-metrics` (Debian's package).
//!
//!   cargo bench -p hbd --bench remote_write [-- REPORTS]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is right

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hbd::clock::Timestamp;
use hbd::metrics::Metrics;
use hbd::remote_write::{HANDOVER, RemoteWrite, Settings, series};

/// The daemon's allocator (see `main.rs`), so that allocation costs what it costs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // One TLS provider for every client (as the daemon installs it): ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let reports: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Ok(mut vm) = Command::new("victoria-metrics")
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .arg(format!(
            "-storageDataPath={}",
            dir.path().join("vm").display()
        ))
        .arg("-retentionPeriod=1d")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        println!("remote_write: skipped, victoria-metrics not installed");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let health = format!("http://127.0.0.1:{port}/health");
        let deadline = Instant::now() + Duration::from_secs(20);
        while reqwest::get(&health).await.is_err() {
            assert!(Instant::now() < deadline, "victoria-metrics did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let metrics = Arc::new(Metrics::new());
        let settings = Settings {
            url: format!("http://127.0.0.1:{port}/api/v1/write"),
            max_samples: 10_000_000,
            ..Settings::default()
        };
        let (batch, shards) = (settings.batch, settings.shards);
        let room = i64::try_from(settings.max_samples * 3 / 4).unwrap_or(i64::MAX);
        let shutdown = tokio_util::sync::CancellationToken::new();
        let (rw, task) = RemoteWrite::start(settings, metrics.clone(), shutdown.clone()).unwrap();
        // 1,000 hosts' cpu reports (ten values each), each host once a second.
        let data = serde_json::json!({
            "cpu_percent": 37.5, "user": 20.1, "system": 9.3, "iowait": 0.4, "steal": 0.0,
            "load": {"1min": 0.5, "5min": 0.4, "15min": 0.3}, "per_core": [12.0, 63.0],
        });
        let data = data.as_object().unwrap();
        let t0 = Timestamp::now().0 as i64 - 3_600_000;
        let started = Instant::now();
        for i in 0..reports {
            let host = format!("h{:04}", i % 1000);
            let ts = t0 + (i / 1000) as i64 * 1000;
            rw.push(series::report(&host, "cpu_monitor", data, ts, &rw.external));
            // Sustained throughput, not the size of the buffers: wait while the hand-over
            // channel or the sender's queue is nearly full rather than have either drop
            // (the engine would drop, counted). Both waits are bounded by the run's
            // deadline below.
            if rw.room() < HANDOVER / 4 || (i % 1000 == 999 && metrics.rw_queued.get() > room) {
                while rw.room() < HANDOVER / 2 || metrics.rw_queued.get() > room {
                    assert!(started.elapsed() < Duration::from_secs(600), "stuck for 10 minutes");
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
        let produced = metrics.rw_produced.get();
        while metrics.rw_sent.get() + metrics.rw_dropped.get() < produced {
            assert!(started.elapsed() < Duration::from_secs(600), "not done in 10 minutes");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "remote_write to VictoriaMetrics: {produced} samples ({reports} reports) in {secs:.2} s: {:.0} samples/s sent; batch {batch}, {shards} shards, dropped {}, retried {}",
            metrics.rw_sent.get() as f64 / secs,
            metrics.rw_dropped.get(),
            metrics.rw_retried.get()
        );
        shutdown.cancel();
        drop(rw);
        let _ = task.await;
    });
    let _ = vm.kill();
    let _ = vm.wait();
}
