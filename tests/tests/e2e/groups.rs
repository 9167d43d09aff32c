//! End to end: host groups. An agent declares labels in its config; a group defined by
//! a label gives that host a threshold profile and an owner, and the API says which
//! groups hold it.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use hbd_e2e::{Agent, Daemon, password_hash, send_datagram, wait_until};

const PASSWORD: &str = "groups test password";

#[test]
fn a_group_defined_by_a_label_applies_a_profile_and_an_owner_to_the_agent_that_declares_it() {
    let dir = tempfile::tempdir().unwrap();
    let hash = password_hash(PASSWORD);
    let daemon = Daemon::start(
        dir.path(),
        &format!(
            "users:
  ada: {{admin: true, password: '{hash}'}}
  olga: {{password: '{hash}'}}
  moe: {{password: '{hash}'}}
thresholds:
  cpu_monitor:
    cpu_percent: {{warning: 80, critical: 90}}
threshold_configs:
  busy:
    cpu_monitor:
      cpu_percent: {{warning: 95, critical: 99}}
groups:
  web:
    labels: {{role: web}}
    threshold_config: [busy]
    owner: olga
"
        ),
    );
    let _agent = Agent::start(
        dir.path(),
        "lab1",
        daemon.udp_addr(),
        "interval: 0.5\nlabels: {role: web, env: test}\nplugins:\n  cpu_monitor: {enabled: false}\n",
    );
    let ada = format!("Bearer {}", daemon.login("ada", PASSWORD));
    let olga = format!("Bearer {}", daemon.login("olga", PASSWORD));
    let moe = format!("Bearer {}", daemon.login("moe", PASSWORD));
    let get = |auth: &str, path: &str| daemon.call("GET", path, &[("Authorization", auth)], None);
    let mut host = serde_json::Value::Null;
    assert!(
        wait_until(Duration::from_secs(10), || {
            host = get(&ada, "/api/0/hosts/lab1").json();
            host["groups"] == serde_json::json!(["web"])
        }),
        "{host}"
    );
    assert_eq!(
        host["labels"],
        serde_json::json!({"role": "web", "env": "test"})
    );

    // The group's profile: 96 is past busy's warning (95), not its critical (99).
    send_datagram(
        daemon.udp_addr(),
        br#"{"ID":"PLG","name":"lab1","plugin":"cpu_monitor","kind":"monitor","data":{"cpu_percent":96}}"#,
    );
    let mut alert = serde_json::Value::Null;
    assert!(
        wait_until(Duration::from_secs(5), || {
            alert = get(&ada, "/api/0/alerts").json()[0].clone();
            alert["host"] == "lab1"
        }),
        "{alert}"
    );
    assert_eq!(alert["level"], "WARNING", "{alert}");
    assert_eq!(alert["threshold"], 95.0, "{alert}");

    // The group's owner: olga sees lab1 and may drop it; moe does not see it at all.
    assert!(
        wait_until(Duration::from_secs(5), || {
            get(&olga, "/api/0/hosts/lab1").status == 200
        }),
        "{}",
        get(&olga, "/api/0/hosts/lab1").body
    );
    let mine = get(&olga, "/api/0/hosts/lab1").json();
    assert!(
        mine["may"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "drop_host"),
        "{mine}"
    );
    let access = get(&olga, "/api/0/hosts/lab1/access").json();
    assert_eq!(access["owner"], "olga", "{access}");
    assert_eq!(get(&moe, "/api/0/hosts/lab1").status, 404);

    // A silence over the group covers its known members, listed; moe may silence none
    // of them, and a group the config does not define is refused.
    let post = |auth: &str, body: &str| {
        daemon.call(
            "POST",
            "/api/0/silences",
            &[("Authorization", auth)],
            Some(body),
        )
    };
    let made = post(
        &ada,
        r#"{"group": "web", "duration": "1h", "comment": "deploy"}"#,
    );
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.json()["only"], serde_json::json!(["lab1"]));
    assert_eq!(made.json()["hosts"], "*");
    let refused = post(
        &moe,
        r#"{"group": "web", "duration": "1h", "comment": "not mine"}"#,
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    let unknown = post(
        &ada,
        r#"{"group": "nope", "duration": "1h", "comment": "x"}"#,
    );
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    let holds = get(&olga, "/api/0/hosts/lab1/holds").json();
    assert_eq!(holds["silences"][0]["comment"], "deploy", "{holds}");
}

#[test]
fn a_groups_people_are_told_about_its_hosts_on_their_own_channels() {
    hbd_e2e::require!(hbd_e2e::needs::Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let stub = hbd_e2e::services::HttpStub::start(dir.path());
    // The mattermost webhook without a channel of its own: only users' channels are
    // addressed, so each request says whom it was for.
    let daemon = Daemon::start(
        dir.path(),
        &format!(
            "{thresholds}users:
  dba: {{mattermost_channel: dba-team, notification_channels: [mattermost]}}
  web: {{mattermost_channel: web-team, notification_channels: [mattermost]}}
groups:
  databases:
    hosts: ['db*']
    monitors: [dba]
  webs:
    hosts: ['web*']
    owner: web
mattermost:
  webhook_url: {url}/hooks/route
",
            thresholds = hbd_e2e::CPU_THRESHOLDS,
            url = stub.url()
        ),
    );
    for host in ["db1", "web1"] {
        send_datagram(
            daemon.udp_addr(),
            format!(
                r#"{{"ID":"PLG","name":"{host}","plugin":"cpu_monitor","kind":"monitor","data":{{"cpu_percent":95}}}}"#
            )
            .as_bytes(),
        );
    }
    let critical_to = |channel: &str| -> Vec<String> {
        stub.requests("/hooks/route")
            .iter()
            .filter(|r| r["body"]["channel"] == channel)
            .filter_map(|r| r["body"]["text"].as_str().map(str::to_owned))
            .filter(|t| t.starts_with("CRITICAL"))
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(10), || {
            critical_to("dba-team").len() + critical_to("web-team").len() >= 2
        }),
        "{:?}",
        stub.requests("/hooks/route")
    );
    assert_eq!(
        critical_to("dba-team"),
        ["CRITICAL: db1 - cpu_monitor.cpu_percent = 95.0"]
    );
    assert_eq!(
        critical_to("web-team"),
        ["CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0"]
    );
}
