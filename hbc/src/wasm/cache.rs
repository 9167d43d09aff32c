//! Compiled components cached on disk, keyed by the SHA-256 of the `.wasm` file and the
//! engine's compatibility hash, so an agent restart does not recompile.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::runtime::RuntimeError;

fn key(engine: &Engine, wasm: &[u8]) -> String {
    let digest = Sha256::digest(wasm);
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}-{:016x}.cwasm", h.finish())
}

/// The component for `wasm`: from the cache if present, else compiled (and cached).
pub fn component(
    engine: &Engine,
    wasm: &[u8],
    cache_dir: Option<&Path>,
) -> Result<Component, RuntimeError> {
    let wasm_err = |e: wasmtime::Error| RuntimeError::Wasm(format!("{e:#}"));
    let Some(dir) = cache_dir else {
        return Component::new(engine, wasm).map_err(wasm_err);
    };
    let path = dir.join(key(engine, wasm));
    if let Ok(compiled) = std::fs::read(&path) {
        // SAFETY: the file is one this agent wrote with `precompile_component` for an
        // engine with the same compatibility hash (part of the name), in a cache
        // directory only the agent writes. wasmtime still checks its header.
        #[allow(unsafe_code)]
        match unsafe { Component::deserialize(engine, &compiled) } {
            Ok(c) => return Ok(c),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cached plugin unusable; recompiling")
            }
        }
    }
    let compiled = engine.precompile_component(wasm).map_err(wasm_err)?;
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, &compiled)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .is_err()
    {
        tracing::warn!(path = %path.display(), "cannot write the plugin cache");
    }
    // SAFETY: `compiled` was produced just now by `precompile_component` on this engine.
    #[allow(unsafe_code)]
    unsafe { Component::deserialize(engine, &compiled) }.map_err(wasm_err)
}
