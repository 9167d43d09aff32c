//! The HTTP server: one axum router for the REST API (`/api/0/...`), its OpenAPI
//! document and `/metrics`.
//!
//! Handlers read and change the engine's state by sending it a [`Query`] and awaiting
//! the answer, so the core has one owner and no locks. Every request has a deadline: a
//! full queue answers 503 at once, a slow engine 503 after [`ENGINE_TIMEOUT`]. Every
//! handler takes a [`Caller`](caller::Caller) and asks it, the one place permissions
//! are decided. Routes are registered with their OpenAPI description
//! (utoipa-axum), so the document cannot miss one.

mod access;
mod acks;
mod alerts;
pub mod artifacts;
pub(crate) mod audit;
pub(crate) mod auth;
pub mod caller;
mod changes;
mod checks;
mod commands;
mod config;
mod dns;
mod download;
pub mod enrolment;
mod error;
mod extract;
pub(crate) mod health;
mod history;
mod holds;
mod host_plugins;
mod hosts;
pub(crate) mod metrics;
mod notify_test;
pub(crate) mod open_guard;
mod plugins;
pub(crate) mod rate_limit;
mod rejects;
mod rollouts;
mod series;
mod silences;
mod top;
pub(crate) mod upgrade;
mod users;
pub mod view;
pub(crate) mod ws;
mod ws_snapshots;

use std::sync::Arc;

use axum::Router;
use tokio::sync::{mpsc, oneshot};
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{ApiError, ErrorBody};

use crate::auth::service::Auth;
use crate::config::SharedConfig;
use crate::engine::Query;
use crate::metrics::Metrics;
use crate::reload::Reloader;
use crate::samples::Latest;
use crate::store::Reader;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// Requests to the engine.
    pub requests: mpsc::Sender<Query>,
    /// Configuration reload.
    pub reloader: Reloader,
    /// The configuration in force.
    pub config: SharedConfig,
    /// Users, sessions and access.
    pub auth: Auth,
    /// Whether the server speaks TLS (the cookie gets `Secure` and `__Host-`).
    pub tls: bool,
    /// Telemetry.
    pub metrics: Arc<Metrics>,
    /// Latest plugin samples.
    pub latest: Latest,
    /// Store reads (plugin history).
    pub reader: Reader,
    /// This daemon run's id in the live stream.
    pub live_run: String,
    /// The page templates.
    pub templates: crate::templates::Templates,
    /// Live snapshots encoded for the WebSocket connections that still send them.
    pub snapshots: ws_snapshots::SnapshotTexts,
    /// The DNS task: host records, and writing one on request.
    pub dns: crate::dns::worker::Dns,
    /// The HTTP port this daemon listens on: where agents download releases from.
    pub http_port: u16,
    /// Senders whose datagrams were rejected.
    pub rejects: crate::rejects::SharedRejects,
    /// The signed plugin artifacts `artifacts_dir` offers, read again when it changes.
    pub artifacts: crate::catalogue::Cached,
    /// Enrolment tokens and keys (`None` in tests without a store).
    pub enrolment: Option<crate::enrolment::Enrolment>,
    /// Each host's own managed plugins in the store (`None` in tests without one).
    pub host_plugins: Option<crate::store::host_plugins::HostPluginsDb>,
    /// The staged rollouts the rollout task steps.
    pub rollouts: crate::rollouts::Rollouts,
    /// The audit log (`None` in tests without a store).
    pub audit: Option<crate::store::audit::AuditLog>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hbd",
        description = "The hbd host-monitoring daemon's REST API. With users configured, send `Authorization: Bearer TOKEN` (from POST /api/0/auth/login or an API token) or the session cookie; with no users everything is open. Errors are `{\"error\": {\"code\", \"message\"}}`.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
        version = "0"
    ),
    modifiers(&Security),
    tags(
        (name = "auth", description = "Sessions and API tokens"),
        (name = "hosts", description = "Hosts and their state"),
        (name = "alerts", description = "Threshold alerts"),
        (name = "plugins", description = "Plugin reports"),
        (name = "commands", description = "Commands for a host's agent"),
        (name = "dns", description = "Hosts' DNS records"),
        (name = "access", description = "Who holds which role on a host"),
        (name = "users", description = "Users"),
        (name = "config", description = "The configuration"),
        (name = "silences", description = "Silences and storm groups: who is not told, and what was grouped"),
    )
)]
struct Doc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(caller::COOKIE))),
        );
    }
}

/// Every operation may be answered 429 by the rate limits (`rate_limit.rs`), which
/// stand before every handler: documented once here rather than on each.
struct RateLimited;

impl utoipa::Modify for RateLimited {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let response = ResponseBuilder::new()
            .description(
                "Too many requests from this token or address (rate_limit); Retry-After says when to try again",
            )
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                op.responses
                    .responses
                    .entry("429".into())
                    .or_insert_with(|| response.clone().into());
            }
        }
    }
}

