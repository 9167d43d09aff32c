//! The `plugin_samples` table: every plugin report, pruned to the newest `history` per
//! host and plugin; the API reads the history newest first.

use std::sync::Arc;

use hb_proto::{PluginKind, Status};
use rusqlite::{Transaction, params};
use serde::Serialize;
use serde_json::{Map, Value};

use super::hosts::{from_sql_ms, to_sql_ms};
use super::{Reader, Store, StoreError};
use crate::clock::Timestamp;

use crate::samples::Sample;

/// Pruning waits until a history is this much over its bound, so deletes come in
/// batches rather than one per insert.
const PRUNE_SLACK: usize = 10;

/// One history entry as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoredSample {
    /// When the daemon received it (RFC 3339).
    pub received: String,
    /// The plugin's verdict: OK, WARNING, CRITICAL or UNKNOWN.
    #[schema(value_type = Option<String>)]
    pub status: Option<Status>,
    /// Collection time on the agent.
    pub duration_ms: Option<f64>,
    /// The metrics.
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
}

fn kind_str(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Info => "info",
        PluginKind::Monitor => "monitor",
    }
}

fn status_str(status: Status) -> &'static str {
    match status {
        Status::Ok => "OK",
        Status::Warning => "WARNING",
        Status::Critical => "CRITICAL",
        Status::Unknown => "UNKNOWN",
    }
}

fn parse_status(s: &str) -> Option<Status> {
    serde_json::from_value(Value::String(s.to_owned())).ok()
}

pub(super) fn insert(tx: &Transaction<'_>, samples: &[Arc<Sample>]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO plugin_samples (host, plugin, received_ms, kind, status, duration_ms, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for s in samples {
        let data = serde_json::to_string(&s.data).unwrap_or_else(|_| "{}".into());
        stmt.execute(params![
            s.host,
            s.plugin,
            to_sql_ms(s.received),
            kind_str(s.kind),
            s.status.map(status_str),
            s.duration_ms,
            data,
        ])?;
    }
    Ok(())
}

