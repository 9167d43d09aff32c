//! The pure core of the daemon: host state from datagrams, operator commands and the
//! passage of time.
//!
//! `Core` never reads the clock, never awaits and never does I/O. The engine feeds it
//! [`Datagram`]s, [`Command`]s and ticks with the current [`Now`] and carries out the
//! [`Action`]s it returns; [`Core::next_deadline`] says when the next tick is due.
//! Deadlines run on monotonic time ([`Mono`]); wall time only goes into records.

pub mod acks;
mod by_name;
mod checks;
mod command;
mod failures;
mod hosts;
mod notify_policy;
pub mod outbox;
mod parents;
pub mod settings;
mod shared_acks;
mod step;
#[cfg(test)]
mod tests;
mod words;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;

use hb_proto::{Ack, Message, PluginReport};

pub use crate::model::{Event, EventKind, Host, HostState, Job, JobState, UpgradeFile, UpgradeJob};
pub use command::{Command, CommandError, Outcome};

use crate::alerting::rules::{Rules, display_path, lookup};
use crate::alerting::{AlertState, Alerts, Level, Notice};
use crate::clock::{Mono, Now};
use crate::model::Notification;
use crate::policy::silence::Silence;
use crate::policy::{Decision, Policy as NotifyPolicy};
use hosts::Hosts;
use outbox::Outbox;
pub use settings::{CoreSettings, HostSettings};
use step::Step;

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
    /// An acknowledgement was put on a problem (`ack`), or ended (`ack: None`, and
    /// why): for the journal and the live stream.
    Acknowledged {
        /// The host.
        host: String,
        /// The alert path; `None`: the host itself.
        path: Option<String>,
        /// The acknowledgement now.
        ack: Option<crate::model::Ack>,
        /// Why it ended, when it did.
        ended: Option<acks::Ended>,
    },
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
    /// Acknowledgements put or ended since the last call: the one now, or `None`.
    pub acks: Vec<(acks::Subject, Option<crate::model::Ack>)>,
}

/// Host state, alerts, the outbox and the policy, side by side: each input is one
/// [`Step`] that passes what host state did to alerts and what both did to the policy.
#[derive(Debug)]
pub struct Core {
    settings: CoreSettings,
    hosts: Hosts,
    alerts: Alerts,
    outbox: Outbox,
    policy: NotifyPolicy,
    /// Alert paths no longer tracked, for the store: `(host, path)`.
    dropped_alerts: Vec<(String, String)>,
    /// The agents that manage plugins: what each applied, what it should run.
    managed: crate::managed::Agents,
    /// Checks run from several vantage points, with their answers.
    checks: crate::vantage::Checks,
    /// Operators' acknowledgements of problems.
    acks: acks::Acks,
    /// Hosts whose DNS record's failure was told, until it is written again.
    dns_failing: HashSet<String>,
}

