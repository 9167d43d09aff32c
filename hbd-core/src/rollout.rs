//! Staged rollout of what a group gives its members (its signed plugins and collectors'
//! settings, `groups.NAME.rollout`): a change goes first to canaries, and on to the rest
//! in waves only while every host of the stage stays healthy for `healthy_for` of its
//! intervals: it applied the new set (its `managed_plugins` report names the digest and
//! is OK), each plugin of the new set reported without an error (no trap, no timeout),
//! and it is not DOWN. An unhealthy canary rolls the canaries back and stops the
//! rollout; an unhealthy host of a later wave pauses it. Operators pause, resume and
//! abort (everyone back to the old set).
//!
//! Pure: the shell passes what it sees of each member and the time, and acts on the
//! events; the [`Split`] says which members run the new set, and the plan reads it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use hb_artifact::desired::DesiredSet;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

/// Which members are the canaries.
#[derive(Debug, Clone, PartialEq)]
pub enum Canaries {
    /// These hosts (those of them that are members).
    Hosts(Vec<String>),
    /// The first this many members, by name.
    Count(usize),
    /// This share of the members (percent, rounded up), the first by name.
    Percent(u8),
}

/// How a group rolls out a change.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutSettings {
    /// The first stage.
    pub canaries: Canaries,
    /// Intervals each stage's hosts stay healthy before the next stage starts.
    pub healthy_for: u32,
    /// The waves after the canaries: the share of all members on the new set after
    /// each, percent, rising; the last is 100.
    pub waves: Vec<u8>,
}

/// Where a rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Moving on as its stages stay healthy.
    Running,
    /// Stopped by an operator or by an unhealthy host of a wave; the hosts on the new
    /// set stay on it.
    Paused,
    /// Every member runs the new set.
    Done,
    /// A canary was unhealthy: every member is back on the old set.
    RolledBack,
    /// Stopped by an operator: every member is back on the old set.
    Aborted,
}

/// Which of a group's members run the new set; the plan reads it. Kept in the store, so
/// a restart does not hand the change to every member at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// What the members ran before.
    pub from: DesiredSet,
    /// The hosts that run the new set (everyone once `Done`).
    pub on_new: BTreeSet<String>,
    /// Where it stands.
    pub state: State,
    /// When the change it rolls out was put in force: a later change starts another.
    pub started: Timestamp,
}

impl Split {
    /// Whether `host` runs the new set.
    pub fn runs_new(&self, host: &str) -> bool {
        match self.state {
            State::Done => true,
            State::RolledBack | State::Aborted => false,
            State::Running | State::Paused => self.on_new.contains(host),
        }
    }
}

/// What the shell sees of one member.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Its name.
    pub host: String,
    /// Not DOWN.
    pub up: bool,
    /// Its heartbeat interval, seconds.
    pub interval_s: f64,
    /// The digest it runs when on the new set.
    pub wanted: String,
    /// Its latest `managed_plugins` report: the digest it applied, whether the report
    /// is OK, its message, and when it came.
    pub applied: Option<(String, bool, String, Timestamp)>,
    /// The latest report of each plugin of the new set: its error (a trap, a timeout:
    /// an `UNKNOWN` with its reason), and when it came.
    pub reports: BTreeMap<String, (Option<String>, Timestamp)>,
}

/// What a step did, for the log, the record and the people told.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// These hosts now run the new set.
    Promoted {
        /// 0: the canaries; then each wave.
        stage: usize,
        /// The hosts.
        hosts: Vec<String>,
    },
    /// A canary was unhealthy: everyone is back on the old set.
    RolledBack {
        /// The canary.
        host: String,
        /// Why.
        reason: String,
    },
    /// A host of a wave was unhealthy: the rollout waits for an operator.
    Paused {
        /// The host.
        host: String,
        /// Why.
        reason: String,
    },
    /// Every member runs the new set.
    Done,
}

