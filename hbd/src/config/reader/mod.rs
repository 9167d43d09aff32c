//! Stage two of config loading: walks the parsed YAML value, converts each known key to
//! its validated form and records a [`Problem`] (with the key's line) for everything else.

mod channels;
mod checks;
#[cfg(test)]
mod documented;
mod dyndomains;
mod groups;
mod ha;
mod include;
pub(super) mod keys;
mod messages;
mod oidc;
mod policy;
mod proxy;
mod rate_limit;
mod remote_write;
mod targets;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use hb_proto::Key;
use serde_norway::{Mapping, Value};

use super::dns::{DynDomain, record_for};
use super::{Config, HostConfig, PUSH_SERVICES, UserConfig};
use hb_problems::{Problem, Problems, did_you_mean};

pub(super) struct Reader {
    problems: Problems,
    /// The files `include` named, read after this one, each with its own problems.
    included: Vec<Problems>,
    /// Checks across files: a problem goes to the file whose text has its key.
    across_files: bool,
    /// Plugins agents have reported: thresholds on their paths are not warned about,
    /// built in or not.
    reported: std::collections::BTreeSet<String>,
}

impl hb_problems::keys::KeyReader for Reader {
    fn unknown_key(&mut self, path: &[&str], known: &[&str]) {
        self.problems.unknown_key(path, known);
    }

    fn error_count(&self) -> usize {
        self.problems.error_count()
    }
}

impl Reader {
    pub(super) fn new(text: &str, file: Option<PathBuf>) -> Reader {
        Reader {
            problems: Problems::new(text, file),
            included: Vec::new(),
            across_files: false,
            reported: Default::default(),
        }
    }

    /// Takes the plugins agents have reported (see [`crate::config::load_knowing`]).
    pub(super) fn knowing(&mut self, reported: &std::collections::BTreeSet<String>) {
        self.reported = reported.clone();
    }

    pub(super) fn into_problems(self) -> Vec<Problem> {
        let mut all = self.problems.into_vec();
        for file in self.included {
            all.extend(file.into_vec());
        }
        all
    }

    /// Where a problem at `path` is reported: this file, or, in the checks across
    /// files, the included file that writes the key.
    fn problems_for(&mut self, path: &[&str]) -> &mut Problems {
        if self.across_files {
            let here = self.problems.key_depth(path);
            let deepest = (0..self.included.len())
                .map(|i| (self.included[i].key_depth(path), i))
                .filter(|(depth, _)| *depth > here)
                .max_by_key(|(depth, i)| (*depth, std::cmp::Reverse(*i)));
            if let Some((_, i)) = deepest {
                return &mut self.included[i];
            }
        }
        &mut self.problems
    }

    fn error(&mut self, path: &[&str], message: impl Into<String>) {
        self.problems_for(path).error(path, message);
    }

