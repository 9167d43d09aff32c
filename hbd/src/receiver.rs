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

use crate::clock::Timestamp;
use crate::gate::{Admitted, Gate};
use crate::journal::{Entry, Journal};
use crate::metrics::Metrics;

/// Queue length between receiver and engine.
pub const QUEUE_LEN: usize = 16_384;

/// A datagram on its way to the engine.
#[derive(Debug)]
pub struct Inbound {
    /// What passed the gate.
    pub admitted: Admitted,
    /// Where it came from.
    pub source: SocketAddr,
    /// When it arrived.
    pub at: Timestamp,
}

/// Receives until `shutdown` is cancelled.
pub async fn run(
    socket: Arc<UdpSocket>,
    mut gate: Gate,
    tx: mpsc::Sender<Inbound>,
    journal: Journal,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM_BYTES + 1];
    loop {
        let received = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            r = socket.recv_from(&mut buf) => r,
        };
        let (len, source) = match received {
            Ok(r) => r,
            Err(error) => {
                // ICMP errors from earlier replies surface here on some systems; never fatal.
                tracing::debug!(%error, "udp receive error");
                continue;
            }
        };
        let at = Timestamp::now();
        match gate.admit(&buf[..len], at) {
            Ok(admitted) => {
                metrics.accepted(&admitted.message);
                match tx.try_send(Inbound {
                    admitted,
                    source,
                    at,
                }) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => {
                        metrics.engine_dropped.inc();
                    }
                    Err(TrySendError::Closed(_)) => break,
                }
            }
            Err(error) => {
                metrics.rejected(error.reason());
                tracing::debug!(%source, %error, "dropping datagram");
                if let DecodeError::UnknownId { .. } = error {
                    // Unknown IDs are journaled (the JSON is well-formed) for later study.
                    journal.record(Entry::Datagram {
                        at,
                        source,
                        json: unsigned_json(&buf[..len]),
                    });
                }
            }
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
