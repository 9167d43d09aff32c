//! Daemon configuration: YAML parsed in two stages (raw YAML value, then a validated
//! [`Config`]), every problem collected with its file, line and key.
//!
//! Nothing downstream sees the raw form. Keys whose features arrive later (users,
//! thresholds, notifications, DNS) are still checked for shape here, so a typo is caught
//! the day it is written.

mod core_settings;
pub mod dns;
pub mod enrolled;
mod notify;
pub mod oidc;
pub mod proxy;
mod reader;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hb_proto::Key;

pub use hb_problems::{Problem, Severity, did_you_mean};
pub use notify::{
    EmailConfig, MattermostConfig, NotifyConfig, PushoverConfig, Secret, Security, Service,
    SignalConfig, TargetConfig,
};
use reader::Reader;

/// `plugin_history` when `remote_write` is on and `plugin_history` is not set: the TSDB
/// keeps the history; SQLite a day of 5-minute reports.
pub const SHORT_PLUGIN_HISTORY: usize = 288;

/// Push services `pushsrv` may name.
pub const PUSH_SERVICES: &[&str] = &["pushover", "mattermost", "signal", "all", "none"];

/// Notification channels a user may choose.
pub const NOTIFICATION_CHANNELS: &[&str] = &["email", "pushover", "mattermost", "signal"];