    fn warn(&mut self, path: &[&str], message: impl Into<String>) {
        self.problems_for(path).warn(path, message);
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
        let mut origins = include::Origins::default();
        for (k, v) in &map {
            let Some(key) = k.as_str() else {
                self.error(
                    &["(top level)"],
                    format!("keys must be strings, found {}", kind(k)),
                );
                continue;
            };
            origins.note(key, v, self.problems.file());
            self.read_top(config, key, v);
        }
        if let Some(patterns) = map.get("include") {
            self.read_included(config, patterns, &mut origins);
        }
        let history_set = origins.has("plugin_history");
        // What follows checks the whole configuration, whichever file wrote each part.
        self.across_files = true;
        // With a TSDB keeping the history, SQLite keeps a short window (a day of
        // 5-minute reports) unless the operator says otherwise.
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
        for (name, group) in &config.groups {
            for user in group
                .owner
                .iter()
                .chain(&group.managers)
                .chain(&group.monitors)
            {
                if !config.users.contains_key(user) {
                    let user = user.clone();
                    self.error(
                        &["groups", name, "owner"],
                        format!("names user `{user}`, who is not defined under users"),
                    );
                }
            }
            for user in group.escalation.iter().flat_map(|s| &s.users) {
                if !config.users.contains_key(user) {
                    let user = user.clone();
                    self.error(
                        &["groups", name, "escalation"],
                        format!("names user `{user}`, who is not defined under users"),
                    );
                }
            }
            for profile in &group.threshold_config {
                if !config.threshold_configs.contains_key(profile) {
                    let profile = profile.clone();
                    self.error(
                        &["groups", name, "threshold_config"],
                        format!(
                            "names profile `{profile}`, which threshold_configs does not define"
                        ),
                    );
                }
            }
        }
        self.check_group_plugins(config);
        self.check_messages(config);
        for (name, check) in &config.checks {
            if !check.group.is_empty() && !config.groups.contains_key(&check.group) {
                let group = check.group.clone();
                self.error(
                    &["checks", name, "group"],
                    format!("names group `{group}`, which groups does not define"),
                );
            }
        }
        if config.dyndomains.values().filter(|z| z.all_hosts).count() > 1 {
            self.error(&["dyndomains"], "only one zone may say all_hosts: true");
        }
        for (name, window) in &config.maintenance {
            for group in &window.groups {
                if !config.groups.contains_key(group) {
                    let group = group.clone();
                    self.error(
                        &["maintenance", name, "groups"],
                        format!("names group `{group}`, which groups does not define"),
                    );
                }
            }
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
        if let Some(oidc) = &config.oidc {
            if config.public_url.is_none() {
                self.error(
                    &["oidc"],
                    "needs public_url: the provider sends browsers back to PUBLIC_URL/login/oidc/callback",
                );
            }
            for (group, roles) in &oidc.group_roles {
                for host_group in roles.keys() {
                    if !config.groups.contains_key(host_group) {
                        let (group, host_group) = (group.clone(), host_group.clone());
                        self.error(
                            &["oidc", "group_roles", &group],
                            format!("names group `{host_group}`, which groups does not define"),
                        );
                    }
                }
            }
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
        self.read_key(keys::TOP_LEVEL, c, &[key], v);
    }

    /// Reads the key `path` ends with through its row of `table`, or reports it unknown.
    fn read_key<C>(
        &mut self,
        table: &'static [keys::KeySpec<C>],
        c: &mut C,
        path: &[&str],
        v: &Value,
    ) {
        hb_problems::keys::read_key(self, table, c, path, v);
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
                    let reported = keys.first().is_some_and(|p| self.reported.contains(p));
                    if let Err(why) = check_path(keys)
                        && !(reported
                            && matches!(why, hb_proto::catalogue::PathError::NotBuiltIn(_)))
                    {
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
            self.read_key(keys::HOST, &mut host, &["hosts", name, key], v);
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
            self.read_key(keys::USER, &mut user, &["users", name, key], v);
        }
        user
    }

    /// Each artifact a group runs is on offer in `artifacts_dir` at its version, compiles
    /// (with `hbc-compile`, when it is here), and the group's settings stay within what
    /// its manifest allows. Files there that are not offered are warnings.
    fn check_group_plugins(&mut self, config: &mut Config) {
        let wanted = config.groups.iter().any(|(_, g)| !g.plugins.is_empty());
        let Some(dir) = config.artifacts_dir.clone() else {
            for (name, group) in &config.groups {
                if !group.plugins.is_empty() {
                    self.error(
                        &["groups", name, "plugins"],
                        "needs artifacts_dir, where the artifacts are offered from",
                    );
                }
            }
            return;
        };
        let shown = dir.display().to_string();
        let catalogue = match crate::catalogue::scan(&dir, &config.plugin_publishers) {
            Ok(c) => c,
            Err(e) => {
                self.error(&["artifacts_dir"], format!("{shown}: {e}"));
                return;
            }
        };
        for refused in &catalogue.refused {
            self.warn(&["artifacts_dir"], format!("not offered: {refused}"));
        }
        if !wanted {
            return;
        }
        let mut no_compiler = false;
        for (name, group) in &mut config.groups {
            for (plugin, entry) in &mut group.plugins {
                let Some(version) = &entry.version else {
                    continue;
                };
                if !hb_artifact::manifest::valid_name(plugin) {
                    continue;
                }
                let Some(offered) = catalogue.get(plugin, version) else {
                    let offered: Vec<String> = catalogue
                        .offered
                        .keys()
                        .filter(|(n, _)| n == plugin)
                        .map(|(_, v)| v.to_string())
                        .collect();
                    let offered = if offered.is_empty() {
                        "none".to_owned()
                    } else {
                        offered.join(", ")
                    };
                    self.error(
                        &["groups", name, "plugins", plugin, "version"],
                        format!(
                            "{plugin} {version} is not on offer in {shown} (offered: {offered})"
                        ),
                    );
                    continue;
                };
                if let Some(why) = entry.settings.exceeds(&offered.manifest.capabilities) {
                    self.error(&["groups", name, "plugins", plugin], why);
                }
                let wasm = dir.join(format!("{}.wasm", offered.stem));
                match crate::compile_check::check(&wasm, &offered.manifest.sha256) {
                    Ok(()) => {}
                    Err(crate::compile_check::CompileCheck::NoCompiler) => no_compiler = true,
                    Err(why) => self.error(
                        &["groups", name, "plugins", plugin, "version"],
                        format!("{plugin} {version} {why}"),
                    ),
                }
                entry.resolved = Some((offered.manifest.sha256.clone(), offered.manifest.size));
            }
        }
        if no_compiler {
            self.warn(
                &["artifacts_dir"],
                "the plugins groups name are not compiled here before agents are told (no hbc-compile beside hbd or on PATH); agents still compile each before it runs",
            );
        }
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
        self.problems.whole(path, v, min, max)
    }

    fn seconds(&mut self, path: &[&str], v: &Value) -> Option<Duration> {
        self.problems.seconds(path, v)
    }

    fn seconds_or_zero(&mut self, path: &[&str], v: &Value) -> Option<Duration> {
        self.problems.seconds_or_zero(path, v)
    }

    fn boolean(&mut self, path: &[&str], v: &Value) -> Option<bool> {
        self.problems.boolean(path, v)
    }

    /// A secret's value: written in place, `{file: PATH}` or `{env: NAME}`
    /// (hb_problems::secret), then read by `read` as if written in place.
    fn secret<T>(
        &mut self,
        path: &[&str],
        v: &Value,
        read: fn(&mut Reader, &[&str], &Value) -> Option<T>,
    ) -> Option<T> {
        let v = self.problems_for(path).reveal(path, v)?;
        read(self, path, &v)
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
        self.problems.size(path, v)
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

use hb_problems::{describe as kind, show};
