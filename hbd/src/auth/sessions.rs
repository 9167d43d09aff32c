//! Sessions and API tokens, pure: who a presented secret belongs to, until when.
//!
//! Only the SHA-256 of a secret is kept (in memory here, in the store later), so a
//! copy of the database gives no working session. A browser session expires after
//! `idle` without use and after `absolute` in any case; an API token lives until its
//! optional expiry or until its user revokes it. Wall time is used because both must
//! survive a restart. The random bytes are passed in, so this module stays pure.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;

/// How long browser sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Ends after this long without a request.
    pub idle: Duration,
    /// Ends this long after login, used or not.
    pub absolute: Duration,
}

/// A session's or token's kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Kind {
    /// A browser session (cookie) or a login's bearer token.
    Session,
    /// A long-lived API token for scripts.
    Token {
        /// What its user called it.
        name: String,
        /// What it is limited to, within its user's roles.
        #[serde(skip_serializing_if = "Scope::is_full")]
        scope: Scope,
    },
}

/// What an API token may do, within what its user may (never more): only read, and
/// only some hosts. The default is everything its user may do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Scope {
    /// Only reads: `GET` requests and the live stream.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// Only hosts whose names match one of these patterns (`web*`), or that are in one
    /// of `groups`; with neither, every host its user sees. A token limited to hosts
    /// does nothing that is not about a host (users, reloads, keys, metrics).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Only hosts in these groups (`groups:` in the config), or matching `hosts`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

impl Scope {
    /// Whether this is no limit at all.
    pub fn is_full(&self) -> bool {
        *self == Scope::default()
    }

    /// Whether it is limited to some hosts.
    pub fn limits_hosts(&self) -> bool {
        !(self.hosts.is_empty() && self.groups.is_empty())
    }
}

/// One live session or token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// Its id: the first 8 bytes of the secret's hash, hex (safe to show and to revoke by).
    pub id: String,
    /// The user.
    pub user: String,
    /// Session or token.
    #[serde(flatten)]
    pub kind: Kind,
    /// When it was made.
    pub created: Timestamp,
    /// When it was last used.
    pub last_seen: Timestamp,
    /// When it ends at the latest (`None`: a token without expiry).
    pub expires: Option<Timestamp>,
}

/// A secret's hash, the key of every lookup.
pub type Digest32 = [u8; 32];

/// The secret's text form: 64 hex characters of 32 random bytes.
pub fn secret(random: [u8; 32]) -> String {
    random.iter().map(|b| format!("{b:02x}")).collect()
}

