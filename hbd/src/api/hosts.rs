//! `GET /api/0/hosts` (filtered, paged), `GET /api/0/hosts/{name}` and
//! `DELETE /api/0/hosts/{name}`. A host the caller holds no role on is left out of
//! lists and answers 404 like one that does not exist.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use super::error::ErrorBody;
use super::extract::{Params, Segments, whole_number};
use super::view::Outcome;
use super::{ApiError, ApiState, ask};
use crate::auth::roles::Action;
use crate::clock::Timestamp;
use crate::core::{Command, Host, HostState};
use crate::engine::{HostFilter, HostQuery, Query};
use crate::samples::Latest;

/// Hosts per page unless `limit` says otherwise.
pub const DEFAULT_PAGE: usize = 500;
/// Largest `limit`: the whole of a large installation in one answer.
pub const MAX_PAGE: usize = 10_000;
/// Hosts copied out of the engine per step.
pub const CHUNK: usize = 500;

/// A host as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct HostView {
    name: String,
    /// `UP`, `DOWN`, `UNREACHABLE` (silent while a parent is down) or `UNKNOWN`
    /// (configured, never heard from).
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
    /// The agent's platform (`x86_64-linux`), from its heartbeats since the daemon
    /// started.
    arch: Option<String>,
    boots: u64,
    uptime_s: Option<f64>,
    /// The labels its agent declares (`labels:` in the agent's config).
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<std::collections::BTreeMap<String, String>>,
    /// What commands its agent runs (the programs `commands.allow` lists, whether it
    /// takes upgrades), from its heartbeats since the daemon started.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    accepts: Option<hb_proto::Accepts>,
    /// In `GET /api/0/hosts/{name}` only: the host groups that hold it (by name
    /// pattern or by its labels), in name order.
    #[serde(skip_serializing_if = "Option::is_none")]
    groups: Option<Vec<String>>,
    /// The latest `os_info` plugin report.
    #[schema(value_type = Option<Object>)]
    os_info: Option<serde_json::Value>,
    /// In `GET /api/0/hosts/{name}` only: what the caller may do to the host beyond
    /// seeing it (`clear_alert`, `queue_command`, `trigger_dns`, `queue_upgrade`, `manage_plugins`,
    /// `drop_host`, `transfer_ownership`, `edit_access`).
    #[serde(skip_serializing_if = "Option::is_none")]
    may: Option<Vec<&'static str>>,
    /// In `GET /api/0/hosts/{name}` only: whether the host has a key, without which no
    /// command can reach it (they travel only signed).
    #[serde(skip_serializing_if = "Option::is_none")]
    signed: Option<bool>,
    /// In `GET /api/0/hosts/{name}` only: its DNS record, if it has one (as
    /// `GET /api/0/hosts/{name}/dns`).
    #[serde(skip_serializing_if = "Option::is_none")]
    dns: Option<super::view::Status>,
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
            version: h.version.as_deref().map(str::to_owned),
            arch: h.arch.as_deref().map(str::to_owned),
            boots: h.boots,
            uptime_s: h.uptime_s,
            labels: h.labels.as_deref().cloned(),
            accepts: h.accepts.as_deref().cloned(),
            groups: None,
            name: h.name,
            may: None,
            signed: None,
            dns: None,
        }
    }
}

/// Filters and paging of the host list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only hosts in these states: comma-separated `up`, `down`, `unknown`.
    state: Option<String>,
    /// Only hosts whose name contains this text (case-insensitive).
    name: Option<String>,
    /// Matching hosts to skip (default 0).
    #[param(value_type = Option<u64>, minimum = 0)]
    offset: Option<String>,
    /// Hosts per page, 1 to 10000 (default 500).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    limit: Option<String>,
}

/// One page of hosts.
#[derive(Debug, Serialize, ToSchema)]
pub struct HostPage {
    /// Hosts that match the filters (all pages).
    total: usize,
    offset: usize,
    limit: usize,
    /// This page, by name.
    hosts: Vec<HostView>,
}

