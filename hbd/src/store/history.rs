//! The `history` table: what happened to each host, newest kept: its events (new, UP,
//! DOWN, boot, message, address change) and every alert notice (raised, lowered,
//! recovered, reminder) with the text that was sent. The host page and
//! `GET /api/0/hosts/{name}/history` read it; each host keeps its newest
//! [`PER_HOST`] entries.

use rusqlite::{Transaction, params};
use serde::Serialize;
use serde_json::{Map, Value};

use super::Reader;
use super::hosts::{from_sql_ms, to_sql_ms};
use crate::alerting::Notice;
use crate::clock::Timestamp;
use crate::core::{Action, Event};

/// Entries kept per host.
pub const PER_HOST: usize = 1000;

/// One thing that happened, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The host.
    pub host: String,
    /// When.
    pub at: Timestamp,
    /// The alert path, for alert notices.
    pub path: Option<String>,
    /// What, as JSON: `{"event": "DOWN", ...}` or `{"alert": "raised", ...}`.
    pub data: Map<String, Value>,
}

impl HistoryEntry {
    /// The history entry a core action makes, if any: host events, alert notices with
    /// their text, and the policy's decisions other than "notified" (the notice itself
    /// is in the history already).
    pub fn from_action(action: &Action) -> Option<HistoryEntry> {
        match action {
            Action::Event(event) => Some(HistoryEntry::event(event)),
            Action::Alert(notice) => Some(HistoryEntry::notice(
                notice,
                &crate::render::notice_text(notice),
            )),
            Action::Decision(decision) if decision.verdict != crate::policy::Verdict::Notified => {
                Some(HistoryEntry::decision(decision))
            }
            _ => None,
        }
    }

    /// A host event.
    pub fn event(event: &Event) -> HistoryEntry {
        let mut data = match serde_json::to_value(event) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        data.remove("host");
        data.remove("at");
        // Worded as notifications and the journal word it (render.rs).
        if let Some(text) = crate::render::event_line(event) {
            data.insert("summary".into(), text.into());
        }
        HistoryEntry {
            host: event.host.clone(),
            at: event.at,
            path: None,
            data,
        }
    }

    /// What the alert policy decided (held, released, grouped, nothing to tell).
    pub fn decision(decision: &crate::policy::Decision) -> HistoryEntry {
        let mut data = match serde_json::to_value(decision) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        data.remove("host");
        data.remove("at");
        if let Some(verdict) = data.remove("verdict") {
            data.insert("policy".into(), verdict);
        }
        HistoryEntry {
            host: decision.host.clone(),
            at: decision.at,
            path: decision.path.clone(),
            data,
        }
    }

    /// An alert notice and the text sent for it.
    pub fn notice(notice: &Notice, text: &str) -> HistoryEntry {
        let data = serde_json::json!({
            "alert": notice.kind,
            "path": notice.path,
            "from": notice.from,
            "to": notice.to,
            "value": notice.value,
            "detail": notice.detail,
            "threshold": notice.threshold,
            "operator": notice.operator,
            "text": text,
        });
        HistoryEntry {
            host: notice.host.clone(),
            at: notice.at,
            path: Some(notice.path.clone()),
            data: data.as_object().cloned().unwrap_or_default(),
        }
    }
}

/// One entry as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoredEntry {
    /// Its number: pass it as `before` for the page after.
    pub id: i64,
    /// When (RFC 3339).
    pub at: String,
    /// The event or the alert notice.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
}

pub(super) fn delete(tx: &Transaction<'_>, hosts: &[String]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached("DELETE FROM history WHERE host = ?1")?;
    for host in hosts {
        stmt.execute(params![host])?;
    }
    Ok(())
}

/// Inserts the entries, then trims each host they touch to its newest [`PER_HOST`].
pub(super) fn insert(tx: &Transaction<'_>, entries: &[HistoryEntry]) -> rusqlite::Result<()> {
    let mut stmt =
        tx.prepare_cached("INSERT INTO history (host, at_ms, path, data) VALUES (?1, ?2, ?3, ?4)")?;
    for e in entries {
        let data = Value::Object(e.data.clone()).to_string();
        stmt.execute(params![e.host, to_sql_ms(e.at), e.path, data])?;
    }
    let mut hosts: Vec<&str> = entries.iter().map(|e| e.host.as_str()).collect();
    hosts.sort_unstable();
    hosts.dedup();
    let mut trim = tx.prepare_cached(
        "DELETE FROM history WHERE host = ?1 AND id <= (
            SELECT id FROM history WHERE host = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    )?;
    for host in hosts {
        trim.execute(params![host, PER_HOST as i64])?;
    }
    Ok(())
}

