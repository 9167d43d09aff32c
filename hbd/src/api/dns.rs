//! A host's DNS record: `GET /api/0/hosts/{name}/dns` shows it (name, address, whether
//! the last write worked and why not), `POST` writes it again now (managers, owners,
//! administrators).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::caller::Caller;
use super::error::ErrorBody;
use super::extract::Segments;
use super::hosts::find;
use super::view::Status;
use super::{ApiError, ApiState};
use crate::auth::roles::Action;
use crate::dns::worker::ForceError;

/// The host's DNS record and how its last write went.
#[utoipa::path(get, path = "/api/0/hosts/{name}/dns", tag = "dns",
    params(("name" = String, Path, description = "The host")),
    responses(
        (status = 200, description = "The record", body = Status),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such host, the caller holds no role on it, or it has no record (yet)", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn status(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<Json<Status>, ApiError> {
    find(&state, &caller, &name, Action::View).await?;
    state.dns.status(&name).map(|s| Json(s.into())).ok_or_else(|| {
        ApiError::NotFound(format!(
            "host {name:?} has no DNS record yet (dyndomains and hosts.NAME.dyndomain say which hosts get one; it is written when the host is first heard from)"
        ))
    })
}

/// Writes the host's DNS record again now, with its current address.
#[utoipa::path(post, path = "/api/0/hosts/{name}/dns", tag = "dns",
    params(("name" = String, Path, description = "The host")),
    responses(
        (status = 202, description = "The update is under way; GET shows how it went", body = Status),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only a monitor, or a cookie request without its CSRF token", body = ErrorBody),
        (status = 404, description = "No such host, or the caller holds no role on it", body = ErrorBody),
        (status = 409, description = "The host has no DNS record, or no address yet", body = ErrorBody),
        (status = 503, description = "The engine or the DNS task is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn trigger(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<(StatusCode, Json<Status>), ApiError> {
    let host = find(&state, &caller, &name, Action::TriggerDns).await?;
    let address = host.address.map(|a| a.ip());
    match state.dns.force(&name, address).await {
        Ok(status) => Ok((StatusCode::ACCEPTED, Json(status.into()))),
        Err(why @ (ForceError::Busy | ForceError::Stopped)) => {
            Err(ApiError::Unavailable(why.to_string()))
        }
        Err(why) => Err(ApiError::Conflict(why.to_string())),
    }
}
