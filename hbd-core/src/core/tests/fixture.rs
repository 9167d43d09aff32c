//! The part of the daemon's configuration these tables set, with the daemon's defaults,
//! turned into [`CoreSettings`] the way the daemon turns its `Config` (the daemon's own
//! conversion is tested beside it, in `hbd/src/config`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::alerting::rules::Layers;
use crate::core::settings::{CoreSettings, HostSettings, layered_rules};
use crate::policy::flap::FlapSettings;
use crate::policy::storm::StormSettings;

/// A daemon configuration, as far as the core's tables go.
#[derive(Debug, Clone)]
pub struct Config {
    pub interval: Duration,
    pub grace: Duration,
    pub hosts: BTreeMap<String, HostConfig>,
    pub threshold_renotify_interval: Duration,
    pub threshold_renotify_max: u32,
    pub threshold_notify_unknown: bool,
    pub plugin_status_alerts: bool,
    pub threshold_layers: Layers,
    pub profile_layers: BTreeMap<String, Layers>,
    pub flapping: Option<FlapSettings>,
    pub storm: StormSettings,
}

impl Default for Config {
    /// The daemon's defaults for these keys (docs/CONFIG.md).
    fn default() -> Config {
        Config {
            interval: Duration::from_secs(60),
            grace: Duration::from_secs(10),
            hosts: BTreeMap::new(),
            threshold_renotify_interval: Duration::from_secs(3600),
            threshold_renotify_max: 0,
            threshold_notify_unknown: true,
            plugin_status_alerts: true,
            threshold_layers: Layers::default(),
            profile_layers: BTreeMap::new(),
            flapping: None,
            storm: StormSettings::default(),
        }
    }
}

/// One host's entry under `hosts`.
#[derive(Debug, Clone, Default)]
pub struct HostConfig {
    pub key: Option<hb_proto::Key>,
    pub interval: Option<Duration>,
    pub grace: Option<Duration>,
    pub threshold_config: Vec<String>,
    pub parents: Vec<String>,
    pub down_after: Option<u32>,
}

/// The core's settings from `config`.
pub fn settings(config: &Config) -> CoreSettings {
    let (default_rules, host_rules) = layered_rules(
        &config.threshold_layers,
        &config.profile_layers,
        config
            .hosts
            .iter()
            .map(|(name, h)| (name, &h.threshold_config)),
    );
    CoreSettings {
        interval: config.interval,
        grace: config.grace,
        shared_key: false,
        hosts: config
            .hosts
            .iter()
            .map(|(name, h)| {
                let settings = HostSettings {
                    interval: h.interval,
                    grace: h.grace,
                    down_after: h.down_after,
                    parents: h.parents.clone(),
                    has_key: h.key.is_some(),
                };
                (name.clone(), settings)
            })
            .collect(),
        default_rules,
        host_rules,
        reminders: crate::alerting::Policy {
            renotify: config.threshold_renotify_interval,
            renotify_max: config.threshold_renotify_max,
            notify_unknown: config.threshold_notify_unknown,
        },
        plugin_status: config.plugin_status_alerts,
        groups: Default::default(),
        plan: Default::default(),
        policy: crate::policy::Settings {
            flapping: config.flapping,
            storm: config.storm,
            windows: Vec::new(),
            profiles: config
                .hosts
                .iter()
                .filter(|(_, h)| !h.threshold_config.is_empty())
                .map(|(name, h)| (name.clone(), h.threshold_config.clone()))
                .collect::<HashMap<_, _>>(),
            checks: Default::default(),
            escalation: Vec::new(),
        },
    }
}
