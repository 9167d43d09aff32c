//! What every agent's built-in collectors must keep to, on every system it runs on:
//! percentages within 0..100, parts never more than their totals, counters never going
//! back between two reports, os_info's facts present, every filesystem described,
//! loopback answering ping. [`check`] is run against the agent on Linux here, on Windows
//! under Wine (`windows.rs`) and on arm64 Linux under qemu (`arm64.rs`).
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use hbd_e2e::{Agent, Daemon, wait_until};
use serde_json::Value;

/// The agent config that runs every collector [`check`] reads, each second.
pub(crate) const COLLECTORS: &str = "plugins:
  cpu_monitor: {interval: 1, per_core: true}
  memory_monitor: {interval: 1}
  disk_monitor: {interval: 1}
  network_monitor: {interval: 1}
  os_info: {interval: 1}
  filesystem_info: {interval: 1}
  ping_monitor: {interval: 2, hosts: [127.0.0.1], count: 1, timeout: 1}
";

/// `host`'s two newest reports of `plugin` (newest first), waited for up to 90 s.
fn two_reports(daemon: &Daemon, host: &str, plugin: &str) -> (Value, Value) {
    let path = format!("/api/0/hosts/{host}/plugins/{plugin}?limit=2");
    let mut samples = Vec::new();
    let two = wait_until(Duration::from_secs(90), || {
        let Some((200, body)) = daemon.get(&path) else {
            return false;
        };
        let answer: Value = serde_json::from_str(&body).unwrap();
        samples = answer["samples"].as_array().cloned().unwrap_or_default();
        samples.len() == 2
    });
    assert!(two, "{host}: fewer than two {plugin} reports within 90 s");
    (samples[0]["data"].clone(), samples[1]["data"].clone())
}

/// A number at `key` of `object`, if it has one.
fn number(object: &Value, key: &str) -> Option<f64> {
    object.get(key).and_then(Value::as_f64)
}

fn percent(host: &str, what: &str, object: &Value, key: &str) {
    if let Some(v) = number(object, key) {
        assert!((0.0..=100.0).contains(&v), "{host}: {what} {key} = {v}");
    }
}

/// `part` of `object` is at most `whole` (both present, or the rule does not apply).
fn at_most(host: &str, what: &str, object: &Value, part: &str, whole: &str) {
    if let (Some(p), Some(w)) = (number(object, part), number(object, whole)) {
        // Rounding to a hundredth may put a part a hair over its whole.
        assert!(p <= w + 0.011, "{host}: {what} {part} {p} > {whole} {w}");
    }
}

/// Each counter of `newer` is at least what it was in `older`.
fn not_back(host: &str, what: &str, newer: &Value, older: &Value, counters: &[&str]) {
    for counter in counters {
        if let (Some(n), Some(o)) = (number(newer, counter), number(older, counter)) {
            assert!(n >= o, "{host}: {what} {counter} went back from {o} to {n}");
        }
    }
}

