//! Plugins the daemon rolls out to agents: which of the signed artifacts
//! `artifacts_dir` offers (`crate::catalogue`) each host should run, by its groups and
//! its own (docs/PLUGINS.md, "Signed artifacts").
//!
//! - [`desired`]: what one host should run, from the groups that hold it. Pure.
//! - [`changes`]: what a reload changes in which plugins run where. Pure.
//! - [`own`]: a host's own plugins as a manager asks for them through the API, checked
//!   and resolved, and what changed. Pure.
//! - [`splits`]: which members run a group's change after a reload. Pure.

pub mod changes;
pub mod desired;
pub mod own;
pub mod splits;