/// One group's rollout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rollout {
    /// The group.
    pub group: String,
    /// Which members run the new set.
    pub split: Split,
    /// The current stage: 0 the canaries, then each wave.
    pub stage: usize,
    /// The current stage's hosts.
    pub stage_hosts: Vec<String>,
    /// Why it stopped, when it did.
    pub note: Option<String>,
    /// The host the note is about, when it names one.
    #[serde(skip)]
    note_host: Option<String>,
    /// When it started.
    pub started: Timestamp,
    #[serde(skip)]
    settings: RolloutSettings,
    /// When the stage started.
    #[serde(skip)]
    stage_started: Timestamp,
    /// When each host of the stage was first seen running the new set.
    #[serde(skip)]
    applied_at: BTreeMap<String, Timestamp>,
}

/// Time a host has to apply the new set: this many intervals, plus a minute to fetch.
const APPLY_INTERVALS: f64 = 2.0;

impl Rollout {
    /// A rollout of `group` from `from`, starting at the next step.
    pub fn new(
        group: &str,
        settings: RolloutSettings,
        from: DesiredSet,
        now: Timestamp,
    ) -> Rollout {
        Rollout {
            group: group.to_owned(),
            split: Split {
                from,
                on_new: BTreeSet::new(),
                state: State::Running,
                started: now,
            },
            stage: 0,
            stage_hosts: Vec::new(),
            note: None,
            note_host: None,
            started: now,
            settings,
            stage_started: now,
            applied_at: BTreeMap::new(),
        }
    }

    /// The settings it runs by.
    pub fn settings(&self) -> &RolloutSettings {
        &self.settings
    }

    /// What someone who sees only the hosts `sees` admits is shown of it: those of its
    /// hosts, and why it stopped only when that names none of the others.
    pub fn as_seen_by(&self, sees: impl Fn(&str) -> bool) -> Rollout {
        let mut shown = self.clone();
        shown.split.on_new.retain(|h| sees(h));
        shown.stage_hosts.retain(|h| sees(h));
        shown.applied_at.retain(|h, _| sees(h));
        if shown.note_host.as_deref().is_some_and(|h| !sees(h)) {
            shown.note = Some("stopped: a host you cannot see was unhealthy".to_owned());
            shown.note_host = None;
        }
        shown
    }

    /// Takes in what the members look like at `now` (sorted by name), `new_plugins` the
    /// plugins of the new set; moves on, rolls back or pauses.
    pub fn step(
        &mut self,
        members: &[Member],
        new_plugins: &[String],
        now: Timestamp,
    ) -> Vec<Event> {
        if self.split.state != State::Running || members.is_empty() {
            return Vec::new();
        }
        if self.stage_hosts.is_empty() && self.stage == 0 {
            let canaries = self.canaries(members);
            return vec![self.promote(canaries, now)];
        }
        // By name: a wave holds thousands of a group's hosts, each looked up here once.
        let by_name: HashMap<&str, &Member> =
            members.iter().map(|m| (m.host.as_str(), m)).collect();
        let mut healthy = true;
        let mut bad = None;
        let stage_hosts = std::mem::take(&mut self.stage_hosts);
        for host in &stage_hosts {
            let Some(m) = by_name.get(host.as_str()) else {
                continue; // no longer a member: nothing to wait for
            };
            match self.health(m, new_plugins, now) {
                Health::Good => {}
                Health::Waiting => healthy = false,
                Health::Bad(reason) => {
                    bad = Some((host.clone(), reason));
                    break;
                }
            }
        }
        self.stage_hosts = stage_hosts;
        if let Some((host, reason)) = bad {
            return vec![self.stop(host, reason)];
        }
        if !healthy {
            return Vec::new();
        }
        self.next_wave(members, now)
    }

