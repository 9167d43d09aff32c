//! Host state: every host's record, when each must be heard from next, and which records
//! the store has yet to write.
//!
//! One of the core's four siblings (hosts, alerts, outbox, policy). It knows nothing of
//! the others: what happens to a host comes out as [`Event`]s, which [`super::Core`]
//! passes on to alerts and the policy.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hb_proto::Message;

use super::by_name::ByName;
use super::settings::CoreSettings;
use super::words::Words;
use crate::clock::{Mono, Now};
use crate::model::{Event, EventKind, Host, HostState};

/// One host and what the core keeps beside its record.
#[derive(Debug)]
pub(super) struct Tracked {
    pub(super) host: Host,
    /// Monotonic time of the last datagram (`None`: not since this daemon started).
    pub(super) heard: Option<Mono>,
    /// Monotonic time `state` began (`None`: before this daemon started).
    since: Option<Mono>,
    /// DOWN once monotonic time passes this.
    pub(super) deadline: Mono,
    /// Time of this host's live entry in the deadline heap.
    scheduled: Option<Mono>,
    /// Changed since the store last took it.
    dirty: bool,
}

/// What a host's parents say when it misses its deadline.
pub(super) enum Parents {
    /// None is down: the host is DOWN.
    Fine,
    /// This parent is DOWN or UNREACHABLE: the host is UNREACHABLE.
    Down(String),
    /// A parent is UP but not heard since this host was due: ask again then.
    Unconfirmed(Mono),
}

/// What hearing from a host changed about its state.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Heard {
    /// It was DOWN or UNREACHABLE and is UP again.
    pub(super) came_back: bool,
    /// Its labels changed: the ones it declares now.
    pub(super) labels: Option<Arc<crate::model::Labels>>,
}

/// Every host's state, and when each must be heard from next.
#[derive(Debug, Default)]
pub(super) struct Hosts {
    /// By name: found by hash, listed sorted without a sort per request.
    by_name: ByName<Tracked>,
    /// When each UP host must be heard from next (its name shared with `by_name`);
    /// superseded entries stay until they come up and are skipped.
    deadlines: BinaryHeap<Reverse<(Mono, Arc<str>)>>,
    /// Hosts changed since the store last took them.
    dirty: Vec<String>,
    /// Hosts dropped since the store last took them.
    dropped: Vec<String>,
    /// Hosts per state, in [`HostState::ALL`] order, kept as states change.
    counts: [usize; 4],
    /// Configured children of each host (the reverse of `parents`).
    pub(super) children: HashMap<String, Vec<String>>,
    /// Agent versions and platforms, shared by the hosts that report the same.
    words: Words,
    /// Declared labels, shared likewise.
    label_sets: crate::groups::LabelSets,
}

impl Hosts {
    /// Takes the host settings in force: configured hosts not yet known appear as
    /// UNKNOWN, and UP hosts get their deadline from the (maybe new) interval and grace.
    pub(super) fn configure(&mut self, settings: &CoreSettings, now: Now) {
        self.children.clear();
        for (name, host) in &settings.hosts {
            for parent in &host.parents {
                self.children
                    .entry(parent.clone())
                    .or_default()
                    .push(name.clone());
            }
        }
        self.add_configured(settings, now);
        let names: Vec<String> = self.by_name.keys().map(str::to_owned).collect();
        for name in names {
            let Some(t) = self.by_name.get_mut(&name) else {
                continue;
            };
            if let (HostState::Up, Some(heard)) = (t.host.state, t.heard) {
                t.deadline = heard.plus(settings.allowance(&name, t.host.interval));
                let deadline = t.deadline;
                self.schedule(&name, deadline);
            }
        }
    }

    /// Configured hosts not yet known, as UNKNOWN and never heard from.
    fn add_configured(&mut self, settings: &CoreSettings, now: Now) {
        let names: Vec<String> = settings
            .hosts
            .keys()
            .filter(|n| !self.by_name.contains_key(n))
            .cloned()
            .collect();
        for name in names {
            let (interval, _) = settings.host_timing(&name);
            let mut host = Host::new(&name, interval, now.wall);
            host.first_seen = None;
            host.last_seen = None;
            self.insert(host, settings, now);
        }
    }

