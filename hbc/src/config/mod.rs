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

use hb_problems::{Problem, Problems, Severity};

mod keys;

pub use keys::{COMMANDS, MANAGED, PLUGIN_TRUST, TOP_LEVEL, WASM, WASM_PLUGIN};

/// Default heartbeat interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

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
    /// Addresses no plugin connects to, whatever its `net` says (`plugin_trust.deny`,
    /// which holds for every plugin).
    pub deny: Vec<hb_artifact::net::Destination>,
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
    /// Where it may connect (`HOST:PORT`; contract 0.3.0 plugins only).
    pub net: Vec<hb_artifact::net::Destination>,
    /// The most connections it may open per call (default 8).
    pub connections: Option<u32>,
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
    /// Where the key is kept instead of `key` (what `hbc enrol` writes); read at load.
    pub key_file: Option<PathBuf>,
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
    /// Labels this host declares (`role: web`), which the daemon's host groups go by.
    pub labels: BTreeMap<String, String>,
    /// Signed plugin artifacts: the publisher keys trusted, the ceiling on what any
    /// artifact may do, and the contracts this agent speaks.
    pub plugin_trust: hb_artifact::Trust,
    /// Where and how often the daemon is asked which signed artifacts to run.
    pub managed_plugins: ManagedPluginsConfig,
}

/// `managed_plugins:` — the plugins the daemon manages (on when `plugin_trust` names a
/// publisher).
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedPluginsConfig {
    /// The daemon's HTTP base URL (default `http://SERVER:50004`, the first server).
    pub url: Option<String>,
    /// Where artifacts and the record are kept (default beside the command ledger).
    pub dir: PathBuf,
    /// How often the daemon is asked.
    pub check_every: Duration,
}

impl Default for ManagedPluginsConfig {
    fn default() -> ManagedPluginsConfig {
        ManagedPluginsConfig {
            url: None,
            dir: crate::commands::default_ledger().with_file_name("managed"),
            check_every: Duration::from_secs(300),
        }
    }
}

