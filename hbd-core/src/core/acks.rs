//! Acknowledgements: an operator says "I am on it" about a problem (an alert path that
//! is not OK, or a host DOWN or UNREACHABLE). Its reminders stop (the policy holds
//! them) until its state changes, it recovers, or the acknowledgement's `until` passes;
//! then it is gone and said so. Keyed by host and path (`None`: the host itself).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use crate::clock::{Mono, Now};
use crate::model::Ack;

/// What an acknowledgement is about: a host, and an alert path or the host itself.
pub type Subject = (String, Option<String>);

/// Why an acknowledgement ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ended {
    /// The problem's state changed (a new level, a recovery, the host back).
    Changed,
    /// Its `until` passed.
    Expired,
    /// An operator took it back.
    Withdrawn,
    /// Its host or alert path is no longer tracked.
    Gone,
}

impl Ended {
    /// The word the journal and the live stream use.
    pub fn as_str(self) -> &'static str {
        match self {
            Ended::Changed => "changed",
            Ended::Expired => "expired",
            Ended::Withdrawn => "withdrawn",
            Ended::Gone => "gone",
        }
    }
}

/// Every acknowledgement in force, with when each expires on the monotonic clock.
#[derive(Debug, Default)]
pub struct Acks {
    by_subject: HashMap<Subject, (Ack, Option<Mono>)>,
    expiring: BTreeSet<(Mono, Subject)>,
    /// Changed since the store last took them: the acknowledgement now, or `None`.
    changed: Vec<(Subject, Option<Ack>)>,
}

impl Acks {
    /// Puts `ack` on `subject` (replacing one there), expiring at its `until`.
    pub fn put(&mut self, subject: Subject, ack: Ack, now: Now) {
        self.remove(&subject);
        let due = ack.until.map(|until| {
            now.mono
                .plus(Duration::from_millis(until.0.saturating_sub(now.wall.0)))
        });
        if let Some(due) = due {
            self.expiring.insert((due, subject.clone()));
        }
        self.changed.push((subject.clone(), Some(ack.clone())));
        self.by_subject.insert(subject, (ack, due));
    }

    /// Takes the acknowledgement off `subject`, if there is one.
    pub fn remove(&mut self, subject: &Subject) -> Option<Ack> {
        let (ack, due) = self.by_subject.remove(subject)?;
        if let Some(due) = due {
            self.expiring.remove(&(due, subject.clone()));
        }
        self.changed.push((subject.clone(), None));
        Some(ack)
    }

    /// The acknowledgement on `subject`.
    pub fn get(&self, host: &str, path: Option<&str>) -> Option<&Ack> {
        if self.by_subject.is_empty() {
            return None;
        }
        self.by_subject
            .get(&(host.to_owned(), path.map(str::to_owned)))
            .map(|(ack, _)| ack)
    }

    /// Whether there is none at all (the hot path asks first).
    pub fn is_empty(&self) -> bool {
        self.by_subject.is_empty()
    }

    /// The subjects whose acknowledgement expired by `now`, taken off.
    pub fn expire(&mut self, now: Now) -> Vec<(Subject, Ack)> {
        let mut out = Vec::new();
        while let Some((due, _)) = self.expiring.first() {
            if *due > now.mono {
                break;
            }
            let Some((_, subject)) = self.expiring.pop_first() else {
                break;
            };
            if let Some((ack, _)) = self.by_subject.remove(&subject) {
                self.changed.push((subject.clone(), None));
                out.push((subject, ack));
            }
        }
        out
    }

    /// The subjects of `host` (the host and its paths), for a host that is dropped.
    pub fn of_host(&self, host: &str) -> Vec<Subject> {
        self.by_subject
            .keys()
            .filter(|(h, _)| h == host)
            .cloned()
            .collect()
    }

    /// When the next acknowledgement expires.
    pub fn next_deadline(&self) -> Option<Mono> {
        self.expiring.first().map(|(due, _)| *due)
    }

    /// What changed since the last call, for the store.
    pub fn take_changed(&mut self) -> Vec<(Subject, Option<Ack>)> {
        std::mem::take(&mut self.changed)
    }
}

impl Acks {
    /// Every acknowledgement in force, by host and path.
    pub fn all(&self) -> Vec<(Subject, Ack)> {
        let mut all: Vec<(Subject, Ack)> = self
            .by_subject
            .iter()
            .map(|(s, (ack, _))| (s.clone(), ack.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

impl super::Core {
    /// Puts back the acknowledgements read from the store (after `Core::restore`):
    /// those whose problem is still one; the others end now, said so.
    pub fn restore_acks(&mut self, acks: Vec<(Subject, Ack)>, now: Now) {
        for ((host, path), ack) in acks {
            let problem = match &path {
                Some(p) => self
                    .alerts
                    .get(&host, p)
                    .is_some_and(|s| s.level != crate::model::Level::Ok),
                None => self.hosts.get(&host).is_some_and(|h| {
                    matches!(
                        h.state,
                        crate::model::HostState::Down | crate::model::HostState::Unreachable
                    )
                }),
            };
            if problem {
                self.acks.put((host, path), ack, now);
            } else {
                self.acks.changed.push(((host, path), None));
            }
        }
        // What was read needs no writing back.
        self.acks.changed.retain(|(_, ack)| ack.is_none());
    }

    /// Every acknowledgement in force.
    pub fn acks(&self) -> Vec<(Subject, Ack)> {
        self.acks.all()
    }
}
