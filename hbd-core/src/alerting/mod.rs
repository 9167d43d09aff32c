//! Threshold alerting, pure: per host and metric path an alert level (OK, WARNING,
//! CRITICAL; UNKNOWN for Nagios checks) that moves with each observed value under its
//! rule's hysteresis, a notice on every change, and reminders while not OK.
//!
//! Like the rest of the core it never reads the clock: callers pass `now`.

pub mod rule;
pub mod rules;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

pub use crate::model::{AlertState, Level, Notice, NoticeKind};
pub use rule::{Operator, Rule};

use crate::clock::{Mono, Now, Timestamp};

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

type Key = (String, String);

/// Every tracked path of every host.
///
/// Reminders run on monotonic time: each alert that may still remind has one entry in
/// `schedule`, so finding the next one is a lookup, not a scan. While a host is DOWN its
/// reminders pause (its metrics are stale; the DOWN notice says what matters); when it
/// returns they resume a full period later.
#[derive(Debug)]
pub struct Alerts {
    policy: Policy,
    states: HashMap<Key, AlertState>,
    dirty: HashSet<Key>,
    /// Alert states changed since [`Alerts::take_changed`] (level, reminder, removal),
    /// for the live stream.
    changed: Vec<Key>,
    /// When each alert's next reminder is due.
    due: HashMap<Key, Mono>,
    schedule: BTreeSet<(Mono, Key)>,
    paused: HashSet<String>,
}

impl Alerts {
    /// No alerts yet.
    pub fn new(policy: Policy) -> Alerts {
        Alerts {
            policy,
            states: HashMap::new(),
            dirty: HashSet::new(),
            changed: Vec::new(),
            due: HashMap::new(),
            schedule: BTreeSet::new(),
            paused: HashSet::new(),
        }
    }

    /// Changes the reminder policy (config reload); reminders are rescheduled.
    pub fn set_policy(&mut self, policy: Policy, now: Now) {
        if policy == self.policy {
            return;
        }
        self.policy = policy;
        let keys: Vec<Key> = self.states.keys().cloned().collect();
        for key in keys {
            self.reschedule(&key, now);
        }
    }

    /// Resumes stored states (after a restart), so a recovery is still notified. Reminders
    /// continue from when the last notice was sent, by the wall clock (the one clock a
    /// restart keeps).
    pub fn restore(&mut self, states: Vec<AlertState>, now: Now) {
        for s in states {
            let key = (s.host.clone(), s.path.clone());
            self.states.insert(key.clone(), s);
            self.reschedule(&key, now);
        }
    }

    fn mark(&mut self, key: &Key) {
        if !self.dirty.contains(key) {
            self.dirty.insert(key.clone());
        }
        self.changed.push(key.clone());
    }

    /// Sets (or clears) `key`'s reminder from its state: due `renotify` after the last
    /// notice, unless the policy, the cap, the level or a paused host says none.
    fn reschedule(&mut self, key: &Key, now: Now) {
        let at = self.states.get(key).and_then(|s| {
            let last = s.last_notified?;
            // Wall time only says how much of the period is left; the deadline itself is
            // monotonic.
            let elapsed = now.wall.since(last).min(self.policy.renotify);
            Some(now.mono.plus(self.policy.renotify - elapsed))
        });
        self.set_due(key, at);
    }

    /// Puts `key`'s next reminder at `at`, or nowhere if it may not remind now.
    fn set_due(&mut self, key: &Key, at: Option<Mono>) {
        if let Some(old) = self.due.remove(key) {
            self.schedule.remove(&(old, key.clone()));
        }
        let p = &self.policy;
        let may_remind = |s: &AlertState| {
            !p.renotify.is_zero()
                && s.level != Level::Ok
                && (p.renotify_max == 0 || s.reminders < p.renotify_max)
                && !self.paused.contains(&s.host)
        };
        if let (Some(at), Some(true)) = (at, self.states.get(key).map(may_remind)) {
            self.due.insert(key.clone(), at);
            self.schedule.insert((at, key.clone()));
        }
    }

