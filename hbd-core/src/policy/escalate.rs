//! Escalation: a problem that was told and is still neither over nor acknowledged after
//! a step's time is told again to that step's people (`groups.NAME.escalation`), once
//! per step. The steps of a host are its first group's (by name) that has any. The
//! steps' timers are [`Escalations`]; the policy's part, telling a due step or holding
//! it, is at the end.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Mono, Now, Timestamp};
use crate::groups::{Group, Labels};
use crate::model::Notification;

use super::{Out, Policy, Reason, Verdict};

/// One step: after `after` unacknowledged, tell `users`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// How long after the problem was first told.
    pub after: Duration,
    /// Who is told then (user names; each on the channels they chose).
    pub users: Vec<String>,
}

/// A group's escalation steps, by rising `after`.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    /// Whose problems.
    pub group: Group,
    /// The steps.
    pub steps: Arc<[Step]>,
}

/// A step that is due: tell `users` about the problem `key`.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    /// The host and path (`None`: the host itself).
    pub key: (String, Option<String>),
    /// Which step (1-based).
    pub step: usize,
    /// The step's time.
    pub after: Duration,
    /// Who.
    pub users: Vec<String>,
    /// When the problem was first told.
    pub since: Timestamp,
}

#[derive(Debug)]
struct Open {
    since_mono: Mono,
    since: Timestamp,
    steps: Arc<[Step]>,
    /// Steps fired so far.
    fired: usize,
}

/// The open problems that have steps ahead.
#[derive(Debug, Default)]
pub struct Escalations {
    open: HashMap<(String, Option<String>), Open>,
    due: BTreeSet<(Mono, (String, Option<String>))>,
}

impl Escalations {
    /// The steps for a host declaring `labels`, from the first group that holds it.
    pub fn steps_for(
        settings: &[Escalation],
        host: &str,
        labels: Option<&Labels>,
    ) -> Option<Arc<[Step]>> {
        settings
            .iter()
            .find(|e| e.group.contains(host, labels))
            .map(|e| e.steps.clone())
    }

    /// A problem was told: its steps start counting (nothing when it is open already).
    pub fn opened(&mut self, key: (String, Option<String>), steps: Arc<[Step]>, now: Now) {
        if steps.is_empty() || self.open.contains_key(&key) {
            return;
        }
        let first = now.mono.plus(steps[0].after);
        self.due.insert((first, key.clone()));
        self.open.insert(
            key,
            Open {
                since_mono: now.mono,
                since: now.wall,
                steps,
                fired: 0,
            },
        );
    }

    /// The problem is over (told OK, forgotten): no more steps.
    pub fn closed(&mut self, key: &(String, Option<String>)) {
        if let Some(open) = self.open.remove(key)
            && let Some(step) = open.steps.get(open.fired)
        {
            self.due
                .remove(&(open.since_mono.plus(step.after), key.clone()));
        }
    }

    /// Closes every problem of `host` (dropped).
    pub fn close_host(&mut self, host: &str) {
        let keys: Vec<_> = self.open.keys().filter(|k| k.0 == host).cloned().collect();
        for key in keys {
            self.closed(&key);
        }
    }

    /// The steps due by `now`, each taken once; the next step of each is scheduled.
    pub fn due(&mut self, now: Now) -> Vec<Due> {
        let mut out = Vec::new();
        while let Some((at, _)) = self.due.first() {
            if *at > now.mono {
                break;
            }
            let Some((_, key)) = self.due.pop_first() else {
                break;
            };
            let Some(open) = self.open.get_mut(&key) else {
                continue;
            };
            let Some(step) = open.steps.get(open.fired).cloned() else {
                continue;
            };
            open.fired += 1;
            out.push(Due {
                key: key.clone(),
                step: open.fired,
                after: step.after,
                users: step.users,
                since: open.since,
            });
            match open.steps.get(open.fired) {
                Some(next) => {
                    self.due.insert((open.since_mono.plus(next.after), key));
                }
                None => {
                    self.open.remove(&key);
                }
            }
        }
        out
    }

    /// When the next step is due.
    pub fn next_deadline(&self) -> Option<Mono> {
        self.due.first().map(|(at, _)| *at)
    }
}

impl Policy {
    /// Tells the problems whose escalation step is due to that step's people, but for
    /// those `acked` says someone acknowledged (by whom): those are held, saying so.
    pub fn escalate_due(&mut self, now: Now, acked: impl Fn(&str, Option<&str>) -> Option<String>) {
        for due in self.escalations.due(now) {
            let by = acked(&due.key.0, due.key.1.as_deref());
            self.escalate(due, by, now);
        }
    }

    /// Tells a problem again to an escalation step's people (held while acknowledged,
    /// and like everything else while this daemon is a pair's standby).
    fn escalate(&mut self, due: Due, acked: Option<String>, now: Now) {
        let (host, path) = (due.key.0.as_str(), due.key.1.as_deref());
        let latest = self
            .hosts
            .get(host)
            .and_then(|h| match path {
                None => Some(&h.host),
                Some(p) => h.paths.get(p),
            })
            .and_then(|s| s.latest.clone());
        let Some(latest) = latest else {
            return;
        };
        let hold = match acked {
            Some(by) => Some(Reason::Acknowledged { by }),
            None => self.standby.clone(),
        };
        if let Some(reason) = hold {
            self.decide(host, path, "ESCALATED", Verdict::Held { reason }, now);
            return;
        }
        let n = Notification::Escalated(crate::model::EscalationNotice {
            host: host.to_owned(),
            path: path.map(str::to_owned),
            step: due.step,
            after: due.after,
            users: due.users,
            latest: Box::new(latest),
            at: now.wall,
        });
        self.decide(host, path, "ESCALATED", Verdict::Notified, now);
        self.out.push(Out::Notify(vec![n]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> Now {
        Now {
            wall: Timestamp(1_795_000_000_000 + s * 1000),
            mono: Mono(s * 1000),
        }
    }

    fn steps() -> Arc<[Step]> {
        Arc::from(vec![
            Step {
                after: Duration::from_secs(60),
                users: vec!["bob".into()],
            },
            Step {
                after: Duration::from_secs(300),
                users: vec!["carol".into()],
            },
        ])
    }

    #[test]
    fn each_step_fires_once_in_order_and_a_closed_problem_fires_none() {
        let mut e = Escalations::default();
        let key = ("web1".to_owned(), Some("cpu".to_owned()));
        e.opened(key.clone(), steps(), at(0));
        e.opened(key.clone(), steps(), at(30)); // told again: still counted from 0
        assert!(e.due(at(59)).is_empty());
        let first = e.due(at(60));
        assert_eq!(first.len(), 1);
        assert_eq!(
            (first[0].step, first[0].users.clone()),
            (1, vec!["bob".to_owned()])
        );
        assert!(e.due(at(120)).is_empty());
        assert_eq!(e.next_deadline(), Some(Mono(300_000)));
        let second = e.due(at(400));
        assert_eq!(
            (second[0].step, second[0].users.clone()),
            (2, vec!["carol".to_owned()])
        );
        assert!(e.due(at(10_000)).is_empty());
        assert_eq!(e.next_deadline(), None);

        let other = ("db1".to_owned(), None);
        e.opened(other.clone(), steps(), at(1000));
        e.closed(&other);
        assert!(e.due(at(5000)).is_empty());
        assert_eq!(e.next_deadline(), None);
    }
}
