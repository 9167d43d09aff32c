//! The auth tables of the store's database (made by its schema): users, host access,
//! sessions and tokens made through the API, on their own connection, written at once
//! (the API answers only after the row is on disk).
//!
//! Sessions and tokens are keyed by the SHA-256 of their secret; the secret itself is
//! never stored.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::auth::directory::{AccessList, Stored};
use crate::auth::sessions::{Digest32, Grant, Kind, Scope};
use crate::clock::Timestamp;
use crate::config::UserConfig;
use crate::store::StoreError;
use crate::store::hosts::{from_sql_ms, to_sql_ms};
use crate::store::side::SideDb;

/// The auth tables' connection (the store must have been opened, and so migrated).
#[derive(Debug, Clone)]
pub struct AuthDb(SideDb);

impl AuthDb {
    /// Opens `path` for reading and writing the auth tables.
    pub fn open(path: &Path) -> Result<AuthDb, StoreError> {
        SideDb::open(path).map(AuthDb)
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.0.with(f)
    }

    /// Everything kept: users and access, and every session and token.
    pub fn load(&self) -> Result<(Stored, Vec<(Digest32, Grant)>), StoreError> {
        self.with(|c| {
            let mut stored = Stored::default();
            let mut stmt = c.prepare("SELECT name, data FROM users")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
            for row in rows {
                let (name, data): (String, String) = row?;
                match serde_json::from_str::<UserConfig>(&data) {
                    Ok(user) => {
                        stored.users.insert(name, user);
                    }
                    Err(error) => tracing::error!(user = name, %error, "unreadable stored user"),
                }
            }
            let mut stmt = c.prepare("SELECT host, data FROM host_access")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
            for row in rows {
                let (host, data): (String, String) = row?;
                match serde_json::from_str::<AccessList>(&data) {
                    Ok(list) => {
                        stored.access.insert(host, list);
                    }
                    Err(error) => tracing::error!(host, %error, "unreadable stored access"),
                }
            }
            let mut stmt = c.prepare(
                "SELECT digest, id, user, kind, name, created_ms, last_seen_ms, expires_ms, scope
                 FROM grants",
            )?;
            let grants = stmt
                .query_map([], |r| {
                    let digest: Vec<u8> = r.get(0)?;
                    let kind: String = r.get(3)?;
                    let name: Option<String> = r.get(4)?;
                    let scope: Option<String> = r.get(8)?;
                    let grant = Grant {
                        id: r.get(1)?,
                        user: r.get(2)?,
                        kind: match kind.as_str() {
                            "token" => Kind::Token {
                                name: name.unwrap_or_default(),
                                scope: match scope.as_deref().map(serde_json::from_str) {
                                    None => Scope::default(),
                                    Some(Ok(scope)) => scope,
                                    // Unreadable limits must not become no limits.
                                    Some(Err(_)) => Scope {
                                        read_only: true,
                                        hosts: vec!["".into()],
                                        groups: Vec::new(),
                                    },
                                },
                            },
                            _ => Kind::Session,
                        },
                        created: from_sql_ms(r.get(5)?),
                        last_seen: from_sql_ms(r.get(6)?),
                        expires: r.get::<_, Option<i64>>(7)?.map(from_sql_ms),
                    };
                    Ok((digest, grant))
                })?
                .filter_map(|row| match row {
                    Ok((d, g)) => Some(Digest32::try_from(d.as_slice()).ok().map(|d| (d, g))),
                    Err(_) => None,
                })
                .flatten()
                .collect();
            Ok((stored, grants))
        })
    }

    /// Creates or replaces a user.
    pub fn put_user(&self, name: &str, user: &UserConfig) -> Result<(), StoreError> {
        let data = serde_json::to_string(user).unwrap_or_default();
        self.with(|c| {
            c.execute(
                "INSERT INTO users (name, data) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET data = excluded.data",
                params![name, data],
            )
            .map(drop)
        })
    }