/// What this agent trusts before any `plugin_trust` is read: no publisher (every
/// artifact refused), the default ceiling, the contracts it speaks (none in a build
/// without WebAssembly plugins).
pub fn default_trust() -> hb_artifact::Trust {
    #[cfg(feature = "wasm")]
    let contracts = crate::wasm::CONTRACTS
        .iter()
        .map(|v| format!("hbd:plugin@{v}"))
        .collect();
    #[cfg(not(feature = "wasm"))]
    let contracts = Vec::new();
    hb_artifact::Trust {
        publishers: Vec::new(),
        ceiling: hb_artifact::Ceiling::default(),
        contracts,
    }
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            server: None,
            servers: Vec::new(),
            port: hb_proto::DEFAULT_HB_PORT,
            interval: DEFAULT_INTERVAL,
            key: None,
            key_file: None,
            key_id: None,
            name: None,
            plugins: BTreeMap::new(),
            wasm_plugins: WasmPluginsConfig::default(),
            commands: crate::commands::Policy::off(),
            labels: BTreeMap::new(),
            plugin_trust: default_trust(),
            managed_plugins: ManagedPluginsConfig::default(),
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
            keys::read(&mut problems, &mut config, &root);
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

/// `server` or `servers`, each split against `port` (which may come after them).
pub(super) fn resolve_servers(p: &mut Problems, c: &mut AgentConfig, servers: Option<Vec<String>>) {
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

/// The daemon's HTTP base URL: `url` when given (`managed_plugins.url`), else the
/// daemon `host` on the default HTTP port 50004.
pub fn daemon_url(url: Option<&str>, host: &str) -> String {
    if let Some(url) = url {
        return url.trim_end_matches('/').to_owned();
    }
    if host.contains(':') {
        format!("http://[{host}]:50004")
    } else {
        format!("http://{host}:50004")
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_may_come_from_a_file_or_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key"), "the agent's key, from a file\n").unwrap();
        let file = dir.path().join("hbc.yaml");
        let from_file = AgentConfig::parse("key: {file: key}\n", Some(&file)).unwrap();
        assert_eq!(
            from_file.config.key.as_deref(),
            Some("the agent's key, from a file")
        );
        let path_var = std::env::var("PATH").unwrap();
        let from_env = AgentConfig::parse("key: {env: PATH}\n", None).unwrap();
        assert_eq!(from_env.config.key.as_deref(), Some(path_var.as_str()));
        let err =
            AgentConfig::parse("key: {env: HBC_TEST_SURELY_UNSET}\n", Some(&file)).unwrap_err();
        assert_eq!(
            err.problems[0].to_string(),
            format!(
                "{}:1: error: key: the environment variable HBC_TEST_SURELY_UNSET is not set",
                file.display()
            )
        );
    }

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
    fn plugin_trust_sets_the_keys_and_the_ceiling_and_names_what_is_wrong() {
        let key = "RWTdFx/28V80EyS4gpsMHxNIPmSJDc4wolgABvMB54QFaVbLjw8sJikL";
        let text = format!(
            "key: the host key, 16 or more\nplugin_trust:\n  publishers: [{key}]\n  grants: [/var/log, /srv/app]\n  memory_mb: 64\n  timeout_ms: 5000\n  min_interval: 30\n  max_size_mb: 4\nmanaged_plugins: {{url: 'http://hbd:8080', dir: /var/lib/hbc/managed, check_every: 60}}\n"
        );
        let config = AgentConfig::parse(&text, None).unwrap().config;
        assert_eq!(
            config.managed_plugins,
            ManagedPluginsConfig {
                url: Some("http://hbd:8080".into()),
                dir: "/var/lib/hbc/managed".into(),
                check_every: Duration::from_secs(60),
            }
        );
        let trust = config.plugin_trust;
        assert_eq!(trust.publishers.len(), 1);
        assert_eq!(trust.publishers[0].text, key);
        assert_eq!(
            trust.ceiling,
            hb_artifact::Ceiling {
                grants: vec!["/var/log".into(), "/srv/app".into()],
                memory_mb: 64,
                timeout_ms: 5000,
                min_interval_s: 30.0,
                max_size: 4 * 1024 * 1024,
                ..hb_artifact::Ceiling::default()
            }
        );
        assert_eq!(
            trust.contracts,
            ["hbd:plugin@0.1.0", "hbd:plugin@0.2.0", "hbd:plugin@0.3.0"]
        );
        let keyless = format!("plugin_trust:\n  publishers: [{key}]\n");
        let err = AgentConfig::parse(&keyless, None).unwrap_err();
        assert_eq!(
            err.problems[0].to_string(),
            "<defaults>:2: error: plugin_trust.publishers: managed plugins need `key`: what to run comes signed with it"
        );
        let bad = "plugin_trust:\n  publishers: [not-a-key]\n  grants: [var/log, /a/../etc]\n  memory_mb: 0\n  max_size: 4\nmanaged_plugins: {url: 'https://hbd'}\n";
        let err = AgentConfig::parse(bad, Some(Path::new("/etc/hbc.yaml"))).unwrap_err();
        let shown: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "/etc/hbc.yaml:2: error: plugin_trust.publishers: \"not-a-key\" is not a minisign public key (the base64 line of a minisign .pub file)",
                "/etc/hbc.yaml:3: error: plugin_trust.grants: var/log: not an absolute path",
                "/etc/hbc.yaml:3: error: plugin_trust.grants: /a/../etc: has . or .. in it",
                "/etc/hbc.yaml:4: error: plugin_trust.memory_mb: expected 1 to 1024, found 0",
                "/etc/hbc.yaml:6: error: managed_plugins.url: \"https://hbd\": expected http://HOST:PORT, the daemon's HTTP port (what comes is signed, so plain HTTP is enough)",
                "/etc/hbc.yaml:5: warning: plugin_trust.max_size: unknown key, ignored; did you mean `max_size_mb`?",
            ]
        );
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

        use hb_problems::keys::names;
        use hbd_e2e::docs::{backticked, read, row, table_keys};
        let md = read("CONFIG.md");
        let set = |keys: Vec<&str>| keys.into_iter().map(str::to_owned).collect::<BTreeSet<_>>();
        assert_eq!(table_keys(&md, "## Agent"), set(names(TOP_LEVEL)));
        let mut wasm = set(names(WASM));
        wasm.extend(
            names(WASM_PLUGIN)
                .iter()
                .map(|k| format!("plugins.NAME.{k}")),
        );
        assert_eq!(table_keys(&md, "`wasm_plugins`, every key:"), wasm);
        assert_eq!(
            table_keys(&md, "`plugin_trust`, every key"),
            set(names(PLUGIN_TRUST))
        );
        assert_eq!(
            table_keys(&md, "`managed_plugins`, every key"),
            set(names(MANAGED))
        );
        let commands = backticked(row(&md, "## Agent", "commands"));
        for key in names(COMMANDS) {
            assert!(
                commands.iter().any(|w| w == key),
                "`commands` row lacks `{key}`"
            );
        }
    }

    /// docs/EVALUATE.md's three agent files load without a single problem.
    #[test]
    fn the_evaluation_guide_agents_are_clean() {
        let md = hbd_e2e::docs::read("EVALUATE.md");
        let mut agents = 0;
        let mut rest = md.as_str();
        while let Some(start) = rest.find("```yaml\n") {
            let body = &rest[start + 8..];
            let end = body.find("```").unwrap();
            let text = &body[..end];
            rest = &body[end + 3..];
            let name = text.lines().next().unwrap_or_default();
            if name == "# hbd.yaml" || !name.starts_with("# ") {
                continue;
            }
            let loaded = AgentConfig::parse(text, Some(Path::new(&name[2..])))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
            assert!(loaded.config.labels.contains_key("role"), "{name}");
            agents += 1;
        }
        assert_eq!(agents, 3);
    }
}
