//! Users and what they may do. Module map:
//!
//! - [`password`]: Werkzeug-compatible password hashes (`pbkdf2:` and `scrypt:`), made
//!   and checked in constant time.
//! - [`roles`]: `can(subject, action, host)`, the one decision on who may do what.
//! - [`sessions`]: browser sessions and API tokens by the hash of their secret, with
//!   idle and absolute expiry.
//! - [`throttle`]: failed logins counted per address and per name, refused before
//!   hashing once over the limit.
pub mod password;
pub mod roles;
pub mod sessions;
pub mod throttle;
