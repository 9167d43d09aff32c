//! What the core takes of the configuration ([`CoreSettings`]), made here so the core
//! never sees the `Config`: each host's timing, parents and key, the threshold rules
//! merged per host (profiles layered over the defaults), the reminder policy and the
//! alert policy's settings.

use super::Config;
use crate::core::settings::{CoreSettings, GroupProfiles, HostSettings, layered_rules};
use crate::policy::window::Window;
use hbd_core::groups::Group;

impl From<&Config> for CoreSettings {
    fn from(config: &Config) -> CoreSettings {
        let (default_rules, host_rules) = layered_rules(
            &config.threshold_layers,
            &config.profile_layers,
            config
                .hosts
                .iter()
                .map(|(name, h)| (name, &h.threshold_config)),
        );
        let mut hosts: std::collections::BTreeMap<String, HostSettings> = config
            .hosts
            .iter()
            .map(|(name, h)| {
                let settings = HostSettings {
                    interval: h.interval,
                    grace: h.grace,
                    down_after: h.down_after,
                    parents: h.parents.clone(),
                    has_key: config.key_for(name).is_some_and(|(_, own)| own),
                };
                (name.clone(), settings)
            })
            .collect();
        for host in config.enrolled.active_hosts() {
            hosts.entry(host.to_owned()).or_default().has_key = true;
        }
        CoreSettings {
            interval: config.interval,
            grace: config.grace,
            shared_key: config.hb_key.is_some(),
            hosts,
            default_rules,
            host_rules,
            reminders: crate::alerting::Policy {
                renotify: config.threshold_renotify_interval,
                renotify_max: config.threshold_renotify_max,
                notify_unknown: config.threshold_notify_unknown,
            },
            plugin_status: config.plugin_status_alerts,
            policy: policy_settings(config),
            groups: std::sync::Arc::new(group_profiles(config)),
            plan: std::sync::Arc::new(config.plugin_plan()),
        }
    }
}

impl super::GroupConfig {
    /// The group's rule of membership, named `name` (the config reader checked it).
    pub fn group(&self, name: &str) -> Result<Group, hbd_core::groups::GroupError> {
        Group::new(name, &self.hosts, &self.labels)
    }
}

impl Config {
    /// Which signed plugin artifacts each host runs and how its native collectors run:
    /// every group that names any, in name order, with its plugins as resolved when the
    /// configuration was read and its collectors' settings, and each host's own (made
    /// through the API).
    pub fn plugin_plan(&self) -> hbd_core::managed::Plan {
        let groups = self
            .groups
            .iter()
            .filter(|(_, g)| !g.plugins.is_empty() || !g.collectors.is_empty())
            .filter_map(|(name, g)| {
                let group = g.group(name).ok()?;
                let plugins = g
                    .plugins
                    .iter()
                    .filter_map(|(plugin, entry)| {
                        let version = entry.version.clone()?;
                        let (sha256, size) = entry.resolved.clone()?;
                        Some(hb_artifact::desired::DesiredPlugin {
                            name: plugin.clone(),
                            files: hb_artifact::desired::Files::of(plugin, &version),
                            version,
                            sha256,
                            size,
                            settings: entry.settings.clone(),
                        })
                    })
                    .collect();
                let set = hb_artifact::desired::DesiredSet {
                    plugins,
                    collectors: g.collectors.clone(),
                };
                Some((group, set))
            })
            .collect();
        hbd_core::managed::Plan {
            groups,
            hosts: self.host_plugins.clone(),
            rollouts: self.rollouts.clone(),
        }
    }

    /// The checks run from several vantage points, their groups resolved (the reader
    /// checked each names a group; one that still does not is left out).
    pub fn vantage_checks(&self) -> Vec<hbd_core::vantage::CheckSpec> {
        self.checks
            .iter()
            .filter_map(|(name, c)| {
                let group = self.groups.get(&c.group)?.group(&c.group).ok()?;
                Some(hbd_core::vantage::CheckSpec {
                    name: name.clone(),
                    plugin: c.plugin.clone(),
                    group,
                    quorum: c.quorum,
                    latency: c.latency.clone(),
                })
            })
            .collect()
    }

