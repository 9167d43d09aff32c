//! The host side of the contract: the generated bindings of each version the agent
//! speaks (0.1.0, 0.2.0 and 0.3.0, side by side), the per-store state (WASI context
//! with nothing granted but the network destinations of a 0.3.0 plugin, limits,
//! grants, captured output) and the imports of each version, which share one
//! implementation ([`super::files`]).

use std::path::PathBuf;

use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::files::{FsError, Grants, Kind, Stat};

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

/// The contract versions the agent speaks, oldest first, as plugins import them.
pub const CONTRACTS: [&str; 3] = ["0.1.0", "0.2.0", "0.3.0"];

pub mod v0_1 {
    //! Generated from `plugin-sdk/wit-0.1` (frozen).
    wasmtime::component::bindgen!({
        path: "../plugin-sdk/wit-0.1",
        world: "plugin",
    });
}

pub mod v0_2 {
    //! Generated from `plugin-sdk/wit` (the SDK's default).
    wasmtime::component::bindgen!({
        path: "../plugin-sdk/wit",
        world: "plugin",
    });
}

pub mod v0_3 {
    //! Generated from `plugin-sdk/wit-0.3` (0.2.0 and the network, through
    //! `wasi:sockets`).
    wasmtime::component::bindgen!({
        path: "../plugin-sdk/wit-0.3",
        world: "plugin",
    });
}

/// The store's limits ([`StoreLimits`]), which also remember whether they refused the
/// plugin memory: a call that failed after that failed for want of memory, whatever the
/// error's text says.
pub struct Limits {
    inner: StoreLimits,
    /// Set when a memory could not grow (over the plugin's `memory_mb`).
    pub memory_refused: bool,
}