impl Reader {
    /// Up to `limit` entries of a host, newest first, older than entry `before` if
    /// given, only of alert `path` if given.
    pub fn host_history(
        &self,
        host: &str,
        path: Option<&str>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredEntry>, rusqlite::Error> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| rusqlite::Error::InvalidQuery)?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, at_ms, data FROM history
             WHERE host = ?1 AND (?2 IS NULL OR path = ?2) AND id < ?3
             ORDER BY id DESC LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![
                host,
                path,
                before.unwrap_or(i64::MAX),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |r| {
                let data: String = r.get(2)?;
                Ok(StoredEntry {
                    id: r.get(0)?,
                    at: from_sql_ms(r.get(1)?).rfc3339(),
                    data: serde_json::from_str(&data).unwrap_or_default(),
                })
            },
        )?;
        rows.collect()
    }

    /// Up to `limit` host events (not alert notices or policy decisions) of every host
    /// `visible` admits, newest first: what `/live`'s Events pane opens with. Rows are
    /// read newest first and stop once `limit` are found, however many are hidden.
    pub fn recent_events(
        &self,
        limit: usize,
        alerts: bool,
        visible: impl Fn(&str) -> bool,
    ) -> Result<Vec<HostEntry>, rusqlite::Error> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| rusqlite::Error::InvalidQuery)?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, host, at_ms, data FROM history
             WHERE (path IS NULL AND json_extract(data, '$.event') IS NOT NULL)
                OR (?1 AND path IS NOT NULL
                    AND json_extract(data, '$.alert') IN ('raised', 'lowered', 'recovered'))
             ORDER BY id DESC",
        )?;
        let mut rows = stmt.query([alerts])?;
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(r) = rows.next()? else { break };
            let host: String = r.get(1)?;
            if !visible(&host) {
                continue;
            }
            let data: String = r.get(3)?;
            out.push(HostEntry {
                host,
                entry: StoredEntry {
                    id: r.get(0)?,
                    at: from_sql_ms(r.get(2)?).rfc3339(),
                    data: serde_json::from_str(&data).unwrap_or_default(),
                },
            });
        }
        Ok(out)
    }
}

/// A stored entry with its host (lists across hosts).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HostEntry {
    /// The host.
    pub host: String,
    /// The entry.
    #[serde(flatten)]
    pub entry: StoredEntry,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::EventKind;
    use crate::store::{Batch, Store};

    fn message(host: &str, i: u64) -> HistoryEntry {
        HistoryEntry::event(&Event {
            host: host.into(),
            at: Timestamp(1_000 + i),
            kind: EventKind::Message {
                text: format!("m{i}"),
            },
        })
    }

    #[test]
    fn each_host_keeps_its_newest_entries_and_a_dropped_host_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut store = Store::open(&path, 10).unwrap();
        let reader = Reader::open(&path).unwrap();
        let mut entries: Vec<HistoryEntry> = (0..PER_HOST as u64 + 5)
            .map(|i| message("web1", i))
            .collect();
        entries.push(message("web2", 0));
        let mut alert = message("web2", 1);
        alert.path = Some("cpu_monitor.cpu_percent".into());
        entries.push(alert);
        store
            .write(&Batch {
                history: entries,
                ..Batch::default()
            })
            .unwrap();
        let web1 = reader.host_history("web1", None, None, 10_000).unwrap();
        assert_eq!(web1.len(), PER_HOST);
        assert_eq!(
            web1[0].data["text"],
            format!("m{}", PER_HOST + 4),
            "newest first"
        );
        assert_eq!(web1[0].data["event"], "MESSAGE");
        // Worded as the notification and the journal word it.
        assert_eq!(
            web1[0].data["summary"],
            format!("MESSAGE from web1: m{}", PER_HOST + 4)
        );
        // Paging: older than the newest.
        let older = reader
            .host_history("web1", None, Some(web1[0].id), 1)
            .unwrap();
        assert_eq!(older[0].id, web1[1].id);
        // Only one alert path.
        let alert = reader
            .host_history("web2", Some("cpu_monitor.cpu_percent"), None, 10)
            .unwrap();
        assert_eq!(alert.len(), 1);
        store
            .write(&Batch {
                dropped_hosts: vec!["web1".into()],
                ..Batch::default()
            })
            .unwrap();
        assert!(
            reader
                .host_history("web1", None, None, 10)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            reader.host_history("web2", None, None, 10).unwrap().len(),
            2
        );
    }

    #[test]
    fn recent_events_are_the_newest_host_events_of_visible_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut store = Store::open(&path, 10).unwrap();
        let reader = Reader::open(&path).unwrap();
        let mut alert = message("web1", 9);
        alert.path = Some("cpu_monitor.cpu_percent".into());
        alert.data = serde_json::json!({"alert": "raised", "text": "CRITICAL"})
            .as_object()
            .cloned()
            .unwrap();
        let history = vec![
            message("web1", 0),
            message("secret", 1),
            message("web2", 2),
            message("secret", 3),
            alert,
        ];
        store
            .write(&Batch {
                history,
                ..Batch::default()
            })
            .unwrap();
        let events = reader.recent_events(2, false, |h| h != "secret").unwrap();
        let got: Vec<(&str, &str)> = events
            .iter()
            .map(|e| (e.host.as_str(), e.entry.data["text"].as_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            [("web2", "m2"), ("web1", "m0")],
            "newest first, no alert, none hidden"
        );
        assert_eq!(reader.recent_events(10, false, |_| true).unwrap().len(), 4);
        // With alert changes: the raise too, newest first.
        let with = reader.recent_events(10, true, |_| true).unwrap();
        assert_eq!(with.len(), 5);
        assert_eq!(with[0].entry.data["alert"], "raised");
    }
}
