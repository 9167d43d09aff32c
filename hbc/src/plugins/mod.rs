//! The agent's plugins: what a plugin is, which ones exist, and how they are built from
//! the `plugins` map of the agent config (with the daemon's settings laid over it,
//! [`overlay`]).
//!
//! Native collectors read `/proc` and `/sys` through a root path (tests point it at
//! fixture trees); each has an I/O reader and a pure parser in its own file. Elsewhere
//! than Linux, `portable` gives the same figures from sysinfo and the Win32 API. A
//! plugin's failure is data: the scheduler turns it into an `UNKNOWN` report.

pub mod cpu_monitor;
pub mod disk_monitor;
pub mod filesystem_info;
pub mod fit;
pub mod memory_monitor;
pub mod mounts;
pub mod nagios_runner;
pub mod network_monitor;
pub mod options;
pub mod os_info;
pub mod overlay;
pub mod perfdata;
pub mod ping_monitor;
#[cfg(not(target_os = "linux"))]
pub mod portable;
pub mod scheduler;

use std::path::PathBuf;
use std::time::Duration;

use hb_proto::{PluginKind, Status, catalogue};
use serde_json::{Map, Value};

pub use options::Options;

/// Default interval of monitor plugins.
pub const DEFAULT_MONITOR_INTERVAL: Duration = Duration::from_secs(300);
/// Default interval of info plugins (they also run at start).
pub const DEFAULT_INFO_INTERVAL: Duration = Duration::from_secs(86_400);
/// Default time limit of one native collection.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a plugin produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Collected {
    /// Metrics, nested as the plugin reports them.
    pub data: Map<String, Value>,
    /// The plugin's own verdict, if it has one (Nagios checks do).
    pub status: Option<Status>,
}

/// Why a collection failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file's content was not what the parser expects.
    #[error("cannot parse {what}: {detail}")]
    Parse {
        /// What was parsed.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The plugin's options are wrong.
    #[error("bad option: {0}")]
    Config(String),
    /// One option has the wrong type or value.
    #[error("plugins.{plugin}.{key}: expected {expected}")]
    Option {
        /// The plugin.
        plugin: String,
        /// The option.
        key: String,
        /// What it must be.
        expected: String,
    },
    /// A program could not be run.
    #[error("{0}")]
    Command(String),
}

/// Reads a file under a root, mapping the error to [`PluginError::Io`].
pub fn read(path: PathBuf) -> Result<String, PluginError> {
    std::fs::read_to_string(&path).map_err(|source| PluginError::Io { path, source })
}

/// One plugin. `collect` runs on a blocking thread and may keep state between calls
/// (counters for rates).
pub trait Plugin: Send + 'static {
    /// The plugin's name, as thresholds and the API refer to it.
    fn name(&self) -> &str;
    /// Info or monitor.
    fn kind(&self) -> PluginKind;
    /// Collects once.
    fn collect(&mut self) -> Result<Collected, PluginError>;
}

/// Every built-in plugin name, from the catalogue the daemon shares
/// (`hb_proto::catalogue`): what exists, what runs by default and what each reports.
pub fn built_in() -> impl Iterator<Item = &'static str> {
    catalogue::BUILT_IN.iter().map(|p| p.name)
}

/// Plugins that run without being listed in the config (`ping_monitor` and
/// `nagios_runner` need targets or commands, so they run only when listed).
pub fn on_by_default() -> impl Iterator<Item = &'static str> {
    catalogue::BUILT_IN
        .iter()
        .filter(|p| p.on_by_default)
        .map(|p| p.name)
}

/// Builds one plugin from its options.
pub fn build(name: &str, options: &Options) -> Result<Box<dyn Plugin>, PluginError> {
    Ok(match name {
        "os_info" => Box::new(os_info::OsInfo::new(options)),
        "cpu_monitor" => Box::new(cpu_monitor::CpuMonitor::new(options)?),
        "memory_monitor" => Box::new(memory_monitor::MemoryMonitor::new(options)),
        "disk_monitor" => Box::new(disk_monitor::DiskMonitor::new(options)?),
        "network_monitor" => Box::new(network_monitor::NetworkMonitor::new(options)?),
        "filesystem_info" => Box::new(filesystem_info::FilesystemInfo::new(options)?),
        "ping_monitor" => Box::new(ping_monitor::PingMonitor::new(options)?),
        "nagios_runner" => Box::new(nagios_runner::NagiosRunner::new(options)?),
        other => {
            let hint = built_in()
                .find(|b| b.starts_with(&other[..other.len().min(3)]))
                .map(|b| format!("; did you mean {b}?"))
                .unwrap_or_default();
            return Err(PluginError::Config(format!(
                "unknown plugin {other:?}{hint}"
            )));
        }
    })
}
