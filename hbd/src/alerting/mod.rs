//! Threshold alerting, pure: per host and metric path an alert level (OK, WARNING,
//! CRITICAL; UNKNOWN for Nagios checks) that moves with each observed value under its
//! rule's hysteresis, a notice on every change, and reminders while not OK.
//!
//! Like the rest of the core it never reads the clock: callers pass `now`.

pub mod message;
pub mod rule;
pub mod rules;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::Serialize;

pub use rule::{Level, Operator, Rule};

use crate::clock::Timestamp;

/// The alert state of one host's metric path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertState {
    /// The host.
    pub host: String,
    /// The shown metric path (`disk_monitor./.percent`).
    pub path: String,
    /// Current level.
    pub level: Level,
    /// When the level last changed.
    pub since: Timestamp,
    /// Latest value (numbers) ...
    pub value: Option<f64>,
    /// ... or latest text (Nagios checks).
    pub detail: Option<String>,
    /// The threshold of the current level, if any.
    pub threshold: Option<f64>,
    /// When a notice about this path was last sent (raise, drop or reminder).
    pub last_notified: Option<Timestamp>,
    /// Reminders sent in this episode.
    pub reminders: u32,
}

/// What kind of change a notice reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeKind {
    /// Level went up.
    Raised,
    /// Level went down but not to OK.
    Lowered,
    /// Back to OK.
    Recovered,
    /// Still not OK after `threshold_renotify_interval`.
    Reminder,
}

/// One alert notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// The host.
    pub host: String,
    /// The shown metric path.
    pub path: String,
    /// What changed.
    pub kind: NoticeKind,
    /// Level before.
    pub from: Level,
    /// Level now.
    pub to: Level,
    /// The message text, in the documented form.
    pub text: String,
}

/// Reminder and UNKNOWN policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Reminder period while not OK (zero: no reminders).
    pub renotify: Duration,
    /// Most reminders per episode (0: no cap).
    pub renotify_max: u32,
    /// Whether a Nagios check going UNKNOWN (or back) notifies.
    pub notify_unknown: bool,
}

/// Every tracked path of every host.
#[derive(Debug)]
pub struct Alerts {
    policy: Policy,
    states: HashMap<(String, String), AlertState>,
    dirty: HashSet<(String, String)>,
}

impl Alerts {
    /// No alerts yet.
    pub fn new(policy: Policy) -> Alerts {
        Alerts {
            policy,
            states: HashMap::new(),
            dirty: HashSet::new(),
        }
    }

    /// Resumes stored states (after a restart), so a recovery is still notified.
    pub fn restore(&mut self, states: Vec<AlertState>) {
        for s in states {
            self.states.insert((s.host.clone(), s.path.clone()), s);
        }
    }

    fn mark(&mut self, key: &(String, String)) {
        if !self.dirty.contains(key) {
            self.dirty.insert(key.clone());
        }
    }

    /// Observes a number for `host`'s `path` under `rule` at `now`.
    pub fn observe(
        &mut self,
        host: &str,
        path: &str,
        rule: &Rule,
        value: f64,
        now: Timestamp,
        out: &mut Vec<Notice>,
    ) {
        let key = (host.to_owned(), path.to_owned());
        let current = self.states.get(&key).map_or(Level::Ok, |s| s.level);
        let next = rule.next_level(current, value);
        let shown = message::value(value);
        self.apply(
            key,
            next,
            Some(value),
            None,
            rule.threshold_for(next),
            &shown,
            now,
            true,
            out,
        );
    }

    /// Observes a check's own status (Nagios) for `host`'s `path`; `text` is its output.
    pub fn observe_status(
        &mut self,
        host: &str,
        path: &str,
        level: Level,
        text: &str,
        now: Timestamp,
        out: &mut Vec<Notice>,
    ) {
        let key = (host.to_owned(), path.to_owned());
        let current = self.states.get(&key).map_or(Level::Ok, |s| s.level);
        let notify =
            self.policy.notify_unknown || (level != Level::Unknown && current != Level::Unknown);
        let shown = if text.is_empty() {
            level.as_str().to_owned()
        } else {
            text.to_owned()
        };
        self.apply(
            key,
            level,
            None,
            Some(text.to_owned()),
            None,
            &shown,
            now,
            notify,
            out,
        );
    }

