//! `GET /healthz`: whether the daemon's engine answers, for a container's health check,
//! a load balancer or a service probe (`hbd health` asks it). Open to anyone, since it
//! names nothing: `{"status": "ok"}`, or 503 with why.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::{ApiState, ask};
use crate::engine::Query;

/// 200 when the engine answered within [`super::ENGINE_TIMEOUT`], else 503.
pub async fn healthz(State(state): State<ApiState>) -> Response {
    match ask(&state, Query::Ping).await {
        Ok(()) => Json(serde_json::json!({"status": "ok"})).into_response(),
        Err(error) => error.into_response(),
    }
}
