//! Users and what they may do. Module map:
//!
//! - [`password`]: Werkzeug-compatible password hashes (`pbkdf2:` and `scrypt:`), made
//!   and checked in constant time.
//! - [`roles`]: `can(subject, action, host)`, the one decision on who may do what.
pub mod password;
pub mod roles;
