//! `hbc-compile` as the agent runs it: one plugin in, one compiled file out, and what
//! is not a plugin refused with the file named.

use std::path::PathBuf;
use std::process::Command;

use hbc::plugins::Plugin;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../hbc/tests/fixtures/plugin-0.1/hbd_fixture_plugin.wasm")
}

#[test]
fn compiles_a_plugin_that_the_agent_then_loads_without_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fixture.cwasm");
    let run = Command::new(env!("CARGO_BIN_EXE_hbc-compile"))
        .arg(fixture())
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let compiled = std::fs::read(&out).unwrap();
    assert!(
        compiled.starts_with(b"\x7fELF"),
        "wasmtime writes an ELF image"
    );

    // The agent's own path: a runtime whose compiler is this binary loads the plugin and
    // the cache then holds what the child wrote.
    let cache = dir.path().join("cache");
    hbc::wasm::cache::set_compiler(PathBuf::from(env!("CARGO_BIN_EXE_hbc-compile")));
    let runtime = hbc::wasm::Runtime::new(Some(cache.clone())).unwrap();
    let entry = hbc::config::WasmPluginConfig {
        config: [("mode".to_owned(), serde_json::json!("trivial"))].into(),
        ..Default::default()
    };
    let settings = hbc::wasm_loader::settings(Some(&entry)).unwrap();
    let mut plugin = hbc::wasm::WasmPlugin::load(&runtime, &fixture(), settings).unwrap();
    assert_eq!(plugin.name(), "fixture");
    plugin.collect().unwrap();
    let cached: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert!(cached[0].ends_with(".cwasm"), "{cached:?}");
}

#[test]
fn refuses_what_is_not_a_plugin_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.wasm");
    std::fs::write(&bad, b"not wasm at all").unwrap();
    let out = dir.path().join("bad.cwasm");
    let run = Command::new(env!("CARGO_BIN_EXE_hbc-compile"))
        .arg(&bad)
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.starts_with("hbc-compile: ") && stderr.contains("bad.wasm"),
        "{stderr}"
    );
    assert!(!out.exists());
}
