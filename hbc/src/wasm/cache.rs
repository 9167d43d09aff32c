//! Compiled components cached on disk, keyed by the SHA-256 of the `.wasm` file and the
//! engine's compatibility hash, so an agent restart does not recompile.
//!
//! The agent does not compile: `hbc-compile` (its own package, the one build with
//! Cranelift) runs as a child process, writes the cache file and exits, and the agent
//! maps the result. Cranelift's code (and its working memory, about 10 MB for three
//! small plugins) is never part of the long-running agent. An agent built with the
//! `compiler` feature (workspace builds, tests) compiles in process when no compiler is
//! set or the child fails; one without says what is missing.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Why the runtime or a component could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// wasmtime refused (bad engine config, invalid or incompatible component).
    #[error("{0}")]
    Wasm(String),
    /// The plugin is not compiled and this agent cannot compile it (it is built without
    /// Cranelift): install `hbc-compile` beside it or on `PATH`.
    #[error(
        "the plugin needs compiling and this agent does not compile ({0}); install hbc-compile beside hbc or on PATH"
    )]
    NoCompiler(String),
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Why the compiler process gave no compiled plugin.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The plugin's bytes could not be written for it.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The input file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// It could not be started.
    #[error("cannot start it: {0}")]
    Start(std::io::Error),
    /// Waiting for it failed.
    #[error("{0}")]
    Wait(String),
    /// It ran past [`COMPILE_TIMEOUT`] and was killed.
    #[error("did not finish within {} s", COMPILE_TIMEOUT.as_secs())]
    TimedOut,
    /// It failed, in its own words.
    #[error("{status}: {stderr}")]
    Failed {
        /// How it exited.
        status: std::process::ExitStatus,
        /// What it said.
        stderr: String,
    },
    /// It exited cleanly but wrote nothing.
    #[error("it wrote no {}", .0.display())]
    NoOutput(PathBuf),
}

/// The cache file's name: the plugin's SHA-256 and the agent's version (which fixes
/// wasmtime's version and the engine's settings; an agent without the compiler cannot
/// ask the engine for its compatibility hash). wasmtime checks the rest when loading.
fn key(wasm: &[u8]) -> String {
    let digest = Sha256::digest(wasm);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}-{}.cwasm", env!("CARGO_PKG_VERSION"))
}

/// The compiler executable (`hbc-compile`), once set.
static COMPILER: OnceLock<PathBuf> = OnceLock::new();

pub use crate::COMPILER_NAME;

/// How long an out-of-process compile may take (a Python component takes seconds).
pub const COMPILE_TIMEOUT: Duration = Duration::from_secs(300);

/// Compile plugins by running `binary WASM OUT` (`hbc-compile`).
pub fn set_compiler(binary: PathBuf) {
    let _ = COMPILER.set(binary);
}

/// Where `hbc-compile` is for an agent whose binary is `exe`: beside it (where
/// `hb_install.sh` puts it), else the first on `PATH`.
pub fn find_compiler(exe: Option<&Path>) -> Option<PathBuf> {
    let beside = exe
        .and_then(Path::parent)
        .map(|dir| dir.join(crate::COMPILER_FILE));
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(crate::COMPILER_FILE));
    beside.into_iter().chain(on_path).find(|p| p.is_file())
}

/// Compiles `wasm` to the cache file `out` (what `hbc-compile` does).
#[cfg(feature = "compiler")]
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
/// Fails with the compiler's own words, or why it could not run.
fn compile_outside(compiler: &Path, wasm: &[u8], out: &Path) -> Result<(), CompileError> {
    let input = out.with_extension("wasm");
    std::fs::write(&input, wasm).map_err(|source| CompileError::Write {
        path: input.clone(),
        source,
    })?;
    let mut command = Command::new(compiler);
    command
        .arg(&input)
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    crate::process::isolate(&mut command);
    let result = match command.spawn() {
        Ok(child) => {
            // Waited for on a thread (which also drains stderr), so the time limit needs
            // no polling: past it the compiler (and all it started) is killed and the
            // wait then returns.
            let tree = crate::process::Tree::of(&child);
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let _ = tx.send(child.wait_with_output());
            });
            let mut late = false;
            let output = rx.recv_timeout(COMPILE_TIMEOUT).or_else(|_| {
                late = true;
                tree.kill();
                rx.recv()
            });
            match output {
                _ if late => Err(CompileError::TimedOut),
                Ok(Ok(done)) if done.status.success() => Ok(()),
                Ok(Ok(done)) => Err(CompileError::Failed {
                    status: done.status,
                    stderr: String::from_utf8_lossy(&done.stderr).trim().to_owned(),
                }),
                Ok(Err(e)) => Err(CompileError::Wait(e.to_string())),
                Err(e) => Err(CompileError::Wait(e.to_string())),
            }
        }
        Err(error) => Err(CompileError::Start(error)),
    };
    let _ = std::fs::remove_file(&input);
    result.and_then(|()| {
        out.is_file()
            .then_some(())
            .ok_or_else(|| CompileError::NoOutput(out.to_owned()))
    })
}