    fn canaries(&self, members: &[Member]) -> Vec<String> {
        let chosen: Vec<String> = match &self.settings.canaries {
            Canaries::Hosts(hosts) => members
                .iter()
                .filter(|m| hosts.contains(&m.host))
                .map(|m| m.host.clone())
                .collect(),
            Canaries::Count(n) => members.iter().take(*n).map(|m| m.host.clone()).collect(),
            Canaries::Percent(p) => {
                let n = (members.len() * usize::from(*p)).div_ceil(100);
                members.iter().take(n).map(|m| m.host.clone()).collect()
            }
        };
        if chosen.is_empty() {
            // Always at least one canary.
            members.iter().take(1).map(|m| m.host.clone()).collect()
        } else {
            chosen
        }
    }

    fn promote(&mut self, hosts: Vec<String>, now: Timestamp) -> Event {
        self.split.on_new.extend(hosts.iter().cloned());
        self.stage_hosts = hosts.clone();
        self.stage_started = now;
        self.applied_at.clear();
        Event::Promoted {
            stage: self.stage,
            hosts,
        }
    }

    fn next_wave(&mut self, members: &[Member], now: Timestamp) -> Vec<Event> {
        let left: Vec<&Member> = members
            .iter()
            .filter(|m| !self.split.on_new.contains(&m.host))
            .collect();
        let mut wave = self.stage; // waves[stage] comes after stage `stage`
        while let Some(&percent) = self.settings.waves.get(wave) {
            let target = (members.len() * usize::from(percent)).div_ceil(100);
            let have = members
                .iter()
                .filter(|m| self.split.on_new.contains(&m.host))
                .count();
            if target > have {
                let hosts: Vec<String> = left
                    .iter()
                    .take(target - have)
                    .map(|m| m.host.clone())
                    .collect();
                self.stage = wave + 1;
                return vec![self.promote(hosts, now)];
            }
            wave += 1;
        }
        if left.is_empty() || self.settings.waves.last().is_none_or(|&p| p >= 100) {
            self.split.state = State::Done;
            self.split.on_new = members.iter().map(|m| m.host.clone()).collect();
            self.stage_hosts.clear();
            return vec![Event::Done];
        }
        Vec::new()
    }

    fn health(&mut self, m: &Member, new_plugins: &[String], now: Timestamp) -> Health {
        if !m.up {
            return Health::Bad(format!("{} is DOWN", m.host));
        }
        let interval = m.interval_s.max(1.0);
        match &m.applied {
            Some((digest, ok, message, at)) if *digest == m.wanted => {
                if !ok {
                    return Health::Bad(format!("{}: {message}", m.host));
                }
                self.applied_at.entry(m.host.clone()).or_insert(*at);
            }
            Some((_, false, message, at)) if *at > self.stage_started => {
                return Health::Bad(format!("{} refused the new set: {message}", m.host));
            }
            _ => {}
        }
        let Some(&applied) = self.applied_at.get(&m.host) else {
            let limit = interval * (APPLY_INTERVALS + f64::from(self.settings.healthy_for)) + 60.0;
            if now.since(self.stage_started).as_secs_f64() > limit {
                return Health::Bad(format!(
                    "{} did not apply the new set within {limit:.0} s",
                    m.host
                ));
            }
            return Health::Waiting;
        };
        let mut silent = None;
        for plugin in new_plugins {
            match m.reports.get(plugin) {
                Some((Some(error), at)) if *at >= applied => {
                    return Health::Bad(format!("{}: {plugin}: {error}", m.host));
                }
                Some((None, at)) if *at >= applied => {}
                _ => silent = silent.or(Some(plugin)),
            }
        }
        let all_reported = silent.is_none();
        if let Some(plugin) = silent {
            // A plugin that loaded but never reports is not healthy either.
            let limit = interval * (APPLY_INTERVALS + f64::from(self.settings.healthy_for)) + 60.0;
            if now.since(applied).as_secs_f64() > limit {
                return Health::Bad(format!(
                    "{}: {plugin} has not reported within {limit:.0} s of the new set",
                    m.host
                ));
            }
        }
        let long_enough =
            now.since(applied).as_secs_f64() >= interval * f64::from(self.settings.healthy_for);
        if all_reported && long_enough {
            Health::Good
        } else {
            Health::Waiting
        }
    }

