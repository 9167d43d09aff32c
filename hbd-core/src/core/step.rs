//! One step of the core: what host state and alerts made of one input (a datagram, a
//! tick, a command), passed to the policy, then handed to the shell as [`Action`]s.

use super::acks::Ended;
use super::{Action, Core, EventKind};
use crate::clock::Now;
use crate::model::NoticeKind;
use crate::model::{Event, Notice};
use crate::policy::Out;

/// What one input changed, on its way from host state and alerts to the policy.
#[derive(Debug, Default)]
pub(super) struct Step {
    /// What happened to hosts.
    pub(super) events: Vec<Event>,
    /// Alert changes and reminders.
    pub(super) notices: Vec<Notice>,
    /// Checks run from several vantage points whose combined state changed, as alert
    /// states for the live stream.
    pub(super) checks: Vec<crate::model::AlertState>,
}

impl Core {
    /// Ends a step: the policy sees its events and notices, then they, the alert paths
    /// that changed, and what the policy decided are appended to `out`, in that order.
    #[inline]
    pub(super) fn finish(&mut self, mut step: Step, now: Now, out: &mut Vec<Action>) {
        self.recheck_vantage(now, &mut step);
        for e in &step.events {
            self.policy.on_event(e, now);
            if !self.acks.is_empty() {
                self.end_host_acks(e, out);
            }
        }
        for n in &step.notices {
            if !self.acks.is_empty() {
                if n.kind == NoticeKind::Reminder
                    && let Some(ack) = self.acks.get(&n.host, Some(&n.path))
                {
                    let by = ack.by.clone();
                    self.policy.acknowledged_reminder(n, &by, now);
                    continue;
                }
                if n.kind != NoticeKind::Reminder {
                    self.end_ack(&n.host, Some(&n.path), Ended::Changed, out);
                }
            }
            let pending = self.pending_for(&n.host, &n.path);
            self.policy.on_notice(n, pending, now);
        }
        out.extend(step.events.into_iter().map(Action::Event));
        out.extend(step.notices.into_iter().map(Action::Alert));
        for (host, path, mut state) in self.alerts.take_changed() {
            if let Some(s) = &mut state {
                s.ack = self.acks.get(&host, Some(&path)).cloned();
            }
            out.push(Action::AlertChanged { host, path, state });
        }
        for state in step.checks {
            out.push(Action::AlertChanged {
                host: state.host.clone(),
                path: state.path.clone(),
                state: Some(state),
            });
        }
        out.extend(self.policy.take().into_iter().map(|o| match o {
            Out::Notify(n) => Action::Notify(n),
            Out::Decision(d) => Action::Decision(d),
        }));
    }
}

impl Core {
    /// Ends the acknowledgement on `host`'s `path` (or the host), if any, saying why.
    pub(super) fn end_ack(
        &mut self,
        host: &str,
        path: Option<&str>,
        why: Ended,
        out: &mut Vec<Action>,
    ) {
        let subject = (host.to_owned(), path.map(str::to_owned));
        if self.acks.remove(&subject).is_some() {
            out.push(Action::Acknowledged {
                host: subject.0,
                path: subject.1,
                ack: None,
                ended: Some(why),
            });
        }
    }

    /// A host back UP ends the acknowledgement of its DOWN; a dropped host ends all of
    /// its acknowledgements.
    fn end_host_acks(&mut self, e: &crate::model::Event, out: &mut Vec<Action>) {
        match e.kind {
            EventKind::Up { .. } => self.end_ack(&e.host, None, Ended::Changed, out),
            EventKind::Dropped => {
                for (host, path) in self.acks.of_host(&e.host) {
                    self.end_ack(&host, path.as_deref(), Ended::Gone, out);
                }
            }
            _ => {}
        }
    }
}
