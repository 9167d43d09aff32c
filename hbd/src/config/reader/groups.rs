//! The `groups` section: host groups by name pattern and by the labels agents declare,
//! each with the threshold profiles, roles, signed plugin artifacts and native
//! collectors' settings it gives its members.

use std::collections::BTreeMap;

use serde_norway::Value;

use hb_problems::keys::{Reload, read_map};

use super::Reader;
use super::keys::KeySpec;
use hb_artifact::collectors::Collector;
use hbd_core::rollout::{Canaries, RolloutSettings};

use crate::config::{GroupConfig, GroupPlugin};

/// Keys of one group (`groups.NAME`); a reload puts each in force.
pub(in crate::config) static GROUP: &[KeySpec<GroupConfig>] = &[
    KeySpec {
        name: "hosts",
        reload: Reload::Live,
        read: |r, g, p, v| g.hosts = r.string_list(p, v).unwrap_or_default(),
    },
    KeySpec {
        name: "labels",
        reload: Reload::Live,
        read: |r, g, p, v| {
            let Some(map) = r.mapping(p, v) else {
                return;
            };
            for (k, value) in map {
                match (k.as_str(), r.string(p, value)) {
                    (Some(k), Some(value)) => {
                        g.labels.insert(k.to_owned(), value);
                    }
                    _ => r.error(p, "expected label names with string values (role: web)"),
                }
            }
            if let Err(e) = hb_proto::validate_labels(&g.labels) {
                r.error(p, e);
            }
        },
    },
    KeySpec {
        name: "threshold_config",
        reload: Reload::Live,
        read: |r, g, p, v| g.threshold_config = r.string_list(p, v).unwrap_or_default(),
    },
    KeySpec {
        name: "owner",
        reload: Reload::Live,
        read: |r, g, p, v| g.owner = r.string(p, v),
    },
    KeySpec {
        name: "managers",
        reload: Reload::Live,
        read: |r, g, p, v| g.managers = r.string_list(p, v).unwrap_or_default(),
    },
    KeySpec {
        name: "monitors",
        reload: Reload::Live,
        read: |r, g, p, v| g.monitors = r.string_list(p, v).unwrap_or_default(),
    },
    KeySpec {
        name: "plugins",
        reload: Reload::Live,
        read: |r, g, p, v| {
            let Some(map) = r.mapping(p, v) else {
                return;
            };
            for (name, entry) in map {
                let Some(name) = r.key_name(p, name) else {
                    continue;
                };
                let mut at = p.to_vec();
                at.push(&name);
                if !hb_artifact::manifest::valid_name(&name) {
                    r.error(&at, "is not a plugin name (a-z 0-9 _, 1 to 64)");
                }
                let mut plugin = GroupPlugin::default();
                if let Some(keys) = r.mapping(&at, entry) {
                    read_map(r, GROUP_PLUGIN, &mut plugin, &at, keys);
                }
                if plugin.version.is_none() {
                    r.error(&at, "needs `version` (the artifact's, 1.2.0)");
                }
                g.plugins.insert(name, plugin);
            }
        },
    },
    KeySpec {
        name: "rollout",
        reload: Reload::Live,
        read: |r, g, p, v| {
            let mut settings = RolloutSettings {
                canaries: Canaries::Count(1),
                healthy_for: 3,
                waves: vec![100],
            };
            if let Some(keys) = r.mapping(p, v) {
                read_map(r, GROUP_ROLLOUT, &mut settings, p, keys);
            }
            g.rollout = Some(settings);
        },
    },
    KeySpec {
        name: "escalation",
        reload: Reload::Live,
        read: |r, g, p, v| {
            let Value::Sequence(steps) = v else {
                r.error(p, "expected a list of steps ({after: 15m, users: [bob]})");
                return;
            };
            for (i, step) in steps.iter().enumerate() {
                let index = i.to_string();
                let mut at = p.to_vec();
                at.push(&index);
                let Some(map) = r.mapping(&at, step) else {
                    continue;
                };
                let after = map
                    .get("after")
                    .and_then(|v| r.span_at_least(&at, v, std::time::Duration::from_secs(1)));
                let users = map
                    .get("users")
                    .and_then(|v| r.string_list(&at, v))
                    .unwrap_or_default();
                if map
                    .keys()
                    .any(|k| !matches!(k.as_str(), Some("after" | "users")))
                {
                    r.error(&at, "a step has `after` and `users` only");
                }
                match after {
                    Some(after) if !users.is_empty() => {
                        g.escalation
                            .push(hbd_core::policy::escalate::Step { after, users });
                    }
                    _ => r.error(&at, "a step needs `after` (a duration) and `users`"),
                }
            }
            g.escalation.sort_by_key(|s| s.after);
        },
    },
    KeySpec {
        name: "collectors",
        reload: Reload::Live,
        read: |r, g, p, v| {
            let Some(map) = r.mapping(p, v) else {
                return;
            };
            for (name, entry) in map {
                let Some(name) = r.key_name(p, name) else {
                    continue;
                };
                let mut at = p.to_vec();
                at.push(&name);
                let mut collector = Collector::default();
                if let Some(keys) = r.mapping(&at, entry) {
                    read_map(r, GROUP_COLLECTOR, &mut collector, &at, keys);
                }
                if let Some(why) = collector.problem(&name) {
                    r.error(&at, why);
                }
                g.collectors.insert(name, collector);
            }
        },
    },
];

