//! Stage two of config loading: walks the parsed YAML value, converts each known key to
//! its validated form and records a [`Problem`] (with the key's line) for everything else.

mod channels;
mod dyndomains;
mod ha;
mod policy;
mod remote_write;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use hb_proto::{Key, validate_name};
use serde_norway::{Mapping, Value};

use super::dns::{DynDomain, record_for};
use super::{
    Config, HOST_KEYS, HostConfig, NOTIFICATION_CHANNELS, PUSH_SERVICES, TOP_LEVEL_KEYS, USER_KEYS,
    UserConfig,
};
use hb_problems::{Problem, Problems, did_you_mean};

pub(super) struct Reader<'a> {
    problems: Problems<'a>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(text: &'a str, file: Option<PathBuf>) -> Reader<'a> {
        Reader {
            problems: Problems::new(text, file),
        }
    }

    pub(super) fn into_problems(self) -> Vec<Problem> {
        self.problems.into_vec()
    }

    fn error(&mut self, path: &[&str], message: impl Into<String>) {
        self.problems.error(path, message);
    }

    fn warn(&mut self, path: &[&str], message: impl Into<String>) {
        self.problems.warn(path, message);
    }

    fn unknown_key(&mut self, path: &[&str], known: &[&str]) {
        self.problems.unknown_key(path, known);
    }

    pub(super) fn read_into(&mut self, config: &mut Config) {
        let Some(root) = self.problems.parse_yaml() else {
            return;
        };
        let map = match root {
            Value::Null => return,
            Value::Mapping(m) => m,
            other => {
                self.error(
                    &["(top level)"],
                    format!("expected a mapping of keys, found {}", kind(&other)),
                );
                return;
            }
        };
        for (k, v) in &map {
            let Some(key) = k.as_str() else {
                self.error(
                    &["(top level)"],
                    format!("keys must be strings, found {}", kind(k)),
                );
                continue;
            };
            self.read_top(config, key, v);
        }
        // With a TSDB keeping the history, SQLite keeps a short window (a day of
        // 5-minute reports) unless the operator says otherwise.
        let history_set = map.keys().any(|k| k.as_str() == Some("plugin_history"));
        if config.remote_write.is_some() && !history_set {
            config.plugin_history = super::SHORT_PLUGIN_HISTORY;
        }
        if config.require_signed
            && config.hb_key.is_none()
            && config.hosts.values().all(|h| h.key.is_none())
        {
            self.error(
                &["require_signed"],
                "is on, but no key is configured (set hb_key or hosts.NAME.key)",
            );
        }
        if config.wss_port.is_some() && (config.wss_pem.is_none() || config.wss_key.is_none()) {
            self.error(&["wss_port"], "needs both wss_pem and wss_key");
        }
        if config.hbd_tls && (config.wss_pem.is_none() || config.wss_key.is_none()) {
            self.error(&["hbd_tls"], "needs both wss_pem and wss_key");
        }
        for (host, entry) in &config.hosts {
            let roles = entry
                .owner
                .iter()
                .chain(&entry.managers)
                .chain(&entry.monitors);
            for user in roles {
                if !config.users.contains_key(user) {
                    let user = user.clone();
                    self.error(
                        &["hosts", host, "owner"],
                        format!("names user `{user}`, who is not defined under users"),
                    );
                }
            }
            if let Some(setting) = &entry.dyndomain
                && *setting != DynDomain::No
                && record_for(&config.dyndomains, host, Some(setting)).is_none()
            {
                let why = match setting {
                    DynDomain::Yes if config.dyndomains.len() > 1 => {
                        "true is ambiguous with several zones under dyndomains: name the zone"
                            .to_owned()
                    }
                    DynDomain::Yes => "true needs a zone under dyndomains".to_owned(),
                    _ => "names no zone under dyndomains, nor a name inside one".to_owned(),
                };
                self.error(&["hosts", host, "dyndomain"], why);
            }
            for profile in &entry.threshold_config {
                if !config.threshold_configs.contains_key(profile) {
                    let profile = profile.clone();
                    self.error(
                        &["hosts", host, "threshold_config"],
                        format!(
                            "names profile `{profile}`, which threshold_configs does not define"
                        ),
                    );
                }
            }
        }
        self.check_parents(&config.hosts);
        for (name, window) in &config.maintenance {
            for profile in &window.profiles {
                if !config.threshold_configs.contains_key(profile) {
                    let profile = profile.clone();
                    self.error(
                        &["maintenance", name, "profiles"],
                        format!(
                            "names profile `{profile}`, which threshold_configs does not define"
                        ),
                    );
                }
            }
        }
        // pushsrv picks among the configured push services; absent means all of them.
        let wanted = |name: &str| {
            config.pushsrv.is_empty() || config.pushsrv.iter().any(|s| s == name || s == "all")
        };
        for name in ["pushover", "mattermost", "signal"] {
            let configured = match name {
                "pushover" => config.notify.pushover.is_some(),
                "mattermost" => config.notify.mattermost.is_some(),
                _ => config.notify.signal.is_some(),
            };
            if config.pushsrv.iter().any(|s| s == name) && !configured {
                self.error(
                    &["pushsrv"],
                    format!("selects {name}, but there is no `{name}:` section"),
                );
            }
        }
        if !wanted("pushover") {
            config.notify.pushover = None;
        }
        if !wanted("mattermost") {
            config.notify.mattermost = None;
        }
        if !wanted("signal") {
            config.notify.signal = None;
        }
        if let Some(owner) = &config.default_owner
            && !config.users.contains_key(owner)
        {
            let owner = owner.clone();
            self.error(
                &["default_owner"],
                format!("names user `{owner}`, who is not defined under users"),
            );
        }
    }

    fn read_top(&mut self, c: &mut Config, key: &str, v: &Value) {
        let p = [key];
        match key {
            "hb_port" => set(&mut c.hb_port, self.port(&p, v)),
            "hbd_port" => set(&mut c.hbd_port, self.port(&p, v)),
            "ws_port" => c.ws_port = self.port(&p, v),
            "wss_port" => c.wss_port = self.port(&p, v),
            "hbd_host" => set(&mut c.hbd_host, self.ip(&p, v)),
            "hb_host" => set(&mut c.hb_host, self.ip(&p, v)),
            "cert_path" => c.cert_path = self.path(&p, v),
            "wss_pem" => c.wss_pem = self.path(&p, v),
            "wss_key" => c.wss_key = self.path(&p, v),
            "hbd_tls" => set(&mut c.hbd_tls, self.boolean(&p, v)),
            "session_idle" => set(&mut c.session_idle, self.seconds(&p, v)),
            "session_lifetime" => set(&mut c.session_lifetime, self.seconds(&p, v)),
            "allowed_origins" => {
                if let Some(list) = self.string_list(&p, v) {
                    for origin in &list {
                        if !(origin.starts_with("http://") || origin.starts_with("https://"))
                            || origin.trim_end_matches('/').matches('/').count() != 2
                        {
                            self.error(
                                &p,
                                format!(
                                    "`{origin}` is not an origin; expected scheme://host[:port], like https://ops.example.org"
                                ),
                            );
                        }
                    }
                    c.allowed_origins = list
                        .into_iter()
                        .map(|o| o.trim_end_matches('/').to_owned())
                        .collect();
                }
            }
            "allowed_hosts" => {
                if let Some(list) = self.string_list(&p, v) {
                    for name in &list {
                        if name.is_empty() || name.contains([':', '/', ' ']) {
                            self.error(
                                &p,
                                format!(
                                    "`{name}` is not a host name; expected a name such as hbd.example.org (no scheme, no port)"
                                ),
                            );
                        }
                    }
                    c.allowed_hosts = list.into_iter().map(|n| n.to_ascii_lowercase()).collect();
                }
            }
            "logfile" => c.logfile = self.path(&p, v),
            "templates_dir" => c.templates_dir = self.path(&p, v),
            "nsupdate_bin" => set(&mut c.nsupdate_bin, self.path(&p, v)),
            "releases_dir" => {
                c.releases_dir = self.path(&p, v);
                if let Some(dir) = &c.releases_dir
                    && !dir.join(crate::releases::SUMS).is_file()
                {
                    self.warn(
                        &p,
                        format!(
                            "{} has no {} (yet): upgrades fail until it does (scripts/hb_install.sh release writes both)",
                            dir.display(),
                            crate::releases::SUMS
                        ),
                    );
                }
            }
            "releases_url" => {
                c.releases_url = self.string(&p, v);
                if let Some(url) = &c.releases_url
                    && !(url.starts_with("http://") || url.starts_with("https://"))
                {
                    self.error(
                        &p,
                        format!("expected an http:// or https:// URL, not {url:?}"),
                    );
                }
            }
            "state_db" => set(&mut c.state_db, self.path(&p, v)),
            "journal_dir" => set(&mut c.journal.dir, self.path(&p, v)),
            "journal_file" => set(&mut c.journal.file, self.string(&p, v)),
            "journal_enabled" => set(&mut c.journal.enabled, self.boolean(&p, v)),
            "journal_max_size" => set(&mut c.journal.max_size, self.size(&p, v)),
            "journal_max_backups" => set(
                &mut c.journal.max_backups,
                self.uint(&p, v, 0, 1000).map(|n| n as u32),
            ),
            "interval" => set(&mut c.interval, self.seconds(&p, v)),
            "grace" => set(&mut c.grace, self.seconds_or_zero(&p, v)),
            "threshold_renotify_interval" => set(
                &mut c.threshold_renotify_interval,
                self.seconds_or_zero(&p, v),
            ),
            "max_clock_skew" => set(&mut c.max_clock_skew, self.seconds(&p, v)),
            "hb_receivers" => set(
                &mut c.hb_receivers,
                self.uint(&p, v, 1, 16).map(|n| n as usize),
            ),
            "hb_recv_buffer" => set(
                &mut c.hb_recv_buffer,
                self.size(&p, v).map(|n| n as usize).filter(|&n| {
                    let ok = (64 * 1024..=1024 * 1024 * 1024).contains(&n);
                    if !ok {
                        self.error(&p, "expected a size from 64 KiB to 1 GiB");
                    }
                    ok
                }),
            ),
            "max_message_bytes" => set(
                &mut c.max_message_bytes,
                self.size(&p, v).map(|n| n as usize).filter(|&n| {
                    let ok = (1024..=64 * 1024 * 1024).contains(&n);
                    if !ok {
                        self.error(&p, "expected a size from 1 KiB to 64 MiB");
                    }
                    ok
                }),
            ),
            "require_signed" => set(&mut c.require_signed, self.boolean(&p, v)),
            "plugin_history" => set(
                &mut c.plugin_history,
                self.uint(&p, v, 1, 1_000_000).map(|n| n as usize),
            ),
            "hb_key" => c.hb_key = self.key(&p, v),
            "default_owner" => c.default_owner = self.string(&p, v),
            "pushsrv" => set(&mut c.pushsrv, self.pushsrv(&p, v)),
            "dyndomains" => c.dyndomains = self.zones(v),
            "thresholds" => {
                if let Some(json) = self.json_mapping(&p, v) {
                    if let Some(layers) = self.thresholds(&["thresholds"], &json) {
                        c.threshold_layers = layers;
                    }
                    c.thresholds = json;
                }
            }
            "threshold_configs" => {
                if let Some(map) = self.mapping(&p, v) {
                    for (name, profile) in map {
                        let Some(name) = self.key_name(&p, name) else {
                            continue;
                        };
                        if let Some(json) = self.json_mapping(&[key, &name], profile) {
                            if let Some(layers) = self.thresholds(&[key, &name], &json) {
                                c.profile_layers.insert(name.clone(), layers);
                            }
                            c.threshold_configs.insert(name, json);
                        }
                    }
                }
            }
            "threshold_renotify_max" => set(
                &mut c.threshold_renotify_max,
                self.uint(&p, v, 0, 1_000_000).map(|n| n as u32),
            ),
            "threshold_notify_unknown" => set(&mut c.threshold_notify_unknown, self.boolean(&p, v)),
            "email" => c.notify.email = self.email(v),
            "pushover" => c.notify.pushover = self.pushover(v),
            "mattermost" => c.notify.mattermost = self.mattermost(v),
            "signal" => c.notify.signal = self.signal(v),
            "notify_retries" => set(
                &mut c.notify.retries,
                self.uint(&p, v, 0, 100).map(|n| n as u32),
            ),
            "notify_retry_base" => set(&mut c.notify.retry_base, self.seconds(&p, v)),
            "notify_timeout" => set(&mut c.notify.timeout, self.seconds(&p, v)),
            "maintenance" => c.maintenance = self.maintenance(v),
            "flapping" => c.flapping = self.flapping(v),
            "storm" => set(&mut c.storm, self.storm(v)),
            "remote_write" => c.remote_write = self.remote_write(v),
            "ha" => c.ha = self.ha(v),
            "hosts" => {
                if let Some(map) = self.mapping(&p, v) {
                    for (name, entry) in map {
                        let Some(name) = self.key_name(&p, name) else {
                            continue;
                        };
                        if let Err(e) = validate_name(&name) {
                            self.error(&["hosts", &name], e.to_string());
                            continue;
                        }
                        let host = self.host(&name, entry);
                        c.hosts.insert(name, host);
                    }
                }
            }
            "users" => {
                if let Some(map) = self.mapping(&p, v) {
                    for (name, entry) in map {
                        let Some(name) = self.key_name(&p, name) else {
                            continue;
                        };
                        let user = self.user(&name, entry);
                        c.users.insert(name, user);
                    }
                }
            }
            "pickfile" => self.error(
                &p,
                "is replaced by state_db: hbd keeps its state in an SQLite file; \
                 remove pickfile and set state_db (the old pickle is not read)",
            ),
            _ => self.unknown_key(&p, TOP_LEVEL_KEYS),
        }
    }

    /// Parses a thresholds tree found at `at`, reporting bad rules as errors and paths no
    /// built-in plugin reports as warnings.
    fn thresholds(
        &mut self,
        at: &[&str],
        json: &serde_json::Value,
    ) -> Option<crate::alerting::rules::Layers> {
        use crate::alerting::rules::parse_layers;
        use hb_proto::catalogue::check_path;
        let wrapped =
            json.get("thresholds").is_some() && json.as_object().is_some_and(|m| m.len() == 1);
        let full = |keys: &[String]| -> Vec<String> {
            let mut p: Vec<String> = at.iter().map(|s| (*s).to_owned()).collect();
            if wrapped {
                p.push("thresholds".into());
            }
            p.extend(keys.iter().cloned());
            p
        };
        match parse_layers(json) {
            Ok(layers) => {
                for keys in layers.keys() {
                    if let Err(why) = check_path(keys) {
                        let path = full(keys);
                        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
                        self.warn(&refs, format!("no known plugin reports this path: {why}"));
                    }
                }
                Some(layers)
            }
            Err(errors) => {
                for e in errors {
                    let path = full(&e.path);
                    let refs: Vec<&str> = path.iter().map(String::as_str).collect();
                    self.error(&refs, e.message);
                }
                None
            }
        }
    }

    fn host(&mut self, name: &str, v: &Value) -> HostConfig {
        let mut host = HostConfig::default();
        let Some(map) = (match v {
            Value::Null => None,
            _ => self.mapping(&["hosts", name], v),
        }) else {
            return host;
        };
        for (k, v) in map {
            let Some(key) = k.as_str() else { continue };
            let p = ["hosts", name, key];
            match key {
                "key" => host.key = self.key(&p, v),
                "interval" => host.interval = self.seconds(&p, v),
                "grace" => host.grace = self.seconds_or_zero(&p, v),
                "owner" => host.owner = self.string(&p, v),
                "managers" => host.managers = self.string_list(&p, v).unwrap_or_default(),
                "monitors" => host.monitors = self.string_list(&p, v).unwrap_or_default(),
                "threshold_config" => {
                    host.threshold_config = self.string_list(&p, v).unwrap_or_default()
                }
                "description" => host.description = self.string(&p, v),
                "parents" => host.parents = self.string_list(&p, v).unwrap_or_default(),
                "down_after" => host.down_after = self.uint(&p, v, 1, 1000).map(|n| n as u32),
                "dyndomain" => {
                    host.dyndomain = match v {
                        Value::Bool(true) => Some(DynDomain::Yes),
                        Value::Bool(false) => Some(DynDomain::No),
                        Value::String(s) if !s.is_empty() => Some(DynDomain::Name(s.clone())),
                        _ => {
                            self.error(
                                &p,
                                format!(
                                    "expected a zone or a name in one, or true/false, found {}",
                                    kind(v)
                                ),
                            );
                            None
                        }
                    }
                }
                _ => self.unknown_key(&p, HOST_KEYS),
            }
        }
        host
    }

    fn user(&mut self, name: &str, v: &Value) -> UserConfig {
        let mut user = UserConfig::default();
        let Some(map) = self.mapping(&["users", name], v) else {
            return user;
        };
        for (k, v) in map {
            let Some(key) = k.as_str() else { continue };
            let p = ["users", name, key];
            match key {
                "password" => {
                    user.password = self.string(&p, v);
                    if let Some(hash) = &user.password
                        && let Err(e) = crate::password::PasswordHash::parse(hash)
                    {
                        self.error(
                            &p,
                            format!(
                                "{e}; make one with `hbd passwd {name}`, never a plain password"
                            ),
                        );
                    }
                }
                "full_name" => user.full_name = self.string(&p, v),
                "avatar" => user.avatar = self.string(&p, v),
                "admin" => user.admin = self.boolean(&p, v).unwrap_or(false),
                "email" => user.email = self.string(&p, v),
                "pushover_user" => user.pushover_user = self.string(&p, v),
                "signal_number" => user.signal_number = self.string(&p, v),
                "mattermost_channel" => user.mattermost_channel = self.string(&p, v),
                "notification_channels" => {
                    let list = self.string_list(&p, v).unwrap_or_default();
                    for ch in &list {
                        if !NOTIFICATION_CHANNELS.contains(&ch.as_str()) {
                            self.error(
                                &p,
                                format!(
                                    "unknown channel `{ch}`; expected any of {}",
                                    NOTIFICATION_CHANNELS.join(", ")
                                ),
                            );
                        }
                    }
                    user.notification_channels = list;
                }
                _ => self.unknown_key(&p, USER_KEYS),
            }
        }
        user
    }

    fn key_name(&mut self, path: &[&str], k: &Value) -> Option<String> {
        match k {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            other => {
                self.error(
                    path,
                    format!("entry names must be strings, found {}", kind(other)),
                );
                None
            }
        }
    }

    fn mapping<'v>(&mut self, path: &[&str], v: &'v Value) -> Option<&'v Mapping> {
        match v {
            Value::Mapping(m) => Some(m),
            Value::Null => None,
            other => {
                self.error(path, format!("expected a mapping, found {}", kind(other)));
                None
            }
        }
    }

    fn json_mapping(&mut self, path: &[&str], v: &Value) -> Option<serde_json::Value> {
        let map = self.mapping(path, v)?;
        match serde_json::to_value(map) {
            Ok(json) => Some(json),
            Err(e) => {
                self.error(path, format!("cannot be used: {e}"));
                None
            }
        }
    }

    fn port(&mut self, path: &[&str], v: &Value) -> Option<u16> {
        // 0 asks the system for a free port (tests); the bound port is logged.
        self.uint(path, v, 0, 65535).map(|n| n as u16)
    }

    fn uint(&mut self, path: &[&str], v: &Value, min: u64, max: u64) -> Option<u64> {
        match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.error(
                    path,
                    format!(
                        "expected a whole number from {min} to {max}, found {}",
                        show(v)
                    ),
                );
                None
            }
        }
    }

    fn seconds(&mut self, path: &[&str], v: &Value) -> Option<Duration> {
        match v.as_f64() {
            Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => Some(Duration::from_secs_f64(s)),
            _ => {
                self.error(
                    path,
                    format!("expected a number of seconds > 0, found {}", show(v)),
                );
                None
            }
        }
    }

    fn seconds_or_zero(&mut self, path: &[&str], v: &Value) -> Option<Duration> {
        match v.as_f64() {
            Some(s) if (0.0..1e9).contains(&s) => Some(Duration::from_secs_f64(s)),
            _ => {
                self.error(
                    path,
                    format!("expected a number of seconds >= 0, found {}", show(v)),
                );
                None
            }
        }
    }

    fn boolean(&mut self, path: &[&str], v: &Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            _ => {
                self.error(path, format!("expected true or false, found {}", show(v)));
                None
            }
        }
    }

    fn string(&mut self, path: &[&str], v: &Value) -> Option<String> {
        match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Null => None,
            _ => {
                self.error(
                    path,
                    format!("expected a non-empty string, found {}", show(v)),
                );
                None
            }
        }
    }

    fn string_list(&mut self, path: &[&str], v: &Value) -> Option<Vec<String>> {
        match v {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Null => Some(Vec::new()),
            Value::Sequence(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        other => self.error(
                            path,
                            format!("expected a list of strings, found an item {}", show(other)),
                        ),
                    }
                }
                Some(out)
            }
            other => {
                self.error(
                    path,
                    format!(
                        "expected a string or a list of strings, found {}",
                        show(other)
                    ),
                );
                None
            }
        }
    }

    fn path(&mut self, path: &[&str], v: &Value) -> Option<PathBuf> {
        self.string(path, v).map(PathBuf::from)
    }

    fn ip(&mut self, path: &[&str], v: &Value) -> Option<IpAddr> {
        let s = self.string(path, v)?;
        if s == "localhost" {
            return Some(IpAddr::from([127, 0, 0, 1]));
        }
        match s.parse() {
            Ok(ip) => Some(ip),
            Err(_) => {
                self.error(
                    path,
                    format!("expected an IP address such as 127.0.0.1 or ::, found {s:?}"),
                );
                None
            }
        }
    }

    fn key(&mut self, path: &[&str], v: &Value) -> Option<Key> {
        let s = self.string(path, v)?;
        if s.len() < 16 {
            self.error(
                path,
                format!(
                    "a key must be at least 16 characters, this one has {}",
                    s.len()
                ),
            );
            return None;
        }
        Some(Key::new(s))
    }

    fn size(&mut self, path: &[&str], v: &Value) -> Option<u64> {
        let parsed = match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => parse_size(s),
            _ => None,
        };
        if parsed.is_none() {
            self.error(
                path,
                format!(
                    "expected a size in bytes or with a unit (100MB, 512KiB, 1G), found {}",
                    show(v)
                ),
            );
        }
        parsed
    }

    fn pushsrv(&mut self, path: &[&str], v: &Value) -> Option<Vec<String>> {
        let list = match v {
            Value::String(s) => s
                .split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            _ => self.string_list(path, v)?,
        };
        for s in &list {
            if !PUSH_SERVICES.contains(&s.as_str()) {
                let hint = did_you_mean(s, PUSH_SERVICES)
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_default();
                self.error(
                    path,
                    format!("unknown push service `{s}`; expected pushover, mattermost, signal, all or none{hint}"),
                );
            }
        }
        Some(list)
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// Parses `100MB`, `100 MiB`, `1G`, `512k` or a plain number of bytes.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        _ => return None,
    };
    let bytes = number * factor as f64;
    (bytes.is_finite() && bytes >= 0.0).then_some(bytes as u64)
}

use hb_problems::{describe as kind, show};

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_units() {
        let cases = [
            ("100MB", Some(100 * 1024 * 1024)),
            ("512 KiB", Some(512 * 1024)),
            ("1G", Some(1024 * 1024 * 1024)),
            ("4096", Some(4096)),
            ("1.5k", Some(1536)),
            ("ten", None),
            ("5 parsecs", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_size(text), want, "{text}");
        }
    }
}
