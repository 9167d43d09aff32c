//! Finds the `*.wasm` files of the `wasm_plugins` directories and turns each into a
//! scheduled plugin with its operator settings. A file that fails to load is logged and
//! skipped (`hbc plugin check FILE` says why in detail); the other plugins run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::config::{MAX_MEMORY_MB, MAX_TIMEOUT_MS, WasmPluginConfig, WasmPluginsConfig};
use crate::plugins::PluginError;
use crate::plugins::scheduler::Entry;
use crate::wasm::{Runtime, WasmPlugin, WasmSettings};

/// A plugin setting out of its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: expected {expected}, found {found}")]
pub struct BadSetting {
    /// The key (`timeout_ms`).
    pub key: &'static str,
    /// What it may be.
    pub expected: String,
    /// What it was.
    pub found: String,
}

/// The operator's settings for one plugin, from its config entry (checked by the config
/// reader; `hbc plugin check` passes its flags through here too). An error names the key.
pub fn settings(entry: Option<&WasmPluginConfig>) -> Result<WasmSettings, BadSetting> {
    let mut s = WasmSettings::default();
    let Some(e) = entry else { return Ok(s) };
    if let Some(i) = e.interval {
        if !(i.is_finite() && i > 0.0) {
            return Err(BadSetting {
                key: "interval",
                expected: "seconds > 0".into(),
                found: i.to_string(),
            });
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
        if !(1..=MAX_TIMEOUT_MS).contains(&ms) {
            return Err(BadSetting {
                key: "timeout_ms",
                expected: format!("1 to {MAX_TIMEOUT_MS}"),
                found: ms.to_string(),
            });
        }
        s.timeout = Duration::from_millis(ms);
    }
    if let Some(mb) = e.memory_mb {
        if !(1..=MAX_MEMORY_MB).contains(&mb) {
            return Err(BadSetting {
                key: "memory_mb",
                expected: format!("1 to {MAX_MEMORY_MB}"),
                found: mb.to_string(),
            });
        }
        s.memory_bytes = usize::try_from(mb * 1024 * 1024).unwrap_or(usize::MAX);
    }
    s.net.clone_from(&e.net);
    if let Some(n) = e.connections {
        s.connections = n;
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

/// What loading the plugin directories gave: the plugins to schedule, and every
/// problem (a file that did not load, settings for a plugin no directory holds).
#[derive(Debug, Default)]
pub struct Loaded {
    /// Ready to schedule.
    pub entries: Vec<Entry>,
    /// Each problem, logged already, for `hbc check-config` to count.
    pub problems: Vec<String>,
}

/// Every plugin of the configured directories, ready to schedule. A file that fails to
/// load is logged and skipped; the others run.
pub fn entries(config: &WasmPluginsConfig) -> Result<Loaded, PluginError> {
    let mut loaded = Loaded::default();
    if config.dirs.is_empty() {
        for name in config.plugins.keys() {
            let problem = format!(
                "wasm_plugins.plugins.{name}: settings, but no wasm_plugins.dirs to load it from"
            );
            tracing::warn!("{problem}");
            loaded.problems.push(problem);
        }
        return Ok(loaded);
    }
    let runtime = runtime(config)?;
    let mut seen: Vec<String> = Vec::new();
    for dir in &config.dirs {
        for file in wasm_files(dir) {
            // Settings are keyed by plugin name, known only once loaded: load with
            // defaults, then apply the plugin's own settings.
            let mut plugin = match WasmPlugin::load(&runtime, &file, WasmSettings::default()) {
                Ok(p) => p,
                Err(error) => {
                    tracing::error!(file = %file.display(), %error, "wasm plugin not loaded");
                    loaded
                        .problems
                        .push(format!("{}: not loaded: {error}", file.display()));
                    continue;
                }
            };
            let name = crate::plugins::Plugin::name(&plugin).to_owned();
            if seen.contains(&name) {
                tracing::error!(file = %file.display(), plugin = %name, "a plugin of that name is already loaded; skipped");
                loaded.problems.push(format!(
                    "{}: a plugin named {name} is already loaded",
                    file.display()
                ));
                continue;
            }
            seen.push(name.clone());
            let entry = config.plugins.get(&name);
            if entry.and_then(|e| e.enabled) == Some(false) {
                continue;
            }
            let mut settings = settings(entry)
                .map_err(|e| PluginError::Config(format!("wasm_plugins.plugins.{name}.{e}")))?;
            settings.deny.clone_from(&config.deny);
            plugin.configure(settings)?;
            tracing::info!(plugin = %plugin.description(), file = %file.display(), "wasm plugin loaded");
            let (interval, timeout) = (plugin.interval(), plugin.timeout());
            loaded
                .entries
                .push(Entry::new(Box::new(plugin), interval, timeout));
        }
    }
    for name in config.plugins.keys().filter(|n| !seen.contains(n)) {
        let hint =
            hb_problems::did_you_mean(name, &seen.iter().map(String::as_str).collect::<Vec<_>>())
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
        let problem = format!(
            "wasm_plugins.plugins.{name}: no plugin of that name in the directories (loaded: {}){hint}",
            seen.join(", ")
        );
        tracing::warn!("{problem}");
        loaded.problems.push(problem);
    }
    Ok(loaded)
}
