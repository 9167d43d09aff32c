//! What can be notified (a host event, an alert notice, flapping), and what the alert
//! policy decided about it.

use serde::Serialize;

use super::alert::Notice;
use super::event::Event;
use super::hold::Reason;
use crate::clock::Timestamp;

/// What can be notified, typed; the renderer (`render.rs`) makes the text at the edge.
#[derive(Debug, Clone, PartialEq)]
pub enum Notification {
    /// A host event.
    Host(Event),
    /// An alert change or reminder.
    Alert(Notice),
    /// A host or alert path started or stopped flapping.
    Flapping(FlapNotice),
    /// A problem still open and unacknowledged at an escalation step: told to that
    /// step's people.
    Escalated(EscalationNotice),
}

/// A problem escalated to a step's people.
#[derive(Debug, Clone, PartialEq)]
pub struct EscalationNotice {
    /// The host.
    pub host: String,
    /// The alert path; `None`: the host itself.
    pub path: Option<String>,
    /// Which step (1-based).
    pub step: usize,
    /// How long it has been open, unacknowledged.
    pub after: std::time::Duration,
    /// Who is told (user names).
    pub users: Vec<String>,
    /// The latest notification of the problem (what is told again).
    pub latest: Box<Notification>,
    /// When.
    pub at: Timestamp,
}

/// A host or alert path started or stopped flapping.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FlapNotice {
    /// The host.
    pub host: String,
    /// The alert path; absent for the host's UP/DOWN.
    pub path: Option<String>,
    /// Started (or stopped).
    pub started: bool,
    /// Weighted state changes over the last 21 checks, percent.
    pub percent: f64,
    /// When.
    pub at: Timestamp,
}

impl Notification {
    /// The host it is about.
    pub fn host(&self) -> &str {
        match self {
            Notification::Host(e) => &e.host,
            Notification::Alert(n) => &n.host,
            Notification::Flapping(f) => &f.host,
            Notification::Escalated(e) => &e.host,
        }
    }
}

/// What the policy did with one notification or one subject.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Told now.
    Notified,
    /// Not told now, for this reason.
    Held {
        /// Why.
        #[serde(flatten)]
        reason: Reason,
    },
    /// A hold ended and the state then, different from what was last told, was told.
    Released,
    /// A hold ended, or a change came, and the state is what was last told: nothing to say.
    Unchanged,
    /// Held for a grouped message (a storm).
    Grouped {
        /// The group's number.
        storm: u64,
    },
}

/// One verdict, journaled and published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// The host.
    pub host: String,
    /// The alert path; absent for the host itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// When.
    pub at: Timestamp,
    /// What it is about (`DOWN`, `CRITICAL`, `REMINDER`, `FLAPPING START`, ...).
    pub what: String,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
}