    /// Observes a number for `host`'s `path` under `rule` at `now`; returns the level
    /// it evaluates to (what flap detection records).
    pub fn observe(
        &mut self,
        host: &str,
        path: &str,
        rule: &Rule,
        value: f64,
        now: Now,
        out: &mut Vec<Notice>,
    ) -> Level {
        let key = (host.to_owned(), path.to_owned());
        let current = self.states.get(&key).map_or(Level::Ok, |s| s.level);
        let next = rule.next_level(current, value);
        let observed = Observed {
            level: next,
            value: Some(value),
            detail: None,
            threshold: rule.threshold_for(next),
            operator: rule.threshold_for(next).map(|_| rule.operator),
        };
        self.apply(key, observed, now, true, out);
        next
    }

    /// Observes a check's own status (Nagios) for `host`'s `path`; `text` is its output.
    pub fn observe_status(
        &mut self,
        host: &str,
        path: &str,
        level: Level,
        text: &str,
        now: Now,
        out: &mut Vec<Notice>,
    ) {
        let key = (host.to_owned(), path.to_owned());
        let current = self.states.get(&key).map_or(Level::Ok, |s| s.level);
        let notify =
            self.policy.notify_unknown || (level != Level::Unknown && current != Level::Unknown);
        let observed = Observed {
            level,
            value: None,
            detail: Some(text.to_owned()),
            threshold: None,
            operator: None,
        };
        self.apply(key, observed, now, notify, out);
    }

    fn apply(&mut self, key: Key, o: Observed, now: Now, notify: bool, out: &mut Vec<Notice>) {
        let state = self
            .states
            .entry(key.clone())
            .or_insert_with(|| AlertState {
                held: None,
                ack: None,
                host: key.0.clone(),
                path: key.1.clone(),
                level: Level::Ok,
                since: now.wall,
                value: o.value,
                detail: o.detail.clone(),
                threshold: o.threshold,
                operator: o.operator,
                last_notified: None,
                reminders: 0,
            });
        let from = state.level;
        state.value = o.value;
        state.detail = o.detail;
        if o.level == from {
            return;
        }
        state.level = o.level;
        state.since = now.wall;
        state.threshold = o.threshold;
        state.operator = o.operator;
        state.reminders = 0;
        let kind = if o.level == Level::Ok {
            NoticeKind::Recovered
        } else if from == Level::Unknown || o.level == Level::Unknown || o.level > from {
            NoticeKind::Raised
        } else {
            NoticeKind::Lowered
        };
        if notify {
            state.last_notified = Some(now.wall);
            out.push(notice(state, kind, from, now.wall));
        }
        self.mark(&key);
        self.reschedule(&key, now);
    }

    /// Sends the reminders that are due at `now`.
    pub fn on_tick(&mut self, now: Now, out: &mut Vec<Notice>) {
        while let Some((at, key)) = self.schedule.first().cloned() {
            if at > now.mono {
                break;
            }
            self.schedule.remove(&(at, key.clone()));
            self.due.remove(&key);
            let Some(s) = self.states.get_mut(&key) else {
                continue;
            };
            s.reminders += 1;
            s.last_notified = Some(now.wall);
            out.push(notice(s, NoticeKind::Reminder, s.level, now.wall));
            self.mark(&key);
            self.reschedule(&key, now);
        }
    }

    /// When the next reminder is due.
    pub fn next_deadline(&self) -> Option<Mono> {
        self.schedule.first().map(|(at, _)| *at)
    }

    /// Pauses `host`'s reminders (it went DOWN).
    pub fn pause_host(&mut self, host: &str) {
        if !self.paused.insert(host.to_owned()) {
            return;
        }
        let keys: Vec<Key> = self.due.keys().filter(|k| k.0 == host).cloned().collect();
        for key in keys {
            if let Some(at) = self.due.remove(&key) {
                self.schedule.remove(&(at, key));
            }
        }
    }

