//! `GET /api/0/notify/channels` and `POST /api/0/notify/test` (administrators): the
//! configured notification channels and targets, and a sample sent through one now,
//! with what the service answered each delivery.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::ErrorBody;
use super::extract::Body;
use super::{ApiError, ApiState};
use crate::auth::roles::Action;
use crate::notify::test_send::{self, TestSendError, Tried};

/// A channel or target the test-send takes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelView {
    /// Its name (`email`, `pushover`, `mattermost`, `signal`, or a target's name).
    name: String,
    /// What it is (`email`, ..., `slack`, `webhook`, `pagerduty`, `alertmanager`, ...).
    kind: &'static str,
}

/// Which channel to test.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    /// A channel's or target's name.
    channel: String,
}

/// What the test did.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestAnswer {
    /// The channel tested.
    channel: String,
    /// Each delivery: to whom, what, and what the service answered.
    tried: Vec<Tried>,
}

/// Every configured notification channel and target.
#[utoipa::path(get, path = "/api/0/notify/channels", tag = "config",
    responses(
        (status = 200, description = "The channels and targets", body = Vec<ChannelView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn channels(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<ChannelView>>, ApiError> {
    caller.may(Action::TestNotify, None)?;
    let config = state.config.get();
    Ok(Json(
        test_send::names(&config)
            .into_iter()
            .map(|(name, kind)| ChannelView { name, kind })
            .collect(),
    ))
}

/// Sends a sample notification (`WARNING: hbd-test - test.notification = a test sent by
/// USER`) through one channel or target now, once, to its own recipients; a PagerDuty
/// or Alertmanager target gets the sample's recovery after it. The answer says what
/// the service answered each delivery (200 even when the service refused: the refusal
/// is the answer).
#[utoipa::path(post, path = "/api/0/notify/test", tag = "config",
    request_body = TestRequest,
    responses(
        (status = 200, description = "Sent; each delivery with the service's answer", body = TestAnswer),
        (status = 400, description = "The channel has no recipient of its own to test", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator, or a cookie request without its CSRF token", body = ErrorBody),
        (status = 404, description = "No such channel or target", body = ErrorBody),
        (status = 422, description = "The body is not `{\"channel\": NAME}`", body = ErrorBody),
        (status = 503, description = "The channels could not be made (their settings)", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn test(
    State(state): State<ApiState>,
    caller: Caller,
    Body(request): Body<TestRequest>,
) -> Result<Json<TestAnswer>, ApiError> {
    caller.may(Action::TestNotify, None)?;
    let by = caller.signed_in().unwrap_or("an administrator").to_owned();
    let config = state.config.get();
    match test_send::send(&config, &request.channel, &by).await {
        Ok(tried) => {
            tracing::info!(channel = %request.channel, by = %by, deliveries = tried.len(), ok = tried.iter().all(|t| t.ok), "test notification sent");
            Ok(Json(TestAnswer {
                channel: request.channel,
                tried,
            }))
        }
        Err(e @ TestSendError::Unknown(_)) => Err(ApiError::NotFound(e.to_string())),
        Err(e @ TestSendError::NoRecipient(_)) => Err(ApiError::BadRequest(e.to_string())),
        Err(e @ TestSendError::Setup(_)) => Err(ApiError::Unavailable(e.to_string())),
    }
}