    /// Puts back hosts read from the store.
    pub(super) fn restore(&mut self, hosts: Vec<Host>, settings: &CoreSettings, now: Now) {
        for mut host in hosts {
            host.version = host.version.map(|v| self.words.intern(&v));
            host.labels = host.labels.map(|l| self.label_sets.intern(&l));
            self.insert(host, settings, now);
        }
    }

    /// Tracks a host from the store or the config. Stored wall times say nothing about
    /// this daemon's monotonic clock, so an UP host gets a full `interval + grace` from
    /// `now`.
    fn insert(&mut self, host: Host, settings: &CoreSettings, now: Now) {
        let deadline = now.mono.plus(settings.allowance(&host.name, host.interval));
        let name = host.name.clone();
        let up = host.state == HostState::Up;
        self.counts[host.state as usize] += 1;
        let replaced = self.by_name.insert(
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

    /// Forgets a host (an operator dropped it); a configured one stays known, as if
    /// never heard from. `None` when it is not known.
    pub(super) fn drop_host(
        &mut self,
        name: &str,
        settings: &CoreSettings,
        now: Now,
    ) -> Option<Host> {
        let tracked = self.by_name.remove(name)?;
        self.counts[tracked.host.state as usize] -= 1;
        self.dirty.retain(|n| n != name);
        self.dropped.push(name.to_owned());
        self.add_configured(settings, now);
        Some(tracked.host)
    }

    pub(super) fn schedule(&mut self, name: &str, at: Mono) {
        let Some(shared) = self.by_name.name(name).cloned() else {
            return;
        };
        if let Some(t) = self.by_name.get_mut(name) {
            t.scheduled = Some(at);
            self.deadlines.push(Reverse((at, shared)));
        }
    }

    fn mark_dirty(&mut self, name: &str) {
        if let Some(t) = self.by_name.get_mut(name)
            && !t.dirty
        {
            t.dirty = true;
            self.dirty.push(name.to_owned());
        }
    }

    /// Records a datagram from `name` (a host not known yet is added): where it came
    /// from, what its heartbeat or boot says, and that it is UP. What happened to the
    /// host is appended to `events`.
    #[inline]
    pub(super) fn hear(
        &mut self,
        name: &str,
        message: &Message,
        source: SocketAddr,
        settings: &CoreSettings,
        now: Now,
        events: &mut Vec<Event>,
    ) -> Heard {
        let tracked = match self.by_name.get_mut(name) {
            Some(t) => t,
            None => {
                let (default_interval, _) = settings.host_timing(name);
                events.push(event(name, now, EventKind::NewHost));
                self.by_name.insert(
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
                self.by_name.get_mut(name).unwrap_or_else(|| unreachable!())
            }
        };
        let host = &mut tracked.host;
        let mut new_labels = None;
        if let Some(old) = host.address
            && old.ip().to_canonical() != source.ip().to_canonical()
        {
            events.push(event(
                name,
                now,
                EventKind::AddressChanged {
                    from: old.ip().to_canonical(),
                    to: source.ip().to_canonical(),
                },
            ));
        }
        host.address = Some(source);
        host.first_seen.get_or_insert(now.wall);
        host.last_seen = Some(now.wall);
        tracked.heard = Some(now.mono);
        // What `mark_dirty` does, without looking the host up again (every datagram).
        if !tracked.dirty {
            tracked.dirty = true;
            self.dirty.push(name.to_owned());
        }
        match message {
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
                if let Some(labels) = &h.labels
                    && host.labels.as_deref() != Some(labels)
                {
                    let shared = self.label_sets.intern(labels);
                    host.labels = Some(shared.clone());
                    new_labels = Some(shared);
                }
                if let Some(accepts) = &h.accepts
                    && host.accepts.as_deref() != Some(accepts)
                {
                    host.accepts = Some(Arc::new(accepts.clone()));
                }
            }
            Message::Boot(b) => {
                host.boots += 1;
                if let Some(v) = &b.version {
                    host.version = Some(self.words.intern(v));
                }
                host.uptime_s = b.uptime.or(host.uptime_s);
                events.push(event(name, now, EventKind::Boot { uptime_s: b.uptime }));
            }
            Message::Text(m) => {
                events.push(event(
                    name,
                    now,
                    EventKind::Message {
                        text: m.text.clone(),
                    },
                ));
            }
            _ => {}
        }
        let mut heard = Heard {
            labels: new_labels,
            ..Heard::default()
        };
        let mut now_up = false;
        if host.state != HostState::Up {
            now_up = true;
            let down_for = (host.state == HostState::Down).then(|| match tracked.since {
                Some(since) => now.mono.since(since),
                None => now.wall.since(host.state_since),
            });
            heard.came_back = matches!(host.state, HostState::Down | HostState::Unreachable);
            self.counts[host.state as usize] -= 1;
            self.counts[HostState::Up as usize] += 1;
            host.state = HostState::Up;
            host.state_since = now.wall;
            tracked.since = Some(now.mono);
            events.push(event(
                name,
                now,
                EventKind::Up {
                    down_for_s: down_for,
                },
            ));
        }
        tracked.deadline = now.mono.plus(settings.allowance(name, host.interval));
        let deadline = tracked.deadline;
        if tracked.scheduled.is_none_or(|s| deadline < s) {
            self.schedule(name, deadline);
        }
        if now_up {
            self.recheck_children(name, settings, now);
        }
        heard
    }

    /// Applies the passage of time: hosts silent past their deadline go DOWN, or
    /// UNREACHABLE behind a DOWN parent; each change is appended to `events`.
    pub(super) fn expire(&mut self, settings: &CoreSettings, now: Now, events: &mut Vec<Event>) {
        while let Some(Reverse((at, _))) = self.deadlines.peek() {
            if *at > now.mono {
                break;
            }
            let Some(Reverse((at, name))) = self.deadlines.pop() else {
                break;
            };
            let Some(tracked) = self.by_name.get_mut(&name) else {
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
            match self.parents_of(&name, settings, now) {
                Parents::Fine => {}
                Parents::Unconfirmed(at) => {
                    self.schedule(&name, at);
                    continue;
                }
                Parents::Down(parent) => {
                    let Some(tracked) = self.by_name.get_mut(&name) else {
                        continue;
                    };
                    if tracked.host.state == HostState::Up {
                        self.counts[HostState::Up as usize] -= 1;
                        self.counts[HostState::Unreachable as usize] += 1;
                        tracked.host.state = HostState::Unreachable;
                        tracked.host.state_since = now.wall;
                        tracked.since = Some(now.mono);
                        self.mark_dirty(&name);
                        events.push(event(&name, now, EventKind::Unreachable { parent }));
                    }
                    continue;
                }
            }
            let Some(tracked) = self.by_name.get_mut(&name) else {
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
            events.push(event(
                &name,
                now,
                EventKind::Down {
                    silent_for_s: silent_for,
                },
            ));
        }
    }

    /// When the next host falls due.
    pub(super) fn next_deadline(&self) -> Option<Mono> {
        self.deadlines.peek().map(|Reverse((at, _))| *at)
    }

    /// Hosts changed and hosts dropped since the last call, for the store.
    pub(super) fn take_changes(&mut self) -> (Vec<Host>, Vec<String>) {
        let names = std::mem::take(&mut self.dirty);
        let hosts = names
            .into_iter()
            .filter_map(|name| {
                let t = self.by_name.get_mut(&name)?;
                t.dirty = false;
                Some(t.host.clone())
            })
            .collect();
        (hosts, std::mem::take(&mut self.dropped))
    }

    /// Hosts dropped and not yet taken by the store.
    pub(super) fn dropped(&self) -> &[String] {
        &self.dropped
    }

    pub(super) fn tracked(&self, name: &str) -> Option<&Tracked> {
        self.by_name.get(name)
    }

    /// One host.
    pub(super) fn get(&self, name: &str) -> Option<&Host> {
        self.by_name.get(name).map(|t| &t.host)
    }

    pub(super) fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    pub(super) fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Every host, by name.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Host> {
        self.by_name.values().map(|t| &t.host)
    }

    /// The hosts after `name` (all with `None`), by name.
    pub(super) fn after(&self, name: Option<&str>) -> impl Iterator<Item = &Host> {
        self.by_name.after(name).map(|t| &t.host)
    }

    /// How many hosts are in each state, in [`HostState::ALL`] order.
    pub(super) fn counts(&self) -> [usize; 4] {
        self.counts
    }

    pub(super) fn get_tracked_mut(&mut self, name: &str) -> Option<&mut Tracked> {
        self.by_name.get_mut(name)
    }
}

fn event(host: &str, now: Now, kind: EventKind) -> Event {
    Event {
        host: host.to_owned(),
        at: now.wall,
        kind,
    }
}
