//! What the WebAssembly host's test files share: the built plugins and a runtime.

use std::path::{Path, PathBuf};

use hbc::wasm::Runtime;

/// Where scripts/test.sh put the built plugins.
pub fn wasm(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/x -> target
    let target = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .unwrap();
    let candidates = [
        target.join("wasm32-wasip2/release"),
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../plugins-wasm/target/wasm32-wasip2/release"),
    ];
    candidates
        .iter()
        .map(|d| d.join(format!("{name}.wasm")))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("{name}.wasm not built; run scripts/test.sh (it builds plugins-wasm)")
        })
}

/// A runtime without a compile cache.
pub fn runtime() -> Runtime {
    Runtime::new(None).unwrap()
}
