//! The HTTP server's routes: the API's documented ones and its OpenAPI document,
//! `/metrics`, `/healthz`, agent release and artifact downloads, what each agent should run, agents'
//! enrolment, the WebSocket, the pages and their static assets, all behind the API's
//! rate limits, the no-users guard and the security headers. Above both the API
//! and the pages, so neither has to know the other.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::api::{self, ApiState};
use crate::web::{assets, headers, oidc, pages};

/// The router.
pub fn router(state: ApiState) -> Router {
    let (routes, doc) = api::documented();
    let doc = Arc::new(doc);
    // Every documented operation that changes something leaves one audit entry (a
    // route layer: only matched operations, with their documented path).
    routes
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api::audit::record,
        ))
        .route(
            "/api/0/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .route("/metrics", get(api::metrics::render))
        .route("/healthz", get(api::health::healthz))
        .route("/releases/{file}", get(api::upgrade::download))
        .route("/artifacts/{file}", get(api::artifacts::download))
        .route("/agent/{name}/plugins", get(api::artifacts::for_agent))
        .route("/agent/enrol", post(api::enrolment::enrol))
        .route("/agent/rekey", post(api::enrolment::rekey))
        .route("/ws", get(api::ws::upgrade))
        .route("/", get(pages::root))
        .route("/favicon.ico", get(pages::favicon))
        .route(
            "/login",
            get(pages::login_page)
                .post(pages::login_submit)
                .route_layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    api::audit::record,
                )),
        )
        .route("/login/oidc", get(oidc::start))
        .route(oidc::CALLBACK, get(oidc::callback))
        .route("/live", get(pages::live))
        .route("/plugins", get(pages::plugins))
        .route("/hosts/{name}", get(pages::host))
        .route("/alerts", get(pages::alerts))
        .route("/checks", get(pages::checks))
        .route("/fleet", get(pages::fleet))
        .route("/audit", get(pages::audit))
        .route("/tokens", get(pages::tokens))
        .route("/static/{*path}", get(assets::serve))
        .fallback(|| async { api::ApiError::NotFound("no such endpoint".into()) })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api::rate_limit::limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api::open_guard::guard,
        ))
        .layer(axum::middleware::map_response(headers::secure))
        .with_state(state)
}
