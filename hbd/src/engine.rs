//! The engine: the one task that owns the [`Core`]. It feeds the core accepted datagrams
//! and timer ticks, and carries out the actions: replies on the UDP socket, journal
//! entries, store batches and metric updates. It also answers the HTTP API's queries.

use std::sync::Arc;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use hb_proto::frame::{DEFAULT_COMPRESS_OVER, encode};
use hb_proto::{Message, Signer};

use crate::alerting::AlertState;
use crate::clock::Timestamp;
use crate::config::Config;
use crate::core::{Action, Core, Datagram, Host};
use crate::journal::{Entry, Journal};
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::notify::text::event_text;
use crate::receiver::Inbound;
use crate::samples::{Latest, Sample};
use crate::store::Batch;

/// Samples the engine holds while the store is behind; past this the oldest are dropped
/// and counted.
pub const MAX_PENDING_SAMPLES: usize = 200_000;

/// How often changed hosts are written to the store.
pub const STORE_FLUSH_EVERY: Duration = Duration::from_secs(1);

/// A question from the HTTP API.
#[derive(Debug)]
pub enum Query {
    /// Every host.
    Hosts(oneshot::Sender<Vec<Host>>),
    /// One host by name.
    Host(String, oneshot::Sender<Option<Host>>),
    /// Every alert that is not OK.
    Alerts(oneshot::Sender<Vec<AlertState>>),
    /// Every tracked alert path of a host (`None`: unknown host).
    HostAlerts(String, oneshot::Sender<Option<Vec<AlertState>>>),
}

/// What the engine needs to run.
#[derive(Debug)]
pub struct Engine {
    /// The core it drives.
    pub core: Core,
    /// The configuration (keys for signing replies).
    pub config: Arc<Config>,
    /// The heartbeat socket, for replies.
    pub socket: Arc<UdpSocket>,
    /// Journal handle.
    pub journal: Journal,
    /// Store batches.
    pub store: Option<SyncSender<Batch>>,
    /// Latest plugin sample per host and plugin (shared with the API).
    pub latest: Latest,
    /// Samples not yet handed to the store.
    pub pending: Vec<Arc<Sample>>,
    /// Alert states not yet handed to the store (the writer was behind).
    pub pending_alerts: Vec<AlertState>,
    /// Notification channels, when any is configured.
    pub notifier: Option<Notifier>,
    /// Telemetry.
    pub metrics: Arc<Metrics>,
}

