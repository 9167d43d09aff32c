//! The agent's keys, one row each ([`hb_problems::keys`]): how the key is read, a table
//! per level ([`TOP_LEVEL`], [`COMMANDS`], [`WASM`], [`WASM_PLUGIN`], [`PLUGIN_TRUST`],
//! [`MANAGED`]). The reader's
//! dispatch, its "did you mean" and the check of docs/CONFIG.md's agent table all come
//! from them. The agent reads its file once, at start: every row is `Reload::Live`
//! (there is no reload for a change to outlive).

use std::path::PathBuf;

use hb_problems::keys::{KeySpec, Reload, read_key, read_map};
use hb_problems::{Problems, describe, show};
use serde_norway::{Mapping, Value};

use super::{
    AgentConfig, COMMON_PLUGIN_OPTIONS, DEFAULT_INTERVAL, MAX_MEMORY_MB, MAX_SERVERS,
    MAX_TIMEOUT_MS, WasmPluginConfig, WasmPluginsConfig, resolve_servers,
};
use crate::plugins::{self, Options, PluginError};

/// The top level as read: the configuration, and `servers` as written (split against
/// `port`, which may come after it, once every key is read).
pub struct Draft {
    config: AgentConfig,
    servers: Option<Vec<String>>,
}

/// Every top-level key.
pub static TOP_LEVEL: &[KeySpec<Problems, Draft>] = &[
    KeySpec {
        name: "server",
        reload: Reload::Live,
        read: |p, c, at, v| c.config.server = string(p, at, v),
    },
    KeySpec {
        name: "servers",
        reload: Reload::Live,
        read: |p, c, _at, v| c.servers = read_servers(p, v),
    },
    KeySpec {
        name: "port",
        reload: Reload::Live,
        read: |p, c, at, v| match v.as_u64().and_then(|n| u16::try_from(n).ok()) {
            Some(port) if port > 0 => c.config.port = port,
            _ => p.error(
                at,
                format!("expected a port from 1 to 65535, found {}", show(v)),
            ),
        },
    },
    KeySpec {
        name: "interval",
        reload: Reload::Live,
        read: |p, c, at, v| {
            if let Some(d) = p.seconds_between(at, v, 0.1, 86_400.0) {
                c.config.interval = d;
            }
        },
    },
    KeySpec {
        name: "key",
        reload: Reload::Live,
        read: |p, c, at, v| {
            // `{file: PATH}` or `{env: NAME}` instead of the key (hb_problems::secret).
            let Some(v) = p.reveal(at, v) else {
                return;
            };
            if let Some(key) = string(p, at, &v) {
                if key.len() < 16 {
                    p.error(
                        at,
                        format!("must be at least 16 characters, this one has {}", key.len()),
                    );
                }
                c.config.key = Some(key);
            }
        },
    },
    KeySpec {
        name: "key_file",
        reload: Reload::Live,
        read: |p, c, at, v| c.config.key_file = string(p, at, v).map(PathBuf::from),
    },
    KeySpec {
        name: "key_id",
        reload: Reload::Live,
        read: |p, c, at, v| c.config.key_id = string(p, at, v),
    },
    KeySpec {
        name: "name",
        reload: Reload::Live,
        read: |p, c, at, v| {
            if let Some(name) = string(p, at, v) {
                if let Err(e) = hb_proto::validate_name(&name) {
                    p.error(at, e.to_string());
                }
                c.config.name = Some(name);
            }
        },
    },
    KeySpec {
        name: "plugins",
        reload: Reload::Live,
        read: read_plugins,
    },
    KeySpec {
        name: "wasm_plugins",
        reload: Reload::Live,
        read: |p, c, at, v| section(p, WASM, &mut c.config.wasm_plugins, at, v),
    },
    KeySpec {
        name: "plugin_trust",
        reload: Reload::Live,
        read: |p, c, at, v| section(p, PLUGIN_TRUST, &mut c.config.plugin_trust, at, v),
    },
    KeySpec {
        name: "managed_plugins",
        reload: Reload::Live,
        read: |p, c, at, v| section(p, MANAGED, &mut c.config.managed_plugins, at, v),
    },
    KeySpec {
        name: "labels",
        reload: Reload::Live,
        read: |p, c, at, v| {
            let Some(map) = mapping(p, at, v) else {
                return;
            };
            let mut labels = std::collections::BTreeMap::new();
            for (k, value) in map {
                let (Some(k), Some(value)) = (k.as_str(), string(p, at, value)) else {
                    p.error(at, "expected label names with string values (role: web)");
                    continue;
                };
                labels.insert(k.to_owned(), value);
            }
            match hb_proto::validate_labels(&labels) {
                Ok(()) => c.config.labels = labels,
                Err(e) => p.error(at, e),
            }
        },
    },
    KeySpec {
        name: "commands",
        reload: Reload::Live,
        read: |p, c, at, v| section(p, COMMANDS, &mut c.config.commands, at, v),
    },
];

