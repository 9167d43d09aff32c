//! The `ha` section: this daemon is one of an HA pair coordinated through PostgreSQL.

use std::time::Duration;

use serde_norway::Value;

use super::Reader;
use crate::ha::settings::Settings;

/// Keys of `ha`.
pub const HA_KEYS: &[&str] = &[
    "postgres",
    "node",
    "shard",
    "lease",
    "renew",
    "fail_open_after",
];

impl Reader<'_> {
    pub(super) fn ha(&mut self, v: &Value) -> Option<Settings> {
        let map = self.section("ha", v, HA_KEYS, &["postgres"])?;
        let mut s = Settings {
            postgres: String::new(),
            node: crate::ha::settings::default_node(),
            shard: "default".into(),
            lease: Duration::from_secs(15),
            renew: Duration::from_secs(5),
            fail_open_after: Duration::from_secs(60),
        };
        let mut ok = true;
        for (k, v) in map {
            let Some(key) = k.as_str() else { continue };
            let p = ["ha", key];
            let mut took = |x: Option<()>| ok &= x.is_some();
            match key {
                "postgres" => took(
                    self.string(&p, v)
                        .filter(|t| !t.trim().is_empty())
                        .map(|t| s.postgres = t),
                ),
                "node" => took(self.name(&p, v).map(|t| s.node = t)),
                "shard" => took(self.name(&p, v).map(|t| s.shard = t)),
                "lease" => took(
                    self.span(&p, v)
                        .filter(|d| *d >= Duration::from_secs(1))
                        .map(|d| s.lease = d),
                ),
                "renew" => took(
                    self.span(&p, v)
                        .filter(|d| *d >= Duration::from_millis(100))
                        .map(|d| s.renew = d),
                ),
                "fail_open_after" => took(
                    self.span(&p, v)
                        .filter(|d| !d.is_zero())
                        .map(|d| s.fail_open_after = d),
                ),
                _ => {}
            }
        }
        if s.postgres.is_empty() {
            self.error(
                &["ha", "postgres"],
                "expected a PostgreSQL connection string (host=... user=... dbname=...)",
            );
            ok = false;
        }
        if ok && s.renew * 2 > s.lease {
            self.error(
                &["ha", "renew"],
                format!(
                    "must be at most half of `lease` ({:?}), so one missed renewal does not lose the lease",
                    s.lease
                ),
            );
            ok = false;
        }
        if ok && s.fail_open_after < s.lease {
            self.error(
                &["ha", "fail_open_after"],
                format!(
                    "must be at least `lease` ({:?}): before then the other daemon may still lead",
                    s.lease
                ),
            );
            ok = false;
        }
        ok.then_some(s)
    }

    /// A node or shard name: letters, digits, `.`, `_` and `-`.
    fn name(&mut self, path: &[&str], v: &Value) -> Option<String> {
        let t = self.string(path, v)?;
        let fine = !t.is_empty()
            && t.len() <= 64
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !fine {
            self.error(
                path,
                format!("{t:?} is not a name (letters, digits, . _ -, at most 64)"),
            );
            return None;
        }
        Some(t)
    }
}
