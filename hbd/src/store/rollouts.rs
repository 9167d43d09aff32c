//! The staged rollouts in the store: each group's split (what its members ran before,
//! and which of them run the change), written whenever it moves, so a restart of the
//! daemon neither hands the change to every member at once nor forgets a rollback.

use std::collections::BTreeMap;
use std::path::Path;

use hbd_core::rollout::Split;
use rusqlite::{Connection, params};

use super::StoreError;
use super::side::SideDb;

/// The table's connection (the store must have been opened, and so migrated).
#[derive(Debug, Clone)]
pub struct RolloutsDb(SideDb);

impl RolloutsDb {
    /// Opens `path` for the rollouts.
    pub fn open(path: &Path) -> Result<RolloutsDb, StoreError> {
        SideDb::open(path).map(RolloutsDb)
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.0.with(f)
    }

    /// Every group's split (a row that does not read back is skipped and logged).
    pub fn all(&self) -> Result<BTreeMap<String, Split>, StoreError> {
        let rows: Vec<(String, String)> = self.with(|c| {
            let mut q = c.prepare("SELECT grp, split FROM rollouts")?;
            let rows = q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })?;
        let mut out = BTreeMap::new();
        for (group, split) in rows {
            match serde_json::from_str::<Split>(&split) {
                Ok(split) => {
                    out.insert(group, split);
                }
                Err(error) => tracing::error!(%group, %error, "a rollout does not read back"),
            }
        }
        Ok(out)
    }

    /// Keeps `splits`, whole, in one transaction.
    pub fn save(&self, splits: &BTreeMap<String, Split>) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute("DELETE FROM rollouts", [])?;
            for (group, split) in splits {
                // Invariant: plain fields and strings serialize.
                let json = serde_json::to_string(split).unwrap_or_default();
                tx.execute(
                    "INSERT INTO rollouts (grp, split) VALUES (?1, ?2)",
                    params![group, json],
                )?;
            }
            tx.commit()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(super::super::Store::open(&path, 10).unwrap());
        let db = RolloutsDb::open(&path).unwrap();
        let mut splits = BTreeMap::new();
        splits.insert(
            "web".to_owned(),
            Split {
                from: Default::default(),
                on_new: ["web00".to_owned()].into(),
                state: hbd_core::rollout::State::RolledBack,
                started: hbd_core::clock::Timestamp(1_764_000_000_000),
            },
        );
        db.save(&splits).unwrap();
        db.save(&splits).unwrap();
        drop(db);
        assert_eq!(RolloutsDb::open(&path).unwrap().all().unwrap(), splits);
    }
}
