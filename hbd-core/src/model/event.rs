//! What happened to a host: the core's notable transitions, journaled and (later) notified.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use crate::clock::Timestamp;

/// A notable change to one host.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// The host.
    pub host: String,
    /// When the core noticed.
    pub at: Timestamp,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// The kinds of host event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventKind {
    /// First datagram ever from this host.
    NewHost,
    /// The host is UP: first time, or again after DOWN.
    Up {
        /// How long it was DOWN, if it was.
        #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_secs")]
        down_for_s: Option<Duration>,
    },
    /// Nothing heard for longer than `interval + grace`.
    Down {
        /// Time since the last datagram.
        #[serde(serialize_with = "secs")]
        silent_for_s: Duration,
    },
    /// The host reported a boot.
    Boot {
        /// Uptime it reported, seconds.
        uptime_s: Option<f64>,
    },
    /// An operator message (`hbc -m`).
    Message {
        /// The text.
        text: String,
    },
    /// The host's source IP changed.
    AddressChanged {
        /// Previous IP.
        from: IpAddr,
        /// New IP.
        to: IpAddr,
    },
    /// Nothing heard for longer than `interval + grace` while a parent is DOWN (or
    /// UNREACHABLE itself): nobody is told.
    Unreachable {
        /// The parent that is down.
        parent: String,
    },
    /// An operator dropped the host: its state, samples and alerts are forgotten.
    Dropped,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

impl EventKind {
    /// The short upper-case name used in logs.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::NewHost => "NEW_HOST",
            EventKind::Up { .. } => "UP",
            EventKind::Down { .. } => "DOWN",
            EventKind::Boot { .. } => "BOOT",
            EventKind::Message { .. } => "MESSAGE",
            EventKind::AddressChanged { .. } => "ADDRESS_CHANGED",
            EventKind::Unreachable { .. } => "UNREACHABLE",
            EventKind::Dropped => "DROPPED",
        }
    }
}
