//! The engine: the one task that owns the [`Core`]. It feeds the core accepted datagrams,
//! operator commands and timer ticks, and carries out the actions: replies on the UDP
//! socket, journal entries, store batches, notifications, live updates and metrics. It
//! also answers the HTTP API's requests and takes up reloaded configurations.
//!
//! Fairness: every turn does a bounded amount of work, and timers come first. A turn
//! takes at most [`MAX_BATCHES_PER_TURN`] batches of datagrams, then runs whatever
//! deadline has passed, so a receive queue that never empties (a flood, the burst after
//! an outage) cannot hold back DOWN detection, reminders, store flushes or API answers.

pub mod control;
mod outputs;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use hb_proto::Message;

use crate::alerting::AlertState;
use crate::clock::{Clock, Now, Timestamp};
use crate::config::{Config, SharedConfig};
use crate::core::{Action, Command, CommandError, Core, CoreSettings, Host, Outcome};
use crate::dns::worker::Dns;
use crate::ha::Report;
use crate::journal::{Entry, Journal};
use crate::live::{Publisher, Resume, Start, Subscription, UpdateKind};
use crate::metrics::Metrics;
use crate::model::AckChange;
use crate::notify::{Notifier, NotifyError};
use crate::receiver::Inbound;
use crate::samples::{Latest, Sample};
use crate::store::{Batch, HistoryEntry};
use control::{Control, Heard, Reconfigure};

/// How often changed hosts are written to the store.
pub const STORE_FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Most inbound batches (of up to `receiver::BATCH` datagrams) handled in one turn.
pub const MAX_BATCHES_PER_TURN: usize = 16;

/// The API's queries waiting for the engine; when full the API answers 503 at once.
/// The daemon's own tasks (reloads, the HA pair, the DNS worker) have queues of their
/// own ([`control`]), so a full query queue never delays them.
pub const QUERY_QUEUE: usize = 64;

/// How long the last store batch may wait for room in the writer's queue at shutdown.
pub const FINAL_FLUSH_WAIT: Duration = Duration::from_secs(5);

/// A query from the HTTP API: a question, an operator's command or a subscription. Each
/// carries the channel for its answer.
#[derive(Debug)]
pub enum Query {
    /// Whether the engine answers (`/healthz`).
    Ping(oneshot::Sender<()>),
    /// Every host.
    Hosts(oneshot::Sender<Vec<Host>>),
    /// Every host's name, sorted.
    HostNames(oneshot::Sender<Vec<String>>),
    /// One page of the hosts that pass a filter, by name, and how many pass.
    HostPage(HostQuery, oneshot::Sender<(usize, Vec<Host>)>),
    /// One host by name.
    Host(String, oneshot::Sender<Option<Host>>),
    /// Every alert that is not OK.
    Alerts(oneshot::Sender<Vec<AlertState>>),
    /// Every check run from several vantage points, with each one's answer.
    Checks(oneshot::Sender<Vec<hbd_core::vantage::CheckView>>),
    /// Every acknowledgement in force.
    Acks(oneshot::Sender<Vec<(crate::core::acks::Subject, crate::model::Ack)>>),
    /// Every tracked alert path of a host (`None`: unknown host).
    HostAlerts(String, oneshot::Sender<Option<Vec<AlertState>>>),
    /// A host's commands for its agent, newest first (`None`: no such host).
    HostJobs(String, oneshot::Sender<Option<Vec<crate::core::Job>>>),
    /// Apply an operator's command.
    Command(Command, oneshot::Sender<Result<Outcome, CommandError>>),
    /// A snapshot and the live updates after it.
    Subscribe(Option<Resume>, oneshot::Sender<(Start, Subscription)>),
    /// Every silence, newest first, and the latest storm groups.
    Policy(
        oneshot::Sender<(
            Vec<crate::policy::silence::Silence>,
            Vec<crate::policy::storm::StormRecord>,
        )>,
    ),
}

/// Whether a host is wanted in a listing.
pub type HostFilter = std::sync::Arc<dyn Fn(&Host) -> bool + Send + Sync>;

/// Which hosts a [`Query::HostPage`] wants. Only the page is copied out of the
/// engine, and a long list is asked for in chunks, so reading 10,000 hosts never holds
/// up heartbeats for long.
pub struct HostQuery {
    /// Whether a host is wanted (visibility, state, name); `None`: every host.
    pub filter: Option<HostFilter>,
    /// Start after this host name (the last one of the previous chunk).
    pub after: Option<String>,
    /// Wanted hosts skipped first.
    pub offset: usize,
    /// Hosts returned at most.
    pub limit: usize,
    /// Count every wanted host (the first chunk); otherwise stop once the page is full
    /// and answer 0.
    pub count: bool,
}

