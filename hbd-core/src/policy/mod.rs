//! Who is told, and when: the pure step between what happened (host events and alert
//! notices from the core) and the notifier.
//!
//! Every subject (a host, or one alert path of a host) has a state now and the state
//! last told. A change is told at once unless something holds it: the host is
//! UNREACHABLE behind a DOWN parent, a silence or maintenance window covers it, it is
//! flapping, or its rule's pending period (`for:`) has not passed. Nothing is lost while
//! held: when the hold ends, a subject whose state differs from what was last told is
//! told then (a recovery included), and one that went back to it needs no message.
//! Messages that do go out pass through [`storm`] grouping. Every verdict is a
//! [`Decision`], which the engine journals and publishes. An HA pair's standby holds
//! everything (`standby.rs`), and the daemon taking over tells what its predecessor
//! did not.
//!
//! Like the core it never reads the clock: callers pass `now`.

pub mod escalate;
pub mod flap;
pub mod silence;
mod standby;
pub mod storm;
#[cfg(test)]
mod tests;
pub mod window;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Mono, Now, Timestamp};
pub use crate::model::{Decision, Reason, Verdict};
use crate::model::{Event, EventKind, FlapNotice, Labels, Level, Notice, NoticeKind, Notification};
use flap::{Flap, FlapChange, FlapSettings};
use silence::{Compiled, Silence};
use storm::{Storm, StormRecord, StormSettings};
use window::Window;

pub use standby::told_by;

/// The policy's settings, from the config.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Flap detection, if on.
    pub flapping: Option<FlapSettings>,
    /// Storm grouping (`threshold: 0`: off).
    pub storm: StormSettings,
    /// Maintenance windows.
    pub windows: Vec<Window>,
    /// Each host's threshold profiles (windows may name profiles).
    pub profiles: HashMap<String, Vec<String>>,
    /// Checks run from several vantage points: their vantage points' own alerts for
    /// the check's plugin are held (the check tells).
    pub checks: Arc<Vec<crate::vantage::CheckSpec>>,
    /// Each group's escalation steps, in the groups' name order.
    pub escalation: Vec<escalate::Escalation>,
}

/// What the policy asks the shell to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    /// Send these: one notification, or several as one grouped message.
    Notify(Vec<Notification>),
    /// Journal and publish a verdict.
    Decision(Decision),
}

/// Severity order: OK, UNKNOWN, WARNING, CRITICAL.
fn rank(level: Level) -> u8 {
    match level {
        Level::Ok => 0,
        Level::Unknown => 1,
        Level::Warning => 2,
        Level::Critical => 3,
    }
}

#[derive(Debug, Clone)]
struct Subject {
    /// The state last told.
    told: Level,
    /// The state now.
    current: Level,
    /// The latest notification that carried the state, to tell it late from.
    latest: Option<Notification>,
    /// Why `current` is not told, while it is not.
    hold: Option<Reason>,
    /// Pending period: fires at this time unless it recovers first.
    pending: Option<(Mono, Timestamp)>,
    /// Its entry in the policy's recheck schedule, while held with a known end.
    recheck_at: Option<Mono>,
    flap: Flap,
}

impl Default for Subject {
    fn default() -> Subject {
        Subject {
            told: Level::Ok,
            current: Level::Ok,
            latest: None,
            hold: None,
            pending: None,
            recheck_at: None,
            flap: Flap::default(),
        }
    }
}

impl Subject {
    /// Whether it says nothing a missing subject would not: told OK, OK now, nothing
    /// held, pending or remembered for flap detection.
    fn is_idle(&self) -> bool {
        self.told == Level::Ok
            && self.current == Level::Ok
            && self.hold.is_none()
            && self.pending.is_none()
            && self.recheck_at.is_none()
            && self.flap.is_idle()
    }
}

#[derive(Debug, Default)]
struct HostSubjects {
    host: Subject,
    paths: HashMap<String, Subject>,
    /// The DOWN parent while the host is UNREACHABLE.
    unreachable: Option<String>,
}

impl HostSubjects {
    /// Whether the host and all its paths are idle ([`Subject::is_idle`]).
    fn is_idle(&self) -> bool {
        self.host.is_idle() && self.paths.is_empty() && self.unreachable.is_none()
    }
}

