//! The audit log: every change asked of the API (each state-changing request, refused
//! or not, sign-ins and sign-outs among them), who asked, when, from where, what, and
//! what came of it. Written through its own connection as each request ends; read
//! newest first, filtered by user, host, kind and time.

use std::path::Path;

use rusqlite::{Connection, params};
use serde::Serialize;
use utoipa::ToSchema;

use super::StoreError;
use super::hosts::{from_sql_ms, to_sql_ms};
use super::side::SideDb;
use crate::clock::Timestamp;

/// One request, as kept: its number and time, and what it was.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Its number: later entries have larger ones.
    pub id: i64,
    /// When it was answered (RFC 3339).
    pub at: String,
    /// What it was.
    #[serde(flatten)]
    pub asked: Asked,
}

/// What one request was and what came of it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Asked {
    /// Who: a user's name; `(anonymous)` without a valid credential; `(open)` on a
    /// daemon without users.
    pub user: String,
    /// The client's address.
    pub address: String,
    /// What kind of change (`silence`, `ack`, `command`, `login`, ...): the API's
    /// operation, named by its path.
    pub kind: String,
    /// `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// The operation's path as documented (`/api/0/hosts/{name}/silence`).
    pub operation: String,
    /// The path asked (`/api/0/hosts/web1/silence`).
    pub path: String,
    /// The host it is about, if any.
    pub host: Option<String>,
    /// The answer's status code.
    pub status: u16,
    /// What was asked: the request's JSON body (any JSON, `null` without one, or
    /// `{"bytes": N}` for a body that is not JSON or too large to keep), with passwords
    /// and secrets replaced by `***`.
    pub request: serde_json::Value,
    /// What it changed, before (for the changes that say: a host's access, its owner,
    /// a user's account, a host's own plugins, an acknowledgement, a silence, a
    /// command or upgrade queued, an alert cleared, an API or enrolment token (never
    /// its secret), an enrolled key, a rollout, a reload's outcome; `null` otherwise).
    pub before: Option<serde_json::Value>,
    /// And after.
    pub after: Option<serde_json::Value>,
}

/// What to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this user's.
    pub user: Option<String>,
    /// Only about this host.
    pub host: Option<String>,
    /// Only of this kind.
    pub kind: Option<String>,
    /// Only at or after this time.
    pub since: Option<Timestamp>,
    /// Only before this time.
    pub until: Option<Timestamp>,
    /// Only older than this entry (its id; paging).
    pub before: Option<i64>,
}

/// A request to record (its number is the log's).
#[derive(Debug, Clone, PartialEq)]
pub struct Audited {
    /// When.
    pub at: Timestamp,
    /// What it was.
    pub asked: Asked,
}

/// The log's connection (the store must have been opened, and so migrated).
#[derive(Debug, Clone)]
pub struct AuditLog(SideDb);

impl AuditLog {
    /// Opens `path` for the log.
    pub fn open(path: &Path) -> Result<AuditLog, StoreError> {
        SideDb::open(path).map(AuditLog)
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.0.with(f)
    }

