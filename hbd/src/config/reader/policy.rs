//! The alert-policy sections of the config (`maintenance`, `flapping`, `storm`) and the
//! per-host `parents` check: each read into its validated form, every problem reported
//! with its line.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_norway::Value;

use hb_problems::keys::{Reload, read_map};

use super::keys::KeySpec;
use super::{Reader, set};
use crate::config::HostConfig;
use crate::policy::flap::FlapSettings;
use crate::policy::storm::StormSettings;
use crate::policy::window::{Window, WindowConfig};
use hb_problems::show;

/// Keys of one maintenance window (`maintenance.NAME`); a reload puts each in force.
pub(in crate::config) static WINDOW: &[KeySpec<WindowConfig>] = &[
    KeySpec {
        name: "hosts",
        reload: Reload::Live,
        read: |r, w, p, v| w.hosts = r.string_list(p, v).unwrap_or_default(),
    },
    KeySpec {
        name: "profiles",
        reload: Reload::Live,
        read: |r, w, p, v| w.profiles = r.string_list(p, v).unwrap_or_default(),
    },
    KeySpec {
        name: "groups",
        reload: Reload::Live,
        read: |r, w, p, v| w.groups = r.string_list(p, v).unwrap_or_default(),
    },
    KeySpec {
        name: "paths",
        reload: Reload::Live,
        read: |r, w, p, v| w.paths = r.string(p, v),
    },
    KeySpec {
        name: "days",
        reload: Reload::Live,
        read: |r, w, p, v| {
            for day in r.string_list(p, v).unwrap_or_default() {
                let short = day.to_ascii_lowercase();
                match DAYS.iter().position(|d| short.starts_with(d)) {
                    Some(i) => w.days.push(i as i8 + 1),
                    None => r.error(p, format!("{day:?} is no day (mon, tue, ... sun)")),
                }
            }
        },
    },
    KeySpec {
        name: "start",
        reload: Reload::Live,
        read: |r, w, p, v| match v.as_str().and_then(parse_clock) {
            Some(m) => w.start_minute = m,
            None => r.error(p, format!("expected a time as HH:MM, found {}", show(v))),
        },
    },
    KeySpec {
        name: "duration",
        reload: Reload::Live,
        read: |r, w, p, v| match r.span(p, v) {
            Some(d) if !d.is_zero() && d <= Duration::from_secs(7 * 86_400) => w.duration = d,
            Some(_) => r.error(p, "expected more than 0 and at most 7 days"),
            None => {}
        },
    },
    KeySpec {
        name: "time_zone",
        reload: Reload::Live,
        read: |r, w, p, v| w.time_zone = r.string(p, v),
    },
];

/// `flapping`, as read: the detector's settings and whether it is on.
pub(in crate::config) struct Flapping {
    settings: FlapSettings,
    enabled: bool,
}

/// Keys of `flapping`; a reload puts each in force.
pub(in crate::config) static FLAPPING: &[KeySpec<Flapping>] = &[
    KeySpec {
        name: "enabled",
        reload: Reload::Live,
        read: |r, f, p, v| set(&mut f.enabled, r.boolean(p, v)),
    },
    KeySpec {
        name: "low",
        reload: Reload::Live,
        read: |r, f, p, v| set(&mut f.settings.low, r.percent(p, v)),
    },
    KeySpec {
        name: "high",
        reload: Reload::Live,
        read: |r, f, p, v| set(&mut f.settings.high, r.percent(p, v)),
    },
];

