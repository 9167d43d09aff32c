//! Admission of datagrams: frame, signature, policy, payload and replay checks, in the
//! order that keeps unauthenticated senders from costing CPU (the tag is checked before
//! anything is inflated or parsed).
//!
//! Pure: the receiver passes the bytes and `now`; the gate owns the replay window.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use hb_proto::frame::{decode_payload, split};
use hb_proto::{DecodeError, Limits, Message, ReplayGuard};

use crate::clock::Timestamp;
use crate::config::{Config, SharedConfig};
use crate::rejects::{SharedRejects, Warning};

/// A datagram that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct Admitted<'a> {
    /// The message.
    pub message: Message,
    /// Its JSON text, for the journal: borrowed from the datagram unless it was
    /// compressed.
    pub json: Cow<'a, [u8]>,
    /// The key id it was signed with.
    pub key_id: Option<Arc<str>>,
}

/// Shards of the replay window, by key id: one window for every receiver, so a
/// datagram replayed from another source port (which the kernel may hand to another
/// socket of the same port) is still refused.
const REPLAY_SHARDS: usize = 16;

/// The receivers' one replay window, sharded so they seldom wait for each other.
#[derive(Debug)]
struct Replay(Vec<std::sync::Mutex<ReplayGuard>>);

impl Replay {
    fn check(
        &self,
        key_id: &str,
        stamp: &hb_proto::Stamp<'_>,
        now: f64,
    ) -> Result<Arc<str>, DecodeError> {
        // The shard by a fixed fast hash: only key ids whose signature verified come
        // here, so nobody without a key chooses them (SipHash cost more than the
        // window's own lookup).
        use std::hash::BuildHasher;
        let hash = foldhash::fast::FixedState::with_seed(0x6862_642d_7265_706c).hash_one(key_id);
        let shard = &self.0[(hash as usize) % self.0.len()];
        // A poisoned lock means a receiver panicked while checking; the window itself
        // is still consistent (each check is one update), so go on with it.
        let mut guard = shard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.check(key_id, stamp, now)
    }
}

/// The receiver's checks and the state they need.
#[derive(Debug)]
pub struct Gate {
    shared: SharedConfig,
    config: Arc<Config>,
    limits: Limits,
    replay: Arc<Replay>,
    rejects: SharedRejects,
}

fn limits(config: &Config) -> Limits {
    Limits {
        max_message_bytes: config.max_message_bytes,
        ..Limits::default()
    }
}

impl Gate {
    /// A gate for the shared config's keys and limits.
    pub fn new(shared: SharedConfig) -> Gate {
        let config = shared.get();
        let skew = config.max_clock_skew.as_secs_f64();
        let replay = Replay(
            (0..REPLAY_SHARDS)
                .map(|_| std::sync::Mutex::new(ReplayGuard::new(skew)))
                .collect(),
        );
        Gate {
            limits: limits(&config),
            config,
            shared,
            replay: Arc::new(replay),
            rejects: SharedRejects::default(),
        }
    }

    /// A gate for another receiver of the same port: the same replay window.
    pub fn sharing(&self) -> Gate {
        Gate {
            shared: self.shared.clone(),
            config: self.config.clone(),
            limits: self.limits,
            replay: self.replay.clone(),
            rejects: self.rejects.clone(),
        }
    }

    /// Takes up the config in force (after a reload: new keys, limits, policy). The
    /// receiver calls this once per batch, not per datagram.
    pub fn refresh(&mut self) {
        let current = self.shared.get();
        if !Arc::ptr_eq(&current, &self.config) {
            self.limits = limits(&current);
            self.config = current;
        }
    }

    /// The senders this gate (and every gate sharing it) turned away.
    pub fn rejects(&self) -> SharedRejects {
        self.rejects.clone()
    }

    /// Records that `datagram` from `source` was turned away with `error`; a warning
    /// when the log should say so (see [`crate::rejects`]).
    pub fn reject(
        &self,
        source: IpAddr,
        datagram: &[u8],
        error: &DecodeError,
        now: Timestamp,
    ) -> Option<Warning> {
        let key_id = split(datagram, &self.limits).ok().and_then(|f| f.key_id());
        self.rejects.record(
            source,
            key_id,
            error.reason(),
            error,
            || self.claimed_name(datagram),
            now,
        )
    }

