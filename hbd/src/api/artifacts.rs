//! Signed plugin artifacts over HTTP. For people: `GET /api/0/artifacts` lists what
//! `artifacts_dir` offers and what it holds but does not offer, and
//! `GET /api/0/hosts/{name}/plugins/desired` says which artifacts a host should run (and
//! how its native collectors should run) and whether its agent runs them, and `GET /api/0/managed` sums up the fleet: how many
//! hosts run each version, and which hosts are behind or refused, with the reason.
//! For agents (PROTOCOL.md, "Managed plugins"): `GET /agent/{name}/plugins?nonce=N`
//! answers the same, signed with the host's key, and `GET /artifacts/{file}` serves an
//! artifact's files. Neither needs a login: the answer is only good to the holder of
//! the host's key, and the files are signed by their publisher.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Body as HttpBody;
use axum::extract::{Path, Query as UrlQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hb_artifact::desired::{Desired, DesiredPlugin, DesiredSet, TAG_HEADER, tag};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::ErrorBody;
use super::extract::Segments;
use super::hosts::find;
use super::{ApiError, ApiState};
use crate::auth::roles::Action;
use crate::catalogue::{Catalogue, Offered};
use crate::fleet::desired::set_for;

/// The catalogue of `artifacts_dir`, read off the runtime's threads; `None` when the
/// daemon offers no artifacts.
pub(super) async fn catalogue(state: &ApiState) -> Result<Option<Arc<Catalogue>>, ApiError> {
    let config = state.config.get();
    let Some(dir) = config.artifacts_dir.clone() else {
        return Ok(None);
    };
    let cached = state.artifacts.clone();
    let publishers = config.plugin_publishers.clone();
    tokio::task::spawn_blocking(move || cached.get(&dir, &publishers))
        .await
        .map_err(|e| ApiError::Unavailable(format!("artifacts: {e}")))?
        .map(Some)
        .map_err(|e| ApiError::Unavailable(format!("artifacts_dir: {e}")))
}

/// What `artifacts_dir` offers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Artifacts {
    /// Whether artifacts are offered (`artifacts_dir` set).
    enabled: bool,
    /// On offer, by name and version.
    offered: Vec<Offered>,
    /// Files there that are not offered, each with the reason.
    refused: Vec<String>,
}

