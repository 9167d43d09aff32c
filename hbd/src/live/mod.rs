//! The live event stream: the engine publishes typed, numbered updates on a bounded
//! broadcast; subscribers take a snapshot and then every update after it.
//!
//! The engine is the only publisher, and it answers a subscription in the same step that
//! subscribes the receiver and copies the snapshot, so the first update a subscriber
//! sees is numbered `snapshot.seq + 1`: no gap, no duplicate. A subscriber that falls more
//! than [`CAPACITY`] updates behind gets [`Item::Resync`] instead of silently missing
//! some; it must take a new snapshot.
//!
//! The last [`CAPACITY`] updates are also kept, so a client that reconnects with the run
//! id and the last number it saw gets just what it missed ([`Start::Replay`]) instead of
//! a snapshot. Nothing is built while nobody listens; the publisher notes that it may
//! have missed something then, and no earlier number can be resumed from.

pub mod view;

use std::collections::VecDeque;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::alerting::AlertState;
use crate::clock::Timestamp;
use crate::core::{Action, Event, Host};

/// Updates a subscriber may fall behind before it must resync.
pub const CAPACITY: usize = 4096;

/// One numbered update.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Update {
    /// Position in this daemon run's stream, from 1.
    pub seq: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: UpdateKind,
}

/// What an update says.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UpdateKind {
    /// A host event (new, UP, DOWN, boot, message, address change, dropped), with the
    /// host's record after it (`None` once dropped).
    Event {
        /// The event.
        event: Event,
        /// The host now.
        host: Option<Box<Host>>,
    },
    /// The latest heartbeat of a host, coalesced: one per host per engine turn.
    Heartbeat {
        /// The host.
        host: String,
        /// When it arrived.
        last_seen: Option<Timestamp>,
        /// Round trip the agent measured, ms.
        rtt_ms: Option<f64>,
    },
    /// A plugin report arrived.
    Plugin {
        /// The host.
        host: String,
        /// The plugin.
        plugin: String,
        /// Its own verdict, if any.
        status: Option<hb_proto::Status>,
        /// When it arrived.
        received: Timestamp,
    },
    /// A command for the host's agent was queued, sent, done or expired.
    Job {
        /// The host.
        host: String,
        /// The command now.
        job: Box<crate::core::Job>,
    },
    /// The alert policy decided about a notification (held, released, grouped).
    Decision {
        /// The host.
        host: String,
        /// The decision.
        decision: Box<crate::policy::Decision>,
    },
    /// A DNS update of the host's record ended (written, or failed and to be retried).
    Dns {
        /// The host.
        host: String,
        /// The record now.
        status: Box<crate::dns::plan::Status>,
    },
    /// A staged rollout moved: started, promoted a stage, stopped or finished. Counts
    /// only, so anyone who may look at rollouts may see it; the hosts are in
    /// `GET /api/0/rollouts`, each shown only to those who may see it.
    Rollout(Box<RolloutProgress>),
    /// An alert path changed level or reminded, or is no longer tracked (`state: None`).
    Alert {
        /// The host.
        host: String,
        /// The shown metric path.
        path: String,
        /// The state now.
        state: Option<AlertState>,
    },
    /// An acknowledgement was put on a problem, or ended (`ack: None`).
    Ack {
        /// The host.
        host: String,
        /// The alert path; `None`: the host itself.
        path: Option<String>,
        /// The acknowledgement now.
        ack: Option<crate::model::Ack>,
    },
}

/// Where a group's staged rollout stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RolloutProgress {
    /// The group.
    pub group: String,
    /// `running`, `paused`, `done`, `rolled_back` or `aborted`.
    pub state: hbd_core::rollout::State,
    /// 0: the canaries; then each wave.
    pub stage: usize,
    /// Members on the new set.
    pub on_new: usize,
    /// Hosts of the current stage.
    pub stage_hosts: usize,
}

impl RolloutProgress {
    /// Where `r` stands.
    pub fn of(r: &hbd_core::rollout::Rollout) -> RolloutProgress {
        RolloutProgress {
            group: r.group.clone(),
            state: r.split.state,
            stage: r.stage,
            on_new: r.split.on_new.len(),
            stage_hosts: r.stage_hosts.len(),
        }
    }
}

