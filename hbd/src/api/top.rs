//! `GET /api/0/plugins/{plugin}/top?path=&limit=&order=`: the hosts with the highest (or
//! lowest) latest value of one metric, across every host the caller sees: "which of my
//! 200 hosts is fullest".

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use super::error::ErrorBody;
use super::extract::{Params, Segments, whole_number};
use super::{ApiError, ApiState};
use crate::auth::roles::Action;
use hbd_core::leaves::numeric_leaves;

/// Hosts listed at most.
pub const MAX_TOP: usize = 1000;

/// Which metric, how many, which end.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TopQuery {
    /// The metric's dotted path in the plugin's data (`cpu_percent`, `partitions./.percent`).
    path: String,
    /// Hosts at most, 1 to 1000 (default 10).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// `desc` (highest first, the default) or `asc`.
    order: Option<String>,
}

/// One host's latest value.
#[derive(Debug, Serialize, ToSchema)]
pub struct TopEntry {
    host: String,
    value: f64,
    /// When its report arrived (RFC 3339).
    received: String,
}

/// The hosts ranked by one metric's latest value.
#[utoipa::path(get, path = "/api/0/plugins/{plugin}/top", tag = "plugins",
    params(("plugin" = String, Path, description = "The plugin"), TopQuery),
    responses(
        (status = 200, description = "Hosts by the metric's latest value", body = Vec<TopEntry>),
        (status = 400, description = "A bad limit or order", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn top(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(plugin): Segments<String>,
    Params(query): Params<TopQuery>,
) -> Result<Json<Vec<TopEntry>>, ApiError> {
    caller.may(Action::View, None)?;
    let limit = whole_number("limit", query.limit.as_deref(), 10, 1..=MAX_TOP)?;
    let highest = match query.order.as_deref() {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "order: expected desc or asc, found {other:?}"
            )));
        }
    };
    let mut ranked: Vec<TopEntry> = state
        .latest
        .all()
        .into_iter()
        .filter(|s| s.plugin == plugin && caller.sees(&s.host))
        .filter_map(|s| {
            let value = numeric_leaves(&s.data)
                .into_iter()
                .find(|(p, _)| *p == query.path)?
                .1;
            Some(TopEntry {
                host: s.host.clone(),
                value,
                received: s.received.rfc3339(),
            })
        })
        .collect();
    ranked.sort_by(|a, b| {
        let order = a.value.total_cmp(&b.value);
        let order = if highest { order.reverse() } else { order };
        order.then_with(|| a.host.cmp(&b.host))
    });
    ranked.truncate(limit);
    Ok(Json(ranked))
}
