//! The `jobs` table: commands queued for agents and what became of them, so a queued
//! command survives a daemon restart and is still sent; each host keeps its newest
//! [`KEPT_PER_HOST`](crate::core::outbox::KEPT_PER_HOST) finished ones, as in memory.

use rusqlite::{Transaction, params};

use super::hosts::to_sql_ms;
use super::{Store, StoreError};
use crate::core::Job;
use crate::core::outbox::KEPT_PER_HOST;

pub(super) fn delete_hosts(tx: &Transaction<'_>, hosts: &[String]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached("DELETE FROM jobs WHERE host = ?1")?;
    for host in hosts {
        stmt.execute(params![host])?;
    }
    Ok(())
}

/// Writes each command as it is now, then trims the hosts they belong to.
pub(super) fn save(tx: &Transaction<'_>, jobs: &[Job]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO jobs (id, host, queued_ms, data) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(id) DO UPDATE SET data = excluded.data",
    )?;
    for job in jobs {
        let data = serde_json::to_string(job).unwrap_or_default();
        stmt.execute(params![job.id, job.host, to_sql_ms(job.queued), data])?;
    }
    let mut hosts: Vec<&str> = jobs.iter().map(|j| j.host.as_str()).collect();
    hosts.sort_unstable();
    hosts.dedup();
    // Unfinished ones are never trimmed: only the finished beyond the newest kept.
    let mut trim = tx.prepare_cached(
        "DELETE FROM jobs WHERE host = ?1 AND json_extract(data, '$.state.state') IN ('done', 'expired')
         AND id NOT IN (SELECT id FROM jobs WHERE host = ?1
                        AND json_extract(data, '$.state.state') IN ('done', 'expired')
                        ORDER BY queued_ms DESC LIMIT ?2)",
    )?;
    for host in hosts {
        trim.execute(params![host, KEPT_PER_HOST as i64])?;
    }
    Ok(())
}

impl Store {
    /// Every stored command, for the core at startup.
    pub fn load_jobs(&self) -> Result<Vec<Job>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT data FROM jobs ORDER BY queued_ms")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        let mut jobs = Vec::new();
        for row in rows {
            let data = row.map_err(|e| self.err(e))?;
            match serde_json::from_str(&data) {
                Ok(job) => jobs.push(job),
                Err(error) => tracing::warn!(%error, "a stored command is unreadable; skipped"),
            }
        }
        Ok(jobs)
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::Timestamp;
    use crate::core::{Job, JobState};
    use crate::store::{Batch, Store};

    fn job(id: &str, host: &str, queued: u64, state: JobState) -> Job {
        Job {
            id: id.into(),
            host: host.into(),
            argv: vec!["/bin/echo".into(), "hi".into()],
            timeout_s: 5,
            by: None,
            queued: Timestamp(queued),
            expires: Timestamp(queued + 60_000),
            state,
            upgrade: None,
        }
    }

    #[test]
    fn commands_survive_reopening_and_the_newest_state_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let mut store = Store::open(&path, 10).unwrap();
            let queued = job("c1", "web1", 1, JobState::Queued);
            let sent = job(
                "c1",
                "web1",
                1,
                JobState::Sent {
                    times: 1,
                    last: Timestamp(5),
                },
            );
            store
                .write(&Batch {
                    jobs: vec![queued, job("c2", "web2", 2, JobState::Queued)],
                    ..Batch::default()
                })
                .unwrap();
            store
                .write(&Batch {
                    jobs: vec![sent],
                    dropped_hosts: vec!["web2".into()],
                    ..Batch::default()
                })
                .unwrap();
        }
        let store = Store::open(&path, 10).unwrap();
        let jobs = store.load_jobs().unwrap();
        assert_eq!(jobs.len(), 1, "web2's went with the host");
        assert_eq!(
            jobs[0].state,
            JobState::Sent {
                times: 1,
                last: Timestamp(5)
            }
        );
    }

    #[test]
    fn only_the_newest_finished_commands_are_kept_and_never_an_unfinished_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db"), 10).unwrap();
        let n = crate::core::outbox::KEPT_PER_HOST as u64 + 3;
        let mut jobs: Vec<Job> = (0..n)
            .map(|i| {
                job(
                    &format!("c{i:03}"),
                    "web1",
                    i,
                    JobState::Expired {
                        at: Timestamp(i),
                        sent_times: 0,
                        last_sent: None,
                    },
                )
            })
            .collect();
        jobs.insert(0, job("old-but-queued", "web1", 0, JobState::Queued));
        store
            .write(&Batch {
                jobs,
                ..Batch::default()
            })
            .unwrap();
        let kept = store.load_jobs().unwrap();
        assert_eq!(kept.len(), crate::core::outbox::KEPT_PER_HOST + 1);
        assert!(kept.iter().any(|j| j.id == "old-but-queued"));
        assert!(!kept.iter().any(|j| j.id == "c000"));
    }
}
