//! Enrolment in the store: the tokens administrators made (their verifier, never the
//! secret) and the key each enrolled host made, with its standing. Written through its
//! own connection, before the API answers (rare, and an agent told it is enrolled must
//! be enrolled after a restart too).

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use utoipa::ToSchema;

use super::StoreError;
use super::hosts::{from_sql_ms, to_sql_ms};
use super::side::SideDb;
use crate::clock::Timestamp;
use crate::config::enrolled::{Enrolled, EnrolledKey, Standing};

/// A token as kept.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StoredToken {
    /// Its id (the token's second part).
    pub id: String,
    /// Who made it.
    pub made_by: String,
    /// When (RFC 3339).
    pub made: String,
    /// When it stops being taken (RFC 3339).
    pub expires: String,
    /// Enrolments it still allows.
    pub uses_left: u32,
    /// The group whose name patterns a host enrolling with it must match.
    pub group: Option<String>,
    /// Whether a key made with it speaks at once (`false`: an administrator approves).
    pub auto_approve: bool,
    #[serde(skip)]
    pub(crate) verifier: [u8; 32],
}

/// An enrolled host's key, as the API shows it (never the key).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StoredKey {
    /// The host.
    pub host: String,
    /// `active`, `pending` or `revoked`.
    pub standing: String,
    /// The token it enrolled with (`null` after a rekey).
    pub token_id: Option<String>,
    /// When it took this standing (RFC 3339).
    pub since: String,
    /// Who gave it: the token's maker for an enrolment, an administrator for an
    /// approval or revocation, the host itself for a rekey.
    pub by: String,
    #[serde(skip)]
    pub(crate) key: String,
}

fn time(ms: i64) -> String {
    from_sql_ms(ms).rfc3339()
}

/// The enrolment tables' connection (the store must have been opened, and so migrated).
#[derive(Debug, Clone)]
pub struct EnrolmentDb(SideDb);

impl EnrolmentDb {
    /// Opens `path` for the enrolment tables.
    pub fn open(path: &Path) -> Result<EnrolmentDb, StoreError> {
        SideDb::open(path).map(EnrolmentDb)
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.0.with(f)
    }

    /// Keeps a new token.
    pub fn put_token(
        &self,
        t: &StoredToken,
        made_ms: i64,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO enrol_tokens (id, verifier, made_by, made_ms, expires_ms, uses_left, grp, auto)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    t.id,
                    t.verifier.as_slice(),
                    t.made_by,
                    made_ms,
                    expires_ms,
                    t.uses_left,
                    t.group,
                    t.auto_approve
                ],
            )
            .map(|_| ())
        })
    }

    /// Every token not yet expired or used up, newest first; the others are deleted.
    pub fn tokens(&self, now: Timestamp) -> Result<Vec<StoredToken>, StoreError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM enrol_tokens WHERE expires_ms <= ?1 OR uses_left <= 0",
                params![to_sql_ms(now)],
            )?;
            let mut q = c.prepare(
                "SELECT id, verifier, made_by, made_ms, expires_ms, uses_left, grp, auto
                 FROM enrol_tokens ORDER BY made_ms DESC",
            )?;
            let rows = q.query_map([], |r| {
                let verifier: Vec<u8> = r.get(1)?;
                Ok(StoredToken {
                    id: r.get(0)?,
                    verifier: verifier.try_into().unwrap_or([0; 32]),
                    made_by: r.get(2)?,
                    made: time(r.get(3)?),
                    expires: time(r.get(4)?),
                    uses_left: r.get(5)?,
                    group: r.get(6)?,
                    auto_approve: r.get(7)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Deletes token `id`; whether there was one.
    pub fn delete_token(&self, id: &str) -> Result<bool, StoreError> {
        self.with(|c| {
            c.execute("DELETE FROM enrol_tokens WHERE id = ?1", params![id])
                .map(|n| n > 0)
        })
    }

    /// Token `id` if it is still good at `now`.
    pub fn token(&self, id: &str, now: Timestamp) -> Result<Option<StoredToken>, StoreError> {
        Ok(self.tokens(now)?.into_iter().find(|t| t.id == id))
    }

    /// Binds `key` to `host` with `standing`, made with token `token_id` (one use of it
    /// taken, in the same transaction), or by a rekey or an administrator (`None`).
    pub fn put_key(
        &self,
        host: &str,
        key: &str,
        standing: Standing,
        token_id: Option<&str>,
        by: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            if let Some(id) = token_id {
                tx.execute(
                    "UPDATE enrol_tokens SET uses_left = uses_left - 1 WHERE id = ?1",
                    params![id],
                )?;
            }
            tx.execute(
                "INSERT INTO host_keys (host, key, standing, token_id, since_ms, by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (host) DO UPDATE SET key = ?2, standing = ?3,
                     token_id = COALESCE(?4, token_id), since_ms = ?5, by = ?6",
                params![host, key, standing.word(), token_id, to_sql_ms(at), by],
            )?;
            tx.commit()
        })
    }

    /// `host`'s key as kept.
    pub fn key(&self, host: &str) -> Result<Option<StoredKey>, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT host, standing, token_id, since_ms, by, key FROM host_keys WHERE host = ?1",
                params![host],
                row_key,
            )
            .optional()
        })
    }

    /// Every enrolled host's key, by host name.
    pub fn keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        self.with(|c| {
            let mut q = c.prepare(
                "SELECT host, standing, token_id, since_ms, by, key FROM host_keys ORDER BY host",
            )?;
            let rows = q.query_map([], row_key)?;
            rows.collect()
        })
    }

    /// The keys as the configuration in force carries them.
    pub fn enrolled(&self) -> Result<Enrolled, StoreError> {
        let mut map = HashMap::new();
        for k in self.keys()? {
            let Some(standing) = Standing::from_word(&k.standing) else {
                continue;
            };
            map.insert(
                k.host,
                EnrolledKey {
                    key: hb_proto::Key::new(k.key),
                    standing,
                },
            );
        }
        Ok(Enrolled::new(map))
    }
}

