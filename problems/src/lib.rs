//! hb-problems: how hbd and hbc report what is wrong with a configuration file. Every
//! problem is collected (not only the first), each with its file, line and dotted key,
//! and unknown keys get a "did you mean" hint. Module map:
//!
//! - [`problem`]: one problem, its severity and display; the typo hint.
//! - [`locate`]: the line of a dotted key path in YAML text (parsing loses positions).
//! - [`collector`]: [`Problems`], what a config reader records problems into.
//! - [`values`]: the value readers both readers share (numbers, seconds, sizes).
//! - [`secret`]: secrets from a file or the environment instead of the YAML.
//! - [`keys`]: key tables, one row per key: how it is read and when it takes effect.
#![warn(missing_docs)]

pub mod collector;
pub mod keys;
pub mod locate;
pub mod problem;
pub mod secret;
pub mod values;

pub use collector::{Problems, describe, show};
pub use locate::line_of;
pub use problem::{Problem, Severity, did_you_mean, read_file};
pub use values::parse_size;