/// The signed plugin artifacts on offer (any signed-in user).
#[utoipa::path(get, path = "/api/0/artifacts", tag = "plugins",
    responses(
        (status = 200, description = "The artifacts", body = Artifacts),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 503, description = "artifacts_dir cannot be read", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Artifacts>, ApiError> {
    caller.may(Action::View, None)?;
    Ok(Json(match catalogue(&state).await? {
        None => Artifacts {
            enabled: false,
            offered: Vec::new(),
            refused: Vec::new(),
        },
        Some(c) => Artifacts {
            enabled: true,
            offered: c.offered.values().cloned().collect(),
            refused: c.refused.clone(),
        },
    }))
}

/// The artifacts one host should run.
#[derive(Debug, Serialize, ToSchema)]
pub struct HostDesired {
    /// What the agent reports once it runs exactly these.
    digest: String,
    /// What its agent last reported it applied (its `managed_plugins` report); `null`
    /// when it never reported (it manages no plugins).
    applied: Option<String>,
    /// Whether `applied` is `digest`.
    in_sync: bool,
    /// The artifacts, by name, from the groups that hold the host.
    #[schema(value_type = Vec<Object>)]
    plugins: Vec<DesiredPlugin>,
    /// Its native collectors' settings from its groups, by collector name: `enabled`,
    /// `interval`, and `checks` for `nagios_runner`.
    #[schema(value_type = Object)]
    collectors: hb_artifact::collectors::Collectors,
    /// What its groups name but cannot be sent, with the reason.
    missing: Vec<String>,
}

/// The signed plugin artifacts a host should run, by its groups.
#[utoipa::path(get, path = "/api/0/hosts/{name}/plugins/desired", tag = "plugins",
    params(("name" = String, Path, description = "The host")),
    responses(
        (status = 200, description = "What it should run", body = HostDesired),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such host, or the caller holds no role on it", body = ErrorBody),
        (status = 503, description = "artifacts_dir cannot be read", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn for_host(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<Json<HostDesired>, ApiError> {
    find(&state, &caller, &name, Action::View).await?;
    let (set, missing) = desired(&state, &name).await?;
    let digest = set.digest();
    let applied = state
        .latest
        .get(&name, MANAGED_REPORT)
        .and_then(|s| s.data.get("digest")?.as_str().map(str::to_owned));
    Ok(Json(HostDesired {
        in_sync: applied.as_deref() == Some(digest.as_str()),
        applied,
        digest,
        plugins: set.plugins,
        collectors: set.collectors,
        missing,
    }))
}

/// The report agents send about their managed plugins.
const MANAGED_REPORT: &str = "managed_plugins";

/// A host whose agent does not run what it should, or refused something.
#[derive(Debug, Serialize, ToSchema)]
pub struct Behind {
    host: String,
    /// What it should run.
    desired: String,
    /// What it reported it applied.
    applied: Option<String>,
    /// Its report's status (`WARNING` when it refused something or cannot ask).
    status: Option<String>,
    /// Its report's message: what it refused and why.
    message: Option<String>,
    /// Each refusal: `artifact`, `reason`, `detail`.
    #[schema(value_type = Vec<Object>)]
    refused: Vec<serde_json::Value>,
    /// When its report arrived (RFC 3339).
    received: String,
}

/// The managed plugins across the fleet.
#[derive(Debug, Serialize, ToSchema)]
pub struct Fleet {
    /// By plugin, by version: how many hosts run it.
    versions: BTreeMap<String, BTreeMap<String, u64>>,
    /// Hosts that run exactly what they should.
    in_sync: u64,
    /// The others, with what they report.
    behind: Vec<Behind>,
}

/// How the managed plugins stand across every host the caller sees whose agent reports
/// them.
#[utoipa::path(get, path = "/api/0/managed", tag = "plugins",
    responses(
        (status = 200, description = "Versions run, and the hosts behind", body = Fleet),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn fleet(State(state): State<ApiState>, caller: Caller) -> Result<Json<Fleet>, ApiError> {
    caller.may(Action::View, None)?;
    let config = state.config.get();
    let plan = config.plugin_plan();
    let labels = state.auth.host_labels();
    let mut fleet = Fleet {
        versions: BTreeMap::new(),
        in_sync: 0,
        behind: Vec::new(),
    };
    for sample in state.latest.all() {
        if sample.plugin != MANAGED_REPORT || !caller.sees(&sample.host) {
            continue;
        }
        let text = |key: &str| {
            sample
                .data
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        if let Some(plugins) = sample.data.get("plugins").and_then(|p| p.as_object()) {
            for (name, about) in plugins {
                let version = about["version"].as_str().unwrap_or("?").to_owned();
                *fleet
                    .versions
                    .entry(name.clone())
                    .or_default()
                    .entry(version)
                    .or_default() += 1;
            }
        }
        let desired = plan.digest_for(&sample.host, labels.get(&sample.host).as_deref());
        let applied = text("digest");
        let ok = sample.status == Some(hb_proto::Status::Ok);
        if ok && applied.as_deref() == Some(desired.as_str()) {
            fleet.in_sync += 1;
            continue;
        }
        fleet.behind.push(Behind {
            host: sample.host.clone(),
            desired,
            applied,
            status: sample
                .status
                .and_then(|s| serde_json::to_value(s).ok())
                .and_then(|v| v.as_str().map(str::to_owned)),
            message: text("message"),
            refused: sample
                .data
                .get("refused")
                .and_then(|r| r.as_array())
                .cloned()
                .unwrap_or_default(),
            received: sample.received.rfc3339(),
        });
    }
    fleet.behind.sort_by(|a, b| a.host.cmp(&b.host));
    Ok(Json(fleet))
}

async fn desired(state: &ApiState, host: &str) -> Result<(DesiredSet, Vec<String>), ApiError> {
    let catalogue = catalogue(state).await?;
    let config = state.config.get();
    let labels = state.auth.host_labels().get(host);
    Ok(set_for(
        &config.plugin_plan(),
        host,
        labels.as_deref(),
        catalogue.as_deref(),
    ))
}

/// What `host` should run, from the plan alone: what an agent is told needs no look at
/// `artifacts_dir` (whether its files are still there is for people to see).
fn plan_for(state: &ApiState, host: &str) -> DesiredSet {
    let labels = state.auth.host_labels().get(host);
    state
        .config
        .get()
        .plugin_plan()
        .for_host(host, labels.as_deref())
}

/// The agent's question.
#[derive(Debug, Deserialize)]
pub struct Ask {
    nonce: String,
}

/// `GET /agent/{name}/plugins?nonce=N`: what the agent of host `name` should run,
/// signed with that host's key (the tag in `x-hbd-tag`, PROTOCOL.md). A host without
/// a key gets 409: what to run only travels signed.
pub async fn for_agent(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    UrlQuery(ask): UrlQuery<Ask>,
) -> Response {
    let fail = |status: StatusCode, text: String| (status, text + "\n").into_response();
    if !(8..=64).contains(&ask.nonce.len())
        || !ask
            .nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return fail(
            StatusCode::BAD_REQUEST,
            "nonce: 8 to 64 of A-Z a-z 0-9 - _".into(),
        );
    }
    let key = {
        let config = state.config.get();
        match config.key_for(&name) {
            Some((key, _)) => key.clone(),
            None => {
                return fail(
                    StatusCode::CONFLICT,
                    format!("{name} has no key: what to run only travels signed"),
                );
            }
        }
    };
    let set = plan_for(&state, &name);
    let answer = Desired {
        host: name,
        nonce: ask.nonce,
        digest: set.digest(),
        set,
    };
    // Invariant: the answer's types serialize (strings, numbers, UTF-8 paths).
    let body = serde_json::to_vec(&answer).unwrap_or_default();
    let mut response = Response::new(HttpBody::from(body.clone()));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = header::HeaderValue::from_str(&tag(&key, &body)) {
        headers.insert(TAG_HEADER, value);
    }
    response
}

/// `GET /artifacts/{file}`: one of an offered artifact's three files, streamed. Only
/// files of artifacts on offer are served, so nothing else in the directory is
/// reachable.
pub async fn download(State(state): State<ApiState>, Path(file): Path<String>) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "no such artifact file\n").into_response();
    let catalogue = match catalogue(&state).await {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(),
        Err(e) => return e.into_response(),
    };
    if file.contains('/') || !catalogue.serves(&file) {
        return not_found();
    }
    let Some(dir) = state.config.get().artifacts_dir.clone() else {
        return not_found();
    };
    super::download::stream(&dir.join(&file))
        .await
        .unwrap_or_else(not_found)
}
