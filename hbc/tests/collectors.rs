//! Every native collector, run through the plugin registry against a fixture `/proc`
//! tree (`tests/fixtures/proc`), as the agent runs it.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::PathBuf;

use hbc::plugins::{Options, build};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn collect(name: &str, extra: Value) -> serde_json::Map<String, Value> {
    let mut options = json!({ "proc_root": fixtures().join("proc"), "os_release": fixtures().join("os-release") });
    options
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let mut plugin = build(name, &Options::new(name, &options).unwrap()).unwrap();
    assert_eq!(plugin.name(), name);
    plugin.collect().unwrap().data
}

#[test]
fn os_info_from_fixtures() {
    let d = collect("os_info", json!({}));
    assert_eq!(d["kernel"], "6.1.0-99-amd64");
    assert_eq!(d["hostname"], "fixture-host");
    assert_eq!(d["boot_time"], 1_764_000_000);
    assert_eq!(d["distribution"], "Debian GNU/Linux");
    assert_eq!(d["version"], "12");
    assert_eq!(d["os"], "linux");
    assert!(d["architecture"].is_string());
}

#[test]
fn cpu_monitor_from_fixtures() {
    let d = collect("cpu_monitor", json!({"per_core": true}));
    // The fixture does not change between the two samples: 0 % busy.
    assert_eq!(d["cpu_percent"], 0.0);
    assert_eq!(d["load_1min"], 0.52);
    assert_eq!(d["load_5min"], 0.58);
    assert_eq!(d["load_15min"], 0.59);
    assert_eq!(d["cpu_count"], 2);
    assert_eq!(d["frequency_mhz"], 2500.0);
    assert_eq!(d["thread_count"], 467);
    assert_eq!(d["process_count"], 2);
    assert_eq!(d["per_core"], json!([0.0, 0.0]));
}

#[test]
fn cpu_frequency_falls_back_to_sysfs() {
    let options =
        json!({ "proc_root": fixtures().join("proc-arm"), "sys_root": fixtures().join("sys") });
    let mut plugin = build(
        "cpu_monitor",
        &Options::new("cpu_monitor", &options).unwrap(),
    )
    .unwrap();
    assert_eq!(plugin.collect().unwrap().data["frequency_mhz"], 2000.0);
}

#[test]
fn memory_monitor_from_fixtures() {
    let d = collect("memory_monitor", json!({}));
    assert_eq!(d["percent"], 75.0);
    assert_eq!(d["total_mb"], 8000.0);
    assert_eq!(d["used_mb"], 6000.0);
    assert_eq!(d["available_mb"], 2000.0);
    assert_eq!(d["swap_percent"], 25.0);
    assert_eq!(d["swap_used_mb"], 250.0);
}

#[test]
fn disk_monitor_from_fixtures() {
    let d = collect("disk_monitor", json!({}));
    // Only the physical mount (/, ext4) is listed; its space comes from the real statvfs.
    let parts = d["partitions"].as_object().unwrap();
    assert_eq!(parts.keys().collect::<Vec<_>>(), ["/"]);
    let root = &parts["/"];
    for key in ["percent", "free_gb", "free_mb", "total_gb", "used_gb"] {
        assert!(root[key].is_number(), "{key}: {root}");
    }
    assert_eq!(root["fstype"], "ext4");
    assert_eq!(d["io"]["vda"]["read_bytes"], 1_048_576);
    assert!(d["io"].get("loop0").is_none());
}

#[test]
fn network_monitor_from_fixtures() {
    let d = collect("network_monitor", json!({}));
    assert_eq!(d["interfaces"]["eth0"]["rx_bytes"], 5_000_000);
    assert_eq!(d["interfaces"]["eth0"]["tx_dropped"], 4);
    assert_eq!(d["errors_total"], 3);
    assert_eq!(d["dropped_total"], 7);
    assert_eq!(d["tcp_connections"]["ESTABLISHED"], 2);
    assert_eq!(d["tcp_connections"]["TIME_WAIT"], 1);
    assert_eq!(d["tcp_connections"]["in_use"], 4);
    let full = collect("network_monitor", json!({"tcp_states": true}));
    assert_eq!(full["tcp_connections"]["LISTEN"], 1);
    assert_eq!(full["tcp_connections"]["ESTABLISHED"], 1);
}

#[test]
fn filesystem_info_from_fixtures() {
    let d = collect("filesystem_info", json!({}));
    assert_eq!(d["count"], 1);
    assert_eq!(d["filesystems"][0]["mount_point"], "/");
    let all = collect("filesystem_info", json!({"all": true}));
    assert_eq!(all["count"], 3);
}

#[test]
fn a_missing_proc_file_is_an_error_not_a_panic() {
    let options = json!({ "proc_root": "/nonexistent" });
    for name in [
        "os_info",
        "cpu_monitor",
        "memory_monitor",
        "disk_monitor",
        "network_monitor",
        "filesystem_info",
    ] {
        let mut plugin = build(name, &Options::new(name, &options).unwrap()).unwrap();
        let err = plugin.collect().unwrap_err().to_string();
        assert!(err.contains("/nonexistent"), "{name}: {err}");
    }
}

#[test]
fn rates_appear_from_the_second_collection() {
    let options = json!({ "proc_root": fixtures().join("proc") });
    let mut plugin = build(
        "network_monitor",
        &Options::new("network_monitor", &options).unwrap(),
    )
    .unwrap();
    let first = plugin.collect().unwrap().data;
    assert!(first["interfaces"]["eth0"].get("rx_bytes_per_s").is_none());
    let second = plugin.collect().unwrap().data;
    assert_eq!(second["interfaces"]["eth0"]["rx_bytes_per_s"], 0.0);
}

/// Every numeric leaf of a report, as key paths.
fn numeric_paths(data: &serde_json::Map<String, Value>) -> Vec<Vec<String>> {
    fn walk(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            Value::Number(_) => out.push(path.clone()),
            Value::Object(m) => {
                for (k, child) in m {
                    path.push(k.clone());
                    walk(child, path, out);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    path.push(i.to_string());
                    walk(child, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (k, v) in data {
        walk(v, &mut vec![k.clone()], &mut out);
    }
    out
}

#[test]
fn every_metric_a_collector_reports_is_in_the_shared_catalogue() {
    use hb_proto::catalogue::{Alerting, check_path, find};
    let cases = [
        ("os_info", json!({})),
        ("cpu_monitor", json!({"per_core": true})),
        ("memory_monitor", json!({})),
        ("disk_monitor", json!({})),
        ("network_monitor", json!({"tcp_states": true})),
        ("filesystem_info", json!({})),
    ];
    for (name, extra) in cases {
        let spec = find(name).unwrap_or_else(|| panic!("{name} is not in the catalogue"));
        let data = collect(name, extra);
        assert!(!data.is_empty(), "{name} reported nothing");
        if spec.alerting == Alerting::Info {
            continue;
        }
        let paths = numeric_paths(&data);
        assert!(!paths.is_empty(), "{name} reported no number");
        for path in paths {
            let mut keys = vec![name.to_owned()];
            keys.extend(path);
            assert_eq!(check_path(&keys), Ok(()), "{keys:?}");
        }
    }
    // Every built-in plugin can be built (ping and Nagios need settings to run).
    for name in hbc::plugins::built_in() {
        let options = match name {
            "ping_monitor" => json!({"hosts": ["127.0.0.1"]}),
            "nagios_runner" => json!({"commands": ["/bin/true"]}),
            _ => json!({}),
        };
        assert!(
            build(name, &Options::new(name, &options).unwrap()).is_ok(),
            "{name}"
        );
    }
}
