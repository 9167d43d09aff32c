//! The auth shell: the pure parts ([`Directory`], [`Sessions`], [`Throttle`]) behind
//! short locks, written through to the store ([`AuthDb`]) before an answer goes out.
//!
//! Locks are `std` mutexes held for a map lookup, never across an `.await` or a
//! password hash. Password checks run on the blocking pool, at most
//! [`VERIFY_PERMITS`] at once: Werkzeug's default scrypt needs 32 MiB per check.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::db::AuthDb;
use super::directory::{AccessList, Directory, Stored};
use super::password::PasswordHash;
use super::rate::{Buckets, Rate};
use super::sessions::{Digest32, Grant, Policy, Scope, Sessions, digest};
use super::throttle::{Limit, Throttle};
use crate::clock::{Clock, Timestamp};
use crate::config::{Config, SharedConfig, UserConfig};
use crate::journal::{Entry, Journal};
use crate::metrics::Metrics;
use crate::store::StoreError;

/// Password checks that may run at once.
pub const VERIFY_PERMITS: usize = 2;

/// Failed logins per client address before it must wait.
pub const PER_ADDRESS: Limit = Limit {
    failures: 20,
    window: Duration::from_secs(15 * 60),
};

/// Failed logins per user name before it must wait.
pub const PER_NAME: Limit = Limit {
    failures: 5,
    window: Duration::from_secs(15 * 60),
};

/// Why a login was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown user, no password set, or a wrong password: one answer for all.
    #[error("wrong user name or password")]
    Invalid,
    /// `oidc.password_sign_in: false`: only the provider signs people in.
    #[error("sign-in with a password is off; sign in through the single sign-on provider")]
    PasswordsOff,
    /// Too many failures from this address or for this name.
    #[error("too many failed logins; try again in {} s", .0.as_secs().max(1))]
    Throttled(Duration),
    /// The session could not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a sign-in through the provider did not open a session.
