//! The embedded store: one SQLite file (WAL) holding hosts, the bounded history of
//! plugin samples and alert states, so all survive restarts.
//!
//! The engine sends a [`Batch`] about once a second over a bounded channel (full: the
//! engine keeps the batch and merges it into the next), and a dedicated thread writes
//! each batch in one transaction: never one write per datagram. The same thread prunes
//! each host's and plugin's history to `plugin_history` samples as it grows. The HTTP API
//! reads through its own connection ([`Reader`]); WAL lets it read while the writer
//! writes.

mod alerts;
mod hosts;
mod samples;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub use samples::StoredSample;

use crate::alerting::AlertState;
use crate::core::Host;
use crate::metrics::Metrics;
use crate::samples::Sample;

/// Batches waiting for the writer.
pub const QUEUE_LEN: usize = 16;

/// Schema migrations, in order; `user_version` counts those applied. Never edit one
/// that has shipped: add another.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE hosts (
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
    ) WITHOUT ROWID;",
    "CREATE TABLE plugin_samples (
        id          INTEGER PRIMARY KEY,
        host        TEXT NOT NULL,
        plugin      TEXT NOT NULL,
        received_ms INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        status      TEXT,
        duration_ms REAL,
        data        TEXT NOT NULL
    );
    CREATE INDEX plugin_samples_by_host_plugin ON plugin_samples (host, plugin, id);",
    "CREATE TABLE alerts (
        host             TEXT NOT NULL,
        path             TEXT NOT NULL,
        level            TEXT NOT NULL,
        since_ms         INTEGER NOT NULL,
        value            REAL,
        detail           TEXT,
        threshold        REAL,
        last_notified_ms INTEGER,
        reminders        INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (host, path)
    ) WITHOUT ROWID;",
];

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

/// What the engine hands the writer in one go.
#[derive(Debug, Default)]
pub struct Batch {
    /// Hosts changed since the last batch.
    pub hosts: Vec<Host>,
    /// Plugin samples received since the last batch.
    pub samples: Vec<Arc<Sample>>,
    /// Alert states changed since the last batch.
    pub alerts: Vec<AlertState>,
}

impl Batch {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.samples.is_empty() && self.alerts.is_empty()
    }
}

/// An open store (the writer's connection).
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    conn: Connection,
    history: usize,
    counts: std::collections::HashMap<(String, String), usize>,
}

impl Store {
    /// Opens (creating and migrating) the database at `path`, keeping `history` samples
    /// per host and plugin.
    pub fn open(path: &Path, history: usize) -> Result<Store, StoreError> {
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
            history: history.max(1),
            counts: std::collections::HashMap::new(),
        })
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Writes a batch in one transaction, then prunes histories that grew too long.
    pub fn write(&mut self, batch: &Batch) -> Result<(), StoreError> {
        let tx = self.conn.transaction().map_err(|e| StoreError::Sqlite {
            path: self.path.clone(),
            source: e,
        })?;
        hosts::save(&tx, &batch.hosts).map_err(|e| StoreError::Sqlite {
            path: self.path.clone(),
            source: e,
        })?;
        samples::insert(&tx, &batch.samples).map_err(|e| StoreError::Sqlite {
            path: self.path.clone(),
            source: e,
        })?;
        alerts::save(&tx, &batch.alerts).map_err(|e| StoreError::Sqlite {
            path: self.path.clone(),
            source: e,
        })?;
        tx.commit().map_err(|e| self.err(e))?;
        self.prune(&batch.samples)
    }
}

/// A read-only connection for the HTTP API.
#[derive(Debug, Clone)]
pub struct Reader {
    conn: Arc<Mutex<Connection>>,
}

impl Reader {
    /// Opens `path` read-only (the writer must have created it).
    pub fn open(path: &Path) -> Result<Reader, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Sqlite {
            path: path.to_owned(),
            source,
        })?;
        let _ = conn.busy_timeout(Duration::from_secs(5));
        Ok(Reader {
            conn: Arc::new(Mutex::new(conn)),
        })
    }
}

/// Starts the writer thread. It ends once the sender is dropped, after writing every
/// batch already queued.
pub fn start_writer(
    store: Store,
    metrics: Arc<Metrics>,
) -> Result<(SyncSender<Batch>, JoinHandle<()>), StoreError> {
    let (tx, rx) = sync_channel(QUEUE_LEN);
    let handle = std::thread::Builder::new()
        .name("hbd-store".into())
        .spawn(move || write_loop(store, rx, &metrics))
        .map_err(StoreError::Thread)?;
    Ok((tx, handle))
}

fn write_loop(mut store: Store, rx: Receiver<Batch>, metrics: &Metrics) {
    while let Ok(batch) = rx.recv() {
        match store.write(&batch) {
            Ok(()) => {
                metrics.store_rows.inc_by(batch.hosts.len() as u64);
                metrics.store_samples.inc_by(batch.samples.len() as u64);
            }
            Err(error) => {
                metrics.store_errors.inc();
                tracing::error!(%error, hosts = batch.hosts.len(), samples = batch.samples.len(), "store write failed");
            }
        }
    }
}
