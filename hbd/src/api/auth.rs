//! Signing in and out, "who am I", and API tokens: `/api/0/auth/...`.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::Changed;
use super::caller::{COOKIE, Caller, TLS_COOKIE, Via};
use super::error::ErrorBody;
use super::extract::{Body, Segments};
use super::users::UserView;
use super::{ApiError, ApiState, ask};
use crate::auth::roles::Role;
use crate::auth::sessions::{Grant, Kind, Scope, csrf_token};
use crate::clock::Timestamp;
use crate::engine::Query;

/// The client's address (unspecified when the server was not given connection info,
/// as in unit tests).
#[derive(Debug, Clone, Copy)]
pub struct Client(pub IpAddr);

impl<S: Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Client, Self::Rejection> {
        Ok(Client(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::from([0u8; 16]), |c| c.0.ip()),
        ))
    }
}

/// `POST /api/0/auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The user name.
    username: String,
    /// The password.
    password: String,
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginAnswer {
    /// The session secret: send it as `Authorization: Bearer TOKEN`, or let the
    /// browser send the cookie set with it.
    token: String,
    /// When the session ends at the latest (it also ends after `session_idle` unused).
    expires_at: Option<String>,
    /// Send this as `X-CSRF-Token` with state-changing requests that use the cookie.
    csrf_token: String,
    /// Who signed in.
    user: Me,
}

/// Who the caller is and what they may do.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The user, `null` when no users are configured (the daemon is open).
    name: Option<String>,
    /// True when no users are configured: every request acts as an administrator.
    open: bool,
    /// Administrator of everything.
    admin: bool,
    /// The account's settings (absent when open).
    account: Option<UserView>,
    /// The role held on each known host the caller sees.
    roles: BTreeMap<String, Role>,
    /// The CSRF token of the cookie session, when signed in by the cookie.
    csrf_token: Option<String>,
}

/// The session cookie for `secret` (empty with age 0: cleared).
pub(crate) fn session_cookie(state: &ApiState, secret: &str, max_age_s: u64) -> HeaderValue {
    let (name, secure) = if state.tls {
        (TLS_COOKIE, "; Secure")
    } else {
        (COOKIE, "")
    };
    let text =
        format!("{name}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}");
    // Invariant: the secret is hex and the rest is ASCII, so the value is valid.
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""))
}

/// The cookie of a new session: it lasts as long as the session may.
pub(crate) fn new_session_cookie(state: &ApiState, secret: &str, grant: &Grant) -> HeaderValue {
    let max_age = grant
        .expires
        .map_or(0, |e| e.since(Timestamp::now()).as_secs());
    session_cookie(state, secret, max_age)
}

async fn me_of(state: &ApiState, caller: &Caller) -> Result<Me, ApiError> {
    let hosts = ask(state, Query::HostNames).await?;
    let directory = &caller.directory;
    let csrf_token = match &caller.via {
        Via::Cookie(secret) => Some(csrf_token(secret)),
        _ => None,
    };
    match &caller.user {
        None => Ok(Me {
            name: None,
            open: true,
            admin: true,
            account: None,
            roles: hosts.into_iter().map(|h| (h, Role::Owner)).collect(),
            csrf_token,
        }),
        Some(name) => {
            let entry = directory
                .user(name)
                .ok_or_else(|| ApiError::Unauthenticated("sign in first".into()))?;
            // A token limited to hosts names only the hosts it covers.
            let roles = hosts
                .into_iter()
                .filter(|h| caller.sees(h))
                .filter_map(|h| directory.role(name, &h).map(|r| (h, r)))
                .collect();
            Ok(Me {
                name: Some(name.clone()),
                open: false,
                admin: entry.user.admin,
                account: Some(UserView::new(name, entry)),
                roles,
                csrf_token,
            })
        }
    }
}

/// Signs in: answers the session token and sets it as an `HttpOnly`, `SameSite=Strict`
/// cookie. Failed attempts are counted per client address and per name; past the
/// limit the answer is 429 before any password is checked.
#[utoipa::path(post, path = "/api/0/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = LoginAnswer),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Wrong user name or password (one answer for both)", body = ErrorBody),
        (status = 422, description = "No users are configured", body = ErrorBody),
        (status = 429, description = "Too many failed logins; see Retry-After", body = ErrorBody),
    ))]