impl Core {
    /// A core with no hosts but those configured (as UNKNOWN).
    pub fn new(settings: CoreSettings, now: Now) -> Core {
        let mut hosts = Hosts::default();
        hosts.configure(&settings, now);
        let mut managed = crate::managed::Agents::default();
        managed.set_plan(settings.plan.clone());
        let mut checks = crate::vantage::Checks::default();
        checks.configure(settings.policy.checks.clone());
        let mut core = Core {
            checks,
            acks: acks::Acks::default(),
            dns_failing: HashSet::new(),
            alerts: Alerts::new(settings.reminders),
            hosts,
            dropped_alerts: Vec::new(),
            managed,
            outbox: Outbox::default(),
            policy: NotifyPolicy::new(settings.policy.clone()),
            settings,
        };
        core.place_all();
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
        core.hosts.restore(hosts, &core.settings, now);
        core.place_all();
        for host in core.hosts.iter() {
            if let Some(labels) = &host.labels {
                core.policy.set_labels(&host.name, Some(labels.clone()));
            }
        }
        for host in core.hosts.iter().filter(|h| h.state == HostState::Down) {
            core.alerts.pause_host(&host.name);
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
        self.policy.reconfigure(settings.policy.clone(), now);
        self.alerts.set_policy(settings.reminders, now);
        self.managed.set_plan(settings.plan.clone());
        self.checks.configure(settings.policy.checks.clone());
        self.settings = settings;
        self.hosts.configure(&self.settings, now);
        self.place_all();
        self.prune_alerts(None);
        self.finish(Step::default(), now, out);
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
            let rules = settings.rules_for(host, hosts.get(host).and_then(|h| h.labels.as_deref()));
            rules.keys().map(|k| display_path(k)).collect()
        };
        let removed = self.alerts.retain(|s| {
            if !hosts.contains(&s.host) {
                return false;
            }
            if s.path.starts_with(&status_prefix) {
                return checks.is_none_or(|c| c.contains(&(s.host.clone(), s.path.clone())));
            }
            if !s.path.contains('.') {
                // A plugin's own status: kept while the host is and they alert.
                return settings.plugin_status;
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
        let labels = self.hosts.get(host).and_then(|h| h.labels.as_deref());
        self.settings.rules_for(host, labels)
    }

    /// Evaluates a plugin report against `host`'s rules, and each Nagios check by its
    /// own status; what changes goes to `step`.
    fn check_report(&mut self, report: &PluginReport, now: Now, step: &mut Step) {
        let rules = self.rules_for(&report.name);
        // What the checks run from several vantage points read, when there are any.
        let answering = !self.checks.is_empty();
        let mut seen: Vec<checks::Seen> = Vec::new();
        for (keys, rule) in rules.iter().filter(|(k, _)| k[0] == report.plugin) {
            if let Some(value) = lookup(&report.data, &keys[1..]) {
                let path = display_path(keys);
                let level =
                    self.alerts
                        .observe(&report.name, &path, rule, value, now, &mut step.notices);
                self.policy.observe(&report.name, Some(&path), level, now);
                if answering {
                    let text = format!("{path} = {value}");
                    seen.push((path, level, Some(text)));
                }
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
                if answering {
                    seen.push((path.clone(), level, Some(text.to_owned())));
                }
                self.alerts.observe_status(
                    &report.name,
                    &path,
                    level,
                    text,
                    now,
                    &mut step.notices,
                );
                self.policy.observe(&report.name, Some(&path), level, now);
            }
        } else if let Some(status) = report.status
            && self.settings.plugin_status
        {
            // Any other plugin's own verdict (a WASM plugin's status, a collection that
            // failed), at the path named for the plugin, its message as the text.
            let level = match status {
                hb_proto::Status::Ok => Level::Ok,
                hb_proto::Status::Warning => Level::Warning,
                hb_proto::Status::Critical => Level::Critical,
                hb_proto::Status::Unknown => Level::Unknown,
            };
            let text = ["message", "error"]
                .iter()
                .find_map(|k| report.data.get(*k).and_then(|t| t.as_str()))
                .unwrap_or_default();
            self.alerts.observe_status(
                &report.name,
                &report.plugin,
                level,
                text,
                now,
                &mut step.notices,
            );
            self.policy
                .observe(&report.name, Some(&report.plugin), level, now);
        }
        if answering {
            self.answer_checks(report, &seen, now, step);
        }
    }

    /// Evaluates a heartbeat's round trip against `host`'s `rtt` rule, if it has one.
    fn check_rtt(&mut self, host: &str, rtt_ms: f64, now: Now, step: &mut Step) {
        let rules = self.rules_for(host);
        let key = vec!["rtt".to_owned(), host.to_owned()];
        if let Some(rule) = rules.get(&key) {
            let path = format!("rtt.{host}");
            let level = self
                .alerts
                .observe(host, &path, rule, rtt_ms, now, &mut step.notices);
            self.policy.observe(host, Some(&path), level, now);
        }
    }

    /// Handles one accepted datagram at `now`, appending what to do to `out`.
    pub fn handle(&mut self, datagram: &Datagram, now: Now, out: &mut Vec<Action>) {
        let Some(stamp) = datagram.message.stamp() else {
            return; // replies (ACK, CMD, UPD) are not for the daemon
        };
        // Borrowed from the datagram: owned copies are made only where one is kept.
        let name: &str = stamp.name;
        let mut step = Step::default();
        let heard = self.hosts.hear(
            name,
            &datagram.message,
            datagram.source,
            &self.settings,
            now,
            &mut step.events,
        );
        match &datagram.message {
            Message::Heartbeat(h) => {
                if let Some(applied) = &h.plugins {
                    self.managed.reported(name, applied);
                }
                let plugins = if self.managed.is_empty() {
                    None
                } else {
                    let labels = self.hosts.get(name).and_then(|h| h.labels.clone());
                    self.managed.tell(name, labels.as_ref())
                };
                out.push(Action::Reply {
                    to: datagram.source,
                    key_id: datagram.key_id.clone(),
                    message: Message::Ack(Ack {
                        seq: h.seq,
                        ts: h.ts,
                        server_ts: now.wall.as_secs_f64(),
                        plugins,
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
                    step.events.extend(failures::command_failed(&job, now));
                    out.push(Action::Job(job));
                }
            }
            _ => {}
        }
        if heard.came_back {
            self.alerts.resume_host(name, now);
        }
        if let Some(labels) = heard.labels {
            self.checks.place(name, Some(&labels));
            self.policy.set_labels(name, Some(labels));
        }
        match &datagram.message {
            Message::Heartbeat(h) => {
                self.policy.observe(name, None, Level::Ok, now);
                if let Some(rtt) = h.rtt {
                    self.check_rtt(name, rtt, now, &mut step);
                }
            }
            Message::Plugin(report) => self.check_report(report, now, &mut step),
            _ => {}
        }
        self.finish(step, now, out);
    }

    /// Applies the passage of time: hosts silent past their deadline go DOWN, and alert
    /// reminders fall due.
    pub fn on_tick(&mut self, now: Now, out: &mut Vec<Action>) {
        let mut step = Step::default();
        self.hosts.expire(&self.settings, now, &mut step.events);
        // A host no longer UP pauses its alerts; DOWN is the host's own CRITICAL.
        for e in &step.events {
            match e.kind {
                EventKind::Down { .. } => {
                    self.alerts.pause_host(&e.host);
                    self.policy.observe(&e.host, None, Level::Critical, now);
                }
                EventKind::Unreachable { .. } => self.alerts.pause_host(&e.host),
                _ => {}
            }
        }
        self.alerts.on_tick(now, &mut step.notices);
        self.policy.on_tick(now);
        // Commands no result came for in time. (Without this their deadline stayed
        // the earliest, past, and the engine woke for it again and again.)
        for job in self.outbox.expire(now) {
            step.events.extend(failures::command_failed(&job, now));
            out.push(Action::Job(job));
        }
        for ((host, path), _) in self.acks.expire(now) {
            out.push(Action::Acknowledged {
                host,
                path,
                ack: None,
                ended: Some(acks::Ended::Expired),
            });
        }
        let acks = &self.acks;
        self.policy
            .escalate_due(now, |host, path| acks.get(host, path).map(|a| a.by.clone()));
        self.finish(step, now, out);
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
        [
            self.hosts.next_deadline(),
            self.alerts.next_deadline(),
            self.outbox.next_deadline(),
            self.policy.next_deadline(),
            self.acks.next_deadline(),
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

    /// Every alert that is not OK (checks run from several vantage points among them,
    /// as `check:NAME`), with why it is held at `now`.
    pub fn active_alerts(&self, now: Now) -> Vec<AlertState> {
        let mut active = self.alerts.active();
        active.extend(self.checks.active());
        self.with_holds(active, now)
    }

    /// Every tracked alert path of one host, with why each is held at `now`.
    pub fn host_alerts(&self, host: &str, now: Now) -> Vec<AlertState> {
        self.with_holds(self.alerts.for_host(host), now)
    }

    /// What changed since the last call, for the store.
    pub fn take_changes(&mut self) -> Changes {
        let mut jobs = self.outbox.take_changed();
        // The latest state of each.
        let mut seen = HashSet::new();
        jobs.reverse();
        jobs.retain(|j| seen.insert(j.id.clone()));
        jobs.reverse();
        let (mut told, silences) = self.policy.take_changes();
        let dropped = self.hosts.dropped();
        told.retain(|(host, _, _)| !dropped.contains(host));
        let (hosts, dropped_hosts) = self.hosts.take_changes();
        Changes {
            told,
            silences,
            hosts,
            alerts: self.alerts.take_dirty(),
            dropped_hosts,
            dropped_alerts: std::mem::take(&mut self.dropped_alerts),
            jobs,
            acks: self.acks.take_changed(),
        }
    }

    /// One host.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.get(name)
    }

    /// How many hosts there are.
    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    /// The hosts after `name` (all with `None`), by name, without collecting them.
    pub fn hosts_after(&self, name: Option<&str>) -> impl Iterator<Item = &Host> {
        self.hosts.after(name)
    }

    /// Every host, sorted by name.
    pub fn hosts(&self) -> Vec<&Host> {
        self.hosts.iter().collect()
    }

    /// How many hosts are in each state, in [`HostState::ALL`] order.
    pub fn counts(&self) -> [usize; 4] {
        self.hosts.counts()
    }

    /// The settings in force.
    pub fn settings(&self) -> &CoreSettings {
        &self.settings
    }
}
