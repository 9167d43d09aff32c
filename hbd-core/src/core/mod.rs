//! The pure core of the daemon: host state from datagrams, operator commands and the
//! passage of time.
//!
//! `Core` never reads the clock, never awaits and never does I/O. The engine feeds it
//! [`Datagram`]s, [`Command`]s and ticks with the current [`Now`] and carries out the
//! [`Action`]s it returns; [`Core::next_deadline`] says when the next tick is due.
//! Deadlines run on monotonic time ([`Mono`]); wall time only goes into records.

mod by_name;
mod command;
mod notify_policy;
pub mod outbox;
mod parents;
pub mod settings;
#[cfg(test)]
mod tests;
mod words;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hb_proto::{Ack, Message, PluginReport};

pub use crate::model::{Event, EventKind, Host, HostState, Job, JobState, UpgradeFile, UpgradeJob};
use by_name::ByName;
pub use command::{Command, CommandError, Outcome};

use crate::alerting::rules::{Rules, display_path, lookup};
use crate::alerting::{AlertState, Alerts, Level, Notice};
use crate::clock::{Mono, Now};
use crate::model::Notification;
use crate::policy::silence::Silence;
use crate::policy::{Decision, Policy as NotifyPolicy};
use outbox::Outbox;
use parents::Parents;
pub use settings::{CoreSettings, HostSettings};

/// The plugin whose reports carry one status per check (Nagios): its checks alert
/// through that status instead of thresholds.
pub const STATUS_PLUGIN: &str = hb_proto::catalogue::STATUS_PLUGIN;

/// One accepted datagram.
#[derive(Debug, Clone, PartialEq)]
pub struct Datagram {
    /// The decoded message.
    pub message: Message,
    /// Where it came from; replies go back there.
    pub source: SocketAddr,
    /// The key id it was signed with, if any; replies are signed with it.
    pub key_id: Option<Arc<str>>,
}

/// What the core asks the shell to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send `message` to `to`, signed with `key_id`'s key when given.
    Reply {
        /// Destination.
        to: SocketAddr,
        /// Key id to sign with.
        key_id: Option<Arc<str>>,
        /// The reply.
        message: Message,
    },
    /// Journal, publish and notify a host event.
    Event(Event),
    /// Journal an alert change or reminder (the policy decides whether it is sent).
    Alert(Notice),
    /// Send these: one notification, or several as one grouped message.
    Notify(Vec<Notification>),
    /// Journal and publish what the policy decided.
    Decision(Decision),
    /// An alert path changed level, reminded, or is no longer tracked (`state: None`):
    /// for the live stream.
    AlertChanged {
        /// The host.
        host: String,
        /// The shown metric path.
        path: String,
        /// The state now.
        state: Option<AlertState>,
    },
    /// A command for an agent was queued, sent, done or expired: for the live stream
    /// and the journal.
    Job(Job),
    /// Forget everything kept about a host outside the core (its latest samples).
    Forget {
        /// The host.
        host: String,
    },
}

/// What the store must write or delete, taken by [`Core::take_changes`].
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    /// Hosts changed since the last call.
    pub hosts: Vec<Host>,
    /// Alert states changed since the last call.
    pub alerts: Vec<AlertState>,
    /// Hosts dropped (their samples and alerts go with them).
    pub dropped_hosts: Vec<String>,
    /// Alert paths no longer tracked: `(host, path)`.
    pub dropped_alerts: Vec<(String, String)>,
    /// Commands queued, sent, done or expired since the last call (the latest of each).
    pub jobs: Vec<Job>,
    /// States last told, changed since the last call: `(host, path or "", level)`.
    pub told: Vec<(String, String, Level)>,
    /// Silences added, changed or expired since the last call.
    pub silences: Vec<Silence>,
}

#[derive(Debug)]
struct Tracked {
    host: Host,
    /// Monotonic time of the last datagram (`None`: not since this daemon started).
    heard: Option<Mono>,
    /// Monotonic time `state` began (`None`: before this daemon started).
    since: Option<Mono>,
    /// DOWN once monotonic time passes this.
    deadline: Mono,
    /// Time of this host's live entry in the deadline heap.
    scheduled: Option<Mono>,
    /// Changed since the store last took it.
    dirty: bool,
}

