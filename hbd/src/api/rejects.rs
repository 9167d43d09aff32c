//! `GET /api/0/rejects`: the senders whose datagrams the daemon turned away (a wrong or
//! missing key, an unsigned agent under `require_signed`, a clock far off), so an agent
//! that never shows up says why. They name addresses, key ids and claimed host names
//! of any sender, so only those who may read `/metrics` (administrators) see them.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::ErrorBody;
use super::{ApiError, ApiState};
use crate::auth::roles::Action;
use crate::rejects::{Rejected, hint};

/// One sender whose datagrams are rejected.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedView {
    /// The source address.
    source: String,
    /// The key id its signed datagrams name.
    key_id: Option<String>,
    /// The host name its first rejected datagram claimed, when it could be read (not
    /// verified).
    name: Option<String>,
    /// Why: `unknown_key`, `bad_signature`, `unsigned`, `clock_skew`, `replay`,
    /// `bad_json`, ... (the `reason` label of `hbd_datagrams_rejected_total`).
    reason: &'static str,
    /// The latest rejection, in words.
    detail: String,
    /// The likely cause and what to do.
    hint: &'static str,
    /// Datagrams rejected.
    count: u64,
    /// The first rejected (RFC 3339).
    first: String,
    /// The latest rejected (RFC 3339).
    last: String,
}

impl From<Rejected> for RejectedView {
    fn from(r: Rejected) -> RejectedView {
        RejectedView {
            source: r.source.to_string(),
            key_id: r.key_id,
            name: r.name,
            reason: r.reason.as_str(),
            detail: r.detail,
            hint: hint(r.reason),
            count: r.count,
            first: r.first.rfc3339(),
            last: r.last.rfc3339(),
        }
    }
}

/// The rejected senders, the latest first (at most 1,000 since the daemon started;
/// the longest quiet are forgotten first).
#[utoipa::path(get, path = "/api/0/rejects", tag = "hosts",
    responses(
        (status = 200, description = "Rejected senders", body = Vec<RejectedView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<RejectedView>>, ApiError> {
    caller.may(Action::ReadMetrics, None)?;
    Ok(Json(
        state
            .rejects
            .list()
            .into_iter()
            .map(RejectedView::from)
            .collect(),
    ))
}
