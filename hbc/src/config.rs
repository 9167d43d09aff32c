//! The agent's configuration: `server`, `port`, `interval`, `key`, `name` and the
//! `plugins` map, from YAML; the command line's SERVER wins over `server`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Default heartbeat interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// Why the config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The YAML is invalid or a value has the wrong type.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        message: String,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    server: Option<String>,
    port: Option<u16>,
    interval: Option<f64>,
    key: Option<String>,
    key_id: Option<String>,
    name: Option<String>,
    #[serde(default)]
    plugins: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    wasm_plugins: Option<WasmPluginsConfig>,
}

/// `wasm_plugins:` — where WebAssembly plugins are and how each may run.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasmPluginsConfig {
    /// Directories whose `*.wasm` files are loaded.
    #[serde(default)]
    pub dirs: Vec<std::path::PathBuf>,
    /// Where compiled plugins are cached (default `~/.cache/hbc/wasm`).
    pub cache_dir: Option<std::path::PathBuf>,
    /// Settings per plugin name.
    #[serde(default)]
    pub plugins: BTreeMap<String, WasmPluginConfig>,
}

/// `wasm_plugins.plugins.NAME:` — one plugin's settings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasmPluginConfig {
    /// Seconds between collections (default: the plugin's own).
    pub interval: Option<f64>,
    /// Passed to the plugin's `collect`; values are turned into strings.
    #[serde(default)]
    pub config: BTreeMap<String, serde_json::Value>,
    /// Read-only paths the plugin may read or list.
    #[serde(default)]
    pub grants: Vec<std::path::PathBuf>,
    /// Time limit per call in ms (default 1000).
    pub timeout_ms: Option<u64>,
    /// Memory limit in MiB (default 32).
    pub memory_mb: Option<u64>,
    /// `false` keeps a plugin in a directory from running.
    pub enabled: Option<bool>,
}

/// The validated agent configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    /// Daemon host name or address.
    pub server: Option<String>,
    /// Daemon UDP port.
    pub port: u16,
    /// Heartbeat interval.
    pub interval: Duration,
    /// HMAC key; when set every datagram is signed and only signed replies trusted.
    pub key: Option<String>,
    /// Key id put in signed frames (default: the host name).
    pub key_id: Option<String>,
    /// Host name reported (default: this machine's host name).
    pub name: Option<String>,
    /// Plugin settings by plugin name.
    pub plugins: BTreeMap<String, serde_json::Value>,
    /// WebAssembly plugins.
    pub wasm_plugins: WasmPluginsConfig,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            server: None,
            port: hb_proto::DEFAULT_HB_PORT,
            interval: DEFAULT_INTERVAL,
            key: None,
            key_id: None,
            name: None,
            plugins: BTreeMap::new(),
            wasm_plugins: WasmPluginsConfig::default(),
        }
    }
}

impl AgentConfig {
    /// Reads `path`.
    pub fn load(path: &Path) -> Result<AgentConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        AgentConfig::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses YAML text.
    pub fn parse(text: &str) -> Result<AgentConfig, String> {
        let raw: Raw = if text.trim().is_empty() {
            Raw::default()
        } else {
            serde_norway::from_str(text).map_err(|e| e.to_string())?
        };
        let interval = match raw.interval {
            None => DEFAULT_INTERVAL,
            Some(s) if (0.1..=86_400.0).contains(&s) => Duration::from_secs_f64(s),
            Some(s) => {
                return Err(format!(
                    "interval: expected seconds from 0.1 to 86400, found {s}"
                ));
            }
        };
        if let Some(name) = &raw.name {
            hb_proto::validate_name(name).map_err(|e| format!("name: {e}"))?;
        }
        if let Some(key) = &raw.key
            && key.len() < 16
        {
            return Err(format!(
                "key: must be at least 16 characters, this one has {}",
                key.len()
            ));
        }
        Ok(AgentConfig {
            server: raw.server,
            port: raw.port.unwrap_or(hb_proto::DEFAULT_HB_PORT),
            interval,
            key: raw.key,
            key_id: raw.key_id,
            name: raw.name,
            plugins: raw.plugins,
            wasm_plugins: raw.wasm_plugins.unwrap_or_default(),
        })
    }

    /// The default config file, `~/.hbc.yaml`, if it exists.
    pub fn default_path() -> Option<PathBuf> {
        let path = PathBuf::from(std::env::var_os("HOME")?).join(".hbc.yaml");
        path.exists().then_some(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let c = AgentConfig::parse(
            "server: hbd.example.org\nport: 6000\ninterval: 2.5\nkey: 0123456789abcdef\nname: web1\nplugins:\n  cpu_monitor: {interval: 30}\n",
        )
        .unwrap();
        assert_eq!(c.server.as_deref(), Some("hbd.example.org"));
        assert_eq!(c.port, 6000);
        assert_eq!(c.interval, Duration::from_millis(2500));
        assert_eq!(c.plugins["cpu_monitor"]["interval"], 30);
        assert_eq!(AgentConfig::parse("").unwrap(), AgentConfig::default());
        let errors = [
            ("interval: 0", "interval: expected seconds"),
            ("key: short", "key: must be at least 16"),
            ("name: 'a b'", "name: host name has the character"),
            ("sever: x", "unknown field `sever`"),
            ("port: 99999", "port"),
        ];
        for (text, want) in errors {
            let err = AgentConfig::parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
