//! Why a notification is held (silenced, in maintenance, UNREACHABLE, flapping, the HA
//! standby, a pending period): the policy decides it, the API and the journal show it.

use serde::Serialize;

use crate::clock::Timestamp;

/// Why a notification is held.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// A silence covers it.
    Silenced {
        /// The silence's id.
        silence: String,
    },
    /// A maintenance window is open over it.
    Maintenance {
        /// The window's name.
        window: String,
    },
    /// Its host is UNREACHABLE: a parent is DOWN.
    Unreachable {
        /// The parent that is down.
        parent: String,
    },
    /// It is flapping.
    Flapping {
        /// Weighted state changes, percent.
        percent: f64,
    },
    /// This daemon is the standby of an HA pair: the other one tells (`leader`, when
    /// known; none while coordination is unreachable and before it fails open).
    Standby {
        /// The daemon holding the lease, if known.
        leader: Option<String>,
    },
    /// Its rule's pending period has not passed.
    Pending {
        /// When it fires if still not OK (ms since the Unix epoch).
        until: Timestamp,
    },
    /// Its host is a vantage point of a check run from several: the check tells, once
    /// enough of them agree (`checks.NAME`).
    Vantage {
        /// The check's name.
        check: String,
    },
    /// An operator acknowledged the problem: its reminders are held until its state
    /// changes.
    Acknowledged {
        /// Who.
        by: String,
    },
}
