//! The audit log at the door, and reading it. Every state-changing request to a
//! documented API operation (`POST`, `PUT`, `PATCH`, `DELETE`), refused or not, and
//! every sign-in through the pages' form, leaves one entry: who (identified before the handler runs, so a sign-out still names its
//! user), when, from where, which operation on which host, the answer's status and the
//! request's body with passwords and secrets masked. It is written to the store before
//! the answer goes out, and to the journal (`"ID":"AUDIT"`). Administrators read all
//! of it (`GET /api/0/audit`); a host's managers read the entries about it
//! (`GET /api/0/hosts/{name}/audit`).

use std::net::SocketAddr;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, RawPathParams, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::{Caller, presented};
use super::error::ErrorBody;
use super::extract::{Params, Segments, whole_number};
use super::{ApiError, ApiState};
use crate::auth::roles::Action;
use crate::clock::Timestamp;
use crate::journal::Entry;
use crate::store::audit::{Asked, AuditEntry, AuditFilter, Audited};

/// What a change made of what it changed, as its handler saw it: the audit entry keeps
/// both. A handler answers `(Changed::new(before, after), Json(...))`; the layer takes
/// it out of the answer's extensions.
#[derive(Debug, Clone)]
pub struct Changed {
    before: serde_json::Value,
    after: serde_json::Value,
}

impl Changed {
    /// The thing before and after (each serialized; secrets must not be in either).
    pub fn new(before: &impl Serialize, after: &impl Serialize) -> axum::Extension<Changed> {
        axum::Extension(Changed {
            before: serde_json::to_value(before).unwrap_or(serde_json::Value::Null),
            after: serde_json::to_value(after).unwrap_or(serde_json::Value::Null),
        })
    }
}

/// Largest request body kept in an entry (a bigger one is recorded by its size).
const MAX_KEPT: usize = 64 * 1024;

/// Keys whose values are never kept: passwords, secrets, tokens, keys.
fn secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "token", "key"]
        .iter()
        .any(|s| key.contains(s))
}

/// `value` with every secret's value replaced by `***`.
fn masked(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| {
                let v = if secret_key(&k) {
                    serde_json::Value::String("***".into())
                } else {
                    masked(v)
                };
                (k, v)
            })
            .collect(),
        serde_json::Value::Array(items) => items.into_iter().map(masked).collect(),
        other => other,
    }
}

/// What kind of change an operation is: its path's last word that is not a
/// parameter (`/api/0/hosts/{name}/silence` -> `silence`), the host itself for
/// `/api/0/hosts/{name}` (`host`).
fn kind_of(operation: &str) -> String {
    let words: Vec<&str> = operation
        .trim_start_matches("/api/0/")
        .split('/')
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() == 2 && words[0] == "hosts" && words[1].starts_with('{') {
        return "host".into();
    }
    words
        .iter()
        .rev()
        .find(|w| !w.starts_with('{'))
        .map_or_else(|| "api".to_owned(), |w| (*w).to_owned())
}

/// The host a request is about: the `{name}` of `/api/0/hosts/{name}/...`, or a
/// `{host}` parameter, from the path's decoded parameters.
fn host_of<'p>(
    operation: &str,
    params: impl IntoIterator<Item = (&'p str, &'p str)>,
) -> Option<String> {
    let under_hosts = operation.starts_with("/api/0/hosts/{name}");
    params
        .into_iter()
        .find(|(k, _)| *k == "host" || (under_hosts && *k == "name"))
        .map(|(_, v)| v.to_owned())
}

/// Who is asking, found before the handler runs: a live session or token's user, the
/// sign-in proxy's user, the name a sign-in gives, `(open)` without users, else
/// `(anonymous)`.
fn who(request: &Request, state: &ApiState, body: &serde_json::Value) -> String {
    let directory = state.auth.directory();
    if directory.is_open() {
        return "(open)".into();
    }
    let headers = request.headers();
    if let Some(secret) = presented(headers)
        && let Some(grant) = state.auth.check(secret)
    {
        return grant.user;
    }
    let config = state.config.get();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(user) = config
        .auth_proxy
        .as_ref()
        .and_then(|p| p.user(headers, peer))
    {
        return user.to_owned();
    }
    let signing_in = matches!(request.uri().path(), "/api/0/auth/login" | "/login");
    match body.get("username").and_then(serde_json::Value::as_str) {
        Some(name) if signing_in => name.to_owned(),
        _ => "(anonymous)".into(),
    }
}

/// The middleware: state-changing requests are recorded once answered.
pub async fn record(
    State(state): State<ApiState>,
    matched: Option<MatchedPath>,
    params: Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let Some(operation) = matched.map(|m| m.as_str().to_owned()) else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    // Bodies the API takes are small (its extractors refuse more than this anyway).
    let bytes = match axum::body::to_bytes(body, 4 * 1024 * 1024).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::BadRequest("the request body could not be read".into())
                .into_response();
        }
    };
    let form = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let json: serde_json::Value = if bytes.is_empty() {
        serde_json::Value::Null
    } else if bytes.len() > MAX_KEPT {
        serde_json::json!({ "bytes": bytes.len() })
    } else if form {
        // The pages' sign-in form.
        masked(
            url::form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        )
    } else {
        serde_json::from_slice(&bytes)
            .map_or_else(|_| serde_json::json!({ "bytes": bytes.len() }), masked)
    };
    let request = Request::from_parts(parts, Body::from(bytes));
    let user = who(&request, &state, &json);
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(String::new, |c| c.0.ip().to_canonical().to_string());
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let changed = response.extensions().get::<Changed>().cloned();
    let entry = Audited {
        at: Timestamp::now(),
        asked: Asked {
            user,
            address,
            kind: kind_of(&operation),
            method,
            host: host_of(&operation, params.iter().flat_map(|p| p.iter())),
            operation,
            path,
            status: response.status().as_u16(),
            request: json,
            before: changed.as_ref().map(|c| c.before.clone()),
            after: changed.map(|c| c.after),
        },
    };
    write(&state, entry).await;
    response
}

