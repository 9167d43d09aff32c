//! What a reload changes in which plugins run where: for each group, the artifacts added,
//! removed, moved to another version or given other settings (each field that changed,
//! was and now), and the native
//! collectors' settings set, changed or dropped, one line each, so the log and the
//! reload's answer say who changed the fleet's code, when, and how. Pure.

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
                let settings = settings_diff(&was.settings, &now.settings);
                let with = if settings.is_empty() {
                    String::new()
                } else {
                    format!("; {settings}")
                };
                out.push(format!("{at}: {} -> {}{with}", version(was), version(now)));
            }
            Some(now) if now.settings != was.settings => out.push(format!(
                "{at}: {}: {}",
                version(now),
                settings_diff(&was.settings, &now.settings)
            )),
            Some(now) if now.resolved != was.resolved => {
                out.push(format!("{at}: {} republished", version(now)));
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
    out.extend(collectors(before, after));
    out
}

/// What changed between two plugin settings, field by field (`config` key by key), as
/// `key: was -> now`, JSON-valued, `-` for unset; empty when nothing did.
pub(crate) fn settings_diff(
    was: &hb_artifact::desired::Settings,
    now: &hb_artifact::desired::Settings,
) -> String {
    use serde_json::{Map, Value};
    // Each field, and each key of `config`, as its own entry.
    let flat = |s: &hb_artifact::desired::Settings| -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        // Invariant: plain fields serialize, to an object.
        if let Ok(Value::Object(fields)) = serde_json::to_value(s) {
            for (key, value) in fields {
                match (key.as_str(), value) {
                    ("config", Value::Object(config)) => {
                        let config: Map<String, Value> = config;
                        for (k, v) in config {
                            out.insert(format!("config.{k}"), v);
                        }
                    }
                    (_, value) => {
                        out.insert(key, value);
                    }
                }
            }
        }
        out
    };
    let (was, now) = (flat(was), flat(now));
    let shown = |v: Option<&Value>| v.map_or_else(|| "-".to_owned(), Value::to_string);
    let keys: std::collections::BTreeSet<&String> = was.keys().chain(now.keys()).collect();
    keys.into_iter()
        .filter(|k| was.get(*k) != now.get(*k))
        .map(|k| format!("{k}: {} -> {}", shown(was.get(k)), shown(now.get(k))))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The native collectors' settings each group sets, changed.
fn collectors(before: &Config, after: &Config) -> Vec<String> {
    let all = |c: &Config| -> BTreeMap<(String, String), String> {
        c.groups
            .iter()
            .flat_map(|(g, group)| {
                group.collectors.iter().map(move |(name, settings)| {
                    // Invariant: plain fields serialize.
                    let shown = serde_json::to_string(settings).unwrap_or_default();
                    ((g.clone(), name.clone()), shown)
                })
            })
            .collect()
    };
    let (old, new) = (all(before), all(after));
    let mut out = Vec::new();
    for ((group, name), was) in &old {
        let at = format!("groups.{group}.collectors.{name}");
        match new.get(&(group.clone(), name.clone())) {
            None => out.push(format!("{at}: {was} dropped")),
            Some(now) if now != was => out.push(format!("{at}: {was} -> {now}")),
            Some(_) => {}
        }
    }
    for ((group, name), now) in &new {
        if !old.contains_key(&(group.clone(), name.clone())) {
            out.push(format!("groups.{group}.collectors.{name}: {now} set"));
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
                "groups.db.plugins.pg_check: 2.0.0: interval: 60.0 -> 30.0",
                "groups.web.plugins.log_freshness: 1.2.0 -> 1.3.0",
                "groups.web.plugins.tls_expiry: 1.0.0 removed",
                "groups.db.plugins.disk_io: 0.1.0 added",
            ]
        );
        assert!(between(&after, &after).is_empty());
    }

    #[test]
    fn a_settings_change_shows_each_field_and_config_key_that_changed() {
        let settings = |json: serde_json::Value| -> hb_artifact::desired::Settings {
            serde_json::from_value(json).unwrap()
        };
        // (before, after, the diff)
        let cases = [
            (
                serde_json::json!({"config": {"path": "/var/log/a", "warning_s": 60}}),
                serde_json::json!({"config": {"path": "/var/log/b", "warning_s": 60, "critical_s": 600}}),
                r#"config.critical_s: - -> 600, config.path: "/var/log/a" -> "/var/log/b""#,
            ),
            (
                serde_json::json!({"grants": ["/var/log"], "timeout_ms": 500}),
                serde_json::json!({"grants": ["/var/log", "/srv/log"]}),
                r#"grants: ["/var/log"] -> ["/var/log","/srv/log"], timeout_ms: 500 -> -"#,
            ),
            (
                serde_json::json!({"interval": 30.0}),
                serde_json::json!({"interval": 30.0}),
                "",
            ),
        ];
        for (was, now, diff) in cases {
            assert_eq!(settings_diff(&settings(was), &settings(now)), diff);
        }
    }

    #[test]
    fn collectors_set_changed_and_dropped() {
        let every = |s: f64| hb_artifact::collectors::Collector {
            interval: Some(s),
            ..Default::default()
        };
        let mut before = Config::default();
        let web = before.groups.entry("web".into()).or_default();
        web.collectors.insert("cpu_monitor".into(), every(30.0));
        web.collectors.insert("disk_monitor".into(), every(60.0));
        let mut after = Config::default();
        let web = after.groups.entry("web".into()).or_default();
        web.collectors.insert("cpu_monitor".into(), every(5.0));
        web.collectors.insert(
            "nagios_runner".into(),
            hb_artifact::collectors::Collector {
                checks: Some(vec!["root".into()]),
                ..Default::default()
            },
        );
        assert_eq!(
            between(&before, &after),
            [
                r#"groups.web.collectors.cpu_monitor: {"interval":30.0} -> {"interval":5.0}"#,
                r#"groups.web.collectors.disk_monitor: {"interval":60.0} dropped"#,
                r#"groups.web.collectors.nagios_runner: {"checks":["root"]} set"#,
            ]
        );
    }
}
