//! Each host's own managed plugins and collectors' settings in the store (what those who
//! manage it set through the API, resolved against the artifacts on offer when they
//! set it), so the plan is the same after a restart without looking at
//! `artifacts_dir`. One row per host, its settings as JSON.

use std::collections::BTreeMap;
use std::path::Path;

use hbd_core::managed::HostOwn;
use rusqlite::{Connection, params};

use super::StoreError;
use super::side::SideDb;
use crate::clock::Timestamp;

/// The table's connection (the store must have been opened, and so migrated).
#[derive(Debug, Clone)]
pub struct HostPluginsDb(SideDb);

impl HostPluginsDb {
    /// Opens `path` for the hosts' own plugins.
    pub fn open(path: &Path) -> Result<HostPluginsDb, StoreError> {
        SideDb::open(path).map(HostPluginsDb)
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.0.with(f)
    }

    /// Every host's own, by host name (a row that does not read back is skipped and
    /// logged: the host then runs what its groups say).
    pub fn all(&self) -> Result<BTreeMap<String, HostOwn>, StoreError> {
        let rows: Vec<(String, String)> = self.with(|c| {
            let mut q = c.prepare("SELECT host, own FROM host_plugins")?;
            let rows = q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })?;
        let mut out = BTreeMap::new();
        for (host, own) in rows {
            match serde_json::from_str::<HostOwn>(&own) {
                Ok(own) => {
                    out.insert(host, own);
                }
                Err(error) => {
                    tracing::error!(%host, %error, "a host's own plugins do not read back; its groups' apply");
                }
            }
        }
        Ok(out)
    }

    /// Sets `host`'s own (nothing: removes the row), made by `by` at `at`.
    pub fn put(
        &self,
        host: &str,
        own: &HostOwn,
        by: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        if own.is_empty() {
            return self.with(|c| {
                c.execute("DELETE FROM host_plugins WHERE host = ?1", params![host])
                    .map(|_| ())
            });
        }
        // Invariant: plain fields and strings serialize.
        let json = serde_json::to_string(own).unwrap_or_default();
        let at_ms = super::hosts::to_sql_ms(at);
        self.with(|c| {
            c.execute(
                "INSERT INTO host_plugins (host, own, by, since_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (host) DO UPDATE SET own = ?2, by = ?3, since_ms = ?4",
                params![host, json, by, at_ms],
            )
            .map(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hosts_own_survives_a_reopen_and_nothing_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(super::super::Store::open(&path, 10).unwrap());
        let db = HostPluginsDb::open(&path).unwrap();
        let at = Timestamp::from_secs_f64(1_764_000_000.0);
        let own = HostOwn {
            without: vec!["tls_expiry".into()],
            ..HostOwn::default()
        };
        db.put("web1", &own, "mia", at).unwrap();
        db.put("web2", &own, "mia", at).unwrap();
        db.put("web2", &HostOwn::default(), "mia", at).unwrap();
        drop(db);
        let db = HostPluginsDb::open(&path).unwrap();
        let all = db.all().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all["web1"], own);
    }
}
