//! Plugins the daemon rolls out to agents: the signed artifacts `artifacts_dir` holds,
//! and which of them each host should run, by its groups (docs/PLUGINS.md, "Signed
//! artifacts").
//!
//! - [`catalogue`]: the artifacts in `artifacts_dir`, each checked (name, signature,
//!   digest) before it is offered; rescanned only when the directory changes.
//! - [`desired`]: what one host should run, from the groups that hold it. Pure.
//! - [`changes`]: what a reload changes in which plugins run where. Pure.

pub mod catalogue;
pub mod changes;
pub mod desired;