/// Keys of `storm`; a reload puts each in force.
pub(in crate::config) static STORM: &[KeySpec<StormSettings>] = &[
    KeySpec {
        name: "window",
        reload: Reload::Live,
        read: |r, s, p, v| set(&mut s.window, r.positive_span(p, v)),
    },
    KeySpec {
        name: "threshold",
        reload: Reload::Live,
        read: |r, s, p, v| {
            set(
                &mut s.threshold,
                r.uint(p, v, 0, 100_000).map(|n| n as usize),
            )
        },
    },
];

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Reader {
    /// A duration as seconds (`300`) or with units (`5m`, `2h 30m`).
    pub(super) fn span(&mut self, path: &[&str], v: &Value) -> Option<Duration> {
        let parsed = match v {
            Value::Number(_) => v
                .as_f64()
                .filter(|s| s.is_finite() && (0.0..1e9).contains(s))
                .map(Duration::from_secs_f64),
            Value::String(s) => humantime::parse_duration(s.trim()).ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.error(
                path,
                format!(
                    "expected seconds or a duration such as 5m or 2h 30m, found {}",
                    show(v)
                ),
            );
        }
        parsed
    }

    /// A duration of more than zero.
    pub(super) fn positive_span(&mut self, path: &[&str], v: &Value) -> Option<Duration> {
        match self.span(path, v)? {
            d if d.is_zero() => {
                self.error(path, "expected more than 0 seconds");
                None
            }
            d => Some(d),
        }
    }

    /// A percentage, 0 to 100.
    fn percent(&mut self, path: &[&str], v: &Value) -> Option<f64> {
        match v.as_f64() {
            Some(x) if (0.0..=100.0).contains(&x) => Some(x),
            _ => {
                self.error(
                    path,
                    format!("expected a percentage from 0 to 100, found {}", show(v)),
                );
                None
            }
        }
    }

    pub(super) fn maintenance(&mut self, v: &Value) -> BTreeMap<String, WindowConfig> {
        let mut windows = BTreeMap::new();
        let Some(map) = self.mapping(&["maintenance"], v) else {
            return windows;
        };
        for (name, entry) in map {
            let Some(name) = self.key_name(&["maintenance"], name) else {
                continue;
            };
            if let Some(w) = self.window(&name, entry) {
                windows.insert(name, w);
            }
        }
        windows
    }

    fn window(&mut self, name: &str, v: &Value) -> Option<WindowConfig> {
        let map = self.mapping(&["maintenance", name], v)?;
        let mut w = WindowConfig {
            hosts: Vec::new(),
            profiles: Vec::new(),
            groups: Vec::new(),
            paths: None,
            days: Vec::new(),
            start_minute: 0,
            duration: Duration::ZERO,
            time_zone: None,
        };
        let mut ok = read_map(self, WINDOW, &mut w, &["maintenance", name], map);
        if w.hosts.is_empty() && w.profiles.is_empty() && w.groups.is_empty() {
            self.error(
                &["maintenance", name],
                "needs `hosts`, `profiles` or `groups`",
            );
            ok = false;
        }
        for (key, present) in [
            ("start", map.contains_key("start")),
            ("duration", map.contains_key("duration")),
        ] {
            if !present {
                self.error(&["maintenance", name], format!("needs `{key}`"));
                ok = false;
            }
        }
        if ok && let Err(e) = Window::new(name, &w) {
            let key = match &e {
                crate::policy::window::WindowError::Glob(g) => g.field,
                crate::policy::window::WindowError::TimeZone(_) => "time_zone",
                crate::policy::window::WindowError::Range(_) => "start",
            };
            self.error(&["maintenance", name, key], e.to_string());
            ok = false;
        }
        ok.then_some(w)
    }

    pub(super) fn flapping(&mut self, v: &Value) -> Option<FlapSettings> {
        let map = self.section("flapping", v, &[])?;
        let mut f = Flapping {
            settings: FlapSettings::default(),
            enabled: true,
        };
        read_map(self, FLAPPING, &mut f, &["flapping"], map);
        if f.settings.low >= f.settings.high {
            self.error(
                &["flapping", "low"],
                format!("must be below high ({})", f.settings.high),
            );
            return None;
        }
        f.enabled.then_some(f.settings)
    }

    pub(super) fn storm(&mut self, v: &Value) -> Option<StormSettings> {
        let map = self.section("storm", v, &[])?;
        let mut s = StormSettings::default();
        read_map(self, STORM, &mut s, &["storm"], map);
        Some(s)
    }

    /// Parents must not form a cycle, nor name the host itself.
    pub(super) fn check_parents(&mut self, hosts: &BTreeMap<String, HostConfig>) {
        for (name, host) in hosts {
            for parent in &host.parents {
                if parent == name {
                    self.error(
                        &["hosts", name, "parents"],
                        "a host cannot be its own parent",
                    );
                } else if let Err(e) = hb_proto::validate_name(parent) {
                    self.error(&["hosts", name, "parents"], format!("{parent:?}: {e}"));
                }
            }
        }
        let mut state = HashMap::new();
        let mut cycles = Vec::new();
        for start in hosts.keys() {
            if !state.contains_key(start.as_str()) {
                walk_up(start, hosts, &mut state, &mut Vec::new(), &mut cycles);
            }
        }
        for cycle in cycles {
            self.error(
                &["hosts", &cycle[0], "parents"],
                format!("parents form a cycle: {}", cycle.join(" -> ")),
            );
        }
    }
}

/// Depth-first up the parents of `host` (`state`: true while on the current path, false
/// once done), collecting every cycle found.
fn walk_up<'a>(
    host: &'a str,
    hosts: &'a BTreeMap<String, HostConfig>,
    state: &mut HashMap<&'a str, bool>,
    path: &mut Vec<&'a str>,
    cycles: &mut Vec<Vec<String>>,
) {
    state.insert(host, true);
    path.push(host);
    for parent in hosts
        .get(host)
        .map(|h| h.parents.as_slice())
        .unwrap_or_default()
    {
        match state.get(parent.as_str()) {
            Some(true) if parent != host => {
                let from = path.iter().position(|p| p == parent).unwrap_or(0);
                let mut cycle: Vec<String> = path[from..].iter().map(|s| s.to_string()).collect();
                cycle.push(parent.clone());
                cycles.push(cycle);
            }
            Some(_) => {}
            None => walk_up(parent, hosts, state, path, cycles),
        }
    }
    path.pop();
    state.insert(host, false);
}

/// `HH:MM` as minutes after midnight.
fn parse_clock(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}
