//! `GET /metrics`: the daemon's telemetry in Prometheus (OpenMetrics) text format.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::ApiState;

/// Renders every metric.
pub async fn render(State(state): State<ApiState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(&state.latest),
    )
}