type Key = (String, Option<String>);

/// Ended silences kept (for the list); the store keeps as many.
pub const ENDED_KEPT: usize = 200;

/// The policy state: every subject, the silences, the storm.
#[derive(Debug, Default)]
pub struct Policy {
    settings: Settings,
    hosts: HashMap<String, HostSubjects>,
    silences: Vec<Compiled>,
    /// Subjects held now.
    held: BTreeSet<Key>,
    /// When to look at a held subject again (its hold's end).
    recheck: BTreeSet<(Mono, Key)>,
    /// Told states changed since the store last took them: `(host, path or "", level)`.
    told_dirty: Vec<(String, String, Level)>,
    /// Silences added, changed or expired since the store last took them.
    silences_dirty: Vec<Silence>,
    storm: Storm,
    out: Vec<Out>,
    /// Set while this daemon is an HA pair's standby: everything is held.
    standby: Option<Reason>,
    /// The pair's record was adopted since held subjects were last looked at: the next
    /// [`Policy::set_standby`] looks at them even if the role's hold did not change.
    adopted: bool,
    /// One of an HA pair (a role was ever set): every subject is kept, idle or not,
    /// since taking over or merging the pair's record may need to tell a state from
    /// the notification that last carried it.
    paired: bool,
    /// The labels hosts declare, for windows that name label-defined groups (only hosts
    /// that declare some).
    labels: HashMap<String, Arc<Labels>>,
    /// Problems told that have escalation steps ahead.
    escalations: escalate::Escalations,
}

impl Policy {
    /// A policy with these settings and no subjects.
    pub fn new(settings: Settings) -> Policy {
        Policy {
            storm: Storm::new(settings.storm),
            settings,
            ..Policy::default()
        }
    }

    /// Takes the labels `host` declares now (windows may name groups defined by them).
    pub fn set_labels(&mut self, host: &str, labels: Option<Arc<Labels>>) {
        match labels {
            Some(l) => {
                self.labels.insert(host.to_owned(), l);
            }
            None => {
                self.labels.remove(host);
            }
        }
    }

    /// New settings (reload); held subjects are looked at again.
    pub fn reconfigure(&mut self, settings: Settings, now: Now) {
        self.storm.set(settings.storm);
        self.settings = settings;
        self.recheck_all(now);
    }

    /// Puts back what the store kept: silences and the states last told. A told state
    /// that differs from the state now is held until the next tick looks at it again.
    pub fn restore(&mut self, silences: Vec<Silence>, told: Vec<(String, String, Level)>) {
        for s in silences {
            match Compiled::new(s) {
                Ok(c) => self.silences.push(c),
                Err(e) => tracing::error!(error = %e, "stored silence left out"),
            }
        }
        for (host, path, level) in told {
            let path = (!path.is_empty()).then_some(path);
            let key = (host.clone(), path.clone());
            let s = self.subject(&host, path.as_deref());
            s.told = level;
            if s.current != s.told {
                s.recheck_at = Some(Mono(0));
                self.held.insert(key.clone());
                self.recheck.insert((Mono(0), key));
            }
        }
    }

    /// Sets a subject's state now, and as told, without telling anything (a stored
    /// alert, before the told states are restored over it); `latest` is what a late
    /// message about it is made from.
    pub fn assume(
        &mut self,
        host: &str,
        path: Option<&str>,
        level: Level,
        latest: Option<Notification>,
    ) {
        let s = self.subject(host, path);
        s.current = level;
        s.told = level;
        s.latest = latest;
    }

    fn subject(&mut self, host: &str, path: Option<&str>) -> &mut Subject {
        if !self.hosts.contains_key(host) {
            self.hosts.insert(host.to_owned(), HostSubjects::default());
        }
        // Invariant: inserted just above if missing.
        let h = self.hosts.get_mut(host).unwrap_or_else(|| unreachable!());
        match path {
            None => &mut h.host,
            Some(p) => {
                if !h.paths.contains_key(p) {
                    h.paths.insert(p.to_owned(), Subject::default());
                }
                h.paths.get_mut(p).unwrap_or_else(|| unreachable!())
            }
        }
    }

