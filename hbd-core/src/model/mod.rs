//! The daemon's shared words: the types the core, the alert policy and every output
//! (journal, store, live stream, notifier, HA pair, API) speak, and nothing that acts.
//! They live on the floor below all of those, so none has to import another to name
//! them.
//!
//! - [`host`]: a monitored host and its state; [`event`]: what happened to one.
//! - [`alert`]: alert levels, an alert path's state, the notice of a change.
//! - [`hold`]: why a notification is held; [`notification`]: what can be notified, and
//!   what the policy decided about it.
//! - [`job`]: a command or self-upgrade queued for an agent.

pub mod alert;
pub mod event;
pub mod hold;
pub mod host;
pub mod job;
pub mod notification;

pub use alert::{Ack, AckChange, AlertState, Level, Notice, NoticeKind, Operator};
pub use event::{DNS_TELL_AFTER, Event, EventKind};
pub use hold::Reason;
pub use host::{Host, HostState, Labels};
pub use job::{Job, JobState, UpgradeFile, UpgradeJob};
pub use notification::{Decision, EscalationNotice, FlapNotice, Notification, Verdict};