pub async fn login(
    State(state): State<ApiState>,
    Client(client): Client,
    Body(request): Body<LoginRequest>,
) -> Result<Response, ApiError> {
    if state.auth.directory().is_open() {
        return Err(ApiError::Unprocessable(
            "no users are configured: nobody signs in, and every request is allowed".into(),
        ));
    }
    let (secret, grant) = state
        .auth
        .login(&request.username, &request.password, client)
        .await?;
    let directory = state.auth.directory();
    let caller = Caller {
        user: Some(grant.user.clone()),
        grant: Some(grant.clone()),
        via: Via::Cookie(secret.clone()),
        directory,
        hosts: None,
    };
    let user = me_of(&state, &caller).await?;
    let answer = LoginAnswer {
        csrf_token: csrf_token(&secret),
        expires_at: grant.expires.map(Timestamp::rfc3339),
        user,
        token: secret.clone(),
    };
    let mut response = axum::Json(answer).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        new_session_cookie(&state, &secret, &grant),
    );
    Ok(response)
}

/// Signs out: ends the session (or the token) the request came with, and clears the
/// cookie.
#[utoipa::path(post, path = "/api/0/auth/logout", tag = "auth",
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Cookie request without its CSRF token or from another site", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn logout(
    State(state): State<ApiState>,
    Client(client): Client,
    caller: Caller,
) -> Result<Response, ApiError> {
    let user = caller.signed_in()?;
    let secret = match &caller.via {
        Via::Bearer(s) | Via::Cookie(s) => s,
        Via::Open | Via::Nothing => return Err(ApiError::Unauthenticated("sign in first".into())),
        Via::Proxy => {
            return Err(ApiError::Conflict(
                "signed in by the sign-in proxy: sign out there".into(),
            ));
        }
    };
    state.auth.logout(secret, client, user).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(response)
}

/// Who the caller is, their account and their role on each host they see.
#[utoipa::path(get, path = "/api/0/auth/me", tag = "auth",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn me(State(state): State<ApiState>, caller: Caller) -> Result<axum::Json<Me>, ApiError> {
    if caller.via != Via::Open {
        caller.signed_in()?;
    }
    Ok(axum::Json(me_of(&state, &caller).await?))
}

/// An API token (its secret is shown only when it is made).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Its id, to revoke it by.
    id: String,
    /// What its user called it.
    name: String,
    /// When it was made.
    created: String,
    /// When it was last used.
    last_used: String,
    /// When it stops working; `null`: never.
    expires_at: Option<String>,
    /// Only reads.
    read_only: bool,
    /// Only hosts matching these patterns or in `groups` (both empty: every host its
    /// user sees).
    hosts: Vec<String>,
    /// Only hosts in these groups, or matching `hosts`.
    groups: Vec<String>,
}

impl TokenView {
    fn new(g: &Grant) -> TokenView {
        let (name, scope) = match &g.kind {
            Kind::Token { name, scope } => (name.clone(), scope.clone()),
            Kind::Session => ("session".into(), Scope::default()),
        };
        TokenView {
            id: g.id.clone(),
            name,
            created: g.created.rfc3339(),
            last_used: g.last_seen.rfc3339(),
            expires_at: g.expires.map(Timestamp::rfc3339),
            read_only: scope.read_only,
            hosts: scope.hosts,
            groups: scope.groups,
        }
    }
}

/// A new token and its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewToken {
    /// The secret: `Authorization: Bearer TOKEN`. Shown this once; only its hash is
    /// kept.
    token: String,
    /// The token.
    #[serde(flatten)]
    about: TokenView,
}

/// `POST /api/0/auth/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// What it is for ("backup script").
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: String,
    /// Days until it stops working, 1 to 3650; absent: until revoked.
    #[schema(minimum = 1, maximum = 3650)]
    expires_in_days: Option<u32>,
    /// Only reads (`GET` and the live stream); default false.
    #[serde(default)]
    read_only: bool,
    /// Only hosts whose names match one of these patterns (`web*`), at most 64.
    #[serde(default)]
    #[schema(max_items = 64)]
    hosts: Vec<String>,
    /// Only hosts in these groups (`groups:` in the config), at most 64.
    #[serde(default)]
    #[schema(max_items = 64)]
    groups: Vec<String>,
}

