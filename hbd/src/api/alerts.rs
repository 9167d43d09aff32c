//! `GET /api/0/alerts` (every alert that is not OK) and `GET /api/0/hosts/{name}/alerts`
//! (every tracked metric path of a host with its level).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use super::error::ErrorBody;
use super::extract::{Params, Segments};
use super::hosts::find;
use super::view::Outcome;
use super::{ApiError, ApiState, ask};
use crate::alerting::AlertState;
use crate::auth::roles::Action;
use crate::core::Command;
use crate::engine::Query;

/// An alert as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    host: String,
    path: String,
    /// OK, WARNING, CRITICAL or UNKNOWN.
    level: &'static str,
    since: String,
    value: Option<f64>,
    detail: Option<String>,
    threshold: Option<f64>,
    /// How `value` compares with `threshold` while the level holds: `>`, `>=`, `<`,
    /// `<=`, `==` or `!=` (absent without a threshold).
    #[serde(skip_serializing_if = "Option::is_none")]
    operator: Option<&'static str>,
    last_notified: Option<String>,
    reminders: u32,
    /// Why its notifications are held now (a silence, a maintenance window, an
    /// UNREACHABLE host, flapping, a pending period); absent when they are not.
    #[serde(skip_serializing_if = "Option::is_none")]
    held: Option<super::view::Reason>,
    /// Who acknowledged it, when, why and until when; absent when nobody did.
    #[serde(skip_serializing_if = "Option::is_none")]
    ack: Option<super::view::Ack>,
}

impl From<AlertState> for AlertView {
    fn from(s: AlertState) -> AlertView {
        AlertView {
            level: s.level.as_str(),
            since: s.since.rfc3339(),
            last_notified: s.last_notified.map(|t| t.rfc3339()),
            host: s.host,
            path: s.path,
            value: s.value,
            detail: s.detail,
            threshold: s.threshold,
            operator: s.operator.map(|o| o.as_str()),
            reminders: s.reminders,
            held: s.held.map(Into::into),
            ack: s.ack.map(Into::into),
        }
    }
}

/// Every alert that is not OK on the hosts the caller sees, by host and path.
#[utoipa::path(get, path = "/api/0/alerts", tag = "alerts",
    responses(
        (status = 200, description = "Active alerts", body = Vec<AlertView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn active(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<AlertView>>, ApiError> {
    caller.may(Action::View, None)?;
    let alerts = ask(&state, Query::Alerts).await?;
    Ok(Json(
        alerts
            .into_iter()
            .filter(|a| caller.sees(&a.host))
            .map(AlertView::from)
            .collect(),
    ))
}

/// Every tracked metric path of one host, with its level.
#[utoipa::path(get, path = "/api/0/hosts/{name}/alerts", tag = "alerts",
    params(("name" = String, Path, description = "The host")),
    responses(
        (status = 200, description = "The host's alert paths", body = Vec<AlertView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such host, or the caller holds no role on it", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn for_host(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<Json<Vec<AlertView>>, ApiError> {
    caller.may(Action::View, Some(&name))?;
    let alerts = ask(&state, |tx| Query::HostAlerts(name.clone(), tx)).await?;
    let alerts = alerts.ok_or_else(|| ApiError::no_host(&name))?;
    Ok(Json(alerts.into_iter().map(AlertView::from).collect()))
}

/// Which alert path to clear.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PathParam {
    /// The metric path (`cpu.load1`).
    path: String,
}

/// Forgets one alert path's state; the next report evaluates it afresh (manager,
/// owner or administrator).
#[utoipa::path(delete, path = "/api/0/hosts/{name}/alerts", tag = "alerts",
    params(("name" = String, Path, description = "The host"), PathParam),
    responses(
        (status = 200, description = "Cleared", body = Outcome),
        (status = 400, description = "No path given", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only a monitor, or a cookie request without its CSRF token", body = ErrorBody),
        (status = 404, description = "No such host or path, or the caller holds no role on it", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn clear(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
    query: Result<Params<PathParam>, ApiError>,
) -> Result<(axum::Extension<super::audit::Changed>, Json<Outcome>), ApiError> {
    find(&state, &caller, &name, Action::ClearAlert).await?;
    let Params(PathParam { path }) = query?;
    // What is cleared: the path's alert as it was.
    let before = ask(&state, |tx| Query::HostAlerts(name.clone(), tx))
        .await?
        .into_iter()
        .flatten()
        .find(|a| a.path == path)
        .map(AlertView::from);
    let command = Command::ClearAlert { host: name, path };
    let outcome = ask(&state, |tx| Query::Command(command, tx)).await??;
    let changed = super::audit::Changed::new(&before, &());
    Ok((changed, Json(outcome.into())))
}