    /// The host name a rejected datagram claims, when its payload can be read at all
    /// (not trusted: only shown beside the sender, to say which agent it may be).
    fn claimed_name(&self, datagram: &[u8]) -> Option<String> {
        let frame = split(datagram, &self.limits).ok()?;
        let decoded = decode_payload(frame.payload(), &self.limits).ok()?;
        let name = decoded.message.stamp()?.name.to_owned();
        hb_proto::validate_name(&name).ok().map(|()| name)
    }

    /// Checks one datagram.
    pub fn admit<'a>(
        &mut self,
        datagram: &'a [u8],
        now: Timestamp,
    ) -> Result<Admitted<'a>, DecodeError> {
        let frame = split(datagram, &self.limits)?;
        let key_id = frame.key_id();
        let mut host_key = false;
        match key_id {
            Some(key_id) => {
                let (key, own) =
                    self.config
                        .key_for(key_id)
                        .ok_or_else(|| DecodeError::UnknownKey {
                            key_id: key_id.to_owned(),
                        })?;
                frame.verify(key)?;
                host_key = own;
            }
            None if self.config.require_signed => return Err(DecodeError::Unsigned),
            None => {}
        }
        let decoded = decode_payload(frame.payload(), &self.limits)?;
        // A host with a key of its own is spoken for by that key alone: not by the
        // shared `hb_key`, nor unsigned.
        if !host_key
            && let Some(stamp) = decoded.message.stamp()
            && self.config.has_own_key(stamp.name)
        {
            return Err(DecodeError::Invalid {
                field: "name",
                reason: format!(
                    "{:?} has a key of its own, and only that key speaks for it",
                    stamp.name
                ),
            });
        }
        let key_id: Option<Arc<str>> = match key_id {
            Some(key_id) => {
                let stamp = decoded.message.stamp().ok_or(DecodeError::Invalid {
                    field: "ID",
                    reason: "daemon-to-agent message sent to the daemon".into(),
                })?;
                if host_key && stamp.name != key_id {
                    return Err(DecodeError::Invalid {
                        field: "name",
                        reason: format!("{:?} does not match the key id {key_id:?}", stamp.name),
                    });
                }
                Some(self.replay.check(key_id, &stamp, now.as_secs_f64())?)
            }
            None => None,
        };
        Ok(Admitted {
            message: decoded.message,
            json: decoded.json,
            key_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HostConfig;
    use hb_proto::frame::{DEFAULT_COMPRESS_OVER, encode};
    use hb_proto::{Heartbeat, Key, RejectReason, Signer};

    const NOW: f64 = 1_764_000_000.0;

    fn config(require_signed: bool) -> Arc<Config> {
        let mut c = Config {
            hb_key: Some(Key::new("global-key-0123456789")),
            require_signed,
            ..Config::default()
        };
        c.hosts.insert(
            "web1".into(),
            HostConfig {
                key: Some(Key::new("web1-own-key-0123456")),
                ..HostConfig::default()
            },
        );
        use crate::config::enrolled::{Enrolled, EnrolledKey, Standing};
        let enrolled = |secret: &str, standing| EnrolledKey {
            key: Key::new(secret),
            standing,
        };
        c.enrolled = Arc::new(Enrolled::new(
            [
                (
                    "enrolled1",
                    enrolled("enrolled1-made-this-key", Standing::Active),
                ),
                (
                    "pending1",
                    enrolled("pending1-made-this-key", Standing::Pending),
                ),
                (
                    "revoked1",
                    enrolled("revoked1-made-this-key", Standing::Revoked),
                ),
            ]
            .into_iter()
            .map(|(h, k)| (h.to_owned(), k))
            .collect(),
        ));
        Arc::new(c)
    }

    fn htb(name: &str, seq: u64) -> Message {
        Message::Heartbeat(Heartbeat {
            name: name.into(),
            ts: Some(NOW),
            run: Some(7),
            seq: Some(seq),
            ..Heartbeat::default()
        })
    }

    fn signed(msg: &Message, key_id: &str, secret: &str) -> Vec<u8> {
        let signer = Signer {
            key_id: key_id.into(),
            key: Key::new(secret),
        };
        encode(msg, Some(&signer), DEFAULT_COMPRESS_OVER).unwrap()
    }

    /// (what, require_signed, datagram, expected key id or reject reason)
    type Case = (
        &'static str,
        bool,
        Vec<u8>,
        Result<Option<&'static str>, RejectReason>,
    );

    #[test]
    fn admission_table() {
        let plain = encode(&htb("web2", 1), None, DEFAULT_COMPRESS_OVER).unwrap();
        // (what, require_signed, datagram, expected: Ok(key id) or Err(reason))
        let cases: Vec<Case> = vec![
            ("plain accepted by default", false, plain.clone(), Ok(None)),
            (
                "plain refused when signatures are required",
                true,
                plain,
                Err(RejectReason::Unsigned),
            ),
            (
                "own key",
                true,
                signed(&htb("web1", 1), "web1", "web1-own-key-0123456"),
                Ok(Some("web1")),
            ),
            (
                "global key",
                true,
                signed(&htb("web2", 1), "web2", "global-key-0123456789"),
                Ok(Some("web2")),
            ),
            (
                "wrong key",
                false,
                signed(&htb("web1", 1), "web1", "global-key-0123456789"),
                Err(RejectReason::BadSignature),
            ),
            (
                "own key used for another name",
                false,
                signed(&htb("web9", 1), "web1", "web1-own-key-0123456"),
                Err(RejectReason::Invalid),
            ),
            (
                "the global key for a host with its own",
                false,
                signed(&htb("web1", 1), "web9", "global-key-0123456789"),
                Err(RejectReason::Invalid),
            ),
            (
                "unsigned for a host with its own key",
                false,
                encode(&htb("web1", 1), None, DEFAULT_COMPRESS_OVER).unwrap(),
                Err(RejectReason::Invalid),
            ),
            (
                "an enrolled key",
                true,
                signed(&htb("enrolled1", 1), "enrolled1", "enrolled1-made-this-key"),
                Ok(Some("enrolled1")),
            ),
            (
                "the global key for an enrolled host",
                false,
                signed(&htb("enrolled1", 1), "enrolled1", "global-key-0123456789"),
                Err(RejectReason::BadSignature),
            ),
            (
                "the global key under another id for an enrolled host",
                false,
                signed(&htb("enrolled1", 1), "x", "global-key-0123456789"),
                Err(RejectReason::Invalid),
            ),
            (
                "a pending enrolled key",
                false,
                signed(&htb("pending1", 1), "pending1", "pending1-made-this-key"),
                Err(RejectReason::UnknownKey),
            ),
            (
                "the global key for a host whose key was revoked",
                false,
                signed(&htb("revoked1", 1), "x", "global-key-0123456789"),
                Err(RejectReason::Invalid),
            ),
        ];
        for (what, require, bytes, want) in cases {
            let mut gate = Gate::new(SharedConfig::new(config(require)));
            let got = gate
                .admit(&bytes, Timestamp::from_secs_f64(NOW))
                .map(|a| a.key_id.map(|k| k.to_string()))
                .map_err(|e| e.reason());
            assert_eq!(got, want.map(|k| k.map(str::to_owned)), "{what}");
        }
    }

    #[test]
    fn unknown_key_id_without_a_global_key() {
        let mut c = (*config(false)).clone();
        c.hb_key = None;
        let mut gate = Gate::new(SharedConfig::new(Arc::new(c)));
        let bytes = signed(&htb("x", 1), "x", "whatever-key-01234567");
        let err = gate
            .admit(&bytes, Timestamp::from_secs_f64(NOW))
            .unwrap_err();
        assert_eq!(err.reason(), RejectReason::UnknownKey);
    }

    #[test]
    fn a_replayed_datagram_is_accepted_once() {
        let mut gate = Gate::new(SharedConfig::new(config(true)));
        let bytes = signed(&htb("web1", 5), "web1", "web1-own-key-0123456");
        let now = Timestamp::from_secs_f64(NOW);
        assert!(gate.admit(&bytes, now).is_ok());
        assert_eq!(
            gate.admit(&bytes, now).unwrap_err().reason(),
            RejectReason::Replay
        );
        let late = Timestamp::from_secs_f64(NOW + 301.0);
        let fresh = signed(&htb("web1", 6), "web1", "web1-own-key-0123456");
        assert_eq!(
            gate.admit(&fresh, late).unwrap_err().reason(),
            RejectReason::ClockSkew
        );
    }
}
