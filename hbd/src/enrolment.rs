//! Enrolment without hand-made keys (PROTOCOL.md, "Enrolment"): administrators make
//! tokens (one use or several, until a time, bound to a group's name patterns or not,
//! approved at once or by an administrator); an agent with one makes its own key by
//! the exchange in `hb_proto::enrol`, and from then on that key alone speaks for its
//! host name. Keys are replaced by the agent (a rekey proved with the current key) and
//! revoked by administrators.
//!
//! The shell: the checks and the store in order, one at a time, and every change to
//! the keys put in force through the reloader (`Reloader::put_enrolled`), so the gate,
//! the replies and the core see it together.

use std::sync::Arc;

use hb_proto::enrol::{self, Answer, Rekey, Request, Standing as Asked, Token};

use crate::clock::Timestamp;
use crate::config::SharedConfig;
use crate::config::enrolled::Standing;
use crate::reload::Reloader;
use crate::store::StoreError;
use crate::store::enrolment::{EnrolmentDb, StoredKey, StoredToken};

/// Enrolments one token allows at most.
pub const MAX_USES: u32 = 10_000;
/// The longest a token lasts: 30 days.
pub const MAX_LIFETIME_S: u64 = 30 * 86_400;

/// Why an enrolment request or an administrator's change is refused.
#[derive(Debug, thiserror::Error)]
pub enum EnrolmentError {
    /// Malformed: a bad name, a bad number.
    #[error("{0}")]
    Bad(String),
    /// The token or key does not allow it (403).
    #[error("{0}")]
    Refused(String),
    /// The host already has a key (409).
    #[error("{0}")]
    Conflict(String),
    /// No such token or key (404).
    #[error("{0}")]
    NotFound(String),
    /// The store failed (503).
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The new keys could not be put in force (503).
    #[error("{0}")]
    Engine(String),
}

/// What a new token should allow.
#[derive(Debug, Clone)]
pub struct TokenAsk {
    /// Enrolments, 1 to [`MAX_USES`].
    pub uses: u32,
    /// Seconds it lasts, 60 to [`MAX_LIFETIME_S`].
    pub lifetime_s: u64,
    /// A group whose name patterns the host must match.
    pub group: Option<String>,
    /// Whether keys made with it speak at once.
    pub auto_approve: bool,
}

/// Enrolment: the store, the configuration in force, and the way to change it.
#[derive(Debug, Clone)]
pub struct Enrolment {
    db: EnrolmentDb,
    config: SharedConfig,
    reloader: Reloader,
    one_at_a_time: Arc<tokio::sync::Mutex<()>>,
}

fn random<const N: usize>() -> Result<[u8; N], EnrolmentError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| EnrolmentError::Engine(format!("no randomness: {e}")))?;
    Ok(bytes)
}

