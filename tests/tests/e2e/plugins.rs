//! End to end: a real agent's plugin reports are stored by the daemon, served by the API
//! (latest and history), exported to /metrics, and kept across a restart.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use hbd_e2e::needs::Need;
use std::time::Duration;

use hbd_e2e::{Agent, Daemon, wait_until, wasm_plugin};

const AGENT: &str = "interval: 0.5
plugins:
  cpu_monitor: {interval: 0.5}
  memory_monitor: {interval: 0.5}
  nagios_runner:
    interval: 0.5
    commands:
      - {name: dummy, command: \"/usr/lib/nagios/plugins/check_dummy 1 'disk getting full'\"}
";

#[test]
fn plugin_reports_are_stored_served_and_exported() {
    hbd_e2e::require!(Need::MonitoringPlugins, Need::Prometheus);
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(dir.path(), "plugin_history: 5");
    let mut agent = Agent::start(dir.path(), "web1", daemon.udp_addr(), AGENT);
    let history_len = |d: &Daemon| {
        d.get("/api/0/hosts/web1/plugins/cpu_monitor?limit=100")
            .filter(|(status, _)| *status == 200)
            .map_or(0, |(_, body)| {
                serde_json::from_str::<serde_json::Value>(&body).unwrap()["samples"]
                    .as_array()
                    .unwrap()
                    .len()
            })
    };
    assert!(
        wait_until(Duration::from_secs(20), || history_len(&daemon) >= 6),
        "history never grew; agent log:\n{}",
        agent.log()
    );

    // Latest of each plugin.
    let latest = daemon.get_json("/api/0/hosts/web1/plugins");
    let plugins = latest["plugins"].as_object().unwrap();
    for name in [
        "os_info",
        "cpu_monitor",
        "memory_monitor",
        "disk_monitor",
        "network_monitor",
        "filesystem_info",
        "nagios_runner",
    ] {
        assert!(
            plugins.contains_key(name),
            "{name} missing: {:?}",
            plugins.keys().collect::<Vec<_>>()
        );
    }
    assert!(plugins["cpu_monitor"]["data"]["cpu_percent"].is_number());
    assert_eq!(plugins["nagios_runner"]["status"], "WARNING");
    assert_eq!(
        plugins["nagios_runner"]["data"]["dummy"]["text"],
        "WARNING: disk getting full"
    );

    // The host carries its os_info.
    let host = daemon.host("web1").unwrap();
    assert_eq!(host["os_info"]["os"], "linux");
    assert!(host["os_info"]["kernel"].is_string());

    // History: bounded to plugin_history (plus pruning slack), newest first, limit honoured.
    let history = daemon.get_json("/api/0/hosts/web1/plugins/cpu_monitor?limit=3");
    let samples = history["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 3);
    let times: Vec<&str> = samples
        .iter()
        .map(|s| s["received"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert!(wait_until(Duration::from_secs(20), || (6..=15)
        .contains(&history_len(&daemon))));

    // Prometheus gauges per host and plugin.
    let (_, metrics) = daemon.get("/metrics").unwrap();
    assert!(
        metrics.contains(
            "hbd_plugin_value{host=\"web1\",plugin=\"cpu_monitor\",metric=\"cpu_percent\"}"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "hbd_plugin_value{host=\"web1\",plugin=\"memory_monitor\",metric=\"percent\"}"
        )
    );
    assert!(metrics.contains("hbd_plugin_status{host=\"web1\",plugin=\"nagios_runner\"} 1"));
    assert!(daemon.metric("hbd_datagrams_total{type=\"PLG\"}") >= 6.0);
    // Prometheus' own linter finds nothing in it; a scraper that asks for OpenMetrics
    // gets that.
    let (clean, findings) = hbd_e2e::promtool_check(&metrics);
    assert!(clean && findings.trim().is_empty(), "{findings}\n{metrics}");
    let open = daemon.call(
        "GET",
        "/metrics",
        &[("Accept", "application/openmetrics-text; version=1.0.0")],
        None,
    );
    assert!(
        open.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{:?}",
        open.header("content-type")
    );
    assert!(open.body.ends_with("# EOF\n"));
    assert!(open.body.contains("# TYPE hbd_datagrams counter\n"));

    // Errors are JSON with the right status.
    for (path, status) in [
        ("/api/0/hosts/nobody/plugins", 404),
        ("/api/0/hosts/nobody/plugins/cpu_monitor", 404),
        ("/api/0/hosts/web1/plugins/no_such_plugin", 404),
        ("/api/0/hosts/web1/plugins/cpu_monitor?limit=0", 400),
        ("/api/0/hosts/web1/plugins/cpu_monitor?limit=lots", 400),
    ] {
        let (got, body) = daemon.get(path).unwrap();
        assert_eq!(got, status, "{path}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(v["error"]["message"].is_string(), "{path}: {body}");
        assert!(v["error"]["code"].is_string(), "{path}: {body}");
    }

    // A restart keeps the latest reports and the history.
    agent.kill();
    // Every report received is in the store (written in batches about once a second).
    assert!(wait_until(Duration::from_secs(10), || {
        let received = daemon.metric("hbd_datagrams_total{type=\"PLG\"}");
        received > 0.0 && daemon.metric("hbd_store_samples_total") == received
    }));
    let before =
        daemon.get_json("/api/0/hosts/web1/plugins/cpu_monitor?limit=100")["samples"].clone();
    daemon.restart();
    let after =
        daemon.get_json("/api/0/hosts/web1/plugins/cpu_monitor?limit=100")["samples"].clone();
    assert_eq!(before, after);
    let latest = daemon.get_json("/api/0/hosts/web1/plugins");
    assert_eq!(latest["plugins"]["nagios_runner"]["status"], "WARNING");
    assert_eq!(daemon.host("web1").unwrap()["os_info"]["os"], "linux");
}

#[test]
fn sigusr1_collects_info_plugins_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), "");
    let agent = Agent::start(dir.path(), "web2", daemon.udp_addr(), "interval: 1");
    let os_info_samples = || {
        daemon
            .get("/api/0/hosts/web2/plugins/os_info?limit=10")
            .filter(|(status, _)| *status == 200)
            .map_or(0, |(_, body)| {
                serde_json::from_str::<serde_json::Value>(&body).unwrap()["samples"]
                    .as_array()
                    .unwrap()
                    .len()
            })
    };
    // os_info runs at start, then daily.
    assert!(wait_until(Duration::from_secs(10), || os_info_samples() == 1));
    // No second one comes by itself: two more heartbeats (1 s apart), and still one.
    let beats = || daemon.metric("hbd_datagrams_total{type=\"HTB\"}");
    let seen = beats();
    assert!(wait_until(Duration::from_secs(10), || beats() >= seen + 2.0));
    assert_eq!(os_info_samples(), 1);
    agent.signal(nix::sys::signal::Signal::SIGUSR1);
    assert!(
        wait_until(Duration::from_secs(10), || os_info_samples() == 2),
        "log:\n{}",
        agent.log()
    );
}

#[test]
fn wasm_plugins_report_like_native_ones_and_misbehaving_ones_are_contained() {
    hbd_e2e::require!(
        Need::Wasm("hbd_log_freshness"),
        Need::Wasm("hbd_fixture_plugin")
    );
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    for name in ["hbd_log_freshness", "hbd_fixture_plugin"] {
        std::fs::copy(wasm_plugin(name), plugins.join(format!("{name}.wasm"))).unwrap();
    }
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let log = logs.join("app.log");
    let now = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    std::fs::write(
        &log,
        format!(
            "{} app started\n",
            String::from_utf8_lossy(&now.stdout).trim()
        ),
    )
    .unwrap();
    let agent_config = format!(
        "interval: 0.5
plugins:
  disk_monitor: {{enabled: false}}
wasm_plugins:
  dirs: [{plugins}]
  cache_dir: {cache}
  plugins:
    log_freshness:
      interval: 0.5
      config: {{path: {log}, warning_s: 600}}
      grants: [{logs}]
    fixture:
      interval: 0.3
      config: {{mode: loop}}
      timeout_ms: 100
",
        plugins = plugins.display(),
        cache = dir.path().join("cache").display(),
        log = log.display(),
        logs = logs.display()
    );
    let daemon = Daemon::start(dir.path(), "");
    let agent = Agent::start(dir.path(), "wasm1", daemon.udp_addr(), &agent_config);
    let latest = |plugin: &str| -> Option<serde_json::Value> {
        let (status, body) = daemon.get("/api/0/hosts/wasm1/plugins")?;
        (status == 200)
            .then(|| {
                serde_json::from_str::<serde_json::Value>(&body).unwrap()["plugins"][plugin].clone()
            })
            .filter(|v| !v.is_null())
    };
    assert!(
        wait_until(Duration::from_secs(20), || latest("log_freshness")
            .is_some()),
        "agent log:\n{}",
        agent.log()
    );
    let fresh = latest("log_freshness").unwrap();
    assert_eq!(fresh["status"], "OK", "{fresh}");
    assert!(fresh["data"]["age_s"].as_f64().unwrap() < 60.0);
    assert_eq!(
        fresh["data"]["bytes"],
        std::fs::metadata(&log).unwrap().len()
    );
    assert!(fresh["data"]["modified_age_s"].as_f64().unwrap() < 60.0);
    // The looping fixture times out, then backs off; the other plugins never notice.
    assert!(
        wait_until(Duration::from_secs(20), || {
            latest("fixture").is_some_and(|f| {
                f["data"]["error"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("backing off")
            })
        }),
        "{:?}",
        latest("fixture")
    );
    // The history is read from the store, which the daemon writes in batches: wait for
    // the timed-out samples to be there rather than read it once.
    let timed_out = || {
        daemon.get_json("/api/0/hosts/wasm1/plugins/fixture?limit=10000")["samples"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["status"] == "UNKNOWN" && s["data"]["error"] == "timed out after 100 ms")
    };
    assert!(
        wait_until(Duration::from_secs(10), timed_out),
        "{:#}",
        daemon.get_json("/api/0/hosts/wasm1/plugins/fixture?limit=10000")
    );
    assert!(latest("cpu_monitor").is_some());
    assert!(daemon.host_state("wasm1").as_deref() == Some("UP"));
    // The compiled components were cached.
    assert_eq!(
        std::fs::read_dir(dir.path().join("cache")).unwrap().count(),
        2
    );
}

#[test]
fn chart_series_hold_at_most_two_points_per_pixel_and_keep_every_extreme() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), "");
    // 600 reports of a saw tooth with one spike; the chart is 20 pixels wide.
    let values: Vec<f64> = (0..600)
        .map(|i| if i == 437 { 1000.0 } else { f64::from(i % 50) })
        .collect();
    for v in &values {
        hbd_e2e::send_datagram(
            daemon.udp_addr(),
            format!(
                r#"{{"ID":"PLG","name":"web1","plugin":"cpu_monitor","kind":"monitor","data":{{"cpu_percent":{v},"cores":{{"0":{v}}}}}}}"#
            )
            .as_bytes(),
        );
    }
    let series = |query: &str| {
        daemon.get(&format!(
            "/api/0/hosts/web1/plugins/cpu_monitor/series?{query}"
        ))
    };
    let mut answer = serde_json::Value::Null;
    assert!(
        wait_until(Duration::from_secs(20), || {
            match series("width=20") {
                Some((200, body)) => {
                    answer = serde_json::from_str(&body).unwrap();
                    answer["reports"] == 600
                }
                _ => false,
            }
        }),
        "the store never held the 600 reports: {answer}"
    );
    for path in ["cpu_percent", "cores.0"] {
        let v: Vec<f64> = answer["metrics"][path]["v"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!(v.len() <= 40, "{path}: {} points for 20 pixels", v.len());
        assert!(v.contains(&1000.0), "{path}: the spike was thinned away");
        assert!(
            v.contains(&0.0),
            "{path}: the lowest value was thinned away"
        );
    }
    let t = answer["metrics"]["cpu_percent"]["t"].as_array().unwrap();
    // Oldest first. Two reports stored within the same millisecond (600 sent at once)
    // may both be a pixel's extremes, so equal times are allowed, never a step back.
    assert!(
        t.windows(2).all(|w| w[0].as_u64() <= w[1].as_u64()),
        "oldest first: {t:?}"
    );
    // A range after the last report holds nothing; a bad width is refused.
    let until = answer["until"].as_u64().unwrap() / 1000 + 10;
    let (status, body) = series(&format!("since={}&until={}", until - 5, until)).unwrap();
    assert_eq!(status, 200, "{body}");
    let empty: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(empty["reports"], 0);
    let (status, body) = series("width=0").unwrap();
    assert_eq!(status, 400);
    assert!(
        body.contains("width must be a whole number from 1 to 4000"),
        "{body}"
    );
}

/// A WASM plugin that judges its own metric alerts through that verdict: its WARNING
/// becomes one alert (at the path named for the plugin, its message as the text) and
/// one mail, however many reports repeat it.
#[test]
fn a_wasm_plugins_own_warning_makes_one_alert_and_one_mail() {
    hbd_e2e::require!(Need::Wasm("hbd_log_freshness"), Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::copy(
        wasm_plugin("hbd_log_freshness"),
        plugins.join("hbd_log_freshness.wasm"),
    )
    .unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let log = logs.join("app.log");
    // The last line is 20 minutes old: past warning_s (600), not critical_s (3600).
    let then = std::process::Command::new("date")
        .args(["-u", "-d", "20 minutes ago", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    std::fs::write(
        &log,
        format!(
            "{} last words\n",
            String::from_utf8_lossy(&then.stdout).trim()
        ),
    )
    .unwrap();
    let smtp = hbd_e2e::services::SmtpCapture::start(dir.path(), &[]);
    let daemon = Daemon::start(
        dir.path(),
        &format!("{}notify_retry_base: 0.2\n", smtp.email_yaml()),
    );
    let _agent = Agent::start(
        dir.path(),
        "wasm2",
        daemon.udp_addr(),
        &format!(
            "interval: 0.5
wasm_plugins:
  dirs: [{plugins}]
  cache_dir: {cache}
  plugins:
    log_freshness:
      interval: 0.3
      config: {{path: {log}, warning_s: 600, critical_s: 3600}}
      grants: [{logs}]
",
            plugins = plugins.display(),
            cache = dir.path().join("cache").display(),
            log = log.display(),
            logs = logs.display()
        ),
    );
    let alert = || -> Option<serde_json::Value> {
        daemon
            .get_json("/api/0/alerts")
            .as_array()?
            .iter()
            .find(|a| a["host"] == "wasm2" && a["path"] == "log_freshness")
            .cloned()
    };
    assert!(
        wait_until(Duration::from_secs(20), || alert().is_some()),
        "{}",
        daemon.get_json("/api/0/alerts")
    );
    let a = alert().unwrap();
    assert_eq!(a["level"], "WARNING");
    assert!(
        a["detail"].as_str().unwrap().contains("getting stale"),
        "{a}"
    );
    let mails = || -> Vec<String> {
        smtp.subjects()
            .into_iter()
            .filter(|s| s.contains("log_freshness"))
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(10), || !mails().is_empty()),
        "{:?}",
        smtp.subjects()
    );
    assert!(
        mails()[0].contains("WARNING: wasm2 - log_freshness"),
        "{:?}",
        mails()
    );
    // Ten more reports say the same: still one mail.
    let reports = || {
        daemon.get_json("/api/0/hosts/wasm2/plugins/log_freshness?limit=1000")["samples"]
            .as_array()
            .map_or(0, Vec::len)
    };
    let seen = reports();
    assert!(wait_until(Duration::from_secs(20), || reports() >= seen + 10));
    assert_eq!(mails().len(), 1, "{:?}", smtp.subjects());
}