impl wasmtime::ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let grown = self.inner.memory_growing(current, desired, maximum);
        if !matches!(grown, Ok(true)) {
            self.memory_refused = true;
        }
        grown
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.memory_refused = true;
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// What a plugin's store holds.
pub struct StoreData {
    /// Plugin name, for log lines.
    pub name: String,
    /// Canonical granted directories or files.
    pub grants: Grants,
    /// Memory and instance limits, and whether one refused the plugin memory.
    pub limits: Limits,
    /// Captured stdout.
    pub stdout: MemoryOutputPipe,
    /// Captured stderr.
    pub stderr: MemoryOutputPipe,
    /// Log lines written in this call.
    pub log_lines: u32,
    /// Log lines dropped in this call (over [`LOG_LINES_PER_CALL`]).
    pub log_dropped: u32,
    /// The network it may reach (contract 0.3.0), for the host's own connections.
    pub net: Option<super::net::NetGate>,
    /// The plugin's time limit per call: no host call of its blocks longer.
    pub call_timeout: std::time::Duration,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl StoreData {
    /// A store state granting nothing but `grants` (and, through `net`, the network
    /// destinations it lets through), with `limits`.
    pub fn new(
        name: &str,
        grants: Vec<PathBuf>,
        net: Option<&super::net::NetGate>,
        limits: StoreLimits,
    ) -> StoreData {
        let limits = Limits {
            inner: limits,
            memory_refused: false,
        };
        let stdout = MemoryOutputPipe::new(CAPTURE_BYTES);
        let stderr = MemoryOutputPipe::new(CAPTURE_BYTES);
        // No args, no environment, no preopens, no network but what `net` lets
        // through: only the captured pipes.
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        if let Some(gate) = net {
            gate.install(&mut wasi);
        }
        let wasi = wasi.build();
        StoreData {
            name: name.to_owned(),
            grants: Grants(grants),
            limits,
            stdout,
            stderr,
            log_lines: 0,
            log_dropped: 0,
            net: net.cloned(),
            call_timeout: std::time::Duration::from_secs(1),
            wasi,
            table: ResourceTable::new(),
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

impl StoreData {
    /// Writes a plugin's log line, within the per-call budget, cut to length.
    fn log_line(&mut self, level: tracing::Level, message: &str) {
        // A plugin must not flood the agent's log: a budget per call, long lines cut.
        if self.log_lines >= LOG_LINES_PER_CALL {
            self.log_dropped += 1;
            return;
        }
        self.log_lines += 1;
        let message = truncate(message, MAX_TEXT_CHARS);
        let plugin = self.name.as_str();
        match level {
            tracing::Level::TRACE => tracing::trace!(plugin, "{message}"),
            tracing::Level::DEBUG => tracing::debug!(plugin, "{message}"),
            tracing::Level::INFO => tracing::info!(plugin, "{message}"),
            tracing::Level::WARN => tracing::warn!(plugin, "{message}"),
            tracing::Level::ERROR => tracing::error!(plugin, "{message}"),
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `log` and `now-ms`, the same in every version (each has its own `Level` type).
macro_rules! log_and_clock {
    ($level:ident) => {
        fn log(&mut self, level: $level, message: String) {
            let level = match level {
                $level::Trace => tracing::Level::TRACE,
                $level::Debug => tracing::Level::DEBUG,
                $level::Info => tracing::Level::INFO,
                $level::Warn => tracing::Level::WARN,
                $level::Error => tracing::Level::ERROR,
            };
            self.log_line(level, &message);
        }

        fn now_ms(&mut self) -> u64 {
            super::now_ms()
        }
    };
}

/// Contract 0.1.0: errors are text, `{path}: {reason}`, as they always were.
mod imports_0_1 {
    use super::v0_1::hbd::plugin::host::{Host, Level};
    use super::{FsError, StoreData};

    fn text(path: &str, e: &FsError) -> String {
        // The system's own words for these, as 0.1.0 plugins have always seen them.
        let reason = match e {
            FsError::NotFound => "No such file or directory (os error 2)".to_owned(),
            FsError::PermissionDenied => "Permission denied (os error 13)".to_owned(),
            FsError::NotADirectory => "Not a directory (os error 20)".to_owned(),
            other => other.to_string(),
        };
        format!("{path}: {reason}")
    }

    impl super::v0_1::hbd::plugin::types::Host for StoreData {}

    impl Host for StoreData {
        log_and_clock!(Level);

        fn read_file(&mut self, path: String) -> Result<String, String> {
            self.grants.read_file(&path).map_err(|e| text(&path, &e))
        }

        fn list_dir(&mut self, path: String) -> Result<Vec<String>, String> {
            let entries = self.grants.list_dir(&path).map_err(|e| text(&path, &e))?;
            Ok(entries.into_iter().map(|(name, _)| name).collect())
        }
    }
}

/// Contract 0.2.0 (and 0.3.0, whose host interface is the same): typed errors,
/// `stat`, `read-bytes`, entries with kinds.
macro_rules! imports_since_0_2 {
    ($v:ident $(, { $($extra:tt)* })?) => {
        use super::$v::hbd::plugin::host::{
            DirEntry, FileKind, FileStat, FsError as WitError, Host, Level,
        };
        use super::{FsError, Kind, Stat, StoreData};

        fn wit(e: FsError) -> WitError {
            match e {
                FsError::NotAbsolute | FsError::NotGranted(_) => WitError::NotGranted,
                FsError::NotFound => WitError::NotFound,
                FsError::PermissionDenied => WitError::PermissionDenied,
                FsError::TooLarge { size, .. } => WitError::TooLarge(size),
                FsError::NotUtf8 => WitError::NotUtf8,
                FsError::NotAFile => WitError::NotAFile,
                FsError::NotADirectory => WitError::NotADirectory,
                FsError::Io(text) => WitError::Io(text),
            }
        }

        fn kind(k: Kind) -> FileKind {
            match k {
                Kind::File => FileKind::File,
                Kind::Directory => FileKind::Directory,
                Kind::Other => FileKind::Other,
            }
        }

        impl super::$v::hbd::plugin::types::Host for StoreData {}

        impl Host for StoreData {
            log_and_clock!(Level);

            fn stat(&mut self, path: String) -> Result<FileStat, WitError> {
                let Stat {
                    kind: k,
                    size,
                    modified_ms,
                    mode,
                } = self.grants.stat(&path).map_err(wit)?;
                Ok(FileStat {
                    kind: kind(k),
                    size,
                    modified_ms,
                    mode,
                })
            }

            fn read_file(&mut self, path: String) -> Result<String, WitError> {
                self.grants.read_file(&path).map_err(wit)
            }

            fn read_bytes(
                &mut self,
                path: String,
                offset: u64,
                length: u32,
            ) -> Result<Vec<u8>, WitError> {
                self.grants.read_bytes(&path, offset, length).map_err(wit)
            }

            fn list_dir(&mut self, path: String) -> Result<Vec<DirEntry>, WitError> {
                let entries = self.grants.list_dir(&path).map_err(wit)?;
                Ok(entries
                    .into_iter()
                    .map(|(name, k)| DirEntry {
                        name,
                        kind: kind(k),
                    })
                    .collect())
            }

            $($($extra)*)?
        }
    };
}

mod imports_0_2 {
    imports_since_0_2!(v0_2);
}

mod imports_0_3 {
    imports_since_0_2!(v0_3, {
        fn tls_certificates(
            &mut self,
            host: String,
            port: u16,
            server_name: Option<String>,
            timeout_ms: u32,
        ) -> Result<super::v0_3::hbd::plugin::host::TlsInfo, super::v0_3::hbd::plugin::host::NetError>
        {
            tls::certificates(self, &host, port, server_name.as_deref(), timeout_ms)
        }

        fn http(
            &mut self,
            request: super::v0_3::hbd::plugin::host::HttpRequest,
        ) -> Result<
            super::v0_3::hbd::plugin::host::HttpResponse,
            super::v0_3::hbd::plugin::host::NetError,
        > {
            tls::http(self, request)
        }
    });

    /// `tls-certificates` and `http` in the contract's words.
    mod tls {
        use super::super::StoreData;
        use super::super::v0_3::hbd::plugin::host::{
            Certificate, HttpRequest, HttpResponse, NetError, TlsInfo,
        };
        use crate::wasm::{http as web, tls};

        fn net_error(e: tls::NetError) -> NetError {
            match e {
                tls::NetError::NotGranted(why) => NetError::NotGranted(why),
                tls::NetError::Dns(why) => NetError::Dns(why),
                tls::NetError::Timeout => NetError::Timeout,
                tls::NetError::Refused(why) => NetError::Refused(why),
                tls::NetError::Tls(why) => NetError::Tls(why),
                tls::NetError::Io(why) => NetError::Io(why),
            }
        }

        fn info(found: tls::TlsInfo) -> TlsInfo {
            TlsInfo {
                address: found.address.to_string(),
                protocol: found.protocol,
                chain: found
                    .chain
                    .into_iter()
                    .map(|c| Certificate {
                        subject: c.subject,
                        issuer: c.issuer,
                        not_before_ms: c.not_before_ms,
                        not_after_ms: c.not_after_ms,
                        dns_names: c.dns_names,
                    })
                    .collect(),
                trusted: found.trusted,
                handshake_ms: found.handshake_ms,
            }
        }

        pub(super) fn http(data: &mut StoreData, r: HttpRequest) -> Result<HttpResponse, NetError> {
            let request = web::Request {
                method: r.method,
                url: r.url,
                headers: r.headers,
                body: r.body,
                timeout: std::time::Duration::from_millis(u64::from(r.timeout_ms))
                    .min(data.call_timeout),
                max_body: r.max_body_bytes,
                verify_tls: r.verify_tls,
            };
            let answer = web::request(data.net.as_ref(), &request).map_err(net_error)?;
            Ok(HttpResponse {
                status: answer.status,
                headers: answer.headers,
                body: answer.body,
                truncated: answer.truncated,
                address: answer.address.to_string(),
                elapsed_ms: answer.elapsed_ms,
                tls: answer.tls.map(info),
            })
        }

        pub(super) fn certificates(
            data: &mut StoreData,
            host: &str,
            port: u16,
            server_name: Option<&str>,
            timeout_ms: u32,
        ) -> Result<TlsInfo, NetError> {
            let timeout =
                std::time::Duration::from_millis(u64::from(timeout_ms)).min(data.call_timeout);
            tls::certificates(data.net.as_ref(), host, port, server_name, timeout)
                .map(info)
                .map_err(net_error)
        }
    }
}
