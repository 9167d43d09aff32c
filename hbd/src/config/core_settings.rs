//! What the core takes of the configuration ([`CoreSettings`]), made here so the core
//! never sees the `Config`: each host's timing, parents and key, the threshold rules
//! merged per host (profiles layered over the defaults), the reminder policy and the
//! alert policy's settings.

use std::collections::HashMap;
use std::sync::Arc;

use super::Config;
use crate::alerting::rules::merge;
use crate::core::settings::{CoreSettings, HostSettings};
use crate::policy::window::Window;

impl From<&Config> for CoreSettings {
    fn from(config: &Config) -> CoreSettings {
        let default_rules = Arc::new(merge(&[&config.threshold_layers]));
        let mut host_rules = HashMap::new();
        for (name, host) in &config.hosts {
            if host.threshold_config.is_empty() {
                continue;
            }
            let mut layers = vec![&config.threshold_layers];
            layers.extend(
                host.threshold_config
                    .iter()
                    .filter_map(|p| config.profile_layers.get(p)),
            );
            host_rules.insert(name.clone(), Arc::new(merge(&layers)));
        }
        CoreSettings {
            interval: config.interval,
            grace: config.grace,
            shared_key: config.hb_key.is_some(),
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
            policy: policy_settings(config),
        }
    }
}

/// The policy's settings from the config. Windows were checked when the config was
/// read; one that still fails (a time zone removed since) is left out, with an error.
fn policy_settings(config: &Config) -> crate::policy::Settings {
    let windows = config
        .maintenance
        .iter()
        .filter_map(|(name, w)| match Window::new(name, w) {
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
    }
}
