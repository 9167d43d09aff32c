//! `GET /api/0/alerts` (every alert that is not OK) and `GET /api/0/hosts/{name}/alerts`
//! (every tracked metric path of a host with its level).

use axum::Json;
use axum::extract::{Path, Query as UrlQuery, State};
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiState, ask};
use crate::alerting::AlertState;
use crate::core::{Command, Outcome};
use crate::engine::Request;

/// An alert as the API shows it.
#[derive(Debug, Serialize)]
pub struct AlertView {
    host: String,
    path: String,
    level: &'static str,
    since: String,
    value: Option<f64>,
    detail: Option<String>,
    threshold: Option<f64>,
    last_notified: Option<String>,
    reminders: u32,
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
            reminders: s.reminders,
        }
    }
}

/// Every alert that is not OK, by host and path.
pub async fn active(State(state): State<ApiState>) -> Result<Json<Vec<AlertView>>, ApiError> {
    let alerts = ask(&state, Request::Alerts).await?;
    Ok(Json(alerts.into_iter().map(AlertView::from).collect()))
}

/// Every tracked path of one host; 404 for an unknown host.
pub async fn for_host(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Vec<AlertView>>, ApiError> {
    let alerts = ask(&state, |tx| Request::HostAlerts(name.clone(), tx)).await?;
    let alerts = alerts.ok_or_else(|| ApiError::NotFound(format!("no host named {name:?}")))?;
    Ok(Json(alerts.into_iter().map(AlertView::from).collect()))
}

/// Which alert path to clear.
#[derive(Debug, Deserialize)]
pub struct PathParam {
    path: String,
}

/// `DELETE /api/0/hosts/{name}/alerts?path=PATH`: forgets one alert path's state; the
/// next report evaluates it afresh.
pub async fn clear(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    UrlQuery(PathParam { path }): UrlQuery<PathParam>,
) -> Result<Json<Outcome>, ApiError> {
    let command = Command::ClearAlert { host: name, path };
    let outcome = ask(&state, |tx| Request::Command(command, tx)).await??;
    Ok(Json(outcome))
}
