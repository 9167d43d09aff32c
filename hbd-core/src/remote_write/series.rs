//! What is written, named by Prometheus' conventions: `hbd_<plugin>_<key>` per numeric
//! plugin value (a collection's item and a list's position become the `item` and
//! `index` labels, and `metric` keeps the value's dotted path as `/metrics` and the API
//! name it), `hbd_host_up`, `hbd_host_rtt_seconds` and `hbd_alert_level`, each with a
//! `host` label and the operator's external labels. Names and label names keep
//! to `[a-zA-Z_][a-zA-Z0-9_]*`; anything else becomes `_`.

use serde_json::{Map, Value};

use crate::alerting::Level;
use crate::clock::Timestamp;

/// One sample of one series: labels sorted by name, `__name__` included.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series' labels, sorted by name.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub ts_ms: i64,
}

/// `text` as a metric or label name part: ASCII letters, digits and `_` only.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn sample(
    name: String,
    host: &str,
    extra: Vec<(String, String)>,
    value: f64,
    ts: i64,
    external: &[(String, String)],
) -> Sample {
    let mut labels = Vec::with_capacity(3 + extra.len() + external.len());
    labels.push(("__name__".to_owned(), name));
    labels.push(("host".to_owned(), host.to_owned()));
    labels.extend(extra);
    for (k, v) in external {
        if !labels.iter().any(|(name, _)| name == k) {
            labels.push((k.clone(), v.clone()));
        }
    }
    labels.sort();
    Sample {
        labels,
        value,
        ts_ms: ts,
    }
}

/// A report's sample time: the agent's `ts` (seconds) when it sent one, else when it
/// arrived. Two daemons fed the same report thus write the same point.
pub fn report_time(ts: Option<f64>, received: Timestamp) -> i64 {
    match ts {
        Some(t) if t.is_finite() && t > 0.0 => (t * 1000.0).round() as i64,
        _ => i64::try_from(received.0).unwrap_or(i64::MAX),
    }
}

/// Every numeric value (and boolean, as 0/1) of one plugin report.
pub fn report(
    host: &str,
    plugin: &str,
    data: &Map<String, Value>,
    ts_ms: i64,
    external: &[(String, String)],
) -> Vec<Sample> {
    struct Walk<'a> {
        host: &'a str,
        ts: i64,
        external: &'a [(String, String)],
        out: Vec<Sample>,
    }
    fn walk(
        w: &mut Walk<'_>,
        name: &str,
        path: &str,
        labels: &[(String, String)],
        key: &str,
        v: &Value,
    ) {
        let here = || format!("{name}_{}", sanitize(key));
        let at = if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        };
        let with_metric = |labels: &[(String, String)], at: &str| {
            let mut l = labels.to_vec();
            l.push(("metric".to_owned(), at.to_owned()));
            l
        };
        match v {
            Value::Number(_) | Value::Bool(_) => {
                walk_leaf(w, &here(), &with_metric(labels, &at), v);
            }
            Value::Object(m) if hb_proto::catalogue::is_collection(key) => {
                // `partitions: {"/": {percent: 71}}` -> hbd_disk_monitor_partitions_percent{item="/"}
                let name = here();
                for (item, entry) in m {
                    let mut l = labels.to_vec();
                    l.push(("item".to_owned(), item.clone()));
                    let item_at = format!("{at}.{item}");
                    match entry {
                        Value::Object(fields) => {
                            for (k, child) in fields {
                                walk(w, &name, &item_at, &l, k, child);
                            }
                        }
                        other => walk_leaf(w, &name, &with_metric(&l, &item_at), other),
                    }
                }
            }
            Value::Object(m) => {
                let name = here();
                for (k, child) in m {
                    walk(w, &name, &at, labels, k, child);
                }
            }
            Value::Array(items) => {
                let name = here();
                for (i, child) in items.iter().enumerate() {
                    let mut l = labels.to_vec();
                    l.push(("index".to_owned(), i.to_string()));
                    walk_leaf(w, &name, &with_metric(&l, &format!("{at}.{i}")), child);
                }
            }
            _ => {}
        }
    }
    fn walk_leaf(w: &mut Walk<'_>, name: &str, labels: &[(String, String)], v: &Value) {
        let value = match v {
            Value::Number(n) => n.as_f64(),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        };
        if let Some(f) = value {
            let (name, factor) = super::convention::name(name);
            let s = sample(name, w.host, labels.to_vec(), f * factor, w.ts, w.external);
            w.out.push(s);
        }
    }
    let mut w = Walk {
        host,
        ts: ts_ms,
        external,
        out: Vec::new(),
    };
    let base = format!("hbd_{}", sanitize(plugin));
    for (k, v) in data {
        walk(&mut w, &base, "", &[], k, v);
    }
    w.out
}

