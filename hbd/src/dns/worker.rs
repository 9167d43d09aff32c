//! The DNS task: takes host addresses from the engine (new host, back UP, address
//! changed) and requests from the API, runs the [`Plan`]'s updates with `nsupdate`,
//! and records each result: counted in `/metrics`, journaled (`DNS`), and visible per
//! host (`GET /api/0/hosts/{name}/dns`). A slow, refusing or unreachable server delays
//! only the records: each update runs on its own task with a time limit, and the
//! engine only ever `try_send`s to this task.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::nsupdate::{self, UpdateError};
use super::plan::{Job, Plan, Status};
use crate::clock::Clock;
use crate::config::SharedConfig;
use crate::config::dns::record_for;
use crate::core::Action;
use crate::journal::{Entry, Journal};
use crate::metrics::Metrics;
use crate::model::EventKind;

/// Inputs waiting for the task; past this the engine drops an address and counts it.
pub const QUEUE_LEN: usize = 4096;

/// What the task is asked.
#[derive(Debug)]
pub enum DnsInput {
    /// A host is at this address (new, back, or moved).
    Address {
        /// The host.
        host: String,
        /// Its address.
        address: IpAddr,
    },
    /// Write the host's record again now (the API's trigger); the answer is its status,
    /// or why there is none.
    Force {
        /// The host.
        host: String,
        /// Its address now, if known.
        address: Option<IpAddr>,
        /// The answer.
        reply: oneshot::Sender<Result<Status, ForceError>>,
    },
    /// A host was dropped.
    Forget {
        /// The host.
        host: String,
    },
}

impl DnsInput {
    /// What a core action asks of the DNS task, if anything: a host that is new, back
    /// or moved is at its address (`address` looks it up; only when this daemon
    /// `writes` records: it has zones, and is not the standby of a pair), and a dropped
    /// host is forgotten.
    pub fn from_action(
        action: &Action,
        writes: bool,
        address: impl FnOnce(&str) -> Option<IpAddr>,
    ) -> Option<DnsInput> {
        match action {
            Action::Event(event)
                if writes
                    && matches!(
                        event.kind,
                        EventKind::NewHost
                            | EventKind::Up { .. }
                            | EventKind::AddressChanged { .. }
                    ) =>
            {
                Some(DnsInput::Address {
                    host: event.host.clone(),
                    address: address(&event.host)?,
                })
            }
            Action::Forget { host } => Some(DnsInput::Forget { host: host.clone() }),
            _ => None,
        }
    }
}

/// A record's update ended: the host and its record's status now, for the engine's
/// live stream (on its own bounded queue, [`WRITTEN_QUEUE`]; when full, this one is
/// not shown live, and the API still has it).
#[derive(Debug)]
pub struct Written(pub String, pub Box<crate::dns::plan::Status>);

/// Results waiting for the engine at most.
pub const WRITTEN_QUEUE: usize = 256;

/// Why a record cannot be written on request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForceError {
    /// The task's queue is full.
    #[error("the DNS task is busy; try again")]
    Busy,
    /// The task has ended (the daemon is stopping).
    #[error("the DNS task stopped")]
    Stopped,
    /// No zone gives the host a record.
    #[error("host {0:?} has no DNS record: see dyndomains and hosts.NAME.dyndomain")]
    NoRecord(String),
    /// The host has not been heard from since the daemon started.
    #[error("host {0:?} has not been heard from: no address to write")]
    NoAddress(String),
}

/// The handle the engine and the API hold.
#[derive(Debug, Clone)]
pub struct Dns {
    tx: mpsc::Sender<DnsInput>,
    plan: Arc<Mutex<Plan>>,
    metrics: Arc<Metrics>,
}

impl Dns {
    /// Hands the task an input without waiting; `false` (and counted) if its queue is
    /// full.
    pub fn send(&self, input: DnsInput) -> bool {
        let sent = self.tx.try_send(input).is_ok();
        if !sent {
            self.metrics.dns_dropped.inc();
        }
        sent
    }

    /// Asks for `host`'s record to be written now.
    pub async fn force(&self, host: &str, address: Option<IpAddr>) -> Result<Status, ForceError> {
        let (reply, answer) = oneshot::channel();
        let input = DnsInput::Force {
            host: host.to_owned(),
            address,
            reply,
        };
        if !self.send(input) {
            return Err(ForceError::Busy);
        }
        answer.await.unwrap_or(Err(ForceError::Stopped))
    }

    /// `host`'s record, if it has one.
    pub fn status(&self, host: &str) -> Option<Status> {
        self.plan.lock().ok()?.status(host)
    }
}