    /// Deletes a user, their sessions and tokens, and their place in every access list
    /// (`access` is the lists as they are after the removal).
    pub fn delete_user(
        &self,
        name: &str,
        access: &[(String, Option<AccessList>)],
    ) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute("DELETE FROM users WHERE name = ?1", [name])?;
            tx.execute("DELETE FROM grants WHERE user = ?1", [name])?;
            for (host, list) in access {
                write_access(&tx, host, list.as_ref())?;
            }
            tx.commit()
        })
    }

    /// Sets (or with `None` deletes) one host's access list.
    pub fn put_access(&self, host: &str, list: Option<&AccessList>) -> Result<(), StoreError> {
        self.with(|c| write_access(c, host, list))
    }

    /// Keeps a new session or token.
    pub fn put_grant(&self, digest: &Digest32, grant: &Grant) -> Result<(), StoreError> {
        let (kind, name, scope) = match &grant.kind {
            Kind::Session => ("session", None, None),
            Kind::Token { name, scope } => (
                "token",
                Some(name.as_str()),
                (!scope.is_full()).then(|| serde_json::to_string(scope).unwrap_or_default()),
            ),
        };
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO grants
                 (digest, id, user, kind, name, created_ms, last_seen_ms, expires_ms, scope)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    &digest[..],
                    grant.id,
                    grant.user,
                    kind,
                    name,
                    to_sql_ms(grant.created),
                    to_sql_ms(grant.last_seen),
                    grant.expires.map(to_sql_ms),
                    scope,
                ],
            )
            .map(drop)
        })
    }

    /// Deletes sessions and tokens by hash.
    pub fn delete_grants(&self, digests: &[Digest32]) -> Result<(), StoreError> {
        if digests.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare_cached("DELETE FROM grants WHERE digest = ?1")?;
                for d in digests {
                    stmt.execute([&d[..]])?;
                }
            }
            tx.commit()
        })
    }

    /// Writes back when grants were last used.
    pub fn touch_grants(&self, touched: &[(Digest32, Timestamp)]) -> Result<(), StoreError> {
        if touched.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            let tx = c.transaction()?;
            {
                let mut stmt =
                    tx.prepare_cached("UPDATE grants SET last_seen_ms = ?2 WHERE digest = ?1")?;
                for (d, at) in touched {
                    stmt.execute(params![&d[..], to_sql_ms(*at)])?;
                }
            }
            tx.commit()
        })
    }

    /// Whether a user row exists (tests).
    pub fn has_user(&self, name: &str) -> Result<bool, StoreError> {
        self.with(|c| {
            c.query_row("SELECT 1 FROM users WHERE name = ?1", [name], |_| Ok(()))
                .optional()
                .map(|r| r.is_some())
        })
    }
}

fn write_access(c: &Connection, host: &str, list: Option<&AccessList>) -> rusqlite::Result<()> {
    match list {
        Some(list) => {
            let data = serde_json::to_string(list).unwrap_or_default();
            c.execute(
                "INSERT INTO host_access (host, data) VALUES (?1, ?2)
                 ON CONFLICT (host) DO UPDATE SET data = excluded.data",
                params![host, data],
            )?;
        }
        None => {
            c.execute("DELETE FROM host_access WHERE host = ?1", [host])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::sessions::{Policy, Sessions, digest};
    use std::time::Duration;

    #[test]
    fn users_access_and_grants_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        crate::store::Store::open(&path, 10).unwrap();
        let db = AuthDb::open(&path).unwrap();
        let user = UserConfig {
            full_name: Some("Sam".into()),
            password: Some("pbkdf2:sha256:1000$s$00".into()),
            ..UserConfig::default()
        };
        db.put_user("sam", &user).unwrap();
        let list = AccessList {
            owner: Some("sam".into()),
            managers: vec!["kim".into()],
            monitors: vec![],
        };
        db.put_access("web1", Some(&list)).unwrap();
        let policy = Policy {
            idle: Duration::from_secs(60),
            absolute: Duration::from_secs(600),
        };
        let mut s = Sessions::new(policy);
        let now = Timestamp(1_764_000_000_000);
        let (secret, grant) = s.login("sam", [3; 32], now);
        db.put_grant(&digest(&secret), &grant).unwrap();
        let scope = Scope {
            read_only: true,
            hosts: vec!["web*".into()],
            groups: vec!["databases".into()],
        };
        let (tok, token) = s.issue_token("sam", "ci", scope.clone(), None, [4; 32], now);
        db.put_grant(&digest(&tok), &token).unwrap();
        s.check(&secret, now.plus(Duration::from_secs(30)));
        db.touch_grants(&s.take_touched()).unwrap();

        let (stored, grants) = AuthDb::open(&path).unwrap().load().unwrap();
        assert_eq!(stored.users["sam"], user);
        assert_eq!(stored.access["web1"], list);
        let mut again = Sessions::restore(policy, grants);
        let back = again
            .check(&secret, now.plus(Duration::from_secs(80)))
            .expect("the session's last use was kept, so it is not idle");
        assert_eq!(back.user, "sam");
        assert_eq!(again.tokens("sam").len(), 1);
        assert_eq!(
            again.tokens("sam")[0].kind,
            Kind::Token {
                name: "ci".into(),
                scope
            },
            "a token's limits are kept with it"
        );

        db.delete_user("sam", &[("web1".into(), None)]).unwrap();
        let (stored, grants) = db.load().unwrap();
        assert!(stored.users.is_empty() && stored.access.is_empty() && grants.is_empty());
        assert!(!db.has_user("sam").unwrap());
    }
}
