//! The pure core of the daemon: host state from datagrams and the passage of time.
//!
//! `Core` never reads the clock, never awaits and never does I/O. The engine feeds it
//! [`Datagram`]s and ticks with the current time and carries out the [`Action`]s it
//! returns; [`Core::next_deadline`] says when the next tick is due.

mod event;
mod host;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hb_proto::{Ack, Message, PluginReport};

pub use event::{Event, EventKind};
pub use host::{Host, HostState};

use crate::alerting::rules::{Rules, display_path, lookup, merge};
use crate::alerting::{AlertState, Alerts, Level, Notice, Policy};
use crate::clock::Timestamp;
use crate::config::Config;

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
    /// Journal and notify a host event.
    Event(Event),
    /// Journal and notify an alert change or reminder.
    Alert(Notice),
}

#[derive(Debug)]
struct Tracked {
    host: Host,
    /// DOWN once `now` passes this.
    deadline: Timestamp,
    /// Time of this host's live entry in the deadline heap.
    scheduled: Option<Timestamp>,
    /// Changed since the store last took it.
    dirty: bool,
}

/// Host state for every host, and when each must be heard from next.
#[derive(Debug)]
pub struct Core {
    config: Arc<Config>,
    hosts: HashMap<String, Tracked>,
    deadlines: BinaryHeap<Reverse<(Timestamp, String)>>,
    dirty: Vec<String>,
    /// Hosts per state, in [`HostState::ALL`] order, kept as states change.
    counts: [usize; 3],
    alerts: Alerts,
    default_rules: Arc<Rules>,
    host_rules: HashMap<String, Arc<Rules>>,
}

impl Core {
    /// A core with no hosts but those configured (as UNKNOWN).
    pub fn new(config: Arc<Config>, now: Timestamp) -> Core {
        let policy = Policy {
            renotify: config.threshold_renotify_interval,
            renotify_max: config.threshold_renotify_max,
            notify_unknown: config.threshold_notify_unknown,
        };
        let default_rules = Arc::new(merge(&[&config.threshold_layers]));
        let mut host_rules = HashMap::new();
        for (name, host) in &config.hosts {
            if host.threshold_config.is_empty() {
                continue;
            }
            let mut layers = vec![&config.threshold_layers];
            layers.extend(
                host.threshold_config
                    .iter()
                    .filter_map(|p| config.profile_layers.get(p)),
            );
            host_rules.insert(name.clone(), Arc::new(merge(&layers)));
        }
        let mut core = Core {
            config,
            hosts: HashMap::new(),
            deadlines: BinaryHeap::new(),
            dirty: Vec::new(),
            counts: [0; 3],
            alerts: Alerts::new(policy),
            default_rules,
            host_rules,
        };
        let names: Vec<String> = core.config.hosts.keys().cloned().collect();
        for name in names {
            let (interval, _) = core.config.host_timing(&name);
            let mut host = Host::new(&name, interval, now);
            host.first_seen = None;
            host.last_seen = None;
            core.insert(host, now);
        }
        core
    }

    /// A core resumed from stored hosts. UP hosts get a fresh `interval + grace` from
    /// `now`, so a daemon restart does not declare every host DOWN.
    pub fn restore(
        config: Arc<Config>,
        hosts: Vec<Host>,
        alerts: Vec<AlertState>,
        now: Timestamp,
    ) -> Core {
        let mut core = Core::new(config, now);
        for host in hosts {
            core.insert(host, now);
        }
        core.alerts.restore(alerts);
        core
    }

    /// The rules that apply to `host`: its profiles over the defaults.
    fn rules_for(&self, host: &str) -> Arc<Rules> {
        self.host_rules
            .get(host)
            .unwrap_or(&self.default_rules)
            .clone()
    }

