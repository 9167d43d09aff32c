//! Reading `rate_limit`: the API's requests per second per token and per address, and
//! how many seconds' worth may come at once.

use std::time::Duration;

use serde_norway::Value;

use hb_problems::keys::{Reload, read_map};

use super::Reader;
use super::keys::KeySpec;
use crate::config::RateLimits;

/// A rate: requests per second from 0 (off) to 100,000.
fn rate(r: &mut Reader, p: &[&str], v: &Value) -> Option<f64> {
    match v.as_f64() {
        Some(n) if (0.0..=100_000.0).contains(&n) => Some(n),
        _ => {
            r.error(
                p,
                "expected requests per second from 0 (no limit) to 100000",
            );
            None
        }
    }
}

/// Keys of `rate_limit` (applied at a reload).
pub(in crate::config) static RATE_LIMIT: &[KeySpec<RateLimits>] = &[
    KeySpec {
        name: "per_token",
        reload: Reload::Live,
        read: |r, c, p, v| {
            if let Some(n) = rate(r, p, v) {
                c.per_token = n;
            }
        },
    },
    KeySpec {
        name: "per_address",
        reload: Reload::Live,
        read: |r, c, p, v| {
            if let Some(n) = rate(r, p, v) {
                c.per_address = n;
            }
        },
    },
    KeySpec {
        name: "exempt",
        reload: Reload::Live,
        read: |r, c, p, v| c.exempt = r.nets(p, v),
    },
    KeySpec {
        name: "burst",
        reload: Reload::Live,
        read: |r, c, p, v| {
            if let Some(d) = r.seconds(p, v) {
                c.burst = d.max(Duration::from_secs(1));
            }
        },
    },
];

impl Reader {
    /// `rate_limit: {per_token: 20, per_address: 50, burst: 10}`.
    pub(super) fn rate_limit(&mut self, v: &Value) -> Option<RateLimits> {
        let map = self.section("rate_limit", v, &[])?;
        let mut limits = RateLimits::default();
        read_map(self, RATE_LIMIT, &mut limits, &["rate_limit"], map).then_some(limits)
    }
}
