//! The core's side of the alert policy ([`crate::policy`]): passing host events and alert
//! notices through it, what it holds, and what the store gives back at start.

use std::time::Duration;

use super::step::Step;
use super::{Action, Core, EventKind, HostState};
use crate::alerting::rules::display_path;
use crate::clock::Now;
use crate::model::{AlertState, Level, Notice, Notification};
use crate::policy::Reason;
use crate::policy::silence::Silence;
use crate::policy::storm::StormRecord;

impl Core {
    /// Whether this daemon is an HA pair's standby (it tells nobody, sends no commands
    /// and writes no DNS records).
    pub fn is_standby(&self) -> bool {
        self.policy.is_standby()
    }

    /// This daemon's part in an HA pair: `standby` (a [`Reason::Standby`]) holds every
    /// message and stops commands to agents; `None` (it leads, or fails open) tells
    /// whatever differs from what was last told, after taking over `told`, the pair's
    /// shared record, when given.
    pub fn set_standby(
        &mut self,
        standby: Option<Reason>,
        told: Option<Vec<(String, String, Level)>>,
        now: Now,
        out: &mut Vec<Action>,
    ) {
        if let Some(told) = told {
            self.policy.adopt_told(told);
        }
        self.policy.set_standby(standby, now);
        self.finish(Step::default(), now, out);
    }

    /// Rows of the pair's record the other daemon wrote while this one leads (its
    /// tellings while coordination was down): taken as told, and whatever differs now is
    /// told.
    pub fn merge_told(
        &mut self,
        told: Vec<(String, String, Level)>,
        now: Now,
        out: &mut Vec<Action>,
    ) {
        self.policy.merge_told(told, now);
        self.finish(Step::default(), now, out);
    }

    /// The `for:` of the rule behind a shown alert path (zero for none).
    pub(super) fn pending_for(&self, host: &str, path: &str) -> Duration {
        self.rules_for(host)
            .iter()
            .find(|(k, _)| display_path(k) == path)
            .map(|(_, r)| r.pending)
            .unwrap_or_default()
    }

    /// Each state with why its notifications are held at `now`, if they are: its
    /// change waits out a hold, or a silence, window or parent would hold its reminders.
    pub(super) fn with_holds(&self, mut states: Vec<AlertState>, now: Now) -> Vec<AlertState> {
        for s in &mut states {
            s.held = self.policy.held_now(&s.host, Some(&s.path), now);
            s.ack = self.acks.get(&s.host, Some(&s.path)).cloned();
        }
        states
    }

    /// Every silence, newest first.
    pub fn silences(&self) -> Vec<Silence> {
        self.policy.silences()
    }

    /// The latest storm groups, newest first.
    pub fn storms(&self) -> Vec<StormRecord> {
        self.policy.storms()
    }

    /// Why notifications about a host (`path: None`) or one of its alerts are held now.
    pub fn hold_of(&self, host: &str, path: Option<&str>) -> Option<Reason> {
        self.policy.hold_of(host, path).cloned()
    }

    /// Puts back the silences and the states last told, read from the store (after
    /// [`Core::restore`]). A stored alert or DOWN host without a told record (written by
    /// a daemon before the policy) counts as told.
    pub fn restore_policy(&mut self, silences: Vec<Silence>, told: Vec<(String, String, Level)>) {
        for s in self.alerts.all() {
            let latest = Notice {
                host: s.host.clone(),
                path: s.path.clone(),
                kind: crate::model::NoticeKind::Raised,
                from: s.level,
                to: s.level,
                value: s.value,
                detail: s.detail.clone(),
                threshold: s.threshold,
                operator: s.operator,
                since: s.since,
                at: s.since,
            };
            let latest = Some(Notification::Alert(latest));
            self.policy.assume(&s.host, Some(&s.path), s.level, latest);
        }
        for host in self.hosts.iter() {
            if host.state == HostState::Down {
                let silent_for = host
                    .last_seen
                    .map(|seen| host.state_since.since(seen))
                    .unwrap_or_default();
                let down = crate::model::Event {
                    host: host.name.clone(),
                    at: host.state_since,
                    kind: EventKind::Down {
                        silent_for_s: silent_for,
                    },
                };
                let latest = Some(Notification::Host(down));
                self.policy
                    .assume(&host.name, None, Level::Critical, latest);
            }
        }
        self.policy.restore(silences, told);
    }
}
