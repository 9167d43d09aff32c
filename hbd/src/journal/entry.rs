//! What the journal holds before it is formatted: the receiver's datagrams in arrival
//! order ([`Arrivals`]) and one [`Entry`] per host event, alert, decision, command and
//! account event.

use std::net::SocketAddr;

use super::ARRIVALS_ROOM;
use crate::clock::Timestamp;
use crate::core::Action;
use crate::model::{Event, Job, JobState, Notice};

/// Datagrams' JSON texts in arrival order, each with when and from where it came: one
/// buffer for a whole batch, so the receiver pays a copy of each text and nothing else,
/// and the writer's thread formats the lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Arrivals {
    /// The texts, one after another.
    pub(super) text: Vec<u8>,
    /// Each datagram's arrival, source and the end of its text in `text`.
    pub(super) items: Vec<(Timestamp, SocketAddr, usize)>,
}

impl Arrivals {
    /// Room for `datagrams` datagrams of `bytes` bytes in all, allocated at once.
    pub fn with_capacity(datagrams: usize, bytes: usize) -> Arrivals {
        Arrivals {
            text: Vec::with_capacity(bytes),
            items: Vec::with_capacity(datagrams),
        }
    }

    /// Adds a datagram received from `source` at `at` with the JSON text `json`.
    pub fn push(&mut self, at: Timestamp, source: SocketAddr, json: &[u8]) {
        self.text.extend_from_slice(json);
        self.items.push((at, source, self.text.len()));
    }

    /// How many datagrams.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Empty arrivals with room for as many datagrams and bytes as this one has room
    /// for, up to [`ARRIVALS_ROOM`] bytes: the next batch's buffer, allocated once. (A
    /// batch of large reports does not make every later batch reserve as much.)
    pub fn like(&self) -> Arrivals {
        Arrivals::with_capacity(
            self.items.capacity(),
            self.text.capacity().min(ARRIVALS_ROOM),
        )
    }

    /// Each datagram's arrival, source and text, in order.
    pub fn iter(&self) -> impl Iterator<Item = (Timestamp, SocketAddr, &[u8])> {
        let mut start = 0;
        self.items.iter().map(move |&(at, source, end)| {
            let json = &self.text[start..end];
            start = end;
            (at, source, json)
        })
    }
}

/// One journal entry before formatting.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// Accepted datagrams (and ones with an unknown `ID`), in arrival order.
    Datagrams(Arrivals),
    /// A host event.
    Event(Event),
    /// An alert change or reminder, with its rendered text.
    Alert(Notice, String),
    /// An operator's command and what came of it.
    Command {
        /// When it was applied.
        at: Timestamp,
        /// The command (`{"command": "drop_host", ...}`).
        command: serde_json::Value,
        /// `ok`, or why it was refused.
        result: String,
    },
    /// A command for an agent was first sent, got its result, or expired.
    Job(Job),
    /// A DNS update ended.
    Dns {
        /// When.
        at: Timestamp,
        /// The host.
        host: String,
        /// The record.
        name: String,
        /// The address written.
        address: std::net::IpAddr,
        /// `ok`, or why it failed.
        result: String,
    },
    /// What the alert policy decided about a notification.
    Decision(crate::model::Decision),
    /// A notification given up on.
    Dropped {
        /// When.
        at: Timestamp,
        /// The channel.
        channel: &'static str,
        /// The message.
        text: String,
        /// Why.
        reason: String,
    },
    /// An acknowledgement put on a problem, or ended (`ack: None`, `ended` says why).
    Ack {
        /// When.
        at: Timestamp,
        /// The host.
        host: String,
        /// The alert path; `None`: the host itself.
        path: Option<String>,
        /// The acknowledgement now.
        ack: Option<crate::model::Ack>,
        /// Why it ended.
        ended: Option<&'static str>,
    },
    /// A sign-in, refused or not, and other account events.
    Auth {
        /// When.
        at: Timestamp,
        /// The client's address.
        source: std::net::IpAddr,
        /// `login`, `login_failed`, `login_throttled`, `logout`.
        event: &'static str,
        /// The user name given.
        user: String,
    },
    /// A state-changing API request, as the audit log keeps it.
    Audit(Box<crate::store::audit::Audited>),
}

impl Entry {
    /// The entry a core action makes, if any: host events, alert notices with their
    /// text, the policy's decisions, and a command's first sending, result or expiry
    /// (its queueing is the operator's `COMMAND` entry).
    pub fn from_action(action: &Action) -> Option<Entry> {
        match action {
            Action::Event(event) => Some(Entry::Event(event.clone())),
            Action::Alert(notice) => Some(Entry::Alert(
                notice.clone(),
                crate::render::notice_text(notice),
            )),
            Action::Decision(decision) => Some(Entry::Decision(decision.clone())),
            Action::Acknowledged {
                host,
                path,
                ack,
                ended,
            } => Some(Entry::Ack {
                at: ack.as_ref().map_or_else(Timestamp::now, |a| a.at),
                host: host.clone(),
                path: path.clone(),
                ack: ack.clone(),
                ended: ended.map(|e| e.as_str()),
            }),
            Action::Job(job) => {
                let worth = match job.state {
                    JobState::Sent { times, .. } => times == 1,
                    JobState::Queued => false,
                    JobState::Done { .. } | JobState::Expired { .. } => true,
                };
                worth.then(|| Entry::Job(job.clone()))
            }
            _ => None,
        }
    }

    /// How many journal lines this entry is.
    pub fn lines(&self) -> usize {
        match self {
            Entry::Datagrams(arrivals) => arrivals.len(),
            _ => 1,
        }
    }
}
