//! Checks run from several vantage points: the hosts of a group each run the same plugin,
//! and the check's own state changes only when at least a quorum of them agree. A
//! vantage point that is itself not UP (DOWN, UNREACHABLE, never heard) does not count,
//! so one agent cut off from the target, or gone, pages nobody. Pure: the core feeds
//! each vantage point's answer and the hosts' states, and gets a notice when the
//! combined state changes.
//!
//! A check's notices are about the subject `check:NAME` (a colon is never in a host
//! name, so no host can be mistaken for it) at the path of its plugin. The per-host
//! alerts of the vantage points for that plugin are still evaluated and shown, but the
//! policy holds their notifications ([`crate::model::Reason::Vantage`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use crate::clock::Timestamp;
use crate::groups::{Group, Labels};
use crate::model::{AlertState, HostState, Level, Notice, NoticeKind};

/// The prefix that makes a check's name its alert subject.
pub const SUBJECT_PREFIX: &str = "check:";

/// One configured check: `plugin` (or one result of it, `nagios.check_http`) as run by
/// the hosts of `group`.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSpec {
    /// The check's name.
    pub name: String,
    /// The plugin whose reports are its answers, or a path under it.
    pub plugin: String,
    /// The vantage points: the hosts of this group.
    pub group: Group,
    /// How many counted vantage points must agree; `None`: a majority of the group's
    /// known members (or of those that answered, when more).
    pub quorum: Option<usize>,
    /// The leaf of the report that holds the answer's latency in milliseconds; `None`:
    /// the first of [`LATENCY_LEAVES`] the report has.
    pub latency: Option<String>,
}

/// Where a report's latency is looked for when a check names none.
pub const LATENCY_LEAVES: &[&str] = &[
    "latency_ms",
    "response_ms",
    "connect_ms",
    "handshake_ms",
    "time_ms",
];

impl CheckSpec {
    /// The alert subject of the check (`check:NAME`).
    pub fn subject(&self) -> String {
        format!("{SUBJECT_PREFIX}{}", self.name)
    }

    /// Whether `path` (an alert path of a host) is one of this check's answers.
    pub fn covers_path(&self, path: &str) -> bool {
        path == self.plugin
            || path
                .strip_prefix(self.plugin.as_str())
                .is_some_and(|rest| rest.starts_with('.'))
    }

    /// Whether a report of `plugin` from `host` (declaring `labels`) answers this check.
    pub fn answered_by(&self, host: &str, labels: Option<&Labels>, plugin: &str) -> bool {
        self.plugin.split('.').next() == Some(plugin) && self.group.contains(host, labels)
    }

    /// Whether the alert `path` of `host` is held because `host` is a vantage point.
    pub fn holds(&self, host: &str, labels: Option<&Labels>, path: &str) -> bool {
        self.covers_path(path) && self.group.contains(host, labels)
    }
}

/// One vantage point's latest answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// Its verdict: the plugin's own status or its worst alert under the check's path.
    pub level: Level,
    /// What it said (the plugin's message or the alert's text), if anything.
    pub detail: Option<String>,
    /// How long the check took there, in milliseconds, when the report says.
    pub latency_ms: Option<f64>,
    /// When it answered.
    pub at: Timestamp,
}

/// One vantage point as the result view shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VantageView {
    /// The host.
    pub host: String,
    /// Its own state.
    pub host_state: HostState,
    /// Whether its answer counts now (its host is UP).
    pub counted: bool,
    /// Its latest answer.
    #[serde(flatten)]
    pub answer: Answer,
}

/// One check as the API and the page show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckView {
    /// The check's name.
    pub name: String,
    /// Its plugin (or path under it).
    pub plugin: String,
    /// The group of its vantage points.
    pub group: String,
    /// How many counted vantage points must agree now.
    pub quorum: usize,
    /// The combined state.
    pub level: Level,
    /// When it last changed.
    pub since: Option<Timestamp>,
    /// Vantage points whose answers count now.
    pub counted: usize,
    /// Of those, how many agree with the combined state.
    pub agreeing: usize,
    /// Each vantage point that has answered, by host name.
    pub vantage: Vec<VantageView>,
}

