//! One monitored host as the core tracks it, and the record the store persists.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

/// Whether a host is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HostState {
    /// Configured but never heard from.
    Unknown,
    /// Heard from within `interval + grace`.
    Up,
    /// Silent for longer than `interval + grace`.
    Down,
    /// Silent while a parent (`hosts.NAME.parents`) is DOWN or UNREACHABLE.
    Unreachable,
}

impl HostState {
    /// Every state, in metric order.
    pub const ALL: [HostState; 4] = [
        HostState::Unknown,
        HostState::Up,
        HostState::Down,
        HostState::Unreachable,
    ];

    /// Upper-case name, as in the API and the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            HostState::Unknown => "UNKNOWN",
            HostState::Up => "UP",
            HostState::Down => "DOWN",
            HostState::Unreachable => "UNREACHABLE",
        }
    }

    /// Parses [`HostState::as_str`]'s output.
    pub fn parse(s: &str) -> Option<HostState> {
        HostState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// Everything known about a host; this is also what the store persists.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Host {
    /// Host name (the key).
    pub name: String,
    /// Source address of its last datagram.
    pub address: Option<SocketAddr>,
    /// First datagram ever.
    pub first_seen: Option<Timestamp>,
    /// Latest datagram.
    pub last_seen: Option<Timestamp>,
    /// Heartbeat interval in force (its own, or the configured one).
    #[serde(serialize_with = "secs")]
    pub interval: Duration,
    /// Alive or not.
    pub state: HostState,
    /// When `state` last changed.
    pub state_since: Timestamp,
    /// Round trip reported by the latest heartbeat, milliseconds.
    pub last_rtt_ms: Option<f64>,
    /// Agent version (shared by the hosts that report the same).
    pub version: Option<Arc<str>>,
    /// The agent binary's platform (`x86_64-linux`), from its heartbeats since the
    /// daemon started (not stored): which release an upgrade sends.
    pub arch: Option<Arc<str>>,
    /// `BOOT` messages received.
    pub boots: u64,
    /// Host uptime from its latest heartbeat or boot, seconds.
    pub uptime_s: Option<f64>,
    /// The labels its agent declares (`labels:` in its config), shared by the hosts
    /// that declare the same; what label-defined groups go by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Arc<Labels>>,
    /// What commands its agent runs, from its heartbeats since the daemon started (not
    /// stored): what the pages offer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepts: Option<Arc<hb_proto::Accepts>>,
}

/// The labels an agent declares: name to value.
pub type Labels = std::collections::BTreeMap<String, String>;

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl Host {
    /// A host heard from for the first time at `now`.
    pub fn new(name: &str, interval: Duration, now: Timestamp) -> Host {
        Host {
            name: name.to_owned(),
            address: None,
            first_seen: Some(now),
            last_seen: Some(now),
            interval,
            state: HostState::Unknown,
            state_since: now,
            last_rtt_ms: None,
            version: None,
            arch: None,
            boots: 0,
            uptime_s: None,
            labels: None,
            accepts: None,
        }
    }
}
