//! The host side of the contract: the generated bindings, the per-store state (WASI
//! context with nothing granted, limits, grants, captured output) and the four imports.

use std::io::Read;
use std::path::{Path, PathBuf};

use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// Largest file `read-file` returns.
pub const MAX_READ_BYTES: u64 = 1024 * 1024;
/// Most entries `list-dir` returns; a larger directory is an error that says so.
pub const MAX_LIST_ENTRIES: usize = 10_000;
/// Log lines a plugin may write through the `log` import per call; the rest are
/// counted and summed up in one line when the call ends.
pub const LOG_LINES_PER_CALL: u32 = 100;
/// Characters kept of one log line (and of an error text the plugin returns).
pub const MAX_TEXT_CHARS: usize = 4096;

/// `text` cut to `max` characters, saying how much was cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((at, _)) => format!("{} [... {} more bytes cut]", &text[..at], text.len() - at),
    }
}
/// Output captured per call on stdout and on stderr each.
pub const CAPTURE_BYTES: usize = 64 * 1024;

pub mod bindings {
    //! Generated from `plugin-sdk/wit`.
    wasmtime::component::bindgen!({
        path: "../plugin-sdk/wit",
        world: "plugin",
    });
}

use bindings::hbd::plugin::host::Level;

/// What a plugin's store holds.
pub struct StoreData {
    /// Plugin name, for log lines.
    pub name: String,
    /// Canonical granted directories or files.
    pub grants: Vec<PathBuf>,
    /// Memory and instance limits.
    pub limits: StoreLimits,
    /// Captured stdout.
    pub stdout: MemoryOutputPipe,
    /// Captured stderr.
    pub stderr: MemoryOutputPipe,
    /// Log lines written in this call.
    pub log_lines: u32,
    /// Log lines dropped in this call (over [`LOG_LINES_PER_CALL`]).
    pub log_dropped: u32,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl StoreData {
    /// A store state granting nothing but `grants`, with `limits`.
    pub fn new(name: &str, grants: Vec<PathBuf>, limits: StoreLimits) -> StoreData {
        let stdout = MemoryOutputPipe::new(CAPTURE_BYTES);
        let stderr = MemoryOutputPipe::new(CAPTURE_BYTES);
        // No args, no environment, no preopens, no network: only the captured pipes.
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        StoreData {
            name: name.to_owned(),
            grants,
            limits,
            stdout,
            stderr,
            log_lines: 0,
            log_dropped: 0,
            wasi,
            table: ResourceTable::new(),
        }
    }

    fn granted(&self, path: &str) -> Result<PathBuf, String> {
        let requested = Path::new(path);
        if !requested.is_absolute() {
            return Err(format!("{path}: paths must be absolute"));
        }
        // Canonicalizing resolves `..` and symlinks, so a link cannot lead out of a grant.
        let real = std::fs::canonicalize(requested).map_err(|e| format!("{path}: {e}"))?;
        if self.grants.iter().any(|g| real.starts_with(g)) {
            Ok(real)
        } else {
            Err(format!(
                "{path}: not granted to this plugin (grants: {:?})",
                self.grants
            ))
        }
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl bindings::hbd::plugin::types::Host for StoreData {}

impl bindings::hbd::plugin::host::Host for StoreData {
    fn log(&mut self, level: Level, message: String) {
        // A plugin must not flood the agent's log: a budget per call, long lines cut.
        if self.log_lines >= LOG_LINES_PER_CALL {
            self.log_dropped += 1;
            return;
        }
        self.log_lines += 1;
        let message = truncate(&message, MAX_TEXT_CHARS);
        let plugin = self.name.as_str();
        match level {
            Level::Trace => tracing::trace!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
    }

    fn now_ms(&mut self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    fn read_file(&mut self, path: String) -> Result<String, String> {
        use std::os::unix::fs::OpenOptionsExt;
        let real = self.granted(&path)?;
        // Non-blocking open, then only regular files: a FIFO or device inside a grant
        // must not block the agent past the plugin's deadline.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&real)
            .map_err(|e| format!("{path}: {e}"))?;
        let meta = file.metadata().map_err(|e| format!("{path}: {e}"))?;
        if !meta.is_file() {
            return Err(format!("{path}: not a regular file"));
        }
        let mut bytes = Vec::new();
        file.take(MAX_READ_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{path}: {e}"))?;
        if bytes.len() as u64 > MAX_READ_BYTES {
            return Err(format!("{path}: larger than {MAX_READ_BYTES} bytes"));
        }
        String::from_utf8(bytes).map_err(|_| format!("{path}: not UTF-8"))
    }

    fn list_dir(&mut self, path: String) -> Result<Vec<String>, String> {
        let real = self.granted(&path)?;
        let mut names: Vec<String> = std::fs::read_dir(&real)
            .map_err(|e| format!("{path}: {e}"))?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .take(MAX_LIST_ENTRIES + 1)
            .collect();
        if names.len() > MAX_LIST_ENTRIES {
            return Err(format!(
                "{path}: more than {MAX_LIST_ENTRIES} entries; list-dir returns at most {MAX_LIST_ENTRIES}"
            ));
        }
        names.sort();
        Ok(names)
    }
}
