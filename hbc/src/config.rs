//! The agent's configuration: `server` (or `servers`, an HA pair), `port`, `interval`,
//! `key`, `name`, the `plugins` map and `wasm_plugins`, from YAML; the command line's
//! SERVER wins over both.
//!
//! Read in two stages like the daemon's: the YAML value first, then every key checked,
//! each problem collected with its file, line and key (`hb_problems`), unknown keys
//! warned about with a "did you mean". Built-in plugins' options are checked by building
//! the plugin, so a bad option is reported before the agent starts, not at run time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hb_problems::{Problem, Problems, Severity, describe, show};
use serde_norway::{Mapping, Value};

use crate::plugins::{self, Options, PluginError};

/// Default heartbeat interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// Every top-level key.
pub const TOP_LEVEL_KEYS: &[&str] = &[
    "server",
    "servers",
    "port",
    "interval",
    "key",
    "key_id",
    "name",
    "plugins",
    "wasm_plugins",
    "commands",
];

/// Keys of `commands`.
pub const COMMAND_KEYS: &[&str] = &["allow", "max_skew", "ledger", "upgrade"];

/// Keys of `wasm_plugins`.
pub const WASM_KEYS: &[&str] = &["dirs", "cache_dir", "plugins"];

/// Keys of one `wasm_plugins.plugins.NAME` entry.
pub const WASM_PLUGIN_KEYS: &[&str] = &[
    "interval",
    "config",
    "grants",
    "timeout_ms",
    "memory_mb",
    "enabled",
];

/// Options every built-in plugin takes (read by the scheduler, not the plugin).
pub const COMMON_PLUGIN_OPTIONS: &[&str] = &["interval", "timeout", "enabled"];

/// Largest `memory_mb` of a WASM plugin.
pub const MAX_MEMORY_MB: u64 = 1024;

/// Largest `timeout_ms` of a WASM plugin.
pub const MAX_TIMEOUT_MS: u64 = 600_000;

/// A configuration that could not be used: every problem found, errors and warnings.
#[derive(Debug, thiserror::Error)]
#[error("{} problem(s) in the configuration:\n  {}", .problems.len(), .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
pub struct ConfigError {
    /// Every problem, in file order.
    pub problems: Vec<Problem>,
}

/// A loaded configuration and the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    /// The configuration.
    pub config: AgentConfig,
    /// Problems that did not stop loading.
    pub warnings: Vec<Problem>,
}

/// `wasm_plugins:` — where WebAssembly plugins are and how each may run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WasmPluginsConfig {
    /// Directories whose `*.wasm` files are loaded.
    pub dirs: Vec<PathBuf>,
    /// Where compiled plugins are cached (default `~/.cache/hbc/wasm`).
    pub cache_dir: Option<PathBuf>,
    /// Settings per plugin name.
    pub plugins: BTreeMap<String, WasmPluginConfig>,
}

/// `wasm_plugins.plugins.NAME:` — one plugin's settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WasmPluginConfig {
    /// Seconds between collections (default: the plugin's own).
    pub interval: Option<f64>,
    /// Passed to the plugin's `collect`; values are turned into strings.
    pub config: BTreeMap<String, serde_json::Value>,
    /// Read-only paths the plugin may read or list.
    pub grants: Vec<PathBuf>,
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
    /// Daemon host name or address, as written (`server`).
    pub server: Option<String>,
    /// Every daemon to send to, `(host, port)`: `server`, or both of `servers`.
    pub servers: Vec<(String, u16)>,
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
    /// Which commands from the daemon may run (none unless `commands.allow` lists them).
    pub commands: crate::commands::Policy,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            server: None,
            servers: Vec::new(),
            port: hb_proto::DEFAULT_HB_PORT,
            interval: DEFAULT_INTERVAL,
            key: None,
            key_id: None,
            name: None,
            plugins: BTreeMap::new(),
            wasm_plugins: WasmPluginsConfig::default(),
            commands: crate::commands::Policy::off(),
        }
    }
}

