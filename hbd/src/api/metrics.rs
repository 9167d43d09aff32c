//! `GET /metrics`: the daemon's telemetry in Prometheus (OpenMetrics) text format. With
//! users configured it names every host, so only administrators (an admin's API token
//! in Prometheus' `authorization` setting) may read it.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::caller::Caller;
use super::{ApiError, ApiState};
use crate::auth::roles::Action;

/// Renders every metric.
pub async fn render(State(state): State<ApiState>, caller: Caller) -> Result<Response, ApiError> {
    caller.may(Action::ReadMetrics, None)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(&state.latest),
    )
        .into_response())
}
