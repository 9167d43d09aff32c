//! Staged rollout with a dozen real agents: a new version of a signed plugin goes to
//! one canary, then to half the group, then to all, each stage once it stayed healthy;
//! a version that fails on the canary is rolled back within two intervals and reaches
//! no one else; an operator pauses, resumes and aborts.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::time::Duration;

use hbd_e2e::needs::Need;
use hbd_e2e::{Agent, Daemon, wait_until};

use super::artifacts::{Publishing, offer, publishing};

const AGENTS: usize = 12;
const KEY: &str = "the fleet key, long enough for hmac";

/// Which version of log_freshness each agent reports it runs, by host.
fn versions(daemon: &Daemon) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for i in 0..AGENTS {
        let host = format!("web{i:02}");
        let Some((200, body)) = daemon.get(&format!(
            "/api/0/hosts/{host}/plugins/managed_plugins?limit=1"
        )) else {
            continue;
        };
        let latest: serde_json::Value = serde_json::from_str(&body).unwrap();
        if let Some(v) =
            latest["samples"][0]["data"]["plugins"]["log_freshness"]["version"].as_str()
        {
            out.insert(host, v.to_owned());
        }
    }
    out
}

/// Whether `host` reported running `version` in any of its last 100 managed_plugins
/// reports: a version held for two intervals is seen even when a poll comes late.
fn reported(daemon: &Daemon, host: &str, version: &str) -> bool {
    let Some((200, body)) = daemon.get(&format!(
        "/api/0/hosts/{host}/plugins/managed_plugins?limit=100"
    )) else {
        return false;
    };
    let history: serde_json::Value = serde_json::from_str(&body).unwrap();
    history["samples"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| s["data"]["plugins"]["log_freshness"]["version"].as_str() == Some(version))
}

fn count(daemon: &Daemon, version: &str) -> usize {
    versions(daemon).values().filter(|v| *v == version).count()
}

fn rollout(daemon: &Daemon) -> serde_json::Value {
    daemon.get_json("/api/0/rollouts")["rollouts"][0].clone()
}

