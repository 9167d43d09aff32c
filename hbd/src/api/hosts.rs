//! `GET /api/0/hosts` and `GET /api/0/hosts/{name}`.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;

use super::{ApiError, ApiState, ask};
use crate::clock::Timestamp;
use crate::core::{Command, Host, Outcome};
use crate::engine::Request;
use crate::samples::Latest;

/// A host as the API shows it.
#[derive(Debug, Serialize)]
pub struct HostView {
    name: String,
    state: &'static str,
    state_since: String,
    address: Option<String>,
    port: Option<u16>,
    first_seen: Option<String>,
    last_seen: Option<String>,
    seconds_since_last_seen: Option<f64>,
    interval_s: f64,
    last_rtt_ms: Option<f64>,
    version: Option<String>,
    boots: u64,
    uptime_s: Option<f64>,
    os_info: Option<serde_json::Value>,
}

impl HostView {
    fn new(h: Host, now: Timestamp, latest: &Latest) -> HostView {
        HostView {
            os_info: latest
                .get(&h.name, "os_info")
                .map(|s| serde_json::Value::Object(s.data.clone())),
            state: h.state.as_str(),
            state_since: h.state_since.rfc3339(),
            address: h.address.map(|a| a.ip().to_canonical().to_string()),
            port: h.address.map(|a| a.port()),
            first_seen: h.first_seen.map(Timestamp::rfc3339),
            last_seen: h.last_seen.map(Timestamp::rfc3339),
            seconds_since_last_seen: h.last_seen.map(|t| now.since(t).as_secs_f64()),
            interval_s: h.interval.as_secs_f64(),
            last_rtt_ms: h.last_rtt_ms,
            version: h.version,
            boots: h.boots,
            uptime_s: h.uptime_s,
            name: h.name,
        }
    }
}

/// Every host, sorted by name.
pub async fn list(State(state): State<ApiState>) -> Result<Json<Vec<HostView>>, ApiError> {
    let hosts = ask(&state, Request::Hosts).await?;
    let now = Timestamp::now();
    Ok(Json(
        hosts
            .into_iter()
            .map(|h| HostView::new(h, now, &state.latest))
            .collect(),
    ))
}

/// One host; 404 if unknown.
pub async fn one(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<HostView>, ApiError> {
    let host = ask(&state, |tx| Request::Host(name.clone(), tx)).await?;
    let host = host.ok_or_else(|| ApiError::NotFound(format!("no host named {name:?}")))?;
    Ok(Json(HostView::new(host, Timestamp::now(), &state.latest)))
}

/// `DELETE /api/0/hosts/{name}`: forgets the host, its samples and alerts.
pub async fn drop(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Outcome>, ApiError> {
    let command = Command::DropHost { host: name };
    let outcome = ask(&state, |tx| Request::Command(command, tx)).await??;
    Ok(Json(outcome))
}
