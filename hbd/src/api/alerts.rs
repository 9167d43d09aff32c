//! `GET /api/0/alerts` (every alert that is not OK) and `GET /api/0/hosts/{name}/alerts`
//! (every tracked metric path of a host with its level).

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;

use super::hosts::ask;
use super::{ApiError, ApiState};
use crate::alerting::AlertState;
use crate::engine::Query;

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
    let alerts = ask(&state, Query::Alerts).await?;
    Ok(Json(alerts.into_iter().map(AlertView::from).collect()))
}

/// Every tracked path of one host; 404 for an unknown host.
pub async fn for_host(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Vec<AlertView>>, ApiError> {
    let alerts = ask(&state, |tx| Query::HostAlerts(name.clone(), tx)).await?;
    let alerts = alerts.ok_or_else(|| ApiError::NotFound(format!("no host named {name:?}")))?;
    Ok(Json(alerts.into_iter().map(AlertView::from).collect()))
}
