//! An HA pair of daemons with one notifier. Agents send every datagram to both
//! (`servers: [a, b]`), so both hold full state; only the holder of a lease in
//! PostgreSQL tells anyone (notifications, DNS updates, commands to agents). Each message
//! is claimed in PostgreSQL before it is sent, with a write fenced by the lease's epoch,
//! and what it tells is kept there, so a daemon taking over tells whatever differs from
//! what its predecessor told (a RECOVERED included) and nothing twice. Coordination
//! unreachable for `fail_open_after` makes each daemon tell on its own, tagged.
//!
//! - [`role`]: which part this daemon plays, from each renewal (pure).
//! - [`pg`]: the lease, the fenced claim, the shared record and the shared queues, in
//!   PostgreSQL; [`shared`]: this daemon's side of a shared queue (commands,
//!   acknowledgements).
//!
//! The task here only moves data: role changes, approved messages and the commands the
//! other daemon queued go to the engine through its request queue; the engine hands
//! messages, newly queued commands and acknowledgements here through bounded queues.
//! Commands are shared so that one queued on a daemon that then dies is still sent by
//! the one that leads; acknowledgements, so that one made on either daemon holds the
//! reminders and escalation of whichever tells.

pub mod pg;
pub use hbd_core::ha::role;
pub mod settings;
pub mod shared;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::model::{AckChange, Job, Level, Notification};
use pg::Db;
pub use role::{Renewal, Role, RoleChange, Tracker};
pub use settings::{Settings, default_node};
use shared::Shared;

/// Message groups waiting for their claim, at most (full: the group is dropped and
/// counted; the engine is never blocked).
pub const QUEUE_LEN: usize = 1024;

/// Groups kept while PostgreSQL does not answer, waiting to be claimed or to fail open
/// (past this the oldest is dropped, counted).
pub const MAX_WAITING: usize = 1024;

/// What the coordination task tells the engine, on its own bounded queue
/// ([`REPORTS_QUEUE`]; the task waits when it is full, the engine serves it before the
/// API's requests).
#[derive(Debug)]
pub enum Report {
    /// This daemon's part in its pair changed.
    Role(RoleChange),
    /// Commands the pair's other daemon queued, from the shared queue.
    AdoptJobs(Vec<Job>),
    /// Acknowledgements made or taken back on either daemon, from the shared queue.
    AdoptAcks(Vec<AckChange>),
    /// Rows of the pair's record the other daemon wrote while this one leads: what it
    /// told on its own while coordination was down (`(host, path or "", level)`).
    Told(Vec<(String, String, Level)>),
}

/// Where messages the coordination approved go: the notifier in force. The pair hands
/// them over itself, so a message travels one way (policy, claim, notifier) and never
/// back through the engine.
pub trait Deliver: Send + Sync + std::fmt::Debug {
    /// Sends `group` (one message, or a storm group), each text led by `[tag]` when
    /// given.
    fn deliver(&self, group: &[Notification], tag: Option<&str>);
}

/// The notifier in force as the pair sees it (`None`: no channels configured); the
/// engine swaps it when a reload starts new channels.
pub type Delivery = tokio::sync::watch::Receiver<Option<Arc<dyn Deliver>>>;

/// Reports waiting for the engine at most.
pub const REPORTS_QUEUE: usize = 256;

/// How long the shared queues keep an item: longer than any command can wait (the API
/// lets one wait at most 7 days); the leader removes older ones.
pub const JOBS_KEPT: Duration = Duration::from_secs(8 * 24 * 3600);

/// The engine's handle: messages to claim, commands to share.
#[derive(Debug, Clone)]
pub struct Pair {
    claims: mpsc::Sender<Vec<Notification>>,
    jobs: mpsc::Sender<Job>,
    acks: mpsc::Sender<AckChange>,
    metrics: Arc<Metrics>,
}

