//! The live event stream: the engine publishes typed, numbered updates on a bounded
//! broadcast; subscribers take a snapshot and then every update after it.
//!
//! The engine is the only publisher, and it answers a subscription in the same step that
//! subscribes the receiver and copies the snapshot, so the first update a subscriber
//! sees is numbered `snapshot.seq + 1`: no gap, no duplicate. A subscriber that falls more
//! than [`CAPACITY`] updates behind gets [`Item::Resync`] instead of silently missing
//! some; it must take a new snapshot. Nothing is built while nobody listens.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::alerting::AlertState;
use crate::clock::Timestamp;
use crate::core::{Event, Host};

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
    /// An alert path changed level or reminded, or is no longer tracked (`state: None`).
    Alert {
        /// The host.
        host: String,
        /// The shown metric path.
        path: String,
        /// The state now.
        state: Option<AlertState>,
    },
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

/// The engine's end.
#[derive(Debug)]
pub struct Publisher {
    tx: broadcast::Sender<Arc<Update>>,
    seq: u64,
    run: String,
}

impl Publisher {
    /// A stream for the run called `run`.
    pub fn new(run: String) -> Publisher {
        Publisher {
            tx: broadcast::channel(CAPACITY).0,
            seq: 0,
            run,
        }
    }

    /// Whether anyone listens (if not, updates need not be built).
    pub fn active(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Numbers and sends an update (dropped if nobody listens).
    pub fn publish(&mut self, kind: UpdateKind) {
        if !self.active() {
            return;
        }
        self.seq += 1;
        let _ = self.tx.send(Arc::new(Update {
            seq: self.seq,
            kind,
        }));
    }

    /// A subscription starting right after the snapshot built from `hosts` and `alerts`.
    pub fn subscribe(&self, hosts: Vec<Host>, alerts: Vec<AlertState>) -> (Snapshot, Subscription) {
        let snapshot = Snapshot {
            run: self.run.clone(),
            seq: self.seq,
            hosts,
            alerts,
        };
        (
            snapshot,
            Subscription {
                rx: self.tx.subscribe(),
            },
        )
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

    #[tokio::test]
    async fn a_lagging_subscriber_is_told_to_resync() {
        let mut publisher = Publisher::new("run".into());
        publisher.publish(beat(0)); // nobody listens: not numbered
        let (snapshot, mut slow) = publisher.subscribe(Vec::new(), Vec::new());
        assert_eq!(snapshot.seq, 0);
        for n in 0..CAPACITY + 10 {
            publisher.publish(beat(n));
        }
        assert_eq!(slow.next().await, Item::Resync { missed: 10 });
        // A fresh subscription starts after everything so far, with nothing missed.
        let (snapshot, mut fresh) = publisher.subscribe(Vec::new(), Vec::new());
        assert_eq!(snapshot.seq, (CAPACITY + 10) as u64);
        publisher.publish(beat(1));
        match fresh.next().await {
            Item::Update(u) => assert_eq!(u.seq, snapshot.seq + 1),
            other => panic!("{other:?}"),
        }
        drop(publisher);
        assert_eq!(fresh.next().await, Item::Closed);
    }
}