impl std::fmt::Debug for HostQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostQuery")
            .field("after", &self.after)
            .field("offset", &self.offset)
            .field("limit", &self.limit)
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

/// One page of hosts and, if asked, how many are wanted in all.
fn host_page(core: &Core, q: &HostQuery) -> (usize, Vec<Host>) {
    let hosts = core.hosts_after(q.after.as_deref());
    match &q.filter {
        None => {
            let total = if q.count { core.host_count() } else { 0 };
            let page = hosts.skip(q.offset).take(q.limit).cloned().collect();
            (total, page)
        }
        Some(wanted) => {
            let mut total = 0;
            let mut page = Vec::new();
            for host in hosts.filter(|h| wanted(h)) {
                if total >= q.offset && page.len() < q.limit {
                    page.push(host.clone());
                } else if !q.count && page.len() == q.limit {
                    return (0, page);
                }
                total += 1;
            }
            (if q.count { total } else { 0 }, page)
        }
    }
}

/// What the engine is built from.
#[derive(Debug)]
pub struct Parts {
    /// The core it drives.
    pub core: Core,
    /// Its clock.
    pub clock: Clock,
    /// The configuration in force, shared with the receiver's gate.
    pub config: SharedConfig,
    /// Users and access in force (who hears about which host).
    pub directories: crate::auth::directory::Directories,
    /// The labels hosts declare, kept current for the API's access checks.
    pub labels: crate::auth::labels::HostLabels,
    /// The heartbeat socket, for replies.
    pub socket: Arc<UdpSocket>,
    /// Journal handle.
    pub journal: Journal,
    /// Store batches (`None`: no store, as in tests).
    pub store: Option<SyncSender<Batch>>,
    /// Latest plugin sample per host and plugin (shared with the API).
    pub latest: Latest,
    /// Telemetry.
    pub metrics: Arc<Metrics>,
    /// The live stream.
    pub live: Publisher,
    /// Cancelled to stop the notification workers (after their drain at shutdown).
    pub stop_notifying: CancellationToken,
    /// The DNS task (host records through nsupdate).
    pub dns: Dns,
    /// Metric history out to a TSDB, when `remote_write` is configured.
    pub remote_write: Option<crate::remote_write::RemoteWrite>,
    /// The HA pair's coordination, when `ha` is configured: every message is claimed
    /// through it, and it sends what it approves to the notifier in force, which the
    /// engine hands it through `delivery`.
    pub ha: Option<crate::ha::Pair>,
    /// Where the engine puts the notifier in force for the HA pair (set with `ha`).
    pub delivery: Option<tokio::sync::watch::Sender<Option<Arc<dyn crate::ha::Deliver>>>>,
}

/// The engine task's state.
#[derive(Debug)]
pub struct Engine {
    parts: Parts,
    notifier: Option<Notifier>,
    workers: Vec<JoinHandle<()>>,
    /// Changes not yet handed to the store (the writer was behind).
    pending: Batch,
    /// Latest heartbeat per host this turn, published once at the end of the turn.
    beats: HashMap<String, (Option<Timestamp>, Option<f64>)>,
    /// Host events and alert notices for the store's history, since the last flush
    /// (only kept when there is a store).
    history: Vec<HistoryEntry>,
    /// Replies of this turn, sent at its end.
    replies: crate::replies::Replies,
    /// The configuration in force, as the engine last took it (keys for replies, DNS
    /// zones): read on every reply, so held here rather than behind the shared lock.
    config: Arc<Config>,
}

impl Engine {
    /// An engine with the notification channels of the config in force.
    pub fn new(parts: Parts) -> Result<Engine, NotifyError> {
        let mut engine = Engine {
            config: parts.config.get(),
            replies: Default::default(),
            parts,
            notifier: None,
            workers: Vec::new(),
            pending: Batch::default(),
            beats: HashMap::new(),
            history: Vec::new(),
        };
        // One of a pair starts as standby (so does its core) until the lease says.
        if engine.parts.ha.is_some() {
            let hold = crate::policy::Reason::Standby { leader: None };
            let now = engine.parts.clock.now();
            // Nothing is told on entering standby: no actions to carry out.
            engine
                .parts
                .core
                .set_standby(Some(hold), None, now, &mut Vec::new());
        }
        engine.start_notifier()?;
        Ok(engine)
    }