/// The CSRF token of a session: derived from its secret, so only who holds the
/// secret can know it, and nothing more needs storing.
pub fn csrf_token(secret: &str) -> String {
    let d = Sha256::digest(format!("hbd-csrf:{secret}").as_bytes());
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The hash a secret is known by.
pub fn digest(secret: &str) -> Digest32 {
    Sha256::digest(secret.as_bytes()).into()
}

/// The id a secret is shown and revoked by: the first 8 bytes of its hash, hex.
pub fn id(secret: &str) -> String {
    id_of(&digest(secret))
}

fn id_of(d: &Digest32) -> String {
    d[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Every live session and token.
#[derive(Debug)]
pub struct Sessions {
    policy: Policy,
    grants: HashMap<Digest32, Grant>,
    touched: HashSet<Digest32>,
}

impl Sessions {
    /// No sessions yet.
    pub fn new(policy: Policy) -> Sessions {
        Sessions::restore(policy, Vec::new())
    }

    /// The grants a store kept, under `policy`.
    pub fn restore(policy: Policy, grants: Vec<(Digest32, Grant)>) -> Sessions {
        Sessions {
            policy,
            grants: grants.into_iter().collect(),
            touched: HashSet::new(),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Puts a new policy in force (a reload).
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    /// Grants used since the last call, with their last use: what to write back.
    pub fn take_touched(&mut self) -> Vec<(Digest32, Timestamp)> {
        let touched = std::mem::take(&mut self.touched);
        touched
            .into_iter()
            .filter_map(|d| self.grants.get(&d).map(|g| (d, g.last_seen)))
            .collect()
    }

    fn add(&mut self, random: [u8; 32], grant: impl FnOnce(String) -> Grant) -> (String, Grant) {
        let secret = secret(random);
        let d = digest(&secret);
        let grant = grant(id_of(&d));
        self.grants.insert(d, grant.clone());
        (secret, grant)
    }

    /// A new browser session for `user` (a new secret at every login); returns the
    /// secret to hand out once.
    pub fn login(&mut self, user: &str, random: [u8; 32], now: Timestamp) -> (String, Grant) {
        let expires = Some(now.plus(self.policy.absolute));
        self.add(random, |id| Grant {
            id,
            user: user.to_owned(),
            kind: Kind::Session,
            created: now,
            last_seen: now,
            expires,
        })
    }

    /// A new API token for `user`, limited to `scope`.
    pub fn issue_token(
        &mut self,
        user: &str,
        name: &str,
        scope: Scope,
        expires: Option<Timestamp>,
        random: [u8; 32],
        now: Timestamp,
    ) -> (String, Grant) {
        self.add(random, |id| Grant {
            id,
            user: user.to_owned(),
            kind: Kind::Token {
                name: name.to_owned(),
                scope,
            },
            created: now,
            last_seen: now,
            expires,
        })
    }

    /// The grant a presented secret belongs to, if it is live; using it counts as
    /// activity. An expired one is forgotten.
    pub fn check(&mut self, secret: &str, now: Timestamp) -> Option<&Grant> {
        let d = digest(secret);
        let g = self.grants.get(&d)?;
        let idle_over = g.kind == Kind::Session && now >= g.last_seen.plus(self.policy.idle);
        let absolute_over = g.expires.is_some_and(|e| now >= e);
        if idle_over || absolute_over {
            self.grants.remove(&d);
            return None;
        }
        let g = self.grants.get_mut(&d)?;
        g.last_seen = now;
        self.touched.insert(d);
        Some(g)
    }

    /// Puts back a grant taken out with [`Sessions::end_user`].
    pub fn reinstate(&mut self, digest: Digest32, grant: Grant) {
        self.grants.insert(digest, grant);
    }

    /// Ends the session or token of `secret` (logout).
    pub fn end(&mut self, secret: &str) -> bool {
        self.grants.remove(&digest(secret)).is_some()
    }

    /// Revokes `user`'s grant with this id; its hash, `None` if there is none.
    pub fn revoke(&mut self, user: &str, id: &str) -> Option<Digest32> {
        self.remove_where(|g| g.user == user && g.id == id)
            .into_iter()
            .next()
    }

    /// Ends everything of `user` (deleted, or password changed); their hashes.
    pub fn end_user(&mut self, user: &str) -> Vec<Digest32> {
        self.remove_where(|g| g.user == user)
    }

    fn remove_where(&mut self, gone: impl Fn(&Grant) -> bool) -> Vec<Digest32> {
        let keys: Vec<Digest32> = self
            .grants
            .iter()
            .filter(|(_, g)| gone(g))
            .map(|(d, _)| *d)
            .collect();
        for d in &keys {
            self.grants.remove(d);
            self.touched.remove(d);
        }
        keys
    }

    /// `user`'s API tokens, oldest first.
    pub fn tokens(&self, user: &str) -> Vec<&Grant> {
        let mut v: Vec<&Grant> = self
            .grants
            .values()
            .filter(|g| g.user == user && matches!(g.kind, Kind::Token { .. }))
            .collect();
        v.sort_by_key(|g| g.created);
        v
    }

    /// Forgets every grant that has ended by `now`; their hashes.
    pub fn expire(&mut self, now: Timestamp) -> Vec<Digest32> {
        let idle = self.policy.idle;
        self.remove_where(|g| {
            let idle_over = g.kind == Kind::Session && now >= g.last_seen.plus(idle);
            idle_over || g.expires.is_some_and(|e| now >= e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> Timestamp {
        Timestamp(1_764_000_000_000 + s * 1000)
    }

    fn policy() -> Policy {
        Policy {
            idle: Duration::from_secs(600),
            absolute: Duration::from_secs(3600),
        }
    }

    #[test]
    fn sessions_end_on_idle_absolutely_and_at_logout() {
        let mut s = Sessions::new(policy());
        let (a, grant) = s.login("alice", [1; 32], at(0));
        assert_eq!(a.len(), 64);
        assert_eq!(grant.expires, Some(at(3600)));
        // Used every 9 minutes: alive until the absolute end.
        for t in (540..3600).step_by(540) {
            assert!(s.check(&a, at(t)).is_some(), "at {t}");
        }
        assert!(s.check(&a, at(3600)).is_none(), "absolute end");
        assert!(s.check(&a, at(3601)).is_none(), "and it stays gone");
        // Idle for 10 minutes: over.
        let (b, _) = s.login("alice", [2; 32], at(0));
        assert!(s.check(&b, at(599)).is_some());
        assert!(s.check(&b, at(1199)).is_none());
        // Logout ends it; a wrong secret matches nothing.
        let (c, _) = s.login("alice", [3; 32], at(0));
        assert!(s.check("00", at(1)).is_none());
        assert!(s.end(&c));
        assert!(s.check(&c, at(1)).is_none());
    }

    #[test]
    fn tokens_live_until_expiry_or_revocation() {
        let mut s = Sessions::new(policy());
        let (forever, f) = s.issue_token(
            "bob",
            "backup script",
            Scope::default(),
            None,
            [4; 32],
            at(0),
        );
        let (short, _) =
            s.issue_token("bob", "ci", Scope::default(), Some(at(100)), [5; 32], at(1));
        // Idle time does not end a token.
        assert!(s.check(&forever, at(1_000_000)).is_some());
        assert!(s.check(&short, at(99)).is_some());
        assert!(s.check(&short, at(100)).is_none());
        let names: Vec<String> = s
            .tokens("bob")
            .iter()
            .map(|g| match &g.kind {
                Kind::Token { name, .. } => name.clone(),
                Kind::Session => unreachable!(),
            })
            .collect();
        assert_eq!(names, ["backup script"]);
        assert!(
            s.revoke("mallory", &f.id).is_none(),
            "only its user revokes it"
        );
        assert_eq!(s.revoke("bob", &f.id), Some(digest(&forever)));
        assert!(s.check(&forever, at(2)).is_none());
    }

    #[test]
    fn only_the_hash_is_kept_and_expired_grants_are_swept() {
        let mut s = Sessions::new(policy());
        let (secret, grant) = s.login("alice", [7; 32], at(0));
        assert!(!format!("{:?}", s.grants).contains(&secret));
        assert_eq!(grant.id.len(), 16);
        s.login("bob", [8; 32], at(500));
        assert_eq!(s.expire(at(700)), [digest(&secret)]);
        assert!(s.check(&secret, at(1)).is_none());
        let (b, _) = s.login("bob", [9; 32], at(600));
        assert!(s.check(&b, at(650)).is_some());
        assert_eq!(s.take_touched(), [(digest(&b), at(650))]);
        assert!(s.take_touched().is_empty());
        assert_eq!(s.end_user("bob").len(), 2);
        assert!(s.grants.is_empty());
    }
}
