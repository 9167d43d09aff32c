//! API errors: every failure is a JSON body `{"error": {"code": "...", "message": "..."}}`
//! with the status HTTP means for it.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::service::{ChangeError, LoginError};
use crate::core::CommandError;
use crate::store::StoreError;

/// What an API handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: no valid session or token.
    #[error("{0}")]
    Unauthenticated(String),
    /// 403: signed in, but the role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// 403: a cookie request from another site, or without its CSRF token.
    #[error("{0}")]
    Csrf(String),
    /// 404: the named thing does not exist (or the caller may not know it does).
    #[error("{0}")]
    NotFound(String),
    /// 400: the request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 409: it clashes with what exists.
    #[error("{0}")]
    Conflict(String),
    /// 409: the config file declares it; the API cannot change it.
    #[error("{0}")]
    ConfigManaged(String),
    /// 409: commands travel only signed, and the host has no key.
    #[error("{0}")]
    Unsigned(String),
    /// 409: no release can be offered for an upgrade (the reason).
    #[error("{0}")]
    NoRelease(String),
    /// 421: a daemon with no users was asked under a name it does not answer to.
    #[error("{0}")]
    Misdirected(String),
    /// 422: well-formed, but cannot be carried out (a config that does not validate,
    /// an unknown user in an access list).
    #[error("{0}")]
    Unprocessable(String),
    /// 429: too many failed logins; try again after the duration.
    #[error("{0}")]
    Throttled(String, Duration),
    /// 500: the store failed.
    #[error("store: {0}")]
    Store(String),
    /// 503: the engine did not answer: the reason (busy, slow, stopping).
    #[error("{0}")]
    Unavailable(String),
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// One error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, for programs: `unauthenticated`, `forbidden`, `csrf`, `not_found`,
    /// `bad_request`, `conflict`, `config_managed`, `unsigned_host`, `no_release`, `misdirected`, `unprocessable`, `throttled`,
    /// `store`, `unavailable`.
    pub code: &'static str,
    /// For people.
    pub message: String,
}

impl ApiError {
    /// The status and the stable code.
    pub fn status(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::Csrf(_) => (StatusCode::FORBIDDEN, "csrf"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::ConfigManaged(_) => (StatusCode::CONFLICT, "config_managed"),
            ApiError::Unsigned(_) => (StatusCode::CONFLICT, "unsigned_host"),
            ApiError::NoRelease(_) => (StatusCode::CONFLICT, "no_release"),
            ApiError::Misdirected(_) => (StatusCode::MISDIRECTED_REQUEST, "misdirected"),
            ApiError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
            ApiError::Throttled(..) => (StatusCode::TOO_MANY_REQUESTS, "throttled"),
            ApiError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "store"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        }
    }

    /// The 404 of a host that does not exist or that the caller may not see: the same
    /// answer for both, so names do not leak.
    pub fn no_host(name: &str) -> ApiError {
        ApiError::NotFound(format!("no host named {name:?}"))
    }
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> ApiError {
        match e {
            CommandError::UnknownHost(_)
            | CommandError::UnknownAlert { .. }
            | CommandError::UnknownSilence(_) => ApiError::NotFound(e.to_string()),
            CommandError::BadSilence(_) => ApiError::BadRequest(e.to_string()),
            CommandError::Unsigned(_) => ApiError::Unsigned(e.to_string()),
            CommandError::NoProblem { .. } | CommandError::NotAcknowledged { .. } => {
                ApiError::Conflict(e.to_string())
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::Store(e.to_string())
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> ApiError {
        match e {
            LoginError::Invalid | LoginError::PasswordsOff => {
                ApiError::Unauthenticated(e.to_string())
            }
            LoginError::Throttled(wait) => ApiError::Throttled(e.to_string(), wait),
            LoginError::Store(e) => e.into(),
        }
    }
}

impl From<ChangeError> for ApiError {
    fn from(e: ChangeError) -> ApiError {
        match e {
            ChangeError::ConfigManaged(m) => ApiError::ConfigManaged(m),
            ChangeError::Conflict(m) => ApiError::Conflict(m),
            ChangeError::Invalid(m) => ApiError::Unprocessable(m),
            ChangeError::NotFound(m) => ApiError::NotFound(m),
            ChangeError::Store(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status();
        let retry = match &self {
            ApiError::Throttled(_, wait) => Some(wait.as_secs().max(1)),
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message: self.to_string(),
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
