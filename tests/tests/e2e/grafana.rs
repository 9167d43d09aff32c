//! The Grafana dashboard (`dist/grafana/hbd.json`): VictoriaMetrics, fed by a real
//! daemon with two real agents (remote_write) and scraping that daemon's /metrics,
//! answers every query of every panel, and the variables' queries, without an error and
//! with data.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use hbd_e2e::needs::Need;
use hbd_e2e::services::Tsdb;

fn dashboard() -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist/grafana/hbd.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every panel but rows, with the panels collapsed rows hold.
fn panels(dashboard: &serde_json::Value) -> Vec<serde_json::Value> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        if panel["type"] == "row" {
            all.extend(panel["panels"].as_array().cloned().unwrap_or_default());
        } else {
            all.push(panel.clone());
        }
    }
    all
}

/// A variable's query, `label_values(SELECTOR, LABEL)`, as (label, selector).
fn label_values_query(variable: &serde_json::Value) -> (String, String) {
    let query = variable["definition"].as_str().unwrap();
    let inner = query
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not a label_values query: {query}"));
    let (selector, label) = inner.rsplit_once(',').unwrap();
    (label.trim().to_owned(), selector.trim().to_owned())
}

#[test]
fn every_panel_of_the_grafana_dashboard_has_data_from_a_real_daemon_and_agents() {
    hbd_e2e::require!(Need::VictoriaMetrics);
    let board = dashboard();
    let panels = panels(&board);
    assert!(panels.len() >= 15, "{} panels", panels.len());
    let ids: BTreeSet<u64> = board["panels"]
        .as_array()
        .unwrap()
        .iter()
        .chain(&panels)
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    for panel in &panels {
        let grid = &panel["gridPos"];
        assert!(
            grid["x"].as_u64().unwrap() + grid["w"].as_u64().unwrap() <= 24,
            "{} is wider than the dashboard",
            panel["title"]
        );
        assert_eq!(
            panel["datasource"]["uid"], "${datasource}",
            "{}",
            panel["title"]
        );
    }
    assert!(ids.len() > panels.len(), "panel ids are not unique");

    let dir = tempfile::tempdir().unwrap();
    // VictoriaMetrics reads its scrape config every second: the daemon's address is
    // known only once it runs.
    let scrape = dir.path().join("scrape.yml");
    std::fs::write(&scrape, "scrape_configs: []\n").unwrap();
    let vm = Tsdb::victoria_metrics_with(
        dir.path(),
        &[
            format!("-promscrape.config={}", scrape.display()),
            "-promscrape.configCheckInterval=1s".into(),
        ],
    );
    // Memory above 0.001 % is a WARNING: an alert level to chart.
    let daemon = hbd_e2e::Daemon::start(
        dir.path(),
        &format!(
            "remote_write: {{url: '{}'}}
thresholds:
  memory_monitor:
    percent: {{warning: 0.001, critical: 100}}
",
            vm.write_url()
        ),
    );
    std::fs::write(
        &scrape,
        format!(
            "scrape_configs:
  - job_name: hbd
    scrape_interval: 1s
    static_configs:
      - targets: ['{}']
",
            daemon.http_addr()
        ),
    )
    .unwrap();
    let agent_config = "interval: 0.5
plugins:
  cpu_monitor: {interval: 1}
  memory_monitor: {interval: 1}
  disk_monitor: {interval: 1}
";
    let _agents = ["web1", "web2"]
        .map(|name| hbd_e2e::Agent::start(dir.path(), name, daemon.udp_addr(), agent_config));

    // The variables: both hosts, and a plugin value to pick.
    let variables = board["templating"]["list"].as_array().unwrap();
    let variable = |name: &str| {
        variables
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no variable {name}"))
    };
    assert_eq!(variable("datasource")["query"], "prometheus");
    let (label, selector) = label_values_query(variable("host"));
    let mut hosts = Vec::new();
    let both = hbd_e2e::wait_until(Duration::from_secs(60), || {
        hosts = vm.label_values(&label, &selector).unwrap();
        hosts.len() == 2
    });
    assert!(both, "the host variable lists {hosts:?}");
    let (label, selector) = label_values_query(variable("plugin_metric"));
    let plugin_values = vm.label_values(&label, &selector).unwrap();
    assert!(
        plugin_values.contains(&"hbd_memory_monitor_percent".to_owned()),
        "{plugin_values:?}"
    );

    // Every target of every panel, as Grafana would send it for "All" hosts.
    let queries: Vec<(String, String)> = panels
        .iter()
        .flat_map(|panel| {
            let targets = panel["targets"].as_array().cloned().unwrap_or_default();
            assert!(!targets.is_empty(), "{} has no query", panel["title"]);
            targets.into_iter().map(move |t| {
                let expr = t["expr"]
                    .as_str()
                    .unwrap()
                    .replace("$host", ".*")
                    .replace("$plugin_metric", "hbd_memory_monitor_percent")
                    .replace("$__rate_interval", "30s")
                    .replace("$__interval", "15s");
                (panel["title"].as_str().unwrap().to_owned(), expr)
            })
        })
        .collect();
    let mut empty: Vec<String> = Vec::new();
    let answered = hbd_e2e::wait_until(Duration::from_secs(90), || {
        empty.clear();
        for (title, expr) in &queries {
            match vm.query_checked(expr) {
                Ok(result) if !result.is_empty() => {}
                Ok(_) => empty.push(format!("{title}: {expr}")),
                Err(error) => panic!("panel {title}: {expr}: {error}"),
            }
        }
        empty.is_empty()
    });
    assert!(
        answered,
        "panels without data after 90 s:\n{}",
        empty.join("\n")
    );
    // The fleet's panels count what the daemon knows.
    let up = vm
        .query_checked("count(last_over_time(hbd_host_up[5m]) == 1) or vector(0)")
        .unwrap();
    assert_eq!(up[0]["value"][1], "2", "{up:?}");
}