/// The combined state of `levels` (the counted vantage points' answers) when at least
/// `quorum` of them agree: the worst of CRITICAL and WARNING that enough are at or
/// past, else OK when enough say OK, else UNKNOWN when enough say so. `None`: no
/// agreement, the check keeps its state.
pub fn combine(levels: &[Level], quorum: usize) -> Option<Level> {
    let quorum = quorum.max(1);
    let at_least = |floor: Level| {
        levels
            .iter()
            .filter(|l| **l != Level::Unknown && **l >= floor)
            .count()
    };
    if at_least(Level::Critical) >= quorum {
        return Some(Level::Critical);
    }
    if at_least(Level::Warning) >= quorum {
        return Some(Level::Warning);
    }
    [Level::Ok, Level::Unknown]
        .into_iter()
        .find(|&level| levels.iter().filter(|l| **l == level).count() >= quorum)
}

/// One check's state.
#[derive(Debug, Clone, Default)]
struct State {
    answers: BTreeMap<String, Answer>,
    level: Option<Level>,
    since: Option<Timestamp>,
    /// The summary of the answers when the state last changed.
    detail: Option<String>,
    /// The hosts the daemon knows that are in the check's group, answered or not: the
    /// M of "N of M", so the first vantage point to answer is not a majority of one.
    members: BTreeSet<String>,
}

/// Every configured check with its vantage points' answers and combined state.
#[derive(Debug, Default)]
pub struct Checks {
    specs: Arc<Vec<CheckSpec>>,
    states: BTreeMap<String, State>,
}

impl Checks {
    /// Takes the configured checks: a check kept under the same name, plugin and group
    /// keeps its answers and state; the others start afresh.
    pub fn configure(&mut self, specs: Arc<Vec<CheckSpec>>) {
        let old = std::mem::take(&mut self.states);
        let before = std::mem::replace(&mut self.specs, specs);
        for spec in self.specs.iter() {
            let same = before
                .iter()
                .find(|b| b.name == spec.name)
                .is_some_and(|b| b.plugin == spec.plugin && b.group == spec.group);
            let state = match old.get(&spec.name) {
                Some(s) if same => s.clone(),
                _ => State::default(),
            };
            self.states.insert(spec.name.clone(), state);
        }
    }

    /// Whether any check is configured.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// The configured checks.
    pub fn specs(&self) -> &Arc<Vec<CheckSpec>> {
        &self.specs
    }

    /// Records `host`'s answer to the check at `index` (of [`Checks::specs`]).
    pub fn answer(&mut self, index: usize, host: &str, answer: Answer) {
        let Some(spec) = self.specs.get(index) else {
            return;
        };
        if let Some(state) = self.states.get_mut(&spec.name) {
            state.answers.insert(host.to_owned(), answer);
        }
    }

    /// Forgets a host's answers and membership (the host was dropped).
    pub fn forget_host(&mut self, host: &str) {
        for state in self.states.values_mut() {
            state.answers.remove(host);
            state.members.remove(host);
        }
    }

    /// Notes whether `host`, declaring `labels`, is in each check's group (a host the
    /// daemon has just come to know, or whose labels changed, or every host after a
    /// reload).
    pub fn place(&mut self, host: &str, labels: Option<&Labels>) {
        for spec in self.specs.iter() {
            let Some(state) = self.states.get_mut(&spec.name) else {
                continue;
            };
            if spec.group.contains(host, labels) {
                if !state.members.contains(host) {
                    state.members.insert(host.to_owned());
                }
            } else {
                state.members.remove(host);
            }
        }
    }

    /// The combined state of the check at `index`, once it has one.
    pub fn level(&self, index: usize) -> Option<Level> {
        self.specs
            .get(index)
            .and_then(|s| self.states.get(&s.name))
            .and_then(|s| s.level)
    }

    /// The check at `index` as an alert state (its subject, its plugin's path), once it
    /// has combined.
    pub fn alert_state(&self, index: usize) -> Option<AlertState> {
        let spec = self.specs.get(index)?;
        let state = self.states.get(&spec.name)?;
        Some(AlertState {
            host: spec.subject(),
            path: spec.plugin.clone(),
            level: state.level?,
            since: state.since?,
            value: None,
            detail: state.detail.clone(),
            threshold: None,
            operator: None,
            last_notified: None,
            reminders: 0,
            held: None,
            ack: None,
        })
    }

    /// Every check not OK, as alert states.
    pub fn active(&self) -> Vec<AlertState> {
        (0..self.specs.len())
            .filter_map(|i| self.alert_state(i))
            .filter(|s| s.level != Level::Ok)
            .collect()
    }

    /// Whether `host` has answered the check at `index`.
    pub fn has_answer(&self, index: usize, host: &str) -> bool {
        self.specs
            .get(index)
            .and_then(|s| self.states.get(&s.name))
            .is_some_and(|s| s.answers.contains_key(host))
    }

