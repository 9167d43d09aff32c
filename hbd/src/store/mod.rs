//! The embedded store: one SQLite file (WAL) holding hosts, the bounded history of
//! plugin samples, alert states, each host's recent events and alert notices, the
//! commands queued for agents, the users, host access, sessions and tokens made
//! through the API, the record of changes to what runs where, enrolment tokens and the
//! keys agents enrolled, each host's own managed plugins, the staged rollouts in
//! progress and the audit log of API changes, so all survive restarts.
//!
//! The engine sends a [`Batch`] about once a second over a bounded channel (full: the
//! engine keeps the batch and merges it into the next), and a dedicated thread writes
//! each batch in one transaction: never one write per datagram. The same thread prunes
//! each host's and plugin's history to `plugin_history` samples as it grows. The HTTP API
//! reads through its own connection ([`Reader`]); WAL lets it read while the writer
//! writes. Sign-ins and user changes write through a third, the auth module's own (its
//! `db` file, which knows these tables): they are rare, and the API must know they are on
//! disk before it answers.

mod acks;
mod alerts;
pub mod audit;
pub mod backup;
pub mod changes;
pub mod enrolment;
mod history;
pub mod host_plugins;
pub(crate) mod hosts;
mod jobs;
mod policy;
pub mod rollouts;
mod samples;
pub mod side;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

pub use history::{HistoryEntry, HostEntry, StoredEntry};
pub use samples::StoredSample;

