//! Who is asking, and the one place a request's permission is decided: the [`Caller`]
//! extractor reads the bearer token, the user an authenticating proxy names
//! (`auth_proxy`, believed from the proxy's addresses only) or the session cookie,
//! applies the CSRF rules to browser requests, and [`Caller::may`] turns
//! [`Directory::decide`] into an answer.
//!
//! CSRF, for state-changing requests authenticated by the cookie only (bearer tokens
//! are never sent by a browser on its own):
//! 1. Go 1.25's cross-origin rule: an allow-listed `Origin` passes; else
//!    `Sec-Fetch-Site` must be `same-origin` or `none`; without it, an `Origin` must
//!    match `Host`; a request with neither header is not from a browser.
//! 2. The session's CSRF token in `X-CSRF-Token` (given at login and by
//!    `GET /api/0/auth/me`).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};

use super::{ApiError, ApiState};
use crate::auth::directory::Directory;
use crate::auth::roles::{Action, Decision, Subject};
use crate::auth::sessions::{Grant, Kind, Scope, csrf_token};

/// The session cookie's name over plain HTTP.
pub const COOKIE: &str = "hbd_session";
/// The session cookie's name over TLS (the `__Host-` prefix pins it to this origin).
pub const TLS_COOKIE: &str = "__Host-hbd_session";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// No users are configured: everyone acts as an administrator.
    Open,
    /// No valid credential.
    Nothing,
    /// `Authorization: Bearer SECRET`.
    Bearer(String),
    /// The session cookie.
    Cookie(String),
    /// The authenticating proxy's header, from one of its addresses.
    Proxy,
}

/// The signed-in user (if any) and the directory their request is judged by.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user's name; `None` when open or anonymous.
    pub user: Option<String>,
    /// Their session or token.
    pub grant: Option<Grant>,
    /// How they proved it.
    pub via: Via,
    /// Users and access in force for this request.
    pub directory: Arc<Directory>,
    /// The hosts an API token is limited to, ready to check (`None`: every host its
    /// user may see).
    pub hosts: Option<Arc<HostLimit>>,
}

/// The hosts a limited API token covers: names matching its patterns, members of its
/// groups.
#[derive(Debug)]
pub struct HostLimit {
    patterns: Vec<globset::GlobMatcher>,
    groups: Vec<String>,
}

impl HostLimit {
    /// The limit of `scope`, if it limits hosts; its patterns were checked when the
    /// token was made, so one that does not compile (none should) matches nothing.
    fn of(scope: &Scope) -> Option<HostLimit> {
        scope.limits_hosts().then(|| HostLimit {
            patterns: scope
                .hosts
                .iter()
                .filter_map(|p| hbd_core::policy::silence::glob("hosts", p).ok())
                .collect(),
            groups: scope.groups.clone(),
        })
    }

    /// Whether `host` is covered.
    pub fn covers(&self, host: &str, directory: &Directory) -> bool {
        self.patterns.iter().any(|p| p.is_match(host))
            || self.groups.iter().any(|g| directory.in_group(g, host))
    }
}

/// The scope of an API token's grant; `None` for sessions and unlimited tokens.
pub fn scope_of(grant: Option<&Grant>) -> Option<&Scope> {
    match grant.map(|g| &g.kind) {
        Some(Kind::Token { scope, .. }) if !scope.is_full() => Some(scope),
        _ => None,
    }
}

impl Caller {
    /// `Ok` when the caller may do `action` (on `host`, when it is about one); the
    /// error to answer otherwise: 401, 403, or for a host they hold no role on the
    /// same 404 as for a host that does not exist. A token limited to hosts answers
    /// for others as for hosts its user may not see, and does nothing not about a host
    /// but look at lists (which [`Caller::sees`] filters).
    pub fn may(&self, action: Action, host: Option<&str>) -> Result<(), ApiError> {
        if let Some(limit) = &self.hosts {
            match host {
                Some(h) if !limit.covers(h, &self.directory) => {
                    return Err(ApiError::no_host(h));
                }
                // Looking at lists: they show only the hosts it covers.
                Some(_) | None if action == Action::View => {}
                Some(_) => {}
                None => {
                    return Err(ApiError::Forbidden(format!(
                        "this API token is limited to some hosts; it may not do what is not about one ({action:?})"
                    )));
                }
            }
        }
        match self.directory.decide(self.user.as_deref(), action, host) {
            Decision::Allow => Ok(()),
            Decision::Unauthenticated => Err(ApiError::Unauthenticated(
                "sign in first: POST /api/0/auth/login, or send Authorization: Bearer TOKEN".into(),
            )),
            Decision::Forbidden => Err(ApiError::Forbidden(format!(
                "your role does not allow this ({action:?})"
            ))),
            Decision::Hidden => Err(ApiError::no_host(host.unwrap_or_default())),
        }
    }

    /// Whether the caller may see `host` (listings filter by this).
    pub fn sees(&self, host: &str) -> bool {
        self.covers(host)
            && self
                .directory
                .decide(self.user.as_deref(), Action::View, Some(host))
                == Decision::Allow
    }