    fn stop(&mut self, host: String, reason: String) -> Event {
        self.note = Some(reason.clone());
        self.note_host = Some(host.clone());
        if self.stage == 0 {
            self.split.state = State::RolledBack;
            self.split.on_new.clear();
            Event::RolledBack { host, reason }
        } else {
            self.split.state = State::Paused;
            Event::Paused { host, reason }
        }
    }

    /// An operator pauses it.
    pub fn pause(&mut self, by: &str) -> bool {
        if self.split.state != State::Running {
            return false;
        }
        self.split.state = State::Paused;
        self.note = Some(format!("paused by {by}"));
        self.note_host = None;
        true
    }

    /// An operator resumes it: the current stage is watched again from `now`.
    pub fn resume(&mut self, now: Timestamp) -> bool {
        if self.split.state != State::Paused {
            return false;
        }
        self.split.state = State::Running;
        self.note = None;
        self.note_host = None;
        self.stage_started = now;
        self.applied_at.clear();
        true
    }

    /// An operator aborts it: everyone back on the old set.
    pub fn abort(&mut self, by: &str) -> bool {
        if !matches!(self.split.state, State::Running | State::Paused) {
            return false;
        }
        self.split.state = State::Aborted;
        self.split.on_new.clear();
        self.note = Some(format!("aborted by {by}"));
        self.note_host = None;
        true
    }
}

enum Health {
    Good,
    Waiting,
    Bad(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: f64) -> Timestamp {
        Timestamp::from_secs_f64(1_764_000_000.0 + s)
    }

    const NEW: &str = "new-digest";

    /// `n` members, all UP, every 10 s, none applied yet.
    fn members(n: usize) -> Vec<Member> {
        (0..n)
            .map(|i| Member {
                host: format!("web{i:02}"),
                up: true,
                interval_s: 10.0,
                wanted: NEW.into(),
                applied: None,
                reports: BTreeMap::new(),
            })
            .collect()
    }

    /// `host` applied the new set at `t` and its plugin reported fine at `t`.
    fn healthy(ms: &mut [Member], host: &str, t: f64) {
        let m = ms.iter_mut().find(|m| m.host == host).unwrap();
        m.applied = Some((
            NEW.into(),
            true,
            "1 managed plugin(s) applied".into(),
            at(t),
        ));
        m.reports.insert("log_freshness".into(), (None, at(t)));
    }

    fn settings() -> RolloutSettings {
        RolloutSettings {
            canaries: Canaries::Count(1),
            healthy_for: 2,
            waves: vec![50, 100],
        }
    }

    fn plugins() -> Vec<String> {
        vec!["log_freshness".into()]
    }

    #[test]
    fn a_healthy_rollout_goes_canary_then_waves_then_done() {
        let mut r = Rollout::new("web", settings(), DesiredSet::default(), at(0.0));
        let mut ms = members(4);
        // (time, what happened before the step, the events)
        assert_eq!(
            r.step(&ms, &plugins(), at(0.0)),
            [Event::Promoted {
                stage: 0,
                hosts: vec!["web00".into()]
            }]
        );
        assert!(r.split.runs_new("web00") && !r.split.runs_new("web01"));
        assert_eq!(r.step(&ms, &plugins(), at(5.0)), [], "not applied yet");
        healthy(&mut ms, "web00", 6.0);
        assert_eq!(
            r.step(&ms, &plugins(), at(20.0)),
            [],
            "healthy for 14 s of the 20"
        );
        assert_eq!(
            r.step(&ms, &plugins(), at(26.0)),
            [Event::Promoted {
                stage: 1,
                hosts: vec!["web01".into()]
            }],
            "50 % of 4 is 2: one more"
        );
        healthy(&mut ms, "web01", 30.0);
        assert_eq!(
            r.step(&ms, &plugins(), at(50.0)),
            [Event::Promoted {
                stage: 2,
                hosts: vec!["web02".into(), "web03".into()]
            }]
        );
        healthy(&mut ms, "web02", 52.0);
        healthy(&mut ms, "web03", 53.0);
        assert_eq!(r.step(&ms, &plugins(), at(73.0)), [Event::Done]);
        assert_eq!(r.split.state, State::Done);
        assert!(
            r.split.runs_new("web99"),
            "done: every member, new ones too"
        );
        assert_eq!(r.step(&ms, &plugins(), at(90.0)), []);
    }

