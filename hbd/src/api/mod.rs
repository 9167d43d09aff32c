//! The HTTP server: one axum router for the REST API (`/api/0/...`) and `/metrics`.
//!
//! Handlers read the engine's state by sending it a [`Query`] and awaiting the answer, so
//! the core has one owner and no locks.

mod error;
mod hosts;
mod metrics;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use error::ApiError;

use crate::engine::Query;
use crate::metrics::Metrics;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// Questions to the engine.
    pub queries: mpsc::Sender<Query>,
    /// Telemetry.
    pub metrics: Arc<Metrics>,
}

/// The router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/0/hosts", get(hosts::list))
        .route("/api/0/hosts/{name}", get(hosts::one))
        .route("/metrics", get(metrics::render))
        .with_state(state)
}

/// Serves until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    state: ApiState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
