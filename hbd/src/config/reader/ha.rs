//! The `ha` section: this daemon is one of an HA pair coordinated through PostgreSQL.

use std::time::Duration;

use serde_norway::Value;

use hb_problems::keys::{Reload, read_map};

use super::keys::KeySpec;
use super::{Reader, set};
use crate::ha::settings::Settings;

/// Keys of `ha`; each needs a restart (the pair's task starts with the daemon).
pub(in crate::config) static HA: &[KeySpec<Settings>] = &[
    KeySpec {
        name: "postgres",
        reload: Reload::Restart(|a, b| a.postgres == b.postgres),
        read: |r, s, p, v| {
            if let Some(t) = r.secret(p, v, Reader::string) {
                s.postgres = t.trim().to_owned();
            }
        },
    },
    KeySpec {
        name: "node",
        reload: Reload::Restart(|a, b| a.node == b.node),
        read: |r, s, p, v| set(&mut s.node, r.name(p, v)),
    },
    KeySpec {
        name: "shard",
        reload: Reload::Restart(|a, b| a.shard == b.shard),
        read: |r, s, p, v| set(&mut s.shard, r.name(p, v)),
    },
    KeySpec {
        name: "lease",
        reload: Reload::Restart(|a, b| a.lease == b.lease),
        read: |r, s, p, v| set(&mut s.lease, r.span_at_least(p, v, Duration::from_secs(1))),
    },
    KeySpec {
        name: "renew",
        reload: Reload::Restart(|a, b| a.renew == b.renew),
        read: |r, s, p, v| {
            set(
                &mut s.renew,
                r.span_at_least(p, v, Duration::from_millis(100)),
            )
        },
    },
    KeySpec {
        name: "fail_open_after",
        reload: Reload::Restart(|a, b| a.fail_open_after == b.fail_open_after),
        read: |r, s, p, v| {
            set(
                &mut s.fail_open_after,
                r.span_at_least(p, v, Duration::from_secs(1)),
            )
        },
    },
];

impl Reader {
    pub(super) fn ha(&mut self, v: &Value) -> Option<Settings> {
        let map = self.section("ha", v, &["postgres"])?;
        let mut s = Settings {
            postgres: String::new(),
            node: crate::ha::settings::default_node(),
            shard: "default".into(),
            lease: Duration::from_secs(15),
            renew: Duration::from_secs(5),
            fail_open_after: Duration::from_secs(60),
        };
        let mut ok = read_map(self, HA, &mut s, &["ha"], map);
        if ok && s.postgres.is_empty() {
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

    /// A duration of at least `min`.
    pub(super) fn span_at_least(
        &mut self,
        path: &[&str],
        v: &Value,
        min: Duration,
    ) -> Option<Duration> {
        let d = self.span(path, v)?;
        if d < min {
            self.error(path, format!("must be at least {min:?}"));
            return None;
        }
        Some(d)
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
