//! Enrolment over HTTP. For administrators: `POST /api/0/enrolment/tokens` makes a token
//! (its text is shown once), `GET` lists the ones still good, `DELETE .../{id}`
//! withdraws one; `GET /api/0/enrolment/keys` lists the enrolled hosts' keys (never the
//! keys), and `POST .../keys/{host}/approve` lets a pending key speak and
//! `POST .../keys/{host}/revoke` silences one. For agents, without a login (the
//! exchange is proved by the token or the current key, PROTOCOL.md "Enrolment"):
//! `POST /agent/enrol` and `POST /agent/rekey`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::Changed;
use super::caller::Caller;
use super::error::ErrorBody;
use super::extract::{Body, Segments};
use super::{ApiError, ApiState};
use crate::auth::roles::Action;
use crate::config::enrolled::Standing;
use crate::enrolment::{Enrolment, EnrolmentError, TokenAsk};
use crate::store::enrolment::{StoredKey, StoredToken};

impl From<EnrolmentError> for ApiError {
    fn from(e: EnrolmentError) -> ApiError {
        match e {
            EnrolmentError::Bad(m) => ApiError::BadRequest(m),
            EnrolmentError::Refused(m) => ApiError::Forbidden(m),
            EnrolmentError::Conflict(m) => ApiError::Conflict(m),
            EnrolmentError::NotFound(m) => ApiError::NotFound(m),
            EnrolmentError::Store(e) => ApiError::Store(e.to_string()),
            EnrolmentError::Engine(m) => ApiError::Unavailable(m),
        }
    }
}

fn enrolment(state: &ApiState) -> Result<&Enrolment, ApiError> {
    state
        .enrolment
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("enrolment needs the store".into()))
}

fn who(caller: &Caller) -> String {
    caller.signed_in().unwrap_or("(no users)").to_owned()
}

/// A token to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEnrolmentToken {
    /// Enrolments it allows, 1 to 10000 (default 1).
    #[serde(default)]
    uses: Option<u32>,
    /// Seconds it lasts, 60 to 2592000 (default 86400).
    #[serde(default)]
    expires_in: Option<u64>,
    /// A group whose host name patterns an enrolling host must match.
    #[serde(default)]
    group: Option<String>,
    /// Whether a key made with it speaks at once (default `false`: an administrator
    /// approves each).
    #[serde(default)]
    auto_approve: bool,
}

/// A token made: its text, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct MadeEnrolmentToken {
    /// What the agent's install takes (`hbe1-ID-SECRET`); not kept by the daemon.
    token: String,
    /// What is kept.
    #[serde(flatten)]
    about: StoredToken,
}