    /// Records one check's state for flap detection (a heartbeat, a missed deadline, an
    /// evaluated value). A start or stop of flapping is told (unless silenced), and a
    /// stop tells the state then if it is not the one last told.
    pub fn observe(&mut self, host: &str, path: Option<&str>, level: Level, now: Now) {
        let Some(settings) = self.settings.flapping else {
            return;
        };
        let change = self.subject(host, path).flap.record(rank(level), &settings);
        let Some(change) = change else {
            return;
        };
        let (started, percent) = match change {
            FlapChange::Started(p) => (true, p),
            FlapChange::Stopped(p) => (false, p),
        };
        let notice = Notification::Flapping(FlapNotice {
            host: host.to_owned(),
            path: path.map(str::to_owned),
            started,
            percent,
            at: now.wall,
        });
        self.offer_plain(host, path, notice, false, now);
        if !started {
            self.settle(&(host.to_owned(), path.map(str::to_owned)), None, now);
        }
    }

    /// Forgets `host`'s subject at `path` (and the host's, with no path left) once idle:
    /// a healthy fleet keeps no policy state, so a million UP hosts cost the policy
    /// nothing (an absent subject reads as told OK, OK now). Not in an HA pair, whose
    /// daemons keep every subject (`paired`).
    fn prune(&mut self, host: &str, path: Option<&str>) {
        if self.paired {
            return;
        }
        let Some(h) = self.hosts.get_mut(host) else {
            return;
        };
        if let Some(p) = path
            && h.paths.get(p).is_some_and(Subject::is_idle)
        {
            h.paths.remove(p);
        }
        if h.is_idle() {
            self.hosts.remove(host);
        }
    }

    /// Takes a host event from the core.
    pub fn on_event(&mut self, event: &Event, now: Now) {
        self.take_event(event, now);
        self.prune(&event.host, None);
    }

    fn take_event(&mut self, event: &Event, now: Now) {
        let host = event.host.as_str();
        let n = Notification::Host(event.clone());
        match &event.kind {
            EventKind::Down { .. } => {
                self.set_unreachable(host, None);
                self.offer_state(host, None, Level::Critical, n, Duration::ZERO, now);
            }
            EventKind::Up { .. } => {
                self.set_unreachable(host, None);
                self.offer_state(host, None, Level::Ok, n, Duration::ZERO, now);
            }
            EventKind::Unreachable { parent } => {
                self.set_unreachable(host, Some(parent.clone()));
                self.decide(
                    host,
                    None,
                    "UNREACHABLE",
                    Verdict::Held {
                        reason: Reason::Unreachable {
                            parent: parent.clone(),
                        },
                    },
                    now,
                );
            }
            EventKind::Dropped => self.forget(host),
            EventKind::NewHost
            | EventKind::Boot { .. }
            | EventKind::Message { .. }
            | EventKind::AddressChanged { .. }
            | EventKind::CommandFailed { .. }
            | EventKind::DnsFailed { .. }
            | EventKind::DnsWritten { .. } => self.offer_plain(host, None, n, false, now),
        }
    }

    /// Takes an alert notice from the core; `pending` is its rule's `for:` period.
    pub fn on_notice(&mut self, notice: &Notice, pending: Duration, now: Now) {
        let n = Notification::Alert(notice.clone());
        let path = Some(notice.path.as_str());
        match notice.kind {
            NoticeKind::Reminder => self.offer_plain(&notice.host, path, n, true, now),
            _ => self.offer_state(&notice.host, path, notice.to, n, pending, now),
        }
        self.prune(&notice.host, path);
    }

    /// A reminder of an acknowledged problem: not told; the verdict says who
    /// acknowledged it.
    pub fn acknowledged_reminder(&mut self, notice: &Notice, by: &str, now: Now) {
        let what = what(&Notification::Alert(notice.clone()));
        let reason = Reason::Acknowledged { by: by.to_owned() };
        self.decide(
            &notice.host,
            Some(&notice.path),
            &what,
            Verdict::Held { reason },
            now,
        );
    }

    fn set_unreachable(&mut self, host: &str, parent: Option<String>) {
        if let Some(h) = self.hosts.get_mut(host) {
            h.unreachable = parent;
        } else if parent.is_some() {
            self.hosts.insert(
                host.to_owned(),
                HostSubjects {
                    unreachable: parent,
                    ..HostSubjects::default()
                },
            );
        }
    }

