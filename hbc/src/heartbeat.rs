//! The heartbeat loop: an `HTB` every interval with `run`, `seq`, `ts`, `rtt`, `version`
//! and `uptime`; ACKs turn into the next heartbeat's `rtt`. Network errors are logged and
//! retried, never fatal: the loop only ends on shutdown.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;

use hb_proto::{Boot, Heartbeat, Message, OperatorMessage, PluginReport};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::VERSION;
use crate::command_runner::{Done, Runner};
use crate::commands::Outcome;
use crate::host_facts;
use crate::link::Link;
use crate::plugins::fit::trim_to_fit;
use crate::plugins::scheduler::Report;
use crate::rtt::RttTracker;
use hb_proto::limits::MAX_DATAGRAM_BYTES;

/// Unanswered heartbeats after which the server name is resolved again.
pub const RESOLVE_AFTER_UNANSWERED: u32 = 3;

/// Who this agent is and how it stamps messages.
#[derive(Debug)]
pub struct Identity {
    /// Host name reported.
    pub name: String,
    /// Random id of this run.
    pub run: u64,
    /// Last sequence number used.
    pub seq: u64,
    /// Where `/proc` is (tests use a fixture tree).
    pub proc_root: PathBuf,
    /// The labels it declares (`labels:` in its config).
    pub labels: std::collections::BTreeMap<String, String>,
    /// What commands it runs (from `commands:` in its config).
    pub accepts: hb_proto::Accepts,
    /// The digest of the managed plugins applied, when the agent manages plugins.
    pub plugins: Option<String>,
    /// The digest last sent, so a change goes out in the next heartbeat.
    plugins_sent: Option<String>,
    /// Heartbeats sent this run.
    beats: u64,
}

/// The heartbeat loop's side of managed plugins: the digest applied (which heartbeats
/// carry) and where the digest an ACK asks for goes (which wakes the managing task).
#[derive(Debug)]
pub struct PluginsLink {
    /// The digest applied, kept by the managing task.
    pub applied: tokio::sync::watch::Receiver<String>,
    /// The digest the daemon says to run, when it differs.
    pub desired: tokio::sync::watch::Sender<Option<std::sync::Arc<str>>>,
}