impl AgentConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
        let text = hb_problems::read_file(path).map_err(|p| ConfigError { problems: vec![p] })?;
        AgentConfig::parse(&text, Some(path))
    }

    /// Parses and checks YAML text; `file` is only used in messages.
    pub fn parse(text: &str, file: Option<&Path>) -> Result<Loaded, ConfigError> {
        let mut problems = Problems::new(text, file.map(Path::to_owned));
        let mut config = AgentConfig::default();
        if let Some(root) = problems.parse_yaml() {
            read(&mut problems, &mut config, &root);
        }
        let failed = problems.has_errors();
        let mut list = problems.into_vec();
        list.sort_by_key(|p| (p.severity == Severity::Warning, p.line.unwrap_or(0)));
        if failed {
            Err(ConfigError { problems: list })
        } else {
            Ok(Loaded {
                config,
                warnings: list,
            })
        }
    }

    /// The default config file: `~/.hbc.yaml`, else `~/.hbc.json`, if one exists.
    pub fn default_path() -> Option<PathBuf> {
        let home = PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?);
        // `~/.hbc.json` is where the original's hbc_mini looks: the same keys in JSON,
        // which the YAML reader reads as it is.
        [".hbc.yaml", ".hbc.json"]
            .into_iter()
            .map(|name| home.join(name))
            .find(|path| path.is_file())
    }
}

fn read(p: &mut Problems<'_>, c: &mut AgentConfig, root: &Value) {
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
    let mut servers = None;
    for (k, v) in map {
        let Some(key) = k.as_str() else {
            p.error(&["(top level)"], "keys must be strings");
            continue;
        };
        let at = [key];
        match key {
            "server" => c.server = string(p, &at, v),
            "servers" => servers = read_servers(p, v),
            "port" => match v.as_u64().and_then(|n| u16::try_from(n).ok()) {
                Some(port) if port > 0 => c.port = port,
                _ => p.error(
                    &at,
                    format!("expected a port from 1 to 65535, found {}", show(v)),
                ),
            },
            "interval" => {
                if let Some(d) = p.seconds_between(&at, v, 0.1, 86_400.0) {
                    c.interval = d;
                }
            }
            "key" => {
                if let Some(key) = string(p, &at, v) {
                    if key.len() < 16 {
                        p.error(
                            &at,
                            format!("must be at least 16 characters, this one has {}", key.len()),
                        );
                    }
                    c.key = Some(key);
                }
            }
            "key_id" => c.key_id = string(p, &at, v),
            "name" => {
                if let Some(name) = string(p, &at, v) {
                    if let Err(e) = hb_proto::validate_name(&name) {
                        p.error(&at, e.to_string());
                    }
                    c.name = Some(name);
                }
            }
            "plugins" => read_plugins(p, c, v),
            "wasm_plugins" => read_wasm(p, c, v),
            "commands" => read_commands(p, c, v),
            _ => p.unknown_key(&at, TOP_LEVEL_KEYS),
        }
    }
    resolve_servers(p, c, servers);
}

/// `server` or `servers`, each split against `port` (which may come after them).
fn resolve_servers(p: &mut Problems<'_>, c: &mut AgentConfig, servers: Option<Vec<String>>) {
    let (key, list) = match (c.server.clone(), servers) {
        (Some(_), Some(_)) => {
            p.error(&["servers"], "give `server` or `servers`, not both");
            return;
        }
        (Some(one), None) => ("server", vec![one]),
        (None, Some(list)) => ("servers", list),
        (None, None) => return,
    };
    for one in list {
        match split_server(&one, c.port) {
            Ok(server) if c.servers.contains(&server) => {
                p.error(&[key], format!("{one:?} is listed twice"));
            }
            Ok(server) => c.servers.push(server),
            Err(e) => p.error(&[key], e.to_string()),
        }
    }
}