impl UpdateKind {
    /// The update a core action makes, if any; `host` gives a host's record for a host
    /// event (looked up only then).
    pub fn from_action(action: &Action, host: impl FnOnce(&str) -> Option<Host>) -> Option<Self> {
        Some(match action {
            Action::Event(event) => UpdateKind::Event {
                event: event.clone(),
                host: host(&event.host).map(Box::new),
            },
            Action::Decision(decision) => UpdateKind::Decision {
                host: decision.host.clone(),
                decision: Box::new(decision.clone()),
            },
            Action::AlertChanged { host, path, state } => UpdateKind::Alert {
                host: host.clone(),
                path: path.clone(),
                state: state.clone(),
            },
            Action::Job(job) => UpdateKind::Job {
                host: job.host.clone(),
                job: Box::new(job.clone()),
            },
            Action::Acknowledged {
                host, path, ack, ..
            } => UpdateKind::Ack {
                host: host.clone(),
                path: path.clone(),
                ack: ack.clone(),
            },
            _ => return None,
        })
    }
}

/// What a new subscriber starts from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// Identifies this daemon run: sequence numbers are only comparable within one.
    pub run: String,
    /// The last update the snapshot includes.
    pub seq: u64,
    /// Every host.
    pub hosts: Vec<Host>,
    /// Every alert that is not OK.
    pub alerts: Vec<AlertState>,
}

/// What a subscriber receives next.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// The next update.
    Update(Arc<Update>),
    /// Updates were missed (the subscriber lagged): take a new snapshot.
    Resync {
        /// How many were missed.
        missed: u64,
    },
    /// The daemon is stopping.
    Closed,
}

/// How a subscription starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// Everything now; updates follow from `snapshot.seq + 1`.
    Snapshot(Arc<Snapshot>),
    /// The updates after the number the client gave, in order; more follow.
    Replay(Vec<Arc<Update>>),
}

/// Where a reconnecting client left off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// The run it was watching.
    pub run: String,
    /// The last update it saw.
    pub seq: u64,
}

/// The engine's end.
#[derive(Debug)]
pub struct Publisher {
    tx: broadcast::Sender<Arc<Update>>,
    seq: u64,
    run: String,
    recent: VecDeque<Arc<Update>>,
    unseen: bool,
    /// The last snapshot built, shared while the stream has not moved past it.
    snapshot: Option<Arc<Snapshot>>,
}

impl Publisher {
    /// A stream for the run called `run`.
    pub fn new(run: String) -> Publisher {
        Publisher {
            tx: broadcast::channel(CAPACITY).0,
            seq: 0,
            run,
            recent: VecDeque::with_capacity(CAPACITY),
            unseen: false,
            snapshot: None,
        }
    }

    /// This run's id.
    pub fn run(&self) -> &str {
        &self.run
    }

    /// Whether anyone listens (if not, updates need not be built, and the publisher
    /// notes that this one went unseen).
    pub fn active(&mut self) -> bool {
        let active = self.tx.receiver_count() > 0;
        if !active {
            self.unseen = true;
        }
        active
    }

    /// Numbers, keeps and sends an update (dropped if nobody listens).
    pub fn publish(&mut self, kind: UpdateKind) {
        if !self.active() {
            return;
        }
        self.seq += 1;
        let update = Arc::new(Update {
            seq: self.seq,
            kind,
        });
        if self.recent.len() == CAPACITY {
            self.recent.pop_front();
        }
        self.recent.push_back(update.clone());
        let _ = self.tx.send(update);
    }

    /// A subscription: from `resume` if every update after it is still kept, else
    /// from a snapshot built (only then) by `snapshot`.
    pub fn subscribe(
        &mut self,
        resume: Option<&Resume>,
        snapshot: impl FnOnce() -> (Vec<Host>, Vec<AlertState>),
    ) -> (Start, Subscription) {
        if self.unseen {
            // Changes may have gone unpublished: no earlier point can be resumed from.
            self.unseen = false;
            self.seq += 1;
            self.recent.clear();
        }
        let rx = self.tx.subscribe();
        let oldest_kept = self.recent.front().map_or(self.seq + 1, |u| u.seq);
        let start = match resume {
            Some(r) if r.run == self.run && r.seq <= self.seq && r.seq + 1 >= oldest_kept => {
                Start::Replay(
                    self.recent
                        .iter()
                        .filter(|u| u.seq > r.seq)
                        .cloned()
                        .collect(),
                )
            }
            _ => match &self.snapshot {
                Some(kept) if kept.seq == self.seq => Start::Snapshot(kept.clone()),
                _ => {
                    let (hosts, alerts) = snapshot();
                    let built = Arc::new(Snapshot {
                        run: self.run.clone(),
                        seq: self.seq,
                        hosts,
                        alerts,
                    });
                    self.snapshot = Some(built.clone());
                    Start::Snapshot(built)
                }
            },
        };
        (start, Subscription { rx })
    }
}

