//! The `checks` section: checks run from several vantage points (the hosts of a group
//! running one plugin), each told only when a quorum of them agree.

use serde_norway::Value;

use hb_problems::keys::{Reload, read_map};

use super::Reader;
use super::keys::KeySpec;
use crate::config::CheckConfig;

/// Keys of one check (`checks.NAME`); a reload puts each in force.
pub(in crate::config) static CHECK: &[KeySpec<CheckConfig>] = &[
    KeySpec {
        name: "plugin",
        reload: Reload::Live,
        read: |r, c, p, v| {
            let Some(plugin) = r.string(p, v) else {
                return;
            };
            let mut parts = plugin.split('.');
            let first = parts.next().unwrap_or_default();
            if !hb_artifact::manifest::valid_name(first)
                && hb_proto::catalogue::find(first).is_none()
            {
                r.error(p, format!("{plugin:?} does not start with a plugin name"));
            }
            if parts.any(str::is_empty) {
                r.error(p, format!("{plugin:?} has an empty part"));
            }
            c.plugin = plugin;
        },
    },
    KeySpec {
        name: "group",
        reload: Reload::Live,
        read: |r, c, p, v| c.group = r.string(p, v).unwrap_or_default(),
    },
    KeySpec {
        name: "quorum",
        reload: Reload::Live,
        read: |r, c, p, v| c.quorum = r.uint(p, v, 1, 10_000).map(|n| n as usize),
    },
    KeySpec {
        name: "latency",
        reload: Reload::Live,
        read: |r, c, p, v| c.latency = r.string(p, v),
    },
];

impl Reader {
    /// `checks: {NAME: {plugin: http_check, group: probes, quorum: 2, latency:
    /// response_ms}}`.
    pub(super) fn checks(&mut self, v: &Value) -> std::collections::BTreeMap<String, CheckConfig> {
        let mut checks = std::collections::BTreeMap::new();
        let Some(map) = self.mapping(&["checks"], v) else {
            return checks;
        };
        for (name, entry) in map {
            let Some(name) = self.key_name(&["checks"], name) else {
                continue;
            };
            if let Err(e) = hb_proto::validate_name(&name) {
                self.error(&["checks", &name], format!("is not a check name: {e}"));
            }
            let mut check = CheckConfig::default();
            if let Some(keys) = self.mapping(&["checks", &name], entry) {
                read_map(self, CHECK, &mut check, &["checks", &name], keys);
            }
            if check.plugin.is_empty() {
                self.error(
                    &["checks", &name],
                    "needs `plugin` (the plugin its vantage points run)",
                );
            }
            if check.group.is_empty() {
                self.error(&["checks", &name], "needs `group` (its vantage points)");
            }
            checks.insert(name, check);
        }
        checks
    }
}
