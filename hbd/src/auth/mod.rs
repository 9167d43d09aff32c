//! Users and what they may do. Module map:
//!
//! - [`password`]: Werkzeug-compatible password hashes (`pbkdf2:` and `scrypt:`), made
//!   and checked in constant time.
pub mod password;