#[derive(Debug, thiserror::Error)]
pub enum SsoSignInError {
    /// Refused (shown to the person signing in).
    #[error(transparent)]
    Refused(#[from] super::oidc::Refusal),
    /// The user or session could not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a user or access change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The config declares it: change the file.
    #[error("{0}")]
    ConfigManaged(String),
    /// The request names something that does not exist or clashes.
    #[error("{0}")]
    Conflict(String),
    /// The request is well-formed but wrong (an unknown user in an access list).
    #[error("{0}")]
    Invalid(String),
    /// Not found.
    #[error("{0}")]
    NotFound(String),
    /// The store failed; nothing changed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug)]
struct Cache {
    config: Arc<Config>,
    directory: Arc<Directory>,
}

#[derive(Debug)]
struct Inner {
    config: SharedConfig,
    db: AuthDb,
    stored: Mutex<Stored>,
    cache: Mutex<Option<Cache>>,
    sessions: Mutex<Sessions>,
    by_address: Mutex<Throttle>,
    by_name: Mutex<Throttle>,
    verify: Semaphore,
    clock: Clock,
    metrics: Arc<Metrics>,
    journal: Journal,
    /// The labels hosts declare, which the engine keeps current.
    labels: super::labels::HostLabels,
    /// Bumped whenever sessions or tokens end (logout, revocation, a user's sessions
    /// ended): open live streams re-check theirs at once instead of at the next ping.
    ended: tokio::sync::watch::Sender<u64>,
    /// The API's rate limits: buckets per token and per address.
    rates: Mutex<Rates>,
    /// OpenID Connect sign-ins under way.
    oidc_pending: Mutex<super::oidc::PendingSignIns>,
    /// Talks to the OpenID Connect provider.
    oidc: super::oidc_client::OidcClient,
}

/// The API's buckets.
#[derive(Debug)]
struct Rates {
    token: Buckets,
    address: Buckets,
}

fn rate(per_second: f64, burst: Duration) -> Rate {
    Rate {
        per_second,
        burst: (per_second * burst.as_secs_f64()).max(1.0),
    }
}

/// Users, sessions and access, shared by every handler, the live stream and the
/// notifier.
#[derive(Debug, Clone)]
pub struct Auth(Arc<Inner>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        // Every critical section is a map operation that leaves the map whole.
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn policy(config: &Config) -> Policy {
    Policy {
        idle: config.session_idle,
        absolute: config.session_lifetime,
    }
}

fn random() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    if let Err(error) = getrandom::fill(&mut bytes) {
        // No entropy source is a broken machine; a predictable token would be worse
        // than no login.
        panic!("no random bytes for a session token: {error}");
    }
    bytes
}

fn source_name(config: &Config) -> String {
    config
        .source
        .as_ref()
        .map_or_else(|| "the config".to_owned(), |p| p.display().to_string())
}

impl Auth {
    /// Loads users, access and sessions from the store.
    pub fn start(
        config: SharedConfig,
        db: AuthDb,
        clock: Clock,
        metrics: Arc<Metrics>,
        journal: Journal,
    ) -> Result<Auth, StoreError> {
        let (stored, grants) = db.load()?;
        let sessions = Sessions::restore(policy(&config.get()), grants);
        let auth = Auth(Arc::new(Inner {
            config,
            db,
            stored: Mutex::new(stored),
            cache: Mutex::new(None),
            sessions: Mutex::new(sessions),
            by_address: Mutex::new(Throttle::new(PER_ADDRESS)),
            by_name: Mutex::new(Throttle::new(PER_NAME)),
            verify: Semaphore::new(VERIFY_PERMITS),
            clock,
            metrics,
            journal,
            labels: Default::default(),
            ended: tokio::sync::watch::Sender::new(0),
            rates: Mutex::new(Rates {
                token: Buckets::new(rate(1.0, Duration::from_secs(1))),
                address: Buckets::new(rate(1.0, Duration::from_secs(1))),
            }),
            oidc_pending: Mutex::new(Default::default()),
            oidc: super::oidc_client::OidcClient::new(),
        }));
        let directory = auth.directory();
        for name in directory.shadowed() {
            tracing::warn!(
                entry = name,
                "the store holds an entry the config also declares; the config's is used"
            );
        }
        Ok(auth)
    }

    /// The users and access in force (rebuilt after a reload or a change; the same
    /// `Arc` while the access it gives is the same).
    pub fn directory(&self) -> Arc<Directory> {
        let config = self.0.config.get();
        let mut cache = lock(&self.0.cache);
        if let Some(c) = cache.as_ref()
            && Arc::ptr_eq(&c.config, &config)
        {
            return c.directory.clone();
        }
        let built =
            Directory::build(&config, &lock(&self.0.stored)).with_labels(self.0.labels.clone());
        let directory = match cache.as_ref() {
            // The same access under a new configuration: the same directory.
            Some(c) if c.directory.same_access(&built) => c.directory.clone(),
            _ => Arc::new(built),
        };
        lock(&self.0.sessions).set_policy(policy(&config));
        *cache = Some(Cache {
            config,
            directory: directory.clone(),
        });
        directory
    }

    /// The labels hosts declare, for the engine to keep current.
    pub fn host_labels(&self) -> super::labels::HostLabels {
        self.0.labels.clone()
    }

    /// The directory in force, for the notifier and the live stream.
    pub fn directories(&self) -> super::directory::Directories {
        let auth = self.clone();
        super::directory::Directories::new(move || auth.directory())
    }

    fn invalidate(&self) {
        *lock(&self.0.cache) = None;
    }

    /// Checks a name and password and opens a session. Throttled addresses and names
    /// are refused before any hashing; an unknown name costs a hash like a known one.
    pub async fn login(
        &self,
        name: &str,
        password: &str,
        client: IpAddr,
    ) -> Result<(String, Grant), LoginError> {
        let inner = &self.0;
        if inner
            .config
            .get()
            .oidc
            .as_ref()
            .is_some_and(|o| !o.password_sign_in)
        {
            return Err(LoginError::PasswordsOff);
        }
        let address = client.to_canonical().to_string();
        let now = inner.clock.mono();
        let throttled = lock(&inner.by_address)
            .check(&address, now)
            .and_then(|()| lock(&inner.by_name).check(name, now));
        if let Err(wait) = throttled {
            inner.metrics.logins_throttled.inc();
            self.journal(client, "login_throttled", name);
            return Err(LoginError::Throttled(wait));
        }
        let directory = self.directory();
        let hash = directory
            .user(name)
            .and_then(|u| u.user.password.as_deref())
            .and_then(|h| PasswordHash::parse(h).ok());
        // An unknown name (or one without a usable password) is checked against a decoy
        // of the most common cost, and fails.
        let (hash, known) = match hash {
            Some(h) => (h, true),
            None => (directory.decoy(), false),
        };
        let ok = {
            let _permit = inner.verify.acquire().await;
            let password = password.to_owned();
            tokio::task::spawn_blocking(move || hash.verify(&password))
                .await
                .unwrap_or(false)
                && known
        };
        let now = inner.clock.mono();
        if !ok {
            lock(&inner.by_address).failed(&address, now);
            lock(&inner.by_name).failed(name, now);
            inner.metrics.login_failures.inc();
            self.journal(client, "login_failed", name);
            return Err(LoginError::Invalid);
        }
        lock(&inner.by_name).succeeded(name);
        Ok(self.open_session(name, client, "login").await?)
    }

    /// Opens a session for `name`, stored before it is handed out, and journals the
    /// sign-in as `event`.
    async fn open_session(
        &self,
        name: &str,
        client: IpAddr,
        event: &'static str,
    ) -> Result<(String, Grant), StoreError> {
        let inner = &self.0;
        let (secret, grant) = lock(&inner.sessions).login(name, random(), Timestamp::now());
        let d = digest(&secret);
        let row = grant.clone();
        if let Err(e) = self.persist(move |db| db.put_grant(&d, &row)).await {
            lock(&inner.sessions).end(&secret);
            return Err(e);
        }
        inner.metrics.logins.inc();
        self.journal(client, event, name);
        Ok((secret, grant))
    }

    /// Starts an OpenID Connect sign-in that ends at `next`.
    pub fn oidc_start(&self, next: String) -> super::oidc::Started {
        let mut random = [0u8; 96];
        if let Err(error) = getrandom::fill(&mut random) {
            // As for session secrets: a predictable state would be worse than none.
            panic!("no random bytes for a sign-in: {error}");
        }
        lock(&self.0.oidc_pending).start(random, next, Timestamp::now())
    }

    /// Takes the OpenID Connect sign-in `state` names (once; see
    /// [`super::oidc::PendingSignIns::take`]).
    pub fn oidc_take(
        &self,
        state: &str,
        bound: &str,
    ) -> Result<super::oidc::Pending, super::oidc::Refusal> {
        lock(&self.0.oidc_pending).take(state, bound, Timestamp::now())
    }

    /// The client that talks to the OpenID Connect provider.
    pub fn oidc_client(&self) -> &super::oidc_client::OidcClient {
        &self.0.oidc
    }

    /// Signs in whom the OpenID Connect provider vouched for: their store user is
    /// made or brought up to date (name, email, groups), then a session opens. Refused
    /// for a name the config declares (a local user is not taken over by whoever the
    /// provider names so), and for a name an earlier sign-in bound to another subject
    /// or that was made through the API.
    pub async fn sign_in_oidc(
        &self,
        issuer: &str,
        who: &super::oidc::Identity,
        client: IpAddr,
    ) -> Result<(String, Grant), SsoSignInError> {
        use super::oidc::Refusal;
        let inner = &self.0;
        if let Some(why) = self.config_user(&who.name) {
            return Err(Refusal::Name(format!(
                "{why}: the provider cannot sign in as a local user"
            ))
            .into());
        }
        let user = {
            let stored = lock(&inner.stored);
            let mut user = match stored.users.get(&who.name) {
                None => UserConfig::default(),
                Some(u) => match &u.sso {
                    Some(s) if s.issuer == issuer && s.subject == who.subject => u.clone(),
                    _ => {
                        return Err(Refusal::Name(format!(
                            "user `{}` already exists and is not this provider's account",
                            who.name
                        ))
                        .into());
                    }
                },
            };
            user.full_name = who.full_name.clone().or(user.full_name);
            user.email = who.email.clone().or(user.email);
            user.password = None;
            user.sso = Some(crate::config::SsoIdentity {
                issuer: issuer.to_owned(),
                subject: who.subject.clone(),
                groups: who.groups.clone(),
            });
            user
        };
        let name = who.name.clone();
        let row = user.clone();
        self.persist(move |db| db.put_user(&name, &row)).await?;
        lock(&inner.stored).users.insert(who.name.clone(), user);
        self.invalidate();
        Ok(self.open_session(&who.name, client, "login_oidc").await?)
    }

    /// The live session or token a secret belongs to, if its user still exists. Using
    /// it counts as activity.
    pub fn check(&self, secret: &str) -> Option<Grant> {
        let grant = lock(&self.0.sessions)
            .check(secret, Timestamp::now())
            .cloned()?;
        if self.directory().user(&grant.user).is_none() {
            // The user was removed from the config: their grants end with them.
            let gone = lock(&self.0.sessions).end_user(&grant.user);
            let db = self.0.db.clone();
            tokio::task::spawn_blocking(move || {
                if let Err(error) = db.delete_grants(&gone) {
                    tracing::warn!(%error, "deleting a removed user's sessions failed");
                }
            });
            return None;
        }
        Some(grant)
    }

    /// Takes one API request from the buckets of `token` (a token's or session's id, or
    /// a proxy's user) and of `address`, under the limits in force (0: none);
    /// `Err((wait, which))` when one is empty: how long until it holds one again, and
    /// `"token"` or `"address"`.
    pub fn take_request(
        &self,
        token: Option<&str>,
        address: Option<&str>,
    ) -> Result<(), (Duration, &'static str)> {
        let config = self.0.config.get();
        let limits = &config.rate_limit;
        let now = self.0.clock.mono();
        let mut rates = lock(&self.0.rates);
        if let Some(address) = address
            && limits.per_address > 0.0
        {
            rates
                .address
                .set_rate(rate(limits.per_address, limits.burst));
            rates
                .address
                .take(address, now)
                .map_err(|w| (w, "address"))?;
        }
        if let Some(token) = token
            && limits.per_token > 0.0
        {
            rates.token.set_rate(rate(limits.per_token, limits.burst));
            rates.token.take(token, now).map_err(|w| (w, "token"))?;
        }
        Ok(())
    }

    /// Tells when sessions or tokens have ended (the value only counts the times).
    pub fn ended(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.ended.subscribe()
    }

    fn tell_ended(&self) {
        self.0.ended.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Ends the session or token of `secret` (logout).
    pub async fn logout(&self, secret: &str, client: IpAddr, user: &str) -> Result<(), StoreError> {
        let d = digest(secret);
        if lock(&self.0.sessions).end(secret) {
            self.tell_ended();
            self.persist(move |db| db.delete_grants(&[d])).await?;
            self.journal(client, "logout", user);
        }
        Ok(())
    }

    /// A new API token for `user`, limited to `scope`; its secret is shown once.
    pub async fn issue_token(
        &self,
        user: &str,
        name: &str,
        scope: Scope,
        expires: Option<Timestamp>,
    ) -> Result<(String, Grant), StoreError> {
        let (secret, grant) = lock(&self.0.sessions).issue_token(
            user,
            name,
            scope,
            expires,
            random(),
            Timestamp::now(),
        );
        let d = digest(&secret);
        let row = grant.clone();
        if let Err(e) = self.persist(move |db| db.put_grant(&d, &row)).await {
            lock(&self.0.sessions).end(&secret);
            return Err(e);
        }
        Ok((secret, grant))
    }

    /// `user`'s API tokens, oldest first.
    pub fn tokens(&self, user: &str) -> Vec<Grant> {
        lock(&self.0.sessions)
            .tokens(user)
            .into_iter()
            .cloned()
            .collect()
    }

    /// Revokes one of `user`'s tokens or sessions by id; `false` if they have none by it.
    pub async fn revoke(&self, user: &str, id: &str) -> Result<bool, StoreError> {
        let Some(d) = lock(&self.0.sessions).revoke(user, id) else {
            return Ok(false);
        };
        self.tell_ended();
        self.persist(move |db| db.delete_grants(&[d])).await?;
        Ok(true)
    }

    /// Writes back last uses and deletes what has expired; run every minute and at
    /// shutdown. A failure is logged and the work redone next time.
    pub async fn flush(&self) {
        let (touched, expired) = {
            let mut s = lock(&self.0.sessions);
            (s.take_touched(), s.expire(Timestamp::now()))
        };
        let result = self
            .persist(move |db| {
                db.touch_grants(&touched)?;
                db.delete_grants(&expired)
            })
            .await;
        if let Err(error) = result {
            tracing::warn!(%error, "writing session activity failed; retried in a minute");
        }
    }

    fn config_user(&self, name: &str) -> Option<String> {
        let config = self.0.config.get();
        config.users.contains_key(name).then(|| {
            format!(
                "user `{name}` is declared in {}; change it there",
                source_name(&config)
            )
        })
    }

    /// Creates a user in the store. `user.password` is already a hash.
    pub async fn create_user(&self, name: &str, user: UserConfig) -> Result<(), ChangeError> {
        if let Some(why) = self.config_user(name) {
            return Err(ChangeError::Conflict(why));
        }
        if lock(&self.0.stored).users.contains_key(name) {
            return Err(ChangeError::Conflict(format!("user `{name}` exists")));
        }
        self.put_user(name, user).await
    }

    /// Replaces a store user (made through the API).
    pub async fn update_user(&self, name: &str, user: UserConfig) -> Result<(), ChangeError> {
        if let Some(why) = self.config_user(name) {
            return Err(ChangeError::ConfigManaged(why));
        }
        if !lock(&self.0.stored).users.contains_key(name) {
            return Err(ChangeError::NotFound(format!("no user named `{name}`")));
        }
        self.put_user(name, user).await
    }

    async fn put_user(&self, name: &str, user: UserConfig) -> Result<(), ChangeError> {
        let (n, u) = (name.to_owned(), user.clone());
        self.persist(move |db| db.put_user(&n, &u)).await?;
        lock(&self.0.stored).users.insert(name.to_owned(), user);
        self.invalidate();
        Ok(())
    }

    /// Ends every session and token of `user` but the one with `keep` (a password
    /// change keeps the session that made it).
    pub async fn end_user_sessions(
        &self,
        user: &str,
        keep: Option<&str>,
    ) -> Result<(), StoreError> {
        let gone: Vec<Digest32> = {
            let mut s = lock(&self.0.sessions);
            let kept = keep.and_then(|k| s.check(k, Timestamp::now()).cloned());
            let gone = s.end_user(user);
            if let (Some(secret), Some(grant)) = (keep, kept) {
                s.reinstate(digest(secret), grant);
            }
            gone.into_iter()
                .filter(|d| keep.is_none_or(|k| *d != digest(k)))
                .collect()
        };
        self.tell_ended();
        self.persist(move |db| db.delete_grants(&gone)).await
    }

    /// Deletes a store user, their sessions and tokens, and their roles in stored
    /// access lists.
    pub async fn delete_user(&self, name: &str) -> Result<(), ChangeError> {
        if let Some(why) = self.config_user(name) {
            return Err(ChangeError::ConfigManaged(why));
        }
        let access: Vec<(String, Option<AccessList>)> = {
            let stored = lock(&self.0.stored);
            if !stored.users.contains_key(name) {
                return Err(ChangeError::NotFound(format!("no user named `{name}`")));
            }
            stored
                .access
                .iter()
                .filter(|(_, l)| {
                    l.owner.as_deref() == Some(name)
                        || l.managers.iter().chain(&l.monitors).any(|u| u == name)
                })
                .map(|(host, l)| {
                    let mut l = l.clone();
                    if l.owner.as_deref() == Some(name) {
                        l.owner = None;
                    }
                    l.managers.retain(|u| u != name);
                    l.monitors.retain(|u| u != name);
                    let empty = l.owner.is_none() && l.managers.is_empty() && l.monitors.is_empty();
                    (host.clone(), (!empty).then_some(l))
                })
                .collect()
        };
        let (n, a) = (name.to_owned(), access.clone());
        self.persist(move |db| db.delete_user(&n, &a)).await?;
        {
            let mut stored = lock(&self.0.stored);
            stored.users.remove(name);
            for (host, list) in access {
                match list {
                    Some(l) => stored.access.insert(host, l),
                    None => stored.access.remove(&host),
                };
            }
        }
        lock(&self.0.sessions).end_user(name);
        self.invalidate();
        Ok(())
    }

    /// Sets a host's access in the store; refused when the config declares it or when
    /// it names an unknown user.
    pub async fn set_access(&self, host: &str, list: AccessList) -> Result<(), ChangeError> {
        let directory = self.directory();
        if directory.access(host).1 == super::directory::Source::Config {
            return Err(ChangeError::ConfigManaged(format!(
                "the access of host `{host}` is declared in {}; change it there",
                source_name(&self.0.config.get())
            )));
        }
        for user in list
            .owner
            .iter()
            .chain(&list.managers)
            .chain(&list.monitors)
        {
            if directory.user(user).is_none() {
                return Err(ChangeError::Invalid(format!("no user named `{user}`")));
            }
        }
        let (h, l) = (host.to_owned(), list.clone());
        self.persist(move |db| db.put_access(&h, Some(&l))).await?;
        lock(&self.0.stored).access.insert(host.to_owned(), list);
        self.invalidate();
        Ok(())
    }

    /// Forgets a dropped host's stored access.
    pub async fn forget_host(&self, host: &str) -> Result<(), StoreError> {
        if lock(&self.0.stored).access.remove(host).is_some() {
            let h = host.to_owned();
            self.persist(move |db| db.put_access(&h, None)).await?;
            self.invalidate();
        }
        Ok(())
    }

    /// Writes `entry` to the journal (the audit middleware's entries).
    pub fn journal_entry(&self, entry: Entry) {
        self.0.journal.record(vec![entry]);
    }

    fn journal(&self, source: IpAddr, event: &'static str, user: &str) {
        self.0.journal.record(vec![Entry::Auth {
            at: Timestamp::now(),
            source,
            event,
            user: user.to_owned(),
        }]);
    }

    async fn persist<T: Send + 'static>(
        &self,
        write: impl FnOnce(&AuthDb) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.0.db.clone();
        tokio::task::spawn_blocking(move || write(&db))
            .await
            .unwrap_or_else(|e| {
                Err(StoreError::Thread(std::io::Error::other(format!(
                    "store task failed: {e}"
                ))))
            })
    }
}