    #[test]
    fn a_viewer_sees_only_the_hosts_they_may_and_no_note_naming_another() {
        let mut r = Rollout::new("web", settings(), DesiredSet::default(), at(0.0));
        let mut ms = members(4);
        r.step(&ms, &plugins(), at(0.0));
        healthy(&mut ms, "web00", 1.0);
        r.step(&ms, &plugins(), at(30.0));
        assert_eq!(r.stage_hosts, ["web01"]);
        ms[1].up = false;
        r.step(&ms, &plugins(), at(31.0));
        assert_eq!(r.split.state, State::Paused);
        // (who looks, on the new set, the stage's hosts, the note)
        type Case = (
            &'static str,
            fn(&str) -> bool,
            Vec<&'static str>,
            Vec<&'static str>,
            &'static str,
        );
        let cases: [Case; 3] = [
            (
                "everyone",
                |_| true,
                vec!["web00", "web01"],
                vec!["web01"],
                "web01 is DOWN",
            ),
            (
                "web00 only",
                |h| h == "web00",
                vec!["web00"],
                vec![],
                "stopped: a host you cannot see was unhealthy",
            ),
            (
                "web01 only",
                |h| h == "web01",
                vec!["web01"],
                vec!["web01"],
                "web01 is DOWN",
            ),
        ];
        for (who, sees, on_new, stage, note) in cases {
            let shown = r.as_seen_by(sees);
            assert_eq!(
                shown.split.on_new.iter().collect::<Vec<_>>(),
                on_new,
                "{who}"
            );
            assert_eq!(shown.stage_hosts, stage, "{who}");
            assert_eq!(shown.note.as_deref(), Some(note), "{who}");
            assert_eq!(shown.split.state, State::Paused, "{who}");
        }
        assert!(r.pause("ann") || r.split.state == State::Paused);
        r.resume(at(40.0));
        r.pause("ann");
        assert_eq!(
            r.as_seen_by(|_| false).note.as_deref(),
            Some("paused by ann"),
            "an operator's pause names no host"
        );
    }

