//! `GET /api/0/checks`: the checks run from several vantage points (`checks` in the
//! config), each with its combined state and every vantage point's answer and latency.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::ErrorBody;
use super::{ApiError, ApiState, ask};
use crate::auth::roles::Action;
use crate::engine::Query;
use hbd_core::vantage::{CheckView, VantageView};

/// A check run from several vantage points, as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckBody {
    /// The check's name (`checks.NAME`); it alerts as `check:NAME`.
    name: String,
    /// The plugin its vantage points run (or a path under it).
    plugin: String,
    /// The group of its vantage points.
    group: String,
    /// How many counted vantage points must agree for its state to change.
    quorum: usize,
    /// Its combined state: OK, WARNING, CRITICAL or UNKNOWN.
    level: &'static str,
    /// When it last changed (RFC 3339); absent before any vantage point answered.
    since: Option<String>,
    /// Vantage points whose answers count now (their hosts are UP).
    counted: usize,
    /// Of those, how many agree with `level`.
    agreeing: usize,
    /// Each vantage point the caller sees that has answered, by host name.
    vantage: Vec<VantageBody>,
}

/// One vantage point's latest answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct VantageBody {
    /// The host.
    host: String,
    /// The host's own state (UP, DOWN, UNREACHABLE, UNKNOWN).
    host_state: &'static str,
    /// Whether its answer counts now (its host is UP).
    counted: bool,
    /// What it answered: OK, WARNING, CRITICAL or UNKNOWN.
    level: &'static str,
    /// What it said.
    detail: Option<String>,
    /// How long the check took there, milliseconds, when its report says.
    latency_ms: Option<f64>,
    /// When it answered (RFC 3339).
    at: String,
}

impl From<VantageView> for VantageBody {
    fn from(v: VantageView) -> VantageBody {
        VantageBody {
            host_state: v.host_state.as_str(),
            counted: v.counted,
            level: v.answer.level.as_str(),
            detail: v.answer.detail,
            latency_ms: v.answer.latency_ms,
            at: v.answer.at.rfc3339(),
            host: v.host,
        }
    }
}

impl From<CheckView> for CheckBody {
    fn from(c: CheckView) -> CheckBody {
        CheckBody {
            level: c.level.as_str(),
            since: c.since.map(|t| t.rfc3339()),
            vantage: c.vantage.into_iter().map(VantageBody::from).collect(),
            name: c.name,
            plugin: c.plugin,
            group: c.group,
            quorum: c.quorum,
            counted: c.counted,
            agreeing: c.agreeing,
        }
    }
}

/// Every check run from several vantage points. An administrator sees them all; anyone
/// else sees the checks with a vantage point they see, listing only those.
#[utoipa::path(get, path = "/api/0/checks", tag = "alerts",
    responses(
        (status = 200, description = "Checks with each vantage point's answer", body = Vec<CheckBody>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<CheckBody>>, ApiError> {
    caller.may(Action::View, None)?;
    let checks = ask(&state, Query::Checks).await?;
    let all = caller.sees_all();
    Ok(Json(
        checks
            .into_iter()
            .filter_map(|mut c| {
                if !all {
                    c.vantage.retain(|v| caller.sees(&v.host));
                    if c.vantage.is_empty() {
                        return None;
                    }
                }
                Some(CheckBody::from(c))
            })
            .collect(),
    ))
}