/// The cache file `wasm` compiles to under `dir`.
pub fn path_for(wasm: &[u8], dir: &Path) -> PathBuf {
    dir.join(key(wasm))
}

/// The component for `wasm`: from the cache if present, else compiled (and cached).
pub fn component(
    engine: &Engine,
    wasm: &[u8],
    cache_dir: Option<&Path>,
) -> Result<Component, RuntimeError> {
    let Some(dir) = cache_dir else {
        return compile_here(engine, wasm, None, "no cache directory to compile into");
    };
    let path = path_for(wasm, dir);
    // A file left by another version is removed and compiled again.
    if path.is_file()
        && let Ok(c) = map(engine, &path)
    {
        return Ok(c);
    }
    let why = match COMPILER.get() {
        None => "no hbc-compile found".to_owned(),
        Some(compiler) => match compile_outside(compiler, wasm, &path) {
            Err(e) => {
                tracing::warn!(compiler = %compiler.display(), error = %e, "plugin compiler failed");
                format!("{} failed: {e}", compiler.display())
            }
            Ok(()) => match map(engine, &path) {
                Ok(c) => return Ok(c),
                Err(e) => format!(
                    "{} wrote a file this agent cannot load ({e}): is it the same version as hbc ({})?",
                    compiler.display(),
                    env!("CARGO_PKG_VERSION")
                ),
            },
        },
    };
    compile_here(engine, wasm, Some(&path), &why)
}

/// The compiled component in the cache file `path`; an unusable file is removed.
fn map(engine: &Engine, path: &Path) -> Result<Component, RuntimeError> {
    // Mapped, not read: the code pages come from the file (and only those touched stay
    // resident) instead of a copy on the heap.
    // SAFETY: the file is one `hbc-compile` (or this agent) wrote with
    // `precompile_component`, in a cache directory only the agent writes, and never
    // modified in place (a new file is renamed over an old one), which a mapped file
    // requires. wasmtime checks its header and that the engine's settings match.
    #[allow(unsafe_code)]
    let loaded = unsafe { Component::deserialize_file(engine, path) }.or_else(|mapped| {
        // Where the file's pages cannot be mapped or re-protected (a `noexec` mount;
        // Wine refuses to make a mapped file's pages read-only), the same bytes are
        // read onto the heap instead; a file this engine cannot use fails either way.
        let bytes = std::fs::read(path).map_err(|_| mapped)?;
        tracing::debug!(path = %path.display(), "compiled plugin read, not mapped");
        // SAFETY: as above: the same file, now a copy in memory.
        #[allow(unsafe_code)]
        unsafe {
            Component::deserialize(engine, &bytes)
        }
    });
    loaded.map_err(|error| {
        tracing::warn!(path = %path.display(), %error, "compiled plugin unusable; removed");
        let _ = std::fs::remove_file(path);
        RuntimeError::Wasm(format!("{error:#}"))
    })
}

/// Compiles in this process (an agent built with the `compiler` feature), caching the
/// result at `path` when given.
#[cfg(feature = "compiler")]
fn compile_here(
    engine: &Engine,
    wasm: &[u8],
    path: Option<&Path>,
    _why: &str,
) -> Result<Component, RuntimeError> {
    let wasm_err = |e: wasmtime::Error| RuntimeError::Wasm(format!("{e:#}"));
    let Some(path) = path else {
        return Component::new(engine, wasm).map_err(wasm_err);
    };
    let compiled = engine.precompile_component(wasm).map_err(wasm_err)?;
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, &compiled)
        .and_then(|()| std::fs::rename(&tmp, path))
        .is_err()
    {
        tracing::warn!(path = %path.display(), "cannot write the plugin cache");
    }
    // SAFETY: `compiled` was produced just now by `precompile_component` on this engine.
    #[allow(unsafe_code)]
    unsafe { Component::deserialize(engine, &compiled) }.map_err(wasm_err)
}

/// An agent without the compiler cannot compile: it says why not.
#[cfg(not(feature = "compiler"))]
fn compile_here(
    _engine: &Engine,
    _wasm: &[u8],
    _path: Option<&Path>,
    why: &str,
) -> Result<Component, RuntimeError> {
    Err(RuntimeError::NoCompiler(why.to_owned()))
}
