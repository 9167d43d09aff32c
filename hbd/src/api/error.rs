//! API errors: every failure is a JSON body `{"error": "..."}` with a fitting status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::core::CommandError;

/// What an API handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The named thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The request is well-formed but cannot be carried out (a config that does not
    /// validate).
    #[error("{0}")]
    Unprocessable(String),
    /// The store failed.
    #[error("store: {0}")]
    Store(String),
    /// The engine did not answer: the reason (busy, slow, stopping).
    #[error("{0}")]
    Unavailable(String),
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> ApiError {
        match e {
            CommandError::UnknownHost(_) | CommandError::UnknownAlert { .. } => {
                ApiError::NotFound(e.to_string())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}
