//! Whether a plugin artifact compiles, checked before any agent is told to run it: with
//! the agents' own compiler, `hbc-compile`, found beside `hbd` or on `PATH` (as the
//! agent finds it), run as a child process with a time limit (the compiler never becomes
//! part of the daemon). A digest that compiled once is not compiled again by this
//! process. Without the compiler the check is skipped, and the config reader says so.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The compiler's file name.
const COMPILER: &str = "hbc-compile";
/// The longest one compile may take.
const LIMIT: Duration = Duration::from_secs(120);

/// Digests that compiled, this run.
static COMPILED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Why an artifact was not found to compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileCheck {
    /// No `hbc-compile` beside `hbd` or on `PATH`.
    #[error("not compiled here: no hbc-compile beside hbd or on PATH")]
    NoCompiler,
    /// It does not compile: the compiler's words.
    #[error("does not compile: {0}")]
    Fails(String),
}

/// The compiler: beside this program, else on `PATH`.
fn compiler() -> Option<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(COMPILER)));
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(COMPILER));
    beside.into_iter().chain(on_path).find(|p| p.is_file())
}

/// Checks that the plugin `wasm` (whose SHA-256 is `sha256`) compiles.
pub fn check(wasm: &Path, sha256: &str) -> Result<(), CompileCheck> {
    let done = |s: &str| {
        COMPILED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(s)
    };
    if done(sha256) {
        return Ok(());
    }
    let compiler = compiler().ok_or(CompileCheck::NoCompiler)?;
    // The compiled code is not kept: only whether it compiles.
    let out = std::env::temp_dir().join(format!(
        "hbd-compile-check-{}-{}",
        std::process::id(),
        sha256.get(..16).unwrap_or(sha256)
    ));
    let result = run(&compiler, wasm, &out);
    let _ = std::fs::remove_file(&out);
    result?;
    COMPILED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(sha256.to_owned());
    Ok(())
}

fn run(compiler: &Path, wasm: &Path, out: &Path) -> Result<(), CompileCheck> {
    let mut child = Command::new(compiler)
        .arg(wasm)
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| CompileCheck::Fails(format!("{}: {e}", compiler.display())))?;
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(CompileCheck::Fails(format!(
                    "still compiling after {} s",
                    LIMIT.as_secs()
                )));
            }
            Err(e) => return Err(CompileCheck::Fails(e.to_string())),
        }
    };
    if status.success() {
        return Ok(());
    }
    let mut words = String::new();
    if let Some(mut err) = child.stderr.take() {
        use std::io::Read;
        let _ = err.by_ref().take(4096).read_to_string(&mut words);
    }
    let words = words.trim();
    let words = words
        .strip_prefix(&format!("hbc-compile: {}: ", wasm.display()))
        .unwrap_or(words);
    Err(CompileCheck::Fails(words.chars().take(500).collect()))
}
