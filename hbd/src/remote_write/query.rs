//! The charts' way back: a plugin's metrics over a range from the TSDB's Prometheus
//! query API, thinned there as [`crate::downsample`] thins SQLite's: the lowest and
//! highest value per step, a step being one pixel of the chart.
//!
//! Only selectors and `min_over_time`/`max_over_time` are used: VictoriaMetrics'
//! MetricsQL accepts more than Prometheus, and both must answer. Each series keeps its
//! `metric` label (the dotted path), so series stay apart when the functions drop the
//! metric name.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use super::series::sanitize;
use crate::downsample::Series;

/// How long a chart waits for the TSDB.
pub const TIMEOUT: Duration = Duration::from_secs(10);

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("hbd/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default()
    })
}

/// The step for a range drawn `width` pixels wide, whole seconds, at least one.
pub fn step_s(since_ms: u64, until_ms: u64, width: usize) -> u64 {
    let span = until_ms.saturating_sub(since_ms) / 1000;
    span.div_ceil(width.max(1) as u64).max(1)
}

/// The selector of one host's series of one plugin.
pub fn selector(host: &str, plugin: &str) -> String {
    // Host names hold only letters, digits, `.`, `-` and `_`: nothing to escape.
    format!(
        "{{__name__=~\"hbd_{}_.+\",host=\"{host}\"}}",
        sanitize(plugin)
    )
}

/// Why the TSDB gave no series.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// It could not be reached, or its answer was not JSON.
    #[error("the TSDB at {base}: {source}")]
    Unreachable {
        /// The TSDB's base URL.
        base: String,
        /// What failed.
        source: reqwest::Error,
    },
    /// It answered with an error.
    #[error("the TSDB answered {kind}: {message}")]
    Refused {
        /// Its `errorType`.
        kind: String,
        /// Its `error`.
        message: String,
    },
}

/// Adds one `query_range` answer's points of `plugin` to `out`, by `metric` label, in
/// the units the agent reported (the writer moved them to base units).
pub fn add_points(
    answer: &Value,
    plugin: &str,
    out: &mut BTreeMap<String, Vec<(u64, f64)>>,
) -> Result<(), QueryError> {
    if answer["status"] != "success" {
        return Err(QueryError::Refused {
            kind: answer["errorType"]
                .as_str()
                .unwrap_or("an error")
                .to_owned(),
            message: answer["error"].as_str().unwrap_or("").to_owned(),
        });
    }
    for series in answer["data"]["result"].as_array().into_iter().flatten() {
        let labels = &series["metric"];
        let Some(metric) = labels["metric"].as_str() else {
            continue;
        };
        let raw = super::series::raw_name(
            plugin,
            metric,
            labels["item"].as_str(),
            labels["index"].as_str(),
        );
        let (_, factor) = super::convention::name(&raw);
        let points = out.entry(metric.to_owned()).or_default();
        for pair in series["values"].as_array().into_iter().flatten() {
            let t = pair[0].as_f64().unwrap_or(0.0);
            let v = pair[1].as_str().and_then(|s| s.parse::<f64>().ok());
            if let Some(v) = v.filter(|v| v.is_finite()) {
                points.push(((t * 1000.0).round() as u64, v / factor));
            }
        }
    }
    Ok(())
}

/// Merges the per-step lows and highs into one series per metric, in time order, one
/// point where both are equal.
pub fn merge(points: BTreeMap<String, Vec<(u64, f64)>>) -> BTreeMap<String, Series> {
    points
        .into_iter()
        .map(|(metric, mut pts)| {
            pts.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
            pts.dedup();
            let mut s = Series::default();
            for (t, v) in pts {
                s.t.push(t);
                s.v.push(v);
            }
            (metric, s)
        })
        .collect()
}

/// `host`'s `plugin` metrics from `since_ms` to `until_ms`, at most two points per pixel
/// of a `width`-pixel chart.
pub async fn plugin_series(
    base: &str,
    host: &str,
    plugin: &str,
    since_ms: u64,
    until_ms: u64,
    width: usize,
) -> Result<BTreeMap<String, Series>, QueryError> {
    let step = step_s(since_ms, until_ms, width);
    let sel = selector(host, plugin);
    let mut points = BTreeMap::new();
    for f in ["min_over_time", "max_over_time"] {
        let query = format!("{f}({sel}[{step}s])");
        let form = [
            ("query", query),
            ("start", format!("{:.3}", since_ms as f64 / 1000.0)),
            ("end", format!("{:.3}", until_ms as f64 / 1000.0)),
            ("step", format!("{step}s")),
        ];
        let answer: Value = client()
            .post(format!("{base}/api/v1/query_range"))
            .form(&form)
            .send()
            .await
            .map_err(|source| QueryError::Unreachable {
                base: base.to_owned(),
                source,
            })?
            .json()
            .await
            .map_err(|source| QueryError::Unreachable {
                base: base.to_owned(),
                source,
            })?;
        add_points(&answer, plugin, &mut points)?;
    }
    Ok(merge(points))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_a_pixel_and_lows_and_highs_merge_by_metric() {
        assert_eq!(step_s(0, 800_000, 800), 1);
        assert_eq!(step_s(0, 8_000_000, 800), 10);
        assert_eq!(step_s(5, 5, 800), 1);
        assert_eq!(
            selector("web1", "cpu_monitor"),
            r#"{__name__=~"hbd_cpu_monitor_.+",host="web1"}"#
        );
        let low = serde_json::json!({"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {"metric": "cpu_percent", "host": "web1"}, "values": [[10, "1"], [20, "5"]]},
            {"metric": {"metric": "partitions./.percent"}, "values": [[10, "70"]]},
            {"metric": {"host": "web1"}, "values": [[10, "9"]]},
        ]}});
        let high = serde_json::json!({"status": "success", "data": {"result": [
            {"metric": {"metric": "cpu_percent"}, "values": [[10, "3"], [20, "5"], [30, "NaN"]]},
        ]}});
        let mut points = BTreeMap::new();
        add_points(&low, "cpu_monitor", &mut points).unwrap();
        add_points(&high, "cpu_monitor", &mut points).unwrap();
        let series = merge(points);
        assert_eq!(series["cpu_percent"].t, [10_000, 10_000, 20_000]);
        assert_eq!(series["cpu_percent"].v, [1.0, 3.0, 5.0]);
        assert_eq!(series["partitions./.percent"].v, [70.0]);
        assert_eq!(
            series.len(),
            2,
            "a series without `metric` is not a plugin value"
        );
        let bad =
            serde_json::json!({"status": "error", "errorType": "bad_data", "error": "parse error"});
        assert!(
            add_points(&bad, "cpu_monitor", &mut BTreeMap::new())
                .unwrap_err()
                .to_string()
                .contains("parse error")
        );
    }
}