/// Starts the task; it ends with `shutdown`. Results go to `written` (the engine, for
/// the live stream) when given.
pub fn start(
    requests: Option<mpsc::Sender<Written>>,
    config: SharedConfig,
    clock: Clock,
    journal: Journal,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> Dns {
    let (tx, rx) = mpsc::channel(QUEUE_LEN);
    let task = Task {
        plan: Arc::new(Mutex::new(Plan::default())),
        requests,
        config,
        clock,
        journal,
        metrics,
    };
    let dns = Dns {
        tx,
        plan: task.plan.clone(),
        metrics: task.metrics.clone(),
    };
    tokio::spawn(task.run(rx, shutdown));
    dns
}

/// What the task works with.
struct Task {
    plan: Arc<Mutex<Plan>>,
    requests: Option<mpsc::Sender<Written>>,
    config: SharedConfig,
    clock: Clock,
    journal: Journal,
    metrics: Arc<Metrics>,
}

impl Task {
    async fn run(self, mut rx: mpsc::Receiver<DnsInput>, shutdown: CancellationToken) {
        let Task {
            plan,
            requests,
            config,
            clock,
            journal,
            metrics,
        } = self;
        let (done_tx, mut done_rx) =
            mpsc::channel::<(Job, Result<(), UpdateError>)>(super::plan::MAX_RUNNING);
        loop {
            let next = plan.lock().ok().and_then(|p| p.next_deadline());
            let wake = next.map_or_else(
                || tokio::time::Instant::now() + std::time::Duration::from_secs(3600),
                |at| clock.instant(at),
            );
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep_until(wake) => {}
                Some((job, result)) = done_rx.recv() => {
                    let now = clock.now();
                    match &result {
                        Ok(()) => {
                            metrics.dns_updates_ok.inc();
                            tracing::info!(host = %job.host, name = %job.record.name, address = %job.address, "DNS record written");
                        }
                        Err(why) => {
                            metrics.dns_updates_failed.inc();
                            tracing::warn!(host = %job.host, name = %job.record.name, address = %job.address, error = %why, "DNS update failed; retried with backoff");
                        }
                    }
                    journal.record(vec![Entry::Dns {
                        at: now.wall,
                        host: job.host.clone(),
                        name: job.record.name.clone(),
                        address: job.address,
                        result: result
                            .as_ref()
                            .err()
                            .map_or_else(|| "ok".to_owned(), ToString::to_string),
                    }]);
                    let status = plan.lock().ok().and_then(|mut p| {
                        p.done(&job, result, now);
                        p.status(&job.host)
                    });
                    // To the live stream; a busy engine misses one, the API still has it.
                    if let (Some(requests), Some(status)) = (&requests, status) {
                        let _ = requests.try_send(Written(
                            job.host.clone(),
                            Box::new(status),
                        ));
                    }
                }
                input = rx.recv() => {
                    let Some(input) = input else { break };
                    let config = config.get();
                    let now = clock.now();
                    let record = |host: &str| {
                        record_for(
                            &config.dyndomains,
                            host,
                            config.hosts.get(host).and_then(|h| h.dyndomain.as_ref()),
                        )
                    };
                    let Ok(mut p) = plan.lock() else { break };
                    match input {
                        DnsInput::Address { host, address } => {
                            if let Some(record) = record(&host) {
                                p.address(&host, record, address.to_canonical(), now.mono);
                            }
                        }
                        DnsInput::Force { host, address, reply } => {
                            let answer = match (record(&host), address) {
                                (None, _) => Err(ForceError::NoRecord(host.clone())),
                                (Some(_), None) => Err(ForceError::NoAddress(host.clone())),
                                (Some(record), Some(address)) => {
                                    p.address(&host, record, address.to_canonical(), now.mono);
                                    p.force(&host, now.mono);
                                    // Invariant: the address just given makes the host's entry.
                                    p.status(&host).ok_or_else(|| ForceError::NoRecord(host.clone()))
                                }
                            };
                            let _ = reply.send(answer);
                        }
                        DnsInput::Forget { host } => p.forget(&host),
                    }
                }
            }
            // Start whatever is due.
            let now = clock.now();
            let jobs = plan.lock().map(|mut p| p.due(now.mono)).unwrap_or_default();
            let config = config.get();
            for job in jobs {
                let zone = config.dyndomains.get(&job.record.zone).cloned();
                let program = config.nsupdate_bin.clone();
                let done = done_tx.clone();
                tokio::spawn(async move {
                    let result = match zone {
                        Some(zone) => nsupdate::run(&program, &zone, &job).await,
                        None => Err(UpdateError::ZoneGone(job.record.zone.clone())),
                    };
                    let _ = done.send((job, result)).await;
                });
            }
        }
    }
}
