//! The `ha` section's settings: which pair this daemon is part of, and how its lease and
//! fail-open behave. The config reads them; the coordination task uses them.

use std::time::Duration;

/// The `ha` section: this daemon is one of a pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// PostgreSQL connection, libpq's `key=value` form or a `postgres://` URL.
    pub postgres: String,
    /// This daemon's name in the pair (default: the host name).
    pub node: String,
    /// The pair's shard: its lease is `alerts/SHARD`, its shared record keyed by it.
    pub shard: String,
    /// How long a lease lasts without renewal: the longest a dead leader stays leader.
    pub lease: Duration,
    /// How often it is renewed (and the standby tries to take it).
    pub renew: Duration,
    /// Coordination unreachable this long: tell on our own, tagged.
    pub fail_open_after: Duration,
}

/// This machine's host name: a node's name unless `ha.node` says otherwise.
pub fn default_node() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "hbd".to_owned())
}

impl Settings {
    /// The lease's name.
    pub fn lease_name(&self) -> String {
        format!("alerts/{}", self.shard)
    }
}