/// Host state for every host, and when each must be heard from next.
#[derive(Debug)]
pub struct Core {
    settings: CoreSettings,
    /// By name: found by hash, listed sorted without a sort per request.
    hosts: ByName<Tracked>,
    /// When each UP host must be heard from next (its name shared with `hosts`);
    /// superseded entries stay until they come up and are skipped.
    deadlines: BinaryHeap<Reverse<(Mono, Arc<str>)>>,
    dirty: Vec<String>,
    dropped_hosts: Vec<String>,
    dropped_alerts: Vec<(String, String)>,
    /// Hosts per state, in [`HostState::ALL`] order, kept as states change.
    counts: [usize; 4],
    alerts: Alerts,
    outbox: Outbox,
    policy: NotifyPolicy,
    /// Configured children of each host (the reverse of `parents`).
    children: HashMap<String, Vec<String>>,
    /// Agent versions and platforms, shared by the hosts that report the same.
    words: words::Words,
}

impl Core {
    /// A core with no hosts but those configured (as UNKNOWN).
    pub fn new(settings: CoreSettings, now: Now) -> Core {
        let mut core = Core {
            alerts: Alerts::new(settings.reminders),
            hosts: ByName::default(),
            deadlines: BinaryHeap::new(),
            dirty: Vec::new(),
            dropped_hosts: Vec::new(),
            dropped_alerts: Vec::new(),
            counts: [0; 4],
            outbox: Outbox::default(),
            policy: NotifyPolicy::new(settings.policy.clone()),
            children: HashMap::new(),
            words: words::Words::default(),
            settings,
        };
        core.build_children();
        core.add_configured_hosts(now);
        core
    }

    /// A core resumed from stored hosts and alert states. UP hosts get a fresh
    /// `interval + grace` from `now`, so a daemon restart does not declare every host
    /// DOWN. Alert states whose host or rule is gone, or whose status check no longer
    /// reports (`checks`: the `(host, path)` of every check in the latest status-plugin
    /// reports), are dropped, so their reminders stop.
    pub fn restore(
        settings: CoreSettings,
        hosts: Vec<Host>,
        alerts: Vec<AlertState>,
        checks: &HashSet<(String, String)>,
        now: Now,
    ) -> Core {
        let mut core = Core::new(settings, now);
        for mut host in hosts {
            host.version = host.version.map(|v| core.words.intern(&v));
            core.insert(host, now);
        }
        for host in core
            .hosts
            .values()
            .filter(|t| t.host.state == HostState::Down)
        {
            core.alerts.pause_host(&host.host.name);
        }
        core.alerts.restore(alerts, now);
        core.prune_alerts(Some(checks));
        core.alerts.take_changed();
        core
    }

    /// Takes a new configuration (reload): thresholds, profiles, reminder policy and host
    /// settings apply from now on; host and alert states are kept, except alert states
    /// whose rule is gone. Configured hosts not yet known appear as UNKNOWN.
    pub fn reconfigure(&mut self, settings: CoreSettings, now: Now, out: &mut Vec<Action>) {
        let from = out.len();
        self.policy.reconfigure(settings.policy.clone(), now);
        self.alerts.set_policy(settings.reminders, now);
        self.settings = settings;
        self.build_children();
        self.add_configured_hosts(now);
        let names: Vec<String> = self.hosts.keys().map(str::to_owned).collect();
        for name in names {
            let Some(t) = self.hosts.get_mut(&name) else {
                continue;
            };
            if let (HostState::Up, Some(heard)) = (t.host.state, t.heard) {
                t.deadline = heard.plus(self.settings.allowance(&name, t.host.interval));
                let deadline = t.deadline;
                self.schedule(&name, deadline);
            }
        }
        self.prune_alerts(None);
        self.publish_alert_changes(out);
        self.run_policy(from, now, out);
    }

    /// The configured children of each host (the reverse of `parents`).
    fn build_children(&mut self) {
        self.children.clear();
        for (name, host) in &self.settings.hosts {
            for parent in &host.parents {
                self.children
                    .entry(parent.clone())
                    .or_default()
                    .push(name.clone());
            }
        }
    }