use crate::alerting::AlertState;
use crate::core::{Host, Job};
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
    "CREATE TABLE users (
        name TEXT PRIMARY KEY,
        data TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE host_access (
        host TEXT PRIMARY KEY,
        data TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE grants (
        digest       BLOB PRIMARY KEY,
        id           TEXT NOT NULL,
        user         TEXT NOT NULL,
        kind         TEXT NOT NULL,
        name         TEXT,
        created_ms   INTEGER NOT NULL,
        last_seen_ms INTEGER NOT NULL,
        expires_ms   INTEGER
    ) WITHOUT ROWID;",
    "CREATE TABLE history (
        id    INTEGER PRIMARY KEY,
        host  TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        path  TEXT,
        data  TEXT NOT NULL
    );
    CREATE INDEX history_by_host ON history (host, id);",
    "CREATE TABLE jobs (
        id        TEXT PRIMARY KEY,
        host      TEXT NOT NULL,
        queued_ms INTEGER NOT NULL,
        data      TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX jobs_by_host ON jobs (host, queued_ms);",
    "CREATE TABLE silences (
        id      TEXT PRIMARY KEY,
        ends_ms INTEGER NOT NULL,
        data    TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE told (
        host  TEXT NOT NULL,
        path  TEXT NOT NULL,
        level TEXT NOT NULL,
        PRIMARY KEY (host, path)
    ) WITHOUT ROWID;",
    // How an alert's value compares with its threshold (`>`, `<=`, ...), for the pages.
    "ALTER TABLE alerts ADD COLUMN operator TEXT;",
    // The labels an agent declares (JSON), which host groups go by.
    "ALTER TABLE hosts ADD COLUMN labels TEXT;",
    // Changes to what runs where: who, when, what (`changes.rs`).
    "CREATE TABLE changes (
        id    INTEGER PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        by    TEXT NOT NULL,
        what  TEXT NOT NULL
    );",
    // Enrolment tokens and the keys agents made with them (`enrolment.rs`).
    "CREATE TABLE enrol_tokens (
        id         TEXT PRIMARY KEY,
        verifier   BLOB NOT NULL,
        made_by    TEXT NOT NULL,
        made_ms    INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        uses_left  INTEGER NOT NULL,
        grp        TEXT,
        auto       INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE host_keys (
        host     TEXT PRIMARY KEY,
        key      TEXT NOT NULL,
        standing TEXT NOT NULL,
        token_id TEXT,
        since_ms INTEGER NOT NULL,
        by       TEXT NOT NULL
    ) WITHOUT ROWID;",
    // Each host's own plugins and collectors' settings, made through the API
    // (`host_plugins.rs`).
    "CREATE TABLE host_plugins (
        host     TEXT PRIMARY KEY,
        own      TEXT NOT NULL,
        by       TEXT NOT NULL,
        since_ms INTEGER NOT NULL
    ) WITHOUT ROWID;",
    // Each group's staged rollout: which members run the change (`rollouts.rs`).
    "CREATE TABLE rollouts (
        grp   TEXT PRIMARY KEY,
        split TEXT NOT NULL
    ) WITHOUT ROWID;",
    // The host a change names, so only those who may see it are shown it; the lines
    // kept before that which may name one are left to administrators ('').
    "ALTER TABLE changes ADD COLUMN host TEXT;
    UPDATE changes SET host = '' WHERE by = 'rollout' OR what LIKE 'hosts.%';",
    "CREATE TABLE acks (
        host     TEXT NOT NULL,
        path     TEXT NOT NULL,
        by_user  TEXT NOT NULL,
        at_ms    INTEGER NOT NULL,
        comment  TEXT NOT NULL,
        until_ms INTEGER,
        PRIMARY KEY (host, path)
    ) WITHOUT ROWID;",
    // An API token's limits (JSON of `auth::sessions::Scope`; NULL: none).
    "ALTER TABLE grants ADD COLUMN scope TEXT;",
    // The audit log (`audit.rs`): every state-changing API request.
    "CREATE TABLE audit (
        id        INTEGER PRIMARY KEY,
        at_ms     INTEGER NOT NULL,
        user      TEXT NOT NULL,
        address   TEXT NOT NULL,
        kind      TEXT NOT NULL,
        method    TEXT NOT NULL,
        operation TEXT NOT NULL,
        path      TEXT NOT NULL,
        host      TEXT,
        status    INTEGER NOT NULL,
        request   TEXT NOT NULL
    );
    CREATE INDEX audit_user ON audit (user, id);
    CREATE INDEX audit_host ON audit (host, id);",
    // What a change made of what it changed (JSON; NULL where the change does not say).
    "ALTER TABLE audit ADD COLUMN before TEXT;
    ALTER TABLE audit ADD COLUMN after TEXT;",
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
    /// The database was made by a newer hbd: opening it could damage what that hbd
    /// wrote, so it is left as it is.
    #[error(
        "store {path}: schema version {version} was written by a newer hbd (this one knows up to {known}); run that hbd, or restore a backup made by this one"
    )]
    Newer {
        /// The database file.
        path: PathBuf,
        /// Its schema version.
        version: i64,
        /// The newest this build knows.
        known: usize,
    },
}

/// Samples a batch holds at most while the store is behind (the engine's pending batch
/// or one the writer retries); past this, new samples are dropped and counted.
pub const MAX_PENDING_SAMPLES: usize = 200_000;

/// History entries a batch holds at most while the store is behind; past this the
/// oldest are dropped.
pub const MAX_PENDING_HISTORY: usize = 100_000;

/// What the engine hands the writer in one go.
#[derive(Debug, Default)]
pub struct Batch {
    /// Hosts changed since the last batch.
    pub hosts: Vec<Host>,
    /// Plugin samples received since the last batch.
    pub samples: Vec<Arc<Sample>>,
    /// Alert states changed since the last batch.
    pub alerts: Vec<AlertState>,
    /// Hosts dropped by an operator: their rows, samples and alerts go.
    pub dropped_hosts: Vec<String>,
    /// Alert paths no longer tracked: `(host, path)`.
    pub dropped_alerts: Vec<(String, String)>,
    /// Host events and alert notices, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Commands for agents, as they are now.
    pub jobs: Vec<Job>,
    /// Silences added, changed or expired.
    pub silences: Vec<crate::policy::silence::Silence>,
    /// States last told: `(host, path or "", level)`.
    pub told: Vec<(String, String, crate::alerting::Level)>,
    /// Acknowledgements put (`Some`) or ended (`None`), oldest first.
    pub acks: Vec<(crate::core::acks::Subject, Option<crate::model::Ack>)>,
}

