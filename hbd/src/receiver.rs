//! The UDP receiver: reads datagrams, runs them through the [`Gate`], counts rejects by
//! reason and passes accepted ones to the engine.
//!
//! A bad datagram is counted, logged at debug level and dropped; nothing a sender does
//! stops this loop. The engine queue is bounded: when full, the newest datagram is
//! dropped and counted in `hbd_engine_dropped_total`.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;

use hb_proto::DecodeError;
use hb_proto::limits::MAX_DATAGRAM_BYTES;

use crate::clock::{Clock, Now};
use crate::gate::{Admitted, Gate};
use crate::journal::{Entry, Journal};
use crate::metrics::Metrics;

/// Batches queued between receiver and engine (up to `QUEUE_LEN * BATCH` datagrams).
pub const QUEUE_LEN: usize = 1024;

/// A datagram on its way to the engine.
#[derive(Debug)]
pub struct Inbound {
    /// What passed the gate.
    pub admitted: Admitted,
    /// Where it came from.
    pub source: SocketAddr,
    /// When it arrived (wall time for records, monotonic for deadlines).
    pub at: Now,
}

/// Most datagrams read from the socket before handing a batch to the engine.
pub const BATCH: usize = 64;

/// Receives until `shutdown` is cancelled. Datagrams already waiting in the socket are
/// read without waiting and handed over as one batch, so a busy daemon pays one
/// wake-up per batch rather than per datagram.
pub async fn run(
    socket: Arc<UdpSocket>,
    mut gate: Gate,
    clock: Clock,
    tx: mpsc::Sender<Vec<Inbound>>,
    journal: Journal,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM_BYTES + 1];
    let mut batch: Vec<Inbound> = Vec::with_capacity(BATCH);
    loop {
        let ready = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            r = socket.readable() => r,
        };
        if let Err(error) = ready {
            tracing::warn!(%error, "udp socket not readable");
            continue;
        }
        gate.refresh();
        while batch.len() < BATCH {
            let (len, source) = match socket.try_recv_from(&mut buf) {
                Ok(r) => r,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(error) => {
                    // ICMP errors from earlier replies surface here on some systems; never fatal.
                    tracing::debug!(%error, "udp receive error");
                    continue;
                }
            };
            let at = clock.now();
            match gate.admit(&buf[..len], at.wall) {
                Ok(admitted) => {
                    metrics.accepted(&admitted.message);
                    batch.push(Inbound {
                        admitted,
                        source,
                        at,
                    });
                }
                Err(error) => {
                    metrics.rejected(error.reason());
                    tracing::debug!(%source, %error, "dropping datagram");
                    if let DecodeError::UnknownId { .. } = error {
                        // Unknown IDs are journaled (the JSON is well-formed) for later study.
                        journal.record(vec![Entry::Datagram {
                            at: at.wall,
                            source,
                            json: unsigned_json(&buf[..len]),
                        }]);
                    }
                }
            }
        }
        if batch.is_empty() {
            continue;
        }
        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
        match tx.try_send(full) {
            Ok(()) => {}
            Err(TrySendError::Full(dropped)) => {
                metrics.engine_dropped.inc_by(dropped.len() as u64);
            }
            Err(TrySendError::Closed(_)) => break,
        }
    }
}

fn unsigned_json(bytes: &[u8]) -> Vec<u8> {
    let payload = hb_proto::frame::split(bytes, &hb_proto::Limits::default())
        .map(|f| f.payload())
        .unwrap_or(bytes);
    if payload.first() == Some(&b'{') {
        payload.to_vec()
    } else {
        hb_proto::frame::inflate_bounded(payload, 64 * 1024).unwrap_or_else(|_| b"{}".to_vec())
    }
}
