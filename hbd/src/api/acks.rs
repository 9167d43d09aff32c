//! Acknowledgements: `POST` and `DELETE /api/0/hosts/{name}/ack` (managers and up) put
//! one on a problem of the host (an alert path that is not OK, or the host DOWN or
//! UNREACHABLE) or take it back; `GET /api/0/acks` lists those in force on the hosts the
//! caller sees. An acknowledged problem's reminders stop until its state changes.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::audit::Changed;
use super::caller::Caller;
use super::error::ErrorBody;
use super::extract::{Body, Params, Segments};
use super::hosts::find;
use super::view::{Ack, Outcome};
use super::{ApiError, ApiState, ask};
use crate::auth::roles::Action;
use crate::clock::Timestamp;
use crate::core::Command;
use crate::engine::Query;

/// Longest comment kept.
pub const MAX_COMMENT: usize = 1000;

/// What to acknowledge, and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAck {
    /// The alert path (`cpu_monitor.cpu_percent`); absent: the host itself (DOWN or
    /// UNREACHABLE).
    #[serde(default)]
    path: Option<String>,
    /// What is being done about it (required, at most 1,000 characters).
    comment: String,
    /// How long it holds at most: seconds or `2h`; absent: until the state changes.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    duration: Option<serde_json::Value>,
}

/// Which acknowledgement to take back.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AckPath {
    /// The alert path; absent: the host's own.
    #[serde(default)]
    path: Option<String>,
}

/// An acknowledgement in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct AckView {
    /// The host.
    host: String,
    /// The alert path; absent for the host itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    /// Who, when, why, until when.
    #[serde(flatten)]
    ack: Ack,
}

/// Acknowledges a problem of the host: its reminders stop until its state changes (a
/// new level, a recovery, the host back UP) or `duration` passes.
#[utoipa::path(post, path = "/api/0/hosts/{name}/ack", tag = "alerts",
    params(("name" = String, Path, description = "The host")),
    request_body = NewAck,
    responses(
        (status = 200, description = "Acknowledged", body = Outcome),
        (status = 400, description = "No comment, or a bad duration", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only a monitor, or a cookie request without its CSRF token", body = ErrorBody),
        (status = 404, description = "No such host or alert path, or the caller holds no role on it", body = ErrorBody),
        (status = 409, description = "It is no problem now (OK, or the host UP)", body = ErrorBody),
        (status = 422, description = "Unknown fields or wrong types", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn put(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
    Body(new): Body<NewAck>,
) -> Result<(axum::Extension<Changed>, Json<Outcome>), ApiError> {
    find(&state, &caller, &name, Action::Acknowledge).await?;
    let comment = new.comment.trim().to_owned();
    if comment.is_empty() {
        return Err(ApiError::BadRequest(
            "comment: say what is being done about it".into(),
        ));
    }
    if comment.chars().count() > MAX_COMMENT {
        return Err(ApiError::BadRequest(format!(
            "comment: at most {MAX_COMMENT} characters"
        )));
    }
    let at = Timestamp::now();
    let until = match &new.duration {
        Some(v) => Some(at.plus(super::silences::duration(v)?)),
        None => None,
    };
    let ack = crate::model::Ack {
        by: caller.signed_in().unwrap_or("(no users)").to_owned(),
        at,
        comment,
        until,
    };
    let before = held(&state, &name, new.path.as_deref()).await?;
    let after = Ack::from(ack.clone());
    let command = Command::Acknowledge {
        host: name,
        path: new.path,
        ack: Box::new(ack),
    };
    let outcome = ask(&state, |tx| Query::Command(command, tx)).await??;
    Ok((Changed::new(&before, &Some(after)), Json(outcome.into())))
}

/// The acknowledgement in force on `host`'s problem at `path`, if any (the audit log's
/// before).
async fn held(state: &ApiState, host: &str, path: Option<&str>) -> Result<Option<Ack>, ApiError> {
    let acks = ask(state, Query::Acks).await?;
    Ok(acks
        .into_iter()
        .find(|((h, p), _)| h == host && p.as_deref() == path)
        .map(|(_, ack)| ack.into()))
}

/// Takes an acknowledgement back: the problem's reminders resume.
#[utoipa::path(delete, path = "/api/0/hosts/{name}/ack", tag = "alerts",
    params(("name" = String, Path, description = "The host"), AckPath),
    responses(
        (status = 200, description = "Taken back", body = Outcome),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only a monitor, or a cookie request without its CSRF token", body = ErrorBody),
        (status = 404, description = "No such host, or the caller holds no role on it", body = ErrorBody),
        (status = 409, description = "Not acknowledged", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn withdraw(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
    query: Result<Params<AckPath>, ApiError>,
) -> Result<(axum::Extension<Changed>, Json<Outcome>), ApiError> {
    find(&state, &caller, &name, Action::Acknowledge).await?;
    let Params(AckPath { path }) = query?;
    let before = held(&state, &name, path.as_deref()).await?;
    let command = Command::Withdraw { host: name, path };
    let outcome = ask(&state, |tx| Query::Command(command, tx)).await??;
    Ok((Changed::new(&before, &None::<Ack>), Json(outcome.into())))
}

/// Every acknowledgement in force on the hosts the caller sees.
#[utoipa::path(get, path = "/api/0/acks", tag = "alerts",
    responses(
        (status = 200, description = "Acknowledgements, by host and path", body = Vec<AckView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<AckView>>, ApiError> {
    caller.may(Action::View, None)?;
    let acks = ask(&state, Query::Acks).await?;
    Ok(Json(
        acks.into_iter()
            .filter(|((host, _), _)| caller.sees(host))
            .map(|((host, path), ack)| AckView {
                host,
                path,
                ack: ack.into(),
            })
            .collect(),
    ))
}
