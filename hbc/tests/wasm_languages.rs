//! Plugins written in other languages than Rust (Python, JavaScript, C, Zig), built by
//! scripts/build-plugins.sh, run in the same sandbox as the Rust ones: each does its
//! work with its grants and fails cleanly without them.
#![cfg(feature = "wasm")]
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use hbd_e2e::needs::Need;
use std::time::Duration;

use hb_proto::Status;
use hbc::plugins::Plugin;
use hbc::wasm::{Runtime, WasmPlugin, WasmSettings};

mod support;
use support::{persistent_cache, runtime, wasm};

#[test]
fn a_python_plugin_runs_in_the_same_sandbox() {
    hbd_e2e::require!(Need::Wasm("loadavg_py"));
    // The 18 MB component takes about half a minute to compile in a debug build.
    let cache = persistent_cache();
    // Fixture files, not this machine's /proc: a busy machine must not change the verdict.
    let dir = tempfile::tempdir().unwrap();
    let cpuinfo = dir.path().join("cpuinfo");
    std::fs::write(
        &cpuinfo,
        "processor\t: 0\nmodel name\t: x\n\nprocessor\t: 1\n",
    )
    .unwrap();
    let rt = Runtime::new(Some(cache)).unwrap();
    // (load line, expected status): per CPU 0.5 is OK, 1.5 WARNING, 2.5 CRITICAL.
    for (i, (load, want)) in [
        ("0.25 1.00 0.75 1/99 123", Status::Ok),
        ("2.00 3.00 1.00 1/99 123", Status::Warning),
        ("9.00 5.00 4.00 1/99 123", Status::Critical),
    ]
    .into_iter()
    .enumerate()
    {
        let loadavg = dir.path().join(format!("loadavg{i}"));
        std::fs::write(&loadavg, load).unwrap();
        let settings = WasmSettings {
            grants: vec![loadavg.clone(), cpuinfo.clone()],
            config: vec![
                ("loadavg".into(), loadavg.display().to_string()),
                ("cpuinfo".into(), cpuinfo.display().to_string()),
            ],
            timeout: Duration::from_secs(10),
            memory_bytes: 64 * 1024 * 1024,
            ..WasmSettings::default()
        };
        let mut p = WasmPlugin::load(&rt, &wasm("loadavg_py"), settings).unwrap();
        assert_eq!(p.name(), "loadavg_py");
        let c = p.collect().unwrap();
        assert_eq!(c.status, Some(want), "{load}: {:?}", c.data);
        assert_eq!(c.data["cpus"], 2);
        assert!(c.data["message"].as_str().unwrap().contains("CPUs"));
    }
    // Ungranted, the same plugin fails cleanly.
    let mut bare = WasmPlugin::load(
        &rt,
        &wasm("loadavg_py"),
        WasmSettings {
            timeout: Duration::from_secs(10),
            memory_bytes: 64 << 20,
            ..WasmSettings::default()
        },
    )
    .unwrap();
    let err = bare.collect().unwrap_err().to_string();
    assert!(err.contains("not granted"), "{err}");
}

#[test]
fn a_javascript_plugin_runs_in_the_same_sandbox() {
    hbd_e2e::require!(Need::Wasm("uptime_js"));
    let cache = persistent_cache();
    let settings = WasmSettings {
        grants: vec!["/proc/uptime".into()],
        config: vec![("min_uptime_s".into(), "1".into())],
        timeout: Duration::from_secs(10),
        memory_bytes: 64 * 1024 * 1024,
        ..WasmSettings::default()
    };
    let mut p = WasmPlugin::load(
        &Runtime::new(Some(cache)).unwrap(),
        &wasm("uptime_js"),
        settings,
    )
    .unwrap();
    assert_eq!(p.name(), "uptime_js");
    let c = p.collect().unwrap();
    assert_eq!(c.status, Some(Status::Ok), "{:?}", c.data);
    assert!(c.data["uptime_s"].as_f64().unwrap() > 1.0);
    assert_eq!(c.data["recent_reboot"], false);
    // Without the grant: the plugin branches on the error's case (contract 0.2).
    let mut bare = WasmPlugin::load(
        &Runtime::new(Some(persistent_cache())).unwrap(),
        &wasm("uptime_js"),
        WasmSettings {
            timeout: Duration::from_secs(10),
            memory_bytes: 64 * 1024 * 1024,
            ..WasmSettings::default()
        },
    )
    .unwrap();
    assert_eq!(bare.contract(), "0.2.0");
    let err = bare.collect().unwrap_err().to_string();
    assert!(
        err.contains("cannot read /proc/uptime: not granted to this plugin"),
        "{err}"
    );
}

#[test]
fn a_c_plugin_runs_in_the_same_sandbox() {
    hbd_e2e::require!(Need::Wasm("fd_usage_c"));
    let settings = WasmSettings {
        grants: vec!["/proc/sys/fs/file-nr".into()],
        ..WasmSettings::default()
    };
    let mut p = WasmPlugin::load(&runtime(), &wasm("fd_usage_c"), settings).unwrap();
    assert_eq!(p.name(), "fd_usage_c");
    let c = p.collect().unwrap();
    assert_eq!(c.status, Some(Status::Ok), "{:?}", c.data);
    let allocated = c.data["handles"]["allocated"].as_i64().unwrap();
    let max = c.data["handles"]["max"].as_i64().unwrap();
    assert!(allocated > 0 && max > allocated);
    let percent = c.data["percent"].as_f64().unwrap();
    assert!((percent - 100.0 * allocated as f64 / max as f64).abs() < 1e-9);
    // Its error path: without the grant it reports the host's refusal.
    let mut bare =
        WasmPlugin::load(&runtime(), &wasm("fd_usage_c"), WasmSettings::default()).unwrap();
    assert!(
        bare.collect()
            .unwrap_err()
            .to_string()
            .contains("not granted")
    );
}

#[test]
fn a_zig_plugin_runs_in_the_same_sandbox() {
    hbd_e2e::require!(Need::Wasm("threads_zig"));
    let settings = WasmSettings {
        grants: vec!["/proc/loadavg".into()],
        ..WasmSettings::default()
    };
    let mut p = WasmPlugin::load(&runtime(), &wasm("threads_zig"), settings).unwrap();
    assert_eq!(p.name(), "threads_zig");
    let c = p.collect().unwrap();
    assert_eq!(c.status, Some(Status::Ok), "{:?}", c.data);
    let (running, total) = (
        c.data["running"].as_i64().unwrap(),
        c.data["total"].as_i64().unwrap(),
    );
    assert!(running >= 1 && total >= running, "{running}/{total}");
}