/// `commands: {allow: [/usr/bin/systemctl, ...], max_skew: 300, ledger: PATH, upgrade: true}`.
fn read_commands(p: &mut Problems<'_>, c: &mut AgentConfig, v: &Value) {
    let Some(map) = mapping(p, &["commands"], v) else {
        return;
    };
    for (k, v) in map {
        let Some(key) = k.as_str() else { continue };
        let at = ["commands", key];
        match key {
            "allow" => {
                let Value::Sequence(items) = v else {
                    p.error(
                        &at,
                        format!("expected a list of program paths, found {}", describe(v)),
                    );
                    continue;
                };
                for item in items {
                    let Some(path) = string(p, &at, item) else {
                        continue;
                    };
                    if !path.starts_with('/') {
                        p.error(
                            &at,
                            format!("{path:?}: give the absolute path; commands run without a shell or PATH"),
                        );
                        continue;
                    }
                    c.commands.allow.push(PathBuf::from(path));
                }
            }
            "max_skew" => {
                if let Some(d) = p.seconds_between(&at, v, 1.0, 86_400.0) {
                    c.commands.max_skew = d;
                }
            }
            "ledger" => {
                if let Some(path) = string(p, &at, v) {
                    c.commands.ledger = PathBuf::from(path);
                }
            }
            "upgrade" => match v {
                Value::Bool(on) => c.commands.upgrade = *on,
                other => p.error(
                    &at,
                    format!("expected true or false, found {}", describe(other)),
                ),
            },
            _ => p.unknown_key(&at, COMMAND_KEYS),
        }
    }
}

/// Most daemons one agent sends to (an HA pair is two).
pub const MAX_SERVERS: usize = 4;

/// Why a `server` does not name a daemon.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    /// Nothing given.
    #[error("empty server")]
    Empty,
    /// The port is not 1 to 65535.
    #[error("bad port {port:?} in {server:?}")]
    BadPort {
        /// The port as written.
        port: String,
        /// The server as written.
        server: String,
    },
    /// An IPv6 address whose `[` is not closed.
    #[error("unclosed [ in {0:?}")]
    Unclosed(String),
}

/// Splits `host`, `host:port`, `[v6]:port` or a bare IPv6 address.
pub fn split_server(server: &str, default_port: u16) -> Result<(String, u16), ServerError> {
    if server.is_empty() {
        return Err(ServerError::Empty);
    }
    let port = |p: &str| match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ServerError::BadPort {
            port: p.to_owned(),
            server: server.to_owned(),
        }),
    };
    if let Some(rest) = server.strip_prefix('[') {
        let (host, tail) = rest
            .split_once(']')
            .ok_or_else(|| ServerError::Unclosed(server.to_owned()))?;
        let port = match tail.strip_prefix(':') {
            Some(p) => port(p)?,
            None => default_port,
        };
        return Ok((host.to_owned(), port));
    }
    match server.rsplit_once(':') {
        Some((host, p)) if !host.contains(':') => Ok((host.to_owned(), port(p)?)),
        _ => Ok((server.to_owned(), default_port)),
    }
}

/// `servers: [a, b]`: each datagram goes to every one (an HA pair of daemons).
fn read_servers(p: &mut Problems<'_>, v: &Value) -> Option<Vec<String>> {
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

fn string(p: &mut Problems<'_>, at: &[&str], v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        other => {
            p.error(at, format!("expected a string, found {}", describe(other)));
            None
        }
    }
}