    /// Forgets an alert path (cleared, or its rule is gone): it starts again from OK,
    /// told OK.
    pub fn forget_path(&mut self, host: &str, path: &str) {
        let key = (host.to_owned(), Some(path.to_owned()));
        self.escalations.closed(&key);
        let Some(h) = self.hosts.get_mut(host) else {
            return;
        };
        if let Some(s) = h.paths.remove(path) {
            if let Some(at) = s.recheck_at {
                self.recheck.remove(&(at, key.clone()));
            }
            if s.told != Level::Ok {
                self.told_dirty
                    .push((host.to_owned(), path.to_owned(), Level::Ok));
            }
        }
        self.held.remove(&key);
    }

    fn forget(&mut self, host: &str) {
        self.escalations.close_host(host);
        self.hosts.remove(host);
        self.held.retain(|(h, _)| h != host);
        self.recheck.retain(|(_, (h, _))| h != host);
    }

    /// A change of state: told unless held.
    fn offer_state(
        &mut self,
        host: &str,
        path: Option<&str>,
        level: Level,
        n: Notification,
        pending: Duration,
        now: Now,
    ) {
        let s = self.subject(host, path);
        s.current = level;
        s.latest = Some(n.clone());
        if rank(level) > rank(s.told) {
            if !pending.is_zero() && s.pending.is_none() {
                s.pending = Some((now.mono.plus(pending), now.wall.plus(pending)));
            }
        } else {
            s.pending = None;
        }
        self.settle(&(host.to_owned(), path.map(str::to_owned)), Some(n), now);
    }

    /// Something that is no state (a reminder, a boot, a message, flapping): told unless
    /// held, never told late.
    fn offer_plain(
        &mut self,
        host: &str,
        path: Option<&str>,
        n: Notification,
        state_holds: bool,
        now: Now,
    ) {
        let what = what(&n);
        if let Some((reason, _)) = self.hold_for(host, path, state_holds, now) {
            self.decide(host, path, &what, Verdict::Held { reason }, now);
            return;
        }
        self.send(host, path, &what, n, Verdict::Notified, now);
    }

    /// Looks at one subject: holds it, tells its state, or finds nothing to tell.
    fn settle(&mut self, key: &Key, fresh: Option<Notification>, now: Now) {
        let (host, path) = (key.0.as_str(), key.1.as_deref());
        let s = self.subject(host, path);
        // Back to what was last told: nothing to hold or say.
        let hold = if s.current == s.told {
            None
        } else {
            self.hold_for(host, path, true, now)
        };
        let s = self.subject(host, path);
        let label = fresh.as_ref().or(s.latest.as_ref()).map(what);
        if let Some((reason, until)) = hold {
            let changed = s.hold.as_ref() != Some(&reason);
            s.hold = Some(reason.clone());
            let old = std::mem::replace(&mut s.recheck_at, until);
            self.held.insert(key.clone());
            if old != until {
                if let Some(old) = old {
                    self.recheck.remove(&(old, key.clone()));
                }
                if let Some(until) = until {
                    self.recheck.insert((until, key.clone()));
                }
            }
            if fresh.is_some() || changed {
                let label = label.unwrap_or_default();
                self.decide(host, path, &label, Verdict::Held { reason }, now);
            }
            return;
        }
        let was_held = s.hold.take().is_some();
        let stale = s.recheck_at.take();
        let (told, current) = (s.told, s.current);
        let message = if current == told {
            None
        } else {
            s.told = current;
            match fresh {
                Some(ref n) if from_of(n) == Some(told) => Some(n.clone()),
                _ => s.latest.as_ref().and_then(|l| late(l, told, current, now)),
            }
        };
        self.held.remove(key);
        if let Some(at) = stale {
            self.recheck.remove(&(at, key.clone()));
        }
        if current == told {
            // Worth a verdict only when a hold ended; a change that never left what was
            // last told (a new host's first UP) is no news, and a flood of new hosts
            // must not double the journal and the live stream.
            if was_held {
                let label = label.unwrap_or_default();
                self.decide(host, path, &label, Verdict::Unchanged, now);
            }
            return;
        }
        self.told_dirty.push((
            host.to_owned(),
            path.unwrap_or_default().to_owned(),
            current,
        ));
        if current == Level::Ok {
            self.escalations.closed(key);
        } else if told == Level::Ok
            && let Some(steps) = escalate::Escalations::steps_for(
                &self.settings.escalation,
                host,
                self.labels.get(host).map(|l| &**l),
            )
        {
            self.escalations.opened(key.clone(), steps, now);
        }
        if let Some(n) = message {
            let verdict = if was_held {
                Verdict::Released
            } else {
                Verdict::Notified
            };
            let label = what(&n);
            self.send(host, path, &label, n, verdict, now);
        }
    }

