//! What a reload changes in which plugins run where: for each group, the artifacts added,
//! removed, moved to another version or given other settings, one line each, so the log
//! and the reload's answer say who changed the fleet's code, when, and how. Pure.

use std::collections::BTreeMap;

use crate::config::{Config, GroupPlugin};

/// The changes from `before` to `after`, one sentence each, by group and plugin.
pub fn between(before: &Config, after: &Config) -> Vec<String> {
    let plugins = |c: &Config| -> BTreeMap<(String, String), GroupPlugin> {
        c.groups
            .iter()
            .flat_map(|(g, group)| {
                group
                    .plugins
                    .iter()
                    .map(move |(p, entry)| ((g.clone(), p.clone()), entry.clone()))
            })
            .collect()
    };
    let (old, new) = (plugins(before), plugins(after));
    let version = |e: &GroupPlugin| {
        e.version
            .as_ref()
            .map_or_else(|| "?".to_owned(), ToString::to_string)
    };
    let mut out = Vec::new();
    for ((group, plugin), was) in &old {
        let at = format!("groups.{group}.plugins.{plugin}");
        match new.get(&(group.clone(), plugin.clone())) {
            None => out.push(format!("{at}: {} removed", version(was))),
            Some(now) if now.version != was.version => {
                out.push(format!("{at}: {} -> {}", version(was), version(now)));
            }
            Some(now) if now.settings != was.settings || now.resolved != was.resolved => {
                out.push(format!("{at}: {} with other settings", version(now)));
            }
            Some(_) => {}
        }
    }
    for ((group, plugin), now) in &new {
        if !old.contains_key(&(group.clone(), plugin.clone())) {
            out.push(format!(
                "groups.{group}.plugins.{plugin}: {} added",
                version(now)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(entries: &[(&str, &str, &str, Option<f64>)]) -> Config {
        let mut c = Config::default();
        for (group, plugin, version, interval) in entries {
            let g = c.groups.entry((*group).to_owned()).or_default();
            g.plugins.insert(
                (*plugin).to_owned(),
                GroupPlugin {
                    version: Some(version.parse().unwrap()),
                    settings: hb_artifact::desired::Settings {
                        interval: *interval,
                        ..Default::default()
                    },
                    resolved: None,
                },
            );
        }
        c
    }

    #[test]
    fn each_change_is_one_line() {
        let before = with(&[
            ("web", "log_freshness", "1.2.0", None),
            ("web", "tls_expiry", "1.0.0", None),
            ("db", "pg_check", "2.0.0", Some(60.0)),
        ]);
        let after = with(&[
            ("web", "log_freshness", "1.3.0", None),
            ("db", "pg_check", "2.0.0", Some(30.0)),
            ("db", "disk_io", "0.1.0", None),
        ]);
        assert_eq!(
            between(&before, &after),
            [
                "groups.db.plugins.pg_check: 2.0.0 with other settings",
                "groups.web.plugins.log_freshness: 1.2.0 -> 1.3.0",
                "groups.web.plugins.tls_expiry: 1.0.0 removed",
                "groups.db.plugins.disk_io: 0.1.0 added",
            ]
        );
        assert!(between(&after, &after).is_empty());
    }
}