fn mapping<'v>(p: &mut Problems<'_>, at: &[&str], v: &'v Value) -> Option<&'v Mapping> {
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

/// `plugins:` — each entry names a built-in plugin; its options are checked by building
/// it, and options no plugin reads are warned about.
fn read_plugins(p: &mut Problems<'_>, c: &mut AgentConfig, v: &Value) {
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

fn option_problem(p: &mut Problems<'_>, plugin: &str, e: &PluginError) {
    match e {
        PluginError::Option { key, expected, .. } => {
            p.error(&["plugins", plugin, key], format!("expected {expected}"));
        }
        other => p.error(&["plugins", plugin], other.to_string()),
    }
}

fn read_wasm(p: &mut Problems<'_>, c: &mut AgentConfig, v: &Value) {
    let Some(map) = mapping(p, &["wasm_plugins"], v) else {
        return;
    };
    let w = &mut c.wasm_plugins;
    for (k, v) in map {
        let Some(key) = k.as_str() else { continue };
        let at = ["wasm_plugins", key];
        match key {
            "dirs" => {
                let dirs = match v {
                    Value::String(s) => vec![s.clone()],
                    Value::Sequence(items) => {
                        items.iter().filter_map(|i| string(p, &at, i)).collect()
                    }
                    other => {
                        p.error(
                            &at,
                            format!("expected a list of directories, found {}", describe(other)),
                        );
                        Vec::new()
                    }
                };
                for dir in dirs {
                    let dir = PathBuf::from(dir);
                    if !dir.is_dir() {
                        p.error(&at, format!("{}: not a directory", dir.display()));
                    }
                    w.dirs.push(dir);
                }
            }
            "cache_dir" => w.cache_dir = string(p, &at, v).map(PathBuf::from),
            "plugins" => {
                let Some(entries) = mapping(p, &at, v) else {
                    continue;
                };
                for (name, entry) in entries {
                    let Some(name) = name.as_str() else { continue };
                    let settings = read_wasm_plugin(p, name, entry);
                    w.plugins.insert(name.to_owned(), settings);
                }
            }
            _ => p.unknown_key(&at, WASM_KEYS),
        }
    }
}

fn read_wasm_plugin(p: &mut Problems<'_>, name: &str, v: &Value) -> WasmPluginConfig {
    let mut e = WasmPluginConfig::default();
    let Some(map) = mapping(p, &["wasm_plugins", "plugins", name], v) else {
        return e;
    };
    for (k, v) in map {
        let Some(key) = k.as_str() else { continue };
        let at = ["wasm_plugins", "plugins", name, key];
        let range = |p: &mut Problems<'_>, max: u64| match v.as_u64() {
            Some(n) if (1..=max).contains(&n) => Some(n),
            _ => {
                p.error(&at, format!("expected 1 to {max}, found {}", show(v)));
                None
            }
        };
        match key {
            "interval" => match v.as_f64() {
                Some(s) if s.is_finite() && s > 0.0 => e.interval = Some(s),
                _ => p.error(&at, format!("expected seconds > 0, found {}", show(v))),
            },
            "timeout_ms" => e.timeout_ms = range(p, MAX_TIMEOUT_MS),
            "memory_mb" => e.memory_mb = range(p, MAX_MEMORY_MB),
            "enabled" => e.enabled = p.boolean(&at, v).or(e.enabled),
            "grants" => match v {
                Value::Sequence(items) => {
                    e.grants = items
                        .iter()
                        .filter_map(|i| string(p, &at, i))
                        .map(PathBuf::from)
                        .collect();
                }
                other => p.error(
                    &at,
                    format!("expected a list of paths, found {}", describe(other)),
                ),
            },
            "config" => {
                if let Some(m) = mapping(p, &at, v) {
                    for (ck, cv) in m {
                        if let Some(ck) = ck.as_str() {
                            e.config.insert(ck.to_owned(), json(cv));
                        }
                    }
                }
            }
            _ => p.unknown_key(&at, WASM_PLUGIN_KEYS),
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let c = AgentConfig::parse(
            "server: hbd.example.org\nport: 6000\ninterval: 2.5\nkey: 0123456789abcdef\nname: web1\nplugins:\n  cpu_monitor: {interval: 30}\n",
            None,
        )
        .unwrap()
        .config;
        assert_eq!(c.server.as_deref(), Some("hbd.example.org"));
        assert_eq!(c.servers, [("hbd.example.org".to_owned(), 6000)]);
        assert_eq!(c.port, 6000);
        assert_eq!(c.interval, Duration::from_millis(2500));
        assert_eq!(c.plugins["cpu_monitor"]["interval"], 30);
        assert_eq!(
            AgentConfig::parse("", None).unwrap().config,
            AgentConfig::default()
        );
    }

    #[test]
    fn an_ha_pair_is_two_servers_each_with_the_port_unless_it_names_one() {
        let c = AgentConfig::parse("servers: [hbd-a, '[::1]:7000']\nport: 6000\n", None)
            .unwrap()
            .config;
        assert_eq!(
            c.servers,
            [("hbd-a".to_owned(), 6000), ("::1".to_owned(), 7000)]
        );
        for (text, error) in [
            (
                "server: a\nservers: [b, c]\n",
                "2: error: servers: give `server` or `servers`, not both",
            ),
            (
                "servers: [a, 'a:50003']\n",
                "1: error: servers: \"a:50003\" is listed twice",
            ),
            (
                "servers: [a, 'b:0']\n",
                "1: error: servers: bad port \"0\" in \"b:0\"",
            ),
            (
                "servers: []\n",
                "1: error: servers: expected 1 to 4 servers, found 0",
            ),
            (
                "servers: a\n",
                "1: error: servers: expected a list of HOST or HOST:PORT, found a string",
            ),
        ] {
            let e = AgentConfig::parse(text, Some(Path::new("/etc/hbc.yaml"))).unwrap_err();
            assert!(
                e.to_string().contains(&format!("/etc/hbc.yaml:{error}")),
                "{text:?}: {e}"
            );
        }
    }

    #[test]
    fn every_problem_is_reported_with_its_line_and_key() {
        let text = "\
interval: 0
key: short
name: 'a b'
sever: x
port: 99999
plugins:
  cpu_monitor: {interval: -1, per_cor: true}
  disk_montor: {}
  ping_monitor: {targets: 5}
wasm_plugins:
  dirs: [/nonexistent-hbc-dir]
  plugins:
    x: {memory_mb: 4096, timeout: 5}
";
        let err = AgentConfig::parse(text, Some(Path::new("/etc/hbc.yaml"))).unwrap_err();
        let shown: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
        let want = [
            "/etc/hbc.yaml:1: error: interval: expected seconds from 0.1 to 86400, found 0",
            "/etc/hbc.yaml:2: error: key: must be at least 16 characters, this one has 5",
            "/etc/hbc.yaml:3: error: name: host name has the character",
            "/etc/hbc.yaml:5: error: port: expected a port from 1 to 65535, found 99999",
            "/etc/hbc.yaml:7: error: plugins.cpu_monitor.interval: expected a number of seconds > 0",
            "/etc/hbc.yaml:8: error: plugins.disk_montor: no built-in plugin of that name; did you mean `disk_monitor`?",
            "/etc/hbc.yaml:9: error: plugins.ping_monitor",
            "/etc/hbc.yaml:11: error: wasm_plugins.dirs: /nonexistent-hbc-dir: not a directory",
            "/etc/hbc.yaml:13: error: wasm_plugins.plugins.x.memory_mb: expected 1 to 1024, found 4096",
            "/etc/hbc.yaml:4: warning: sever: unknown key, ignored; did you mean `server`?",
            "/etc/hbc.yaml:7: warning: plugins.cpu_monitor.per_cor: unknown key, ignored; did you mean `per_core`?",
            "/etc/hbc.yaml:13: warning: wasm_plugins.plugins.x.timeout: unknown key, ignored; did you mean `timeout_ms`?",
        ];
        for w in want {
            assert!(
                shown.iter().any(|s| s.starts_with(w)),
                "missing {w:?} in\n{}",
                shown.join("\n")
            );
        }
        // Alone, an unknown option is a warning: the agent runs.
        let warned = AgentConfig::parse("plugins:\n  cpu_monitor: {per_cor: true}\n", None)
            .unwrap()
            .warnings;
        assert_eq!(warned.len(), 1);
        assert!(
            warned[0].to_string().ends_with(
                "plugins.cpu_monitor.per_cor: unknown key, ignored; did you mean `per_core`?"
            ),
            "{}",
            warned[0]
        );
    }

    /// docs/CONFIG.md's agent tables name exactly the keys the reader knows, and the
    /// `commands` row each of its keys.
    #[test]
    fn config_md_documents_every_agent_key_and_no_other() {
        use std::collections::BTreeSet;

        use hbd_e2e::docs::{backticked, read, row, table_keys};
        let md = read("CONFIG.md");
        let set = |keys: &[&str]| {
            keys.iter()
                .map(|k| (*k).to_owned())
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(table_keys(&md, "## Agent"), set(TOP_LEVEL_KEYS));
        let mut wasm = set(WASM_KEYS);
        wasm.extend(WASM_PLUGIN_KEYS.iter().map(|k| format!("plugins.NAME.{k}")));
        assert_eq!(table_keys(&md, "`wasm_plugins`, every key:"), wasm);
        let commands = backticked(row(&md, "## Agent", "commands"));
        for key in COMMAND_KEYS {
            assert!(
                commands.iter().any(|w| w == key),
                "`commands` row lacks `{key}`"
            );
        }
    }
}