/// The validated daemon configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from, `None` for built-in defaults.
    pub source: Option<PathBuf>,
    /// UDP heartbeat port.
    pub hb_port: u16,
    /// Address the UDP heartbeat listener binds to (`::` accepts IPv4 and IPv6).
    pub hb_host: IpAddr,
    /// HTTP API and dashboard port.
    pub hbd_port: u16,
    /// Address the HTTP server binds to.
    pub hbd_host: IpAddr,
    /// The original's separate plain WebSocket port; `/ws` is served on `hbd_port`, so
    /// this extra listener is off unless set.
    pub ws_port: Option<u16>,
    /// TLS WebSocket port, when configured.
    pub wss_port: Option<u16>,
    /// Directory of TLS material.
    pub cert_path: Option<PathBuf>,
    /// Certificate chain for WSS.
    pub wss_pem: Option<PathBuf>,
    /// Private key for WSS.
    pub wss_key: Option<PathBuf>,
    /// Serve the HTTP port over TLS with `wss_pem` and `wss_key`.
    pub hbd_tls: bool,
    /// A browser session ends after this long unused.
    pub session_idle: Duration,
    /// A browser session ends this long after login, used or not.
    pub session_lifetime: Duration,
    /// Origins (`https://ops.example.org`) whose pages may send state-changing
    /// requests with the session cookie, besides the daemon's own.
    pub allowed_origins: Vec<String>,
    /// An authenticating proxy in front, whose header names the user.
    pub auth_proxy: Option<proxy::AuthProxy>,
    /// Sign-in through an OpenID Connect provider.
    pub oidc: Option<oidc::OidcConfig>,
    /// The API's rate limits.
    pub rate_limit: RateLimits,
    /// With no users configured, the host names (`Host`, without the port) the daemon
    /// answers to besides IP addresses and `localhost`: a name not listed is refused,
    /// so a page that rebinds its own name to this address reaches nothing.
    pub allowed_hosts: Vec<String>,
    /// Log file; stderr when absent.
    pub logfile: Option<PathBuf>,
    /// Push services in use.
    pub pushsrv: Vec<String>,
    /// Default heartbeat interval.
    pub interval: Duration,
    /// How long past `interval` a host may be silent before it is DOWN.
    pub grace: Duration,
    /// Zones the daemon keeps host records in (`dyndomains`), by zone name.
    pub dyndomains: BTreeMap<String, dns::Zone>,
    /// The `nsupdate` program.
    pub nsupdate_bin: PathBuf,
    /// Agent releases for self-upgrade (`hbc-VERSION-ARCH-OS` files and their
    /// `SHA256SUMS`); upgrades are off without it.
    pub releases_dir: Option<PathBuf>,
    /// Where signed plugin artifacts are offered to agents from.
    pub artifacts_dir: Option<PathBuf>,
    /// The publisher keys artifacts must be signed by to be offered (none: any
    /// signature; agents check their own trust either way).
    pub plugin_publishers: Vec<hb_artifact::Publisher>,
    /// Where agents download releases, when not from the daemon's own HTTP port (a
    /// proxy, or an HTTPS name): the base URL the file name is appended to.
    pub releases_url: Option<String>,
    /// Users by name.
    pub users: BTreeMap<String, UserConfig>,
    /// Owner of hosts not listed under `hosts`.
    pub default_owner: Option<String>,
    /// Per-host settings by host name.
    pub hosts: BTreeMap<String, HostConfig>,
    /// Host groups by name.
    pub groups: BTreeMap<String, GroupConfig>,
    /// Checks run from several vantage points, by name.
    pub checks: BTreeMap<String, CheckConfig>,
    /// Default thresholds, as checked JSON.
    pub thresholds: serde_json::Value,
    /// Named threshold profiles.
    pub threshold_configs: BTreeMap<String, serde_json::Value>,
    /// Reminder period while an alert is not OK.
    pub threshold_renotify_interval: Duration,
    /// Most reminders per alert episode (0: no cap).
    pub threshold_renotify_max: u32,
    /// Whether Nagios checks going UNKNOWN notify.
    pub threshold_notify_unknown: bool,
    /// Whether a plugin's own status (a WASM plugin's verdict, a failed collection)
    /// raises an alert.
    pub plugin_status_alerts: bool,
    /// The default thresholds, parsed.
    pub threshold_layers: crate::alerting::rules::Layers,
    /// The profiles, parsed.
    pub profile_layers: BTreeMap<String, crate::alerting::rules::Layers>,
    /// Message journal settings.
    pub journal: JournalConfig,
    /// Templates override directory.
    pub templates_dir: Option<PathBuf>,
    /// Where people reach hbd's pages (`https://hbd.example.org`, no trailing `/`):
    /// messages link to the host page when set.
    pub public_url: Option<String>,
    /// The embedded store's file.
    pub state_db: PathBuf,
    /// Key for every host that has no key of its own.
    pub hb_key: Option<Key>,
    /// Refuse unsigned datagrams.
    pub require_signed: bool,
    /// Largest accepted difference between agent and daemon clocks.
    pub max_clock_skew: Duration,
    /// Largest message after inflation.
    pub max_message_bytes: usize,
    /// Receive buffer asked of the kernel for the heartbeat socket.
    pub hb_recv_buffer: usize,
    /// Heartbeat sockets on the same port (`SO_REUSEPORT`), each with its own receiver.
    pub hb_receivers: usize,
    /// Plugin samples kept per host and plugin.
    pub plugin_history: usize,
    /// Notification channels and delivery policy.
    pub notify: NotifyConfig,
    /// Maintenance windows by name.
    pub maintenance: BTreeMap<String, crate::policy::window::WindowConfig>,
    /// Flap detection (`None`: off).
    pub flapping: Option<crate::policy::flap::FlapSettings>,
    /// Storm grouping.
    pub storm: crate::policy::storm::StormSettings,
    /// Metric history out to a Prometheus remote_write receiver (`None`: off).
    pub remote_write: Option<crate::remote_write::Settings>,
    /// One daemon of an HA pair (`None`: alone).
    pub ha: Option<crate::ha::settings::Settings>,
    /// The keys agents enrolled (from the store, not the file): each speaks for its
    /// host alone.
    pub enrolled: Arc<enrolled::Enrolled>,
    /// Each host's own plugins and collectors' settings, set through the API by those
    /// who manage it (from the store, not the file).
    pub host_plugins: Arc<BTreeMap<String, hbd_core::managed::HostOwn>>,
    /// Groups rolling out a change: which members run it (made by reloads, moved on by
    /// the rollout task; not from the file).
    pub rollouts: Arc<BTreeMap<String, hbd_core::rollout::Split>>,
}

/// `groups.NAME`: the hosts whose names match `hosts` or whose agents declare every one
/// of `labels`, and what membership gives them: threshold profiles (before a host's
/// own) and roles (for hosts without access of their own).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupConfig {
    /// Host name patterns (`web*`).
    pub hosts: Vec<String>,
    /// Labels a member's agent declares, every one.
    pub labels: BTreeMap<String, String>,
    /// Threshold profiles its members get.
    pub threshold_config: Vec<String>,
    /// The owner of its members.
    pub owner: Option<String>,
    /// Managers of its members.
    pub managers: Vec<String>,
    /// Monitors of its members.
    pub monitors: Vec<String>,
    /// Signed plugin artifacts its members run, by plugin name.
    pub plugins: BTreeMap<String, GroupPlugin>,
    /// Its members' native collectors' settings, by collector name.
    pub collectors: hb_artifact::collectors::Collectors,
    /// How a change to its plugins or collectors reaches its members (`None`: all at
    /// once).
    pub rollout: Option<hbd_core::rollout::RolloutSettings>,
    /// Who is told of a member's problem that stays unacknowledged, step by step (by
    /// rising `after`).
    pub escalation: Vec<hbd_core::policy::escalate::Step>,
}

