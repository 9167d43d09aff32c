//! hbc, the hbd agent. Module map:
//!
//! - [`app`]: the agent's wiring, `app::run(config, ...)`, started by a thin `main`.
//! - [`config`]: the agent's YAML config (`~/.hbc.yaml` or `-c`), every problem with
//!   file, line and key.
//! - [`rtt`]: pure round-trip bookkeeping for heartbeats and their ACKs.
//! - [`link`]: the UDP link to the daemon: resolve, sign, send, verify replies.
//! - [`heartbeat`]: the heartbeat loop (and one-off BOOT / MSG sends); it also sends
//!   plugin reports.
//! - [`plugins`]: native collectors, the Nagios runner and their scheduler.
//! - [`process`]: running an external program (argv, its process tree as one: a
//!   process group, or a job object on Windows; time limit, bounded output), shared by
//!   the Nagios runner and commands.
//! - [`commands`]: which commands from the daemon run (signed, recent, allowed, once),
//!   and the ledger that remembers them across restarts; [`command_runner`] runs them
//!   for the heartbeat loop.
//! - [`upgrade`]: self-upgrade (`UPD`): download, check, probe, swap, re-execute,
//!   report, roll back.
//! - [`host_facts`]: small facts about this host (name, uptime).
//! - `syslog` (Unix): log sink for a detached agent.
//! - [`wasm`] (feature `wasm`): WebAssembly plugins in a wasmtime sandbox;
//!   [`managed`]: the signed ones the daemon says to run, fetched, checked and swapped in.
//! - [`wasm_loader`] (feature `wasm`): the `wasm_plugins` directories' files, with
//!   their settings, as scheduled plugins (above `config`, `plugins` and `wasm`, which
//!   it joins).
//! - [`fetch`]: downloads from the daemon over HTTP (releases, artifacts, answers).

pub mod app;
pub mod command_runner;
pub mod commands;
pub mod config;
#[cfg(windows)]
pub mod eventlog;
pub mod fetch;
pub mod heartbeat;
pub mod host_facts;
pub mod link;
#[cfg(feature = "wasm")]
pub mod managed;
pub mod plugins;
pub mod process;
pub mod rtt;
#[cfg(unix)]
pub mod syslog;
pub mod upgrade;
#[cfg(feature = "wasm")]
pub mod wasm;
#[cfg(feature = "wasm")]
pub mod wasm_loader;

/// The agent's version, sent in every heartbeat.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The plugin compiler's executable, which the agent runs for WebAssembly plugins and
/// looks for beside its own binary first (and an upgrade puts there).
pub const COMPILER_NAME: &str = "hbc-compile";

/// The plugin compiler's file name on this OS (`hbc-compile.exe` on Windows).
#[cfg(windows)]
pub const COMPILER_FILE: &str = "hbc-compile.exe";
/// The plugin compiler's file name on this OS (`hbc-compile.exe` on Windows).
#[cfg(not(windows))]
pub const COMPILER_FILE: &str = COMPILER_NAME;