/// Keys of `commands: {allow: [/usr/bin/systemctl, ...], max_skew: 300, ledger: PATH,
/// upgrade: true}`.
pub static COMMANDS: &[KeySpec<Problems, crate::commands::Policy>] = &[
    KeySpec {
        name: "allow",
        reload: Reload::Live,
        read: |p, c, at, v| {
            let Value::Sequence(items) = v else {
                p.error(
                    at,
                    format!("expected a list of program paths, found {}", describe(v)),
                );
                return;
            };
            for item in items {
                let Some(path) = string(p, at, item) else {
                    continue;
                };
                if !path.starts_with('/') {
                    p.error(
                        at,
                        format!(
                            "{path:?}: give the absolute path; commands run without a shell or PATH"
                        ),
                    );
                    continue;
                }
                c.allow.push(PathBuf::from(path));
            }
        },
    },
    KeySpec {
        name: "max_skew",
        reload: Reload::Live,
        read: |p, c, at, v| {
            if let Some(d) = p.seconds_between(at, v, 1.0, 86_400.0) {
                c.max_skew = d;
            }
        },
    },
    KeySpec {
        name: "ledger",
        reload: Reload::Live,
        read: |p, c, at, v| {
            if let Some(path) = string(p, at, v) {
                c.ledger = PathBuf::from(path);
            }
        },
    },
    KeySpec {
        name: "upgrade",
        reload: Reload::Live,
        read: |p, c, at, v| match v {
            Value::Bool(on) => c.upgrade = *on,
            other => p.error(
                at,
                format!("expected true or false, found {}", describe(other)),
            ),
        },
    },
];

/// Keys of `wasm_plugins`.
pub static WASM: &[KeySpec<Problems, WasmPluginsConfig>] = &[
    KeySpec {
        name: "dirs",
        reload: Reload::Live,
        read: |p, w, at, v| {
            let dirs = match v {
                Value::String(s) => vec![s.clone()],
                Value::Sequence(items) => items.iter().filter_map(|i| string(p, at, i)).collect(),
                other => {
                    p.error(
                        at,
                        format!("expected a list of directories, found {}", describe(other)),
                    );
                    Vec::new()
                }
            };
            for dir in dirs {
                let dir = PathBuf::from(dir);
                if !dir.is_dir() {
                    p.error(at, format!("{}: not a directory", dir.display()));
                }
                w.dirs.push(dir);
            }
        },
    },
    KeySpec {
        name: "cache_dir",
        reload: Reload::Live,
        read: |p, w, at, v| w.cache_dir = string(p, at, v).map(PathBuf::from),
    },
    KeySpec {
        name: "plugins",
        reload: Reload::Live,
        read: |p, w, at, v| {
            let Some(entries) = mapping(p, at, v) else {
                return;
            };
            for (name, entry) in entries {
                let Some(name) = name.as_str() else { continue };
                let mut settings = WasmPluginConfig::default();
                let mut path = at.to_vec();
                path.push(name);
                if let Some(map) = mapping(p, &path, entry) {
                    read_map(p, WASM_PLUGIN, &mut settings, &path, map);
                }
                w.plugins.insert(name.to_owned(), settings);
            }
        },
    },
];