impl Pair {
    /// Starts the coordination task; it reports to the engine through `reports` and
    /// hands the messages it approves to `delivery`.
    pub fn start(
        settings: Settings,
        reports: mpsc::Sender<Report>,
        delivery: Delivery,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) -> (Pair, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE_LEN);
        let (jobs, jobs_rx) = mpsc::channel(QUEUE_LEN);
        let (acks, acks_rx) = mpsc::channel(QUEUE_LEN);
        let inbox = Inbox {
            claims: rx,
            jobs: jobs_rx,
            acks: acks_rx,
        };
        let task = tokio::spawn(run(
            settings,
            inbox,
            reports,
            delivery,
            metrics.clone(),
            shutdown,
        ));
        (
            Pair {
                claims: tx,
                jobs,
                acks,
                metrics,
            },
            task,
        )
    }

    /// Hands a command just queued here over to the pair's shared queue. Never blocks:
    /// with the queue full it stays this daemon's alone (sent when this daemon leads),
    /// logged.
    pub fn share(&self, job: Job) {
        if let Err(e) = self.jobs.try_send(job) {
            let id = match &e {
                mpsc::error::TrySendError::Full(j) | mpsc::error::TrySendError::Closed(j) => {
                    j.id.clone()
                }
            };
            tracing::error!(cmd_id = %id, "HA job queue full or closed: command not shared with the pair");
        }
    }

    /// Hands an acknowledgement just made or taken back here over to the pair's shared
    /// queue, so the other daemon holds the same reminders. Never blocks: with the
    /// queue full it stays this daemon's alone, logged.
    pub fn share_ack(&self, change: AckChange) {
        if let Err(e) = self.acks.try_send(change) {
            let host = match &e {
                mpsc::error::TrySendError::Full(c) | mpsc::error::TrySendError::Closed(c) => {
                    c.host.clone()
                }
            };
            tracing::error!(%host, "HA queue full or closed: acknowledgement not shared with the pair");
        }
    }

    /// Hands a message group over to be claimed and sent. Never blocks: a full queue
    /// drops it, counted and logged.
    pub fn claim(&self, group: Vec<Notification>) {
        if let Err(e) = self.claims.try_send(group) {
            let lost = match &e {
                mpsc::error::TrySendError::Full(g) | mpsc::error::TrySendError::Closed(g) => {
                    g.len()
                }
            };
            self.metrics.ha_messages("dropped", lost as u64);
            tracing::error!(
                messages = lost,
                "HA claim queue full or closed: messages dropped"
            );
        }
    }
}

/// The states last told that a group establishes: `(host, path or "", level)`.
fn told_of(group: &[Notification]) -> Vec<(String, String, Level)> {
    group
        .iter()
        .filter_map(crate::policy::told_by)
        .map(|(h, p, l)| (h.to_owned(), p.unwrap_or("").to_owned(), l))
        .collect()
}

