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
    /// A command for the host's agent failed: it ended with a non-zero exit code, or no
    /// result came before it expired.
    CommandFailed {
        /// The command's id.
        cmd_id: String,
        /// What was run (`/usr/bin/systemctl restart nginx`, `self-upgrade to 1.4.0`).
        command: String,
        /// Its exit code; `None`: it expired without a result.
        #[serde(skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        /// The first line of its output, at most 200 characters.
        #[serde(skip_serializing_if = "String::is_empty")]
        output: String,
    },
    /// The host's DNS record could not be written, [`DNS_TELL_AFTER`] tries in a row
    /// (told once, until it is written again).
    DnsFailed {
        /// The record's name.
        record: String,
        /// Failed tries so far.
        tries: u32,
        /// Why the last one failed.
        error: String,
    },
    /// The host's DNS record was written again after failing.
    DnsWritten {
        /// The record's name.
        record: String,
    },
}

/// Failed tries in a row before a DNS record's failure is told.
pub const DNS_TELL_AFTER: u32 = 3;

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
            EventKind::CommandFailed { .. } => "COMMAND_FAILED",
            EventKind::DnsFailed { .. } => "DNS_FAILED",
            EventKind::DnsWritten { .. } => "DNS_WRITTEN",
        }
    }
}
