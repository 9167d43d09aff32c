//! Finds the `*.wasm` files of the `wasm_plugins` directories and turns each into a
//! scheduled plugin with its operator settings. A file that fails to load is logged and
//! skipped (`hbc plugin check FILE` says why in detail); the other plugins run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::PluginError;
use super::scheduler::Entry;
use crate::config::{WasmPluginConfig, WasmPluginsConfig};
use crate::wasm::{Runtime, WasmPlugin, WasmSettings};

/// The operator's settings for one plugin, from its config entry.
pub fn settings(entry: Option<&WasmPluginConfig>) -> Result<WasmSettings, PluginError> {
    let mut s = WasmSettings::default();
    let Some(e) = entry else { return Ok(s) };
    if let Some(i) = e.interval {
        if !(i.is_finite() && i > 0.0) {
            return Err(PluginError::Config(format!(
                "interval: expected seconds > 0, found {i}"
            )));
        }
        s.interval = Some(Duration::from_secs_f64(i));
    }
    s.config = e
        .config
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(t) => t.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect();
    s.grants.clone_from(&e.grants);
    if let Some(ms) = e.timeout_ms {
        if !(1..=600_000).contains(&ms) {
            return Err(PluginError::Config(format!(
                "timeout_ms: expected 1 to 600000, found {ms}"
            )));
        }
        s.timeout = Duration::from_millis(ms);
    }
    if let Some(mb) = e.memory_mb {
        if !(1..=4096).contains(&mb) {
            return Err(PluginError::Config(format!(
                "memory_mb: expected 1 to 4096, found {mb}"
            )));
        }
        s.memory_bytes = usize::try_from(mb * 1024 * 1024).unwrap_or(usize::MAX);
    }
    Ok(s)
}

fn default_cache_dir() -> Option<PathBuf> {
    Some(PathBuf::from(std::env::var_os("HOME")?).join(".cache/hbc/wasm"))
}

/// The runtime for `config` (one engine for every plugin).
pub fn runtime(config: &WasmPluginsConfig) -> Result<Runtime, PluginError> {
    Runtime::new(config.cache_dir.clone().or_else(default_cache_dir))
        .map_err(|e| PluginError::Command(e.to_string()))
}

fn wasm_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
                .collect()
        })
        .unwrap_or_else(|error| {
            tracing::error!(dir = %dir.display(), %error, "cannot read wasm plugin directory");
            Vec::new()
        });
    files.sort();
    files
}

/// Every plugin of the configured directories, ready to schedule.
pub fn entries(config: &WasmPluginsConfig) -> Result<Vec<Entry>, PluginError> {
    if config.dirs.is_empty() {
        return Ok(Vec::new());
    }
    let runtime = runtime(config)?;
    let mut out: Vec<Entry> = Vec::new();
    for dir in &config.dirs {
        for file in wasm_files(dir) {
            // Settings are keyed by plugin name, known only once loaded: load with
            // defaults, then apply the plugin's own settings.
            let mut plugin = match WasmPlugin::load(&runtime, &file, WasmSettings::default()) {
                Ok(p) => p,
                Err(error) => {
                    tracing::error!(file = %file.display(), %error, "wasm plugin not loaded");
                    continue;
                }
            };
            let name = crate::plugins::Plugin::name(&plugin).to_owned();
            let entry = config.plugins.get(&name);
            if entry.and_then(|e| e.enabled) == Some(false) {
                continue;
            }
            if out.iter().any(|e| e.name() == name) {
                tracing::error!(file = %file.display(), plugin = %name, "a plugin of that name is already loaded; skipped");
                continue;
            }
            let settings = settings(entry)
                .map_err(|e| PluginError::Config(format!("wasm_plugins.plugins.{name}.{e}")))?;
            plugin.configure(settings)?;
            tracing::info!(plugin = %plugin.description(), file = %file.display(), "wasm plugin loaded");
            let (interval, timeout) = (plugin.interval(), plugin.timeout());
            out.push(Entry::new(Box::new(plugin), interval, timeout));
        }
    }
    Ok(out)
}