    /// Combines the check at `index` at `at`, with each vantage point's host state from
    /// `state_of`; the notice to send when its combined state changed. A check's first
    /// state is OK without a notice; its first other state is raised from OK.
    pub fn evaluate(
        &mut self,
        index: usize,
        state_of: impl Fn(&str) -> Option<HostState>,
        at: Timestamp,
    ) -> Option<Notice> {
        let spec = self.specs.get(index)?;
        let state = self.states.get_mut(&spec.name)?;
        let counted: Vec<(&String, &Answer)> = state
            .answers
            .iter()
            .filter(|(host, _)| state_of(host) == Some(HostState::Up))
            .collect();
        let levels: Vec<Level> = counted.iter().map(|(_, a)| a.level).collect();
        let quorum = quorum(spec, state.known());
        let now = combine(&levels, quorum)?;
        let before = state.level.unwrap_or(Level::Ok);
        if state.level.is_some() && before == now {
            return None;
        }
        let first = state.level.is_none();
        state.level = Some(now);
        state.since = Some(at);
        let detail = summary(&counted, now, quorum);
        state.detail = Some(detail.clone());
        if first && now == Level::Ok {
            return None;
        }
        let kind = if now == Level::Ok {
            NoticeKind::Recovered
        } else if rank(now) > rank(before) {
            NoticeKind::Raised
        } else {
            NoticeKind::Lowered
        };
        Some(Notice {
            host: spec.subject(),
            path: spec.plugin.clone(),
            kind,
            from: before,
            to: now,
            value: None,
            detail: Some(detail),
            threshold: None,
            operator: None,
            since: at,
            at,
        })
    }

    /// Every check as the result view shows it.
    pub fn views(&self, state_of: impl Fn(&str) -> Option<HostState>) -> Vec<CheckView> {
        self.specs
            .iter()
            .filter_map(|spec| {
                let state = self.states.get(&spec.name)?;
                let level = state.level.unwrap_or(Level::Ok);
                let vantage: Vec<VantageView> = state
                    .answers
                    .iter()
                    .map(|(host, answer)| {
                        let host_state = state_of(host).unwrap_or(HostState::Unknown);
                        VantageView {
                            host: host.clone(),
                            host_state,
                            counted: host_state == HostState::Up,
                            answer: answer.clone(),
                        }
                    })
                    .collect();
                let counted = vantage.iter().filter(|v| v.counted).count();
                let agreeing = vantage
                    .iter()
                    .filter(|v| v.counted && agrees(v.answer.level, level))
                    .count();
                Some(CheckView {
                    name: spec.name.clone(),
                    plugin: spec.plugin.clone(),
                    group: spec.group.name.clone(),
                    quorum: quorum(spec, state.known()),
                    level,
                    since: state.since,
                    counted,
                    agreeing,
                    vantage,
                })
            })
            .collect()
    }
}

impl State {
    /// How many vantage points the check has: its group's known members, or those that
    /// answered when more (a member that left the group keeps its answer until it is
    /// dropped).
    fn known(&self) -> usize {
        self.members.len().max(self.answers.len())
    }
}

/// The quorum of `spec` with `known` vantage points.
fn quorum(spec: &CheckSpec, known: usize) -> usize {
    spec.quorum.unwrap_or(known / 2 + 1).max(1)
}

/// Whether an answer at `level` supports the combined state `combined`.
fn agrees(level: Level, combined: Level) -> bool {
    match combined {
        Level::Ok | Level::Unknown => level == combined,
        _ => level != Level::Unknown && level >= combined,
    }
}

fn rank(level: Level) -> u8 {
    match level {
        Level::Ok => 0,
        Level::Unknown => 1,
        Level::Warning => 2,
        Level::Critical => 3,
    }
}

/// `2 of 3 vantage points CRITICAL (quorum 2): probe1: refused; probe2: refused`.
fn summary(counted: &[(&String, &Answer)], level: Level, quorum: usize) -> String {
    let agreeing: Vec<String> = counted
        .iter()
        .filter(|(_, a)| agrees(a.level, level))
        .map(|(host, a)| match &a.detail {
            Some(d) if !d.is_empty() => format!("{host}: {d}"),
            _ => format!("{host}: {}", a.level.as_str()),
        })
        .collect();
    format!(
        "{} of {} vantage points {} (quorum {quorum}): {}",
        agreeing.len(),
        counted.len(),
        level.as_str(),
        agreeing.join("; ")
    )
}

#[cfg(test)]
mod tests;