/// Makes an enrolment token (administrators).
#[utoipa::path(post, path = "/api/0/enrolment/tokens", tag = "enrolment",
    request_body = NewEnrolmentToken,
    responses(
        (status = 201, description = "The token, shown once", body = MadeEnrolmentToken),
        (status = 400, description = "Uses, lifetime or group out of range", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
        (status = 422, description = "Not a token request", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn make_token(
    State(state): State<ApiState>,
    caller: Caller,
    Body(new): Body<NewEnrolmentToken>,
) -> Result<
    (
        StatusCode,
        axum::Extension<Changed>,
        Json<MadeEnrolmentToken>,
    ),
    ApiError,
> {
    caller.may(Action::ManageKeys, None)?;
    let ask = TokenAsk {
        uses: new.uses.unwrap_or(1),
        lifetime_s: new.expires_in.unwrap_or(86_400),
        group: new.group,
        auto_approve: new.auto_approve,
    };
    let (token, about) = enrolment(&state)?.make_token(&who(&caller), ask).await?;
    // The audit log keeps what the token is, never its secret.
    let changed = Changed::new(&(), &about);
    Ok((
        StatusCode::CREATED,
        changed,
        Json(MadeEnrolmentToken { token, about }),
    ))
}

/// The tokens still good.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolmentTokens {
    /// Newest first.
    tokens: Vec<StoredToken>,
}

/// Lists the enrolment tokens still good (administrators).
#[utoipa::path(get, path = "/api/0/enrolment/tokens", tag = "enrolment",
    responses(
        (status = 200, description = "The tokens (never their secrets)", body = EnrolmentTokens),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn tokens(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<EnrolmentTokens>, ApiError> {
    caller.may(Action::ManageKeys, None)?;
    let tokens = enrolment(&state)?.tokens().await?;
    Ok(Json(EnrolmentTokens { tokens }))
}

/// Withdraws an enrolment token (administrators).
#[utoipa::path(delete, path = "/api/0/enrolment/tokens/{id}", tag = "enrolment",
    params(("id" = String, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
        (status = 404, description = "No such token", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn delete_token(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(id): Segments<String>,
) -> Result<(StatusCode, axum::Extension<Changed>), ApiError> {
    caller.may(Action::ManageKeys, None)?;
    let enrolment = enrolment(&state)?;
    let before = enrolment.tokens().await?.into_iter().find(|t| t.id == id);
    enrolment.delete_token(&id, &who(&caller)).await?;
    Ok((StatusCode::NO_CONTENT, Changed::new(&before, &())))
}

/// The enrolled hosts' keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolledKeys {
    /// By host name.
    keys: Vec<StoredKey>,
}

/// Lists the enrolled hosts' keys, never the keys themselves (administrators).
#[utoipa::path(get, path = "/api/0/enrolment/keys", tag = "enrolment",
    responses(
        (status = 200, description = "Each enrolled host, its key's standing and history", body = EnrolledKeys),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn keys(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<EnrolledKeys>, ApiError> {
    caller.may(Action::ManageKeys, None)?;
    let keys = enrolment(&state)?.keys().await?;
    Ok(Json(EnrolledKeys { keys }))
}

/// Decides on a host's enrolled key (administrators): `approve` lets a pending key
/// speak; `revoke` silences a key, and nothing speaks for the host until it enrols
/// again.
#[utoipa::path(post, path = "/api/0/enrolment/keys/{host}/{action}", tag = "enrolment",
    params(
        ("host" = String, Path, description = "The host"),
        ("action" = String, Path, description = "`approve` or `revoke`"),
    ),
    responses(
        (status = 200, description = "Done; the key as it is now", body = StoredKey),
        (status = 400, description = "Not approve or revoke", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
        (status = 404, description = "The host has no enrolled key", body = ErrorBody),
        (status = 409, description = "Approving a key that is not pending", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn decide(
    State(state): State<ApiState>,
    caller: Caller,
    Segments((host, action)): Segments<(String, String)>,
) -> Result<(axum::Extension<Changed>, Json<StoredKey>), ApiError> {
    caller.may(Action::ManageKeys, None)?;
    let to = match action.as_str() {
        "approve" => Standing::Active,
        "revoke" => Standing::Revoked,
        other => {
            return Err(ApiError::BadRequest(format!(
                "{other:?}: approve or revoke"
            )));
        }
    };
    let enrolment = enrolment(&state)?;
    let before = enrolment.keys().await?.into_iter().find(|k| k.host == host);
    let kept = enrolment.decide(&host, to, &who(&caller)).await?;
    Ok((Changed::new(&before, &kept), Json(kept)))
}

/// A JSON body an agent sent, or 400 with why not (the agents' routes are not in the
/// documented API).
fn agent_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("not a request: {e}")))
}

/// `POST /agent/enrol`: an agent holding a token asks to speak for a host name.
pub async fn enrol(State(state): State<ApiState>, body: axum::body::Bytes) -> Response {
    let answer = async {
        let request = agent_body(&body)?;
        Ok::<_, ApiError>(enrolment(&state)?.enrol(request).await?)
    };
    match answer.await {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /agent/rekey`: an enrolled agent replaces its key, proved with the current one.
pub async fn rekey(State(state): State<ApiState>, body: axum::body::Bytes) -> Response {
    let answer = async {
        let request = agent_body(&body)?;
        Ok::<_, ApiError>(enrolment(&state)?.rekey(request).await?)
    };
    match answer.await {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => e.into_response(),
    }
}