impl Engine {
    /// Runs until `shutdown` is cancelled or the inbound queue closes, then writes the
    /// last store batch.
    pub async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Vec<Inbound>>,
        mut queries: mpsc::Receiver<Query>,
        shutdown: CancellationToken,
    ) {
        let mut batches = Vec::with_capacity(16);
        let mut actions = Vec::with_capacity(16);
        let mut journal = Vec::with_capacity(256);
        let mut flush = tokio::time::interval(STORE_FLUSH_EVERY);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.metrics.set_hosts(self.core.counts());
        loop {
            let sleep = match self.core.next_deadline() {
                Some(at) => at.since(Timestamp::now()),
                None => Duration::from_secs(3600),
            };
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                n = inbound.recv_many(&mut batches, 16) => {
                    if n == 0 {
                        break;
                    }
                    for item in batches.drain(..).flatten() {
                        self.on_inbound(item, &mut actions, &mut journal);
                    }
                    self.journal.record(std::mem::take(&mut journal));
                }
                Some(query) = queries.recv() => self.answer(query),
                () = tokio::time::sleep(sleep) => {
                    self.core.on_tick(Timestamp::now(), &mut actions);
                    self.dispatch(&mut actions, &mut journal);
                    self.journal.record(std::mem::take(&mut journal));
                }
                _ = flush.tick() => self.flush_store(),
            }
        }
        self.flush_store();
    }

    fn on_inbound(&mut self, item: Inbound, actions: &mut Vec<Action>, journal: &mut Vec<Entry>) {
        let Inbound {
            admitted,
            source,
            at,
        } = item;
        if self.journal.enabled() {
            journal.push(Entry::Datagram {
                at,
                source,
                json: admitted.json,
            });
        }
        let datagram = Datagram {
            message: admitted.message,
            source,
            key_id: admitted.key_id,
        };
        self.core.handle(&datagram, at, actions);
        // The core only borrowed the report; it now moves into the sample, uncopied.
        if let Message::Plugin(report) = datagram.message {
            let sample = Arc::new(Sample::from_report(report, at));
            self.latest.insert(sample.clone());
            self.pending.push(sample);
        }
        self.dispatch(actions, journal);
    }

    fn dispatch(&mut self, actions: &mut Vec<Action>, journal: &mut Vec<Entry>) {
        let mut host_events = false;
        for action in actions.drain(..) {
            match action {
                Action::Reply {
                    to,
                    key_id,
                    message,
                } => {
                    let signer = key_id.as_deref().and_then(|id| {
                        self.config.key_for(id).map(|(key, _)| Signer {
                            key_id: id.to_owned(),
                            key: key.clone(),
                        })
                    });
                    let sent = encode(&message, signer.as_ref(), DEFAULT_COMPRESS_OVER)
                        .map_err(|e| e.to_string())
                        .and_then(|bytes| {
                            self.socket
                                .try_send_to(&bytes, to)
                                .map_err(|e| e.to_string())
                        });
                    match sent {
                        Ok(_) => {
                            self.metrics.replies_sent.inc();
                        }
                        Err(error) => {
                            self.metrics.replies_failed.inc();
                            tracing::debug!(%to, %error, "reply not sent");
                        }
                    };
                }
                Action::Event(event) => {
                    tracing::info!(host = %event.host, event = event.kind.name(), "host event");
                    if let (Some(notifier), Some(text)) = (&self.notifier, event_text(&event)) {
                        notifier.notify(&event.host, &text);
                    }
                    journal.push(Entry::Event(event));
                    host_events = true;
                }
                Action::Alert(notice) => {
                    tracing::info!(host = %notice.host, path = %notice.path, text = %notice.text, "alert");
                    self.metrics.alert_notices.inc();
                    if let Some(notifier) = &self.notifier {
                        notifier.notify(&notice.host, &notice.text);
                    }
                    journal.push(Entry::Alert(notice, Timestamp::now()));
                }
            }
        }
        if host_events {
            self.metrics.set_hosts(self.core.counts());
        }
    }

    fn answer(&self, query: Query) {
        match query {
            Query::Hosts(reply) => {
                let _ = reply.send(self.core.hosts().into_iter().cloned().collect());
            }
            Query::Host(name, reply) => {
                let _ = reply.send(self.core.host(&name).cloned());
            }
            Query::Alerts(reply) => {
                let _ = reply.send(self.core.active_alerts());
            }
            Query::HostAlerts(name, reply) => {
                let known = self.core.host(&name).is_some();
                let _ = reply.send(known.then(|| self.core.host_alerts(&name)));
            }
        }
    }

    fn flush_store(&mut self) {
        let Some(store) = &self.store else { return };
        let mut alerts = std::mem::take(&mut self.pending_alerts);
        alerts.extend(self.core.take_dirty_alerts());
        let batch = Batch {
            hosts: self.core.take_dirty(),
            samples: std::mem::take(&mut self.pending),
            alerts,
        };
        if batch.is_empty() {
            return;
        }
        match store.try_send(batch) {
            Ok(()) => {}
            Err(TrySendError::Full(batch) | TrySendError::Disconnected(batch)) => {
                // Keep everything for the next flush instead of losing it.
                tracing::warn!(
                    hosts = batch.hosts.len(),
                    samples = batch.samples.len(),
                    "store writer behind; retrying next flush"
                );
                self.core
                    .mark_dirty(batch.hosts.iter().map(|h| h.name.as_str()));
                self.pending = batch.samples;
                self.pending_alerts = batch.alerts;
                if self.pending.len() > MAX_PENDING_SAMPLES {
                    let excess = self.pending.len() - MAX_PENDING_SAMPLES;
                    self.pending.drain(..excess);
                    self.metrics.samples_dropped.inc_by(excess as u64);
                }
            }
        }
    }
}
