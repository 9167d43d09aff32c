//! The daemon's settings for the native collectors (`groups.NAME.collectors`, reaching
//! the agent with its managed plugins) laid over the agent's own `plugins` config: what
//! the daemon sets wins, what it does not set stays as written here. For
//! `nagios_runner` the daemon only chooses which of the checks defined here run, by
//! name: command lines are never taken from the network. Pure.

use std::collections::BTreeMap;

use hb_artifact::collectors::{Collector, Collectors};
use serde_json::{Map, Value, json};

use super::Options;
use super::nagios_runner::parse_checks;

/// Why the daemon's settings cannot be laid over this agent's config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverlayError {
    /// The agent's own entry for the collector is not a mapping.
    #[error("plugins.{0}: this agent's own entry is not a mapping of options")]
    NotAMapping(String),
    /// A check the daemon names is not defined here.
    #[error(
        "nagios_runner check {name:?} is not defined in this agent's config (defined: {defined})"
    )]
    UnknownCheck {
        /// The check named.
        name: String,
        /// The checks this agent defines.
        defined: String,
    },
    /// The agent's own checks cannot be read.
    #[error("{0}")]
    Checks(String),
}

/// `local` (the agent's `plugins` section) with `collectors` laid over it.
pub fn overlay(
    local: &BTreeMap<String, Value>,
    collectors: &Collectors,
) -> Result<BTreeMap<String, Value>, OverlayError> {
    let mut out = local.clone();
    for (name, settings) in collectors {
        let own = local.get(name);
        let on_by_default = hb_proto::catalogue::find(name).is_some_and(|p| p.on_by_default);
        // A collector that runs only when listed (ping, Nagios) is not started by an
        // interval alone: only `enabled: true` starts it.
        if own.is_none() && !on_by_default && settings.enabled != Some(true) {
            continue;
        }
        let mut map = match own {
            None | Some(Value::Null) | Some(Value::Bool(true)) => Map::new(),
            Some(Value::Bool(false)) => {
                let mut m = Map::new();
                m.insert("enabled".into(), Value::Bool(false));
                m
            }
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(OverlayError::NotAMapping(name.clone())),
        };
        apply(name, settings, &mut map)?;
        out.insert(name.clone(), Value::Object(map));
    }
    Ok(out)
}

fn apply(
    name: &str,
    settings: &Collector,
    map: &mut Map<String, Value>,
) -> Result<(), OverlayError> {
    if let Some(enabled) = settings.enabled {
        map.insert("enabled".into(), Value::Bool(enabled));
    }
    if let Some(interval) = settings.interval {
        map.insert("interval".into(), json!(interval));
    }
    let Some(wanted) = &settings.checks else {
        return Ok(());
    };
    let options = Options::new(name, &Value::Object(map.clone()))
        .map_err(|e| OverlayError::Checks(e.to_string()))?;
    let defined = if map.contains_key("commands") {
        parse_checks(&options).map_err(|e| OverlayError::Checks(e.to_string()))?
    } else {
        Vec::new()
    };
    let items = match map.get("commands") {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    for want in wanted {
        if !defined.iter().any(|c| c.name == *want) {
            let names: Vec<&str> = defined.iter().map(|c| c.name.as_str()).collect();
            return Err(OverlayError::UnknownCheck {
                name: want.clone(),
                defined: if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                },
            });
        }
    }
    // Each command gives one check, in order; the chosen ones keep the names they have
    // here (written out, since a name made unique by a suffix could change when
    // others leave the list).
    let kept: Vec<Value> = defined
        .iter()
        .zip(items)
        .filter(|(check, _)| wanted.contains(&check.name))
        .map(|(check, item)| match item {
            Value::Object(mut m) => {
                m.insert("name".into(), json!(check.name));
                Value::Object(m)
            }
            command => json!({"name": check.name, "command": command}),
        })
        .collect();
    if kept.is_empty() {
        map.insert("enabled".into(), Value::Bool(false));
    } else {
        map.insert("commands".into(), Value::Array(kept));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> BTreeMap<String, Value> {
        serde_json::from_value(json!({
            "cpu_monitor": {"interval": 10},
            "memory_monitor": false,
            "nagios_runner": {"commands": [
                "/usr/lib/nagios/plugins/check_load -w 5 -c 10",
                {"name": "root", "command": "/usr/lib/nagios/plugins/check_disk -w 10% -p /"},
                "/usr/lib/nagios/plugins/check_load -w 1 -c 2",
            ]},
        }))
        .unwrap()
    }

    fn set(pairs: Value) -> Collectors {
        serde_json::from_value(pairs).unwrap()
    }

    #[test]
    fn what_the_daemon_sets_wins_and_the_rest_stays() {
        // (what, the daemon's settings, the entries that differ from the agent's own)
        let cases: Vec<(&str, Value, Value)> = vec![
            ("nothing", json!({}), json!({})),
            (
                "an interval kept beside the agent's other options",
                json!({"cpu_monitor": {"interval": 5}}),
                json!({"cpu_monitor": {"interval": 5.0}}),
            ),
            (
                "switched on again",
                json!({"memory_monitor": {"enabled": true}}),
                json!({"memory_monitor": {"enabled": true}}),
            ),
            (
                "switched off",
                json!({"disk_monitor": {"enabled": false}}),
                json!({"disk_monitor": {"enabled": false}}),
            ),
            (
                "an interval alone does not start a collector that runs only when listed",
                json!({"ping_monitor": {"interval": 30}}),
                json!({}),
            ),
            (
                "two of three checks, by the names they have here",
                json!({"nagios_runner": {"checks": ["root", "check_load_2"]}}),
                json!({"nagios_runner": {"commands": [
                    {"name": "root", "command": "/usr/lib/nagios/plugins/check_disk -w 10% -p /"},
                    {"name": "check_load_2", "command": "/usr/lib/nagios/plugins/check_load -w 1 -c 2"},
                ]}}),
            ),
            (
                "no checks at all: off",
                json!({"nagios_runner": {"checks": []}}),
                json!({"nagios_runner": {"enabled": false, "commands": local()["nagios_runner"]["commands"]}}),
            ),
        ];
        for (what, daemon, changed) in cases {
            let got = overlay(&local(), &set(daemon)).unwrap();
            let mut want = local();
            for (k, v) in changed.as_object().unwrap() {
                let mut entry = match want.get(k) {
                    Some(Value::Object(m)) => m.clone(),
                    _ => Map::new(),
                };
                for (ok, ov) in v.as_object().unwrap() {
                    entry.insert(ok.clone(), ov.clone());
                }
                want.insert(k.clone(), Value::Object(entry));
            }
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn a_check_not_defined_here_refuses_the_settings() {
        let err = overlay(
            &local(),
            &set(json!({"nagios_runner": {"checks": ["root", "check_swap"]}})),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "nagios_runner check \"check_swap\" is not defined in this agent's config \
             (defined: check_load, root, check_load_2)"
        );
        let none = overlay(
            &BTreeMap::new(),
            &set(json!({"nagios_runner": {"enabled": true, "checks": ["x"]}})),
        )
        .unwrap_err();
        assert!(none.to_string().contains("(defined: none)"), "{none}");
    }
}