    /// Whether a host-limited token covers `host` (anything else covers every host).
    fn covers(&self, host: &str) -> bool {
        self.hosts
            .as_ref()
            .is_none_or(|limit| limit.covers(host, &self.directory))
    }

    /// `Ok` unless the caller is an API token with limits: what it may do cannot
    /// include making tokens or changing its user's account.
    pub fn unlimited(&self) -> Result<(), ApiError> {
        match scope_of(self.grant.as_ref()) {
            None => Ok(()),
            Some(_) => Err(ApiError::Forbidden(
                "a limited API token cannot make or revoke tokens, nor change its user's account"
                    .into(),
            )),
        }
    }

    /// The names of what the caller may do to `host` beyond seeing it
    /// ([`Action::ON_HOST`]).
    pub fn allowed_on(&self, host: &str) -> Vec<&'static str> {
        let read_only = scope_of(self.grant.as_ref()).is_some_and(|s| s.read_only);
        if read_only || !self.covers(host) {
            return Vec::new();
        }
        Action::ON_HOST
            .iter()
            .filter(|(action, _)| {
                self.directory
                    .decide(self.user.as_deref(), *action, Some(host))
                    == Decision::Allow
            })
            .map(|(_, name)| *name)
            .collect()
    }

    /// Whether the caller sees every host (open daemon, or an administrator): lists
    /// need no per-host check then.
    pub fn sees_all(&self) -> bool {
        if self.hosts.is_some() {
            return false;
        }
        match self.directory.subject(self.user.as_deref()) {
            Subject::Open => true,
            Subject::User { admin, .. } => admin,
            Subject::Anonymous => false,
        }
    }

    /// The signed-in user's name, or 401 (open daemons have no "me").
    pub fn signed_in(&self) -> Result<&str, ApiError> {
        self.user.as_deref().ok_or_else(|| {
            ApiError::Unauthenticated(if self.via == Via::Open {
                "no users are configured: nobody signs in".into()
            } else {
                "sign in first".into()
            })
        })
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// The credential a request presents, unchecked: its bearer token, else its session
/// cookie (the rate limits and the audit log key on it before any handler runs).
pub fn presented(headers: &HeaderMap) -> Option<&str> {
    bearer(headers)
        .or(cookie(headers, TLS_COOKIE))
        .or(cookie(headers, COOKIE))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The user the authenticating proxy names, when the request came from one of its
/// addresses; the header from anyone else is ignored.
fn proxied_user(parts: &Parts, proxy: Option<&crate::config::proxy::AuthProxy>) -> Option<String> {
    let proxy = proxy?;
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let user = proxy.user(&parts.headers, peer);
    if user.is_none() && parts.headers.contains_key(proxy.header.as_str()) {
        tracing::debug!(?peer, header = %proxy.header, "sign-in header from outside auth_proxy.addresses ignored");
    }
    user.map(str::to_owned)
}

/// Whether `origin` (`scheme://host[:port]`) names the `Host` the request was sent to.
fn is_own_origin(origin: &str, host: &str) -> bool {
    let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
    origin_host.eq_ignore_ascii_case(host)
}

/// Why a browser's request from another site is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrossSite {
    /// The browser says the request came from another site.
    #[error(
        "cross-site request refused (Sec-Fetch-Site: {0}); add the page's origin to allowed_origins"
    )]
    Site(String),
    /// An older browser's `Origin` is not the daemon's own.
    #[error("cross-origin request refused (Origin {origin} is not {host})")]
    Origin {
        /// The page's origin.
        origin: String,
        /// The `Host` the request was sent to.
        host: String,
    },
    /// A WebSocket handshake from another origin.
    #[error(
        "WebSocket from another origin refused (Origin {origin} is not {host}); add it to allowed_origins"
    )]
    WebSocket {
        /// The page's origin.
        origin: String,
        /// The `Host` the request was sent to.
        host: String,
    },
}

impl From<CrossSite> for ApiError {
    fn from(e: CrossSite) -> ApiError {
        ApiError::Csrf(e.to_string())
    }
}

/// Go 1.25's `CrossOriginProtection` check; `Err` says why the request is refused.
pub fn cross_origin_check(
    method: &Method,
    headers: &HeaderMap,
    allowed: &[String],
) -> Result<(), CrossSite> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let origin = text(header::ORIGIN);
    if origin.is_some_and(|o| allowed.iter().any(|a| a == o)) {
        return Ok(());
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("same-origin" | "none") => Ok(()),
        Some(site) => Err(CrossSite::Site(site.to_owned())),
        None => match origin {
            None => Ok(()),
            Some(origin) => {
                let host = text(header::HOST).unwrap_or_default();
                if is_own_origin(origin, host) {
                    Ok(())
                } else {
                    Err(CrossSite::Origin {
                        origin: origin.to_owned(),
                        host: host.to_owned(),
                    })
                }
            }
        },
    }
}