    /// Resumes `host`'s reminders (it is back): each is due a full period from `now`.
    pub fn resume_host(&mut self, host: &str, now: Now) {
        if !self.paused.remove(host) {
            return;
        }
        let keys = self.keys_of(host);
        let at = now.mono.plus(self.policy.renotify);
        for key in keys {
            let notified = self
                .states
                .get(&key)
                .is_some_and(|s| s.last_notified.is_some());
            self.set_due(&key, notified.then_some(at));
        }
    }

    /// Every tracked path of `host`, as keys.
    fn keys_of(&self, host: &str) -> Vec<Key> {
        self.states
            .keys()
            .filter(|k| k.0 == host)
            .cloned()
            .collect()
    }

    /// Forgets every path of `host` (the host was dropped); returns what was removed, for
    /// the store.
    pub fn remove_host(&mut self, host: &str) -> Vec<AlertState> {
        let keys = self.keys_of(host);
        self.paused.remove(host);
        keys.into_iter().filter_map(|k| self.remove(&k)).collect()
    }

    /// Forgets one path (an alert cleared by an operator, or one whose rule is gone).
    pub fn remove(&mut self, key: &Key) -> Option<AlertState> {
        let state = self.states.remove(key)?;
        if let Some(at) = self.due.remove(key) {
            self.schedule.remove(&(at, key.clone()));
        }
        self.dirty.remove(key);
        self.changed.push(key.clone());
        Some(state)
    }

    /// Keeps only the states `keep` accepts; returns the others, removed.
    pub fn retain(&mut self, mut keep: impl FnMut(&AlertState) -> bool) -> Vec<AlertState> {
        let gone: Vec<Key> = self
            .states
            .iter()
            .filter(|(_, s)| !keep(s))
            .map(|(k, _)| k.clone())
            .collect();
        gone.into_iter().filter_map(|k| self.remove(&k)).collect()
    }

    /// Marks a path changed for the live stream without changing it (its
    /// acknowledgement did).
    pub fn touch(&mut self, host: &str, path: &str) {
        let key = (host.to_owned(), path.to_owned());
        if self.states.contains_key(&key) {
            self.changed.push(key);
        }
    }

    /// One state.
    pub fn get(&self, host: &str, path: &str) -> Option<&AlertState> {
        self.states.get(&(host.to_owned(), path.to_owned()))
    }

    /// Every tracked alert state, in no order.
    pub fn all(&self) -> impl Iterator<Item = &AlertState> {
        self.states.values()
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

    /// Paths changed since the last call, for the live stream: `(host, path, state)`,
    /// where `None` means the path is no longer tracked.
    pub fn take_changed(&mut self) -> Vec<(String, String, Option<AlertState>)> {
        if self.changed.is_empty() {
            return Vec::new(); // the usual case: asked after every datagram
        }
        let mut seen = HashSet::new();
        std::mem::take(&mut self.changed)
            .into_iter()
            .filter(|k| seen.insert(k.clone()))
            .map(|k| {
                let state = self.states.get(&k).cloned();
                (k.0, k.1, state)
            })
            .collect()
    }
}

/// What one observation says, before it is compared with the current state.
struct Observed {
    level: Level,
    value: Option<f64>,
    detail: Option<String>,
    threshold: Option<f64>,
    operator: Option<crate::model::Operator>,
}

fn notice(s: &AlertState, kind: NoticeKind, from: Level, at: Timestamp) -> Notice {
    Notice {
        host: s.host.clone(),
        path: s.path.clone(),
        kind,
        from,
        to: s.level,
        value: s.value,
        detail: s.detail.clone(),
        threshold: s.threshold,
        operator: s.operator,
        since: s.since,
        at,
    }
}

#[cfg(test)]
mod tests;
