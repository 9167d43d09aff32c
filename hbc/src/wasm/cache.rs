//! Compiled components cached on disk, keyed by the SHA-256 of the `.wasm` file and the
//! engine's compatibility hash, so an agent restart does not recompile.
//!
//! The agent compiles in a child process of its own binary (`hbc plugin compile`, see
//! [`set_compiler`]) that writes the cache file and exits: Cranelift's working memory
//! (about 10 MB for three small plugins) and its code never become part of the
//! long-running agent, which only loads the finished artifact. Without a compiler set
//! (tests, `plugin check`) or a cache directory, or if the child fails, it compiles in
//! process as before.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

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

/// The agent binary that compiles plugins out of process, once set.
static COMPILER: OnceLock<PathBuf> = OnceLock::new();

/// How long an out-of-process compile may take (a Python component takes seconds).
pub const COMPILE_TIMEOUT: Duration = Duration::from_secs(300);

/// Compile plugins by running `binary plugin compile WASM OUT` (the agent's own
/// executable) instead of in this process.
pub fn set_compiler(binary: PathBuf) {
    let _ = COMPILER.set(binary);
}

/// Compiles `wasm` to the cache file `out` (what `hbc plugin compile` does).
pub fn compile_to(engine: &Engine, wasm: &Path, out: &Path) -> Result<(), RuntimeError> {
    let bytes = std::fs::read(wasm).map_err(|source| RuntimeError::Read {
        path: wasm.to_owned(),
        source,
    })?;
    let compiled = engine
        .precompile_component(&bytes)
        .map_err(|e| RuntimeError::Wasm(format!("{e:#}")))?;
    let tmp = out.with_extension("tmp");
    std::fs::write(&tmp, &compiled)
        .and_then(|()| std::fs::rename(&tmp, out))
        .map_err(|source| RuntimeError::Read {
            path: out.to_owned(),
            source,
        })
}

/// Runs the compiler process for `wasm` (its bytes are written next to the cache file
/// first); `true` once `out` exists.
fn compile_outside(compiler: &Path, wasm: &[u8], out: &Path) -> bool {
    let input = out.with_extension("wasm");
    if std::fs::write(&input, wasm).is_err() {
        return false;
    }
    let child = Command::new(compiler)
        .args(["plugin", "compile"])
        .arg(&input)
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let ok = match child {
        Ok(child) => {
            // Waited for on a thread (which also drains stderr), so the time limit needs
            // no polling: past it the compiler is killed and the wait then returns.
            let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let _ = tx.send(child.wait_with_output());
            });
            let output = rx.recv_timeout(COMPILE_TIMEOUT).or_else(|_| {
                tracing::warn!("plugin compiler did not finish; compiling in process");
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                rx.recv()
            });
            match output {
                Ok(Ok(out)) if out.status.success() => true,
                Ok(Ok(out)) => {
                    let why = String::from_utf8_lossy(&out.stderr);
                    tracing::warn!(status = %out.status, error = %why.trim(), "plugin compiler failed; compiling in process");
                    false
                }
                _ => false,
            }
        }
        Err(error) => {
            tracing::warn!(%error, "cannot start the plugin compiler; compiling in process");
            false
        }
    };
    let _ = std::fs::remove_file(&input);
    ok && out.is_file()
}

/// The cache file `wasm` compiles to under `dir` for `engine`.
pub fn path_for(engine: &Engine, wasm: &[u8], dir: &Path) -> PathBuf {
    dir.join(key(engine, wasm))
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
    let path = path_for(engine, wasm, dir);
    if !path.is_file()
        && let Some(compiler) = COMPILER.get()
    {
        compile_outside(compiler, wasm, &path);
    }
    if path.is_file() {
        // Mapped, not read: the code pages come from the file (and only those touched
        // stay resident) instead of a copy on the heap.
        // SAFETY: the file is one this agent wrote with `precompile_component` for an
        // engine with the same compatibility hash (part of the name), in a cache
        // directory only the agent writes, and never modified in place (a new file is
        // renamed over an old one), which a mapped file requires. wasmtime still checks
        // its header.
        #[allow(unsafe_code)]
        match unsafe { Component::deserialize_file(engine, &path) } {
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
