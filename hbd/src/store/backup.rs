//! `hbd backup` and `hbd restore`: a consistent copy of the state database taken while
//! the daemon runs (SQLite's online backup API in one step: one read transaction, which
//! in WAL mode never blocks the daemon's writes, so no heartbeat waits for it), and the
//! copy put back while the daemon is stopped, checked first (readable, not from a newer
//! hbd) and swapped in whole, so a failed restore leaves the old state as it was.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::{MIGRATIONS, StoreError};

/// What a backup or restore did.
#[derive(Debug, Clone, PartialEq)]
pub struct Copied {
    /// The file written.
    pub path: PathBuf,
    /// Its size, bytes.
    pub bytes: u64,
    /// Its schema version.
    pub version: i64,
    /// How long it took.
    pub took: Duration,
}

/// Why a backup or restore could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// SQLite refused (the file is no database, the disk is full, ...).
    #[error("{path}: {source}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: rusqlite::Error,
    },
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// There is no state database to back up.
    #[error("{0}: no state database there (state_db in the config)")]
    Missing(PathBuf),
    /// The target file exists: a backup never overwrites.
    #[error("{0}: exists; a backup does not overwrite a file")]
    Exists(PathBuf),
    /// The backup is damaged.
    #[error("{path}: the backup is damaged ({said})")]
    Damaged {
        /// The backup.
        path: PathBuf,
        /// What SQLite's check said.
        said: String,
    },
    /// The backup, or the database, is from a newer hbd.
    #[error(transparent)]
    Newer(#[from] StoreError),
    /// A daemon has the state database open.
    #[error("{0}: in use (is hbd running?); stop the daemon before a restore, then start it again")]
    InUse(PathBuf),
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> BackupError + '_ {
    move |source| BackupError::Sqlite {
        path: path.to_owned(),
        source,
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Copies `from` into a new database at `to`, in one step (a consistent snapshot).
fn copy(from: &Connection, from_path: &Path, to: &Path) -> Result<(), BackupError> {
    let mut dst = Connection::open(to).map_err(sqlite(to))?;
    let backup = Backup::new(from, &mut dst).map_err(sqlite(from_path))?;
    loop {
        match backup.step(-1).map_err(sqlite(from_path))? {
            StepResult::Done => return Ok(()),
            // Another connection holds a lock for a moment: try again.
            _ => {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn version(conn: &Connection, path: &Path) -> Result<i64, BackupError> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sqlite(path))
}

/// Writes a consistent copy of the state database `state` to `to` (a new file), while
/// the daemon may be running.
pub fn backup(state: &Path, to: &Path) -> Result<Copied, BackupError> {
    let started = Instant::now();
    if !state.is_file() {
        return Err(BackupError::Missing(state.to_owned()));
    }
    if to.exists() {
        return Err(BackupError::Exists(to.to_owned()));
    }
    let src = Connection::open_with_flags(state, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite(state))?;
    src.busy_timeout(Duration::from_secs(5))
        .map_err(sqlite(state))?;
    // Written beside the target and renamed, so a file named `to` is always whole.
    let partial = with_suffix(to, ".partial");
    let _ = std::fs::remove_file(&partial);
    let copied = copy(&src, state, &partial).and_then(|()| {
        let dst = Connection::open(&partial).map_err(sqlite(&partial))?;
        version(&dst, &partial)
    });
    let version = match copied {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, to).map_err(io(to))?;
    let bytes = std::fs::metadata(to).map_err(io(to))?.len();
    Ok(Copied {
        path: to.to_owned(),
        bytes,
        version,
        took: started.elapsed(),
    })
}

/// Puts the backup `from` in place of the state database `state` (the daemon must be
/// stopped). The backup is checked first: a damaged one, or one a newer hbd wrote, is
/// refused and the state is left as it was.
pub fn restore(from: &Path, state: &Path) -> Result<Copied, BackupError> {
    let started = Instant::now();
    let src = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite(from))?;
    let said: String = src
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(..) => BackupError::Damaged {
                path: from.to_owned(),
                said: e.to_string(),
            },
            other => sqlite(from)(other),
        })?;
    if said != "ok" {
        return Err(BackupError::Damaged {
            path: from.to_owned(),
            said,
        });
    }
    let version = version(&src, from)?;
    if usize::try_from(version).unwrap_or(0) > MIGRATIONS.len() {
        return Err(StoreError::Newer {
            path: from.to_owned(),
            version,
            known: MIGRATIONS.len(),
        }
        .into());
    }
    if state.exists() && in_use(state)? {
        return Err(BackupError::InUse(state.to_owned()));
    }
    if let Some(dir) = state.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let partial = with_suffix(state, ".restoring");
    let _ = std::fs::remove_file(&partial);
    if let Err(e) = copy(&src, from, &partial) {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    // The old database's write-ahead log belongs to it, not to the restored one.
    for stale in [with_suffix(state, "-wal"), with_suffix(state, "-shm")] {
        match std::fs::remove_file(&stale) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&stale)(e)),
        }
    }
    std::fs::rename(&partial, state).map_err(io(state))?;
    let bytes = std::fs::metadata(state).map_err(io(state))?.len();
    Ok(Copied {
        path: state.to_owned(),
        bytes,
        version,
        took: started.elapsed(),
    })
}

/// Whether another process has the database open: in WAL mode every open connection
/// holds a shared lock that an exclusive-mode read cannot get past.
fn in_use(state: &Path) -> Result<bool, BackupError> {
    let conn = Connection::open(state).map_err(sqlite(state))?;
    // An answer now: a busy database is the answer.
    conn.busy_timeout(Duration::ZERO).map_err(sqlite(state))?;
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
        .map_err(sqlite(state))?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(false),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            Ok(true)
        }
        Err(e) => Err(sqlite(state)(e)),
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_backup_taken_while_the_store_is_open_restores_into_a_stopped_one() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.db");
        let store = Store::open(&state, 10).unwrap();
        store
            .conn
            .execute(
                "INSERT INTO hosts (name, interval_ms, state, state_since) VALUES ('web1', 60000, 'UP', 0)",
                [],
            )
            .unwrap_or_else(|e| panic!("{e}"));
        // Taken while the store (the daemon) has it open.
        let file = dir.path().join("b.db");
        let made = backup(&state, &file).unwrap();
        assert_eq!(made.version, MIGRATIONS.len() as i64);
        assert!(made.bytes > 0);
        assert!(matches!(backup(&state, &file), Err(BackupError::Exists(_))));
        // A restore while it is open is refused, and changes nothing.
        assert!(matches!(restore(&file, &state), Err(BackupError::InUse(_))));
        drop(store);
        // Into a new place, then over an existing database.
        let elsewhere = dir.path().join("new/state.db");
        restore(&file, &elsewhere).unwrap();
        let back = Connection::open(&elsewhere).unwrap();
        let name: String = back
            .query_row("SELECT name FROM hosts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(name, "web1");
        drop(back);
        restore(&file, &state).unwrap();
        Store::open(&state, 10).unwrap();
    }

    #[test]
    fn a_damaged_or_newer_backup_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"not a database at all, just some bytes").unwrap();
        let state = dir.path().join("state.db");
        assert!(restore(&junk, &state).is_err());
        assert!(!state.exists(), "nothing made");
        let newer = dir.path().join("newer.db");
        let conn = Connection::open(&newer).unwrap();
        conn.pragma_update(None, "user_version", MIGRATIONS.len() as i64 + 1)
            .unwrap();
        drop(conn);
        let err = restore(&newer, &state).unwrap_err();
        assert!(err.to_string().contains("newer hbd"), "{err}");
    }
}
