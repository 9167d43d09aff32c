//! Who holds which role on a host: `GET`/`PUT /api/0/hosts/{name}/access` and
//! `POST /api/0/hosts/{name}/transfer`. Access the config declares is read-only here
//! (409 `config_managed`); what the API sets is kept in the store.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::Changed;
use super::caller::Caller;
use super::error::ErrorBody;
use super::extract::{Body, Segments};
use super::hosts::find;
use super::{ApiError, ApiState};
use crate::auth::directory::{AccessList, Source};
use crate::auth::roles::Action;

/// A host's access list.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessView {
    host: String,
    /// The owner (for hosts nobody declared: `default_owner`).
    owner: Option<String>,
    managers: Vec<String>,
    monitors: Vec<String>,
    /// `config` (read-only here), `store` (set through the API) or `default` (nobody
    /// declared it; `default_owner` owns the host).
    source: Source,
}

/// New managers and monitors (the owner changes by transfer).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessRequest {
    #[serde(default)]
    managers: Vec<String>,
    #[serde(default)]
    monitors: Vec<String>,
}

/// The new owner.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    owner: String,
}

fn view(caller_state: &ApiState, host: &str) -> AccessView {
    let directory = caller_state.auth.directory();
    let (access, source) = directory.access(host);
    AccessView {
        host: host.to_owned(),
        owner: access.owner.map(str::to_owned),
        managers: access.managers.to_vec(),
        monitors: access.monitors.to_vec(),
        source,
    }
}

/// Who holds which role on the host.
#[utoipa::path(get, path = "/api/0/hosts/{name}/access", tag = "access",
    params(("name" = String, Path, description = "The host")),
    responses(
        (status = 200, description = "The access list", body = AccessView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such host, or the caller holds no role on it", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<Json<AccessView>, ApiError> {
    find(&state, &caller, &name, Action::View).await?;
    Ok(Json(view(&state, &name)))
}

/// Sets the host's managers and monitors (owner or administrator).
#[utoipa::path(put, path = "/api/0/hosts/{name}/access", tag = "access",
    params(("name" = String, Path, description = "The host")),
    request_body = AccessRequest,
    responses(
        (status = 200, description = "The new access list", body = AccessView),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the owner, or a cookie request without its CSRF token", body = ErrorBody),
        (status = 404, description = "No such host, or the caller holds no role on it", body = ErrorBody),
        (status = 409, description = "The config declares this host's access: change the file", body = ErrorBody),
        (status = 422, description = "An unknown user", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn put(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
    Body(request): Body<AccessRequest>,
) -> Result<(axum::Extension<Changed>, Json<AccessView>), ApiError> {
    find(&state, &caller, &name, Action::EditAccess).await?;
    let before = view(&state, &name);
    let list = AccessList {
        owner: before.owner.clone(),
        managers: request.managers,
        monitors: request.monitors,
    };
    state.auth.set_access(&name, list).await?;
    tracing::info!(host = name, by = caller.user.as_deref(), "access changed");
    let after = view(&state, &name);
    Ok((Changed::new(&before, &after), Json(after)))
}

/// Gives the host to another owner (owner or administrator). The old owner keeps no
/// role unless listed as a manager or monitor.
#[utoipa::path(post, path = "/api/0/hosts/{name}/transfer", tag = "access",
    params(("name" = String, Path, description = "The host")),
    request_body = TransferRequest,
    responses(
        (status = 200, description = "The new access list", body = AccessView),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the owner, or a cookie request without its CSRF token", body = ErrorBody),
        (status = 404, description = "No such host, or the caller holds no role on it", body = ErrorBody),
        (status = 409, description = "The config declares this host's access: change the file", body = ErrorBody),
        (status = 422, description = "An unknown user", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn transfer(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
    Body(request): Body<TransferRequest>,
) -> Result<(axum::Extension<Changed>, Json<AccessView>), ApiError> {
    find(&state, &caller, &name, Action::TransferOwnership).await?;
    // `set_access` refuses access the config declares (409).
    let before = view(&state, &name);
    let list = AccessList {
        owner: Some(request.owner.clone()),
        managers: before
            .managers
            .iter()
            .filter(|u| **u != request.owner)
            .cloned()
            .collect(),
        monitors: before
            .monitors
            .iter()
            .filter(|u| **u != request.owner)
            .cloned()
            .collect(),
    };
    state.auth.set_access(&name, list).await?;
    tracing::info!(
        host = name,
        owner = request.owner,
        by = caller.user.as_deref(),
        "ownership transferred"
    );
    let after = view(&state, &name);
    Ok((Changed::new(&before, &after), Json(after)))
}
