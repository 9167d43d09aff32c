//! The HTTP server: one axum router for the REST API (`/api/0/...`) and `/metrics`.
//!
//! Handlers read and change the engine's state by sending it a [`Request`] and awaiting
//! the answer, so the core has one owner and no locks. Every request has a deadline: a
//! full queue answers 503 at once, a slow engine 503 after [`ENGINE_TIMEOUT`].

mod alerts;
mod config;
mod error;
mod hosts;
mod metrics;
mod plugins;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

pub use error::ApiError;

use crate::engine::Request;
use crate::metrics::Metrics;
use crate::reload::Reloader;
use crate::samples::Latest;
use crate::store::Reader;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// Requests to the engine.
    pub requests: mpsc::Sender<Request>,
    /// Configuration reload.
    pub reloader: Reloader,
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
        .route("/api/0/hosts/{name}", get(hosts::one).delete(hosts::drop))
        .route("/api/0/alerts", get(alerts::active))
        .route(
            "/api/0/hosts/{name}/alerts",
            get(alerts::for_host).delete(alerts::clear),
        )
        .route("/api/0/config/reload", post(config::reload))
        .route("/api/0/hosts/{name}/plugins", get(plugins::latest))
        .route(
            "/api/0/hosts/{name}/plugins/{plugin}",
            get(plugins::history),
        )
        .route("/metrics", get(metrics::render))
        .with_state(state)
}

/// How long a handler waits for the engine's answer.
pub const ENGINE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Sends the engine a request and waits (bounded) for its answer.
pub(crate) async fn ask<T>(
    state: &ApiState,
    request: impl FnOnce(oneshot::Sender<T>) -> Request,
) -> Result<T, ApiError> {
    let (tx, rx) = oneshot::channel();
    state.requests.try_send(request(tx)).map_err(|e| {
        state.metrics.api_unavailable.inc();
        ApiError::Unavailable(match e {
            mpsc::error::TrySendError::Full(_) => {
                "the engine is busy: its request queue is full; try again".into()
            }
            mpsc::error::TrySendError::Closed(_) => "the daemon is shutting down".into(),
        })
    })?;
    match tokio::time::timeout(ENGINE_TIMEOUT, rx).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(_)) => Err(ApiError::Unavailable("the daemon is shutting down".into())),
        Err(_) => {
            state.metrics.api_unavailable.inc();
            Err(ApiError::Unavailable(format!(
                "the engine did not answer within {} s",
                ENGINE_TIMEOUT.as_secs()
            )))
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, SharedConfig};

    fn state(dir: &std::path::Path, queue: usize) -> (ApiState, mpsc::Receiver<Request>) {
        let path = dir.join("s.db");
        crate::store::Store::open(&path, 10).unwrap();
        let (tx, rx) = mpsc::channel(queue);
        let shared = SharedConfig::new(std::sync::Arc::new(Config::default()));
        let state = ApiState {
            requests: tx.clone(),
            reloader: Reloader::new(None, shared, tx),
            metrics: Arc::new(Metrics::new()),
            latest: Latest::default(),
            reader: Reader::open(&path).unwrap(),
        };
        (state, rx)
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_or_silent_engine_is_a_503_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        // An engine that takes requests but never answers.
        let (state, _held) = state(dir.path(), 1);
        let silent = ask(&state, Request::Hosts).await.unwrap_err();
        assert_eq!(silent.to_string(), "the engine did not answer within 2 s");
        // The one slot is still taken by the unanswered request: full.
        let full = ask(&state, Request::Hosts).await.unwrap_err();
        assert!(full.to_string().contains("request queue is full"), "{full}");
        assert_eq!(state.metrics.api_unavailable.get(), 2);
        // No engine at all: stopping.
        let (state, rx) = self::state(dir.path(), 1);
        drop(rx);
        let gone = ask(&state, Request::Hosts).await.unwrap_err();
        assert_eq!(gone.to_string(), "the daemon is shutting down");
    }
}