    /// The groups that hold `host`, declaring `labels`, by name.
    pub fn groups_of(&self, host: &str, labels: Option<&hbd_core::groups::Labels>) -> Vec<String> {
        self.groups
            .iter()
            .filter(|(name, g)| g.group(name).is_ok_and(|g| g.contains(host, labels)))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The maintenance window `name` as `c` states it, the groups it names resolved.
    pub fn window(
        &self,
        name: &str,
        c: &crate::policy::window::WindowConfig,
    ) -> Result<Window, crate::policy::window::WindowError> {
        let groups = c
            .groups
            .iter()
            .filter_map(|g| self.groups.get(g)?.group(g).ok())
            .collect();
        Ok(Window::new(name, c)?.with_groups(groups))
    }

    /// The threshold rules of one host declaring `labels`: the defaults, its groups'
    /// profiles, then its own (what the core applies, made for one host alone).
    pub fn rules_of(
        &self,
        host: &str,
        labels: Option<&hbd_core::groups::Labels>,
    ) -> hbd_core::alerting::rules::Rules {
        let mut names: Vec<&String> = self
            .groups
            .iter()
            .filter(|(_, g)| !g.threshold_config.is_empty())
            .filter(|(name, g)| g.group(name).is_ok_and(|g| g.contains(host, labels)))
            .flat_map(|(_, g)| &g.threshold_config)
            .collect();
        names.extend(
            self.hosts
                .get(host)
                .into_iter()
                .flat_map(|h| &h.threshold_config),
        );
        let mut layers = vec![&self.threshold_layers];
        layers.extend(names.into_iter().filter_map(|n| self.profile_layers.get(n)));
        hbd_core::alerting::rules::merge(&layers)
    }
}

/// The groups (in name order) with the profiles each gives, and what layering needs.
/// Groups were checked when the config was read; one that still fails is left out.
fn group_profiles(config: &Config) -> GroupProfiles {
    let groups = config
        .groups
        .iter()
        .filter_map(|(name, g)| {
            let group = g.group(name).ok()?;
            Some((group, g.threshold_config.clone()))
        })
        .collect();
    let own = config
        .hosts
        .iter()
        .filter(|(_, h)| !h.threshold_config.is_empty())
        .map(|(name, h)| (name.clone(), h.threshold_config.clone()))
        .collect();
    GroupProfiles::new(
        groups,
        config.threshold_layers.clone(),
        config.profile_layers.clone(),
        own,
    )
}

/// The policy's settings from the config. Windows were checked when the config was
/// read; one that still fails (a time zone removed since) is left out, with an error.
fn policy_settings(config: &Config) -> crate::policy::Settings {
    let windows = config
        .maintenance
        .iter()
        .filter_map(|(name, w)| match config.window(name, w) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::error!(window = %name, error = %e, "maintenance window left out");
                None
            }
        })
        .collect();
    let profiles = config
        .hosts
        .iter()
        .filter(|(_, h)| !h.threshold_config.is_empty())
        .map(|(name, h)| (name.clone(), h.threshold_config.clone()))
        .collect();
    crate::policy::Settings {
        flapping: config.flapping,
        storm: config.storm,
        windows,
        profiles,
        checks: std::sync::Arc::new(config.vantage_checks()),
        escalation: config
            .groups
            .iter()
            .filter(|(_, g)| !g.escalation.is_empty())
            .filter_map(|(name, g)| {
                Some(hbd_core::policy::escalate::Escalation {
                    group: g.group(name).ok()?,
                    steps: std::sync::Arc::from(g.escalation.clone()),
                })
            })
            .collect(),
    }
}
