//! `GET /api/0/hosts/{name}/history?limit=100&before=ID&path=P`: what happened to a
//! host, newest first: its events and every alert notice with the text sent (one
//! alert's raises, reminders and recovery with `path`); `GET /api/0/events`: the latest
//! host events across the hosts the caller sees.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use super::error::ErrorBody;
use super::extract::{Params, Segments, whole_number};
use super::hosts::find;
use super::{ApiError, ApiState};
use crate::auth::roles::Action;
use crate::store::{HostEntry, StoredEntry};

/// Entries per page at most.
pub const MAX_LIMIT: usize = 1000;

/// Which entries.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Entries at most, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// Only entries older than this one (the `id` of the last entry of the page before).
    #[param(value_type = Option<i64>)]
    before: Option<String>,
    /// Only the notices of this alert path (`cpu_monitor.cpu_percent`).
    path: Option<String>,
}

/// A page of a host's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HostHistory {
    host: String,
    /// Newest first: `{"id", "at", "event": "DOWN", ...}` for host events,
    /// `{"id", "at", "alert": "raised", "path", "from", "to", "value", "text", ...}` for
    /// alert notices.
    entries: Vec<StoredEntry>,
}

/// A host's events and alert notices, newest first.
#[utoipa::path(get, path = "/api/0/hosts/{name}/history", tag = "hosts",
    params(("name" = String, Path, description = "The host"), HistoryQuery),
    responses(
        (status = 200, description = "The history", body = HostHistory),
        (status = 400, description = "A bad limit or `before`", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such host, or the caller holds no role on it", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn history(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
    Params(query): Params<HistoryQuery>,
) -> Result<Json<HostHistory>, ApiError> {
    let limit = whole_number("limit", query.limit.as_deref(), 100, 1..=MAX_LIMIT)?;
    let before = match query.before.as_deref() {
        None => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            ApiError::BadRequest(format!("before must be an entry id, not {text:?}"))
        })?),
    };
    find(&state, &caller, &name, Action::View).await?;
    let reader = state.reader.clone();
    let (host, path) = (name.clone(), query.path);
    let entries = tokio::task::spawn_blocking(move || {
        reader.host_history(&host, path.as_deref(), before, limit)
    })
    .await
    .map_err(|e| ApiError::Store(e.to_string()))?
    .map_err(|e| ApiError::Store(e.to_string()))?;
    Ok(Json(HostHistory {
        host: name,
        entries,
    }))
}

/// How many recent events.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Events at most, 1 to 1000 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// `true`: alert changes too (raised, lowered, recovered; not reminders).
    #[param(value_type = Option<bool>)]
    alerts: Option<String>,
}

/// The latest host events across hosts.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecentEvents {
    /// Newest first: `{"id", "at", "host", "event": "DOWN", ...}`, only of hosts the
    /// caller sees.
    events: Vec<HostEntry>,
}

/// The latest host events (new host, UP, DOWN, UNREACHABLE, boot, message, address
/// change) of every host the caller sees, newest first: what `/live`'s Events pane
/// opens with. Stored with the next store batch, about a second after they happen.
#[utoipa::path(get, path = "/api/0/events", tag = "hosts",
    params(EventsQuery),
    responses(
        (status = 200, description = "The latest events", body = RecentEvents),
        (status = 400, description = "A bad limit", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn recent(
    State(state): State<ApiState>,
    caller: Caller,
    Params(query): Params<EventsQuery>,
) -> Result<Json<RecentEvents>, ApiError> {
    caller.may(Action::View, None)?;
    let limit = whole_number("limit", query.limit.as_deref(), 50, 1..=MAX_LIMIT)?;
    let alerts = match query.alerts.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "alerts: expected true or false, found {other:?}"
            )));
        }
    };
    let reader = state.reader.clone();
    let events = tokio::task::spawn_blocking(move || {
        reader.recent_events(limit, alerts, |host| caller.sees(host))
    })
    .await
    .map_err(|e| ApiError::Store(e.to_string()))?
    .map_err(|e| ApiError::Store(e.to_string()))?;
    Ok(Json(RecentEvents { events }))
}
