//! What the core takes of the configuration, and nothing more: each host's timing,
//! parents and whether it has a key, the threshold rules already merged per host, the
//! reminder policy and the alert policy's settings. The config makes them
//! (`CoreSettings::from(&Config)`, in `config/core_settings.rs`); a reload hands the core
//! new ones (`Core::reconfigure`). The core never sees the `Config` itself.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::alerting::Policy as Reminders;
use crate::alerting::rules::{Layers, Rules, merge};
use crate::groups::{Group, Labels};

/// One configured host, as far as the core is concerned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostSettings {
    /// Its own heartbeat interval, if configured.
    pub interval: Option<Duration>,
    /// Its own grace, if configured.
    pub grace: Option<Duration>,
    /// How many intervals it may miss before it is DOWN (default 1).
    pub down_after: Option<u32>,
    /// The hosts it is reached through (UNREACHABLE while they are down).
    pub parents: Vec<String>,
    /// Whether it has a key of its own (commands travel only signed).
    pub has_key: bool,
}

/// The core's settings.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    /// Heartbeat interval assumed for a host until it states its own.
    pub interval: Duration,
    /// Seconds past the interval before a silent host is DOWN.
    pub grace: Duration,
    /// Whether a key shared by every host (`hb_key`) is set.
    pub shared_key: bool,
    /// The configured hosts.
    pub hosts: BTreeMap<String, HostSettings>,
    /// The threshold rules of a host without profiles.
    pub default_rules: Arc<Rules>,
    /// The rules of each host with profiles (its profiles layered over the defaults).
    pub host_rules: HashMap<String, Arc<Rules>>,
    /// Reminders and UNKNOWN.
    pub reminders: Reminders,
    /// Whether a plugin's own status (`status` of a report, other than the Nagios
    /// runner's per-check ones) alerts, at the path named for the plugin.
    pub plugin_status: bool,
    /// Who is told, and when.
    pub policy: crate::policy::Settings,
    /// Host groups, and the threshold profiles each gives its members.
    pub groups: Arc<GroupProfiles>,
    /// Which signed plugin artifacts each host runs, by its groups.
    pub plan: Arc<crate::managed::Plan>,
}

/// Host groups with the profiles each gives its members (layered before a host's own,
/// in the groups' name order), and the layers to build any such list's rules from.
#[derive(Debug, Default)]
pub struct GroupProfiles {
    /// The groups, in name order, each with its profiles.
    pub groups: Vec<(Group, Vec<String>)>,
    /// The default thresholds.
    pub defaults: Layers,
    /// Every profile's thresholds.
    pub profiles: BTreeMap<String, Layers>,
    /// Each configured host's own profiles.
    pub own: HashMap<String, Vec<String>>,
    /// Rules already layered, by profile list (hosts of a group share them).
    cache: Mutex<HashMap<Vec<String>, Arc<Rules>>>,
}

impl GroupProfiles {
    /// Groups (in name order, each with its profiles) over `defaults`, with every
    /// profile's layers and each configured host's own profiles.
    pub fn new(
        groups: Vec<(Group, Vec<String>)>,
        defaults: Layers,
        profiles: BTreeMap<String, Layers>,
        own: HashMap<String, Vec<String>>,
    ) -> GroupProfiles {
        GroupProfiles {
            groups,
            defaults,
            profiles,
            own,
            cache: Mutex::default(),
        }
    }

    /// The rules of `host` when a group gives it profiles; `None` when none does.
    fn rules_for(&self, host: &str, labels: Option<&Labels>) -> Option<Arc<Rules>> {
        let mut names: Vec<String> = self
            .groups
            .iter()
            .filter(|(g, p)| !p.is_empty() && g.contains(host, labels))
            .flat_map(|(_, p)| p.iter().cloned())
            .collect();
        if names.is_empty() {
            return None;
        }
        names.extend(self.own.get(host).into_iter().flatten().cloned());
        // A poisoned lock only means another reader panicked mid-insert of an Arc;
        // the map is still a map.
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let rules = cache.entry(names).or_insert_with_key(|names| {
            let mut layers = vec![&self.defaults];
            layers.extend(names.iter().filter_map(|p| self.profiles.get(p)));
            Arc::new(merge(&layers))
        });
        Some(rules.clone())
    }
}

impl CoreSettings {
    /// `host`'s interval and grace: its own, else the defaults.
    pub fn host_timing(&self, host: &str) -> (Duration, Duration) {
        let entry = self.hosts.get(host);
        (
            entry.and_then(|h| h.interval).unwrap_or(self.interval),
            entry.and_then(|h| h.grace).unwrap_or(self.grace),
        )
    }

    /// How long `host`, heartbeating every `interval`, may be silent before it is DOWN:
    /// `down_after` intervals (default 1) plus its grace.
    pub fn allowance(&self, host: &str, interval: Duration) -> Duration {
        let entry = self.hosts.get(host);
        let missed = entry.and_then(|h| h.down_after).unwrap_or(1);
        let grace = entry.and_then(|h| h.grace).unwrap_or(self.grace);
        interval * missed + grace
    }

    /// Whether commands can reach `host`: it has a key, or every host shares one.
    pub fn host_has_key(&self, host: &str) -> bool {
        self.shared_key || self.hosts.get(host).is_some_and(|h| h.has_key)
    }

    /// The rules that apply to `host`, declaring `labels`: its groups' profiles and
    /// its own layered over the defaults.
    pub fn rules_for(&self, host: &str, labels: Option<&Labels>) -> Arc<Rules> {
        if !self.groups.groups.is_empty()
            && let Some(rules) = self.groups.rules_for(host, labels)
        {
            return rules;
        }
        self.host_rules
            .get(host)
            .unwrap_or(&self.default_rules)
            .clone()
    }
}

/// The threshold rules of a host without profiles (`defaults`), and of each host with
/// profiles: its profiles layered over the defaults, in the order it names them. A
/// profile not in `profiles` adds nothing (the config reader refuses such names).
pub fn layered_rules<'a>(
    defaults: &Layers,
    profiles: &BTreeMap<String, Layers>,
    hosts: impl IntoIterator<Item = (&'a String, &'a Vec<String>)>,
) -> (Arc<Rules>, HashMap<String, Arc<Rules>>) {
    let default_rules = Arc::new(merge(&[defaults]));
    let mut host_rules = HashMap::new();
    for (name, names) in hosts {
        if names.is_empty() {
            continue;
        }
        let mut layers = vec![defaults];
        layers.extend(names.iter().filter_map(|p| profiles.get(p)));
        host_rules.insert(name.clone(), Arc::new(merge(&layers)));
    }
    (default_rules, host_rules)
}