#[test]
fn a_dozen_agents_take_a_new_version_in_stages_and_a_failing_one_is_rolled_back_from_its_canary() {
    hbd_e2e::require!(Need::Minisign, Need::Wasm("hbd_log_freshness"));
    let dir = tempfile::tempdir().unwrap();
    let Publishing {
        keys,
        offered,
        publisher,
        grant,
    } = publishing(dir.path());
    for version in ["1.2.0", "1.3.0", "1.4.0", "1.5.0"] {
        offer(&keys, &offered, "publisher", version, &grant, "1");
    }
    let daemon_config = |version: &str, log: &str| {
        format!(
            "artifacts_dir: {}
hb_key: '{KEY}'
groups:
  web:
    hosts: ['web*']
    rollout: {{canaries: 1, healthy_for: 2, waves: [50, 100]}}
    plugins:
      log_freshness:
        version: {version}
        interval: 1
        grants: ['{grant}']
        config: {{path: '{grant}/{log}', warning_s: 3600, critical_s: 7200}}
",
            offered.display()
        )
    };
    let mut daemon = Daemon::start(dir.path(), &daemon_config("1.2.0", "app.log"));
    let start = |i: usize| {
        let name = format!("web{i:02}");
        Agent::start(
                dir.path(),
                &name,
                daemon.udp_addr(),
                &format!(
                    "interval: 1
key: '{KEY}'
plugins: {{cpu_monitor: {{enabled: false}}, memory_monitor: {{enabled: false}}, disk_monitor: {{enabled: false}}, network_monitor: {{enabled: false}}}}
wasm_plugins: {{cache_dir: '{cache}'}}
plugin_trust:
  publishers: [{publisher}]
  grants: ['{grant}']
  min_interval: 1
managed_plugins:
  url: http://{http}
  dir: '{managed}'
  check_every: 3600
",
                    cache = dir.path().join("cache").display(),
                    http = daemon.http_addr(),
                    managed = dir.path().join(format!("managed-{name}")).display(),
                ),
            )
    };
    // One agent first: it compiles the plugin into the shared cache (every version here
    // is the same module), so the other eleven do not all compile it at once on a busy
    // machine.
    let mut agents = vec![start(0)];
    assert!(
        wait_until(Duration::from_secs(120), || count(&daemon, "1.2.0") == 1),
        "the first agent never ran 1.2.0; its log:\n{}",
        agents[0].log()
    );
    agents.extend((1..AGENTS).map(start));
    // At start there is nothing to roll out from: every agent takes 1.2.0.
    assert!(
        wait_until(Duration::from_secs(120), || count(&daemon, "1.2.0")
            == AGENTS),
        "not all on 1.2.0: {:?}; an agent's log:\n{}",
        versions(&daemon),
        agents[0].log()
    );

    // 1.3.0: the canary first, then half, then all.
    std::fs::write(daemon.config_path(), daemon_config("1.3.0", "app.log")).unwrap();
    daemon.reload().unwrap();
    assert!(
        wait_until(Duration::from_secs(30), || count(&daemon, "1.3.0") == 1),
        "no canary: {:?}",
        versions(&daemon)
    );
    assert_eq!(
        versions(&daemon)["web00"],
        "1.3.0",
        "the first member by name"
    );
    let r = rollout(&daemon);
    assert_eq!(r["group"], "web");
    assert_eq!(r["split"]["state"], "running", "{r}");
    // Nobody else moves before the canary stayed healthy for two intervals.
    assert!(
        count(&daemon, "1.3.0") < AGENTS / 2 + 1,
        "{:?}",
        versions(&daemon)
    );
    assert!(
        wait_until(Duration::from_secs(60), || count(&daemon, "1.3.0")
            >= AGENTS / 2),
        "the first wave never came: {:?} {}",
        versions(&daemon),
        rollout(&daemon)
    );
    assert!(
        wait_until(Duration::from_secs(60), || count(&daemon, "1.3.0")
            == AGENTS),
        "never all on 1.3.0: {:?} {}",
        versions(&daemon),
        rollout(&daemon)
    );
    assert!(wait_until(Duration::from_secs(10), || {
        rollout(&daemon)["split"]["state"] == "done"
    }));

    // 1.4.0 reads a log that is not there: its canary reports UNKNOWN, the canary is
    // rolled back within two intervals of applying it, and no one else ever takes it.
    std::fs::write(daemon.config_path(), daemon_config("1.4.0", "missing.log")).unwrap();
    daemon.reload().unwrap();
    assert!(
        wait_until(Duration::from_secs(60), || reported(
            &daemon, "web00", "1.4.0"
        )),
        "the canary never took 1.4.0: {:?}",
        versions(&daemon)
    );
    let took = std::time::Instant::now();
    assert!(
        wait_until(
            Duration::from_secs(30),
            || rollout(&daemon)["split"]["state"] == "rolled_back"
        ),
        "never rolled back: {}",
        rollout(&daemon)
    );
    let r = rollout(&daemon);
    assert!(
        r["note"]
            .as_str()
            .unwrap()
            .starts_with("web00: log_freshness: "),
        "{r}"
    );
    assert!(
        wait_until(Duration::from_secs(30), || versions(&daemon)
            .get("web00")
            .map(String::as_str)
            == Some("1.3.0")),
        "the canary is not back on 1.3.0: {:?}",
        versions(&daemon)
    );
    // Two intervals (2 s) from taking it to the rollback, with the agents' reporting
    // and this test's polling on a busy machine around it.
    assert!(
        took.elapsed() < Duration::from_secs(20),
        "{:?}",
        took.elapsed()
    );
    assert_eq!(count(&daemon, "1.4.0"), 0, "{:?}", versions(&daemon));
    assert_eq!(count(&daemon, "1.3.0"), AGENTS);
    let record = daemon.get_json("/api/0/managed/changes?limit=20");
    assert!(
        record["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["by"] == "rollout"
                && c["change"]
                    .as_str()
                    .unwrap()
                    .starts_with("groups.web rollout rolled back: canary web00 unhealthy")),
        "{record}"
    );

    // The canary's people are told, as of an operator message from it.
    let history = daemon.get_json("/api/0/hosts/web00/history");
    assert!(
        history["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "MESSAGE"
                && e["text"].as_str().is_some_and(
                    |t| t.starts_with("groups.web rollout rolled back: canary web00 unhealthy")
                )),
        "{history}"
    );

    // A restart keeps the rollback: every member should still run 1.3.0.
    daemon.restart();
    assert!(wait_until(Duration::from_secs(10), || {
        rollout(&daemon)["split"]["state"] == "rolled_back"
    }));
    for host in ["web00", "web05", "web11"] {
        let desired = daemon.get_json(&format!("/api/0/hosts/{host}/plugins/desired"));
        assert_eq!(
            desired["plugins"][0]["version"], "1.3.0",
            "{host}: {desired}"
        );
    }

    // An operator pauses a healthy rollout (nobody moves), resumes, then aborts (the
    // canary goes back).
    std::fs::write(daemon.config_path(), daemon_config("1.5.0", "app.log")).unwrap();
    daemon.reload().unwrap();
    assert!(wait_until(Duration::from_secs(30), || count(
        &daemon, "1.5.0"
    ) == 1));
    let paused = daemon.call("POST", "/api/0/rollouts/web/pause", &[], None);
    assert_eq!(paused.status, 200, "{}", paused.body);
    assert_eq!(paused.json()["split"]["state"], "paused");
    assert_eq!(
        daemon
            .call("POST", "/api/0/rollouts/web/pause", &[], None)
            .status,
        409
    );
    assert_eq!(
        daemon
            .call("POST", "/api/0/rollouts/nope/pause", &[], None)
            .status,
        404
    );
    assert_eq!(
        daemon
            .call("POST", "/api/0/rollouts/web/jump", &[], None)
            .status,
        400
    );
    let aborted = daemon.call("POST", "/api/0/rollouts/web/abort", &[], None);
    assert_eq!(aborted.status, 200, "{}", aborted.body);
    assert!(
        wait_until(Duration::from_secs(30), || count(&daemon, "1.3.0")
            == AGENTS),
        "the canary never went back: {:?}",
        versions(&daemon)
    );
}