/// `checks.NAME`: a check run from several vantage points: `plugin` (or one result of
/// it, `nagios.check_http`) as the hosts of `group` run it, told when `quorum` of them
/// (default: a majority of the group's known members) agree.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckConfig {
    /// The plugin, or a path under it.
    pub plugin: String,
    /// The group of its vantage points.
    pub group: String,
    /// How many counted vantage points must agree.
    pub quorum: Option<usize>,
    /// The report's leaf holding the latency in milliseconds.
    pub latency: Option<String>,
}

/// `groups.NAME.plugins.PLUGIN`: a signed artifact a group's members run, at a version,
/// with the operator's settings (never more than its manifest allows).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupPlugin {
    /// The version (the config reader requires it).
    pub version: Option<semver::Version>,
    /// The operator's settings.
    pub settings: hb_artifact::desired::Settings,
    /// The artifact's SHA-256 and size, from its manifest in `artifacts_dir` when the
    /// configuration was read (the config reader requires it on offer).
    pub resolved: Option<(String, u64)>,
}

/// Settings of one host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostConfig {
    /// The host's own HMAC key.
    pub key: Option<Key>,
    /// Interval used until the host's heartbeat states its own.
    pub interval: Option<Duration>,
    /// Grace for this host.
    pub grace: Option<Duration>,
    /// Owning user.
    pub owner: Option<String>,
    /// Users who manage the host.
    pub managers: Vec<String>,
    /// Users who monitor the host.
    pub monitors: Vec<String>,
    /// Threshold profiles applied left to right.
    pub threshold_config: Vec<String>,
    /// Free text.
    pub description: Option<String>,
    /// Its DNS record (`dyndomain`).
    pub dyndomain: Option<dns::DynDomain>,
    /// Hosts it is reached through: while one is DOWN, this host is UNREACHABLE.
    pub parents: Vec<String>,
    /// Missed heartbeats before it is DOWN (default 1: `interval + grace`).
    pub down_after: Option<u32>,
}

/// One user (also the form the store keeps API-made users in).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct UserConfig {
    /// Name as shown.
    pub full_name: Option<String>,
    /// Picture URL or path, as shown.
    pub avatar: Option<String>,
    /// Password hash in Werkzeug's formats (`pbkdf2:sha256:ITER$SALT$HEX`,
    /// `scrypt:N:r:p$SALT$HEX`), checked at load.
    pub password: Option<String>,
    /// Administrator of everything.
    pub admin: bool,
    /// Email address.
    pub email: Option<String>,
    /// Pushover user key.
    pub pushover_user: Option<String>,
    /// Signal number.
    pub signal_number: Option<String>,
    /// Mattermost channel.
    pub mattermost_channel: Option<String>,
    /// Channels that reach this user.
    pub notification_channels: Vec<String>,
    /// For a user the OpenID Connect provider signed in (kept in the store only):
    /// who the provider says they are, and their groups at the last sign-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sso: Option<SsoIdentity>,
}

/// Who the OpenID Connect provider said a user is.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SsoIdentity {
    /// The provider's issuer.
    pub issuer: String,
    /// The provider's subject: a later sign-in under the same name must be the same.
    pub subject: String,
    /// The groups at the last sign-in (administrators and roles follow from them).
    pub groups: Vec<String>,
}

/// Message journal settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalConfig {
    /// Journal on or off.
    pub enabled: bool,
    /// Directory of the journal files.
    pub dir: PathBuf,
    /// Name of the live file.
    pub file: String,
    /// Rotate when the file would grow past this many bytes.
    pub max_size: u64,
    /// Rotated files kept.
    pub max_backups: u32,
}