    fn start_notifier(&mut self) -> Result<(), NotifyError> {
        let p = &self.parts;
        let (notifier, workers) = Notifier::start(
            p.config.get(),
            p.directories.clone(),
            p.journal.clone(),
            p.metrics.clone(),
            p.stop_notifying.clone(),
        )?;
        // The previous notifier's workers end once they have delivered their queues.
        self.notifier = notifier.has_channels().then_some(notifier);
        if let Some(delivery) = &self.parts.delivery {
            let current = self
                .notifier
                .clone()
                .map(|n| Arc::new(n) as Arc<dyn crate::ha::Deliver>);
            delivery.send_replace(current);
        }
        self.workers.retain(|w| !w.is_finished());
        self.workers.extend(workers);
        Ok(())
    }

    /// Runs until `shutdown` is cancelled or the inbound queue closes, then hands the
    /// last store batch over (waiting up to [`FINAL_FLUSH_WAIT`] for room). Returns the
    /// notification workers, for the caller to drain.
    pub async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Vec<Inbound>>,
        mut requests: mpsc::Receiver<Query>,
        mut control: Control,
        shutdown: CancellationToken,
    ) -> Vec<JoinHandle<()>> {
        let mut batches = Vec::with_capacity(MAX_BATCHES_PER_TURN);
        let mut actions = Vec::with_capacity(16);
        let mut journal = Vec::with_capacity(256);
        let mut flush = tokio::time::interval(STORE_FLUSH_EVERY);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.parts.metrics.set_hosts(self.parts.core.counts());
        let clock = self.parts.clock;
        loop {
            let wake = match self.parts.core.next_deadline() {
                Some(at) => clock.instant(at),
                None => tokio::time::Instant::now() + Duration::from_secs(3600),
            };
            // Timers first, then the daemon's own tasks, then the API's requests, then
            // datagrams: each branch does bounded work, so none can starve the others.
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep_until(wake) => {}
                _ = flush.tick() => self.flush_store(),
                heard = control.recv() => self.take(heard, &mut actions, &mut journal),
                Some(request) = requests.recv() => self.answer(request, &mut actions, &mut journal),
                n = inbound.recv_many(&mut batches, MAX_BATCHES_PER_TURN) => {
                    if n == 0 {
                        break;
                    }
                    for mut batch in batches.drain(..) {
                        for item in &mut batch {
                            self.on_inbound(item, &mut actions, &mut journal);
                        }
                        // Each batch's replies go out before the next batch is read:
                        // agents (and the next heartbeats) need not wait for the turn.
                        self.send_replies();
                    }
                    self.publish_beats();
                }
            }
            // Whatever deadline has passed runs now, whichever branch woke us.
            if self
                .parts
                .core
                .next_deadline()
                .is_some_and(|at| at <= clock.mono())
            {
                self.parts.core.on_tick(clock.now(), &mut actions);
                self.dispatch(&mut actions, &mut journal);
            }
            self.send_replies();
            self.parts.journal.record(std::mem::take(&mut journal));
        }
        self.send_replies();
        self.final_flush().await;
        self.workers
    }

    /// Takes in one datagram where it lies in its batch: the core borrows it, and only
    /// what is kept (a plugin report, a host name for the live stream) is moved out.
    fn on_inbound(
        &mut self,
        item: &mut Inbound,
        actions: &mut Vec<Action>,
        journal: &mut Vec<Entry>,
    ) {
        // The receiver has journaled the datagram itself.
        let at = item.at;
        self.parts.core.handle(&item.datagram, at, actions);
        let live = self.parts.live.active();
        match &mut item.datagram.message {
            message @ Message::Plugin(_) => {
                // The core only borrowed the report; it now moves into the sample, uncopied.
                if let Message::Plugin(report) = std::mem::replace(message, Message::Unknown) {
                    self.on_report(report, at, live);
                }
            }
            Message::Heartbeat(h) => {
                if let Some(rw) = &self.parts.remote_write {
                    let ts = crate::remote_write::series::report_time(h.ts, at.wall);
                    rw.push(crate::remote_write::series::host(
                        &h.name,
                        true,
                        h.rtt,
                        ts,
                        &rw.external,
                    ));
                }
                if live {
                    let seen = self
                        .parts
                        .core
                        .host(&h.name)
                        .and_then(|host| host.last_seen);
                    self.beats
                        .insert(std::mem::take(&mut h.name), (seen, h.rtt));
                }
            }
            _ => {}
        }
        self.dispatch(actions, journal);
    }

    /// Keeps a plugin's report: the latest sample, the store, the TSDB, the live stream.
    fn on_report(&mut self, report: hb_proto::message::PluginReport, at: Now, live: bool) {
        let ts = crate::remote_write::series::report_time(report.ts, at.wall);
        let sample = Arc::new(Sample::from_report(report, at.wall));
        if let Some(rw) = &self.parts.remote_write {
            rw.push(crate::remote_write::series::report(
                &sample.host,
                &sample.plugin,
                &sample.data,
                ts,
                &rw.external,
            ));
        }
        if live {
            self.parts.live.publish(UpdateKind::Plugin {
                host: sample.host.clone(),
                plugin: sample.plugin.clone(),
                status: sample.status,
                received: sample.received,
            });
        }
        self.parts.latest.insert(sample.clone());
        // Capped where it is inserted: the store may be behind.
        if self.pending.samples.len() < crate::store::MAX_PENDING_SAMPLES {
            self.pending.samples.push(sample);
        } else {
            self.parts.metrics.samples_dropped.inc();
        }
    }

    fn publish_beats(&mut self) {
        for (host, (last_seen, rtt_ms)) in self.beats.drain() {
            self.parts.live.publish(UpdateKind::Heartbeat {
                host,
                last_seen,
                rtt_ms,
            });
        }
    }

    fn answer(&mut self, request: Query, actions: &mut Vec<Action>, journal: &mut Vec<Entry>) {
        let core = &self.parts.core;
        match request {
            Query::Ping(reply) => {
                let _ = reply.send(());
            }
            Query::Hosts(reply) => {
                let _ = reply.send(core.hosts().into_iter().cloned().collect());
            }
            Query::HostNames(reply) => {
                let _ = reply.send(core.hosts_after(None).map(|h| h.name.clone()).collect());
            }
            Query::HostPage(query, reply) => {
                let _ = reply.send(host_page(core, &query));
            }
            Query::Host(name, reply) => {
                let _ = reply.send(core.host(&name).cloned());
            }
            Query::Policy(reply) => {
                let _ = reply.send((core.silences(), core.storms()));
            }
            Query::Alerts(reply) => {
                let _ = reply.send(core.active_alerts(self.parts.clock.now()));
            }
            Query::Checks(reply) => {
                let _ = reply.send(core.checks(|_| true));
            }
            Query::Acks(reply) => {
                let _ = reply.send(core.acks());
            }
            Query::HostJobs(name, reply) => {
                let known = core.host(&name).is_some();
                let _ = reply.send(known.then(|| core.jobs(&name)));
            }
            Query::HostAlerts(name, reply) => {
                let known = core.host(&name).is_some();
                let now = self.parts.clock.now();
                let _ = reply.send(known.then(|| core.host_alerts(&name, now)));
            }
            Query::Subscribe(resume, reply) => {
                let now = self.parts.clock.now();
                let snapshot = || {
                    let hosts = core.hosts_after(None).cloned().collect();
                    (hosts, core.active_alerts(now))
                };
                let _ = reply.send(self.parts.live.subscribe(resume.as_ref(), snapshot));
            }
            Query::Command(command, reply) => {
                let now = self.parts.clock.now();
                // The acknowledgement a withdrawal takes back, for the pair.
                let withdrawn = match &command {
                    Command::Withdraw { host, path } => self
                        .parts
                        .core
                        .ack_change(host, path.as_deref())
                        .map(|c| AckChange {
                            withdrawn: true,
                            ..c
                        }),
                    _ => None,
                };
                let result = self.parts.core.apply(&command, now, actions);
                tracing::info!(?command, ?result, "command");
                if let Some(pair) = &self.parts.ha {
                    match (&command, &result) {
                        // The pair's other daemon sends it if this one cannot.
                        (_, Ok(Outcome::Queued { job })) => pair.share(job.as_ref().clone()),
                        // ... and holds the same reminders.
                        (Command::Acknowledge { host, path, .. }, Ok(_)) => {
                            if let Some(change) = self.parts.core.ack_change(host, path.as_deref())
                            {
                                pair.share_ack(change);
                            }
                        }
                        (Command::Withdraw { .. }, Ok(_)) => {
                            if let Some(change) = withdrawn {
                                pair.share_ack(change);
                            }
                        }
                        _ => {}
                    }
                }
                journal.push(Entry::Command {
                    at: now.wall,
                    command: serde_json::to_value(&command).unwrap_or_default(),
                    result: match &result {
                        Ok(_) => "ok".into(),
                        Err(e) => e.to_string(),
                    },
                });
                self.dispatch(actions, journal);
                let _ = reply.send(result);
            }
        }
    }

    /// Takes a message from one of the daemon's own tasks.
    fn take(&mut self, heard: Heard, actions: &mut Vec<Action>, journal: &mut Vec<Entry>) {
        let report = match heard {
            Heard::Rollout(progress) => {
                self.parts
                    .live
                    .publish(UpdateKind::Rollout(Box::new(progress)));
                return;
            }
            Heard::Dns(crate::dns::worker::Written(host, status)) => {
                // A record failing too long, or written again, is told like an event.
                let now = self.parts.clock.now();
                self.parts.core.dns_status(&host, &status, now, actions);
                self.dispatch(actions, journal);
                self.parts.live.publish(UpdateKind::Dns { host, status });
                return;
            }
            Heard::Reload(Reconfigure(config, reply)) => {
                let result = self.reconfigure(config, actions, journal);
                let _ = reply.send(result);
                return;
            }
            Heard::Pair(report) => report,
        };
        match report {
            Report::AdoptJobs(jobs) => {
                let now = self.parts.clock.now();
                self.parts.core.adopt_jobs(jobs, now, actions);
                self.dispatch(actions, journal);
            }
            Report::AdoptAcks(changes) => {
                let now = self.parts.clock.now();
                self.parts.core.adopt_acks(changes, now, actions);
                self.dispatch(actions, journal);
            }
            Report::Told(told) => {
                let now = self.parts.clock.now();
                self.parts.core.merge_told(told, now, actions);
                self.dispatch(actions, journal);
            }
            Report::Role(change) => {
                let now = self.parts.clock.now();
                let standby = match &change.role {
                    crate::ha::Role::Standby { leader } => Some(crate::policy::Reason::Standby {
                        leader: leader.clone(),
                    }),
                    _ => None,
                };
                let took_over = self.parts.core.is_standby() && standby.is_none();
                self.parts
                    .core
                    .set_standby(standby, change.told, now, actions);
                if took_over {
                    // The standby wrote no DNS: the new leader makes every record current.
                    self.keep_all_dns();
                }
                self.dispatch(actions, journal);
            }
        }
    }

    fn reconfigure(
        &mut self,
        config: Arc<Config>,
        actions: &mut Vec<Action>,
        journal: &mut Vec<Entry>,
    ) -> Result<(), NotifyError> {
        let now: Now = self.parts.clock.now();
        self.parts.config.set(config.clone());
        self.parts
            .core
            .reconfigure(CoreSettings::from(&*config), now, actions);
        self.config = config;
        self.dispatch(actions, journal);
        self.start_notifier()?;
        tracing::info!("configuration reloaded");
        Ok(())
    }

    /// Hands what changed to the store; if its queue is full, keeps it for next time.
    fn flush_store(&mut self) {
        let Some(store) = &self.parts.store else {
            return;
        };
        let changes = self.parts.core.take_changes();
        for host in &changes.hosts {
            self.parts.labels.set(&host.name, host.labels.as_ref());
        }
        for host in &changes.dropped_hosts {
            self.parts.labels.set(host, None);
        }
        let lost = self.pending.merge(Batch {
            hosts: changes.hosts,
            samples: Vec::new(),
            alerts: changes.alerts,
            dropped_hosts: changes.dropped_hosts,
            dropped_alerts: changes.dropped_alerts,
            history: std::mem::take(&mut self.history),
            jobs: changes.jobs,
            silences: changes.silences,
            told: changes.told,
            acks: changes.acks,
        });
        self.parts.metrics.samples_dropped.inc_by(lost as u64);
        if self.pending.is_empty() {
            return;
        }
        match store.try_send(std::mem::take(&mut self.pending)) {
            Ok(()) => {}
            Err(TrySendError::Full(batch) | TrySendError::Disconnected(batch)) => {
                tracing::warn!(
                    hosts = batch.hosts.len(),
                    samples = batch.samples.len(),
                    "store writer behind; retrying next flush"
                );
                self.pending = batch;
            }
        }
    }

    /// The last batch at shutdown waits for room instead of giving up on a full queue.
    async fn final_flush(&mut self) {
        self.flush_store();
        let (Some(store), false) = (self.parts.store.take(), self.pending.is_empty()) else {
            return;
        };
        let batch = std::mem::take(&mut self.pending);
        let (hosts, samples) = (batch.hosts.len(), batch.samples.len());
        let send = tokio::task::spawn_blocking(move || store.send(batch).is_ok());
        match tokio::time::timeout(FINAL_FLUSH_WAIT, send).await {
            Ok(Ok(true)) => {}
            _ => {
                self.parts.metrics.samples_dropped.inc_by(samples as u64);
                tracing::error!(
                    hosts,
                    samples,
                    "last store batch not handed to the store within the shutdown wait"
                );
            }
        }
    }
}
