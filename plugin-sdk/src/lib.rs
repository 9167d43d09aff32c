//! The Rust SDK for hbc plugins: implement [`Plugin`] and call [`export_plugin!`].
//!
//! ```ignore
//! use hbd_plugin_sdk::prelude::*;
//!
//! struct Uptime;
//!
//! impl Plugin for Uptime {
//!     const NAME: &'static str = "uptime";
//!
//!     fn collect(_config: &Settings) -> Result<Report, String> {
//!         let text = host::read_file("/proc/uptime")?;
//!         let secs: f64 = text.split_whitespace().next().unwrap_or("0").parse().map_err(|e| format!("{e}"))?;
//!         Ok(Report::new().metric(&["uptime_s"], secs))
//!     }
//! }
//!
//! export_plugin!(Uptime);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2`; the `.wasm` file is a
//! component the agent loads from its `wasm_plugins` directories. The contract is
//! `wit/plugin.wit` (package `hbd:plugin@0.2.0`); every type here mirrors it. Plugins
//! built with the 0.1 SDK keep running on agents that speak 0.2 (docs/PLUGINS.md).

#[doc(hidden)]
#[cfg(not(feature = "net"))]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "plugin",
        pub_export_macro: true,
        default_bindings_module: "hbd_plugin_sdk::bindings",
    });
}

/// With the `net` feature: contract 0.3.0 (`wit-0.3/`), whose plugins may connect, with
/// `std::net`, to the destinations they are granted. The same types and functions.
#[doc(hidden)]
#[cfg(feature = "net")]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit-0.3",
        world: "plugin",
        pub_export_macro: true,
        default_bindings_module: "hbd_plugin_sdk::bindings",
    });
}

pub use bindings::hbd::plugin::host::{DirEntry, FileKind, FileStat, FsError};
pub use bindings::hbd::plugin::types::{PluginKind, Status, Value};

/// The operator's settings for this plugin (`config` in the agent config).
pub struct Settings(pub Vec<(String, String)>);

