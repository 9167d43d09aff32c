//! One step of the core: what host state and alerts made of one input (a datagram, a
//! tick, a command), passed to the policy, then handed to the shell as [`Action`]s.

use super::{Action, Core};
use crate::clock::Now;
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
        }
        for n in &step.notices {
            let pending = self.pending_for(&n.host, &n.path);
            self.policy.on_notice(n, pending, now);
        }
        out.extend(step.events.into_iter().map(Action::Event));
        out.extend(step.notices.into_iter().map(Action::Alert));
        for (host, path, state) in self.alerts.take_changed() {
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