impl JournalConfig {
    /// Full path of the live journal file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.file)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            source: None,
            hb_port: 50003,
            hb_host: IpAddr::from([0u16; 8]),
            hbd_port: 50004,
            hbd_host: IpAddr::from([127, 0, 0, 1]),
            ws_port: None,
            wss_port: None,
            cert_path: None,
            wss_pem: None,
            wss_key: None,
            hbd_tls: false,
            session_idle: Duration::from_secs(12 * 3600),
            session_lifetime: Duration::from_secs(7 * 24 * 3600),
            allowed_origins: Vec::new(),
            auth_proxy: None,
            oidc: None,
            rate_limit: RateLimits::default(),
            allowed_hosts: Vec::new(),
            logfile: None,
            pushsrv: Vec::new(),
            interval: Duration::from_secs(60),
            grace: Duration::from_secs(30),
            dyndomains: BTreeMap::new(),
            nsupdate_bin: PathBuf::from("/usr/bin/nsupdate"),
            releases_dir: None,
            artifacts_dir: None,
            plugin_publishers: Vec::new(),
            releases_url: None,
            users: BTreeMap::new(),
            default_owner: None,
            hosts: BTreeMap::new(),
            groups: BTreeMap::new(),
            checks: BTreeMap::new(),
            thresholds: serde_json::Value::Null,
            threshold_configs: BTreeMap::new(),
            threshold_renotify_interval: Duration::from_secs(3600),
            threshold_renotify_max: 0,
            threshold_notify_unknown: true,
            plugin_status_alerts: true,
            threshold_layers: Default::default(),
            profile_layers: BTreeMap::new(),
            journal: JournalConfig {
                enabled: true,
                dir: PathBuf::from("journal"),
                file: "hbd_journal.jsonl".into(),
                max_size: 100 * 1024 * 1024,
                max_backups: 10,
            },
            templates_dir: None,
            public_url: None,
            state_db: PathBuf::from("hbd.db"),
            hb_key: None,
            require_signed: false,
            max_clock_skew: Duration::from_secs(300),
            max_message_bytes: hb_proto::limits::DEFAULT_MAX_MESSAGE_BYTES,
            plugin_history: 1000,
            hb_recv_buffer: 64 * 1024 * 1024,
            hb_receivers: 1,
            notify: NotifyConfig::default(),
            maintenance: BTreeMap::new(),
            flapping: None,
            storm: Default::default(),
            remote_write: None,
            ha: None,
            enrolled: Arc::default(),
            host_plugins: Arc::default(),
            rollouts: Arc::default(),
        }
    }
}

/// A configuration that could not be used: every problem found, errors and warnings.
#[derive(Debug, thiserror::Error)]
#[error("{} problem(s) in the configuration:\n{}", .problems.len(), render(.problems))]
pub struct ConfigError {
    /// Every problem, in file order.
    pub problems: Vec<Problem>,
}

fn render(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The API's rate limits: requests per second per credential (token, session or a
/// sign-in proxy's user) and, for requests without one, per client address (an IPv6
/// address by its /64), 0 for none; `burst` seconds' worth may come at once after a
/// quiet spell. Addresses in `exempt` have no address limit (a reverse proxy on the
/// same machine speaks for everyone behind it).
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimits {
    /// Per token, session or proxy user.
    pub per_token: f64,
    /// Per client address, for requests without a credential.
    pub per_address: f64,
    /// Seconds' worth allowed at once.
    pub burst: Duration,
    /// Addresses without an address limit.
    pub exempt: Vec<ipnet::IpNet>,
}

impl Default for RateLimits {
    /// 50 requests a second per credential and per address, 10 seconds' worth at once,
    /// loopback exempt from the address limit: a dashboard of 10,000 hosts asks far
    /// less (docs/PERFORMANCE.md).
    fn default() -> RateLimits {
        RateLimits {
            per_token: 50.0,
            per_address: 50.0,
            burst: Duration::from_secs(10),
            exempt: ["127.0.0.0/8", "::1/128"]
                .iter()
                .filter_map(|n| n.parse().ok())
                .collect(),
        }
    }
}

/// A loaded configuration and the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// Problems that did not stop loading.
    pub warnings: Vec<Problem>,
}

/// Loads a file, or the built-in defaults when `path` is `None`.
pub fn load(path: Option<&Path>) -> Result<Loaded, ConfigError> {
    load_knowing(path, &BTreeSet::new())
}

/// As [`load`], knowing which plugins agents have reported: thresholds on a plugin that
/// is not built in but that agents run (a WASM plugin) draw no warning.
pub fn load_knowing(
    path: Option<&Path>,
    reported: &BTreeSet<String>,
) -> Result<Loaded, ConfigError> {
    let Some(path) = path else {
        return Ok(Loaded {
            config: Config::default(),
            warnings: Vec::new(),
        });
    };
    let text = hb_problems::read_file(path).map_err(|p| ConfigError { problems: vec![p] })?;
    parse_knowing(&text, Some(path), reported)
}