    fn add_configured_hosts(&mut self, now: Now) {
        let names: Vec<String> = self
            .settings
            .hosts
            .keys()
            .filter(|n| !self.hosts.contains_key(n))
            .cloned()
            .collect();
        for name in names {
            let (interval, _) = self.settings.host_timing(&name);
            let mut host = Host::new(&name, interval, now.wall);
            host.first_seen = None;
            host.last_seen = None;
            self.insert(host, now);
        }
    }

    /// Drops alert states whose host is unknown or whose rule no longer exists; status
    /// checks (no rule) are kept while their host is known, and, when `checks` is given,
    /// while the check still reports.
    fn prune_alerts(&mut self, checks: Option<&HashSet<(String, String)>>) {
        let mut shown: HashMap<String, HashSet<String>> = HashMap::new();
        let hosts = &self.hosts;
        let status_prefix = format!("{STATUS_PLUGIN}.");
        let settings = &self.settings;
        let rule_paths = |host: &str| -> HashSet<String> {
            let rules = settings.rules_for(host);
            rules.keys().map(|k| display_path(k)).collect()
        };
        let removed = self.alerts.retain(|s| {
            if !hosts.contains_key(&s.host) {
                return false;
            }
            if s.path.starts_with(&status_prefix) {
                return checks.is_none_or(|c| c.contains(&(s.host.clone(), s.path.clone())));
            }
            shown
                .entry(s.host.clone())
                .or_insert_with(|| rule_paths(&s.host))
                .contains(&s.path)
        });
        for s in removed {
            tracing::info!(host = %s.host, path = %s.path, "alert state dropped: its host, rule or check is gone");
            self.policy.forget_path(&s.host, &s.path);
            self.dropped_alerts.push((s.host, s.path));
        }
    }

    /// The rules that apply to `host`: its profiles over the defaults.
    fn rules_for(&self, host: &str) -> Arc<Rules> {
        self.settings.rules_for(host)
    }

    fn check_report(&mut self, report: &PluginReport, now: Now, out: &mut Vec<Action>) {
        let mut notices = Vec::new();
        let rules = self.rules_for(&report.name);
        for (keys, rule) in rules.iter().filter(|(k, _)| k[0] == report.plugin) {
            if let Some(value) = lookup(&report.data, &keys[1..]) {
                let path = display_path(keys);
                let level =
                    self.alerts
                        .observe(&report.name, &path, rule, value, now, &mut notices);
                self.policy.observe(&report.name, Some(&path), level, now);
            }
        }
        // Plugins that judge themselves (Nagios checks) alert through each check's status.
        let own_status = hb_proto::catalogue::find(&report.plugin)
            .is_some_and(|p| p.alerting == hb_proto::catalogue::Alerting::OwnStatus);
        if own_status {
            for (check, entry) in &report.data {
                let Some(level) = entry
                    .get("status")
                    .and_then(|s| s.as_str())
                    .and_then(Level::parse)
                else {
                    continue;
                };
                let text = entry
                    .get("text")
                    .and_then(|t| t.as_str())
                    .unwrap_or_default();
                let path = format!("{}.{check}", report.plugin);
                self.alerts
                    .observe_status(&report.name, &path, level, text, now, &mut notices);
                self.policy.observe(&report.name, Some(&path), level, now);
            }
        }
        out.extend(notices.into_iter().map(Action::Alert));
    }

    fn check_rtt(&mut self, host: &str, rtt_ms: f64, now: Now, out: &mut Vec<Action>) {
        let rules = self.rules_for(host);
        let key = vec!["rtt".to_owned(), host.to_owned()];
        if let Some(rule) = rules.get(&key) {
            let mut notices = Vec::new();
            let path = format!("rtt.{host}");
            let level = self
                .alerts
                .observe(host, &path, rule, rtt_ms, now, &mut notices);
            self.policy.observe(host, Some(&path), level, now);
            out.extend(notices.into_iter().map(Action::Alert));
        }
    }

    fn publish_alert_changes(&mut self, out: &mut Vec<Action>) {
        for (host, path, state) in self.alerts.take_changed() {
            out.push(Action::AlertChanged { host, path, state });
        }
    }

