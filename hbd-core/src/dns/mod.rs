//! Dynamic DNS, the pure part: which record each host gets ([`zones`]) and when an
//! update is due ([`plan`]). Running `nsupdate` is the daemon's.

pub mod plan;
pub mod zones;
