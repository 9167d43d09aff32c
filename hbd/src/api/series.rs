//! `GET /api/0/hosts/{name}/plugins/{plugin}/series?since=&until=&width=`: every numeric
//! metric of a plugin over a time range, thinned on the server to at most two points
//! per pixel of a chart `width` pixels wide (see [`crate::downsample`]); read from the
//! TSDB instead when `remote_write.query_url` is set (see
//! [`crate::remote_write::query`]).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use super::error::ErrorBody;
use super::extract::{Params, Segments, whole_number};
use super::hosts::find;
use super::plugins::time;
use super::{ApiError, ApiState};
use crate::auth::roles::Action;
use crate::clock::Timestamp;
use crate::downsample::metrics;
use crate::remote_write::query::plugin_series;

/// Chart width assumed when none is given, in pixels.
pub const DEFAULT_WIDTH: usize = 800;
/// Widest chart served.
pub const MAX_WIDTH: usize = 4000;

/// The range and the chart's width.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// From this time (RFC 3339 or Unix seconds); default: the oldest kept report.
    since: Option<String>,
    /// To this time (RFC 3339 or Unix seconds); default: now.
    until: Option<String>,
    /// The chart's width in pixels, 1 to 4000 (default 800): at most two points per
    /// pixel come back per metric.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 4000)]
    width: Option<String>,
}

/// A plugin's metrics over a range.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginSeries {
    host: String,
    plugin: String,
    /// The range served, Unix milliseconds.
    since: u64,
    /// The range served, Unix milliseconds.
    until: u64,
    /// The oldest kept report, Unix milliseconds (`null`: none kept yet).
    first: Option<u64>,
    /// Reports in the range before thinning (from the TSDB: distinct sample times
    /// served).
    reports: usize,
    /// Where the points come from: `store` (SQLite) or `tsdb` (`remote_write.query_url`).
    source: &'static str,
    /// Each numeric metric by dotted path.
    metrics: BTreeMap<String, super::view::Series>,
    /// The thresholds in force on the host for these metrics, by the same paths, for
    /// lines on the charts.
    thresholds: BTreeMap<String, Threshold>,
}

/// One metric's threshold rule on the host.
#[derive(Debug, Serialize, ToSchema)]
pub struct Threshold {
    /// WARNING past this.
    warning: Option<f64>,
    /// CRITICAL past this.
    critical: Option<f64>,
    /// How the value compares: `>`, `>=`, `<`, `<=`, `==` or `!=`.
    operator: &'static str,
}

/// A plugin's numeric metrics over a time range, thinned for a chart.
#[utoipa::path(get, path = "/api/0/hosts/{name}/plugins/{plugin}/series", tag = "plugins",
    params(
        ("name" = String, Path, description = "The host"),
        ("plugin" = String, Path, description = "The plugin"),
        SeriesQuery,
    ),
    responses(
        (status = 200, description = "The metrics", body = PluginSeries),
        (status = 400, description = "A bad width or time", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such host, or the caller holds no role on it", body = ErrorBody),
        (status = 503, description = "The engine is busy, or the TSDB did not answer", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn series(
    State(state): State<ApiState>,
    caller: Caller,
    Segments((name, plugin)): Segments<(String, String)>,
    Params(query): Params<SeriesQuery>,
) -> Result<Json<PluginSeries>, ApiError> {
    let width = whole_number(
        "width",
        query.width.as_deref(),
        DEFAULT_WIDTH,
        1..=MAX_WIDTH,
    )?;
    let since = time("since", query.since.as_deref())?;
    let until = time("until", query.until.as_deref())?.unwrap_or_else(Timestamp::now);
    find(&state, &caller, &name, Action::View).await?;
    let query_url = state
        .config
        .get()
        .remote_write
        .as_ref()
        .and_then(|rw| rw.query_url.clone());
    let reader = state.reader.clone();
    let (host, plug) = (name.clone(), plugin.clone());
    let store = |e: String| ApiError::Store(e);
    // SQLite's reports are read only when they are what is drawn.
    let from_store = query_url.is_none();
    let (first, since, reports) = tokio::task::spawn_blocking(move || {
        let first = reader.first_report(&host, &plug)?;
        let since = since.or(first).unwrap_or(until);
        let reports = if from_store {
            reader.reports_between(&host, &plug, (since, until))?
        } else {
            Vec::new()
        };
        Ok::<_, rusqlite::Error>((first, since, reports))
    })
    .await
    .map_err(|e| store(e.to_string()))?
    .map_err(|e| store(e.to_string()))?;
    let (count, metrics, source) = match query_url {
        // The TSDB keeps the history; SQLite only a short window.
        Some(base) => {
            let metrics = plugin_series(&base, &name, &plugin, since.0, until.0, width)
                .await
                .map_err(|e| ApiError::Unavailable(e.to_string()))?;
            let mut times: Vec<u64> = metrics.values().flat_map(|s| s.t.iter().copied()).collect();
            times.sort_unstable();
            times.dedup();
            (times.len(), metrics, "tsdb")
        }
        None => {
            let count = reports.len();
            let metrics =
                tokio::task::spawn_blocking(move || metrics(&reports, since.0, until.0, width))
                    .await
                    .map_err(|e| store(e.to_string()))?;
            (count, metrics, "store")
        }
    };
    let labels = state.auth.host_labels().get(&name);
    let rules = state.config.get().rules_of(&name, labels.as_deref());
    let thresholds = metrics
        .keys()
        .filter_map(|path| {
            let mut key = vec![plugin.clone()];
            key.extend(path.split('.').map(str::to_owned));
            let rule = rules.get(&key)?;
            let t = Threshold {
                warning: rule.warning,
                critical: rule.critical,
                operator: rule.operator.as_str(),
            };
            Some((path.clone(), t))
        })
        .collect();
    Ok(Json(PluginSeries {
        thresholds,
        host: name,
        plugin,
        since: since.0,
        until: until.0,
        first: first.map(|t| t.0),
        reports: count,
        source,
        metrics: metrics.into_iter().map(|(k, v)| (k, v.into())).collect(),
    }))
}
