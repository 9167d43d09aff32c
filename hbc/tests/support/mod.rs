//! What the WebAssembly host's test files share: the built plugins and a runtime.

use std::path::{Path, PathBuf};

use hbc::wasm::Runtime;

/// Where scripts/build-plugins.sh put the built plugin `name` (the harness's lookup).
pub fn wasm(name: &str) -> PathBuf {
    hbd_e2e::needs::built_wasm(name).unwrap_or_else(|| {
        panic!("{name}.wasm not built; run scripts/test.sh (it builds plugins-wasm)")
    })
}

/// A runtime without a compile cache.
pub fn runtime() -> Runtime {
    Runtime::new(None).unwrap()
}

/// A compile cache next to the build (`target/debug/wasm-cache`): the big Python and
/// JavaScript components compile once per build dir, later runs load them in milliseconds.
#[allow(dead_code)] // not every test file that shares this module uses it
pub fn persistent_cache() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(Path::parent)
        .unwrap()
        .join("wasm-cache")
}
