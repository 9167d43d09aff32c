//! The `groups` section: host groups by name pattern and by the labels agents declare,
//! each with the threshold profiles and roles it gives its members.

use std::collections::BTreeMap;

use serde_norway::Value;

use hb_problems::keys::{Reload, read_map};

use super::Reader;
use super::keys::KeySpec;
use crate::config::GroupConfig;

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
];

impl Reader {
    /// `groups: {NAME: {hosts: [web*], labels: {role: web}, threshold_config: [...],
    /// owner, managers, monitors}}`.
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