/// Keys of how a group rolls out a change (`groups.NAME.rollout`).
pub(in crate::config) static GROUP_ROLLOUT: &[KeySpec<RolloutSettings>] = &[
    KeySpec {
        name: "canaries",
        reload: Reload::Live,
        read: |r, s, p, v| match v {
            Value::Number(_) => {
                if let Some(n) = r.uint(p, v, 1, 10_000) {
                    s.canaries = Canaries::Count(n as usize);
                }
            }
            Value::String(text) => {
                let percent = text
                    .strip_suffix('%')
                    .and_then(|n| n.trim().parse::<u8>().ok())
                    .filter(|n| (1..=100).contains(n));
                match percent {
                    Some(n) => s.canaries = Canaries::Percent(n),
                    None => r.error(
                        p,
                        format!("{text:?}: expected a number of hosts, a share (5%) or a list of host names"),
                    ),
                }
            }
            _ => {
                if let Some(hosts) = r.string_list(p, v) {
                    s.canaries = Canaries::Hosts(hosts);
                }
            }
        },
    },
    KeySpec {
        name: "healthy_for",
        reload: Reload::Live,
        read: |r, s, p, v| {
            if let Some(n) = r.uint(p, v, 1, 100) {
                s.healthy_for = n as u32;
            }
        },
    },
    KeySpec {
        name: "waves",
        reload: Reload::Live,
        read: |r, s, p, v| {
            let Some(items) = v.as_sequence() else {
                r.error(
                    p,
                    "expected a list of percentages, rising to 100 ([25, 100])",
                );
                return;
            };
            let waves: Vec<u8> = items
                .iter()
                .filter_map(|i| i.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            let rising = waves.windows(2).all(|w| w[0] < w[1]);
            if waves.len() != items.len()
                || waves.is_empty()
                || !rising
                || waves.first().is_some_and(|&w| w == 0)
                || waves.last() != Some(&100)
            {
                r.error(
                    p,
                    "expected a list of percentages, rising to 100 ([25, 100])",
                );
                return;
            }
            s.waves = waves;
        },
    },
];

/// Keys of one native collector's settings a group gives
/// (`groups.NAME.collectors.COLLECTOR`).
pub(in crate::config) static GROUP_COLLECTOR: &[KeySpec<Collector>] = &[
    KeySpec {
        name: "enabled",
        reload: Reload::Live,
        read: |r, c, p, v| c.enabled = r.boolean(p, v),
    },
    KeySpec {
        name: "interval",
        reload: Reload::Live,
        read: |r, c, p, v| c.interval = r.seconds(p, v).map(|d| d.as_secs_f64()),
    },
    KeySpec {
        name: "checks",
        reload: Reload::Live,
        read: |r, c, p, v| c.checks = r.string_list(p, v),
    },
];

/// Keys of one artifact a group runs (`groups.NAME.plugins.PLUGIN`).
pub(in crate::config) static GROUP_PLUGIN: &[KeySpec<GroupPlugin>] = &[
    KeySpec {
        name: "version",
        reload: Reload::Live,
        read: |r, g, p, v| {
            let text = match v {
                Value::Number(n) => Some(n.to_string()),
                _ => r.string(p, v),
            };
            if let Some(text) = text {
                match text.parse() {
                    Ok(version) => g.version = Some(version),
                    Err(_) => r.error(p, format!("{text:?} is not a semantic version (1.2.0)")),
                }
            }
        },
    },
    KeySpec {
        name: "interval",
        reload: Reload::Live,
        read: |r, g, p, v| g.settings.interval = r.seconds(p, v).map(|d| d.as_secs_f64()),
    },
    KeySpec {
        name: "config",
        reload: Reload::Live,
        read: |r, g, p, v| {
            if let Some(serde_json::Value::Object(map)) = r.json_mapping(p, v) {
                g.settings.config = map.into_iter().collect();
            }
        },
    },
    KeySpec {
        name: "grants",
        reload: Reload::Live,
        read: |r, g, p, v| {
            g.settings.grants.clear();
            for path in r.string_list(p, v).unwrap_or_default() {
                let path = std::path::PathBuf::from(path);
                match hb_artifact::grant::plain_absolute(&path) {
                    Ok(()) => g.settings.grants.push(path),
                    Err(why) => {
                        let shown = path.display().to_string();
                        r.error(p, format!("{shown}: {why}"));
                    }
                }
            }
        },
    },
    KeySpec {
        name: "timeout_ms",
        reload: Reload::Live,
        read: |r, g, p, v| {
            g.settings.timeout_ms = r.uint(p, v, 1, hb_artifact::manifest::MAX_TIMEOUT_MS);
        },
    },
    KeySpec {
        name: "memory_mb",
        reload: Reload::Live,
        read: |r, g, p, v| {
            g.settings.memory_mb = r.uint(p, v, 1, hb_artifact::manifest::MAX_MEMORY_MB);
        },
    },
    KeySpec {
        name: "net",
        reload: Reload::Live,
        read: |r, g, p, v| {
            g.settings.net.clear();
            for text in r.string_list(p, v).unwrap_or_default() {
                match text.parse() {
                    Ok(d) => g.settings.net.push(d),
                    Err(e) => r.error(p, format!("{e}")),
                }
            }
        },
    },
];

impl Reader {
    /// `groups: {NAME: {hosts: [web*], labels: {role: web}, threshold_config: [...],
    /// owner, managers, monitors, plugins: {PLUGIN: {version, ...}}, collectors:
    /// {COLLECTOR: {enabled, interval, checks}}}}`.
    pub(super) fn groups(&mut self, v: &Value) -> BTreeMap<String, GroupConfig> {
        let mut groups = BTreeMap::new();
        let Some(map) = self.mapping(&["groups"], v) else {
            return groups;
        };
        for (name, entry) in map {
            let Some(name) = self.key_name(&["groups"], name) else {
                continue;
            };
            let Some(keys) = self.mapping(&["groups", &name], entry) else {
                self.error(
                    &["groups", &name],
                    "needs `hosts` (name patterns) or `labels`",
                );
                continue;
            };
            let mut group = GroupConfig::default();
            read_map(self, GROUP, &mut group, &["groups", &name], keys);
            if let Err(e) = group.group(&name) {
                self.error(&["groups", &name], e.to_string());
            }
            groups.insert(name, group);
        }
        groups
    }
}