    /// Tracks a host from the store or the config. Stored wall times say nothing about
    /// this daemon's monotonic clock, so an UP host gets a full `interval + grace` from
    /// `now`.
    fn insert(&mut self, host: Host, now: Now) {
        let deadline = now
            .mono
            .plus(self.settings.allowance(&host.name, host.interval));
        let name = host.name.clone();
        let up = host.state == HostState::Up;
        self.counts[host.state as usize] += 1;
        let replaced = self.hosts.insert(
            &name,
            Tracked {
                host,
                heard: None,
                since: None,
                deadline,
                scheduled: None,
                dirty: false,
            },
        );
        if let Some(old) = replaced {
            self.counts[old.host.state as usize] -= 1;
        }
        if up {
            self.schedule(&name, deadline);
        }
    }

    fn schedule(&mut self, name: &str, at: Mono) {
        let Some(shared) = self.hosts.name(name).cloned() else {
            return;
        };
        if let Some(t) = self.hosts.get_mut(name) {
            t.scheduled = Some(at);
            self.deadlines.push(Reverse((at, shared)));
        }
    }

    fn mark_dirty(&mut self, name: &str) {
        if let Some(t) = self.hosts.get_mut(name)
            && !t.dirty
        {
            t.dirty = true;
            self.dirty.push(name.to_owned());
        }
    }

    /// Handles one accepted datagram at `now`, appending what to do to `out`.
    pub fn handle(&mut self, datagram: &Datagram, now: Now, out: &mut Vec<Action>) {
        let Some(stamp) = datagram.message.stamp() else {
            return; // replies (ACK, CMD, UPD) are not for the daemon
        };
        let from = out.len();
        // Borrowed from the datagram: owned copies are made only where one is kept.
        let name: &str = stamp.name;
        let tracked = match self.hosts.get_mut(name) {
            Some(t) => t,
            None => {
                let (default_interval, _) = self.settings.host_timing(name);
                out.push(event(name, now, EventKind::NewHost));
                self.hosts.insert(
                    name,
                    Tracked {
                        host: Host::new(name, default_interval, now.wall),
                        heard: Some(now.mono),
                        since: Some(now.mono),
                        deadline: now.mono,
                        scheduled: None,
                        dirty: false,
                    },
                );
                self.counts[HostState::Unknown as usize] += 1;
                // Invariant: inserted just above.
                self.hosts.get_mut(name).unwrap_or_else(|| unreachable!())
            }
        };
        let host = &mut tracked.host;
        if let Some(old) = host.address
            && old.ip().to_canonical() != datagram.source.ip().to_canonical()
        {
            out.push(event(
                name,
                now,
                EventKind::AddressChanged {
                    from: old.ip().to_canonical(),
                    to: datagram.source.ip().to_canonical(),
                },
            ));
        }
        host.address = Some(datagram.source);
        host.first_seen.get_or_insert(now.wall);
        host.last_seen = Some(now.wall);
        tracked.heard = Some(now.mono);
        // What `mark_dirty` does, without looking the host up again (every datagram).
        if !tracked.dirty {
            tracked.dirty = true;
            self.dirty.push(name.to_owned());
        }
        match &datagram.message {
            Message::Heartbeat(h) => {
                if let Some(interval) = h.interval {
                    host.interval = Duration::from_secs_f64(interval);
                }
                if h.rtt.is_some() {
                    // Whole microseconds, whatever an older agent sent.
                    host.last_rtt_ms = h.rtt.map(|r| (r * 1000.0).round() / 1000.0);
                }
                if let Some(v) = &h.version
                    && host.version.as_deref() != Some(v)
                {
                    host.version = Some(self.words.intern(v));
                }
                if let Some(a) = &h.arch
                    && host.arch.as_deref() != Some(a)
                {
                    host.arch = Some(self.words.intern(a));
                }
                if h.uptime.is_some() {
                    host.uptime_s = h.uptime;
                }
                out.push(Action::Reply {
                    to: datagram.source,
                    key_id: datagram.key_id.clone(),
                    message: Message::Ack(Ack {
                        seq: h.seq,
                        ts: h.ts,
                        server_ts: now.wall.as_secs_f64(),
                    }),
                });
                // Queued commands follow the ACK, signed like it; never unsigned, and
                // never from an HA pair's standby (the leader sends them).
                if datagram.key_id.is_some() && !self.policy.is_standby() {
                    for job in self.outbox.due(name, now) {
                        out.push(Action::Reply {
                            to: datagram.source,
                            key_id: datagram.key_id.clone(),
                            message: job.command(now),
                        });
                        out.push(Action::Job(job));
                    }
                }
            }
            Message::CommandResult(result) if datagram.key_id.is_some() => {
                if let Some(job) = self.outbox.result(name, result, now) {
                    out.push(Action::Job(job));
                }
            }
            Message::Boot(b) => {
                host.boots += 1;
                if let Some(v) = &b.version {
                    host.version = Some(self.words.intern(v));
                }
                host.uptime_s = b.uptime.or(host.uptime_s);
                out.push(event(name, now, EventKind::Boot { uptime_s: b.uptime }));
            }
            Message::Text(m) => {
                out.push(event(
                    name,
                    now,
                    EventKind::Message {
                        text: m.text.clone(),
                    },
                ));
            }
            _ => {}
        }
        let mut came_back = false;
        let mut now_up = false;
        if host.state != HostState::Up {
            now_up = true;
            let down_for = (host.state == HostState::Down).then(|| match tracked.since {
                Some(since) => now.mono.since(since),
                None => now.wall.since(host.state_since),
            });
            came_back = matches!(host.state, HostState::Down | HostState::Unreachable);
            self.counts[host.state as usize] -= 1;
            self.counts[HostState::Up as usize] += 1;
            host.state = HostState::Up;
            host.state_since = now.wall;
            tracked.since = Some(now.mono);
            out.push(event(
                name,
                now,
                EventKind::Up {
                    down_for_s: down_for,
                },
            ));
        }
        tracked.deadline = now.mono.plus(self.settings.allowance(name, host.interval));
        let deadline = tracked.deadline;
        if tracked.scheduled.is_none_or(|s| deadline < s) {
            self.schedule(name, deadline);
        }
        if came_back {
            self.alerts.resume_host(name, now);
        }
        if now_up {
            self.recheck_children(name, now);
        }
        if matches!(datagram.message, Message::Heartbeat(_)) {
            self.policy.observe(name, None, Level::Ok, now);
        }
        match &datagram.message {
            Message::Plugin(report) => self.check_report(report, now, out),
            Message::Heartbeat(h) => {
                if let Some(rtt) = h.rtt {
                    self.check_rtt(name, rtt, now, out);
                }
            }
            _ => {}
        }
        self.publish_alert_changes(out);
        self.run_policy(from, now, out);
    }

