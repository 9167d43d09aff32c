//! End to end: metric history out by Prometheus remote_write into a real
//! VictoriaMetrics and a real Prometheus (Debian's), read back with PromQL; the retry
//! policy against the recording HTTP stand-in; every sample accounted for.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use hbd_e2e::needs::Need;
use std::time::Duration;

use hbd_e2e::services::{HttpStub, Tsdb};
use hbd_e2e::{Daemon, send_datagram, wait_until};

fn config(url: &str) -> String {
    config_with(url, "")
}

/// The config with `more` keys of the `remote_write` section.
fn config_with(url: &str, more: &str) -> String {
    format!(
        "remote_write:\n  url: {url}\n  flush_interval: 0.2\n  external_labels: {{hbd_shard: eu-1}}\n{more}\
         thresholds:\n  cpu_monitor:\n    cpu_percent: {{warning: 80, critical: 90}}\n"
    )
}

/// A report stamped `ts` (Unix seconds) by the agent.
fn report(daemon: &Daemon, host: &str, ts: f64, cpu: f64) {
    let json = format!(
        r#"{{"ID":"PLG","name":"{host}","ts":{ts},"plugin":"cpu_monitor","kind":"monitor","data":{{"cpu_percent":{cpu},"partitions":{{"/":{{"percent":71.5}}}}}}}}"#
    );
    send_datagram(daemon.udp_addr(), json.as_bytes());
}

fn now_s() -> f64 {
    hbd_e2e::unix_now().floor()
}