/// The limits a token request asks for, checked: patterns that compile, groups the
/// config defines.
fn requested_scope(request: &TokenRequest, caller: &Caller) -> Result<Scope, ApiError> {
    if request.hosts.len() > 64 || request.groups.len() > 64 {
        return Err(ApiError::Unprocessable(
            "at most 64 host patterns and 64 groups".into(),
        ));
    }
    for pattern in &request.hosts {
        if pattern.trim().is_empty() {
            return Err(ApiError::Unprocessable("an empty host pattern".into()));
        }
        hbd_core::policy::silence::glob("hosts", pattern)
            .map_err(|e| ApiError::Unprocessable(format!("{pattern:?}: {e}")))?;
    }
    if let Some(unknown) = request
        .groups
        .iter()
        .find(|g| !caller.directory.has_group(g))
    {
        return Err(ApiError::Unprocessable(format!(
            "no group named {unknown:?} in the config"
        )));
    }
    Ok(Scope {
        read_only: request.read_only,
        hosts: request.hosts.clone(),
        groups: request.groups.clone(),
    })
}

/// The caller's API tokens, oldest first.
#[utoipa::path(get, path = "/api/0/auth/tokens", tag = "auth",
    responses(
        (status = 200, description = "The caller's tokens", body = Vec<TokenView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn tokens(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<axum::Json<Vec<TokenView>>, ApiError> {
    let user = caller.signed_in()?;
    Ok(axum::Json(
        state.auth.tokens(user).iter().map(TokenView::new).collect(),
    ))
}

/// Makes an API token for the caller.
#[utoipa::path(post, path = "/api/0/auth/tokens", tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 201, description = "The new token, with its secret shown once", body = NewToken),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Cookie request without its CSRF token or from another site", body = ErrorBody),
        (status = 422, description = "Bad name or expiry", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn create_token(
    State(state): State<ApiState>,
    caller: Caller,
    Body(request): Body<TokenRequest>,
) -> Result<(StatusCode, axum::Extension<Changed>, axum::Json<NewToken>), ApiError> {
    let user = caller.signed_in()?;
    caller.unlimited()?;
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::Unprocessable(
            "name must be 1 to 100 characters".into(),
        ));
    }
    let expires = match request.expires_in_days {
        None => None,
        Some(days @ 1..=3650) => {
            Some(Timestamp::now().plus(std::time::Duration::from_secs(u64::from(days) * 86_400)))
        }
        Some(other) => {
            return Err(ApiError::Unprocessable(format!(
                "expires_in_days must be 1 to 3650, not {other}"
            )));
        }
    };
    let scope = requested_scope(&request, &caller)?;
    let (secret, grant) = state.auth.issue_token(user, name, scope, expires).await?;
    // The audit log keeps what the token may do, never its secret.
    let changed = Changed::new(&(), &TokenView::new(&grant));
    Ok((
        StatusCode::CREATED,
        changed,
        axum::Json(NewToken {
            token: secret,
            about: TokenView::new(&grant),
        }),
    ))
}

/// Revokes one of the caller's tokens (or sessions) by id.
#[utoipa::path(delete, path = "/api/0/auth/tokens/{id}", tag = "auth",
    params(("id" = String, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Cookie request without its CSRF token or from another site", body = ErrorBody),
        (status = 404, description = "The caller has no token with this id", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn revoke_token(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(id): Segments<String>,
) -> Result<(StatusCode, axum::Extension<Changed>), ApiError> {
    let user = caller.signed_in()?;
    caller.unlimited()?;
    let before = state
        .auth
        .tokens(user)
        .iter()
        .find(|g| g.id == id)
        .map(TokenView::new);
    if state.auth.revoke(user, &id).await? {
        Ok((StatusCode::NO_CONTENT, Changed::new(&before, &())))
    } else {
        Err(ApiError::NotFound(format!(
            "you have no token with id {id:?}"
        )))
    }
}
