//! WebAssembly plugins: components built against `plugin-sdk/wit-0.3` (package
//! `hbd:plugin@0.3.0`), `plugin-sdk/wit` (`@0.2.0`) or the frozen `plugin-sdk/wit-0.1`
//! (`@0.1.0`), run side by side by wasmtime in a sandbox.
//!
//! This folder is the only place that sees wasmtime types; the rest of the agent sees
//! [`WasmPlugin`] as one more [`crate::plugins::Plugin`]. The sandbox: an epoch deadline
//! per call (default 1 s), a memory limit per store (default 32 MiB), no environment,
//! no preopened directories; files only through the host's `stat`, `read-file`,
//! `read-bytes` and `list-dir` under the operator's grants ([`files`]); the network only
//! for a 0.3.0 plugin, through `wasi:sockets`, `http` ([`http`]) and `tls-certificates`
//! ([`tls`]), to its granted destinations ([`net`]);
//! stdout/stderr captured (64 KiB per call) into the agent's log. A trap, timeout,
//! limit or malformed report is an UNKNOWN report; a plugin that keeps failing backs
//! off.

pub mod cache;
mod failure;
pub mod files;
mod host;
pub mod http;
pub mod net;
mod plugin;
mod runtime;
pub mod tls;
mod validate;

pub use cache::RuntimeError;
pub use host::CONTRACTS;
pub use plugin::{WasmPlugin, WasmSettings};
pub use runtime::Runtime;
