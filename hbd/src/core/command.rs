//! Operator commands the core applies (the write path): what they are, what they did,
//! and why one was refused.

use serde::Serialize;

use crate::alerting::Level;

/// A change an operator asks for through the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Forget a host: its state, samples and alerts. It comes back as new if it sends
    /// again (a configured host stays listed, as never heard from).
    DropHost {
        /// The host.
        host: String,
    },
    /// Forget one alert path's state; the next report evaluates it afresh from OK.
    ClearAlert {
        /// The host.
        host: String,
        /// The shown metric path.
        path: String,
    },
}

/// What an applied command did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The host is forgotten.
    HostDropped,
    /// The alert path is forgotten.
    AlertCleared {
        /// Its level before.
        was: Level,
    },
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No such host.
    #[error("no host named {0:?}")]
    UnknownHost(String),
    /// No such alert path.
    #[error("host {host:?} has no alert {path:?}")]
    UnknownAlert {
        /// The host.
        host: String,
        /// The path.
        path: String,
    },
}
