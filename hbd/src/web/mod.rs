//! The web pages: `/login`, `/live` and `/alerts`, server-rendered from handlebars templates
//! (`templates/`) with plain ES modules and CSS (`static/`), both at the top of the workspace,, all embedded in the
//! binary. Module map:
//!
//! - [`crate::templates`]: the template registry, embedded or overridden from
//!   `templates_dir` (edits show on the next request); below the API, whose state holds
//!   it.
//! - [`assets`]: `/static/...`, embedded or overridden from `templates_dir/static`,
//!   with ETags.
//! - [`pages`]: the page handlers and the login form.
//! - [`oidc`]: single sign-on through an OpenID Connect provider (`/login/oidc`).
//! - [`headers`]: the security headers every answer carries (CSP, framing, sniffing).
pub mod assets;
pub mod headers;
pub mod oidc;
pub mod pages;
