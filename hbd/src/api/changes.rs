//! `GET /api/0/managed/changes?limit=100&before=ID`: the record of changes to what runs
//! where (each group's signed plugins and native collectors' settings), newest first,
//! each with who made it and when.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use super::error::ErrorBody;
use super::extract::{Params, whole_number};
use super::{ApiError, ApiState};
use crate::auth::roles::Action;
use crate::store::changes::Change;

/// Which changes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// Changes at most, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// Only changes older than this one (the `id` of the last of the page before).
    #[param(value_type = Option<i64>)]
    before: Option<String>,
}

/// A page of the record.
#[derive(Debug, Serialize, ToSchema)]
pub struct Changes {
    /// Newest first.
    changes: Vec<Change>,
}

/// Changes to which plugins run where, and how the native collectors run, newest first
/// (any signed-in user; a change naming a host only to those who may see it, so a page
/// may hold fewer than `limit`).
#[utoipa::path(get, path = "/api/0/managed/changes", tag = "plugins",
    params(ChangesQuery),
    responses(
        (status = 200, description = "The changes", body = Changes),
        (status = 400, description = "A bad limit or `before`", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 503, description = "The store cannot be read", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Params(query): Params<ChangesQuery>,
) -> Result<Json<Changes>, ApiError> {
    caller.may(Action::View, None)?;
    let limit = whole_number("limit", query.limit.as_deref(), 100, 1..=1000)?;
    let before = match query.before.as_deref() {
        None => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            ApiError::BadRequest(format!("before must be a change id, not {text:?}"))
        })?),
    };
    let Some(record) = state.reloader.record().cloned() else {
        return Ok(Json(Changes {
            changes: Vec::new(),
        }));
    };
    let changes = tokio::task::spawn_blocking(move || record.recent(limit, before))
        .await
        .map_err(|e| ApiError::Store(e.to_string()))?
        .map_err(|e| ApiError::Store(e.to_string()))?;
    let sees_all = caller.sees_all();
    let changes = changes
        .into_iter()
        .filter(|c| match c.host.as_deref() {
            None => true,
            // '': kept before hosts were noted, and may name one.
            Some(host) => sees_all || (!host.is_empty() && caller.sees(host)),
        })
        .collect();
    Ok(Json(Changes { changes }))
}