/// A subscriber's end.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<Arc<Update>>,
}

impl Subscription {
    /// Waits for the next item.
    pub async fn next(&mut self) -> Item {
        match self.rx.recv().await {
            Ok(update) => Item::Update(update),
            Err(RecvError::Lagged(missed)) => Item::Resync { missed },
            Err(RecvError::Closed) => Item::Closed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat(n: usize) -> UpdateKind {
        UpdateKind::Heartbeat {
            host: format!("h{n}"),
            last_seen: None,
            rtt_ms: None,
        }
    }

    fn snapshot(start: Start) -> Arc<Snapshot> {
        match start {
            Start::Snapshot(s) => s,
            Start::Replay(r) => panic!("a replay of {} updates, not a snapshot", r.len()),
        }
    }

    fn nothing() -> (Vec<Host>, Vec<AlertState>) {
        (Vec::new(), Vec::new())
    }

    #[tokio::test]
    async fn a_lagging_subscriber_is_told_to_resync() {
        let mut publisher = Publisher::new("run".into());
        let (first, _) = publisher.subscribe(None, nothing);
        let first = snapshot(first);
        assert_eq!(first.seq, 0);
        let (_, mut slow) = publisher.subscribe(None, nothing);
        for n in 0..CAPACITY + 10 {
            publisher.publish(beat(n));
        }
        assert_eq!(slow.next().await, Item::Resync { missed: 10 });
        // A fresh subscription starts after everything so far, with nothing missed.
        let (start, mut fresh) = publisher.subscribe(None, nothing);
        let snapshot = snapshot(start);
        assert_eq!(snapshot.seq, (CAPACITY + 10) as u64);
        publisher.publish(beat(1));
        match fresh.next().await {
            Item::Update(u) => assert_eq!(u.seq, snapshot.seq + 1),
            other => panic!("{other:?}"),
        }
        drop(publisher);
        assert_eq!(fresh.next().await, Item::Closed);
    }

    #[tokio::test]
    async fn a_reconnecting_client_gets_only_what_it_missed_while_it_is_kept() {
        let mut p = Publisher::new("run-a".into());
        let (_, listener) = p.subscribe(None, nothing);
        for n in 0..10 {
            p.publish(beat(n));
        }
        let at = |run: &str, seq| Resume {
            run: run.into(),
            seq,
        };
        let seqs = |start: Start| match start {
            Start::Replay(r) => r.iter().map(|u| u.seq).collect::<Vec<_>>(),
            Start::Snapshot(s) => panic!("snapshot at {}", s.seq),
        };
        assert_eq!(
            seqs(p.subscribe(Some(&at("run-a", 7)), nothing).0),
            [8, 9, 10]
        );
        assert!(seqs(p.subscribe(Some(&at("run-a", 10)), nothing).0).is_empty());
        // Another run's numbers, or a number from the future, mean nothing here.
        assert_eq!(
            snapshot(p.subscribe(Some(&at("run-b", 7)), nothing).0).seq,
            10
        );
        assert_eq!(
            snapshot(p.subscribe(Some(&at("run-a", 11)), nothing).0).seq,
            10
        );
        // Past what is kept: a snapshot.
        for n in 0..CAPACITY {
            p.publish(beat(n));
        }
        assert_eq!(
            snapshot(p.subscribe(Some(&at("run-a", 7)), nothing).0).seq,
            10 + CAPACITY as u64
        );
        // While nobody listened, changes went unpublished: no resuming across that.
        drop(listener);
        assert!(!p.active());
        let last = (10 + CAPACITY) as u64;
        let (start, _) = p.subscribe(Some(&at("run-a", last)), nothing);
        assert_eq!(snapshot(start).seq, last + 1);
    }

    #[test]
    fn subscribers_at_the_same_position_share_one_snapshot() {
        let mut p = Publisher::new("run".into());
        let mut built = 0;
        let mut counting = || {
            built += 1;
            nothing()
        };
        let (a, _a) = p.subscribe(None, &mut counting);
        let (b, _b) = p.subscribe(None, &mut counting);
        let (a, b) = (snapshot(a), snapshot(b));
        assert!(Arc::ptr_eq(&a, &b));
        p.publish(beat(1));
        let (c, _c) = p.subscribe(None, &mut counting);
        assert_eq!(snapshot(c).seq, 1, "a new position, a new snapshot");
        assert_eq!(built, 2);
    }
}