fn row_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredKey> {
    Ok(StoredKey {
        host: r.get(0)?,
        standing: r.get(1)?,
        token_id: r.get(2)?,
        since: time(r.get(3)?),
        by: r.get(4)?,
        key: r.get(5)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_run_out_and_keys_are_kept_with_their_standing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(super::super::Store::open(&path, 10).unwrap());
        let db = EnrolmentDb::open(&path).unwrap();
        let at = |s: f64| Timestamp::from_secs_f64(1_764_000_000.0 + s);
        let token = |id: &str, uses| StoredToken {
            id: id.into(),
            made_by: "alice".into(),
            made: String::new(),
            expires: String::new(),
            uses_left: uses,
            group: Some("web".into()),
            auto_approve: true,
            verifier: [7; 32],
        };
        db.put_token(&token("aa", 1), to_sql_ms(at(0.0)), to_sql_ms(at(3600.0)))
            .unwrap();
        db.put_token(&token("bb", 2), to_sql_ms(at(1.0)), to_sql_ms(at(60.0)))
            .unwrap();
        let ids =
            |now| -> Vec<String> { db.tokens(now).unwrap().into_iter().map(|t| t.id).collect() };
        assert_eq!(ids(at(2.0)), ["bb", "aa"]);
        let aa = db.token("aa", at(2.0)).unwrap().unwrap();
        assert_eq!(
            (aa.verifier, aa.group.as_deref(), aa.auto_approve),
            ([7; 32], Some("web"), true)
        );
        // One use of aa: it is used up; bb expires.
        db.put_key("web1", "k1", Standing::Active, Some("aa"), "alice", at(3.0))
            .unwrap();
        assert_eq!(ids(at(3.0)), ["bb"]);
        assert_eq!(ids(at(61.0)), Vec::<String>::new());

        db.put_key("web1", "k2", Standing::Active, None, "web1", at(4.0))
            .unwrap();
        db.put_key(
            "web2",
            "k3",
            Standing::Pending,
            Some("bb"),
            "alice",
            at(5.0),
        )
        .unwrap();
        drop(db);
        let db = EnrolmentDb::open(&path).unwrap();
        let web1 = db.key("web1").unwrap().unwrap();
        assert_eq!(
            (
                web1.key.as_str(),
                web1.token_id.as_deref(),
                web1.by.as_str()
            ),
            ("k2", Some("aa"), "web1")
        );
        let enrolled = db.enrolled().unwrap();
        assert_eq!(enrolled.active("web1"), Some(&hb_proto::Key::new("k2")));
        assert_eq!(enrolled.active("web2"), None);
        assert_eq!(enrolled.get("web2").unwrap().standing, Standing::Pending);
        assert!(db.key("web3").unwrap().is_none());
    }
}
