//! Replies to agents (ACKs, and the commands that follow them), collected during one
//! engine turn and sent together with `sendmmsg`: one system call for up to
//! [`PER_CALL`] datagrams instead of one each, which the heartbeat path spends most of
//! its time on. The replies are written one after another into one buffer, kept from
//! turn to turn, so a reply costs no allocation. The socket is non-blocking: a reply the
//! kernel cannot take now is counted as failed, as a single `send_to` would be (agents
//! send again).

use std::io::IoSlice;
use std::net::SocketAddr;
use std::ops::Range;
use std::os::fd::AsRawFd;

use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, sendmmsg};
use tokio::net::UdpSocket;

/// Datagrams one `sendmmsg` call sends at most.
pub const PER_CALL: usize = 64;

/// Encoded replies waiting for the end of the turn.
#[derive(Debug, Default)]
pub struct Replies {
    /// Every waiting reply's bytes, one after another.
    bytes: Vec<u8>,
    /// Each reply's destination and its place in `bytes`.
    waiting: Vec<(SocketAddr, Range<usize>)>,
}

/// What one flush did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Flushed {
    /// Datagrams the kernel took.
    pub sent: u64,
    /// Datagrams it refused (buffer full, unreachable); the first error is logged.
    pub failed: u64,
}

impl Replies {
    /// Queues the reply `write` appends to the buffer it is given; nothing when it
    /// fails (it must then leave the buffer as it was).
    pub fn push_with<E>(
        &mut self,
        to: SocketAddr,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        let start = self.bytes.len();
        write(&mut self.bytes)?;
        self.waiting.push((to, start..self.bytes.len()));
        Ok(())
    }

    /// How many wait.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether none wait.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Sends everything waiting, [`PER_CALL`] per system call.
    pub fn flush(&mut self, socket: &UdpSocket) -> Flushed {
        let mut done = Flushed::default();
        let fd = socket.as_raw_fd();
        for chunk in self.waiting.chunks(PER_CALL) {
            let mut from = 0;
            while from < chunk.len() {
                let rest = &chunk[from..];
                let slices: Vec<[IoSlice<'_>; 1]> = rest
                    .iter()
                    .map(|(_, at)| [IoSlice::new(&self.bytes[at.clone()])])
                    .collect();
                let addrs: Vec<Option<SockaddrStorage>> = rest
                    .iter()
                    .map(|(to, _)| Some(SockaddrStorage::from(*to)))
                    .collect();
                let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(rest.len(), None);
                let sent = sendmmsg(
                    fd,
                    &mut headers,
                    slices.iter(),
                    addrs,
                    [],
                    MsgFlags::MSG_DONTWAIT,
                );
                match sent {
                    Ok(results) => {
                        let n = results.count();
                        if n == 0 {
                            // Nothing taken without an error: give the rest up.
                            done.failed += rest.len() as u64;
                            break;
                        }
                        done.sent += n as u64;
                        from += n;
                    }
                    Err(errno) => {
                        // The first datagram failed (e.g. its destination is
                        // unreachable, or the buffer is full): skip it, go on with
                        // the rest.
                        if done.failed == 0 {
                            tracing::debug!(to = %rest[0].0, error = %errno, "reply not sent");
                        }
                        done.failed += 1;
                        from += 1;
                    }
                }
            }
        }
        self.waiting.clear();
        self.bytes.clear();
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replies_go_out_together_each_to_its_own_address() {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut r = Replies::default();
        // More than one call's worth, alternating destinations.
        for i in 0..(PER_CALL + 6) {
            let to = if i % 2 == 0 { &a } else { &b };
            r.push_with(to.local_addr().unwrap(), |out| {
                out.extend_from_slice(format!("ack {i}").as_bytes());
                Ok::<(), ()>(())
            })
            .unwrap();
        }
        assert_eq!(r.len(), PER_CALL + 6);
        let done = r.flush(&socket);
        assert_eq!(
            done,
            Flushed {
                sent: (PER_CALL + 6) as u64,
                failed: 0
            }
        );
        assert!(r.is_empty());
        let mut buf = [0u8; 64];
        for (to, first) in [(&a, 0), (&b, 1)] {
            let mut got = Vec::new();
            to.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
            for _ in 0..(PER_CALL + 6) / 2 {
                let (n, from) = to.recv_from(&mut buf).unwrap();
                assert_eq!(from, socket.local_addr().unwrap());
                got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
            // In order, and only its own.
            let want: Vec<String> = (0..(PER_CALL + 6))
                .filter(|i| i % 2 == first)
                .map(|i| format!("ack {i}"))
                .collect();
            assert_eq!(got, want);
        }
    }
}
