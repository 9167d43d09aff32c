//! What the WebAssembly host's test files share: the built plugins and a runtime.

use std::path::PathBuf;

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