impl Identity {
    /// A new run of the agent for host `name`.
    pub fn new(name: String) -> Identity {
        let run = getrandom::u64().unwrap_or_else(|_| {
            // Extremely unlikely; fall back to the clock so runs still differ.
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
        Identity {
            name,
            run,
            seq: 0,
            proc_root: PathBuf::from("/proc"),
            labels: Default::default(),
            accepts: Default::default(),
            plugins: None,
            plugins_sent: None,
            beats: 0,
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A heartbeat message; the first of a run and every
    /// [`hb_proto::LABELS_EVERY`]th after carry the labels and what commands it runs.
    pub fn heartbeat(&mut self, interval: Duration, rtt: Option<f64>) -> Message {
        let facts = self.beats.is_multiple_of(hb_proto::LABELS_EVERY);
        let labels = (facts && !self.labels.is_empty()).then(|| self.labels.clone());
        let accepts = facts.then(|| self.accepts.clone());
        let plugins = (facts || self.plugins != self.plugins_sent)
            .then(|| self.plugins.clone())
            .flatten();
        self.plugins_sent.clone_from(&self.plugins);
        self.beats += 1;
        Message::Heartbeat(Heartbeat {
            name: self.name.clone(),
            ts: Some(unix_now()),
            run: Some(self.run),
            seq: Some(self.next_seq()),
            interval: Some(interval.as_secs_f64()),
            rtt,
            version: Some(VERSION.into()),
            uptime: host_facts::uptime(&self.proc_root),
            arch: Some(crate::upgrade::platform()),
            labels,
            accepts,
            plugins,
        })
    }

    /// A boot message.
    pub fn boot(&mut self) -> Message {
        Message::Boot(Boot {
            name: self.name.clone(),
            ts: Some(unix_now()),
            run: Some(self.run),
            seq: Some(self.next_seq()),
            uptime: host_facts::uptime(&self.proc_root),
            version: Some(VERSION.into()),
        })
    }

    /// A plugin report with `data` in place of the report's own, under sequence `seq`.
    fn plugin(&self, report: &Report, data: &Map<String, Value>, seq: u64) -> Message {
        Message::Plugin(PluginReport {
            name: self.name.clone(),
            ts: Some(unix_now()),
            run: Some(self.run),
            seq: Some(seq),
            plugin: report.plugin.clone(),
            kind: report.kind,
            data: data.clone(),
            status: report.status,
            duration_ms: Some(report.duration_ms),
        })
    }

    /// The result of command `cmd_id`.
    pub fn result(&mut self, cmd_id: &str, outcome: &crate::commands::Outcome) -> Message {
        Message::CommandResult(hb_proto::CommandResult {
            name: self.name.clone(),
            ts: Some(unix_now()),
            run: Some(self.run),
            seq: Some(self.next_seq()),
            cmd_id: cmd_id.to_owned(),
            exit_code: outcome.exit_code,
            output: outcome.output.clone(),
        })
    }

    /// An operator message.
    pub fn text(&mut self, text: &str) -> Message {
        Message::Text(OperatorMessage {
            name: self.name.clone(),
            ts: Some(unix_now()),
            run: Some(self.run),
            seq: Some(self.next_seq()),
            text: text.to_owned(),
        })
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The size an encoding would have on the wire; over the limit when it failed for size.
fn encoded_len(result: Result<Vec<u8>, hb_proto::EncodeError>) -> usize {
    match result {
        Ok(bytes) => bytes.len(),
        Err(hb_proto::EncodeError::TooLarge { len, .. }) => len,
        Err(hb_proto::EncodeError::BadKeyId { .. }) => 0, // not a size problem; send reports it
    }
}

/// Stamps, fits and sends one plugin report. A report too large for a datagram loses
/// per-item detail first (logged), never the whole report.
pub async fn send_report(link: &mut Link, me: &mut Identity, report: Report) {
    let seq = me.next_seq();
    let mut data = report.data.clone();
    let trimmed = trim_to_fit(&mut data, MAX_DATAGRAM_BYTES, |d| {
        encoded_len(link.encode(&me.plugin(&report, d, seq)))
    });
    if !trimmed.is_empty() {
        tracing::warn!(plugin = %report.plugin, trimmed = ?trimmed, "report over the datagram limit; detail trimmed");
    }
    let result = match link.encode(&me.plugin(&report, &data, seq)) {
        Ok(bytes) => link.send_encoded(&bytes).await,
        Err(e) => Err(e.into()),
    };
    if let Err(error) = result {
        tracing::warn!(plugin = %report.plugin, %error, "plugin report not sent");
    }
}

/// Sends a command's result (`RES`).
async fn send_result(link: &mut Link, me: &mut Identity, cmd_id: &str, outcome: &Outcome) {
    let message = me.result(cmd_id, outcome);
    if let Err(error) = link.send(&message).await {
        // The daemon sends the command again after the next heartbeat; the ledger
        // answers it with this result then.
        tracing::warn!(%error, cmd_id, "command result not sent; sent again when asked");
    }
}

/// Sends heartbeats every `interval`, and plugin reports as they arrive, until
/// `shutdown`.
pub async fn run(
    mut link: Link,
    mut me: Identity,
    interval: Duration,
    mut reports: mpsc::Receiver<Report>,
    mut commands: Runner,
    plugins: Option<PluginsLink>,
    shutdown: CancellationToken,
) {
    // Per daemon: an HA pair's two daemons each answer, and each is told its own RTT.
    let mut rtt: Vec<RttTracker> = (0..link.len()).map(|_| RttTracker::default()).collect();
    let mut failing = vec![false; link.len()];
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut buf = vec![0u8; hb_proto::limits::MAX_DATAGRAM_BYTES];
    loop {
        let sockets = link.sockets();
        let reply = crate::link::recv_any(&sockets, &mut buf);
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            Some(report) = reports.recv() => send_report(&mut link, &mut me, report).await,
            Some(done) = commands.next_done() => match done {
                Done::Result(cmd_id, outcome) => {
                    commands.finished(&cmd_id, &outcome);
                    send_result(&mut link, &mut me, &cmd_id, &outcome).await;
                }
                Done::Restart(marker) => {
                    let outcome = commands.restart(&marker);
                    commands.finished(&marker.cmd_id, &outcome);
                    send_result(&mut link, &mut me, &marker.cmd_id, &outcome).await;
                }
            },
            _ = ticker.tick() => {
                // One heartbeat (one seq) to each daemon, carrying that daemon's RTT.
                if let Some(link) = &plugins {
                    me.plugins = Some(link.applied.borrow().clone());
                }
                let message = me.heartbeat(interval, None);
                let seq = me.seq;
                let mut any = false;
                for (i, tracker) in rtt.iter_mut().enumerate() {
                    if tracker.unanswered() >= RESOLVE_AFTER_UNANSWERED {
                        link.reset(i);
                    }
                    let mut own = message.clone();
                    if let Message::Heartbeat(h) = &mut own {
                        h.rtt = tracker.last_rtt_ms();
                    }
                    let sent = match link.encode(&own) {
                        Ok(bytes) => link.send_to(i, &bytes).await,
                        Err(e) => Err(e.into()),
                    };
                    match sent {
                        Ok(()) => {
                            tracker.sent(seq, Instant::now());
                            any = true;
                            if tracker.warning_due() {
                                tracing::warn!(
                                    server = %link.host(i),
                                    unanswered = tracker.unanswered(),
                                    "no ACK from the daemon: it is down, UDP is blocked on the way, or it rejects this agent's datagrams (a key that does not match the daemon's for this host, or none while the daemon requires signing: its log and GET /api/0/rejects say which)"
                                );
                            }
                            if failing[i] {
                                tracing::info!(server = %link.host(i), "sending heartbeats again");
                                failing[i] = false;
                            }
                        }
                        Err(error) if failing[i] => {
                            tracing::debug!(server = %link.host(i), %error, "heartbeat not sent");
                        }
                        Err(error) => {
                            tracing::warn!(server = %link.host(i), %error, "heartbeat not sent; will retry");
                            failing[i] = true;
                        }
                    }
                }
                if any && let Some((cmd_id, outcome)) = commands.after_heartbeat() {
                    send_result(&mut link, &mut me, &cmd_id, &outcome).await;
                }
            }
            received = reply => {
                let (len, from) = match received {
                    Ok(r) => r,
                    Err(error) => {
                        tracing::debug!(%error, "udp receive error");
                        continue;
                    }
                };
                match link.accept_reply(&buf[..len], from) {
                    Ok((i, Message::Ack(ack))) => {
                        let tracker = rtt.get_mut(i);
                        if let Some(t) = tracker
                            && let Some(ms) = ack.seq.and_then(|seq| t.acked(seq, Instant::now()))
                        {
                            tracing::debug!(server = %link.host(i), rtt_ms = ms, "ack");
                            if t.answered_after_warning() {
                                tracing::info!(server = %link.host(i), "the daemon answers again");
                            }
                        }
                        if let (Some(wanted), Some(managed)) = (ack.plugins, &plugins)
                            && *wanted != *managed.applied.borrow()
                        {
                            managed.desired.send_if_modified(|d| {
                                let new = d.as_deref() != Some(&*wanted);
                                *d = Some(wanted);
                                new
                            });
                        }
                    }
                    // Commands and upgrades come from whichever daemon leads; each
                    // cmd_id runs at most once, and results go to both.
                    Ok((_, Message::Command(cmd))) => {
                        if let Some(outcome) = commands.on_command(&cmd, link.signs()) {
                            send_result(&mut link, &mut me, &cmd.cmd_id, &outcome).await;
                        }
                    }
                    Ok((i, Message::Update(upd))) => {
                        commands.download_from(link.host(i));
                        if let Some(outcome) = commands.on_update(&upd, link.signs()) {
                            send_result(&mut link, &mut me, &upd.cmd_id, &outcome).await;
                        }
                    }
                    Ok((_, other)) => tracing::debug!(id = other.id(), "reply ignored (not handled yet)"),
                    Err(error) => tracing::warn!(%from, %error, "reply dropped"),
                }
            }
        }
    }
}