impl Enrolment {
    /// Enrolment over `db`, putting changes in force with `reloader`.
    pub fn new(db: EnrolmentDb, config: SharedConfig, reloader: Reloader) -> Enrolment {
        Enrolment {
            db,
            config,
            reloader,
            one_at_a_time: Arc::default(),
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&EnrolmentDb) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, EnrolmentError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| EnrolmentError::Engine(e.to_string()))?
            .map_err(EnrolmentError::Store)
    }

    /// Puts the keys as stored in force.
    async fn publish(&self) -> Result<(), EnrolmentError> {
        let enrolled = self.blocking(|db| db.enrolled()).await?;
        self.reloader
            .put_enrolled(Arc::new(enrolled))
            .await
            .map_err(|e| EnrolmentError::Engine(e.to_string()))
    }

    /// Makes a token for `by`: its text (shown once, never kept) and what is kept.
    pub async fn make_token(
        &self,
        by: &str,
        ask: TokenAsk,
    ) -> Result<(String, StoredToken), EnrolmentError> {
        if !(1..=MAX_USES).contains(&ask.uses) {
            return Err(EnrolmentError::Bad(format!("uses must be 1 to {MAX_USES}")));
        }
        if !(60..=MAX_LIFETIME_S).contains(&ask.lifetime_s) {
            return Err(EnrolmentError::Bad(format!(
                "expires_in must be 60 to {MAX_LIFETIME_S} seconds"
            )));
        }
        if let Some(group) = &ask.group {
            let config = self.config.get();
            let Some(g) = config.groups.get(group) else {
                return Err(EnrolmentError::Bad(format!("no group named {group:?}")));
            };
            if g.hosts.is_empty() {
                return Err(EnrolmentError::Bad(format!(
                    "group {group:?} has no host name patterns to check an enrolling name against"
                )));
            }
        }
        let token = Token::new(random()?, random()?);
        let now = Timestamp::now();
        let expires = now.plus(std::time::Duration::from_secs(ask.lifetime_s));
        let stored = StoredToken {
            id: token.id.clone(),
            made_by: by.to_owned(),
            made: now.rfc3339(),
            expires: expires.rfc3339(),
            uses_left: ask.uses,
            group: ask.group,
            auto_approve: ask.auto_approve,
            verifier: token.verifier(),
        };
        let kept = stored.clone();
        let at = crate::store::hosts::to_sql_ms;
        let (made_ms, expires_ms) = (at(now), at(expires));
        self.blocking(move |db| db.put_token(&kept, made_ms, expires_ms))
            .await?;
        tracing::info!(token = %stored.id, by, uses = stored.uses_left, group = ?stored.group, auto_approve = stored.auto_approve, "enrolment token made");
        Ok((token.text(), stored))
    }

    /// The tokens still good.
    pub async fn tokens(&self) -> Result<Vec<StoredToken>, EnrolmentError> {
        let now = Timestamp::now();
        self.blocking(move |db| db.tokens(now)).await
    }

    /// Withdraws token `id`.
    pub async fn delete_token(&self, id: &str, by: &str) -> Result<(), EnrolmentError> {
        let owned = id.to_owned();
        if self.blocking(move |db| db.delete_token(&owned)).await? {
            tracing::info!(token = %id, by, "enrolment token withdrawn");
            Ok(())
        } else {
            Err(EnrolmentError::NotFound(format!("no token {id:?}")))
        }
    }

    /// Every enrolled host's key (never the key itself).
    pub async fn keys(&self) -> Result<Vec<StoredKey>, EnrolmentError> {
        self.blocking(|db| db.keys()).await
    }

    /// An agent's request to enrol.
    pub async fn enrol(&self, request: Request) -> Result<Answer, EnrolmentError> {
        hb_proto::validate_name(&request.name)
            .map_err(|e| EnrolmentError::Bad(format!("name: {e}")))?;
        let _one = self.one_at_a_time.lock().await;
        let now = Timestamp::now();
        let id = request.token_id.clone();
        let name = request.name.clone();
        let (token, existing) = self
            .blocking(move |db| Ok((db.token(&id, now)?, db.key(&name)?)))
            .await?;
        let Some(token) = token else {
            return Err(EnrolmentError::Refused(
                "the token is unknown, expired or used up".into(),
            ));
        };
        let config = self.config.get();
        if let Some(group) = &token.group {
            let member = config
                .groups
                .get(group)
                .and_then(|g| g.group(group).ok())
                .is_some_and(|g| g.contains(&request.name, None));
            if !member {
                return Err(EnrolmentError::Refused(format!(
                    "{:?} is not a host of group {group:?}, which the token is for",
                    request.name
                )));
            }
        }
        if let Some(k) = &existing
            && k.standing != Standing::Revoked.word()
        {
            return Err(EnrolmentError::Conflict(format!(
                "{:?} is already enrolled ({}): its agent rekeys with its key, or an administrator revokes it first",
                request.name, k.standing
            )));
        }
        if config
            .hosts
            .get(&request.name)
            .is_some_and(|h| h.key.is_some())
        {
            return Err(EnrolmentError::Conflict(format!(
                "{:?} has a key in the configuration",
                request.name
            )));
        }
        let (asked, standing) = if token.auto_approve {
            (Asked::Active, Standing::Active)
        } else {
            (Asked::Pending, Standing::Pending)
        };
        let (answer, key) = enrol::answer(&token.verifier, &request, random()?, asked)
            .map_err(|e| EnrolmentError::Refused(e.to_string()))?;
        let (host, id, by) = (
            request.name.clone(),
            token.id.clone(),
            token.made_by.clone(),
        );
        self.blocking(move |db| db.put_key(&host, &key, standing, Some(&id), &by, now))
            .await?;
        self.publish().await?;
        tracing::info!(host = %request.name, token = %token.id, standing = standing.word(), "agent enrolled");
        Ok(answer)
    }

    /// An agent's request for a new key, proved with its current one.
    pub async fn rekey(&self, request: Rekey) -> Result<Answer, EnrolmentError> {
        let _one = self.one_at_a_time.lock().await;
        let name = request.name.clone();
        let current = self.blocking(move |db| db.key(&name)).await?;
        let Some(current) = current.filter(|k| k.standing == Standing::Active.word()) else {
            return Err(EnrolmentError::NotFound(format!(
                "{:?} has no active enrolled key",
                request.name
            )));
        };
        let (answer, key) = enrol::answer_rekey(&current.key, &request, random()?)
            .map_err(|e| EnrolmentError::Refused(e.to_string()))?;
        let host = request.name.clone();
        let now = Timestamp::now();
        self.blocking(move |db| db.put_key(&host, &key, Standing::Active, None, &host, now))
            .await?;
        self.publish().await?;
        tracing::info!(host = %request.name, "agent key replaced");
        Ok(answer)
    }

    /// An administrator's decision on `host`'s key: approve a pending one, or revoke.
    pub async fn decide(
        &self,
        host: &str,
        to: Standing,
        by: &str,
    ) -> Result<StoredKey, EnrolmentError> {
        let _one = self.one_at_a_time.lock().await;
        let name = host.to_owned();
        let Some(current) = self.blocking(move |db| db.key(&name)).await? else {
            return Err(EnrolmentError::NotFound(format!(
                "{host:?} has no enrolled key"
            )));
        };
        if to == Standing::Active && current.standing != Standing::Pending.word() {
            return Err(EnrolmentError::Conflict(format!(
                "{host:?}'s key is {}, not pending",
                current.standing
            )));
        }
        let (name, who, now) = (host.to_owned(), by.to_owned(), Timestamp::now());
        let kept = self
            .blocking(move |db| {
                db.put_key(&name, &current.key, to, None, &who, now)?;
                db.key(&name)
            })
            .await?
            .ok_or_else(|| EnrolmentError::NotFound(format!("{host:?} has no enrolled key")))?;
        self.publish().await?;
        tracing::info!(host, by, standing = to.word(), "enrolled key decided");
        Ok(kept)
    }
}
