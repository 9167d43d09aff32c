//! `POST /api/0/config/reload`: re-reads and validates the config file and, if it is
//! clean, puts it in force (422 with every problem otherwise; the running config stays).
//! The answer and the log say what it changed in the signed plugins run, and who.

use axum::Json;
use axum::extract::State;

use super::caller::Caller;
use super::error::ErrorBody;
use super::{ApiError, ApiState};
use crate::auth::roles::Action;
use crate::reload::{ReloadError, Reloaded};

/// Reloads the configuration (administrators).
#[utoipa::path(post, path = "/api/0/config/reload", tag = "config",
    responses(
        (status = 200, description = "The new config is in force", body = Reloaded),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator, or a cookie request without its CSRF token", body = ErrorBody),
        (status = 422, description = "The file has errors; every problem is listed and the running config stays", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn reload(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<(axum::Extension<super::audit::Changed>, Json<Reloaded>), ApiError> {
    caller.may(Action::ReloadConfig, None)?;
    let by = caller.signed_in().unwrap_or("(no users)").to_owned();
    match state.reloader.reload(&by).await {
        // The audit log keeps what the reload changed (the plugins that run where,
        // the keys that wait for a restart) as its after.
        Ok(done) => Ok((super::audit::Changed::new(&(), &done), Json(done))),
        Err(e @ ReloadError::Invalid(_)) => Err(ApiError::Unprocessable(e.to_string())),
        Err(e @ ReloadError::Engine(_)) => Err(ApiError::Unavailable(e.to_string())),
    }
}
