//! Plugins the daemon rolls out to agents: the signed artifacts `artifacts_dir` holds,
//! and which of them each host should run, by its groups and its own (docs/PLUGINS.md,
//! "Signed artifacts").
//!
//! - [`catalogue`]: the artifacts in `artifacts_dir`, each checked (name, signature,
//!   digest) before it is offered; rescanned only when the directory changes.
//! - [`desired`]: what one host should run, from the groups that hold it. Pure.
//! - [`changes`]: what a reload changes in which plugins run where. Pure.
//! - [`own`]: a host's own plugins as a manager asks for them through the API, checked
//!   and resolved, and what changed. Pure.
//! - [`rollouts`]: staged rollouts: started by reloads, stepped by a task, seen and
//!   steered through the API.

pub mod catalogue;
pub mod changes;
pub mod desired;
pub mod own;
pub mod rollouts;
