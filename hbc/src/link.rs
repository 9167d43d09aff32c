//! The UDP link to the daemon: resolves the server (again after a failure), signs every
//! datagram when a key is set, and accepts only replies from the server that pass the
//! same checks (signed with our key id when we hold a key).

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
    /// From an address other than the server's.
    #[error("reply from {from}, not from the server {server}")]
    Stranger {
        /// Sender.
        from: SocketAddr,
        /// Expected sender.
        server: SocketAddr,
    },
    /// Unsigned, or signed with another key id, while we hold a key.
    #[error("reply not signed with our key id")]
    NotOurs,
    /// Failed decoding or verification.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// The link's state.
#[derive(Debug)]
pub struct Link {
    server: String,
    port: u16,
    signer: Option<Signer>,
    socket: Option<Arc<UdpSocket>>,
    target: Option<SocketAddr>,
}

impl Link {
    /// A link to `server:port`; `key` and `key_id` turn on signing.
    pub fn new(server: &str, port: u16, key: Option<&str>, key_id: &str) -> Link {
        Link {
            server: server.to_owned(),
            port,
            signer: key.map(|k| Signer {
                key_id: key_id.to_owned(),
                key: Key::new(k),
            }),
            socket: None,
            target: None,
        }
    }

    /// Forgets the resolved address, so the next send resolves the server again.
    pub fn reset(&mut self) {
        self.target = None;
    }

    /// The socket replies arrive on, once one is open.
    pub fn socket(&self) -> Option<Arc<UdpSocket>> {
        self.socket.clone()
    }

    async fn connect(&mut self) -> Result<(Arc<UdpSocket>, SocketAddr), LinkError> {
        if let (Some(socket), Some(target)) = (&self.socket, self.target) {
            return Ok((socket.clone(), target));
        }
        let server = self.server.clone();
        let resolve_err = |detail: String| LinkError::Resolve {
            server: format!("{server}:{}", self.port),
            detail,
        };
        let target = tokio::net::lookup_host((self.server.as_str(), self.port))
            .await
            .map_err(|e| resolve_err(e.to_string()))?
            .next()
            .ok_or_else(|| resolve_err("no address".into()))?;
        let same_family = self
            .socket
            .as_ref()
            .and_then(|s| s.local_addr().ok())
            .is_some_and(|l| l.is_ipv4() == target.is_ipv4());
        if !same_family {
            let local: SocketAddr = if target.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                ([0u16; 8], 0).into()
            };
            self.socket = Some(Arc::new(UdpSocket::bind(local).await?));
        }
        self.target = Some(target);
        tracing::debug!(server = %self.server, %target, "server resolved");
        // Invariant: set just above when it was missing.
        let socket = self
            .socket
            .clone()
            .ok_or_else(|| LinkError::Io(std::io::ErrorKind::NotConnected.into()))?;
        Ok((socket, target))
    }

    /// Encodes and signs one message as it would be sent.
    pub fn encode(&self, message: &Message) -> Result<Vec<u8>, EncodeError> {
        encode(message, self.signer.as_ref(), DEFAULT_COMPRESS_OVER)
    }

    /// Encodes, signs and sends one message.
    pub async fn send(&mut self, message: &Message) -> Result<(), LinkError> {
        let bytes = self.encode(message)?;
        self.send_encoded(&bytes).await
    }

    /// Sends an already encoded datagram.
    pub async fn send_encoded(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        let (socket, target) = self.connect().await?;
        match socket.send_to(bytes, target).await {
            Ok(_) => Ok(()),
            Err(e) => {
                self.reset();
                Err(e.into())
            }
        }
    }

    /// Whether this link signs what it sends and accepts only signed replies.
    pub fn signs(&self) -> bool {
        self.signer.is_some()
    }

    /// Checks a reply datagram from `from`.
    pub fn accept_reply(&self, bytes: &[u8], from: SocketAddr) -> Result<Message, ReplyError> {
        if let Some(server) = self.target
            && server != from
        {
            return Err(ReplyError::Stranger { from, server });
        }
        let limits = Limits::default();
        let frame = split(bytes, &limits)?;
        if let Some(signer) = &self.signer {
            if frame.key_id() != Some(signer.key_id.as_str()) {
                return Err(ReplyError::NotOurs);
            }
            frame.verify(&signer.key)?;
        }
        Ok(decode_payload(frame.payload(), &limits)?.message)
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
        })
    }

    #[test]
    fn a_keyed_agent_trusts_only_signed_replies() {
        let link = Link::new("localhost", 1, Some("0123456789abcdef"), "web1");
        let from: SocketAddr = "127.0.0.1:1".parse().unwrap();
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
        assert_eq!(link.accept_reply(&good, from).unwrap(), ack());
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
        let link = Link::new("localhost", 1, None, "web1");
        let plain = encode(&ack(), None, 512).unwrap();
        assert_eq!(
            link.accept_reply(&plain, "127.0.0.1:1".parse().unwrap())
                .unwrap(),
            ack()
        );
    }
}
