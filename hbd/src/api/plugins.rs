//! `GET /api/0/hosts/{name}/plugins` (latest report of each plugin) and
//! `GET /api/0/hosts/{name}/plugins/{plugin}?limit=50&since=...&until=...` (history,
//! newest first, optionally within a time range).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use super::error::ErrorBody;
use super::extract::{Params, Segments, whole_number};
use super::hosts::find;
use super::{ApiError, ApiState};
use crate::auth::roles::Action;
use crate::clock::Timestamp;
use crate::store::StoredSample;

/// Default and largest `limit` of a history request.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest `limit` accepted.
pub const MAX_LIMIT: usize = 10_000;

/// One plugin's latest report.
#[derive(Debug, Serialize, ToSchema)]
pub struct LatestView {
    /// `monitor` or `info`.
    #[schema(value_type = String)]
    kind: hb_proto::PluginKind,
    /// OK, WARNING, CRITICAL or UNKNOWN.
    #[schema(value_type = Option<String>)]
    status: Option<hb_proto::Status>,
    received: String,
    duration_ms: Option<f64>,
    #[schema(value_type = Object)]
    data: Value,
}

/// The latest report of every plugin of a host.
#[derive(Debug, Serialize, ToSchema)]
pub struct HostPlugins {
    host: String,
    plugins: BTreeMap<String, LatestView>,
}

/// A plugin's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    host: String,
    plugin: String,
    /// Newest first.
    samples: Vec<StoredSample>,
}

/// How much history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Samples at most, 1 to 10000 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    limit: Option<String>,
    /// Only samples received at or after this time (RFC 3339, or Unix seconds).
    since: Option<String>,
    /// Only samples received at or before this time (RFC 3339, or Unix seconds).
    until: Option<String>,
}

pub(super) fn time(what: &str, text: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    let Some(text) = text else { return Ok(None) };
    if let Ok(secs) = text.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Ok(Some(Timestamp::from_secs_f64(secs)));
    }
    humantime::parse_rfc3339_weak(text)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| Some(Timestamp(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{what} must be an RFC 3339 time (2026-11-27T10:00:00Z) or Unix seconds, not {text:?}"
            ))
        })
}

/// The latest report of each plugin of the host.
#[utoipa::path(get, path = "/api/0/hosts/{name}/plugins", tag = "plugins",
    params(("name" = String, Path, description = "The host")),
    responses(
        (status = 200, description = "Latest report of each plugin", body = HostPlugins),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such host, or the caller holds no role on it", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn latest(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<Json<HostPlugins>, ApiError> {
    find(&state, &caller, &name, Action::View).await?;
    let plugins = state
        .latest
        .for_host(&name)
        .into_iter()
        .map(|(plugin, s)| {
            let view = LatestView {
                kind: s.kind,
                status: s.status,
                received: s.received.rfc3339(),
                duration_ms: s.duration_ms,
                data: Value::Object(s.data.clone()),
            };
            (plugin, view)
        })
        .collect();
    Ok(Json(HostPlugins {
        host: name,
        plugins,
    }))
}

/// History of one plugin, newest first, optionally within a time range.
#[utoipa::path(get, path = "/api/0/hosts/{name}/plugins/{plugin}", tag = "plugins",
    params(
        ("name" = String, Path, description = "The host"),
        ("plugin" = String, Path, description = "The plugin"),
        HistoryQuery,
    ),
    responses(
        (status = 200, description = "The plugin's history", body = History),
        (status = 400, description = "A bad limit or time", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such host or plugin, or the caller holds no role on the host", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn history(
    State(state): State<ApiState>,
    caller: Caller,
    Segments((name, plugin)): Segments<(String, String)>,
    Params(query): Params<HistoryQuery>,
) -> Result<Json<History>, ApiError> {
    let limit = whole_number(
        "limit",
        query.limit.as_deref(),
        DEFAULT_LIMIT,
        1..=MAX_LIMIT,
    )?;
    let range = (
        time("since", query.since.as_deref())?,
        time("until", query.until.as_deref())?,
    );
    find(&state, &caller, &name, Action::View).await?;
    let reader = state.reader.clone();
    let (host, plug) = (name.clone(), plugin.clone());
    let samples = tokio::task::spawn_blocking(move || reader.history(&host, &plug, limit, range))
        .await
        .map_err(|e| ApiError::Store(e.to_string()))?
        .map_err(|e| ApiError::Store(e.to_string()))?;
    if samples.is_empty() {
        // Not yet in the store (written about once a second): answer from memory.
        let in_range =
            |t: Timestamp| range.0.is_none_or(|a| t >= a) && range.1.is_none_or(|b| t <= b);
        match state.latest.get(&name, &plugin) {
            Some(s) if in_range(s.received) => {
                let one = StoredSample {
                    received: s.received.rfc3339(),
                    status: s.status,
                    duration_ms: s.duration_ms,
                    data: s.data.clone(),
                };
                return Ok(Json(History {
                    host: name,
                    plugin,
                    samples: vec![one],
                }));
            }
            Some(_) => {}
            None => {
                return Err(ApiError::NotFound(format!(
                    "host {name:?} has no reports from plugin {plugin:?}"
                )));
            }
        }
    }
    Ok(Json(History {
        host: name,
        plugin,
        samples,
    }))
}