    fn check_report(&mut self, report: &PluginReport, now: Timestamp, out: &mut Vec<Action>) {
        let mut notices = Vec::new();
        let rules = self.rules_for(&report.name);
        for (keys, rule) in rules.iter().filter(|(k, _)| k[0] == report.plugin) {
            if let Some(value) = lookup(&report.data, &keys[1..]) {
                self.alerts.observe(
                    &report.name,
                    &display_path(keys),
                    rule,
                    value,
                    now,
                    &mut notices,
                );
            }
        }
        if report.plugin == "nagios_runner" {
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
                let path = format!("nagios_runner.{check}");
                self.alerts
                    .observe_status(&report.name, &path, level, text, now, &mut notices);
            }
        }
        out.extend(notices.into_iter().map(Action::Alert));
    }

    fn check_rtt(&mut self, host: &str, rtt_ms: f64, now: Timestamp, out: &mut Vec<Action>) {
        let rules = self.rules_for(host);
        let key = vec!["rtt".to_owned(), host.to_owned()];
        if let Some(rule) = rules.get(&key) {
            let mut notices = Vec::new();
            self.alerts.observe(
                host,
                &format!("rtt.{host}"),
                rule,
                rtt_ms,
                now,
                &mut notices,
            );
            out.extend(notices.into_iter().map(Action::Alert));
        }
    }

    fn insert(&mut self, host: Host, now: Timestamp) {
        let (_, grace) = self.config.host_timing(&host.name);
        let base = host.last_seen.unwrap_or(now).max(now);
        let deadline = base.plus(host.interval + grace);
        let name = host.name.clone();
        let up = host.state == HostState::Up;
        self.counts[host.state as usize] += 1;
        let replaced = self.hosts.insert(
            name.clone(),
            Tracked {
                host,
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

    fn schedule(&mut self, name: &str, at: Timestamp) {
        if let Some(t) = self.hosts.get_mut(name) {
            t.scheduled = Some(at);
            self.deadlines.push(Reverse((at, name.to_owned())));
        }
    }

    /// Handles one accepted datagram at `now`, appending what to do to `out`.
    pub fn handle(&mut self, datagram: &Datagram, now: Timestamp, out: &mut Vec<Action>) {
        let Some(stamp) = datagram.message.stamp() else {
            return; // replies (ACK, CMD, UPD) are not for the daemon
        };
        let name = stamp.name.to_owned();
        let (default_interval, grace) = self.config.host_timing(&name);
        let tracked = match self.hosts.get_mut(&name) {
            Some(t) => t,
            None => {
                out.push(event(&name, now, EventKind::NewHost));
                self.hosts.insert(
                    name.clone(),
                    Tracked {
                        host: Host::new(&name, default_interval, now),
                        deadline: now,
                        scheduled: None,
                        dirty: false,
                    },
                );
                self.counts[HostState::Unknown as usize] += 1;
                // Invariant: inserted just above.
                self.hosts.get_mut(&name).unwrap_or_else(|| unreachable!())
            }
        };
        let host = &mut tracked.host;
        if let Some(old) = host.address
            && old.ip().to_canonical() != datagram.source.ip().to_canonical()
        {
            out.push(event(
                &name,
                now,
                EventKind::AddressChanged {
                    from: old.ip().to_canonical(),
                    to: datagram.source.ip().to_canonical(),
                },
            ));
        }
        host.address = Some(datagram.source);
        host.first_seen.get_or_insert(now);
        host.last_seen = Some(now);
        match &datagram.message {
            Message::Heartbeat(h) => {
                if let Some(interval) = h.interval {
                    host.interval = Duration::from_secs_f64(interval);
                }
                if h.rtt.is_some() {
                    host.last_rtt_ms = h.rtt;
                }
                if h.version.is_some() {
                    host.version.clone_from(&h.version);
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
                        server_ts: now.as_secs_f64(),
                    }),
                });
            }
            Message::Boot(b) => {
                host.boots += 1;
                if b.version.is_some() {
                    host.version.clone_from(&b.version);
                }
                host.uptime_s = b.uptime.or(host.uptime_s);
                out.push(event(&name, now, EventKind::Boot { uptime_s: b.uptime }));
            }
            Message::Text(m) => {
                out.push(event(
                    &name,
                    now,
                    EventKind::Message {
                        text: m.text.clone(),
                    },
                ));
            }
            _ => {}
        }
        if host.state != HostState::Up {
            let down_for = (host.state == HostState::Down).then(|| now.since(host.state_since));
            self.counts[host.state as usize] -= 1;
            self.counts[HostState::Up as usize] += 1;
            host.state = HostState::Up;
            host.state_since = now;
            out.push(event(
                &name,
                now,
                EventKind::Up {
                    down_for_s: down_for,
                },
            ));
        }
        tracked.deadline = now.plus(host.interval + grace);
        if !tracked.dirty {
            tracked.dirty = true;
            self.dirty.push(name.clone());
        }
        let deadline = tracked.deadline;
        if tracked.scheduled.is_none_or(|s| deadline < s) {
            self.schedule(&name, deadline);
        }
        match &datagram.message {
            Message::Plugin(report) => self.check_report(report, now, out),
            Message::Heartbeat(h) => {
                if let Some(rtt) = h.rtt {
                    self.check_rtt(&name, rtt, now, out);
                }
            }
            _ => {}
        }
    }

    /// Applies the passage of time: hosts silent past their deadline go DOWN, and alert
    /// reminders fall due.
    pub fn on_tick(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        let mut notices = Vec::new();
        self.alerts.on_tick(now, &mut notices);
        out.extend(notices.into_iter().map(Action::Alert));
        while let Some(Reverse((at, _))) = self.deadlines.peek() {
            if *at > now {
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
            if tracked.host.state != HostState::Up {
                continue;
            }
            if tracked.deadline > now {
                let deadline = tracked.deadline;
                self.schedule(&name, deadline);
                continue;
            }
            let host = &mut tracked.host;
            let silent_for = host
                .last_seen
                .map_or(Duration::ZERO, |seen| now.since(seen));
            self.counts[HostState::Up as usize] -= 1;
            self.counts[HostState::Down as usize] += 1;
            host.state = HostState::Down;
            host.state_since = now;
            if !tracked.dirty {
                tracked.dirty = true;
                self.dirty.push(name.clone());
            }
            out.push(event(
                &name,
                now,
                EventKind::Down {
                    silent_for_s: silent_for,
                },
            ));
        }
    }

    /// When [`Core::on_tick`] next has something to do.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let host = self.deadlines.peek().map(|Reverse((at, _))| *at);
        match (host, self.alerts.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Alert states changed since the last call, for the store.
    pub fn take_dirty_alerts(&mut self) -> Vec<AlertState> {
        self.alerts.take_dirty()
    }

    /// Every alert that is not OK.
    pub fn active_alerts(&self) -> Vec<AlertState> {
        self.alerts.active()
    }

    /// Every tracked alert path of one host.
    pub fn host_alerts(&self, host: &str) -> Vec<AlertState> {
        self.alerts.for_host(host)
    }

    /// Hosts changed since the last call, for the store.
    pub fn take_dirty(&mut self) -> Vec<Host> {
        let names = std::mem::take(&mut self.dirty);
        names
            .into_iter()
            .filter_map(|name| {
                let t = self.hosts.get_mut(&name)?;
                t.dirty = false;
                Some(t.host.clone())
            })
            .collect()
    }

    /// Marks hosts as changed again (a store batch could not be queued).
    pub fn mark_dirty<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        for name in names {
            if let Some(t) = self.hosts.get_mut(name)
                && !t.dirty
            {
                t.dirty = true;
                self.dirty.push(name.to_owned());
            }
        }
    }

    /// One host.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.get(name).map(|t| &t.host)
    }

    /// Every host, sorted by name.
    pub fn hosts(&self) -> Vec<&Host> {
        let mut all: Vec<&Host> = self.hosts.values().map(|t| &t.host).collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// How many hosts are in each state, in [`HostState::ALL`] order.
    pub fn counts(&self) -> [usize; 3] {
        self.counts
    }
}

fn event(host: &str, at: Timestamp, kind: EventKind) -> Action {
    Action::Event(Event {
        host: host.to_owned(),
        at,
        kind,
    })
}