/// A group's line in the claims' log (`hbd_sent`): the first line of each text.
fn claim_line(group: &[Notification]) -> String {
    group
        .iter()
        .filter_map(crate::render::text)
        .map(|t| t.lines().next().unwrap_or("").to_owned())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// What a group needs to be claimed and handed back: the pair's settings and where
/// approved messages go.
struct Claimer {
    settings: Settings,
    lease: String,
    fail_open_tag: String,
    delivery: Delivery,
    metrics: Arc<Metrics>,
}

/// One renewal: takes or renews the lease, or learns who holds it. What this daemon
/// told on its own while coordination was down is written into the pair's record
/// first. A daemon that gets a lease it did not hold (a new epoch) reads the record
/// with it, and without the record it does not lead (the renewal counts as failed; the
/// next one tries again).
async fn renewal(
    d: &Db,
    settings: &Settings,
    lease: &str,
    now: &Role,
    down: &mut ToldWhileDown,
) -> (Renewal, Option<pg::Told>) {
    if let Err(error) = down.write(d, settings).await {
        tracing::warn!(%error, "coordination: what was told while it was down not written yet");
        return (Renewal::Failed, None);
    }
    match d.acquire(lease, &settings.node, settings.lease).await {
        Ok(Some(epoch)) if *now == (Role::Leader { epoch }) => (Renewal::Held { epoch }, None),
        Ok(Some(epoch)) => match d.told(&settings.shard).await {
            Ok(told) => (Renewal::Held { epoch }, Some(told)),
            Err(error) => {
                tracing::warn!(%error, "coordination: cannot read what was told; not taking over yet");
                (Renewal::Failed, None)
            }
        },
        Ok(None) => match d.holder(lease).await {
            Ok(holder) => (
                Renewal::HeldBy {
                    holder: holder.unwrap_or_default(),
                },
                None,
            ),
            Err(error) => {
                tracing::warn!(%error, "coordination: cannot read the lease");
                (Renewal::Failed, None)
            }
        },
        Err(error) => {
            tracing::warn!(%error, "coordination: lease not renewed");
            (Renewal::Failed, None)
        }
    }
}

/// What this daemon told on its own while coordination was down (failing open), the
/// latest state per subject with when it was told, until it is written into the pair's
/// record; bounded by the number of subjects.
#[derive(Debug, Default)]
struct ToldWhileDown {
    told: std::collections::HashMap<(String, String), (Level, f64)>,
}

impl ToldWhileDown {
    fn add(&mut self, group: &[Notification]) {
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        for (host, path, level) in told_of(group) {
            self.told.insert((host, path), (level, at));
        }
    }

    /// Writes what waits into the record; kept if PostgreSQL does not take it.
    async fn write(&mut self, d: &Db, settings: &Settings) -> Result<(), pg::PgError> {
        if self.told.is_empty() {
            return Ok(());
        }
        let rows: Vec<(String, String, Level, f64)> = self
            .told
            .iter()
            .map(|((h, p), (l, at))| (h.clone(), p.clone(), *l, *at))
            .collect();
        d.reconcile(&settings.shard, &settings.node, &rows).await?;
        tracing::info!(
            states = rows.len(),
            "what was told while coordination was down is in the pair's record"
        );
        self.told.clear();
        Ok(())
    }
}

/// What became of a claim.
enum Claimed {
    Sent,
    Fenced,
    Failed,
}

/// What the engine hands the coordination task: message groups to claim, commands
/// and acknowledgements to share.
struct Inbox {
    claims: mpsc::Receiver<Vec<Notification>>,
    jobs: mpsc::Receiver<Job>,
    acks: mpsc::Receiver<AckChange>,
}

async fn run(
    settings: Settings,
    mut inbox: Inbox,
    reports: mpsc::Sender<Report>,
    delivery: Delivery,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let mut shared: Shared<Job> = Shared::default();
    let mut shared_acks: Shared<AckChange> = Shared::default();
    let mut down = ToldWhileDown::default();
    // Whether this daemon's own idea of what was told is the pair's: it led, and no
    // claim of its was fenced, since coordination last answered. A daemon failing open
    // without it re-tells every open problem instead.
    let mut told_is_ours = false;
    // How far the pair's record has been read while leading.
    let mut record_read_to = 0i64;
    let claimer = Claimer {
        lease: settings.lease_name(),
        fail_open_tag: format!("{}, coordination down", settings.node),
        settings: settings.clone(),
        delivery,
        metrics: metrics.clone(),
    };
    let lease = claimer.lease.clone();
    let mut tracker = Tracker::new(settings.fail_open_after, Instant::now());
    let mut db: Option<Db> = None;
    let mut waiting: std::collections::VecDeque<Vec<Notification>> = Default::default();
    let mut renew = tokio::time::interval(settings.renew);
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let limit = settings.renew.min(Duration::from_secs(5));
    let mut connect_failures = 0u32;
    let (tells, epoch) = tracker.role().gauges();
    metrics.set_ha_role(tells, epoch);
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            _ = renew.tick() => {
                if db.is_none() {
                    match Db::connect(&settings.postgres, limit).await {
                        Ok(d) => {
                            tracing::info!(node = %settings.node, lease = %lease, "coordination connected");
                            connect_failures = 0;
                            db = Some(d);
                        }
                        Err(error) => {
                            connect_failures += 1;
                            // Logged when it starts failing, then every 10th attempt.
                            if connect_failures % 10 == 1 {
                                tracing::warn!(%error, attempts = connect_failures, "coordination unreachable");
                            }
                        }
                    }
                }
                let (outcome, told) = match &db {
                    None => (Renewal::Failed, None),
                    Some(d) => renewal(d, &settings, &lease, tracker.role(), &mut down).await,
                };
                if outcome == Renewal::Failed {
                    db = None; // a timed-out connection may be stuck: start afresh
                }
                metrics.ha_renewal(outcome != Renewal::Failed);
                let took_over = told.is_some();
                if let Some(told) = &told {
                    record_read_to = told.written;
                }
                if let Some(role) = tracker.step(outcome, Instant::now()) {
                    tracing::warn!(node = %settings.node, role = ?role, "HA role changed");
                    let (tells, epoch) = role.gauges();
                    metrics.set_ha_role(tells, epoch);
                    let told = match &role {
                        Role::Leader { .. } => {
                            told_is_ours = true;
                            told.map(|t| t.rows)
                        }
                        Role::Standby { leader: Some(_) } => {
                            told_is_ours = false;
                            None
                        }
                        Role::Standby { leader: None } => None,
                        // Failing open without knowing what the pair told: nothing counts
                        // as told, so every open problem is told again (tagged) and no
                        // RECOVERED of an episode this daemon never told goes out.
                        Role::FailOpen => (!told_is_ours).then(Vec::new),
                    };
                    if reports.send(Report::Role(RoleChange { role: role.clone(), told })).await.is_err() {
                        break;
                    }
                }
                // Leading: what the other daemon wrote into the record since (what it
                // told while coordination was down) is taken as told.
                if let (Role::Leader { .. }, Some(d), false) = (tracker.role(), &db, took_over) {
                    match d.told_since(&settings.shard, &settings.node, record_read_to).await {
                        Ok(t) => {
                            record_read_to = t.written;
                            if !t.rows.is_empty() {
                                tracing::info!(states = t.rows.len(), "the other daemon's tellings while coordination was down are in the record");
                                if reports.send(Report::Told(t.rows)).await.is_err() {
                                    break;
                                }
                            }
                        }
                        Err(error) => tracing::warn!(%error, "the pair's record not read"),
                    }
                }
                // What waited for PostgreSQL: claimed now, told tagged, or left to the
                // daemon that leads.
                let mut keep = std::collections::VecDeque::new();
                while let Some(group) = waiting.pop_front() {
                    match claimer.handle(tracker.role(), db.as_ref(), &group, &mut down).await {
                        Claimed::Failed => keep.push_back(group),
                        Claimed::Fenced => told_is_ours = false,
                        Claimed::Sent => {}
                    }
                }
                waiting = keep;
                if let Some(d) = &db {
                    shared.write(d, &settings.shard).await;
                    shared_acks.write(d, &settings.shard).await;
                    if matches!(tracker.role(), Role::Leader { .. }) {
                        for queue in [&pg::JOBS, &pg::ACKS] {
                            match d.prune(queue, &settings.shard, JOBS_KEPT).await {
                                Ok(0) => {}
                                Ok(n) => tracing::info!(removed = n, table = queue.table, "old items removed from a shared queue"),
                                Err(error) => tracing::warn!(%error, table = queue.table, "shared queue not pruned"),
                            }
                        }
                    }
                    let adopted = shared.read(d, &settings.shard).await;
                    if !adopted.is_empty() && reports.send(Report::AdoptJobs(adopted)).await.is_err() {
                        break;
                    }
                    let acks = shared_acks.read(d, &settings.shard).await;
                    if !acks.is_empty() && reports.send(Report::AdoptAcks(acks)).await.is_err() {
                        break;
                    }
                }
            }
            Some(job) = inbox.jobs.recv() => {
                shared.add(job);
                if let Some(d) = &db {
                    shared.write(d, &settings.shard).await;
                }
            }
            Some(change) = inbox.acks.recv() => {
                shared_acks.add(change);
                if let Some(d) = &db {
                    shared_acks.write(d, &settings.shard).await;
                }
            }
            Some(group) = inbox.claims.recv() => {
                match claimer.handle(tracker.role(), db.as_ref(), &group, &mut down).await {
                    Claimed::Failed => {
                        if waiting.len() == MAX_WAITING
                            && let Some(old) = waiting.pop_front()
                        {
                            metrics.ha_messages("dropped", old.len() as u64);
                        }
                        waiting.push_back(group);
                    }
                    Claimed::Fenced => {
                        told_is_ours = false;
                        renew.reset_immediately();
                    }
                    Claimed::Sent => {}
                }
            }
        }
    }
    // A clean stop hands the lease over at once.
    if let (Role::Leader { epoch }, Some(d)) = (tracker.role(), &db) {
        match d.release(&lease, &settings.node, *epoch).await {
            Ok(()) => tracing::info!(node = %settings.node, "lease released"),
            Err(error) => {
                tracing::warn!(%error, "lease not released; the standby waits for it to expire")
            }
        }
    }
}

