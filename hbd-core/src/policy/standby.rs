//! The policy's side of an HA pair: the standby holds every message, the daemon taking
//! over adopts what the pair last told (`hbd_told`) before it tells the rest, and the
//! leader merges what the other daemon told on its own while coordination was down.

use std::collections::HashMap;

use super::{EventKind, Key, Level, NoticeKind, Notification, Policy, Reason};
use crate::clock::Now;

impl Policy {
    /// Whether this daemon is an HA pair's standby: the one place that is kept (the
    /// core, the engine and the API read it here).
    pub fn is_standby(&self) -> bool {
        self.standby.is_some()
    }

    /// Holds everything (`Some`, a [`Reason::Standby`]: this daemon is an HA pair's
    /// standby) or nothing more (`None`: it leads, or fails open); leaving standby tells
    /// whatever differs from what was last told.
    pub fn set_standby(&mut self, standby: Option<Reason>, now: Now) {
        self.paired = true;
        let adopted = std::mem::take(&mut self.adopted);
        if self.standby == standby && !adopted {
            return;
        }
        self.standby = standby;
        self.recheck_all(now);
    }

    /// Takes over what the pair last told (`(host, path or "", level)`, from the shared
    /// record of the daemon that led before): a subject not in it was told nothing (OK).
    /// What differs from the state now is held until [`Policy::set_standby`] releases it.
    pub fn adopt_told(&mut self, told: Vec<(String, String, Level)>) {
        let mut shared: HashMap<Key, Level> = told
            .into_iter()
            .map(|(h, p, l)| ((h, (!p.is_empty()).then_some(p)), l))
            .collect();
        let known: Vec<Key> = self
            .hosts
            .iter()
            .flat_map(|(h, subjects)| {
                std::iter::once((h.clone(), None))
                    .chain(subjects.paths.keys().map(|p| (h.clone(), Some(p.clone()))))
            })
            .collect();
        for key in known {
            let level = shared.remove(&key).unwrap_or(Level::Ok);
            self.set_told(key, level);
        }
        for (key, level) in shared {
            self.set_told(key, level);
        }
        self.adopted = true;
    }

    /// Takes over rows of the pair's record that the other daemon wrote while this one
    /// leads (what it told on its own while coordination was down, written when it came
    /// back), and tells at once whatever now differs: a RECOVERED of a CRITICAL only the
    /// other daemon told, say.
    pub fn merge_told(&mut self, told: Vec<(String, String, Level)>, now: Now) {
        for (host, path, level) in told {
            let path = (!path.is_empty()).then_some(path);
            self.set_told((host, path), level);
        }
        self.recheck_all(now);
    }

    fn set_told(&mut self, key: Key, level: Level) {
        let s = self.subject(&key.0, key.1.as_deref());
        if s.told != level {
            s.told = level;
            let path = key.1.clone().unwrap_or_default();
            self.told_dirty.push((key.0.clone(), path, level));
        }
        let s = self.subject(&key.0, key.1.as_deref());
        if s.current != s.told {
            self.held.insert(key);
        }
    }
}

/// The state a notification tells, `(host, path, level)`: what the pair's shared record
/// keeps (alert changes and a host's DOWN and UP; not reminders, boots or flapping).
pub fn told_by(n: &Notification) -> Option<(&str, Option<&str>, Level)> {
    match n {
        Notification::Alert(a) if a.kind != NoticeKind::Reminder => {
            Some((&a.host, Some(&a.path), a.to))
        }
        Notification::Host(e) => match e.kind {
            EventKind::Down { .. } => Some((&e.host, None, Level::Critical)),
            EventKind::Up { .. } => Some((&e.host, None, Level::Ok)),
            _ => None,
        },
        _ => None,
    }
}