fn states(text: Option<&str>) -> Result<Option<Vec<HostState>>, ApiError> {
    let Some(text) = text else { return Ok(None) };
    text.split(',')
        .map(|s| {
            HostState::ALL
                .into_iter()
                .find(|state| state.as_str().eq_ignore_ascii_case(s.trim()))
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "state {s:?}: expected up, down, unreachable or unknown (comma-separated)"
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The hosts the caller sees, by name, filtered and paged.
#[utoipa::path(get, path = "/api/0/hosts", tag = "hosts",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of hosts", body = HostPage),
        (status = 400, description = "A bad filter or paging value", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Params(query): Params<ListQuery>,
) -> Result<Response, ApiError> {
    caller.may(Action::View, None)?;
    let offset = whole_number("offset", query.offset.as_deref(), 0, 0..=usize::MAX)?;
    let limit = whole_number("limit", query.limit.as_deref(), DEFAULT_PAGE, 1..=MAX_PAGE)?;
    let wanted_states = states(query.state.as_deref())?;
    let name = query.name.map(|n| n.to_lowercase());
    let sees_all = caller.sees_all();
    let filter: Option<HostFilter> = if sees_all && wanted_states.is_none() && name.is_none() {
        None
    } else {
        Some(Arc::new(move |h: &Host| {
            wanted_states.as_ref().is_none_or(|s| s.contains(&h.state))
                && name
                    .as_ref()
                    .is_none_or(|n| h.name.to_lowercase().contains(n.as_str()))
                && (sees_all || caller.sees(&h.name))
        }))
    };
    // In chunks: each is one short engine step, and heartbeats are handled between.
    let mut hosts: Vec<Host> = Vec::new();
    let mut total = 0;
    loop {
        let query = HostQuery {
            filter: filter.clone(),
            after: hosts.last().map(|h| h.name.clone()),
            offset: if hosts.is_empty() { offset } else { 0 },
            limit: (limit - hosts.len()).min(CHUNK),
            count: hosts.is_empty(),
        };
        let first = hosts.is_empty();
        let (n, chunk) = ask(&state, |tx| Query::HostPage(query, tx)).await?;
        if first {
            total = n;
        }
        let short = chunk.len() < CHUNK;
        hosts.extend(chunk);
        if short || hosts.len() >= limit {
            break;
        }
    }
    // Rendering 10,000 hosts takes milliseconds: off the async workers, which also run
    // the engine and the receiver.
    let latest = state.latest.clone();
    let body = tokio::task::spawn_blocking(move || {
        let now = Timestamp::now();
        serde_json::to_vec(&HostPage {
            total,
            offset,
            limit,
            hosts: hosts
                .into_iter()
                .map(|h| HostView::new(h, now, &latest))
                .collect(),
        })
    })
    .await
    .map_err(|e| ApiError::Unavailable(format!("rendering the host list failed: {e}")))?
    .map_err(|e| ApiError::Unavailable(format!("rendering the host list failed: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The host `name` if it exists and the caller may do `action` on it; else the one 404.
pub async fn find(
    state: &ApiState,
    caller: &Caller,
    name: &str,
    action: Action,
) -> Result<Host, ApiError> {
    caller.may(action, Some(name))?;
    ask(state, |tx| Query::Host(name.to_owned(), tx))
        .await?
        .ok_or_else(|| ApiError::no_host(name))
}

/// One host.
#[utoipa::path(get, path = "/api/0/hosts/{name}", tag = "hosts",
    params(("name" = String, Path, description = "The host")),
    responses(
        (status = 200, description = "The host", body = HostView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such host, or the caller holds no role on it", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn one(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<Json<HostView>, ApiError> {
    let host = find(&state, &caller, &name, Action::View).await?;
    let mut view = HostView::new(host, Timestamp::now(), &state.latest);
    view.may = Some(caller.allowed_on(&name));
    let config = state.config.get();
    view.signed = Some(config.host_has_key(&name));
    view.groups = Some(config.groups_of(&name, view.labels.as_ref()));
    view.dns = state.dns.status(&name).map(Into::into);
    Ok(Json(view))
}

/// Forgets the host, its samples, alerts and stored access (owner or administrator).
#[utoipa::path(delete, path = "/api/0/hosts/{name}", tag = "hosts",
    params(("name" = String, Path, description = "The host")),
    responses(
        (status = 200, description = "Dropped", body = Outcome),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the owner, or a cookie request without its CSRF token", body = ErrorBody),
        (status = 404, description = "No such host, or the caller holds no role on it", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn drop(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<(axum::Extension<super::audit::Changed>, Json<Outcome>), ApiError> {
    caller.may(Action::DropHost, Some(&name))?;
    // What the audit log keeps of the host it forgets.
    let before = ask(&state, |tx| Query::Host(name.clone(), tx))
        .await?
        .map(|h| HostView::new(h, Timestamp::now(), &state.latest));
    let command = Command::DropHost { host: name.clone() };
    let outcome = ask(&state, |tx| Query::Command(command, tx)).await??;
    state.auth.forget_host(&name).await?;
    Ok((
        super::audit::Changed::new(&before, &()),
        Json(outcome.into()),
    ))
}
