//! hbd's pure core: everything the daemon decides, as plain functions of (state, input,
//! now), with no async runtime, HTTP, database or schema crate below it. The daemon
//! (`hbd`) reads the configuration, moves datagrams in and carries actions out; this
//! crate says what they are. Module map, floor by floor (each uses only those above it):
//!
//! - [`clock`]: wall and monotonic time, passed in so tests use synthetic time.
//! - [`model`]: the shared words: hosts, events, alert levels and notices, holds,
//!   notifications, policy decisions, queued commands.
//! - [`render`]: their text, as notifications and history say it; [`facts`]: the same
//!   as structured data, for targets that take data; [`leaves`]: a report's numbers by
//!   dotted path; [`quantity`]: a value by the unit its path names (`4.8 %`,
//!   `1.50 GiB`).
//! - [`alerting`]: threshold evaluation (levels, hysteresis, reminders, profiles);
//!   [`groups`]: which hosts a group holds (name patterns, agents' labels);
//!   [`vantage`]: checks run from several vantage points, combined by a quorum.
//! - [`policy`]: who is told, and when: silences, maintenance windows, UNREACHABLE
//!   hosts, flapping, pending periods, storm grouping.
//! - [`managed`]: which signed plugin artifacts each host runs, and what each managing
//!   agent applied (the ACK names what it should run when they differ).
//! - [`rollout`]: a group's change going to canaries, then waves, while they stay healthy.
//! - [`core`]: host state (new, UP, DOWN, BOOT, MSG, IP change), operator commands and
//!   the outbox, composing the floors above into one step per input.
//! - Pure leaves the daemon's tasks run on: [`dns`] (record names, the update plan),
//!   [`ha`] (the pair's role), [`downsample`] (charts), [`remote_write`] (series and
//!   wire format).

pub mod alerting;
pub mod clock;
pub mod core;
pub mod dns;
pub mod downsample;
pub mod facts;
pub mod groups;
pub mod ha;
pub mod leaves;
pub mod managed;
pub mod model;
pub mod policy;
pub mod quantity;
pub mod remote_write;
pub mod render;
pub mod rollout;
pub mod vantage;
