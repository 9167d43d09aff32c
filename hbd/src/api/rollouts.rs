//! Staged rollouts over HTTP: `GET /api/0/rollouts` (anyone signed in, naming only the
//! hosts they may see) shows each group's rollout (its state, stage, the hosts on the
//! new set, why it stopped), and `POST /api/0/rollouts/{group}/{pause|resume|abort}`
//! (administrators) steers one. The rollout task puts the change in force within a
//! second.

use axum::Json;
use axum::extract::State;
use hbd_core::rollout::Rollout;
use serde::Serialize;
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::ErrorBody;
use super::extract::Segments;
use super::{ApiError, ApiState};
use crate::auth::roles::Action;
use crate::clock::Timestamp;

/// Every group's rollout.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rollouts {
    /// By group: `group`, `split` (`state`: `running`, `paused`, `done`,
    /// `rolled_back`, `aborted`; `on_new`: the hosts on the new set), `stage` (0: the
    /// canaries), `stage_hosts`, `note` (why it stopped), `started`. Hosts are named
    /// only to those who may see them, and a note naming another host is replaced.
    #[schema(value_type = Vec<Object>)]
    rollouts: Vec<Rollout>,
}

/// The staged rollouts (any signed-in user).
#[utoipa::path(get, path = "/api/0/rollouts", tag = "plugins",
    responses(
        (status = 200, description = "Each group's rollout", body = Rollouts),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Rollouts>, ApiError> {
    caller.may(Action::View, None)?;
    let mut rollouts = state.rollouts.list();
    if !caller.sees_all() {
        // Host names only of the hosts the caller may see.
        rollouts = rollouts
            .iter()
            .map(|r| r.as_seen_by(|h| caller.sees(h)))
            .collect();
    }
    Ok(Json(Rollouts { rollouts }))
}

/// Pauses, resumes or aborts a group's rollout (administrators).
#[utoipa::path(post, path = "/api/0/rollouts/{group}/{action}", tag = "plugins",
    params(
        ("group" = String, Path, description = "The group"),
        ("action" = String, Path, description = "`pause`, `resume` or `abort`"),
    ),
    responses(
        (status = 200, description = "Done; the rollout as it is now", body = Object),
        (status = 400, description = "Not pause, resume or abort", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
        (status = 404, description = "The group has no rollout", body = ErrorBody),
        (status = 409, description = "Not in a state the action applies to", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn act(
    State(state): State<ApiState>,
    caller: Caller,
    Segments((group, action)): Segments<(String, String)>,
) -> Result<(axum::Extension<super::audit::Changed>, Json<Rollout>), ApiError> {
    caller.may(Action::ReloadConfig, None)?;
    let by = caller.signed_in().unwrap_or("(no users)").to_owned();
    let before = state.rollouts.list().into_iter().find(|r| r.group == group);
    let done = match action.as_str() {
        "pause" => state.rollouts.act(&group, |r| r.pause(&by)),
        "resume" => state.rollouts.act(&group, |r| r.resume(Timestamp::now())),
        "abort" => state.rollouts.act(&group, |r| r.abort(&by)),
        other => {
            return Err(ApiError::BadRequest(format!(
                "{other:?}: pause, resume or abort"
            )));
        }
    };
    match done {
        None => Err(ApiError::NotFound(format!(
            "group {group:?} has no rollout"
        ))),
        Some(false) => Err(ApiError::Conflict(format!(
            "group {group:?}'s rollout cannot {action} now"
        ))),
        Some(true) => {
            tracing::info!(group, action, by, "rollout steered");
            state
                .rollouts
                .list()
                .into_iter()
                .find(|r| r.group == group)
                .map(|after| (super::audit::Changed::new(&before, &after), Json(after)))
                .ok_or_else(|| ApiError::NotFound(format!("group {group:?} has no rollout")))
        }
    }
}
