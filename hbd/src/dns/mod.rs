//! Dynamic DNS: when a host is new, comes back or changes address, its A or AAAA
//! record (named by `dyndomains` and its `dyndomain`, see [`crate::config::dns`]) is
//! replaced through `nsupdate`.
//!
//! - [`plan`]: pure: per host, the address wanted and the one applied, coalescing (only
//!   the latest address is sent), one update per host at a time, retries with backoff.
//! - [`nsupdate`]: the update script (pure) and running `nsupdate` with it on standard
//!   input, with a time limit; the TSIG key stays in its file.
//! - [`worker`]: the task that moves addresses in and results out: counted, journaled,
//!   and visible per host through the API.

pub mod nsupdate;
pub use hbd_core::dns::plan;
pub mod worker;
