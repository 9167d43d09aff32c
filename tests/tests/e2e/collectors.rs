//! The daemon sets how a real agent's native collectors run and which of its own Nagios
//! checks run (`groups.NAME.collectors`, and a host's own through the API): applied,
//! refused when a check is not the agent's, and back to the agent's own config.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use hbd_e2e::needs::Need;

use super::artifacts::{keypair, report_where};

/// The second report of `plugin` web1's agent sent after `after` (RFC 3339): the first
/// may come from a collection started before.
fn second_report_after(daemon: &hbd_e2e::Daemon, plugin: &str, after: &str) -> serde_json::Value {
    let first = report_where(daemon, plugin, |s| s["received"].as_str().unwrap() > after)
        .unwrap_or_else(|| panic!("no {plugin} report after {after}"));
    let first_at = first["received"].as_str().unwrap().to_owned();
    report_where(daemon, plugin, |s| {
        s["received"].as_str().unwrap() > first_at.as_str()
    })
    .unwrap_or_else(|| panic!("no second {plugin} report after {after}"))
}

#[test]
fn the_daemon_sets_how_a_real_agents_native_collectors_run_and_which_of_its_checks_run() {
    // Managed plugins are on with a trusted publisher; no artifact is offered here.
    hbd_e2e::require!(Need::Minisign);
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let publisher = keypair(&keys, "publisher");
    let host_key = "web1's own key, long enough";
    let daemon_config = |collectors: &str| {
        format!(
            "hosts:
  web1: {{key: \"{host_key}\"}}
groups:
  web:
    hosts: [web1]
    collectors: {collectors}
"
        )
    };
    let mut daemon = hbd_e2e::Daemon::start(
        dir.path(),
        &daemon_config(
            "{memory_monitor: {enabled: true, interval: 1}, nagios_runner: {checks: [passes]}}",
        ),
    );
    // The agent defines two checks and runs no memory_monitor of its own.
    let _agent = hbd_e2e::Agent::start(
        dir.path(),
        "web1",
        daemon.udp_addr(),
        &format!(
            "interval: 0.5
key: \"{host_key}\"
plugins:
  cpu_monitor: {{enabled: false}}
  memory_monitor: {{enabled: false}}
  nagios_runner:
    interval: 1
    commands:
      - {{name: passes, command: /bin/true}}
      - {{name: warns, command: /bin/false}}
wasm_plugins: {{cache_dir: '{cache}'}}
plugin_trust:
  publishers: [{publisher}]
managed_plugins:
  url: http://{http}
  dir: '{managed}'
  check_every: 3600
",
            cache = dir.path().join("cache").display(),
            http = daemon.http_addr(),
            managed = dir.path().join("managed").display(),
        ),
    );
    let desired = daemon.get_json("/api/0/hosts/web1/plugins/desired");
    assert_eq!(
        desired["collectors"],
        serde_json::json!({"memory_monitor": {"enabled": true, "interval": 1.0},
                           "nagios_runner": {"checks": ["passes"]}})
    );
    let applied = report_where(&daemon, "managed_plugins", |s| {
        s["data"]["digest"] == desired["digest"]
    })
    .unwrap_or_else(|| panic!("never applied; agent log:\n{}", _agent.log()));
    assert_eq!(applied["status"], "OK", "{applied}");
    assert_eq!(applied["data"]["collectors"], desired["collectors"]);
    let applied_at = applied["received"].as_str().unwrap().to_owned();
    // The memory collector the agent had off now reports, and only the chosen check
    // runs: a report after the set was applied has `passes` and not `warns`.
    report_where(&daemon, "memory_monitor", |s| s["data"].is_object()).unwrap_or_else(|| {
        panic!(
            "memory_monitor never reported; agent log:\n{}",
            _agent.log()
        )
    });
    let chosen = second_report_after(&daemon, "nagios_runner", &applied_at);
    assert!(chosen["data"]["passes"].is_object(), "{chosen}");
    assert!(chosen["data"].get("warns").is_none(), "{chosen}");
    assert_eq!(chosen["status"], "OK");

    // A check the agent does not define: the set is refused, named, and the previous
    // one keeps running.
    std::fs::write(
        daemon.config_path(),
        daemon_config("{nagios_runner: {checks: [passes, check_swap]}}"),
    )
    .unwrap();
    daemon.reload().unwrap();
    let refused = report_where(&daemon, "managed_plugins", |s| s["status"] == "WARNING")
        .unwrap_or_else(|| panic!("no refusal; agent log:\n{}", _agent.log()));
    assert_eq!(refused["data"]["refused"][0]["reason"], "collectors");
    assert!(
        refused["data"]["message"]
            .as_str()
            .unwrap()
            .contains("nagios_runner check \"check_swap\" is not defined in this agent's config (defined: passes, warns)"),
        "{refused}"
    );
    assert_eq!(refused["data"]["collectors"], desired["collectors"]);

    let record = daemon.get_json("/api/0/managed/changes?limit=2");
    let said: Vec<&str> = record["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["change"].as_str().unwrap())
        .collect();
    assert_eq!(
        said,
        [
            r#"groups.web.collectors.nagios_runner: {"checks":["passes"]} -> {"checks":["passes","check_swap"]}"#,
            r#"groups.web.collectors.memory_monitor: {"enabled":true,"interval":1.0} dropped"#,
        ],
        "{record}"
    );

    // No settings from the daemon: the agent's own config runs again, both checks.
    std::fs::write(daemon.config_path(), daemon_config("{}")).unwrap();
    daemon.reload().unwrap();
    let own = report_where(&daemon, "managed_plugins", |s| {
        s["status"] == "OK" && s["data"]["collectors"] == serde_json::json!({})
    })
    .unwrap_or_else(|| panic!("never back to its own; agent log:\n{}", _agent.log()));
    let own_at = own["received"].as_str().unwrap().to_owned();
    let both = second_report_after(&daemon, "nagios_runner", &own_at);
    assert!(both["data"]["warns"].is_object(), "{both}");
    assert_eq!(both["status"], "WARNING");

    // What web1 runs of its own, set through the API by whoever manages it (this daemon
    // has no users: open on loopback): checked first, then in force at once.
    let bad = daemon.call(
        "PUT",
        "/api/0/hosts/web1/plugins/own",
        &[],
        Some(r#"{"collectors": {"nagios_runer": {}}, "plugins": {"log_freshness": {"version": "1.0.0"}}}"#),
    );
    assert_eq!(bad.status, 422, "{}", bad.body);
    let why = bad.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        why.contains("log_freshness: the daemon offers no artifacts")
            && why.contains("\"nagios_runer\" is not a native collector"),
        "{why}"
    );
    let put = daemon.call(
        "PUT",
        "/api/0/hosts/web1/plugins/own",
        &[],
        Some(r#"{"collectors": {"nagios_runner": {"checks": ["warns"]}}}"#),
    );
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(
        put.json()["changes"],
        serde_json::json!([r#"hosts.web1.collectors.nagios_runner: {"checks":["warns"]} set"#])
    );
    let mine = report_where(&daemon, "managed_plugins", |s| {
        s["data"]["collectors"] == serde_json::json!({"nagios_runner": {"checks": ["warns"]}})
    })
    .unwrap_or_else(|| panic!("its own never applied; agent log:\n{}", _agent.log()));
    let mine_at = mine["received"].as_str().unwrap().to_owned();
    let only_warns = second_report_after(&daemon, "nagios_runner", &mine_at);
    assert!(only_warns["data"].get("passes").is_none(), "{only_warns}");
    let record = daemon.get_json("/api/0/managed/changes?limit=1");
    assert_eq!(record["changes"][0]["by"], "(no users)", "{record}");
    // Kept across a restart.
    daemon.restart();
    let own = daemon.get_json("/api/0/hosts/web1/plugins/own");
    assert_eq!(
        own["own"]["collectors"],
        serde_json::json!({"nagios_runner": {"checks": ["warns"]}})
    );
}
