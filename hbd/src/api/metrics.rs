//! `GET /metrics`: the daemon's telemetry, in OpenMetrics when asked for it, else the
//! classic Prometheus text format (which `promtool check metrics` passes). With
//! users configured it names every host, so only administrators (an admin's API token
//! in Prometheus' `authorization` setting) may read it.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::caller::Caller;
use super::{ApiError, ApiState};
use crate::auth::roles::Action;

/// Renders every metric: OpenMetrics when the scraper asks for it (Prometheus does),
/// else the classic text format that every Prometheus tool reads.
pub async fn render(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.may(Action::ReadMetrics, None)?;
    let text = state.metrics.render(&state.latest);
    let openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    Ok(if openmetrics {
        (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            crate::metrics::prometheus_text(&text),
        )
            .into_response()
    })
}
