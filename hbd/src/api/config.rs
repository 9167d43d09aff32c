//! `POST /api/0/config/reload`: re-reads and validates the config file and, if it is
//! clean, puts it in force (422 with every problem otherwise; the running config stays).

use axum::Json;
use axum::extract::State;

use super::{ApiError, ApiState};
use crate::reload::{ReloadError, Reloaded};

/// Reloads the configuration.
pub async fn reload(State(state): State<ApiState>) -> Result<Json<Reloaded>, ApiError> {
    match state.reloader.reload().await {
        Ok(done) => Ok(Json(done)),
        Err(e @ ReloadError::Invalid(_)) => Err(ApiError::Unprocessable(e.to_string())),
        Err(e @ ReloadError::Engine(_)) => Err(ApiError::Unavailable(e.to_string())),
    }
}
