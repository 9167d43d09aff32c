//! The embedded store: one SQLite file (WAL) that keeps hosts across restarts.
//!
//! The engine sends batches of changed hosts about once a second over a bounded channel
//! (full: the engine keeps the hosts dirty and retries), and a dedicated thread writes
//! each batch in one transaction, so there is never one write per datagram.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, params};

use crate::clock::Timestamp;
use crate::core::{Host, HostState};
use crate::metrics::Metrics;

/// Batches waiting for the writer.
pub const QUEUE_LEN: usize = 16;

const MIGRATIONS: &[&str] = &["CREATE TABLE hosts (
        name        TEXT PRIMARY KEY,
        address     TEXT,
        first_seen  INTEGER,
        last_seen   INTEGER,
        interval_ms INTEGER NOT NULL,
        state       TEXT NOT NULL,
        state_since INTEGER NOT NULL,
        last_rtt_ms REAL,
        version     TEXT,
        boots       INTEGER NOT NULL DEFAULT 0,
        uptime_s    REAL
    ) WITHOUT ROWID;"];

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused.
    #[error("store {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The cause.
        source: rusqlite::Error,
    },
    /// The writer thread could not start.
    #[error("cannot start the store writer: {0}")]
    Thread(std::io::Error),
}

/// An open store.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    conn: Connection,
}

impl Store {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let err = |source| StoreError::Sqlite {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(err)?;
        let done = usize::try_from(version).unwrap_or(0);
        for (i, sql) in (1i64..).zip(MIGRATIONS.iter()).skip(done) {
            conn.execute_batch(sql).map_err(err)?;
            conn.pragma_update(None, "user_version", i).map_err(err)?;
        }
        Ok(Store {
            path: path.to_owned(),
            conn,
        })
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Every stored host.
    pub fn load_hosts(&self) -> Result<Vec<Host>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, address, first_seen, last_seen, interval_ms, state, state_since,
                        last_rtt_ms, version, boots, uptime_s FROM hosts",
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
                    version: r.get(8)?,
                    boots: u64::try_from(r.get::<_, i64>(9)?).unwrap_or(0),
                    uptime_s: r.get(10)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Writes hosts in one transaction.
    pub fn save_hosts(&mut self, hosts: &[Host]) -> Result<(), StoreError> {
        let tx = self.conn.transaction().map_err(|e| StoreError::Sqlite {
            path: self.path.clone(),
            source: e,
        })?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO hosts (name, address, first_seen, last_seen, interval_ms, state,
                                        state_since, last_rtt_ms, version, boots, uptime_s)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT(name) DO UPDATE SET
                        address = excluded.address, first_seen = excluded.first_seen,
                        last_seen = excluded.last_seen, interval_ms = excluded.interval_ms,
                        state = excluded.state, state_since = excluded.state_since,
                        last_rtt_ms = excluded.last_rtt_ms, version = excluded.version,
                        boots = excluded.boots, uptime_s = excluded.uptime_s",
                )
                .map_err(|e| StoreError::Sqlite {
                    path: self.path.clone(),
                    source: e,
                })?;
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
                    h.version,
                    i64::try_from(h.boots).unwrap_or(i64::MAX),
                    h.uptime_s,
                ])
                .map_err(|e| StoreError::Sqlite {
                    path: self.path.clone(),
                    source: e,
                })?;
            }
        }
        tx.commit().map_err(|e| StoreError::Sqlite {
            path: self.path.clone(),
            source: e,
        })
    }
}

fn to_sql_ms(t: Timestamp) -> i64 {
    i64::try_from(t.0).unwrap_or(i64::MAX)
}

fn from_sql_ms(ms: i64) -> Timestamp {
    Timestamp(u64::try_from(ms).unwrap_or(0))
}

/// Starts the writer thread. It ends once the sender is dropped, after writing every
/// batch already queued.
pub fn start_writer(
    store: Store,
    metrics: Arc<Metrics>,
) -> Result<(SyncSender<Vec<Host>>, JoinHandle<()>), StoreError> {
    let (tx, rx) = sync_channel(QUEUE_LEN);
    let handle = std::thread::Builder::new()
        .name("hbd-store".into())
        .spawn(move || write_loop(store, rx, &metrics))
        .map_err(StoreError::Thread)?;
    Ok((tx, handle))
}

fn write_loop(mut store: Store, rx: Receiver<Vec<Host>>, metrics: &Metrics) {
    while let Ok(batch) = rx.recv() {
        match store.save_hosts(&batch) {
            Ok(()) => {
                metrics.store_rows.inc_by(batch.len() as u64);
            }
            Err(error) => {
                metrics.store_errors.inc();
                tracing::error!(%error, hosts = batch.len(), "store write failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let mut store = Store::open(&path).unwrap();
            store.save_hosts(&[host.clone()]).unwrap();
            host.boots = 3;
            store.save_hosts(&[host.clone()]).unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.load_hosts().unwrap(), vec![host]);
    }
}
