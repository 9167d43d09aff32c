//! `GET /api/0/hosts/{name}/plugins` (latest report of each plugin) and
//! `GET /api/0/hosts/{name}/plugins/{plugin}?limit=50` (history, newest first).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query as UrlQuery, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ApiError, ApiState, ask};
use crate::engine::Request;
use crate::store::StoredSample;

/// Default and largest `limit` of a history request.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest `limit` accepted.
pub const MAX_LIMIT: usize = 10_000;

/// One plugin's latest report.
#[derive(Debug, Serialize)]
pub struct LatestView {
    kind: hb_proto::PluginKind,
    status: Option<hb_proto::Status>,
    received: String,
    duration_ms: Option<f64>,
    data: Value,
}

/// The latest report of every plugin of a host.
#[derive(Debug, Serialize)]
pub struct HostPlugins {
    host: String,
    plugins: BTreeMap<String, LatestView>,
}

/// A plugin's history.
#[derive(Debug, Serialize)]
pub struct History {
    host: String,
    plugin: String,
    samples: Vec<StoredSample>,
}

/// `?limit=N`.
#[derive(Debug, Deserialize)]
pub struct Limit {
    limit: Option<String>,
}

async fn known_host(state: &ApiState, name: &str) -> Result<(), ApiError> {
    let host = ask(state, |tx| Request::Host(name.to_owned(), tx)).await?;
    host.map(|_| ())
        .ok_or_else(|| ApiError::NotFound(format!("no host named {name:?}")))
}

/// Latest report of each plugin; 404 for an unknown host.
pub async fn latest(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<HostPlugins>, ApiError> {
    known_host(&state, &name).await?;
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

/// History of one plugin, newest first; 404 for an unknown host or a plugin it never
/// reported, 400 for a bad `limit`.
pub async fn history(
    State(state): State<ApiState>,
    Path((name, plugin)): Path<(String, String)>,
    UrlQuery(query): UrlQuery<Limit>,
) -> Result<Json<History>, ApiError> {
    let limit = match query.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}, not {text:?}"
                ))
            })?,
    };
    known_host(&state, &name).await?;
    let reader = state.reader.clone();
    let (host, plug) = (name.clone(), plugin.clone());
    let samples = tokio::task::spawn_blocking(move || reader.history(&host, &plug, limit))
        .await
        .map_err(|e| ApiError::Store(e.to_string()))?
        .map_err(|e| ApiError::Store(e.to_string()))?;
    if samples.is_empty() {
        // Not yet in the store (written about once a second): answer from memory.
        match state.latest.get(&name, &plugin) {
            Some(s) => {
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