/// Checks `host`'s built-in collectors' reports (run with [`COLLECTORS`]).
pub(crate) fn check(daemon: &Daemon, host: &str) {
    let (cpu, _) = two_reports(daemon, host, "cpu_monitor");
    percent(host, "cpu_monitor", &cpu, "cpu_percent");
    assert!(number(&cpu, "cpu_percent").is_some(), "{host}: {cpu}");
    assert!(
        number(&cpu, "cpu_count").unwrap_or(0.0) >= 1.0,
        "{host}: {cpu}"
    );
    for core in cpu["per_core"].as_array().into_iter().flatten() {
        let v = core.as_f64().unwrap();
        assert!((0.0..=100.0).contains(&v), "{host}: a core at {v}: {cpu}");
    }
    for load in ["load_1min", "load_5min", "load_15min"] {
        assert!(number(&cpu, load).unwrap_or(0.0) >= 0.0, "{host}: {cpu}");
    }

    let (memory, _) = two_reports(daemon, host, "memory_monitor");
    assert!(
        number(&memory, "total_mb").unwrap_or(0.0) > 0.0,
        "{host}: {memory}"
    );
    for key in ["percent", "swap_percent"] {
        percent(host, "memory_monitor", &memory, key);
    }
    at_most(host, "memory_monitor", &memory, "used_mb", "total_mb");
    at_most(host, "memory_monitor", &memory, "available_mb", "total_mb");
    at_most(
        host,
        "memory_monitor",
        &memory,
        "swap_used_mb",
        "swap_total_mb",
    );

    let (disks, older_disks) = two_reports(daemon, host, "disk_monitor");
    let partitions = disks["partitions"].as_object().unwrap();
    assert!(!partitions.is_empty(), "{host}: no partition: {disks}");
    for (mount, p) in partitions {
        let what = format!("disk_monitor {mount}");
        percent(host, &what, p, "percent");
        at_most(host, &what, p, "used_gb", "total_gb");
        at_most(host, &what, p, "free_gb", "total_gb");
    }
    for (device, io) in disks["io"].as_object().into_iter().flatten() {
        let counters = ["reads", "writes", "read_bytes", "write_bytes"];
        let what = format!("disk_monitor io {device}");
        not_back(host, &what, io, &older_disks["io"][device], &counters);
        percent(host, &what, io, "busy_percent");
    }

    // Linux only for now: elsewhere the report is its failure, with no numbers.
    let (net, older_net) = two_reports(daemon, host, "network_monitor");
    // Its counters: the catalogue's interface metrics that are not rates.
    let counters: Vec<&str> = hb_proto::catalogue::BUILT_IN
        .iter()
        .find(|p| p.name == "network_monitor")
        .and_then(|p| p.collections.iter().find(|(name, _)| *name == "interfaces"))
        .map(|(_, metrics)| {
            metrics
                .iter()
                .copied()
                .filter(|m| !m.ends_with("_per_s"))
                .collect()
        })
        .unwrap_or_default();
    assert!(counters.contains(&"rx_bytes"), "{counters:?}");
    for (name, i) in net["interfaces"].as_object().into_iter().flatten() {
        let what = format!("network_monitor {name}");
        not_back(host, &what, i, &older_net["interfaces"][name], &counters);
    }

    let (filesystems, _) = two_reports(daemon, host, "filesystem_info");
    let list = filesystems["filesystems"].as_array().unwrap();
    assert!(!list.is_empty(), "{host}: no filesystem: {filesystems}");
    assert_eq!(
        number(&filesystems, "count"),
        Some(list.len() as f64),
        "{host}: {filesystems}"
    );
    for fs in list {
        for key in ["device", "mount_point", "fstype"] {
            assert!(
                fs[key].is_string(),
                "{host}: filesystem without {key}: {fs}"
            );
        }
        assert!(fs["read_only"].is_boolean(), "{host}: {fs}");
    }

    // Loopback answers on every OS: the summary was read in the OS's own dialect.
    let (ping, _) = two_reports(daemon, host, "ping_monitor");
    let loopback = &ping["targets"]["127.0.0.1"];
    assert!(loopback.get("error").is_none(), "{host}: {ping}");
    percent(host, "ping_monitor", loopback, "loss_percent");
    at_most(host, "ping_monitor", loopback, "received", "transmitted");
    assert!(
        number(loopback, "received").unwrap_or(0.0) >= 1.0,
        "{host}: {ping}"
    );
    at_most(host, "ping_monitor", loopback, "rtt_min_ms", "rtt_avg_ms");
    at_most(host, "ping_monitor", loopback, "rtt_avg_ms", "rtt_max_ms");

    let (os, _) = two_reports(daemon, host, "os_info");
    for key in ["os", "architecture", "hostname", "kernel"] {
        assert!(
            os[key].as_str().is_some_and(|v| !v.is_empty()),
            "{host}: os_info has no {key}: {os}"
        );
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let boot = number(&os, "boot_time").unwrap_or(0.0);
    assert!(boot > 0.0 && boot <= now, "{host}: boot_time {boot}: {os}");
}

#[test]
fn the_linux_agents_collectors_keep_to_the_invariants() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), "");
    let _agent = Agent::start(
        dir.path(),
        "linux1",
        daemon.udp_addr(),
        &format!("interval: 0.5\n{COLLECTORS}"),
    );
    check(&daemon, "linux1");
}
