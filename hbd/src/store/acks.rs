//! The `acks` table: operators' acknowledgements of problems, so one outlives a daemon
//! restart (the path is empty for the host itself).

use rusqlite::{Transaction, params};

use super::hosts::{from_sql_ms, to_sql_ms};
use super::{Store, StoreError};
use crate::core::acks::Subject;
use crate::model::Ack;

/// Writes acknowledgements put and deletes those ended, in order.
pub(super) fn save(tx: &Transaction<'_>, acks: &[(Subject, Option<Ack>)]) -> rusqlite::Result<()> {
    if acks.is_empty() {
        return Ok(());
    }
    let mut put = tx.prepare_cached(
        "INSERT INTO acks (host, path, by_user, at_ms, comment, until_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(host, path) DO UPDATE SET by_user = excluded.by_user,
            at_ms = excluded.at_ms, comment = excluded.comment, until_ms = excluded.until_ms",
    )?;
    let mut end = tx.prepare_cached("DELETE FROM acks WHERE host = ?1 AND path = ?2")?;
    for ((host, path), ack) in acks {
        let path = path.as_deref().unwrap_or_default();
        match ack {
            Some(a) => {
                put.execute(params![
                    host,
                    path,
                    a.by,
                    to_sql_ms(a.at),
                    a.comment,
                    a.until.map(to_sql_ms)
                ])?;
            }
            None => {
                end.execute(params![host, path])?;
            }
        }
    }
    Ok(())
}

/// Deletes the acknowledgements of dropped hosts.
pub(super) fn delete_hosts(tx: &Transaction<'_>, hosts: &[String]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached("DELETE FROM acks WHERE host = ?1")?;
    for host in hosts {
        stmt.execute(params![host])?;
    }
    Ok(())
}

impl Store {
    /// Every stored acknowledgement.
    pub fn load_acks(&self) -> Result<Vec<(Subject, Ack)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT host, path, by_user, at_ms, comment, until_ms FROM acks")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let path: String = r.get(1)?;
                Ok((
                    (r.get(0)?, (!path.is_empty()).then_some(path)),
                    Ack {
                        by: r.get(2)?,
                        at: from_sql_ms(r.get(3)?),
                        comment: r.get(4)?,
                        until: r.get::<_, Option<i64>>(5)?.map(from_sql_ms),
                    },
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::store::Batch;

    #[test]
    fn acknowledgements_survive_reopening_and_ended_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hbd.db");
        let ack = |by: &str| Ack {
            by: by.into(),
            at: Timestamp(1_795_000_000_000),
            comment: "on it".into(),
            until: Some(Timestamp(1_795_000_600_000)),
        };
        {
            let mut store = Store::open(&path, 100).unwrap();
            store
                .write(&Batch {
                    acks: vec![
                        (
                            ("web1".into(), Some("cpu.percent".into())),
                            Some(ack("ada")),
                        ),
                        (("web2".into(), None), Some(ack("bob"))),
                        (("web3".into(), None), Some(ack("eve"))),
                        (("web3".into(), None), None),
                    ],
                    ..Batch::default()
                })
                .unwrap();
        }
        let store = Store::open(&path, 100).unwrap();
        let mut acks = store.load_acks().unwrap();
        acks.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            acks,
            [
                (("web1".into(), Some("cpu.percent".into())), ack("ada")),
                (("web2".into(), None), ack("bob")),
            ]
        );
    }
}