/// Keeps one entry in the store's log and the journal (also for what is recorded
/// outside this layer: single sign-on's callback, SIGHUP reloads).
pub async fn write(state: &ApiState, entry: Audited) {
    if let Some(log) = state.audit.clone() {
        let kept = entry.clone();
        let written = tokio::task::spawn_blocking(move || log.record(&kept)).await;
        if !matches!(written, Ok(Ok(()))) {
            // The change itself is done: it is answered, and the journal still has it.
            tracing::error!(operation = %entry.asked.operation, user = %entry.asked.user, "the audit log could not be written");
            state.metrics.store_errors.inc();
        }
    }
    state.auth.journal_entry(Entry::Audit(Box::new(entry)));
}

/// Which entries.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this user's.
    user: Option<String>,
    /// Only about this host.
    host: Option<String>,
    /// Only of this kind (`silence`, `login`, ...).
    kind: Option<String>,
    /// Only at or after this time (RFC 3339).
    since: Option<String>,
    /// Only before this time (RFC 3339).
    until: Option<String>,
    /// Entries at most, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// Only entries older than this one (the `id` of the last of the page before).
    #[param(value_type = Option<i64>)]
    before: Option<String>,
}

/// A page of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Newest first.
    entries: Vec<AuditEntry>,
}

fn time(name: &str, text: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    text.map(|t| {
        humantime::parse_rfc3339_weak(t)
            .ok()
            .and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| Timestamp::from_secs_f64(d.as_secs_f64()))
            .ok_or_else(|| {
                ApiError::BadRequest(format!("{name}: expected an RFC 3339 time, not {t:?}"))
            })
    })
    .transpose()
}

async fn read(
    state: &ApiState,
    query: AuditQuery,
    host: Option<String>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = whole_number("limit", query.limit.as_deref(), 100, 1..=1000)?;
    let before = query
        .before
        .as_deref()
        .map(|t| {
            t.parse::<i64>()
                .map_err(|_| ApiError::BadRequest(format!("before must be an entry id, not {t:?}")))
        })
        .transpose()?;
    let filter = AuditFilter {
        user: query.user,
        host: host.or(query.host),
        kind: query.kind,
        since: time("since", query.since.as_deref())?,
        until: time("until", query.until.as_deref())?,
        before,
    };
    let log = state
        .audit
        .clone()
        .ok_or_else(|| ApiError::Unavailable("no audit log in this daemon".into()))?;
    let entries = tokio::task::spawn_blocking(move || log.read(&filter, limit))
        .await
        .map_err(|e| ApiError::Store(e.to_string()))??;
    Ok(Json(AuditPage { entries }))
}

/// The audit log, newest first (administrators).
#[utoipa::path(get, path = "/api/0/audit", tag = "users",
    params(AuditQuery),
    responses(
        (status = 200, description = "Entries, newest first", body = AuditPage),
        (status = 400, description = "A malformed filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Params(query): Params<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    caller.may(Action::ManageUsers, None)?;
    read(&state, query, None).await
}

/// The audit log's entries about one host, newest first (its managers and owner).
#[utoipa::path(get, path = "/api/0/hosts/{name}/audit", tag = "hosts",
    params(("name" = String, Path, description = "The host"), AuditQuery),
    responses(
        (status = 200, description = "Entries about the host, newest first", body = AuditPage),
        (status = 400, description = "A malformed filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "A monitor of the host", body = ErrorBody),
        (status = 404, description = "No such host, or not one the caller may see", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn for_host(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
    Params(query): Params<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    caller.may(Action::QueueCommand, Some(&name))?;
    read(&state, query, Some(name)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_hosts_and_masked_secrets() {
        for (operation, params, kind, host) in [
            (
                "/api/0/hosts/{name}/silence",
                vec![("name", "web 1")],
                "silence",
                Some("web 1"),
            ),
            (
                "/api/0/hosts/{name}",
                vec![("name", "db1")],
                "host",
                Some("db1"),
            ),
            ("/api/0/auth/login", vec![], "login", None),
            ("/api/0/users/{name}", vec![("name", "bob")], "users", None),
            (
                "/api/0/enrolment/keys/{host}/{action}",
                vec![("host", "web2"), ("action", "revoke")],
                "keys",
                Some("web2"),
            ),
        ] {
            assert_eq!(kind_of(operation), kind, "{operation}");
            assert_eq!(host_of(operation, params).as_deref(), host, "{operation}");
        }
        let body = serde_json::json!({
            "username": "ada", "password": "hunter2",
            "nested": [{"current_password": "x", "api_token": "y", "note": "kept"}],
            "key_id": "k"
        });
        assert_eq!(
            masked(body),
            serde_json::json!({
                "username": "ada", "password": "***",
                "nested": [{"current_password": "***", "api_token": "***", "note": "kept"}],
                "key_id": "***"
            })
        );
    }
}
