//! The core's side of checks run from several vantage points ([`crate::vantage`]): a
//! vantage point's report becomes its answer, and a vantage point changing state (DOWN,
//! UNREACHABLE, back UP) makes the checks it answers combine again.

use hb_proto::PluginReport;

use super::step::Step;
use super::{Core, EventKind};
use crate::alerting::Level;
use crate::alerting::rules::lookup;
use crate::clock::Now;
use crate::vantage::{Answer, CheckSpec, CheckView, LATENCY_LEAVES};

/// An alert path a report just evaluated, with its level and text.
pub(super) type Seen = (String, Level, Option<String>);

impl Core {
    /// Records `report` as the answer of every check its host is a vantage point of,
    /// from what its evaluation saw (`seen`), and combines those checks.
    pub(super) fn answer_checks(
        &mut self,
        report: &PluginReport,
        seen: &[Seen],
        now: Now,
        step: &mut Step,
    ) {
        let labels = self.hosts.get(&report.name).and_then(|h| h.labels.clone());
        let specs = self.checks.specs().clone();
        for (index, spec) in specs.iter().enumerate() {
            if !spec.answered_by(&report.name, labels.as_deref(), &report.plugin) {
                continue;
            }
            let Some(answer) = answer_of(spec, report, seen, now) else {
                continue;
            };
            self.checks.answer(index, &report.name, answer);
            self.combine_check(index, spec, now, step);
        }
    }

    /// Notes which checks' groups every known host is in (after a reload or a
    /// restore).
    pub(super) fn place_all(&mut self) {
        if self.checks.is_empty() {
            return;
        }
        for host in self.hosts.iter() {
            self.checks.place(&host.name, host.labels.as_deref());
        }
    }

    /// Combines the checks whose vantage points this step's events changed; a host
    /// heard for the first time is placed in the checks' groups.
    pub(super) fn recheck_vantage(&mut self, now: Now, step: &mut Step) {
        if self.checks.is_empty() {
            return;
        }
        for e in &step.events {
            if matches!(e.kind, EventKind::NewHost) {
                let labels = self.hosts.get(&e.host).and_then(|h| h.labels.clone());
                self.checks.place(&e.host, labels.as_deref());
            }
        }
        let moved: Vec<String> = step
            .events
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    EventKind::Down { .. }
                        | EventKind::Unreachable { .. }
                        | EventKind::Up { .. }
                        | EventKind::Dropped
                )
            })
            .map(|e| e.host.clone())
            .collect();
        if moved.is_empty() {
            return;
        }
        let specs = self.checks.specs().clone();
        for (index, spec) in specs.iter().enumerate() {
            if moved.iter().any(|h| self.checks.has_answer(index, h)) {
                for host in moved.iter().filter(|h| self.hosts.get(h).is_none()) {
                    self.checks.forget_host(host);
                }
                self.combine_check(index, spec, now, step);
            }
        }
    }

    /// Every check as the result view shows it, with only the vantage points
    /// `visible` admits listed (the counts are of all).
    pub fn checks(&self, visible: impl Fn(&str) -> bool) -> Vec<CheckView> {
        let mut views = self.checks.views(|h| self.hosts.get(h).map(|h| h.state));
        for view in &mut views {
            view.vantage.retain(|v| visible(&v.host));
        }
        views
    }

    fn combine_check(&mut self, index: usize, spec: &CheckSpec, now: Now, step: &mut Step) {
        let hosts = &self.hosts;
        let notice = self
            .checks
            .evaluate(index, |h| hosts.get(h).map(|h| h.state), now.wall);
        let subject = spec.subject();
        if let Some(level) = self.checks.level(index) {
            self.policy
                .observe(&subject, Some(&spec.plugin), level, now);
        }
        if let Some(notice) = notice {
            step.checks.extend(self.checks.alert_state(index));
            step.notices.push(notice);
        }
    }
}

/// The answer `report` gives to `spec`: the plugin's own status (for a check of the
/// whole plugin) or the worst level of the alert paths under the check's path, with the
/// plugin's message or that path's text, and the latency the report states. `None`
/// when the report says nothing about the check (another Nagios check's report).
fn answer_of(spec: &CheckSpec, report: &PluginReport, seen: &[Seen], now: Now) -> Option<Answer> {
    let own = (spec.plugin == report.plugin)
        .then_some(report.status)
        .flatten()
        .map(|s| match s {
            hb_proto::Status::Ok => Level::Ok,
            hb_proto::Status::Warning => Level::Warning,
            hb_proto::Status::Critical => Level::Critical,
            hb_proto::Status::Unknown => Level::Unknown,
        });
    let worst = seen
        .iter()
        .filter(|(path, _, _)| spec.covers_path(path))
        .max_by_key(|(_, level, _)| severity(*level));
    let level = match (own, worst) {
        (None, None) => return None,
        (Some(l), None) => l,
        (None, Some((_, l, _))) => *l,
        (Some(a), Some((_, b, _))) => {
            if severity(*b) > severity(a) {
                *b
            } else {
                a
            }
        }
    };
    let message = ["message", "error"]
        .iter()
        .find_map(|k| report.data.get(*k).and_then(|t| t.as_str()))
        .filter(|_| spec.plugin == report.plugin)
        .map(str::to_owned);
    let detail = message.or_else(|| worst.and_then(|(_, _, d)| d.clone()));
    // The check's path below the plugin (a Nagios check's name), then the leaf.
    let base: Vec<String> = spec.plugin.split('.').skip(1).map(str::to_owned).collect();
    let latency_ms = match &spec.latency {
        Some(leaf) => at(report, &base, leaf),
        None => LATENCY_LEAVES
            .iter()
            .find_map(|leaf| at(report, &base, leaf)),
    };
    Some(Answer {
        level,
        detail,
        latency_ms,
        at: now.wall,
    })
}

fn at(report: &PluginReport, base: &[String], leaf: &str) -> Option<f64> {
    let mut keys = base.to_vec();
    keys.extend(leaf.split('.').map(str::to_owned));
    lookup(&report.data, &keys)
}

/// UNKNOWN below WARNING: a vantage point that could not decide is no worse news than
/// one that says WARNING.
fn severity(level: Level) -> u8 {
    match level {
        Level::Ok => 0,
        Level::Unknown => 1,
        Level::Warning => 2,
        Level::Critical => 3,
    }
}
