//! The `alerts` table: the alert state of every host and metric path, so an alert that
//! clears after a daemon restart still sends its RECOVERED.

use rusqlite::{Transaction, params};

use super::hosts::{from_sql_ms, to_sql_ms};
use super::{Store, StoreError};
use crate::alerting::{AlertState, Level};
use crate::model::Operator;

/// Deletes alert states no longer tracked.
pub(super) fn delete(tx: &Transaction<'_>, keys: &[(String, String)]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached("DELETE FROM alerts WHERE host = ?1 AND path = ?2")?;
    for (host, path) in keys {
        stmt.execute(params![host, path])?;
    }
    Ok(())
}

pub(super) fn save(tx: &Transaction<'_>, states: &[AlertState]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO alerts (host, path, level, since_ms, value, detail, threshold, last_notified_ms, reminders, operator)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(host, path) DO UPDATE SET
            level = excluded.level, since_ms = excluded.since_ms, value = excluded.value,
            detail = excluded.detail, threshold = excluded.threshold, operator = excluded.operator,
            last_notified_ms = excluded.last_notified_ms, reminders = excluded.reminders",
    )?;
    for s in states {
        stmt.execute(params![
            s.host,
            s.path,
            s.level.as_str(),
            to_sql_ms(s.since),
            s.value,
            s.detail,
            s.threshold,
            s.last_notified.map(to_sql_ms),
            i64::from(s.reminders),
            s.operator.map(Operator::as_str),
        ])?;
    }
    Ok(())
}

impl Store {
    /// Every stored alert state.
    pub fn load_alerts(&self) -> Result<Vec<AlertState>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT host, path, level, since_ms, value, detail, threshold, last_notified_ms, reminders, operator
                 FROM alerts",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let level: String = r.get(2)?;
                Ok(AlertState {
                    held: None,
                    ack: None,
                    host: r.get(0)?,
                    path: r.get(1)?,
                    level: Level::parse(&level).unwrap_or(Level::Ok),
                    since: from_sql_ms(r.get(3)?),
                    value: r.get(4)?,
                    detail: r.get(5)?,
                    threshold: r.get(6)?,
                    last_notified: r.get::<_, Option<i64>>(7)?.map(from_sql_ms),
                    reminders: u32::try_from(r.get::<_, i64>(8)?).unwrap_or(0),
                    operator: r
                        .get::<_, Option<String>>(9)?
                        .as_deref()
                        .and_then(Operator::parse),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use crate::alerting::{AlertState, Level};
    use crate::clock::Timestamp;
    use crate::store::{Batch, Store};

    #[test]
    fn alert_states_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let mut state = AlertState {
            held: None,
            ack: None,
            host: "db1".into(),
            path: "disk_monitor./.percent".into(),
            level: Level::Critical,
            since: Timestamp(5_000),
            value: Some(95.0),
            detail: None,
            threshold: Some(90.0),
            operator: Some(crate::model::Operator::Ge),
            last_notified: Some(Timestamp(5_000)),
            reminders: 1,
        };
        {
            let mut store = Store::open(&path, 10).unwrap();
            store
                .write(&Batch {
                    alerts: vec![state.clone()],
                    ..Batch::default()
                })
                .unwrap();
            state.reminders = 2;
            store
                .write(&Batch {
                    alerts: vec![state.clone()],
                    ..Batch::default()
                })
                .unwrap();
        }
        let store = Store::open(&path, 10).unwrap();
        assert_eq!(store.load_alerts().unwrap(), vec![state]);
    }
}