/// Keys of `plugin_trust`: whose signed plugin artifacts this agent runs, and the most
/// any of them may do here.
pub static PLUGIN_TRUST: &[KeySpec<Problems, hb_artifact::Trust>] = &[
    KeySpec {
        name: "publishers",
        reload: Reload::Live,
        read: |p, t, at, v| {
            let Value::Sequence(items) = v else {
                p.error(
                    at,
                    format!(
                        "expected a list of minisign public keys, found {}",
                        describe(v)
                    ),
                );
                return;
            };
            let texts: Vec<String> = items.iter().filter_map(|i| string(p, at, i)).collect();
            for text in texts {
                match hb_artifact::Publisher::new(&text) {
                    Ok(key) => t.publishers.push(key),
                    Err(e) => p.error(at, e.to_string()),
                }
            }
        },
    },
    KeySpec {
        name: "grants",
        reload: Reload::Live,
        read: |p, t, at, v| {
            let Value::Sequence(items) = v else {
                p.error(
                    at,
                    format!("expected a list of paths, found {}", describe(v)),
                );
                return;
            };
            let paths: Vec<String> = items.iter().filter_map(|i| string(p, at, i)).collect();
            for path in paths.into_iter().map(PathBuf::from) {
                match hb_artifact::grant::plain_absolute(&path) {
                    Ok(()) => t.ceiling.grants.push(path),
                    Err(why) => p.error(at, format!("{}: {why}", path.display())),
                }
            }
        },
    },
    KeySpec {
        name: "memory_mb",
        reload: Reload::Live,
        read: |p, t, at, v| {
            if let Some(mb) = range(p, at, v, MAX_MEMORY_MB) {
                t.ceiling.memory_mb = mb;
            }
        },
    },
    KeySpec {
        name: "timeout_ms",
        reload: Reload::Live,
        read: |p, t, at, v| {
            if let Some(ms) = range(p, at, v, MAX_TIMEOUT_MS) {
                t.ceiling.timeout_ms = ms;
            }
        },
    },
    KeySpec {
        name: "min_interval",
        reload: Reload::Live,
        read: |p, t, at, v| {
            if let Some(d) = p.seconds_between(at, v, 0.1, 86_400.0) {
                t.ceiling.min_interval_s = d.as_secs_f64();
            }
        },
    },
    KeySpec {
        name: "max_size_mb",
        reload: Reload::Live,
        read: |p, t, at, v| {
            if let Some(mb) = range(p, at, v, 256) {
                t.ceiling.max_size = mb * 1024 * 1024;
            }
        },
    },
    KeySpec {
        name: "net",
        reload: Reload::Live,
        read: |p, t, at, v| {
            if let Some(list) = destinations(p, at, v) {
                t.ceiling.net = list;
            }
        },
    },
    KeySpec {
        name: "deny",
        reload: Reload::Live,
        read: |p, t, at, v| {
            if let Some(list) = destinations(p, at, v) {
                if let Some(named) = list.iter().find(|d| !d.is_address_based()) {
                    p.error(
                        at,
                        format!("{named}: deny addresses and blocks, not names (a name's addresses change)"),
                    );
                    return;
                }
                t.ceiling.deny = list;
            }
        },
    },
    KeySpec {
        name: "connections",
        reload: Reload::Live,
        read: |p, t, at, v| {
            if let Some(n) = range(p, at, v, u64::from(hb_artifact::manifest::MAX_CONNECTIONS)) {
                t.ceiling.connections = u32::try_from(n).unwrap_or(u32::MAX);
            }
        },
    },
];

/// A list of network destinations (`HOST:PORT`), each checked.
fn destinations(
    p: &mut Problems,
    at: &[&str],
    v: &Value,
) -> Option<Vec<hb_artifact::net::Destination>> {
    let Value::Sequence(items) = v else {
        p.error(
            at,
            format!(
                "expected a list of HOST:PORT destinations, found {}",
                describe(v)
            ),
        );
        return None;
    };
    if items.len() > hb_artifact::net::MAX_DESTINATIONS {
        p.error(
            at,
            format!(
                "{} destinations, at most {}",
                items.len(),
                hb_artifact::net::MAX_DESTINATIONS
            ),
        );
        return None;
    }
    let mut out = Vec::new();
    let mut good = true;
    let texts: Vec<String> = items.iter().filter_map(|i| string(p, at, i)).collect();
    for text in texts {
        match text.parse() {
            Ok(d) => out.push(d),
            Err(e) => {
                p.error(at, format!("{e}"));
                good = false;
            }
        }
    }
    good.then_some(out)
}