/// A WebSocket handshake's `Origin`, if any, must be the daemon's own (matching
/// `Host`) or allow-listed: browsers send the session cookie with any page's handshake.
pub fn same_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), CrossSite> {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(origin) = text(header::ORIGIN) else {
        return Ok(()); // not a browser
    };
    let host = text(header::HOST).unwrap_or_default();
    if is_own_origin(origin, host) || allowed.iter().any(|a| a == origin) {
        Ok(())
    } else {
        Err(CrossSite::WebSocket {
            origin: origin.to_owned(),
            host: host.to_owned(),
        })
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Caller, ApiError> {
        let directory = state.auth.directory();
        if directory.is_open() {
            return Ok(Caller {
                user: None,
                grant: None,
                via: Via::Open,
                directory,
                hosts: None,
            });
        }
        let headers = &parts.headers;
        let config = state.config.get();
        let (via, grant) = if let Some(secret) = bearer(headers) {
            match state.auth.check(secret) {
                Some(g) => (Via::Bearer(secret.to_owned()), Some(g)),
                None => (Via::Nothing, None),
            }
        } else if let Some(user) = proxied_user(parts, config.auth_proxy.as_ref()) {
            if directory.user(&user).is_none() {
                return Err(ApiError::Forbidden(format!(
                    "the sign-in proxy names `{user}`, who is not a user of this daemon (users:)"
                )));
            }
            // A browser sends the proxy's own credentials with any site's request: the
            // cross-origin rule stands in for the session's CSRF token.
            cross_origin_check(&parts.method, headers, &config.allowed_origins)?;
            return Ok(Caller {
                user: Some(user),
                grant: None,
                via: Via::Proxy,
                directory,
                hosts: None,
            });
        } else if let Some(secret) = cookie(headers, TLS_COOKIE).or(cookie(headers, COOKIE)) {
            match state.auth.check(secret) {
                Some(g) => (Via::Cookie(secret.to_owned()), Some(g)),
                None => (Via::Nothing, None),
            }
        } else {
            (Via::Nothing, None)
        };
        if let Via::Cookie(secret) = &via
            && !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS)
        {
            cross_origin_check(&parts.method, headers, &config.allowed_origins)?;
            let sent = headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let want = csrf_token(secret);
            if !bool::from(subtle::ConstantTimeEq::ct_eq(
                sent.as_bytes(),
                want.as_bytes(),
            )) {
                return Err(ApiError::Csrf(format!(
                    "a request signed in by the session cookie needs the session's {CSRF_HEADER} header (from the login answer or GET /api/0/auth/me)"
                )));
            }
        }
        let scope = scope_of(grant.as_ref());
        if scope.is_some_and(|s| s.read_only)
            && !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS)
        {
            return Err(ApiError::Forbidden("this API token is read-only".into()));
        }
        let hosts = scope.and_then(HostLimit::of).map(Arc::new);
        Ok(Caller {
            user: grant.as_ref().map(|g| g.user.clone()),
            grant,
            via,
            directory,
            hosts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    type Case<'a> = (&'a str, Method, &'a [(&'static str, &'static str)], bool);

    #[test]
    fn the_cross_origin_rule() {
        let allowed = vec!["https://ops.example.org".to_owned()];
        let cases: &[Case<'_>] = &[
            (
                "GET always passes",
                Method::GET,
                &[("sec-fetch-site", "cross-site")],
                true,
            ),
            (
                "same-origin fetch",
                Method::POST,
                &[("sec-fetch-site", "same-origin")],
                true,
            ),
            (
                "typed URL / bookmark",
                Method::POST,
                &[("sec-fetch-site", "none")],
                true,
            ),
            (
                "cross-site form",
                Method::POST,
                &[("sec-fetch-site", "cross-site")],
                false,
            ),
            (
                "same-site subdomain",
                Method::DELETE,
                &[("sec-fetch-site", "same-site")],
                false,
            ),
            (
                "allow-listed origin",
                Method::PUT,
                &[
                    ("sec-fetch-site", "cross-site"),
                    ("origin", "https://ops.example.org"),
                ],
                true,
            ),
            ("no browser headers (curl)", Method::POST, &[], true),
            (
                "old browser, same origin",
                Method::POST,
                &[
                    ("origin", "http://127.0.0.1:50004"),
                    ("host", "127.0.0.1:50004"),
                ],
                true,
            ),
            (
                "old browser, other origin",
                Method::POST,
                &[
                    ("origin", "http://evil.example"),
                    ("host", "127.0.0.1:50004"),
                ],
                false,
            ),
        ];
        for (what, method, pairs, pass) in cases {
            let got = cross_origin_check(method, &headers(pairs), &allowed);
            assert_eq!(got.is_ok(), *pass, "{what}: {got:?}");
        }
    }

    #[test]
    fn cookies_and_bearer_tokens_are_read() {
        let h = headers(&[
            ("cookie", "theme=dark; hbd_session=abc"),
            ("authorization", "bearer  tok "),
        ]);
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, TLS_COOKIE), None);
        assert_eq!(bearer(&h), Some("tok"));
        assert_eq!(bearer(&headers(&[("authorization", "Basic x")])), None);
    }
}