impl Batch {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
            && self.samples.is_empty()
            && self.alerts.is_empty()
            && self.dropped_hosts.is_empty()
            && self.dropped_alerts.is_empty()
            && self.history.is_empty()
            && self.jobs.is_empty()
            && self.silences.is_empty()
            && self.acks.is_empty()
            && self.told.is_empty()
    }

    /// Folds a newer batch into this one, so writing the result equals writing both in
    /// order: newer rows replace older ones of the same key, and a drop after a change
    /// removes the change. Samples past [`MAX_PENDING_SAMPLES`] are dropped; returns how
    /// many.
    pub fn merge(&mut self, newer: Batch) -> usize {
        let Batch {
            hosts,
            samples,
            alerts,
            dropped_hosts,
            dropped_alerts,
            history,
            jobs,
            silences,
            told,
            acks,
        } = newer;
        let gone: HashSet<&str> = dropped_hosts.iter().map(String::as_str).collect();
        let replaced: HashSet<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        self.hosts
            .retain(|h| !gone.contains(h.name.as_str()) && !replaced.contains(h.name.as_str()));
        self.samples.retain(|s| !gone.contains(s.host.as_str()));
        self.history.retain(|e| !gone.contains(e.host.as_str()));
        let newer_jobs: HashSet<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        self.jobs
            .retain(|j| !gone.contains(j.host.as_str()) && !newer_jobs.contains(j.id.as_str()));
        self.told.retain(|(h, _, _)| !gone.contains(h.as_str()));
        self.acks.retain(|((h, _), _)| !gone.contains(h.as_str()));
        let alert_key = |a: &AlertState| (a.host.clone(), a.path.clone());
        let newer_alerts: HashSet<(String, String)> = alerts.iter().map(alert_key).collect();
        let dropped: HashSet<&(String, String)> = dropped_alerts.iter().collect();
        self.alerts.retain(|a| {
            let key = alert_key(a);
            !gone.contains(a.host.as_str())
                && !newer_alerts.contains(&key)
                && !dropped.contains(&key)
        });
        self.hosts.extend(hosts);
        self.alerts.extend(alerts);
        self.dropped_hosts.extend(dropped_hosts);
        self.dropped_alerts.extend(dropped_alerts);
        self.jobs.extend(jobs);
        // Written in order, so the newer of each key wins.
        self.silences.extend(silences);
        self.told.extend(told);
        self.acks.extend(acks);
        // Entries beyond what every host keeps cannot all be kept either: the oldest go.
        self.history.extend(history);
        let excess = self.history.len().saturating_sub(MAX_PENDING_HISTORY);
        self.history.drain(..excess);
        let room = MAX_PENDING_SAMPLES.saturating_sub(self.samples.len());
        let lost = samples.len().saturating_sub(room);
        self.samples.extend(samples.into_iter().take(room));
        lost
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
        if done > MIGRATIONS.len() {
            return Err(StoreError::Newer {
                path: path.to_owned(),
                version,
                known: MIGRATIONS.len(),
            });
        }
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
    /// Drops are applied first: a batch holds only changes made after them (see
    /// [`Batch::merge`]).
    pub fn write(&mut self, batch: &Batch) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        hosts::delete(&tx, &batch.dropped_hosts).map_err(err)?;
        history::delete(&tx, &batch.dropped_hosts).map_err(err)?;
        jobs::delete_hosts(&tx, &batch.dropped_hosts).map_err(err)?;
        policy::delete_hosts(&tx, &batch.dropped_hosts).map_err(err)?;
        alerts::delete(&tx, &batch.dropped_alerts).map_err(err)?;
        hosts::save(&tx, &batch.hosts).map_err(err)?;
        samples::insert(&tx, &batch.samples).map_err(err)?;
        alerts::save(&tx, &batch.alerts).map_err(err)?;
        history::insert(&tx, &batch.history).map_err(err)?;
        jobs::save(&tx, &batch.jobs).map_err(err)?;
        policy::save_silences(&tx, &batch.silences).map_err(err)?;
        policy::save_told(&tx, &batch.told).map_err(err)?;
        acks::delete_hosts(&tx, &batch.dropped_hosts).map_err(err)?;
        acks::save(&tx, &batch.acks).map_err(err)?;
        tx.commit().map_err(err)?;
        self.counts
            .retain(|(host, _), _| !batch.dropped_hosts.contains(host));
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

/// First wait before a failed batch is written again; it doubles up to
/// [`RETRY_MAX`].
pub const RETRY_FIRST: Duration = Duration::from_millis(500);
/// Longest wait between two tries of a failed batch.
pub const RETRY_MAX: Duration = Duration::from_secs(30);

/// Writes batches as they come. A batch that fails is kept, merged with the batches
/// that arrive meanwhile, and tried again with backoff: a locked or full disk delays
/// the store but loses nothing (beyond [`MAX_PENDING_SAMPLES`], counted).
fn write_loop(mut store: Store, rx: Receiver<Batch>, metrics: &Metrics) {
    let mut failed: Option<Batch> = None;
    let mut wait = RETRY_FIRST;
    let mut retry_at = Instant::now();
    loop {
        let next = match &failed {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(_) => rx.recv_timeout(retry_at.saturating_duration_since(Instant::now())),
        };
        let batch = match (next, failed.take()) {
            (Ok(batch), None) => batch,
            (Ok(batch), Some(mut kept)) => {
                let lost = kept.merge(batch);
                metrics.samples_dropped.inc_by(lost as u64);
                // Keep waiting out the backoff, gathering what arrives.
                failed = Some(kept);
                continue;
            }
            (Err(RecvTimeoutError::Timeout), Some(kept)) => kept,
            (Err(RecvTimeoutError::Disconnected), Some(kept)) => {
                // Shutting down: one last try, then give up (logged, counted).
                if let Err(error) = store.write(&kept) {
                    metrics.store_errors.inc();
                    metrics.samples_dropped.inc_by(kept.samples.len() as u64);
                    tracing::error!(%error, hosts = kept.hosts.len(), samples = kept.samples.len(), "store write failed at shutdown; batch lost");
                } else {
                    count(metrics, &kept);
                }
                return;
            }
            (Err(_), None) => return,
        };
        match store.write(&batch) {
            Ok(()) => {
                count(metrics, &batch);
                wait = RETRY_FIRST;
            }
            Err(error) => {
                metrics.store_errors.inc();
                tracing::error!(%error, hosts = batch.hosts.len(), samples = batch.samples.len(), retry_in_ms = wait.as_millis() as u64, "store write failed; will retry");
                failed = Some(batch);
                retry_at = Instant::now() + wait;
                wait = (wait * 2).min(RETRY_MAX);
            }
        }
    }
}

fn count(metrics: &Metrics, batch: &Batch) {
    metrics.store_rows.inc_by(batch.hosts.len() as u64);
    metrics.store_samples.inc_by(batch.samples.len() as u64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::Level;
    use crate::clock::Timestamp;

    fn alert(host: &str, path: &str, level: Level) -> AlertState {
        AlertState {
            held: None,
            ack: None,
            host: host.into(),
            path: path.into(),
            level,
            since: Timestamp(1),
            value: None,
            detail: None,
            threshold: None,
            operator: None,
            last_notified: None,
            reminders: 0,
        }
    }

    /// A database made by every earlier schema (the first k migrations, with a host
    /// written as that schema could) opens, migrates to the newest, keeps its host and
    /// reads back whole.
    #[test]
    fn a_database_of_every_earlier_schema_migrates_forward_and_keeps_its_hosts() {
        for k in 0..=MIGRATIONS.len() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("state.db");
            let conn = Connection::open(&path).unwrap();
            for (i, sql) in (1i64..).zip(MIGRATIONS.iter()).take(k) {
                conn.execute_batch(sql).unwrap();
                conn.pragma_update(None, "user_version", i).unwrap();
            }
            if k >= 1 {
                // The first schema's columns, which every later one keeps.
                conn.execute(
                    "INSERT INTO hosts (name, interval_ms, state, state_since) VALUES ('web1', 60000, 'UP', 1000)",
                    [],
                )
                .unwrap();
            }
            drop(conn);
            let store = Store::open(&path, 10).unwrap_or_else(|e| panic!("from {k}: {e}"));
            let version: i64 = store
                .conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            assert_eq!(version, MIGRATIONS.len() as i64, "from {k}");
            let hosts = store
                .load_hosts()
                .unwrap_or_else(|e| panic!("from {k}: {e}"));
            let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
            assert_eq!(
                names,
                if k >= 1 { vec!["web1"] } else { vec![] },
                "from {k}"
            );
            store
                .load_alerts()
                .unwrap_or_else(|e| panic!("from {k}: {e}"));
            store
                .load_jobs()
                .unwrap_or_else(|e| panic!("from {k}: {e}"));
            store
                .load_silences()
                .unwrap_or_else(|e| panic!("from {k}: {e}"));
            store
                .load_told()
                .unwrap_or_else(|e| panic!("from {k}: {e}"));
            store
                .load_acks()
                .unwrap_or_else(|e| panic!("from {k}: {e}"));
            store
                .load_latest_samples()
                .unwrap_or_else(|e| panic!("from {k}: {e}"));
        }
    }

    #[test]
    fn a_database_from_a_newer_hbd_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(Store::open(&path, 10).unwrap());
        let newer = MIGRATIONS.len() as i64 + 1;
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE from_the_future (x INTEGER)")
            .unwrap();
        conn.pragma_update(None, "user_version", newer).unwrap();
        drop(conn);
        let err = Store::open(&path, 10).unwrap_err();
        assert!(
            matches!(&err, StoreError::Newer { version, known, .. }
                if *version == newer && *known == MIGRATIONS.len()),
            "{err}"
        );
        assert!(err.to_string().contains("newer hbd"), "{err}");
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, newer, "untouched");
    }

    #[test]
    fn merged_batches_write_like_both_in_order() {
        let mut older = Batch {
            alerts: vec![
                alert("a", "x", Level::Warning),
                alert("b", "x", Level::Warning),
            ],
            ..Batch::default()
        };
        let lost = older.merge(Batch {
            alerts: vec![alert("a", "x", Level::Critical)],
            dropped_hosts: vec!["b".into()],
            ..Batch::default()
        });
        assert_eq!(lost, 0);
        let levels: Vec<(&str, Level)> = older
            .alerts
            .iter()
            .map(|a| (a.host.as_str(), a.level))
            .collect();
        assert_eq!(levels, [("a", Level::Critical)]);
        assert_eq!(older.dropped_hosts, ["b"]);
    }

    #[test]
    fn a_failed_batch_is_kept_and_written_once_the_store_works_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = Store::open(&path, 10).unwrap();
        // Break the store from outside: the alerts table is gone.
        let other = Connection::open(&path).unwrap();
        other
            .execute_batch("ALTER TABLE alerts RENAME TO alerts_away")
            .unwrap();
        let metrics = Arc::new(Metrics::new());
        let (tx, thread) = start_writer(store, metrics.clone()).unwrap();
        tx.send(Batch {
            alerts: vec![alert("db1", "disk", Level::Critical)],
            ..Batch::default()
        })
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while metrics.store_errors.get() == 0 {
            assert!(Instant::now() < deadline, "the write never failed");
            std::thread::sleep(Duration::from_millis(5));
        }
        // Repaired: the kept batch goes in on a retry, with no new batch needed.
        other
            .execute_batch("ALTER TABLE alerts_away RENAME TO alerts")
            .unwrap();
        let count = || -> i64 {
            other
                .query_row("SELECT count(*) FROM alerts", [], |r| r.get(0))
                .unwrap()
        };
        while count() == 0 {
            assert!(
                Instant::now() < deadline,
                "the kept batch was never written"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(tx);
        thread.join().unwrap();
    }
}
