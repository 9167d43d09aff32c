//! The HTTP server: one axum router for the REST API (`/api/0/...`) and `/metrics`.
//!
//! Handlers read the engine's state by sending it a [`Query`] and awaiting the answer, so
//! the core has one owner and no locks.

mod alerts;
mod error;
mod hosts;
mod metrics;
mod plugins;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use error::ApiError;

use crate::engine::Query;
use crate::metrics::Metrics;
use crate::samples::Latest;
use crate::store::Reader;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// Questions to the engine.
    pub queries: mpsc::Sender<Query>,
    /// Telemetry.
    pub metrics: Arc<Metrics>,
    /// Latest plugin samples.
    pub latest: Latest,
    /// Store reads (plugin history).
    pub reader: Reader,
}

/// The router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/0/hosts", get(hosts::list))
        .route("/api/0/hosts/{name}", get(hosts::one))
        .route("/api/0/alerts", get(alerts::active))
        .route("/api/0/hosts/{name}/alerts", get(alerts::for_host))
        .route("/api/0/hosts/{name}/plugins", get(plugins::latest))
        .route(
            "/api/0/hosts/{name}/plugins/{plugin}",
            get(plugins::history),
        )
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