    /// Applies the passage of time: hosts silent past their deadline go DOWN, and alert
    /// reminders fall due.
    pub fn on_tick(&mut self, now: Now, out: &mut Vec<Action>) {
        let from = out.len();
        while let Some(Reverse((at, _))) = self.deadlines.peek() {
            if *at > now.mono {
                break;
            }
            let Some(Reverse((at, name))) = self.deadlines.pop() else {
                break;
            };
            let Some(tracked) = self.hosts.get_mut(&name) else {
                continue;
            };
            if tracked.scheduled != Some(at) {
                continue; // superseded by an earlier entry
            }
            tracked.scheduled = None;
            if !matches!(tracked.host.state, HostState::Up | HostState::Unreachable) {
                continue;
            }
            if tracked.deadline > now.mono {
                let deadline = tracked.deadline;
                self.schedule(&name, deadline);
                continue;
            }
            match self.parents_of(&name, now) {
                Parents::Fine => {}
                Parents::Unconfirmed(at) => {
                    self.schedule(&name, at);
                    continue;
                }
                Parents::Down(parent) => {
                    let Some(tracked) = self.hosts.get_mut(&name) else {
                        continue;
                    };
                    if tracked.host.state == HostState::Up {
                        self.counts[HostState::Up as usize] -= 1;
                        self.counts[HostState::Unreachable as usize] += 1;
                        tracked.host.state = HostState::Unreachable;
                        tracked.host.state_since = now.wall;
                        tracked.since = Some(now.mono);
                        self.mark_dirty(&name);
                        self.alerts.pause_host(&name);
                        out.push(event(&name, now, EventKind::Unreachable { parent }));
                    }
                    continue;
                }
            }
            let Some(tracked) = self.hosts.get_mut(&name) else {
                continue;
            };
            let host = &mut tracked.host;
            let silent_for = match (tracked.heard, host.last_seen) {
                (Some(heard), _) => now.mono.since(heard),
                (None, Some(seen)) => now.wall.since(seen),
                (None, None) => Duration::ZERO,
            };
            self.counts[host.state as usize] -= 1;
            self.counts[HostState::Down as usize] += 1;
            host.state = HostState::Down;
            host.state_since = now.wall;
            tracked.since = Some(now.mono);
            self.mark_dirty(&name);
            self.alerts.pause_host(&name);
            self.policy.observe(&name, None, Level::Critical, now);
            out.push(event(
                &name,
                now,
                EventKind::Down {
                    silent_for_s: silent_for,
                },
            ));
        }
        let mut notices = Vec::new();
        self.alerts.on_tick(now, &mut notices);
        out.extend(notices.into_iter().map(Action::Alert));
        self.publish_alert_changes(out);
        self.policy.on_tick(now);
        self.run_policy(from, now, out);
    }

