//! hb-proto: the heartbeat wire protocol shared by `hbd` (daemon) and `hbc` (agent).
//!
//! The crate is pure: no sockets, no clock reads, no async. Callers pass bytes and the
//! current time in, and get messages or typed errors out. `docs/PROTOCOL.md` states the
//! protocol in full; this module map follows it:
//!
//! - [`catalogue`]: the agent's built-in plugins and the metrics they report.
//! - [`message`]: every message type (`HTB`, `BOOT`, `MSG`, `PLG`, `RES`, `ACK`, `CMD`, `UPD`).
//! - [`name`]: the host-name rule.
//! - [`limits`]: size and nesting limits, and the JSON depth scan.
//! - [`signing`]: HMAC-SHA256 keys, tags and constant-time verification.
//! - [`frame`]: the three datagram encodings (plain, zlib, signed), encode and decode.
//! - [`replay`]: the replay window for signed messages.
//! - [`error`]: decode errors and the reject reasons the daemon counts.
//! - [`enrol`]: how an agent with a token gets a key of its own, and replaces it.
#![warn(missing_docs)]

pub mod catalogue;
pub mod digest;
pub mod enrol;
pub mod error;
pub mod frame;
pub mod limits;
pub mod message;
pub mod name;
pub mod replay;
pub mod signing;

pub use error::{DecodeError, EncodeError, RejectReason};
pub use frame::{Decoded, Frame, Signer, decode_payload, encode, split};
pub use limits::Limits;
pub use message::{
    Accepts, Ack, Boot, Command, CommandResult, EXIT_INTERRUPTED, EXIT_NOT_RUN, Heartbeat,
    LABELS_EVERY, MAX_LABELS, Message, OperatorMessage, PluginKind, PluginReport, Stamp, Status,
    Update, UpdateFile, validate_labels,
};
pub use name::{NameError, validate_name};
pub use replay::ReplayGuard;
pub use signing::Key;

/// Default UDP port of the daemon's heartbeat listener (`hb_port`).
pub const DEFAULT_HB_PORT: u16 = 50003;