/// Parses YAML text; `file` is only used in messages.
pub fn parse(text: &str, file: Option<&Path>) -> Result<Loaded, ConfigError> {
    parse_knowing(text, file, &BTreeSet::new())
}

/// As [`parse`], knowing which plugins agents have reported (see [`load_knowing`]).
pub fn parse_knowing(
    text: &str,
    file: Option<&Path>,
    reported: &BTreeSet<String>,
) -> Result<Loaded, ConfigError> {
    let mut reader = Reader::new(text, file.map(Path::to_owned));
    reader.knowing(reported);
    let mut config = Config {
        source: file.map(Path::to_owned),
        ..Config::default()
    };
    reader.read_into(&mut config);
    let (errors, warnings): (Vec<Problem>, Vec<Problem>) = reader
        .into_problems()
        .into_iter()
        .partition(|p| p.severity == Severity::Error);
    if errors.is_empty() {
        Ok(Loaded { config, warnings })
    } else {
        let mut problems = errors;
        problems.extend(warnings);
        problems.sort_by_key(|p| p.line.unwrap_or(0));
        Err(ConfigError { problems })
    }
}

/// The configuration in force, shared by everything that reads it (gate, engine, core,
/// notifier). A reload swaps it in one place; readers take a cheap `Arc` copy per
/// batch of work, so they never see half of one config and half of another.
#[derive(Debug, Clone)]
pub struct SharedConfig(Arc<RwLock<Arc<Config>>>);

impl SharedConfig {
    /// Shares `config`.
    pub fn new(config: Arc<Config>) -> SharedConfig {
        SharedConfig(Arc::new(RwLock::new(config)))
    }

    /// The configuration in force now.
    pub fn get(&self) -> Arc<Config> {
        match self.0.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts `config` in force.
    pub fn set(&self, config: Arc<Config>) {
        match self.0.write() {
            Ok(mut c) => *c = config,
            Err(poisoned) => *poisoned.into_inner() = config,
        }
    }
}

impl Config {
    /// Keys whose change a reload cannot apply (sockets, files opened at start): the ones
    /// that differ between `self` and `new`, as the key table says
    /// (`config/reader/keys.rs`).
    pub fn restart_needed(&self, new: &Config) -> Vec<&'static str> {
        reader::keys::TOP_LEVEL
            .iter()
            .filter(|k| k.needs_restart(self, new))
            .map(|k| k.name)
            .collect()
    }

    /// The TLS certificate chain and key files, relative paths under `cert_path`.
    pub fn tls_files(&self) -> Option<(PathBuf, PathBuf)> {
        let under = |p: &PathBuf| match &self.cert_path {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p.clone(),
        };
        Some((under(self.wss_pem.as_ref()?), under(self.wss_key.as_ref()?)))
    }

    /// Who owns hosts that name no owner: `default_owner`, else the first administrator
    /// (by name), else nobody.
    pub fn default_owner(&self) -> Option<&str> {
        self.default_owner.as_deref().or_else(|| {
            self.users
                .iter()
                .find(|(_, u)| u.admin)
                .map(|(n, _)| n.as_str())
        })
    }

    /// The key that verifies datagrams signed with `key_id`, and whether it is that
    /// host's own key (which binds the key id to the message's host name).
    pub fn key_for(&self, key_id: &str) -> Option<(&Key, bool)> {
        if let Some(enrolled) = self.enrolled.get(key_id) {
            // An enrolled host's key alone speaks for it; pending or revoked, none does.
            return (enrolled.standing == enrolled::Standing::Active)
                .then_some((&enrolled.key, true));
        }
        if let Some(key) = self.hosts.get(key_id).and_then(|h| h.key.as_ref()) {
            return Some((key, true));
        }
        self.hb_key.as_ref().map(|k| (k, false))
    }

    /// Whether only `host`'s own key may speak for it (one in the config, or one it
    /// enrolled, whatever its standing): then neither `hb_key` nor an unsigned
    /// datagram does.
    pub fn has_own_key(&self, host: &str) -> bool {
        self.enrolled.get(host).is_some()
            || (!self.hosts.is_empty() && self.hosts.get(host).is_some_and(|h| h.key.is_some()))
    }

    /// Whether `host` has a key (its own or `hb_key`): only then can commands reach it,
    /// since they travel only signed.
    pub fn host_has_key(&self, host: &str) -> bool {
        self.key_for(host).is_some()
    }
}

#[cfg(test)]
mod tests;