    /// Records one request.
    pub fn record(&self, audited: &Audited) -> Result<(), StoreError> {
        let a = &audited.asked;
        let request = a.request.to_string();
        self.with(|conn| {
            conn.prepare_cached(
                "INSERT INTO audit (at_ms, user, address, kind, method, operation, path, host, \
                 status, request, before, after) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                to_sql_ms(audited.at),
                a.user,
                a.address,
                a.kind,
                a.method,
                a.operation,
                a.path,
                a.host,
                a.status,
                request,
                a.before.as_ref().map(serde_json::Value::to_string),
                a.after.as_ref().map(serde_json::Value::to_string)
            ])
            .map(drop)
        })
    }

    /// At most `limit` entries matching `filter`, newest first.
    pub fn read(&self, filter: &AuditFilter, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|conn| {
            let mut select = conn.prepare_cached(
                "SELECT id, at_ms, user, address, kind, method, operation, path, host, status, \
                 request, before, after FROM audit \
                 WHERE id < ?1 AND (?2 IS NULL OR user = ?2) AND (?3 IS NULL OR host = ?3) \
                 AND (?4 IS NULL OR kind = ?4) AND at_ms >= ?5 AND at_ms < ?6 \
                 ORDER BY id DESC LIMIT ?7",
            )?;
            let rows = select.query_map(
                params![
                    filter.before.unwrap_or(i64::MAX),
                    filter.user,
                    filter.host,
                    filter.kind,
                    filter.since.map_or(i64::MIN, to_sql_ms),
                    filter.until.map_or(i64::MAX, to_sql_ms),
                    limit
                ],
                |r| {
                    let request: String = r.get(10)?;
                    let json = |text: Option<String>| {
                        text.map(|t| serde_json::from_str(&t).unwrap_or(serde_json::Value::Null))
                    };
                    Ok(AuditEntry {
                        id: r.get(0)?,
                        at: from_sql_ms(r.get(1)?).rfc3339(),
                        asked: Asked {
                            user: r.get(2)?,
                            address: r.get(3)?,
                            kind: r.get(4)?,
                            method: r.get(5)?,
                            operation: r.get(6)?,
                            path: r.get(7)?,
                            host: r.get(8)?,
                            status: r.get(9)?,
                            request: serde_json::from_str(&request)
                                .unwrap_or(serde_json::Value::Null),
                            before: json(r.get(11)?),
                            after: json(r.get(12)?),
                        },
                    })
                },
            )?;
            rows.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audited(s: f64, user: &str, kind: &str, host: Option<&str>) -> Audited {
        Audited {
            at: Timestamp::from_secs_f64(1_764_000_000.0 + s),
            asked: Asked {
                user: user.into(),
                address: "192.0.2.7".into(),
                kind: kind.into(),
                method: "POST".into(),
                operation: "/api/0/hosts/{name}/silence".into(),
                path: format!("/api/0/hosts/{}/silence", host.unwrap_or("-")),
                host: host.map(str::to_owned),
                status: 201,
                request: serde_json::json!({"for": "1h"}),
                before: (kind == "ack").then(|| serde_json::json!({"owner": "olga"})),
                after: (kind == "ack").then(|| serde_json::json!({"owner": "bob"})),
            },
        }
    }

    #[test]
    fn entries_are_kept_across_a_reopen_and_read_filtered_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(super::super::Store::open(&path, 10).unwrap());
        let log = AuditLog::open(&path).unwrap();
        log.record(&audited(0.0, "ada", "silence", Some("web1")))
            .unwrap();
        log.record(&audited(1.0, "bob", "ack", Some("db1")))
            .unwrap();
        log.record(&audited(2.0, "ada", "reload", None)).unwrap();
        let log = AuditLog::open(&path).unwrap();
        let ids = |f: AuditFilter| -> Vec<String> {
            log.read(&f, 10)
                .unwrap()
                .into_iter()
                .map(|e| format!("{} {}", e.asked.user, e.asked.kind))
                .collect()
        };
        assert_eq!(
            ids(AuditFilter::default()),
            ["ada reload", "bob ack", "ada silence"]
        );
        let ada = AuditFilter {
            user: Some("ada".into()),
            ..AuditFilter::default()
        };
        assert_eq!(ids(ada), ["ada reload", "ada silence"]);
        let db1 = AuditFilter {
            host: Some("db1".into()),
            ..AuditFilter::default()
        };
        assert_eq!(ids(db1.clone()), ["bob ack"]);
        let ack = &log.read(&db1, 1).unwrap()[0];
        assert_eq!(ack.asked.before, Some(serde_json::json!({"owner": "olga"})));
        assert_eq!(ack.asked.after, Some(serde_json::json!({"owner": "bob"})));
        let window = AuditFilter {
            since: Some(Timestamp::from_secs_f64(1_764_000_000.5)),
            until: Some(Timestamp::from_secs_f64(1_764_000_001.5)),
            ..AuditFilter::default()
        };
        assert_eq!(ids(window), ["bob ack"]);
        let first = log.read(&AuditFilter::default(), 1).unwrap();
        let older = AuditFilter {
            before: Some(first[0].id),
            kind: Some("silence".into()),
            ..AuditFilter::default()
        };
        assert_eq!(ids(older), ["ada silence"]);
        let entry = &log.read(&AuditFilter::default(), 3).unwrap()[2];
        assert_eq!(entry.asked.request, serde_json::json!({"for": "1h"}));
        assert_eq!(entry.asked.status, 201);
        assert_eq!(entry.asked.address, "192.0.2.7");
    }
}
