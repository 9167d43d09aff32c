//! The record of changes to what runs where (the signed plugins and the native
//! collectors' settings each group gives, a host's own, a rollout's steps): who made
//! each, when, and what it changed, one line per change (a reload's as
//! `fleet::changes` finds them), with the host a line names so that only those who may
//! see it are shown it. Written through its
//! own connection when a reload is put in force (rare, and the reload's answer should
//! not claim a record that is not on disk); read newest first.

use std::path::Path;

use rusqlite::{Connection, params};
use serde::Serialize;
use utoipa::ToSchema;

use super::StoreError;
use super::hosts::{from_sql_ms, to_sql_ms};
use super::side::SideDb;
use crate::clock::Timestamp;

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Change {
    /// Its number: later changes have larger ones.
    pub id: i64,
    /// When it was put in force (RFC 3339).
    pub at: String,
    /// Who: a user's name, or `SIGHUP`.
    pub by: String,
    /// What changed, one line (`groups.web.plugins.log_freshness: 1.2.0 -> 1.3.0`).
    pub change: String,
    /// The host it names, if any: shown only to those who may see that host.
    #[serde(skip)]
    pub host: Option<String>,
}

/// One line of a change to record, and the host it names, if it names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// What changed.
    pub text: String,
    /// The host it names.
    pub host: Option<String>,
}

impl Line {
    /// A line about a group, or the configuration: it names no host.
    pub fn general(text: impl Into<String>) -> Line {
        Line {
            text: text.into(),
            host: None,
        }
    }

    /// A line naming `host`.
    pub fn about(host: &str, text: impl Into<String>) -> Line {
        Line {
            text: text.into(),
            host: Some(host.to_owned()),
        }
    }
}

/// The record's connection (the store must have been opened, and so migrated).
#[derive(Debug, Clone)]
pub struct ChangeLog(SideDb);

impl ChangeLog {
    /// Opens `path` for the record.
    pub fn open(path: &Path) -> Result<ChangeLog, StoreError> {
        SideDb::open(path).map(ChangeLog)
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.0.with(f)
    }

    /// Records `changes`, made by `by` at `at`, in one transaction.
    pub fn record(&self, at: Timestamp, by: &str, changes: &[Line]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let at_ms = to_sql_ms(at);
        self.with(|conn| {
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO changes (at_ms, by, what, host) VALUES (?1, ?2, ?3, ?4)",
                )?;
                for change in changes {
                    insert.execute(params![at_ms, by, change.text, change.host])?;
                }
            }
            tx.commit()
        })
    }

    /// At most `limit` changes older than `before` (a change's id; `None`: the newest),
    /// newest first.
    pub fn recent(&self, limit: usize, before: Option<i64>) -> Result<Vec<Change>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|conn| {
            let mut select = conn.prepare_cached(
                "SELECT id, at_ms, by, what, host FROM changes WHERE id < ?1 \
                 ORDER BY id DESC LIMIT ?2",
            )?;
            let rows = select.query_map(params![before.unwrap_or(i64::MAX), limit], |r| {
                let at_ms: i64 = r.get(1)?;
                Ok(Change {
                    id: r.get(0)?,
                    at: from_sql_ms(at_ms).rfc3339(),
                    by: r.get(2)?,
                    change: r.get(3)?,
                    host: r.get(4)?,
                })
            })?;
            rows.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_kept_across_a_reopen_and_read_newest_first_in_pages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(super::super::Store::open(&path, 10).unwrap());
        let log = ChangeLog::open(&path).unwrap();
        let at = |s: f64| Timestamp::from_secs_f64(1_764_000_000.0 + s);
        log.record(
            at(0.0),
            "SIGHUP",
            &[Line::general("groups.web.plugins.a: 1.0.0 added")],
        )
        .unwrap();
        log.record(
            at(60.0),
            "alice",
            &[
                Line::general("groups.web.plugins.a: 1.0.0 -> 1.1.0"),
                Line::about(
                    "db1",
                    "hosts.db1.collectors.cpu_monitor: {\"interval\":5.0} set",
                ),
            ],
        )
        .unwrap();
        log.record(at(90.0), "bob", &[]).unwrap();
        drop(log);
        let log = ChangeLog::open(&path).unwrap();
        let all = log.recent(10, None).unwrap();
        let shown: Vec<(&str, &str)> = all
            .iter()
            .map(|c| (c.by.as_str(), c.change.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "alice",
                    "hosts.db1.collectors.cpu_monitor: {\"interval\":5.0} set"
                ),
                ("alice", "groups.web.plugins.a: 1.0.0 -> 1.1.0"),
                ("SIGHUP", "groups.web.plugins.a: 1.0.0 added"),
            ]
        );
        assert_eq!(all[0].at, "2025-11-24T16:01:00.000Z");
        let hosts: Vec<Option<&str>> = all.iter().map(|c| c.host.as_deref()).collect();
        assert_eq!(
            hosts,
            [Some("db1"), None, None],
            "the host a line names is kept"
        );
        let page = log.recent(1, Some(all[1].id)).unwrap();
        assert_eq!(page, [all[2].clone()]);
    }
}
