//! Users and what they may do. Module map:
//!
//! - [`db`]: the auth tables in the store's database, written through at once.
//! - [`directory`]: users and host access in force, the config's merged with the
//!   store's (the config is read-only through the API), and the groups' roles;
//!   [`labels`]: the labels hosts declare, which label-defined groups go by.
//! - [`password`] (`crate::password`, below the config, which checks hashes with it):
//!   Werkzeug-compatible password hashes (`pbkdf2:` and `scrypt:`), made and checked in
//!   constant time.
//! - [`roles`]: `can(subject, action, host)`, the one decision on who may do what.
//! - [`oidc`]: OpenID Connect sign-in's pure part (sign-ins under way, PKCE, the ID
//!   token's claims); [`oidc_client`]: the shell that talks to the provider.
//! - [`sessions`]: browser sessions and API tokens by the hash of their secret, with
//!   idle and absolute expiry.
//! - [`service`]: the shell around them, shared by the API and the notifier; writes
//!   through to the store.
//! - [`throttle`]: failed logins counted per address and per name, refused before
//!   hashing once over the limit.
//! - [`rate`]: the API's rate limits, a token bucket per token and per address.
pub mod db;
pub mod directory;
pub mod labels;
pub mod oidc;
pub mod oidc_client;
pub use crate::password;
pub mod rate;
pub mod roles;
pub mod service;
pub mod sessions;
pub mod throttle;
