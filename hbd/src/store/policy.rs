//! The alert policy's tables: `silences` (every silence, so they survive a restart) and
//! `told` (the state last told per host and alert path, so a change held by a silence
//! across a restart is still told when the silence ends).

use rusqlite::{Transaction, params};

use super::hosts::to_sql_ms;
use super::{Store, StoreError};
use crate::alerting::Level;
use crate::policy::silence::Silence;

/// Silences kept, by latest end: beyond these the oldest-ended go (more than the
/// policy keeps ended, so an active one is never pruned before it is in the list).
pub const KEPT: i64 = 1000;

pub(super) fn save_silences(tx: &Transaction<'_>, silences: &[Silence]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO silences (id, ends_ms, data) VALUES (?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET ends_ms = excluded.ends_ms, data = excluded.data",
    )?;
    for s in silences {
        let data = serde_json::to_string(s).unwrap_or_default();
        stmt.execute(params![s.id, to_sql_ms(s.ends), data])?;
    }
    if !silences.is_empty() {
        tx.execute(
            "DELETE FROM silences WHERE id NOT IN
               (SELECT id FROM silences ORDER BY ends_ms DESC LIMIT ?1)",
            params![KEPT],
        )?;
    }
    Ok(())
}

pub(super) fn save_told(
    tx: &Transaction<'_>,
    told: &[(String, String, Level)],
) -> rusqlite::Result<()> {
    let mut put = tx.prepare_cached(
        "INSERT INTO told (host, path, level) VALUES (?1, ?2, ?3)
         ON CONFLICT(host, path) DO UPDATE SET level = excluded.level",
    )?;
    for (host, path, level) in told {
        put.execute(params![host, path, level.as_str()])?;
    }
    Ok(())
}

pub(super) fn delete_hosts(tx: &Transaction<'_>, hosts: &[String]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached("DELETE FROM told WHERE host = ?1")?;
    for host in hosts {
        stmt.execute(params![host])?;
    }
    Ok(())
}

impl Store {
    /// Every stored silence.
    pub fn load_silences(&self) -> Result<Vec<Silence>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT data FROM silences ORDER BY ends_ms")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let data = row.map_err(|e| self.err(e))?;
            match serde_json::from_str(&data) {
                Ok(s) => out.push(s),
                Err(e) => tracing::warn!(error = %e, "unreadable stored silence skipped"),
            }
        }
        Ok(out)
    }

    /// The state last told of every host (`path` "") and alert path.
    pub fn load_told(&self) -> Result<Vec<(String, String, Level)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT host, path, level FROM told")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (host, path, level) = row.map_err(|e| self.err(e))?;
            if let Some(level) = Level::parse(&level) {
                out.push((host, path, level));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::store::Batch;

    #[test]
    fn silences_and_told_states_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hbd.db");
        let silence = Silence {
            id: "s1".into(),
            hosts: "web*".into(),
            paths: Some("cpu.*".into()),
            only: None,
            starts: Timestamp(1_000),
            ends: Timestamp(9_000),
            comment: "kernel update".into(),
            author: "alice".into(),
            created: Timestamp(500),
        };
        {
            let mut store = Store::open(&path, 10).unwrap();
            let batch = Batch {
                silences: vec![silence.clone()],
                told: vec![
                    ("web1".into(), "".into(), Level::Critical),
                    ("web1".into(), "cpu.percent".into(), Level::Warning),
                    ("db1".into(), "".into(), Level::Critical),
                ],
                dropped_hosts: vec![],
                ..Batch::default()
            };
            store.write(&batch).unwrap();
            let ended = Silence {
                ends: Timestamp(2_000),
                ..silence.clone()
            };
            let batch = Batch {
                silences: vec![ended],
                told: vec![("web1".into(), "cpu.percent".into(), Level::Ok)],
                dropped_hosts: vec!["db1".into()],
                ..Batch::default()
            };
            store.write(&batch).unwrap();
        }
        let store = Store::open(&path, 10).unwrap();
        let silences = store.load_silences().unwrap();
        assert_eq!(silences.len(), 1);
        assert_eq!(silences[0].ends, Timestamp(2_000), "the expiry is kept");
        let mut told = store.load_told().unwrap();
        told.sort();
        assert_eq!(
            told,
            [
                ("web1".into(), "".into(), Level::Critical),
                ("web1".into(), "cpu.percent".into(), Level::Ok),
            ]
        );
    }
}