/// Keys of `managed_plugins`: where the daemon is asked which signed artifacts to run,
/// where they are kept, how often.
pub static MANAGED: &[KeySpec<Problems, super::ManagedPluginsConfig>] = &[
    KeySpec {
        name: "url",
        reload: Reload::Live,
        read: |p, m, at, v| {
            if let Some(url) = string(p, at, v) {
                if url.starts_with("http://") {
                    m.url = Some(url);
                } else {
                    p.error(
                        at,
                        format!("{url:?}: expected http://HOST:PORT, the daemon's HTTP port (what comes is signed, so plain HTTP is enough)"),
                    );
                }
            }
        },
    },
    KeySpec {
        name: "dir",
        reload: Reload::Live,
        read: |p, m, at, v| {
            if let Some(dir) = string(p, at, v) {
                m.dir = PathBuf::from(dir);
            }
        },
    },
    KeySpec {
        name: "check_every",
        reload: Reload::Live,
        read: |p, m, at, v| {
            if let Some(d) = p.seconds_between(at, v, 0.1, 86_400.0) {
                m.check_every = d;
            }
        },
    },
];

/// Keys of one `wasm_plugins.plugins.NAME` entry.
pub static WASM_PLUGIN: &[KeySpec<Problems, WasmPluginConfig>] = &[
    KeySpec {
        name: "interval",
        reload: Reload::Live,
        read: |p, e, at, v| match v.as_f64() {
            Some(s) if s.is_finite() && s > 0.0 => e.interval = Some(s),
            _ => p.error(at, format!("expected seconds > 0, found {}", show(v))),
        },
    },
    KeySpec {
        name: "config",
        reload: Reload::Live,
        read: |p, e, at, v| {
            if let Some(m) = mapping(p, at, v) {
                for (ck, cv) in m {
                    if let Some(ck) = ck.as_str() {
                        e.config.insert(ck.to_owned(), json(cv));
                    }
                }
            }
        },
    },
    KeySpec {
        name: "grants",
        reload: Reload::Live,
        read: |p, e, at, v| match v {
            Value::Sequence(items) => {
                e.grants = items
                    .iter()
                    .filter_map(|i| string(p, at, i))
                    .map(PathBuf::from)
                    .collect();
            }
            other => p.error(
                at,
                format!("expected a list of paths, found {}", describe(other)),
            ),
        },
    },
    KeySpec {
        name: "timeout_ms",
        reload: Reload::Live,
        read: |p, e, at, v| e.timeout_ms = range(p, at, v, MAX_TIMEOUT_MS),
    },
    KeySpec {
        name: "memory_mb",
        reload: Reload::Live,
        read: |p, e, at, v| e.memory_mb = range(p, at, v, MAX_MEMORY_MB),
    },
    KeySpec {
        name: "enabled",
        reload: Reload::Live,
        read: |p, e, at, v| e.enabled = p.boolean(at, v).or(e.enabled),
    },
    KeySpec {
        name: "net",
        reload: Reload::Live,
        read: |p, e, at, v| {
            if let Some(list) = destinations(p, at, v) {
                e.net = list;
            }
        },
    },
    KeySpec {
        name: "connections",
        reload: Reload::Live,
        read: |p, e, at, v| {
            e.connections = range(p, at, v, u64::from(hb_artifact::manifest::MAX_CONNECTIONS))
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        },
    },
];

/// Reads the whole file's value into `c`, every problem recorded in `p`.
pub(super) fn read(p: &mut Problems, c: &mut AgentConfig, root: &Value) {
    let map = match root {
        Value::Null => return,
        Value::Mapping(m) => m,
        other => {
            p.error(
                &["(top level)"],
                format!("expected a mapping of keys, found {}", describe(other)),
            );
            return;
        }
    };
    let mut draft = Draft {
        config: std::mem::take(c),
        servers: None,
    };
    for (k, v) in map {
        let Some(key) = k.as_str() else {
            p.error(&["(top level)"], "keys must be strings");
            continue;
        };
        read_key(p, TOP_LEVEL, &mut draft, &[key], v);
    }
    *c = draft.config;
    c.wasm_plugins.deny = c.plugin_trust.ceiling.deny.clone();
    resolve_servers(p, c, draft.servers);
    read_key_file(p, c);
    if !c.plugin_trust.publishers.is_empty() && c.key.is_none() && c.key_file.is_none() {
        p.error(
            &["plugin_trust", "publishers"],
            "managed plugins need `key`: what to run comes signed with it",
        );
    }
}

/// The key `key_file` holds (what `hbc enrol` wrote), when it is there yet.
fn read_key_file(p: &mut Problems, c: &mut AgentConfig) {
    let Some(path) = c.key_file.clone() else {
        return;
    };
    if c.key.is_some() {
        p.error(&["key_file"], "set `key` or `key_file`, not both");
        return;
    }
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 16 => c.key = Some(text.trim().to_owned()),
        Ok(_) => p.error(
            &["key_file"],
            format!("{}: not a key (at least 16 characters)", path.display()),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => p.warn(
            &["key_file"],
            format!(
                "{} does not exist yet: `hbc enrol --token TOKEN` makes it",
                path.display()
            ),
        ),
        Err(e) => p.error(&["key_file"], format!("{}: {e}", path.display())),
    }
}