fn round_trip(tsdb: &Tsdb) {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), &config(&tsdb.write_url()));
    let ts = now_s() - 5.0;
    report(&daemon, "t1", ts, 95.0);
    send_datagram(
        daemon.udp_addr(),
        format!(r#"{{"ID":"HTB","name":"t1","ts":{},"rtt":0.4}}"#, ts + 1.0).as_bytes(),
    );
    let query = r#"hbd_cpu_monitor_cpu_percent{host="t1"}"#;
    let mut found = Vec::new();
    assert!(
        wait_until(Duration::from_secs(15), || {
            found = tsdb.query(&format!("last_over_time({query}[5m])"));
            !found.is_empty()
        }),
        "{}: nothing for {query}; hbd log:\n{}",
        tsdb.kind,
        daemon.log()
    );
    let series = &found[0];
    assert_eq!(series["value"][1], "95", "{}: {series}", tsdb.kind);
    assert_eq!(series["metric"]["hbd_shard"], "eu-1", "external label");
    // The sample's time is the agent's report time, not the daemon's.
    let stamped = tsdb.query(&format!("timestamp({query})"));
    assert_eq!(
        stamped[0]["value"][1]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap(),
        ts,
        "{}",
        tsdb.kind
    );
    // Collections become a label; host up, RTT in seconds, and the alert level.
    let disk = tsdb.query(r#"hbd_cpu_monitor_partitions_percent{host="t1",item="/"}"#);
    assert_eq!(disk[0]["value"][1], "71.5", "{}: {disk:?}", tsdb.kind);
    let ok = wait_until(Duration::from_secs(10), || {
        tsdb.query(r#"hbd_host_up{host="t1"}"#).len() == 1
            && tsdb.query(r#"hbd_host_rtt_seconds{host="t1"}"#).len() == 1
            && !tsdb
                .query(r#"hbd_alert_level{host="t1",path="cpu_monitor.cpu_percent"} == 2"#)
                .is_empty()
    });
    assert!(ok, "{}: up/rtt/alert missing", tsdb.kind);
    let rtt = tsdb.query(r#"hbd_host_rtt_seconds{host="t1"}"#);
    assert_eq!(rtt[0]["value"][1], "0.0004");
    // Every sample accounted for: sent + dropped + queued = produced.
    assert!(wait_until(Duration::from_secs(10), || {
        let produced = daemon.metric("hbd_remote_write_samples_produced_total");
        produced > 0.0 && daemon.metric("hbd_remote_write_samples_sent_total") == produced
    }));
    assert_eq!(daemon.metric("hbd_remote_write_samples_dropped_total"), 0.0);
}

#[test]
fn samples_reach_victoria_metrics_with_the_agent_s_time() {
    hbd_e2e::require!(Need::VictoriaMetrics);
    let dir = tempfile::tempdir().unwrap();
    round_trip(&Tsdb::victoria_metrics(dir.path()));
}

#[test]
fn samples_reach_prometheus_with_the_agent_s_time() {
    hbd_e2e::require!(Need::Prometheus);
    let dir = tempfile::tempdir().unwrap();
    round_trip(&Tsdb::prometheus(dir.path()));
}

#[test]
fn server_errors_are_retried_and_client_errors_dropped() {
    hbd_e2e::require!(Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let stub = HttpStub::start(dir.path());
    // One shard, so a report's samples travel as one batch (with several, each shard
    // sends and retries its own part of it).
    let url = format!("{}/api/v1/write", stub.url());
    let daemon = Daemon::start(dir.path(), &config_with(&url, "  shards: 1\n"));
    // Three 500s, then accepted: the same batch arrives four times, with growing gaps.
    stub.fail("/api/v1/write", 500, 3, 0.0);
    report(&daemon, "t1", now_s(), 10.0);
    assert!(
        wait_until(Duration::from_secs(15), || stub
            .requests("/api/v1/write")
            .iter()
            .any(|r| r["status"] == 200 || r["status"] == 204)),
        "{:#?}",
        stub.requests("/api/v1/write")
    );
    let tries = stub.requests("/api/v1/write");
    let statuses: Vec<i64> = tries
        .iter()
        .map(|r| r["status"].as_i64().unwrap())
        .collect();
    assert_eq!(&statuses[..3], [500, 500, 500], "{statuses:?}");
    let times: Vec<f64> = tries.iter().map(|r| r["time"].as_f64().unwrap()).collect();
    assert!(
        times[2] - times[1] > times[1] - times[0],
        "backoff grows: {times:?}"
    );
    let header = |name: &str| {
        tries[0]["headers"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str().unwrap().to_owned())
    };
    assert_eq!(header("content-encoding").as_deref(), Some("snappy"));
    assert_eq!(
        header("x-prometheus-remote-write-version").as_deref(),
        Some("0.1.0")
    );
    let produced = daemon.metric("hbd_remote_write_samples_produced_total");
    assert!(wait_until(Duration::from_secs(5), || daemon
        .metric("hbd_remote_write_samples_sent_total")
        == produced));
    assert_eq!(
        daemon.metric("hbd_remote_write_samples_retried_total"),
        3.0 * produced
    );

    // A 400 (say, a sample too old for Prometheus) is never retried: dropped, counted.
    let before = stub.requests("/api/v1/write").len();
    stub.fail("/api/v1/write", 400, 1, 0.0);
    report(&daemon, "t1", now_s(), 20.0);
    assert!(wait_until(Duration::from_secs(10), || daemon
        .metric("hbd_remote_write_samples_dropped_total")
        > 0.0));
    let produced = daemon.metric("hbd_remote_write_samples_produced_total");
    assert_eq!(
        daemon.metric("hbd_remote_write_samples_sent_total")
            + daemon.metric("hbd_remote_write_samples_dropped_total"),
        produced,
        "sent + dropped = produced"
    );
    assert_eq!(
        stub.requests("/api/v1/write").len(),
        before + 1,
        "not retried"
    );
}

/// Thirty reports a minute apart over the last half hour: SQLite keeps one (plugin_history
/// 1), the TSDB all; the chart API serves them from the TSDB.
fn charts_read_the_tsdb(tsdb: &Tsdb) {
    let dir = tempfile::tempdir().unwrap();
    let base = format!("http://{}", tsdb.addr);
    let daemon = Daemon::start(
        dir.path(),
        &format!(
            "remote_write:\n  url: {}\n  query_url: {base}\n  flush_interval: 0.2\nplugin_history: 1\n",
            tsdb.write_url()
        ),
    );
    let start = now_s() - 1800.0;
    for i in 0..30 {
        report(&daemon, "t1", start + 60.0 * f64::from(i), f64::from(i));
    }
    assert!(
        wait_until(Duration::from_secs(15), || {
            let n = tsdb.query(r#"count_over_time(hbd_cpu_monitor_cpu_percent{host="t1"}[1h])"#);
            n.first().is_some_and(|s| s["value"][1] == "30")
        }),
        "{}: not all 30 reports arrived",
        tsdb.kind
    );
    let path = format!(
        "/api/0/hosts/t1/plugins/cpu_monitor/series?since={}&until={}&width=800",
        start - 30.0,
        now_s()
    );
    let chart = daemon.get_json(&path);
    assert_eq!(chart["source"], "tsdb", "{chart}");
    let cpu = &chart["metrics"]["cpu_percent"];
    let values: Vec<f64> = cpu["v"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let mut distinct = values.clone();
    distinct.dedup();
    assert_eq!(
        distinct,
        (0..30).map(f64::from).collect::<Vec<_>>(),
        "{}: every report, in time order, from the TSDB (SQLite keeps one)",
        tsdb.kind
    );
    assert!(
        chart["metrics"]["partitions./.percent"]["v"]
            .as_array()
            .is_some_and(|v| !v.is_empty())
    );
    let stored = daemon.get_json("/api/0/hosts/t1/plugins/cpu_monitor?limit=100");
    assert!(
        stored["samples"].as_array().unwrap().len() <= 3,
        "SQLite keeps a short window"
    );
}

#[test]
fn charts_read_longer_ranges_from_victoria_metrics() {
    hbd_e2e::require!(Need::VictoriaMetrics);
    let dir = tempfile::tempdir().unwrap();
    charts_read_the_tsdb(&Tsdb::victoria_metrics(dir.path()));
}

#[test]
fn charts_read_longer_ranges_from_prometheus() {
    hbd_e2e::require!(Need::Prometheus);
    let dir = tempfile::tempdir().unwrap();
    charts_read_the_tsdb(&Tsdb::prometheus(dir.path()));
}

#[test]
fn shards_with_their_own_label_are_seen_side_by_side_in_one_query() {
    hbd_e2e::require!(Need::VictoriaMetrics);
    // Two independent daemons (a shard each, as two sites would run them), one TSDB.
    let dir = tempfile::tempdir().unwrap();
    let tsdb = Tsdb::victoria_metrics(dir.path());
    let mut shards = Vec::new();
    for (shard, hosts) in [("eu-1", 2), ("us-1", 3)] {
        let home = dir.path().join(shard);
        std::fs::create_dir_all(&home).unwrap();
        let d = Daemon::start(
            &home,
            &format!(
                "remote_write:\n  url: {}\n  flush_interval: 0.2\n  external_labels: {{hbd_shard: {shard}}}\n",
                tsdb.write_url()
            ),
        );
        for i in 0..hosts {
            let beat = format!(r#"{{"ID":"HTB","name":"{shard}-h{i}","ts":{}}}"#, now_s());
            send_datagram(d.udp_addr(), beat.as_bytes());
        }
        shards.push(d);
    }
    // The global view: hosts up per shard, one PromQL query over both daemons' series.
    let query = "count by (hbd_shard) (last_over_time(hbd_host_up[5m]) == 1)";
    let mut per_shard = Vec::new();
    assert!(
        wait_until(Duration::from_secs(15), || {
            per_shard = tsdb
                .query(query)
                .iter()
                .map(|s| {
                    (
                        s["metric"]["hbd_shard"].as_str().unwrap_or("").to_owned(),
                        s["value"][1].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect();
            per_shard.sort();
            per_shard == [("eu-1".into(), "2".into()), ("us-1".into(), "3".into())]
        }),
        "{per_shard:?}"
    );
}

#[test]
fn a_real_agent_s_series_pass_promtool_and_read_back_in_the_units_it_reported() {
    hbd_e2e::require!(Need::VictoriaMetrics, Need::Prometheus);
    // Every built-in plugin a real agent runs by default, through a real daemon into a
    // real VictoriaMetrics: each series name written must pass Prometheus' own linter,
    // as /metrics does (written as the gauges they are), and the charts read values back
    // in the agent's units although the TSDB holds base units (MB -> bytes).
    let dir = tempfile::tempdir().unwrap();
    let tsdb = Tsdb::victoria_metrics(dir.path());
    let daemon = Daemon::start(
        dir.path(),
        &format!(
            "remote_write:\n  url: {}\n  flush_interval: 0.2\n  query_url: http://{}\n",
            tsdb.write_url(),
            tsdb.addr
        ),
    );
    let agent = hbd_e2e::Agent::start(dir.path(), "web1", daemon.udp_addr(), "interval: 0.5");
    let names = || -> Vec<String> {
        let _ = hbd_e2e::http_get(tsdb.addr, "/internal/force_flush");
        let Some((200, body)) = hbd_e2e::http_get(tsdb.addr, "/api/v1/label/__name__/values")
        else {
            return Vec::new();
        };
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        v["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect()
    };
    let wanted = [
        "hbd_memory_monitor_total_bytes",
        "hbd_disk_monitor_partitions_free_bytes",
        "hbd_cpu_monitor_cpu_percent",
        "hbd_network_monitor_interfaces_rx_bytes",
        "hbd_host_up",
    ];
    assert!(
        wait_until(Duration::from_secs(20), || {
            let have = names();
            wanted.iter().all(|w| have.iter().any(|h| h == w))
        }),
        "{:?}\n{}",
        names(),
        agent.log()
    );
    let text: String = names()
        .iter()
        .map(|n| format!("# HELP {n} A series hbd writes.\n# TYPE {n} gauge\n{n} 0\n"))
        .collect();
    let (clean, findings) = hbd_e2e::promtool_check(&text);
    assert!(clean, "promtool: {findings}\n{text}");

    // The chart API reads memory_monitor back from the TSDB in MB, as reported.
    let stored = daemon.get_json("/api/0/hosts/web1/plugins/memory_monitor?limit=1");
    let reported = stored["samples"][0]["data"]["total_mb"].as_f64().unwrap();
    let mut series = serde_json::Value::Null;
    let read_back = wait_until(Duration::from_secs(15), || {
        let _ = hbd_e2e::http_get(tsdb.addr, "/internal/force_flush");
        series = daemon.get_json(&format!(
            "/api/0/hosts/web1/plugins/memory_monitor/series?since={}&until={}",
            now_s() - 600.0,
            now_s() + 1.0
        ));
        series["metrics"]["total_mb"]["v"]
            .as_array()
            .is_some_and(|v| !v.is_empty())
    });
    assert!(read_back, "{series}");
    assert_eq!(series["source"], "tsdb", "{series}");
    let v = &series["metrics"]["total_mb"]["v"];
    assert!(
        v.as_array()
            .is_some_and(|v| v.iter().all(|x| x.as_f64() == Some(reported))),
        "{v} != {reported}: {series}"
    );
}
