//! An HA pair, the pure part: which part this daemon plays, from each lease renewal
//! ([`role`]). The lease, the claims and the task are the daemon's.

pub mod role;