/// A whole number from 1 to `max`.
fn range(p: &mut Problems, at: &[&str], v: &Value, max: u64) -> Option<u64> {
    match v.as_u64() {
        Some(n) if (1..=max).contains(&n) => Some(n),
        _ => {
            p.error(at, format!("expected 1 to {max}, found {}", show(v)));
            None
        }
    }
}

/// `servers: [a, b]`: each datagram goes to every one (an HA pair of daemons).
fn read_servers(p: &mut Problems, v: &Value) -> Option<Vec<String>> {
    let Value::Sequence(list) = v else {
        p.error(
            &["servers"],
            format!(
                "expected a list of HOST or HOST:PORT, found {}",
                describe(v)
            ),
        );
        return None;
    };
    if list.is_empty() || list.len() > MAX_SERVERS {
        p.error(
            &["servers"],
            format!("expected 1 to {MAX_SERVERS} servers, found {}", list.len()),
        );
        return None;
    }
    Some(
        list.iter()
            .filter_map(|one| string(p, &["servers"], one))
            .collect(),
    )
}

fn string(p: &mut Problems, at: &[&str], v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        other => {
            p.error(at, format!("expected a string, found {}", describe(other)));
            None
        }
    }
}

/// A section (`commands:`, `wasm_plugins:`, ...): a mapping read with its table.
fn section<T>(
    p: &mut Problems,
    table: &'static [KeySpec<Problems, T>],
    into: &mut T,
    at: &[&str],
    v: &Value,
) {
    if let Some(map) = mapping(p, at, v) {
        read_map(p, table, into, at, map);
    }
}

fn mapping<'v>(p: &mut Problems, at: &[&str], v: &'v Value) -> Option<&'v Mapping> {
    match v {
        Value::Mapping(m) => Some(m),
        Value::Null => None,
        other => {
            p.error(at, format!("expected a mapping, found {}", describe(other)));
            None
        }
    }
}

fn json(v: &Value) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// `plugins:`: each entry names a built-in plugin; its options are checked by building
/// it, and options no plugin reads are warned about.
fn read_plugins(p: &mut Problems, c: &mut Draft, _at: &[&str], v: &Value) {
    let c = &mut c.config;
    let Some(map) = mapping(p, &["plugins"], v) else {
        return;
    };
    for (k, value) in map {
        let Some(name) = k.as_str() else {
            p.error(&["plugins"], "plugin names must be strings");
            continue;
        };
        let at = ["plugins", name];
        let value = json(value);
        c.plugins.insert(name.to_owned(), value.clone());
        if !plugins::built_in().any(|b| b == name) {
            let known: Vec<&str> = plugins::built_in().collect();
            let hint = hb_problems::did_you_mean(name, &known)
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            p.error(&at, format!("no built-in plugin of that name{hint}"));
            continue;
        }
        let options = match Options::new(name, &value) {
            Ok(o) => o,
            Err(e) => {
                option_problem(p, name, &e);
                continue;
            }
        };
        let common = options
            .enabled(true)
            .and_then(|_| options.seconds("interval", DEFAULT_INTERVAL))
            .and_then(|_| options.seconds("timeout", DEFAULT_INTERVAL));
        if let Err(e) = common {
            option_problem(p, name, &e);
        }
        // Only a plugin that will run is built (ping and Nagios need settings).
        if value == serde_json::Value::Bool(false) || matches!(options.enabled(true), Ok(false)) {
            continue;
        }
        if let Err(e) = plugins::build(name, &options) {
            option_problem(p, name, &e);
            continue;
        }
        for key in options.unread() {
            let mut known = options.read_keys();
            known.extend(COMMON_PLUGIN_OPTIONS.iter().map(|k| (*k).to_owned()));
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            p.unknown_key(&["plugins", name, &key], &known);
        }
    }
}

fn option_problem(p: &mut Problems, plugin: &str, e: &PluginError) {
    match e {
        PluginError::Option { key, expected, .. } => {
            p.error(&["plugins", plugin, key], format!("expected {expected}"));
        }
        other => p.error(&["plugins", plugin], other.to_string()),
    }
}
