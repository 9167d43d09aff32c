//! The daemon's word on an agent's native collectors (`cpu_monitor`, `nagios_runner`,
//! ...): whether each runs and how often, and which of the Nagios checks the agent's own
//! config defines may run. The checks' command lines never travel: they are code the
//! sandbox does not contain, so they stay written on the agent, and the daemon only
//! chooses among them by name. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The smallest interval the daemon may set for a native collector, in seconds.
pub const MIN_INTERVAL_S: f64 = 1.0;
/// The largest: a day.
pub const MAX_INTERVAL_S: f64 = 86_400.0;

/// The daemon's settings for one native collector; what is not set stays as the
/// agent's own config says.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Collector {
    /// Whether it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Seconds between collections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<f64>,
    /// `nagios_runner` only: the checks of the agent's own `plugins.nagios_runner`
    /// that run, by name; the others do not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<String>>,
}

/// The daemon's settings for the native collectors, by name.
pub type Collectors = BTreeMap<String, Collector>;

impl Collector {
    /// What is wrong with these settings for the collector `name`, as a sentence.
    pub fn problem(&self, name: &str) -> Option<String> {
        if hb_proto::catalogue::find(name).is_none() {
            let known: Vec<&str> = hb_proto::catalogue::BUILT_IN
                .iter()
                .map(|p| p.name)
                .collect();
            return Some(format!(
                "{name:?} is not a native collector (one of {})",
                known.join(", ")
            ));
        }
        if let Some(i) = self.interval
            && !(MIN_INTERVAL_S..=MAX_INTERVAL_S).contains(&i)
        {
            return Some(format!(
                "interval {i} is not {MIN_INTERVAL_S} to {MAX_INTERVAL_S} seconds"
            ));
        }
        if let Some(checks) = &self.checks {
            if name != "nagios_runner" {
                return Some("checks are for nagios_runner only".into());
            }
            let mut seen = std::collections::BTreeSet::new();
            for check in checks {
                if check.is_empty() || check.len() > 128 || check.chars().any(char::is_control) {
                    return Some(format!("{check:?} is not a check name"));
                }
                if !seen.insert(check) {
                    return Some(format!("check {check:?} is named twice"));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_for_the_collector_they_name() {
        let checks = |names: &[&str]| Collector {
            checks: Some(names.iter().map(|n| (*n).to_owned()).collect()),
            ..Collector::default()
        };
        let every = |s: f64| Collector {
            interval: Some(s),
            ..Collector::default()
        };
        // (what, collector name, settings, the problem's start or None)
        let cases: Vec<(&str, &str, Collector, Option<&str>)> = vec![
            ("nothing set", "cpu_monitor", Collector::default(), None),
            (
                "off",
                "memory_monitor",
                Collector {
                    enabled: Some(false),
                    ..Collector::default()
                },
                None,
            ),
            ("an interval", "disk_monitor", every(30.0), None),
            (
                "too often",
                "disk_monitor",
                every(0.5),
                Some("interval 0.5"),
            ),
            ("too seldom", "disk_monitor", every(1e6), Some("interval")),
            (
                "not a number",
                "disk_monitor",
                every(f64::NAN),
                Some("interval"),
            ),
            (
                "unknown",
                "cpu_monitr",
                every(30.0),
                Some("\"cpu_monitr\" is not"),
            ),
            ("checks", "nagios_runner", checks(&["root", "load"]), None),
            ("no checks at all", "nagios_runner", checks(&[]), None),
            (
                "checks elsewhere",
                "cpu_monitor",
                checks(&["x"]),
                Some("checks are"),
            ),
            (
                "empty name",
                "nagios_runner",
                checks(&[""]),
                Some("\"\" is not"),
            ),
            (
                "twice",
                "nagios_runner",
                checks(&["a", "a"]),
                Some("check \"a\""),
            ),
        ];
        for (what, name, settings, want) in cases {
            let got = settings.problem(name);
            match want {
                None => assert_eq!(got, None, "{what}"),
                Some(start) => assert!(
                    got.as_deref().is_some_and(|g| g.starts_with(start)),
                    "{what}: {got:?}"
                ),
            }
        }
    }
}