    #[test]
    fn an_unhealthy_canary_rolls_the_canaries_back_and_a_wave_host_pauses() {
        // (what goes wrong with the canary, the reason given)
        type Spoil = fn(&mut Member);
        let cases: Vec<(&str, Spoil, &str)> = vec![
            (
                "its plugin traps",
                |m| {
                    m.reports.insert(
                        "log_freshness".into(),
                        (Some("wasm trap: unreachable".into()), at(8.0)),
                    );
                },
                "web00: log_freshness: wasm trap: unreachable",
            ),
            (
                "it refuses the set",
                |m| {
                    m.applied = Some((
                        "old".into(),
                        false,
                        "refused log_freshness 1.3.0: bad signature".into(),
                        at(3.0),
                    ));
                },
                "web00 refused the new set: refused log_freshness 1.3.0: bad signature",
            ),
            ("it goes DOWN", |m| m.up = false, "web00 is DOWN"),
        ];
        for (what, spoil, reason) in cases {
            let mut r = Rollout::new("web", settings(), DesiredSet::default(), at(0.0));
            let mut ms = members(3);
            r.step(&ms, &plugins(), at(0.0));
            healthy(&mut ms, "web00", 2.0);
            spoil(&mut ms[0]);
            assert_eq!(
                r.step(&ms, &plugins(), at(9.0)),
                [Event::RolledBack {
                    host: "web00".into(),
                    reason: reason.into()
                }],
                "{what}"
            );
            assert_eq!(r.split.state, State::RolledBack);
            assert!(!r.split.runs_new("web00"), "{what}: back on the old set");
            assert_eq!(r.step(&ms, &plugins(), at(30.0)), [], "{what}: stopped");
        }

        // Not applied in time: 2 + 2 intervals and a minute.
        let mut r = Rollout::new("web", settings(), DesiredSet::default(), at(0.0));
        let ms = members(3);
        r.step(&ms, &plugins(), at(0.0));
        assert_eq!(r.step(&ms, &plugins(), at(100.0)), []);
        assert!(matches!(
            &r.step(&ms, &plugins(), at(101.0))[..],
            [Event::RolledBack { reason, .. }] if reason == "web00 did not apply the new set within 100 s"
        ));

        // Applied, but its plugin never reports.
        let mut r = Rollout::new("web", settings(), DesiredSet::default(), at(0.0));
        let mut ms = members(3);
        r.step(&ms, &plugins(), at(0.0));
        ms[0].applied = Some((NEW.into(), true, "applied".into(), at(5.0)));
        assert_eq!(r.step(&ms, &plugins(), at(105.0)), []);
        assert!(matches!(
            &r.step(&ms, &plugins(), at(106.0))[..],
            [Event::RolledBack { reason, .. }] if reason == "web00: log_freshness has not reported within 100 s of the new set"
        ));

        // A wave's host: paused, the hosts on the new set stay.
        let mut r = Rollout::new("web", settings(), DesiredSet::default(), at(0.0));
        let mut ms = members(4);
        r.step(&ms, &plugins(), at(0.0));
        healthy(&mut ms, "web00", 1.0);
        r.step(&ms, &plugins(), at(25.0));
        ms[1].up = false;
        assert_eq!(
            r.step(&ms, &plugins(), at(30.0)),
            [Event::Paused {
                host: "web01".into(),
                reason: "web01 is DOWN".into()
            }]
        );
        assert!(r.split.runs_new("web01") && r.split.state == State::Paused);
        // Resumed once it is back: watched again from then.
        ms[1].up = true;
        healthy(&mut ms, "web01", 40.0);
        assert!(r.resume(at(40.0)));
        assert_eq!(r.step(&ms, &plugins(), at(45.0)), []);
        assert!(matches!(
            &r.step(&ms, &plugins(), at(61.0))[..],
            [Event::Promoted { stage: 2, .. }]
        ));
        // Aborted: everyone back.
        assert!(r.abort("ada"));
        assert!(!r.split.runs_new("web00"));
        assert_eq!(r.note.as_deref(), Some("aborted by ada"));
        assert!(!r.pause("ada") && !r.resume(at(70.0)));
    }

    #[test]
    fn canaries_by_name_and_at_least_one() {
        let ms = members(3);
        for (canaries, want) in [
            (
                Canaries::Hosts(vec!["web02".into(), "gone".into()]),
                vec!["web02"],
            ),
            (Canaries::Hosts(vec!["gone".into()]), vec!["web00"]),
            (Canaries::Count(0), vec!["web00"]),
            (Canaries::Count(2), vec!["web00", "web01"]),
            (Canaries::Percent(34), vec!["web00", "web01"]),
            (Canaries::Percent(1), vec!["web00"]),
        ] {
            let mut r = Rollout::new(
                "web",
                RolloutSettings {
                    canaries: canaries.clone(),
                    healthy_for: 1,
                    waves: vec![100],
                },
                DesiredSet::default(),
                at(0.0),
            );
            r.step(&ms, &[], at(0.0));
            assert_eq!(r.stage_hosts, want, "{canaries:?}");
        }
    }
}