/// The documented routes and their OpenAPI document.
pub(crate) fn documented() -> (Router<ApiState>, utoipa::openapi::OpenApi) {
    let (routes, doc) = OpenApiRouter::with_openapi(Doc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::tokens, auth::create_token))
        .routes(routes!(auth::revoke_token))
        .routes(routes!(hosts::list))
        .routes(routes!(hosts::one, hosts::drop))
        .routes(routes!(history::history))
        .routes(routes!(history::recent))
        .routes(routes!(rejects::list))
        .routes(routes!(artifacts::list))
        .routes(routes!(artifacts::for_host))
        .routes(routes!(host_plugins::get, host_plugins::put))
        .routes(routes!(artifacts::fleet))
        .routes(routes!(changes::list))
        .routes(routes!(rollouts::list))
        .routes(routes!(rollouts::act))
        .routes(routes!(enrolment::make_token, enrolment::tokens))
        .routes(routes!(enrolment::delete_token))
        .routes(routes!(enrolment::keys))
        .routes(routes!(enrolment::decide))
        .routes(routes!(commands::list, commands::queue))
        .routes(routes!(commands::one))
        .routes(routes!(upgrade::queue))
        .routes(routes!(upgrade::list))
        .routes(routes!(dns::status, dns::trigger))
        .routes(routes!(alerts::active))
        .routes(routes!(checks::list))
        .routes(routes!(alerts::for_host, alerts::clear))
        .routes(routes!(acks::put, acks::withdraw))
        .routes(routes!(acks::list))
        .routes(routes!(plugins::latest))
        .routes(routes!(plugins::history))
        .routes(routes!(series::series))
        .routes(routes!(top::top))
        .routes(routes!(access::get, access::put))
        .routes(routes!(access::transfer))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::one, users::update, users::delete))
        .routes(routes!(config::reload))
        .routes(routes!(notify_test::channels))
        .routes(routes!(notify_test::test))
        .routes(routes!(silences::list, silences::create))
        .routes(routes!(silences::expire))
        .routes(routes!(silences::storms))
        .routes(routes!(holds::for_host))
        .routes(routes!(holds::windows))
        .routes(routes!(audit::list))
        .routes(routes!(audit::for_host))
        .split_for_parts();
    // After the routes: the modifier adds to every operation they brought.
    let mut doc = doc;
    utoipa::Modify::modify(&RateLimited, &mut doc);
    (routes, doc)
}

/// The OpenAPI 3.1 document of the API, as served at `/api/0/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented().1
}

/// How long a handler waits for the engine's answer.
pub const ENGINE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Sends the engine a request and waits (bounded) for its answer.
pub(crate) async fn ask<T>(
    state: &ApiState,
    request: impl FnOnce(oneshot::Sender<T>) -> Query,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn state(dir: &std::path::Path, queue: usize) -> (ApiState, mpsc::Receiver<Query>) {
        let path = dir.join("s.db");
        crate::store::Store::open(&path, 10).unwrap();
        let (tx, rx) = mpsc::channel(queue);
        let shared = SharedConfig::new(std::sync::Arc::new(Config::default()));
        let metrics = Arc::new(Metrics::new());
        let auth = Auth::start(
            shared.clone(),
            crate::auth::db::AuthDb::open(&path).unwrap(),
            crate::clock::Clock::start(),
            metrics.clone(),
            crate::journal::Journal::disabled(metrics.clone()),
        )
        .unwrap();
        let dns = crate::dns::worker::start(
            None,
            shared.clone(),
            crate::clock::Clock::start(),
            crate::journal::Journal::disabled(metrics.clone()),
            metrics.clone(),
            tokio_util::sync::CancellationToken::new(),
        );
        let state = ApiState {
            dns,
            requests: tx.clone(),
            reloader: Reloader::new(None, shared.clone(), mpsc::channel(1).0),
            config: shared,
            auth,
            tls: false,
            metrics,
            latest: Latest::default(),
            reader: Reader::open(&path).unwrap(),
            live_run: "test".into(),
            templates: crate::templates::Templates::load(None).unwrap(),
            snapshots: Default::default(),
            http_port: 0,
            rejects: Default::default(),
            artifacts: Default::default(),
            enrolment: None,
            host_plugins: None,
            rollouts: Default::default(),
            audit: None,
        };
        (state, rx)
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_or_silent_engine_is_a_503_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        // An engine that takes requests but never answers.
        let (state, _held) = state(dir.path(), 1);
        let silent = ask(&state, Query::Hosts).await.unwrap_err();
        assert_eq!(silent.to_string(), "the engine did not answer within 2 s");
        // The one slot is still taken by the unanswered request: full.
        let full = ask(&state, Query::Hosts).await.unwrap_err();
        assert!(full.to_string().contains("request queue is full"), "{full}");
        assert_eq!(state.metrics.api_unavailable.get(), 2);
        // No engine at all: stopping.
        let (state, rx) = self::state(dir.path(), 1);
        drop(rx);
        let gone = ask(&state, Query::Hosts).await.unwrap_err();
        assert_eq!(gone.to_string(), "the daemon is shutting down");
    }

    /// The committed document is the generated one: regenerate it with
    /// `HBD_WRITE_OPENAPI=1 cargo test -p hbd openapi`.
    #[test]
    fn the_committed_openapi_document_is_current() {
        let generated = openapi().to_pretty_json().unwrap() + "\n";
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
        if std::env::var_os("HBD_WRITE_OPENAPI").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/openapi.json is stale: run HBD_WRITE_OPENAPI=1 cargo test -p hbd openapi"
        );
        let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(
            !doc["info"]["license"]["name"]
                .as_str()
                .unwrap_or("")
                .is_empty()
        );
        // Every operation answers something, and every answer is described.
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                assert!(!responses.is_empty(), "{method} {path}");
                for (status, r) in responses {
                    assert!(
                        r["description"].as_str().is_some_and(|d| !d.is_empty()),
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
}
