//! Dynamic DNS settings: the keys of a zone under `dyndomains`. The settings themselves
//! and the rule that names a host's record are the core's (`hbd_core::dns::zones`).

pub use hbd_core::dns::zones::*;

/// Keys of one zone under `dyndomains`.
pub const ZONE_KEYS: &[&str] = &["server", "port", "key_file", "ttl", "all_hosts", "timeout"];
