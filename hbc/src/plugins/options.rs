//! A plugin's options from the agent config, with typed getters that name the option in
//! their errors. `interval`, `timeout` and `enabled` are common to every plugin;
//! `proc_root` and `sys_root` (for fixture trees in tests) are accepted but undocumented.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use super::PluginError;

/// The options of one plugin. It remembers which options were read, so the config
/// check can warn about the ones no plugin reads (typos).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    plugin: String,
    map: Map<String, Value>,
    read: RefCell<BTreeSet<String>>,
}

impl Options {
    /// Options of `plugin` from its config value (`null` or a mapping).
    pub fn new(plugin: &str, value: &Value) -> Result<Options, PluginError> {
        let map = match value {
            Value::Null => Map::new(),
            Value::Object(m) => m.clone(),
            Value::Bool(_) => Map::new(),
            other => {
                return Err(PluginError::Config(format!(
                    "plugins.{plugin}: expected a mapping of options, found {other}"
                )));
            }
        };
        Ok(Options {
            plugin: plugin.to_owned(),
            map,
            read: RefCell::default(),
        })
    }

    fn bad(&self, key: &str, expected: &str) -> PluginError {
        PluginError::Option {
            plugin: self.plugin.clone(),
            key: key.to_owned(),
            expected: expected.to_owned(),
        }
    }

    fn lookup(&self, key: &str) -> Option<&Value> {
        self.read.borrow_mut().insert(key.to_owned());
        self.map.get(key)
    }

    /// Options given but never read so far.
    pub fn unread(&self) -> Vec<String> {
        let read = self.read.borrow();
        self.map
            .keys()
            .filter(|k| !read.contains(*k))
            .cloned()
            .collect()
    }

    /// Options read so far (what this plugin knows).
    pub fn read_keys(&self) -> Vec<String> {
        self.read.borrow().iter().cloned().collect()
    }

    /// Whether the plugin runs (`enabled: false` turns a default plugin off).
    pub fn enabled(&self, by_default: bool) -> Result<bool, PluginError> {
        match self.lookup("enabled") {
            None => Ok(by_default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.bad("enabled", "true or false")),
        }
    }

    /// A number of seconds.
    pub fn seconds(&self, key: &str, default: Duration) -> Result<Duration, PluginError> {
        match self.lookup(key) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e7)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| self.bad(key, "a number of seconds > 0")),
        }
    }

    /// A boolean.
    pub fn flag(&self, key: &str, default: bool) -> Result<bool, PluginError> {
        match self.lookup(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.bad(key, "true or false")),
        }
    }

    /// A list of strings (a single string counts as a list of one).
    pub fn strings(&self, key: &str) -> Result<Vec<String>, PluginError> {
        match self.lookup(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| self.bad(key, "a list of strings"))
                })
                .collect(),
            Some(_) => Err(self.bad(key, "a list of strings")),
        }
    }

    /// The raw value of an option.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.lookup(key)
    }

    /// Where `/proc` is.
    pub fn proc_root(&self) -> PathBuf {
        self.path("proc_root", "/proc")
    }

    /// Where `/sys` is.
    pub fn sys_root(&self) -> PathBuf {
        self.path("sys_root", "/sys")
    }

    fn path(&self, key: &str, default: &str) -> PathBuf {
        PathBuf::from(self.lookup(key).and_then(Value::as_str).unwrap_or(default))
    }
}
