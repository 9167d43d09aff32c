//! The UDP receiver: reads datagrams, runs them through the [`Gate`], counts rejects by
//! reason and passes accepted ones to the engine.
//!
//! Each accepted datagram's JSON text is copied for the journal here, as it is
//! admitted, from the bytes still in the receive buffer, into one buffer per batch
//! ([`Arrivals`]); the journal's thread formats the lines, off this path, and no text
//! travels on to the engine. A batch goes to the journal before it goes to the engine,
//! so its lines precede whatever the engine journals of them.
//!
//! A bad datagram is counted, logged at debug level and dropped; nothing a sender does
//! stops this loop. The engine queue is bounded: when full (a burst), the receiver waits
//! up to [`ENGINE_WAIT`] and the burst waits in the socket's kernel buffer
//! (`hb_recv_buffer`) rather than decoded in memory; a batch still without room is
//! dropped and counted in `hbd_engine_dropped_total`.

use std::io::IoSliceMut;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;

use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;

use hb_proto::DecodeError;
use hb_proto::limits::MAX_DATAGRAM_BYTES;

use crate::clock::{Clock, Now};
use crate::core::Datagram;
use crate::gate::Gate;
use crate::journal::{Arrivals, Entry, Journal};
use crate::metrics::{Metrics, Tally};

/// Batches queued between receiver and engine (up to `QUEUE_LEN * BATCH` datagrams).
pub const QUEUE_LEN: usize = 1024;

/// A datagram on its way to the engine (already handed to the journal).
#[derive(Debug)]
pub struct Inbound {
    /// The message that passed the gate, its source and key id: what the core reads,
    /// in the form it reads it, so the engine passes it on without moving it.
    pub datagram: Datagram,
    /// When it arrived (wall time for records, monotonic for deadlines).
    pub at: Now,
}

/// How long the receiver waits for room in a full engine queue before it drops a batch.
pub const ENGINE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Most datagrams read from the socket before handing a batch to the engine.
pub const BATCH: usize = 64;

/// Datagrams one `recvmmsg` call takes at most. Each has a buffer of the largest
/// datagram; only the pages a datagram fills are ever touched.
pub const PER_CALL: usize = 32;

/// Buffers for `recvmmsg`, allocated once (its headers hold raw pointers, so they are
/// made per call, which keeps the task `Send`).
struct Batch {
    bufs: Vec<Vec<u8>>,
    /// `(buffer, length, source)` of each datagram the last call read.
    got: Vec<(usize, usize, SocketAddr)>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            bufs: (0..PER_CALL)
                .map(|_| vec![0u8; MAX_DATAGRAM_BYTES + 1])
                .collect(),
            got: Vec::with_capacity(PER_CALL),
        }
    }

    /// Reads what is waiting, up to [`PER_CALL`] datagrams, in one system call;
    /// `WouldBlock` when nothing is.
    fn read(&mut self, fd: RawFd) -> std::io::Result<()> {
        self.got.clear();
        let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(PER_CALL, None);
        let mut iovs: Vec<[IoSliceMut<'_>; 1]> = self
            .bufs
            .iter_mut()
            .map(|b| [IoSliceMut::new(b.as_mut_slice())])
            .collect();
        let read = recvmmsg(
            fd,
            &mut headers,
            iovs.iter_mut(),
            MsgFlags::MSG_DONTWAIT,
            None,
        )
        .map_err(std::io::Error::from)?;
        for (i, message) in read.enumerate() {
            let Some(source) = message.address.as_ref().and_then(socket_addr) else {
                continue;
            };
            self.got.push((i, message.bytes, source));
        }
        Ok(())
    }
}

fn socket_addr(a: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(SocketAddr::V4(std::net::SocketAddrV4::from(*v4)));
    }
    a.as_sockaddr_in6()
        .map(|v6| SocketAddr::V6(std::net::SocketAddrV6::from(*v6)))
}

/// Receives until `shutdown` is cancelled. Datagrams already waiting in the socket are
/// read without waiting, up to [`PER_CALL`] per `recvmmsg` call, and handed over as one
/// batch, so a busy daemon pays one wake-up per batch and one system call per
/// [`PER_CALL`] datagrams rather than one per datagram.
pub async fn run(
    socket: Arc<UdpSocket>,
    mut gate: Gate,
    clock: Clock,
    tx: mpsc::Sender<Vec<Inbound>>,
    journal: Journal,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let mut reader = Batch::new();
    let fd = socket.as_raw_fd();
    let mut batch: Vec<Inbound> = Vec::with_capacity(BATCH);
    let journaled = journal.enabled();
    let mut arrivals = Arrivals::default();
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
        let mut tally = Tally::default();
        while batch.len() < BATCH {
            match socket.try_io(Interest::READABLE, || reader.read(fd)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(error) => {
                    // ICMP errors from earlier replies surface here on some systems; never fatal.
                    tracing::debug!(%error, "udp receive error");
                    continue;
                }
            }
            let at = clock.now();
            for &(i, len, source) in &reader.got {
                let bytes = &reader.bufs[i][..len];
                match gate.admit(bytes, at.wall) {
                    Ok(admitted) => {
                        tally.add(&admitted.message);
                        if journaled {
                            arrivals.push(at.wall, source, &admitted.json);
                        }
                        batch.push(Inbound {
                            datagram: Datagram {
                                message: admitted.message,
                                key_id: admitted.key_id,
                                source,
                            },
                            at,
                        });
                    }
                    Err(error) => {
                        let reason = error.reason();
                        metrics.rejected(reason);
                        tracing::debug!(%source, %error, "dropping datagram");
                        let warning = gate.reject(source.ip(), bytes, &error, at.wall);
                        if let Some(w) = warning {
                            tracing::warn!(
                                source = %w.sender.source,
                                key_id = w.sender.key_id.as_deref().unwrap_or("-"),
                                name = w.sender.name.as_deref().unwrap_or("-"),
                                reason = reason.as_str(),
                                rejected = w.since_last,
                                error = %error,
                                "datagrams rejected: {}",
                                crate::rejects::hint(reason)
                            );
                        }
                        if journaled && let DecodeError::UnknownId { .. } = error {
                            // Unknown IDs are journaled (the JSON is well-formed) for
                            // later study, in their place among the others.
                            arrivals.push(at.wall, source, &unsigned_json(bytes));
                        }
                    }
                }
            }
        }
        metrics.accepted(&tally);
        if !arrivals.is_empty() {
            let next = arrivals.like();
            journal.record(vec![Entry::Datagrams(std::mem::replace(
                &mut arrivals,
                next,
            ))]);
        }
        if batch.is_empty() {
            continue;
        }
        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
        match tx.try_send(full) {
            Ok(()) => {}
            // The engine is behind (a burst): wait for it a while, reading nothing
            // meanwhile, so the burst waits in the socket's buffer (`hb_recv_buffer`)
            // rather than in decoded form in memory. An engine stuck for longer costs
            // this batch, counted.
            Err(TrySendError::Full(waiting)) => {
                let n = waiting.len() as u64;
                let sent = tokio::select! {
                    sent = tokio::time::timeout(ENGINE_WAIT, tx.send(waiting)) => sent,
                    () = shutdown.cancelled() => break,
                };
                match sent {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break,
                    Err(_) => {
                        // Timed out: the batch went with the future.
                        metrics.engine_dropped.inc_by(n);
                        tracing::warn!(
                            "engine queue full for {ENGINE_WAIT:?}: a batch of datagrams dropped"
                        );
                    }
                }
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
