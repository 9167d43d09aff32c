//! Alert words: the levels, an alert path's state, and the notice of a change or a
//! reminder, typed until the renderer (`render.rs`) makes the text.

use serde::{Deserialize, Serialize};

use super::hold::Reason;
use crate::clock::Timestamp;

/// Alert levels, ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// Within thresholds.
    Ok,
    /// Past `warning`.
    Warning,
    /// Past `critical`.
    Critical,
    /// A Nagios check that could not decide (only Nagios results have it).
    Unknown,
}

impl Level {
    /// Upper-case name, as in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Warning => "WARNING",
            Level::Critical => "CRITICAL",
            Level::Unknown => "UNKNOWN",
        }
    }

    /// Parses [`Level::as_str`].
    pub fn parse(s: &str) -> Option<Level> {
        [Level::Ok, Level::Warning, Level::Critical, Level::Unknown]
            .into_iter()
            .find(|l| l.as_str() == s)
    }
}

/// The alert state of one host's metric path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertState {
    /// The host.
    pub host: String,
    /// The shown metric path (`disk_monitor./.percent`).
    pub path: String,
    /// Current level.
    pub level: Level,
    /// When the level last changed.
    pub since: Timestamp,
    /// Latest value (numbers) ...
    pub value: Option<f64>,
    /// ... or latest text (Nagios checks).
    pub detail: Option<String>,
    /// The threshold of the current level, if any.
    pub threshold: Option<f64>,
    /// How the value is compared with `threshold` (`value OP threshold` holds), when
    /// there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
    /// When a notice about this path was last sent (raise, drop or reminder).
    pub last_notified: Option<Timestamp>,
    /// Reminders sent in this episode.
    pub reminders: u32,
    /// Why its notifications are held now (silenced, maintenance, ...): filled in when
    /// the API asks, never stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<Reason>,
    /// Who acknowledged the problem, when and why: filled in when the API asks (kept by
    /// the core's acknowledgements, not here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack: Option<Ack>,
}

/// An operator's acknowledgement of a problem (an alert that is not OK, a host DOWN or
/// UNREACHABLE): its reminders stop until its state changes, it recovers, or `until`
/// passes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// Who.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// Why: what is being done about it.
    pub comment: String,
    /// When it ends by itself, if it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
}

/// An acknowledgement made or taken back on one daemon of an HA pair, for the other to
/// do the same: which problem it was about (its state and since when, as that daemon
/// saw it), and the acknowledgement itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckChange {
    /// The host.
    pub host: String,
    /// The alert path; `None`: the host's own DOWN or UNREACHABLE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The problem's state when it was acknowledged: `CRITICAL`, `WARNING`, `UNKNOWN`,
    /// `DOWN`, `UNREACHABLE`.
    pub state: String,
    /// When that state began.
    pub since: Timestamp,
    /// The acknowledgement (for a withdrawal: the one taken back).
    pub ack: Ack,
    /// Whether it was taken back.
    #[serde(default)]
    pub withdrawn: bool,
}

/// What kind of change a notice reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeKind {
    /// Level went up.
    Raised,
    /// Level went down but not to OK.
    Lowered,
    /// Back to OK.
    Recovered,
    /// Still not OK after `threshold_renotify_interval`.
    Reminder,
}

/// One alert notification, typed: the renderer at the edge (`render.rs`) turns it
/// into the documented text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// The host.
    pub host: String,
    /// The shown metric path.
    pub path: String,
    /// What changed.
    pub kind: NoticeKind,
    /// Level before.
    pub from: Level,
    /// Level now.
    pub to: Level,
    /// The value that caused it (numbers) ...
    pub value: Option<f64>,
    /// ... or the check's own text (Nagios).
    pub detail: Option<String>,
    /// The threshold of the level now, if any.
    pub threshold: Option<f64>,
    /// How the value is compared with `threshold` (`value OP threshold` holds), when
    /// there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
    /// When the current level began (reminders say for how long).
    pub since: Timestamp,
    /// When the notice was made.
    pub at: Timestamp,
}

/// How a value is compared with a threshold: the alert holds when `value OP threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Operator {
    /// `>` (default)
    #[default]
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `==`
    #[serde(rename = "==")]
    Eq,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
}

impl Operator {
    /// Parses `>`, `>=`, `<`, `<=`, `==`, `!=`.
    pub fn parse(s: &str) -> Option<Operator> {
        Some(match s.trim() {
            ">" => Operator::Gt,
            ">=" => Operator::Ge,
            "<" => Operator::Lt,
            "<=" => Operator::Le,
            "==" => Operator::Eq,
            "!=" => Operator::Ne,
            _ => return None,
        })
    }

    /// The operator as written (`>`, `<=`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Gt => ">",
            Operator::Ge => ">=",
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Eq => "==",
            Operator::Ne => "!=",
        }
    }

    /// Whether `value OP threshold` holds.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Operator::Gt => value > threshold,
            Operator::Ge => value >= threshold,
            Operator::Lt => value < threshold,
            Operator::Le => value <= threshold,
            Operator::Eq => value == threshold,
            Operator::Ne => value != threshold,
        }
    }
}