    /// Why a notification about `host`/`path` is held now, and until when (monotonic) it
    /// surely stays so; `state`: flapping and pending periods hold it too.
    fn hold_for(
        &self,
        host: &str,
        path: Option<&str>,
        state: bool,
        now: Now,
    ) -> Option<(Reason, Option<Mono>)> {
        if let Some(reason) = &self.standby {
            return Some((reason.clone(), None));
        }
        let at_wall = |t: Timestamp| now.mono.plus(t.since(now.wall));
        let h = self.hosts.get(host);
        if let Some(parent) = h.and_then(|h| h.unreachable.clone()) {
            return Some((Reason::Unreachable { parent }, None));
        }
        if let Some(path) = path
            && let Some(spec) = self
                .settings
                .checks
                .iter()
                .find(|c| c.holds(host, self.labels.get(host).map(|l| &**l), path))
        {
            let reason = Reason::Vantage {
                check: spec.name.clone(),
            };
            return Some((reason, None));
        }
        if let Some(s) = self
            .silences
            .iter()
            .find(|s| s.covers(host, path, now.wall))
        {
            let reason = Reason::Silenced {
                silence: s.silence.id.clone(),
            };
            return Some((reason, Some(at_wall(s.silence.ends))));
        }
        let no_profiles = Vec::new();
        let profiles = self.settings.profiles.get(host).unwrap_or(&no_profiles);
        let labels = self.labels.get(host).map(|l| &**l);
        for w in &self.settings.windows {
            if w.matches(host, profiles, labels, path)
                && let Some(ends) = w.open_until(now.wall)
            {
                let reason = Reason::Maintenance {
                    window: w.name.clone(),
                };
                return Some((reason, Some(at_wall(ends))));
            }
        }
        if !state {
            return None;
        }
        let s = h.and_then(|h| match path {
            None => Some(&h.host),
            Some(p) => h.paths.get(p),
        })?;
        if s.flap.flapping() {
            let percent = (s.flap.percent() * 10.0).round() / 10.0;
            return Some((Reason::Flapping { percent }, None));
        }
        match s.pending {
            Some((mono, wall)) if mono > now.mono && rank(s.current) > rank(s.told) => {
                Some((Reason::Pending { until: wall }, Some(mono)))
            }
            _ => None,
        }
    }

    fn send(
        &mut self,
        host: &str,
        path: Option<&str>,
        what: &str,
        n: Notification,
        verdict: Verdict,
        now: Now,
    ) {
        match self.storm.offer(n, now) {
            Ok(n) => {
                self.decide(host, path, what, verdict, now);
                self.out.push(Out::Notify(vec![n]));
            }
            Err(storm) => self.decide(host, path, what, Verdict::Grouped { storm }, now),
        }
    }

    fn decide(&mut self, host: &str, path: Option<&str>, what: &str, verdict: Verdict, now: Now) {
        self.out.push(Out::Decision(Decision {
            host: host.to_owned(),
            path: path.map(str::to_owned),
            at: now.wall,
            what: what.to_owned(),
            verdict,
        }));
    }

