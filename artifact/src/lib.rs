//! hb-artifact: a WebAssembly plugin as the daemon rolls it out to agents. An artifact
//! is the `.wasm` and a manifest (name, version, SHA-256, contract, the capabilities it
//! asks for) that its publisher signs with `minisign` on a machine of their own; the
//! daemon stores and serves both and never holds the private key. An agent trusts a
//! list of publisher keys and sets a ceiling on what any artifact may be granted, and
//! refuses an artifact that fails any check before it is compiled. Pure: bytes in,
//! a verdict out. docs/PLUGINS.md ("Signed artifacts") describes it for operators.
//!
//! - [`manifest`]: what a publisher signs, and how it is read.
//! - [`trust`]: the publisher keys an agent trusts and its ceiling on capabilities.
//! - [`ran`]: the versions an agent has run, which no artifact may go back behind.
//! - [`verify`]: every check, in order, and why an artifact is refused.
//! - [`desired`]: what a daemon wants a host to run, signed with the host's key.
//! - [`collectors`]: the daemon's settings for an agent's native collectors.
//! - [`net`]: where a plugin may connect, and the check each connection passes.
//! - [`grant`]: granted paths of Unix and Windows, read the same on every OS.
#![warn(missing_docs)]

pub mod collectors;
pub mod desired;
pub mod grant;
pub mod manifest;
pub mod net;
pub mod ran;
pub mod trust;
pub mod verify;

pub use manifest::{Capabilities, Manifest};
pub use ran::{Ran, RanVersions};
pub use trust::{Ceiling, Publisher, Trust};
pub use verify::{Refusal, verify};