impl Claimer {
    /// One group: claimed and approved (leader), approved tagged (failing open),
    /// dropped (standby: the leader tells it), or kept for later (PostgreSQL did not
    /// answer).
    async fn handle(
        &self,
        role: &Role,
        db: Option<&Db>,
        group: &[Notification],
        down: &mut ToldWhileDown,
    ) -> Claimed {
        let approve = |tag: Option<&str>| {
            if let Some(notifier) = &*self.delivery.borrow() {
                notifier.deliver(group, tag);
            }
        };
        let n = group.len() as u64;
        match role {
            Role::FailOpen => {
                self.metrics.ha_messages("fail_open", n);
                down.add(group);
                approve(Some(&self.fail_open_tag));
                Claimed::Sent
            }
            Role::Standby {
                leader: Some(leader),
            } => {
                tracing::debug!(%leader, messages = n, "standby: the leader tells these");
                self.metrics.ha_messages("fenced", n);
                Claimed::Fenced
            }
            Role::Standby { leader: None } => Claimed::Failed,
            Role::Leader { epoch } => {
                let Some(d) = db else {
                    return Claimed::Failed;
                };
                let (told, what) = (told_of(group), claim_line(group));
                let s = &self.settings;
                match d
                    .claim(&self.lease, &s.node, *epoch, &s.shard, &told, &what)
                    .await
                {
                    Ok(true) => {
                        self.metrics.ha_messages("claimed", n);
                        approve(None);
                        Claimed::Sent
                    }
                    Ok(false) => {
                        tracing::warn!(
                            epoch,
                            messages = n,
                            "claim fenced: another daemon leads now; not sent"
                        );
                        self.metrics.ha_messages("fenced", n);
                        Claimed::Fenced
                    }
                    Err(error) => {
                        tracing::warn!(%error, "claim not written; kept until coordination answers");
                        Claimed::Failed
                    }
                }
            }
        }
    }
}