    /// Takes in commands the HA pair's other daemon queued ([`Outbox::adopt`]); the
    /// standby holds them, the leader sends them.
    pub fn adopt_jobs(&mut self, jobs: Vec<Job>, now: Now, out: &mut Vec<Action>) {
        for job in self.outbox.adopt(jobs, now) {
            out.push(Action::Job(job));
        }
    }

    /// When [`Core::on_tick`] next has something to do.
    pub fn next_deadline(&self) -> Option<Mono> {
        let host = self.deadlines.peek().map(|Reverse((at, _))| *at);
        [
            host,
            self.alerts.next_deadline(),
            self.outbox.next_deadline(),
            self.policy.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Puts back the commands read from the store (after [`Core::restore`]).
    pub fn restore_jobs(&mut self, jobs: Vec<Job>, now: Now) {
        self.outbox.restore(jobs, now);
    }

    /// A host's commands, newest first.
    pub fn jobs(&self, host: &str) -> Vec<Job> {
        self.outbox.for_host(host)
    }

    /// Every alert that is not OK.
    pub fn active_alerts(&self) -> Vec<AlertState> {
        self.with_holds(self.alerts.active())
    }

    /// Every tracked alert path of one host.
    pub fn host_alerts(&self, host: &str) -> Vec<AlertState> {
        self.with_holds(self.alerts.for_host(host))
    }

    /// What changed since the last call, for the store.
    pub fn take_changes(&mut self) -> Changes {
        let names = std::mem::take(&mut self.dirty);
        let hosts = names
            .into_iter()
            .filter_map(|name| {
                let t = self.hosts.get_mut(&name)?;
                t.dirty = false;
                Some(t.host.clone())
            })
            .collect();
        let mut jobs = self.outbox.take_changed();
        // The latest state of each.
        let mut seen = HashSet::new();
        jobs.reverse();
        jobs.retain(|j| seen.insert(j.id.clone()));
        jobs.reverse();
        let (mut told, silences) = self.policy.take_changes();
        told.retain(|(host, _, _)| !self.dropped_hosts.contains(host));
        Changes {
            told,
            silences,
            hosts,
            alerts: self.alerts.take_dirty(),
            dropped_hosts: std::mem::take(&mut self.dropped_hosts),
            dropped_alerts: std::mem::take(&mut self.dropped_alerts),
            jobs,
        }
    }

    /// One host.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.get(name).map(|t| &t.host)
    }

    /// How many hosts there are.
    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    /// The hosts after `name` (all with `None`), by name, without collecting them.
    pub fn hosts_after(&self, name: Option<&str>) -> impl Iterator<Item = &Host> {
        self.hosts.after(name).map(|t| &t.host)
    }

    /// Every host, sorted by name.
    pub fn hosts(&self) -> Vec<&Host> {
        self.hosts.values().map(|t| &t.host).collect()
    }

    /// How many hosts are in each state, in [`HostState::ALL`] order.
    pub fn counts(&self) -> [usize; 4] {
        self.counts
    }

    /// The settings in force.
    pub fn settings(&self) -> &CoreSettings {
        &self.settings
    }
}

fn event(host: &str, now: Now, kind: EventKind) -> Action {
    Action::Event(Event {
        host: host.to_owned(),
        at: now.wall,
        kind,
    })
}