/// A heartbeat (`up` 1) or a missed deadline (`up` 0), and the round trip if measured.
pub fn host(
    host: &str,
    up: bool,
    rtt_ms: Option<f64>,
    ts_ms: i64,
    external: &[(String, String)],
) -> Vec<Sample> {
    let mut out = vec![sample(
        "hbd_host_up".into(),
        host,
        Vec::new(),
        f64::from(u8::from(up)),
        ts_ms,
        external,
    )];
    if let Some(rtt) = rtt_ms.filter(|r| r.is_finite()) {
        out.push(sample(
            "hbd_host_rtt_seconds".into(),
            host,
            Vec::new(),
            rtt / 1000.0,
            ts_ms,
            external,
        ));
    }
    out
}

/// An alert path's level: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (as `hbd_plugin_status`).
pub fn alert(
    host: &str,
    path: &str,
    level: Level,
    ts_ms: i64,
    external: &[(String, String)],
) -> Sample {
    let code = match level {
        Level::Ok => 0.0,
        Level::Warning => 1.0,
        Level::Critical => 2.0,
        Level::Unknown => 3.0,
    };
    sample(
        "hbd_alert_level".into(),
        host,
        vec![("path".to_owned(), path.to_owned())],
        code,
        ts_ms,
        external,
    )
}

/// Whether `name` is a valid Prometheus metric or label name.
/// The name a plugin value's series had before [`super::convention::name`], from what
/// its labels keep (`metric`, and `item` and `index` when set): what the chart reader
/// needs to scale a value back.
pub fn raw_name(plugin: &str, metric: &str, item: Option<&str>, index: Option<&str>) -> String {
    let mut path = metric.to_owned();
    if let Some(i) = index
        && let Some(rest) = path.strip_suffix(&format!(".{i}"))
    {
        path = rest.to_owned();
    }
    if let Some(item) = item {
        let needle = format!(".{item}");
        let at = path.match_indices(&needle).map(|(i, _)| i).find(|&i| {
            let before = path[..i].rsplit('.').next().unwrap_or("");
            let after = &path[i + needle.len()..];
            hb_proto::catalogue::is_collection(before)
                && (after.is_empty() || after.starts_with('.'))
        });
        if let Some(i) = at {
            path.replace_range(i..i + needle.len(), "");
        }
    }
    // Keys join with `_` in the name, and `.` becomes `_`: the path says it all.
    format!("hbd_{}_{}", sanitize(plugin), sanitize(&path))
}

pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(samples: &[Sample]) -> Vec<String> {
        samples
            .iter()
            .map(|s| {
                s.labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
                    + &format!(" {}", s.value)
            })
            .collect()
    }

    #[test]
    fn report_values_become_named_series_with_the_agent_s_time() {
        let data = serde_json::json!({
            "cpu_percent": 37.5,
            "per_core": [12.0, 63.0],
            "partitions": {"/": {"percent": 71.0, "device": "sda1"}, "/var/log": {"percent": 5}},
            "load": {"1min": 0.5},
            "on_battery": false,
            "hostname": "web1",
        });
        let external = [("hbd_shard".to_owned(), "eu-1".to_owned())];
        let ts = report_time(Some(1_795_833_000.25), Timestamp(1));
        assert_eq!(ts, 1_795_833_000_250);
        let got = report(
            "web1",
            "cpu-monitor",
            data.as_object().unwrap(),
            ts,
            &external,
        );
        let mut got = names(&got);
        got.sort();
        assert_eq!(
            got,
            [
                "__name__=hbd_cpu_monitor_cpu_percent,hbd_shard=eu-1,host=web1,metric=cpu_percent 37.5",
                "__name__=hbd_cpu_monitor_load_1min,hbd_shard=eu-1,host=web1,metric=load.1min 0.5",
                "__name__=hbd_cpu_monitor_on_battery,hbd_shard=eu-1,host=web1,metric=on_battery 0",
                "__name__=hbd_cpu_monitor_partitions_percent,hbd_shard=eu-1,host=web1,item=/,metric=partitions./.percent 71",
                "__name__=hbd_cpu_monitor_partitions_percent,hbd_shard=eu-1,host=web1,item=/var/log,metric=partitions./var/log.percent 5",
                "__name__=hbd_cpu_monitor_per_core,hbd_shard=eu-1,host=web1,index=0,metric=per_core.0 12",
                "__name__=hbd_cpu_monitor_per_core,hbd_shard=eu-1,host=web1,index=1,metric=per_core.1 63",
            ]
        );
        assert_eq!(report_time(None, Timestamp(42)), 42);
    }

    #[test]
    fn the_reader_finds_each_series_name_and_scale_from_its_labels() {
        let data = serde_json::json!({
            "total_mb": 2.0,
            "rtt_ms": [1.5, 250.0],
            "interfaces": {"eth0.100": {"rx_bytes_per_s": 10.0}, "lo": {"rx_bytes": 7}},
            "partitions": {"/mnt/a.b": {"free_gb": 1.0}},
            "tcp_connections": {"ESTABLISHED": 3},
            "errors_total": 4,
        });
        let samples = report("h", "net", data.as_object().unwrap(), 0, &[]);
        assert_eq!(samples.len(), 8);
        for s in &samples {
            let label = |k: &str| {
                s.labels
                    .iter()
                    .find(|(name, _)| name == k)
                    .map(|(_, v)| v.as_str())
            };
            let metric = label("metric").unwrap();
            let raw = raw_name("net", metric, label("item"), label("index"));
            let (name, factor) = super::super::convention::name(&raw);
            assert_eq!(Some(name.as_str()), label("__name__"), "{metric}");
            // Scaled back, the value is what the agent reported.
            let reported = match metric {
                "total_mb" => 2.0,
                "rtt_ms.0" => 1.5,
                "rtt_ms.1" => 250.0,
                "interfaces.eth0.100.rx_bytes_per_s" => 10.0,
                "interfaces.lo.rx_bytes" => 7.0,
                "partitions./mnt/a.b.free_gb" => 1.0,
                "tcp_connections.ESTABLISHED" => 3.0,
                "errors_total" => 4.0,
                other => panic!("unexpected {other}"),
            };
            assert!(
                (s.value / factor - reported).abs() < 1e-9,
                "{metric}: {}",
                s.value
            );
        }
        let names: std::collections::BTreeSet<&str> = samples
            .iter()
            .filter_map(|s| s.labels.iter().find(|(k, _)| k == "__name__"))
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            [
                "hbd_net_errors_total_value",
                "hbd_net_interfaces_rx_bytes",
                "hbd_net_interfaces_rx_bytes_per_second",
                "hbd_net_partitions_free_bytes",
                "hbd_net_rtt_seconds",
                "hbd_net_tcp_connections_established",
                "hbd_net_total_bytes",
            ]
        );
    }

    #[test]
    fn every_name_written_is_a_valid_prometheus_name() {
        let data = serde_json::json!({"weird key!": 1, "ü": {"x-y": 2}});
        let mut all = report("h", "my plugin", data.as_object().unwrap(), 0, &[]);
        all.extend(host("h", true, Some(0.4), 0, &[]));
        all.push(alert(
            "h",
            "cpu_monitor.cpu_percent",
            Level::Critical,
            0,
            &[],
        ));
        for s in &all {
            for (k, v) in &s.labels {
                assert!(valid_name(k), "label name {k}");
                if k == "__name__" {
                    assert!(valid_name(v), "metric name {v}");
                }
            }
            let mut sorted = s.labels.clone();
            sorted.sort();
            assert_eq!(sorted, s.labels, "labels sorted");
        }
        let h = host("h", true, Some(400.0), 7, &[]);
        assert_eq!(h[1].value, 0.4, "seconds");
        assert!(!valid_name("1abc") && !valid_name("a-b") && valid_name("hbd_host_up"));
    }
}
