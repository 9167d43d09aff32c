//! A connection of its own to the store, for the rare writes an API answer waits on
//! (the record of changes, enrolment, the hosts' own plugins): not through the
//! engine's batches, since the answer must not claim what is not on disk yet. The
//! store must have been opened (and so migrated) first.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

/// One such connection, shared by its clones.
#[derive(Debug, Clone)]
pub struct SideDb {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

impl SideDb {
    /// Opens `path`.
    pub fn open(path: &Path) -> Result<SideDb, StoreError> {
        let err = |source| StoreError::Sqlite {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        Ok(SideDb {
            path: path.to_owned(),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` on the connection, one caller at a time.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut conn = match self.conn.lock() {
            Ok(c) => c,
            // A panic mid-statement leaves nothing half-done in SQLite: go on.
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut conn).map_err(|source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }
}
