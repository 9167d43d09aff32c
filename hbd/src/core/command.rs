//! Operator commands the core applies (the write path): what they are, what they did,
//! and why one was refused.

use serde::Serialize;

use super::Job;
use crate::alerting::Level;
use crate::policy::silence::Silence;

/// A change an operator asks for through the API.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// Queue a command for a host's agent.
    QueueJob {
        /// The command.
        job: Box<Job>,
    },
    /// Add a silence (or replace one with the same id).
    PutSilence {
        /// The silence.
        silence: Box<Silence>,
    },
    /// End a silence now.
    ExpireSilence {
        /// Its id.
        id: String,
    },
}

/// What an applied command did.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The host is forgotten.
    HostDropped,
    /// The alert path is forgotten.
    AlertCleared {
        /// Its level before.
        was: Level,
    },
    /// The command is queued for the host's agent.
    Queued {
        /// The command.
        job: Box<Job>,
    },
    /// The silence is in force (or ended, when expired).
    Silence {
        /// The silence now.
        silence: Box<Silence>,
    },
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No such host.
    #[error("no host named {0:?}")]
    UnknownHost(String),
    /// Commands travel only signed, and the host has no key.
    #[error(
        "host {0:?} has no key: commands travel only signed; give it one (hosts.NAME.key, or hb_key for all hosts) and run its agent with the same key"
    )]
    Unsigned(String),
    /// No such silence.
    #[error("no silence with id {0:?}")]
    UnknownSilence(String),
    /// A silence whose matcher does not compile.
    #[error("{0}")]
    BadSilence(String),
    /// No such alert path.
    #[error("host {host:?} has no alert {path:?}")]
    UnknownAlert {
        /// The host.
        host: String,
        /// The path.
        path: String,
    },
}
