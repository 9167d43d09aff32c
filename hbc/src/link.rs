//! The UDP link to the daemon, or to both daemons of an HA pair (every datagram goes to
//! each): resolves each server (again after a failure), signs every datagram when a key
//! is set, and accepts only replies from a server that pass the same checks (signed
//! with our key id when we hold a key).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;

use hb_proto::frame::{DEFAULT_COMPRESS_OVER, decode_payload, encode, split};
use hb_proto::{DecodeError, EncodeError, Key, Limits, Message, Signer};

/// What can go wrong on the link. None of it is fatal to the agent.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The server name did not resolve.
    #[error("cannot resolve {server}: {detail}")]
    Resolve {
        /// `host:port` as given.
        server: String,
        /// Why.
        detail: String,
    },
    /// Socket trouble.
    #[error("udp: {0}")]
    Io(#[from] std::io::Error),
    /// The message cannot be encoded within the datagram limit.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// A reply that did not pass the checks.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    /// From an address that is not one of the servers'.
    #[error("reply from {from}, not from a server this agent sends to")]
    Stranger {
        /// Sender.
        from: SocketAddr,
    },
    /// Unsigned, or signed with another key id, while we hold a key.
    #[error("reply not signed with our key id")]
    NotOurs,
    /// Failed decoding or verification.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// One daemon the agent sends to.
#[derive(Debug)]
struct Server {
    host: String,
    port: u16,
    target: Option<SocketAddr>,
}

/// The link's state: one or more daemons (an HA pair gets every datagram twice), one
/// socket per address family shared by all of them.
#[derive(Debug)]
pub struct Link {
    servers: Vec<Server>,
    signer: Option<Signer>,
    v4: Option<Arc<UdpSocket>>,
    v6: Option<Arc<UdpSocket>>,
}

impl Link {
    /// A link to `server:port`; `key` and `key_id` turn on signing.
    pub fn new(server: &str, port: u16, key: Option<&str>, key_id: &str) -> Link {
        Link::to_all(&[(server.to_owned(), port)], key, key_id)
    }

    /// A link to every `(host, port)` in `servers`: each datagram goes to each.
    pub fn to_all(servers: &[(String, u16)], key: Option<&str>, key_id: &str) -> Link {
        Link {
            servers: servers
                .iter()
                .map(|(host, port)| Server {
                    host: host.clone(),
                    port: *port,
                    target: None,
                })
                .collect(),
            signer: key.map(|k| Signer {
                key_id: key_id.to_owned(),
                key: Key::new(k),
            }),
            v4: None,
            v6: None,
        }
    }

    /// How many daemons this link sends to.
    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// Whether it sends nowhere (never true for a link made from a config).
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// Daemon `i`'s host as configured.
    pub fn host(&self, i: usize) -> &str {
        self.servers.get(i).map_or("", |s| s.host.as_str())
    }

    /// Forgets daemon `i`'s resolved address, so the next send resolves it again.
    pub fn reset(&mut self, i: usize) {
        if let Some(s) = self.servers.get_mut(i) {
            s.target = None;
        }
    }

    /// The sockets replies arrive on, once open (one per address family in use).
    pub fn sockets(&self) -> Vec<Arc<UdpSocket>> {
        self.v4.iter().chain(self.v6.iter()).cloned().collect()
    }

    async fn connect(&mut self, i: usize) -> Result<(Arc<UdpSocket>, SocketAddr), LinkError> {
        let Some(server) = self.servers.get(i) else {
            return Err(LinkError::Io(std::io::ErrorKind::NotFound.into()));
        };
        let target = match server.target {
            Some(target) => target,
            None => {
                let name = format!("{}:{}", server.host, server.port);
                let resolve_err = |detail: String| LinkError::Resolve {
                    server: name.clone(),
                    detail,
                };
                let target = tokio::net::lookup_host((server.host.as_str(), server.port))
                    .await
                    .map_err(|e| resolve_err(e.to_string()))?
                    .next()
                    .ok_or_else(|| resolve_err("no address".into()))?;
                tracing::debug!(server = %name, %target, "server resolved");
                target
            }
        };
        let slot = if target.is_ipv4() {
            &mut self.v4
        } else {
            &mut self.v6
        };
        let socket = match slot {
            Some(socket) => socket.clone(),
            None => {
                let local: SocketAddr = if target.is_ipv4() {
                    ([0, 0, 0, 0], 0).into()
                } else {
                    ([0u16; 8], 0).into()
                };
                let socket = Arc::new(UdpSocket::bind(local).await?);
                *slot = Some(socket.clone());
                socket
            }
        };
        if let Some(server) = self.servers.get_mut(i) {
            server.target = Some(target);
        }
        Ok((socket, target))
    }

    /// Encodes and signs one message as it would be sent.
    pub fn encode(&self, message: &Message) -> Result<Vec<u8>, EncodeError> {
        encode(message, self.signer.as_ref(), DEFAULT_COMPRESS_OVER)
    }

    /// Encodes, signs and sends one message to every daemon.
    pub async fn send(&mut self, message: &Message) -> Result<(), LinkError> {
        let bytes = self.encode(message)?;
        self.send_encoded(&bytes).await
    }

    /// Sends an already encoded datagram to every daemon: fine if one took it (the
    /// others' failures are logged), else the first failure.
    pub async fn send_encoded(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        let mut first_error = None;
        let mut sent = false;
        for i in 0..self.servers.len() {
            match self.send_to(i, bytes).await {
                Ok(()) => sent = true,
                Err(error) => {
                    if self.servers.len() > 1 {
                        tracing::debug!(server = %self.host(i), %error, "not sent to this server");
                    }
                    first_error.get_or_insert(error);
                }
            }
        }
        match (sent, first_error) {
            (false, Some(error)) => Err(error),
            _ => Ok(()),
        }
    }

    /// Sends an already encoded datagram to daemon `i`.
    pub async fn send_to(&mut self, i: usize, bytes: &[u8]) -> Result<(), LinkError> {
        let (socket, target) = self.connect(i).await?;
        match socket.send_to(bytes, target).await {
            Ok(_) => Ok(()),
            Err(e) => {
                self.reset(i);
                Err(e.into())
            }
        }
    }

    /// Whether this link signs what it sends and accepts only signed replies.
    pub fn signs(&self) -> bool {
        self.signer.is_some()
    }

    /// Checks a reply datagram from `from`: which daemon sent it, and what.
    pub fn accept_reply(
        &self,
        bytes: &[u8],
        from: SocketAddr,
    ) -> Result<(usize, Message), ReplyError> {
        let Some(i) = self.servers.iter().position(|s| s.target == Some(from)) else {
            return Err(ReplyError::Stranger { from });
        };
        let limits = Limits::default();
        let frame = split(bytes, &limits)?;
        if let Some(signer) = &self.signer {
            if frame.key_id() != Some(signer.key_id.as_str()) {
                return Err(ReplyError::NotOurs);
            }
            frame.verify(&signer.key)?;
        }
        Ok((i, decode_payload(frame.payload(), &limits)?.message))
    }
}

/// Waits for a datagram on any of `sockets` (none: forever).
pub async fn recv_any(
    sockets: &[Arc<UdpSocket>],
    buf: &mut [u8],
) -> std::io::Result<(usize, SocketAddr)> {
    loop {
        let ready = match sockets {
            [] => std::future::pending().await,
            [one] => return one.recv_from(buf).await,
            [a, b, ..] => tokio::select! {
                r = a.readable() => r.map(|()| a),
                r = b.readable() => r.map(|()| b),
            },
        }?;
        match ready.try_recv_from(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hb_proto::Ack;

    fn ack() -> Message {
        Message::Ack(Ack {
            seq: Some(1),
            ts: None,
            server_ts: 5.0,
            plugins: None,
        })
    }

    #[test]
    fn a_keyed_agent_trusts_only_signed_replies() {
        let mut link = Link::new("localhost", 1, Some("0123456789abcdef"), "web1");
        let from: SocketAddr = "127.0.0.1:1".parse().unwrap();
        link.servers[0].target = Some(from);
        let ours = Signer {
            key_id: "web1".into(),
            key: Key::new("0123456789abcdef"),
        };
        let theirs = Signer {
            key_id: "web1".into(),
            key: Key::new("forged-key-0000000"),
        };
        let other_id = Signer {
            key_id: "web2".into(),
            key: Key::new("0123456789abcdef"),
        };
        let good = encode(&ack(), Some(&ours), 512).unwrap();
        assert_eq!(link.accept_reply(&good, from).unwrap(), (0, ack()));
        let plain = encode(&ack(), None, 512).unwrap();
        assert!(matches!(
            link.accept_reply(&plain, from),
            Err(ReplyError::NotOurs)
        ));
        let forged = encode(&ack(), Some(&theirs), 512).unwrap();
        assert!(matches!(
            link.accept_reply(&forged, from),
            Err(ReplyError::Decode(_))
        ));
        let wrong_id = encode(&ack(), Some(&other_id), 512).unwrap();
        assert!(matches!(
            link.accept_reply(&wrong_id, from),
            Err(ReplyError::NotOurs)
        ));
    }

    #[test]
    fn an_unkeyed_agent_accepts_plain_replies() {
        let mut link = Link::new("localhost", 1, None, "web1");
        link.servers[0].target = Some("127.0.0.1:1".parse().unwrap());
        let plain = encode(&ack(), None, 512).unwrap();
        assert_eq!(
            link.accept_reply(&plain, "127.0.0.1:1".parse().unwrap())
                .unwrap(),
            (0, ack())
        );
    }

    #[tokio::test]
    async fn each_datagram_goes_to_every_server_and_replies_say_whose() {
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = std::net::UdpSocket::bind("127.0.0.2:0").unwrap();
        let servers: Vec<(String, u16)> = [&a, &b]
            .iter()
            .map(|s| {
                let addr = s.local_addr().unwrap();
                (addr.ip().to_string(), addr.port())
            })
            .collect();
        let mut link = Link::to_all(&servers, None, "web1");
        link.send(&ack()).await.unwrap();
        let mut buf = [0u8; 512];
        for server in [&a, &b] {
            let (len, from) = server.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..len], link.encode(&ack()).unwrap().as_slice());
            // One socket sends to both.
            assert_eq!(from.port(), link.sockets()[0].local_addr().unwrap().port());
        }
        let reply = encode(&ack(), None, 512).unwrap();
        let b_addr = b.local_addr().unwrap();
        assert_eq!(link.accept_reply(&reply, b_addr).unwrap().0, 1);
        assert!(matches!(
            link.accept_reply(&reply, "127.0.0.3:9".parse().unwrap()),
            Err(ReplyError::Stranger { .. })
        ));
        // A reply on the shared socket is received.
        b.send_to(&reply, link.sockets()[0].local_addr().unwrap())
            .unwrap();
        let (len, from) = recv_any(&link.sockets(), &mut buf).await.unwrap();
        assert_eq!((len, from), (reply.len(), b_addr));
    }
}
