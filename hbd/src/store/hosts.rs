//! The `hosts` table: every host's state, written in batches, read at start.

use std::net::SocketAddr;
use std::time::Duration;

use rusqlite::params;

use super::{Store, StoreError};
use crate::clock::Timestamp;
use crate::core::{Host, HostState};

impl Store {
    /// Every stored host.
    pub fn load_hosts(&self) -> Result<Vec<Host>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, address, first_seen, last_seen, interval_ms, state, state_since,
                        last_rtt_ms, version, boots, uptime_s, labels FROM hosts",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let address: Option<String> = r.get(1)?;
                let state: String = r.get(5)?;
                Ok(Host {
                    name: r.get(0)?,
                    address: address.and_then(|a| a.parse::<SocketAddr>().ok()),
                    first_seen: r.get::<_, Option<i64>>(2)?.map(from_sql_ms),
                    last_seen: r.get::<_, Option<i64>>(3)?.map(from_sql_ms),
                    interval: Duration::from_millis(from_sql_ms(r.get(4)?).0),
                    state: HostState::parse(&state).unwrap_or(HostState::Unknown),
                    state_since: from_sql_ms(r.get(6)?),
                    last_rtt_ms: r.get(7)?,
                    version: r.get::<_, Option<String>>(8)?.map(Into::into),
                    arch: None,
                    boots: u64::try_from(r.get::<_, i64>(9)?).unwrap_or(0),
                    uptime_s: r.get(10)?,
                    accepts: None,
                    labels: r
                        .get::<_, Option<String>>(11)?
                        .and_then(|j| serde_json::from_str(&j).ok())
                        .map(std::sync::Arc::new),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}

/// Deletes dropped hosts with their samples and alert states.
pub(super) fn delete(tx: &rusqlite::Transaction<'_>, names: &[String]) -> rusqlite::Result<()> {
    for table in [
        "DELETE FROM hosts WHERE name = ?1",
        "DELETE FROM plugin_samples WHERE host = ?1",
        "DELETE FROM alerts WHERE host = ?1",
    ] {
        let mut stmt = tx.prepare_cached(table)?;
        for name in names {
            stmt.execute(params![name])?;
        }
    }
    Ok(())
}

/// Upserts hosts inside the caller's transaction.
pub(super) fn save(tx: &rusqlite::Transaction<'_>, hosts: &[Host]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO hosts (name, address, first_seen, last_seen, interval_ms, state,
                            state_since, last_rtt_ms, version, boots, uptime_s, labels)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT(name) DO UPDATE SET
            address = excluded.address, first_seen = excluded.first_seen,
            last_seen = excluded.last_seen, interval_ms = excluded.interval_ms,
            state = excluded.state, state_since = excluded.state_since,
            last_rtt_ms = excluded.last_rtt_ms, version = excluded.version,
            boots = excluded.boots, uptime_s = excluded.uptime_s, labels = excluded.labels",
    )?;
    for h in hosts {
        stmt.execute(params![
            h.name,
            h.address.map(|a| a.to_string()),
            h.first_seen.map(to_sql_ms),
            h.last_seen.map(to_sql_ms),
            i64::try_from(h.interval.as_millis()).unwrap_or(i64::MAX),
            h.state.as_str(),
            to_sql_ms(h.state_since),
            h.last_rtt_ms,
            h.version.as_deref(),
            i64::try_from(h.boots).unwrap_or(i64::MAX),
            h.uptime_s,
            h.labels
                .as_deref()
                .and_then(|l| serde_json::to_string(l).ok()),
        ])?;
    }
    Ok(())
}

pub(crate) fn to_sql_ms(t: Timestamp) -> i64 {
    i64::try_from(t.0).unwrap_or(i64::MAX)
}

pub(crate) fn from_sql_ms(ms: i64) -> Timestamp {
    Timestamp(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Batch, Store};

    #[test]
    fn hosts_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let mut host = Host::new("web1", Duration::from_secs(30), Timestamp(5_000));
        host.address = Some("127.0.0.1:4000".parse().unwrap());
        host.state = HostState::Up;
        host.last_rtt_ms = Some(0.25);
        host.boots = 2;
        host.version = Some("1.0".into());
        {
            let mut store = Store::open(&path, 10).unwrap();
            store
                .write(&Batch {
                    hosts: vec![host.clone()],
                    ..Batch::default()
                })
                .unwrap();
            host.boots = 3;
            store
                .write(&Batch {
                    hosts: vec![host.clone()],
                    ..Batch::default()
                })
                .unwrap();
        }
        let store = Store::open(&path, 10).unwrap();
        assert_eq!(store.load_hosts().unwrap(), vec![host]);
    }
}