impl Settings {
    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key` parsed, or an error naming the key.
    pub fn parse<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, String>
    where
        T::Err: std::fmt::Display,
    {
        self.get(key)
            .map(|v| v.parse::<T>().map_err(|e| format!("config {key}: {e}")))
            .transpose()
    }
}

/// What the plugin is. Build one with [`PluginInfo::monitor`] or [`PluginInfo::info`].
pub struct PluginInfo {
    /// Report name (`a-z 0-9 _`).
    pub name: String,
    /// Info or monitor.
    pub kind: PluginKind,
    /// Default seconds between collections.
    pub default_interval_s: u32,
    /// The plugin's version.
    pub version: String,
    /// One line.
    pub description: String,
}

impl PluginInfo {
    /// A monitor plugin collected every 300 s unless configured otherwise.
    pub fn monitor(name: &str, description: &str) -> PluginInfo {
        PluginInfo {
            name: name.into(),
            kind: PluginKind::Monitor,
            default_interval_s: 300,
            version: "0.1.0".into(),
            description: description.into(),
        }
    }

    /// An info plugin collected at start and daily.
    pub fn info(name: &str, description: &str) -> PluginInfo {
        PluginInfo {
            kind: PluginKind::Info,
            default_interval_s: 86_400,
            ..PluginInfo::monitor(name, description)
        }
    }

    /// Sets the default interval.
    pub fn every(mut self, seconds: u32) -> PluginInfo {
        self.default_interval_s = seconds;
        self
    }

    /// Sets the version.
    pub fn version(mut self, version: &str) -> PluginInfo {
        self.version = version.into();
        self
    }
}

/// A report under construction.
#[derive(Default)]
pub struct Report {
    metrics: Vec<bindings::hbd::plugin::types::Metric>,
    status: Option<Status>,
    message: Option<String>,
}

/// Anything that can be a metric value.
pub trait IntoValue {
    /// The WIT value.
    fn into_value(self) -> Value;
}

/// Signed integers of every width are `int`.
macro_rules! signed {
    ($($t:ty),*) => {$(
        impl IntoValue for $t {
            fn into_value(self) -> Value {
                Value::Int(i64::from(self))
            }
        }
    )*};
}
signed!(i8, i16, i32, i64);

/// Unsigned integers of every width are `uint`.
macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl IntoValue for $t {
            fn into_value(self) -> Value {
                Value::Uint(u64::from(self))
            }
        }
    )*};
}
unsigned!(u8, u16, u32, u64);

impl IntoValue for isize {
    fn into_value(self) -> Value {
        // isize is 32 bits on wasm32 (and at most 64 anywhere).
        Value::Int(self as i64)
    }
}
impl IntoValue for usize {
    fn into_value(self) -> Value {
        Value::Uint(self as u64)
    }
}
impl IntoValue for f32 {
    fn into_value(self) -> Value {
        Value::Float(f64::from(self))
    }
}
impl IntoValue for f64 {
    fn into_value(self) -> Value {
        Value::Float(self)
    }
}
impl IntoValue for bool {
    fn into_value(self) -> Value {
        Value::Boolean(self)
    }
}
impl IntoValue for &str {
    fn into_value(self) -> Value {
        Value::Text(self.into())
    }
}
impl IntoValue for String {
    fn into_value(self) -> Value {
        Value::Text(self)
    }
}

impl Report {
    /// An empty report.
    pub fn new() -> Report {
        Report::default()
    }

    /// Adds a metric at `path` (one key, or several to nest).
    pub fn metric(mut self, path: &[&str], value: impl IntoValue) -> Report {
        self.metrics.push(bindings::hbd::plugin::types::Metric {
            path: path.iter().map(|s| (*s).to_owned()).collect(),
            value: value.into_value(),
        });
        self
    }

    /// Sets the verdict and its message.
    pub fn status(mut self, status: Status, message: &str) -> Report {
        self.status = Some(status);
        self.message = Some(message.into());
        self
    }
}

/// A plugin: a name and `collect` are required; everything else has a default.
pub trait Plugin {
    /// Report name (`a-z 0-9 _`), as thresholds and the API refer to it.
    const NAME: &'static str;

    /// Collects once; an `Err` becomes an UNKNOWN report with the message.
    fn collect(config: &Settings) -> Result<Report, String>;

    /// What the plugin is. Default: a monitor plugin named [`Plugin::NAME`], collected
    /// every 300 s, version 0.1.0, no description.
    fn info() -> PluginInfo {
        PluginInfo::monitor(Self::NAME, "")
    }
}

#[cfg(feature = "net")]
impl From<host::NetError> for String {
    fn from(e: host::NetError) -> String {
        match e {
            host::NetError::NotGranted(why) => format!("not granted to this plugin: {why}"),
            host::NetError::Dns(why) => format!("cannot resolve: {why}"),
            host::NetError::Timeout => "no answer in time".into(),
            host::NetError::Refused(why) => format!("refused: {why}"),
            host::NetError::Tls(why) => format!("TLS handshake failed: {why}"),
            host::NetError::Io(why) => why,
        }
    }
}

/// A file error in words, as `?` in `collect` reports it.
pub fn describe_error(e: &FsError) -> String {
    match e {
        FsError::NotGranted => "not granted to this plugin (see its grants)".into(),
        FsError::NotFound => "not found".into(),
        FsError::PermissionDenied => "permission denied".into(),
        FsError::TooLarge(n) => format!("too large ({n})"),
        FsError::NotUtf8 => "not UTF-8".into(),
        FsError::NotAFile => "not a regular file".into(),
        FsError::NotADirectory => "not a directory".into(),
        FsError::Io(text) => text.clone(),
    }
}

/// `?` in `collect` turns a file error into the report's error text.
impl From<FsError> for String {
    fn from(e: FsError) -> String {
        describe_error(&e)
    }
}

/// The host's functions: logging, the clock, and granted files. File errors are
/// [`FsError`] values to match on; with `?` in `collect` they become its error text.
pub mod host {
    use crate::bindings::hbd::plugin::host as imports;
    pub use crate::bindings::hbd::plugin::host::Level;
    #[cfg(feature = "net")]
    pub use crate::bindings::hbd::plugin::host::{
        Certificate, HttpRequest, HttpResponse, NetError, TlsInfo,
    };

    /// One HTTP(S) request to a granted destination; redirects are not followed
    /// (contract 0.3.0).
    #[cfg(feature = "net")]
    pub fn http(request: &HttpRequest) -> Result<HttpResponse, NetError> {
        imports::http(request)
    }
    use crate::{DirEntry, FileStat, FsError};

    /// Connects to `host:port` (a granted destination), makes a TLS handshake
    /// presenting `server_name` (default `host`) and returns what the server presented,
    /// whether it verifies or not, within `timeout_ms` (contract 0.3.0).
    #[cfg(feature = "net")]
    pub fn tls_certificates(
        host: &str,
        port: u16,
        server_name: Option<&str>,
        timeout_ms: u32,
    ) -> Result<TlsInfo, NetError> {
        imports::tls_certificates(host, port, server_name, timeout_ms)
    }

    /// Logs at `level`.
    pub fn log(level: Level, message: &str) {
        imports::log(level, message);
    }

    /// Logs at info level.
    pub fn info(message: &str) {
        imports::log(Level::Info, message);
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms() -> u64 {
        imports::now_ms()
    }

    /// Kind, size, modification time (ms) and permissions of a granted path.
    pub fn stat(path: &str) -> Result<FileStat, FsError> {
        imports::stat(path)
    }

    /// Reads a granted UTF-8 file (at most 1 MiB).
    pub fn read_file(path: &str) -> Result<String, FsError> {
        imports::read_file(path)
    }

    /// Reads at most `length` bytes (up to 1 MiB) of a granted file from `offset`.
    pub fn read_bytes(path: &str, offset: u64, length: u32) -> Result<Vec<u8>, FsError> {
        imports::read_bytes(path, offset, length)
    }

    /// The last `length` bytes (at most 1 MiB) of a granted file, and its size: the
    /// tail of a log, however large.
    pub fn read_tail(path: &str, length: u32) -> Result<(Vec<u8>, FileStat), FsError> {
        let stat = imports::stat(path)?;
        let offset = stat.size.saturating_sub(u64::from(length));
        Ok((imports::read_bytes(path, offset, length)?, stat))
    }

    /// The entries of a granted directory with their kinds, sorted by name.
    pub fn list_dir(path: &str) -> Result<Vec<DirEntry>, FsError> {
        imports::list_dir(path)
    }
}

/// Glue between a [`Plugin`] and the generated bindings; used by [`export_plugin!`].
#[doc(hidden)]
pub struct Adapter<P>(std::marker::PhantomData<P>);

impl<P: Plugin> bindings::Guest for Adapter<P> {
    fn describe() -> bindings::hbd::plugin::types::PluginInfo {
        let i = P::info();
        bindings::hbd::plugin::types::PluginInfo {
            name: i.name,
            kind: i.kind,
            default_interval_s: i.default_interval_s,
            version: i.version,
            description: i.description,
        }
    }

    fn collect(
        config: Vec<(String, String)>,
    ) -> Result<bindings::hbd::plugin::types::Report, String> {
        let r = P::collect(&Settings(config))?;
        Ok(bindings::hbd::plugin::types::Report {
            metrics: r.metrics,
            status: r.status,
            message: r.message,
        })
    }
}

/// Exports a [`Plugin`] implementation as the component's `describe` and `collect`.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        type __HbdPluginExport = $crate::Adapter<$plugin>;
        $crate::bindings::export!(__HbdPluginExport with_types_in $crate::bindings);
    };
}

/// Everything a plugin needs in one `use`.
pub mod prelude {
    pub use crate::host;
    pub use crate::{
        DirEntry, FileKind, FileStat, FsError, IntoValue, Plugin, PluginInfo, PluginKind, Report,
        Settings, Status, export_plugin,
    };
}