    /// Applies the passage of time: holds that ended, a storm group that is due.
    pub fn on_tick(&mut self, now: Now) {
        while let Some((at, _)) = self.recheck.first() {
            if *at > now.mono {
                break;
            }
            let Some((_, key)) = self.recheck.pop_first() else {
                break;
            };
            if let Some(h) = self.hosts.get_mut(&key.0) {
                let s = match &key.1 {
                    None => Some(&mut h.host),
                    Some(p) => h.paths.get_mut(p),
                };
                if let Some(s) = s {
                    s.recheck_at = None;
                }
            }
            if self.held.contains(&key) {
                self.settle(&key, None, now);
            }
        }
        if let Some((items, record)) = self.storm.flush(now) {
            tracing::info!(
                storm = record.id,
                count = record.count,
                "notifications grouped"
            );
            self.out.push(Out::Notify(items));
        }
    }

    /// When [`Policy::on_tick`] next has something to do.
    pub fn next_deadline(&self) -> Option<Mono> {
        let recheck = self.recheck.first().map(|(at, _)| *at);
        [
            recheck,
            self.storm.next_deadline(),
            self.escalations.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn recheck_all(&mut self, now: Now) {
        let keys: Vec<Key> = self.held.iter().cloned().collect();
        for key in keys {
            self.settle(&key, None, now);
        }
    }

    /// Why a subject is held now, if it is.
    pub fn hold_of(&self, host: &str, path: Option<&str>) -> Option<&Reason> {
        let h = self.hosts.get(host)?;
        match path {
            None => h.host.hold.as_ref(),
            Some(p) => h.paths.get(p)?.hold.as_ref(),
        }
    }

    /// Why notifications about a subject are held now: a change waiting out a hold, or,
    /// when none waits, what would hold one now (standby, an UNREACHABLE parent, a
    /// silence, an open maintenance window), which holds its reminders too.
    pub fn held_now(&self, host: &str, path: Option<&str>, now: Now) -> Option<Reason> {
        self.hold_of(host, path)
            .cloned()
            .or_else(|| self.hold_for(host, path, false, now).map(|(r, _)| r))
    }

    /// The latest storm groups, newest first.
    pub fn storms(&self) -> Vec<StormRecord> {
        self.storm.recent()
    }

    /// What to do, since the last call.
    pub fn take(&mut self) -> Vec<Out> {
        std::mem::take(&mut self.out)
    }

    /// Told states and silences changed since the last call, for the store.
    pub fn take_changes(&mut self) -> (Vec<(String, String, Level)>, Vec<Silence>) {
        (
            std::mem::take(&mut self.told_dirty),
            std::mem::take(&mut self.silences_dirty),
        )
    }
}

/// A notification's `from` level, if it has one.
fn from_of(n: &Notification) -> Option<Level> {
    match n {
        Notification::Alert(a) => Some(a.from),
        Notification::Host(e) => match e.kind {
            EventKind::Down { .. } => Some(Level::Ok),
            EventKind::Up { .. } => Some(Level::Critical),
            _ => None,
        },
        _ => None,
    }
}

/// What a decision is about, as the messages name it.
fn what(n: &Notification) -> String {
    match n {
        Notification::Host(e) => e.kind.name().to_owned(),
        Notification::Alert(a) if a.kind == NoticeKind::Reminder => "REMINDER".to_owned(),
        Notification::Alert(a) if a.kind == NoticeKind::Recovered => "RECOVERED".to_owned(),
        Notification::Alert(a) => a.to.as_str().to_owned(),
        Notification::Flapping(f) if f.started => "FLAPPING START".to_owned(),
        Notification::Flapping(_) => "FLAPPING STOP".to_owned(),
        Notification::Escalated(_) => "ESCALATED".to_owned(),
    }
}

/// The notification that tells `current` to someone last told `told`, from the latest
/// one that carried the state.
fn late(latest: &Notification, told: Level, current: Level, now: Now) -> Option<Notification> {
    match latest {
        Notification::Alert(a) => {
            let kind = if current == Level::Ok {
                NoticeKind::Recovered
            } else if rank(current) > rank(told) {
                NoticeKind::Raised
            } else {
                NoticeKind::Lowered
            };
            Some(Notification::Alert(Notice {
                kind,
                from: told,
                to: current,
                at: now.wall,
                ..a.clone()
            }))
        }
        Notification::Host(e) => match e.kind {
            EventKind::Down { .. } | EventKind::Up { .. } => Some(latest.clone()),
            _ => None,
        },
        Notification::Flapping(_) | Notification::Escalated(_) => None,
    }
}
