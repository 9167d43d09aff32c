//! A host's own managed plugins, set by those who manage it:
//! `GET /api/0/hosts/{name}/plugins/own` (anyone who sees the host) and
//! `PUT` (its managers, owner and administrators) with the artifacts it runs of its own
//! (or `null` for one its groups name that it should not run) and its collectors'
//! settings; an empty body gives it back to its groups. Checked as `check-config`
//! checks a group's, kept in the store, put in force at once, and each change recorded
//! with who made it (`GET /api/0/managed/changes`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use hbd_core::managed::HostOwn;
use serde::Serialize;
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::ErrorBody;
use super::extract::{Body, Segments};
use super::hosts::find;
use super::{ApiError, ApiState};
use crate::auth::roles::Action;
use crate::clock::Timestamp;
use crate::fleet::own::{OwnAsk, changes, resolve};

/// A host's own managed plugins.
#[derive(Debug, Serialize, ToSchema)]
pub struct Own {
    /// The host.
    host: String,
    /// Its own artifacts, resolved (`name`, `version`, `sha256`, `size`, `files`,
    /// `settings`), its groups' plugins it does not run (`without`), and its
    /// collectors' settings.
    #[schema(value_type = Object)]
    own: HostOwn,
    /// What this request changed, one line each (empty for a `GET`).
    changes: Vec<String>,
}

/// What a host runs of its own, besides its groups.
#[utoipa::path(get, path = "/api/0/hosts/{name}/plugins/own", tag = "plugins",
    params(("name" = String, Path, description = "The host")),
    responses(
        (status = 200, description = "Its own", body = Own),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such host, or the caller holds no role on it", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<Json<Own>, ApiError> {
    find(&state, &caller, &name, Action::View).await?;
    let own = state
        .config
        .get()
        .host_plugins
        .get(&name)
        .cloned()
        .unwrap_or_default();
    Ok(Json(Own {
        host: name,
        own,
        changes: Vec::new(),
    }))
}

/// Sets what a host runs of its own (its managers, owner and administrators).
#[utoipa::path(put, path = "/api/0/hosts/{name}/plugins/own", tag = "plugins",
    params(("name" = String, Path, description = "The host")),
    request_body = OwnAsk,
    responses(
        (status = 200, description = "In force", body = Own),
        (status = 400, description = "No JSON body", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not one of its managers, or a cookie request without its CSRF token", body = ErrorBody),
        (status = 404, description = "No such host, or the caller holds no role on it", body = ErrorBody),
        (status = 422, description = "An artifact not on offer, settings beyond its manifest, an unknown collector: every problem listed", body = ErrorBody),
        (status = 503, description = "The engine is busy, or artifacts_dir cannot be read", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn put(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
    Body(ask): Body<OwnAsk>,
) -> Result<(axum::Extension<super::audit::Changed>, Json<Own>), ApiError> {
    find(&state, &caller, &name, Action::ManagePlugins).await?;
    let Some(db) = state.host_plugins.clone() else {
        return Err(ApiError::Unavailable(
            "a host's own plugins need the store".into(),
        ));
    };
    let catalogue = super::artifacts::catalogue(&state).await?;
    let own = resolve(ask, catalogue.as_deref())
        .map_err(|problems| ApiError::Unprocessable(problems.join("; ")))?;
    // Each artifact compiles (with the agents' compiler, when it is here).
    if let Some(dir) = state.config.get().artifacts_dir.clone() {
        let plugins: Vec<(String, String, std::path::PathBuf)> = own
            .plugins
            .iter()
            .map(|p| {
                let wasm = dir.join(format!("{}-{}.wasm", p.name, p.version));
                (format!("{} {}", p.name, p.version), p.sha256.clone(), wasm)
            })
            .collect();
        let failed = tokio::task::spawn_blocking(move || {
            plugins
                .into_iter()
                .filter_map(
                    |(what, sha, wasm)| match crate::compile_check::check(&wasm, &sha) {
                        Err(why @ crate::compile_check::CompileCheck::Fails(_)) => {
                            Some(format!("{what} {why}"))
                        }
                        _ => None,
                    },
                )
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        if !failed.is_empty() {
            return Err(ApiError::Unprocessable(failed.join("; ")));
        }
    }
    let by = caller.signed_in().unwrap_or("(no users)").to_owned();
    let before = state
        .config
        .get()
        .host_plugins
        .get(&name)
        .cloned()
        .unwrap_or_default();
    let lines = changes(&name, &before, &own);
    let (host, kept, who) = (name.clone(), own.clone(), by.clone());
    let all = tokio::task::spawn_blocking(move || {
        db.put(&host, &kept, &who, Timestamp::now())?;
        db.all()
    })
    .await
    .map_err(|e| ApiError::Store(e.to_string()))?
    .map_err(|e| ApiError::Store(e.to_string()))?;
    state
        .reloader
        .put_host_plugins(Arc::new(all))
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    for change in &lines {
        tracing::info!(by = %by, %change, "managed plugins changed");
    }
    if let Some(record) = state.reloader.record().cloned() {
        let who = by.clone();
        let what: Vec<crate::store::changes::Line> = lines
            .iter()
            .map(|l| crate::store::changes::Line::about(&name, l))
            .collect();
        tokio::task::spawn_blocking(move || record.record(Timestamp::now(), &who, &what))
            .await
            .map_err(|e| ApiError::Store(e.to_string()))?
            .map_err(|e| ApiError::Store(e.to_string()))?;
    }
    let changed = super::audit::Changed::new(&before, &own);
    Ok((
        changed,
        Json(Own {
            host: name,
            own,
            changes: lines,
        }),
    ))
}