    #[allow(clippy::too_many_arguments)] // one private step shared by both observers
    fn apply(
        &mut self,
        key: (String, String),
        next: Level,
        value: Option<f64>,
        detail: Option<String>,
        threshold: Option<f64>,
        shown: &str,
        now: Timestamp,
        notify: bool,
        out: &mut Vec<Notice>,
    ) {
        let state = self
            .states
            .entry(key.clone())
            .or_insert_with(|| AlertState {
                host: key.0.clone(),
                path: key.1.clone(),
                level: Level::Ok,
                since: now,
                value,
                detail: detail.clone(),
                threshold,
                last_notified: None,
                reminders: 0,
            });
        let from = state.level;
        state.value = value;
        state.detail = detail;
        if next == from {
            return;
        }
        state.level = next;
        state.since = now;
        state.threshold = threshold;
        state.reminders = 0;
        let (kind, text) = if next == Level::Ok {
            (
                NoticeKind::Recovered,
                message::recovered(&key.0, &key.1, shown, from),
            )
        } else if from == Level::Unknown || next == Level::Unknown {
            // UNKNOWN is no severity step: no "(A -> B)" suffix either way.
            (
                NoticeKind::Raised,
                message::raised(next, &key.0, &key.1, shown, None),
            )
        } else if next > from {
            (
                NoticeKind::Raised,
                message::raised(next, &key.0, &key.1, shown, Some(from)),
            )
        } else {
            (
                NoticeKind::Lowered,
                message::raised(next, &key.0, &key.1, shown, Some(from)),
            )
        };
        if notify {
            state.last_notified = Some(now);
            out.push(Notice {
                host: key.0.clone(),
                path: key.1.clone(),
                kind,
                from,
                to: next,
                text,
            });
        }
        self.mark(&key);
    }

    /// Sends the reminders that are due at `now`.
    pub fn on_tick(&mut self, now: Timestamp, out: &mut Vec<Notice>) {
        if self.policy.renotify.is_zero() {
            return;
        }
        let mut touched = Vec::new();
        for (key, s) in &mut self.states {
            if s.level == Level::Ok
                || (self.policy.renotify_max != 0 && s.reminders >= self.policy.renotify_max)
            {
                continue;
            }
            let Some(last) = s.last_notified else {
                continue;
            };
            if now < last.plus(self.policy.renotify) {
                continue;
            }
            let shown = s
                .value
                .map(message::value)
                .or_else(|| s.detail.clone())
                .unwrap_or_default();
            s.reminders += 1;
            s.last_notified = Some(now);
            out.push(Notice {
                host: s.host.clone(),
                path: s.path.clone(),
                kind: NoticeKind::Reminder,
                from: s.level,
                to: s.level,
                text: message::reminder(
                    s.level,
                    &s.host,
                    &s.path,
                    &shown,
                    now.since(s.since).as_secs(),
                ),
            });
            touched.push(key.clone());
        }
        for key in touched {
            self.mark(&key);
        }
    }

    /// When the next reminder is due.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        if self.policy.renotify.is_zero() {
            return None;
        }
        self.states
            .values()
            .filter(|s| s.level != Level::Ok)
            .filter(|s| self.policy.renotify_max == 0 || s.reminders < self.policy.renotify_max)
            .filter_map(|s| s.last_notified.map(|t| t.plus(self.policy.renotify)))
            .min()
    }

    /// Every non-OK state, sorted by host and path.
    pub fn active(&self) -> Vec<AlertState> {
        let mut v: Vec<AlertState> = self
            .states
            .values()
            .filter(|s| s.level != Level::Ok)
            .cloned()
            .collect();
        v.sort_by(|a, b| (&a.host, &a.path).cmp(&(&b.host, &b.path)));
        v
    }

    /// Every tracked path of one host, sorted by path.
    pub fn for_host(&self, host: &str) -> Vec<AlertState> {
        let mut v: Vec<AlertState> = self
            .states
            .values()
            .filter(|s| s.host == host)
            .cloned()
            .collect();
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v
    }

    /// States changed since the last call, for the store.
    pub fn take_dirty(&mut self) -> Vec<AlertState> {
        std::mem::take(&mut self.dirty)
            .into_iter()
            .filter_map(|k| self.states.get(&k).cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests;