impl Store {
    /// Deletes the oldest samples of every history the batch pushed past its bound.
    pub(super) fn prune(&mut self, samples: &[Arc<Sample>]) -> Result<(), StoreError> {
        for s in samples {
            let key = (s.host.clone(), s.plugin.clone());
            let count = match self.counts.get(&key) {
                Some(n) => n + 1,
                None => {
                    let n: i64 = self
                        .conn
                        .query_row(
                            "SELECT count(*) FROM plugin_samples WHERE host = ?1 AND plugin = ?2",
                            params![s.host, s.plugin],
                            |r| r.get(0),
                        )
                        .map_err(|e| self.err(e))?;
                    usize::try_from(n).unwrap_or(0)
                }
            };
            let count = if count > self.history + PRUNE_SLACK {
                self.conn
                    .execute(
                        "DELETE FROM plugin_samples WHERE host = ?1 AND plugin = ?2 AND id <= (
                            SELECT id FROM plugin_samples WHERE host = ?1 AND plugin = ?2
                            ORDER BY id DESC LIMIT 1 OFFSET ?3)",
                        params![
                            s.host,
                            s.plugin,
                            i64::try_from(self.history).unwrap_or(i64::MAX)
                        ],
                    )
                    .map_err(|e| self.err(e))?;
                self.history
            } else {
                count
            };
            self.counts.insert(key, count);
        }
        Ok(())
    }

    /// The newest sample of every host and plugin, to warm the in-memory cache at start.
    pub fn load_latest_samples(&self) -> Result<Vec<Sample>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT host, plugin, received_ms, kind, status, duration_ms, data FROM plugin_samples
                 WHERE id IN (SELECT max(id) FROM plugin_samples GROUP BY host, plugin)",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let kind: String = r.get(3)?;
                let status: Option<String> = r.get(4)?;
                let data: String = r.get(6)?;
                Ok(Sample {
                    host: r.get(0)?,
                    plugin: r.get(1)?,
                    received: from_sql_ms(r.get(2)?),
                    kind: if kind == "info" {
                        PluginKind::Info
                    } else {
                        PluginKind::Monitor
                    },
                    status: status.as_deref().and_then(parse_status),
                    duration_ms: r.get(5)?,
                    data: serde_json::from_str(&data).unwrap_or_default(),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}

impl Reader {
    /// Every report of one host's plugin received within `range` (inclusive), oldest
    /// first, as `(received ms, data)`: what a chart of it needs.
    pub fn reports_between(
        &self,
        host: &str,
        plugin: &str,
        range: (Timestamp, Timestamp),
    ) -> Result<Vec<crate::downsample::Report>, rusqlite::Error> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| rusqlite::Error::InvalidQuery)?;
        let mut stmt = conn.prepare_cached(
            "SELECT received_ms, data FROM plugin_samples
             WHERE host = ?1 AND plugin = ?2 AND received_ms >= ?3 AND received_ms <= ?4
             ORDER BY id",
        )?;
        let rows = stmt.query_map(
            params![host, plugin, to_sql_ms(range.0), to_sql_ms(range.1)],
            |r| {
                let data: String = r.get(1)?;
                Ok((
                    from_sql_ms(r.get(0)?).0,
                    serde_json::from_str(&data).unwrap_or_default(),
                ))
            },
        )?;
        rows.collect()
    }

    /// Every plugin some host has reports of (what agents run, WASM plugins included).
    pub fn reported_plugins(&self) -> Result<std::collections::BTreeSet<String>, rusqlite::Error> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| rusqlite::Error::InvalidQuery)?;
        let mut stmt = conn.prepare_cached("SELECT DISTINCT plugin FROM plugin_samples")?;
        let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
        names.collect()
    }

    /// When the oldest kept report of one host's plugin arrived.
    pub fn first_report(
        &self,
        host: &str,
        plugin: &str,
    ) -> Result<Option<Timestamp>, rusqlite::Error> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| rusqlite::Error::InvalidQuery)?;
        let mut stmt = conn.prepare_cached(
            "SELECT MIN(received_ms) FROM plugin_samples WHERE host = ?1 AND plugin = ?2",
        )?;
        let first: Option<i64> = stmt.query_row(params![host, plugin], |r| r.get(0))?;
        Ok(first.map(from_sql_ms))
    }

    /// Up to `limit` samples of one host's plugin, newest first.
    pub fn history(
        &self,
        host: &str,
        plugin: &str,
        limit: usize,
        range: (Option<Timestamp>, Option<Timestamp>),
    ) -> Result<Vec<StoredSample>, rusqlite::Error> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| rusqlite::Error::InvalidQuery)?;
        let mut stmt = conn.prepare_cached(
            "SELECT received_ms, status, duration_ms, data FROM plugin_samples
             WHERE host = ?1 AND plugin = ?2 AND received_ms >= ?4 AND received_ms <= ?5
             ORDER BY id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![
                host,
                plugin,
                i64::try_from(limit).unwrap_or(i64::MAX),
                range.0.map_or(0, to_sql_ms),
                range.1.map_or(i64::MAX, to_sql_ms),
            ],
            |r| {
                let status: Option<String> = r.get(1)?;
                let data: String = r.get(3)?;
                Ok(StoredSample {
                    received: from_sql_ms(r.get(0)?).rfc3339(),
                    status: status.as_deref().and_then(parse_status),
                    duration_ms: r.get(2)?,
                    data: serde_json::from_str(&data).unwrap_or_default(),
                })
            },
        )?;
        rows.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Batch;
    use serde_json::json;

    fn sample(host: &str, plugin: &str, i: u64) -> Arc<Sample> {
        Arc::new(Sample {
            host: host.into(),
            plugin: plugin.into(),
            kind: PluginKind::Monitor,
            received: Timestamp(1_000 + i),
            status: Some(Status::Ok),
            duration_ms: Some(1.5),
            data: json!({ "i": i }).as_object().cloned().unwrap(),
        })
    }

    #[test]
    fn history_is_bounded_newest_first_and_latest_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut store = Store::open(&path, 20).unwrap();
        for round in 0..10u64 {
            let samples = (0..10)
                .map(|j| sample("web1", "cpu_monitor", round * 10 + j))
                .collect();
            store
                .write(&Batch {
                    samples,
                    ..Batch::default()
                })
                .unwrap();
        }
        store
            .write(&Batch {
                samples: vec![sample("web1", "os_info", 7)],
                ..Batch::default()
            })
            .unwrap();
        let reader = Reader::open(&path).unwrap();
        let all = reader
            .history("web1", "cpu_monitor", 1000, (None, None))
            .unwrap();
        assert!(
            all.len() >= 20 && all.len() <= 20 + PRUNE_SLACK,
            "{}",
            all.len()
        );
        assert_eq!(all[0].data["i"], 99);
        assert!(
            all.windows(2)
                .all(|w| w[0].data["i"].as_u64() > w[1].data["i"].as_u64())
        );
        let some = |limit, range| reader.history("web1", "cpu_monitor", limit, range).unwrap();
        assert_eq!(some(5, (None, None)).len(), 5);
        let window = some(10, (Some(Timestamp(1_095)), Some(Timestamp(1_097))));
        let ids: Vec<_> = window.iter().map(|s| s.data["i"].as_u64()).collect();
        assert_eq!(ids, [Some(97), Some(96), Some(95)], "both ends included");
        assert_eq!(some(1, (Some(Timestamp(1_090)), None))[0].data["i"], 99);
        assert!(
            reader
                .history("web1", "nope", 5, (None, None))
                .unwrap()
                .is_empty()
        );
        drop(store);
        let store = Store::open(&path, 20).unwrap();
        let mut latest = store.load_latest_samples().unwrap();
        latest.sort_by(|a, b| a.plugin.cmp(&b.plugin));
        assert_eq!(latest.len(), 2);
        assert_eq!(latest[0].data["i"], 99);
        assert_eq!(latest[1].plugin, "os_info");
    }
}
