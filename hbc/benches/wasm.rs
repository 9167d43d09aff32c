//! WASM plugin benchmark: per-call cost of `collect` for a trivial plugin against the
//! same logic native, loading from the compile cache, agent RSS with three WASM plugins,
//! and the size of each example `.wasm`.
//!
//! `scripts/build-plugins.sh && cargo bench -p hbc --bench wasm`; figures go to
//! docs/PERFORMANCE.md. Goals: collect overhead <= 10 us, instantiation from the cache
//! <= 1 ms.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is right

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hb_proto::PluginKind;
use hbc::plugins::{Collected, Plugin, PluginError};
use hbc::wasm::{Runtime, WasmPlugin, WasmSettings};
use serde_json::json;

fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .unwrap()
        .to_owned()
}

fn wasm(name: &str) -> PathBuf {
    let path = target_dir()
        .join("wasm32-wasip2/release")
        .join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} missing: run scripts/build-plugins.sh first",
        path.display()
    );
    path
}

/// The trivial plugin's logic, native.
struct Native;
impl Plugin for Native {
    fn name(&self) -> &str {
        "native"
    }
    fn kind(&self) -> PluginKind {
        PluginKind::Monitor
    }
    fn collect(&mut self) -> Result<Collected, PluginError> {
        let mut data = serde_json::Map::new();
        data.insert("answer".into(), json!(42));
        Ok(Collected { data, status: None })
    }
}

fn per_call(plugin: &mut dyn Plugin, rounds: u32) -> Duration {
    for _ in 0..100 {
        plugin.collect().unwrap();
    }
    let mut samples: Vec<Duration> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            plugin.collect().unwrap();
            t.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let runtime = Runtime::new(None).unwrap();
    let settings = WasmSettings {
        config: vec![("mode".into(), "trivial".into())],
        ..WasmSettings::default()
    };
    let mut plugin =
        WasmPlugin::load(&runtime, &wasm("hbd_fixture_plugin"), settings.clone()).unwrap();
    let wasm_call = per_call(&mut plugin, 2000);
    let native_call = per_call(&mut Native, 2000);
    println!(
        "collect, trivial plugin (median of 2000): wasm {:.1} us (live instance), native {:.2} us, overhead {:.1} us (goal <= 10 us)",
        wasm_call.as_secs_f64() * 1e6,
        native_call.as_secs_f64() * 1e6,
        (wasm_call.saturating_sub(native_call)).as_secs_f64() * 1e6
    );

    // Contract 0.2 file access through the host: `stat` of a file, and a 4 KiB tail of a
    // 1 MiB log (`stat` then `read-bytes`), each as one whole collect of the fixture.
    let files = tempfile::tempdir().unwrap();
    let log = files.path().join("app.log");
    std::fs::write(&log, vec![b'x'; 1024 * 1024]).unwrap();
    let file_settings = |mode: &str, extra: &[(&str, &str)]| {
        let mut config = vec![
            ("mode".to_owned(), mode.to_owned()),
            ("file".to_owned(), log.display().to_string()),
        ];
        config.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        WasmSettings {
            config,
            grants: vec![files.path().to_owned()],
            ..WasmSettings::default()
        }
    };
    let mut stat = WasmPlugin::load(
        &runtime,
        &wasm("hbd_fixture_plugin"),
        file_settings("stat", &[]),
    )
    .unwrap();
    let mut tail = WasmPlugin::load(
        &runtime,
        &wasm("hbd_fixture_plugin"),
        file_settings("tail", &[("bytes", "4096")]),
    )
    .unwrap();
    let stat_call = per_call(&mut stat, 2000);
    let tail_call = per_call(&mut tail, 2000);
    println!(
        "collect with one stat: {:.1} us; with a 4 KiB tail read of a 1 MiB file (stat + read-bytes): {:.1} us (median of 2000; the trivial collect above is the floor)",
        stat_call.as_secs_f64() * 1e6,
        tail_call.as_secs_f64() * 1e6,
    );

    let cache = tempfile::tempdir().unwrap();
    let cold = Instant::now();
    WasmPlugin::load(
        &Runtime::new(Some(cache.path().to_owned())).unwrap(),
        &wasm("hbd_log_freshness"),
        WasmSettings::default(),
    )
    .unwrap();
    let cold = cold.elapsed();
    let mut warm: Vec<Duration> = (0..50)
        .map(|_| {
            let rt = Runtime::new(Some(cache.path().to_owned())).unwrap();
            let t = Instant::now();
            WasmPlugin::load(&rt, &wasm("hbd_log_freshness"), WasmSettings::default()).unwrap();
            t.elapsed()
        })
        .collect();
    warm.sort();
    println!(
        "load log_freshness (read, link, instantiate, describe): compiled {:.1} ms, from the cache {:.2} ms median (goal <= 1 ms)",
        cold.as_secs_f64() * 1e3,
        warm[warm.len() / 2].as_secs_f64() * 1e3
    );

    for name in [
        "hbd_fixture_plugin",
        "hbd_log_freshness",
        "fd_usage_c",
        "threads_zig",
        "uptime_js",
        "loadavg_py",
    ] {
        println!(
            "  {name}.wasm: {:.1} KB",
            std::fs::metadata(wasm(name)).unwrap().len() as f64 / 1024.0
        );
    }

    // Agent RSS: every native plugin plus three WASM plugins collecting every second.
    let Some(hbc) = support::hbc_binary() else {
        println!("agent RSS: skipped, target/release/hbc not built");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    // Three plugins (names must differ): the fixture, log_freshness and the C one.
    std::fs::copy(wasm("hbd_fixture_plugin"), plugins.join("a.wasm")).unwrap();
    std::fs::copy(wasm("hbd_log_freshness"), plugins.join("b.wasm")).unwrap();
    std::fs::copy(wasm("fd_usage_c"), plugins.join("c.wasm")).unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "2026-01-01T00:00:00Z hello\n").unwrap();
    let config = dir.path().join("hbc.yaml");
    std::fs::write(
        &config,
        format!(
            "name: bench\ninterval: 1\nwasm_plugins:\n  dirs: [{}]\n  cache_dir: {}\n  plugins:\n    fixture: {{interval: 1, config: {{mode: trivial}}}}\n    log_freshness: {{interval: 1, config: {{path: {}}}, grants: [{}]}}\n    fd_usage_c: {{interval: 1, grants: [/proc/sys/fs/file-nr]}}\n",
            plugins.display(),
            dir.path().join("cache").display(),
            log.display(),
            dir.path().display()
        ),
    )
    .unwrap();
    let peak = support::peak_rss_mb(&hbc, &config, 6);
    println!(
        "agent RSS with every native plugin and 3 WASM plugins (6 s, 1 s intervals, cold compile cache): peak {peak:.1} MB ({})",
        hbc.display()
    );
}
