//! What each user is shown of a staged rollout: the live stream tells everyone signed
//! in that it moved (counts, no names), and the API and the record of changes name a
//! host only to those who may see it.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use hbd_e2e::needs::Need;
use hbd_e2e::{Daemon, password_hash, send_datagram, wait_until};
use serde_json::Value;
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;

use super::artifacts::{Publishing, offer, publishing};

const PASSWORD: &str = "rollout viewer password";

fn get(daemon: &Daemon, token: &str, path: &str) -> Value {
    let reply = daemon.call(
        "GET",
        path,
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    );
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    reply.json()
}

#[test]
fn a_monitor_hears_a_rollout_move_but_is_shown_no_host_they_may_not_see() {
    hbd_e2e::require!(Need::Minisign, Need::Wasm("hbd_log_freshness"));
    let dir = tempfile::tempdir().unwrap();
    let Publishing {
        keys,
        offered,
        grant,
        ..
    } = publishing(dir.path());
    for version in ["1.2.0", "1.3.0"] {
        offer(&keys, &offered, "publisher", version, &grant, "1");
    }
    let hash = password_hash(PASSWORD);
    let config = |version: &str| {
        format!(
            "artifacts_dir: {}
users:
  ada: {{admin: true, password: '{hash}'}}
  moe: {{password: '{hash}'}}
hosts:
  web2: {{owner: ada, monitors: [moe]}}
groups:
  web:
    hosts: ['web*']
    rollout: {{canaries: 1, healthy_for: 1, waves: [100]}}
    plugins:
      log_freshness:
        version: {version}
        grants: ['{grant}']
        config: {{path: '{grant}/app.log', warning_s: 3600, critical_s: 7200}}
",
            offered.display()
        )
    };
    let daemon = Daemon::start(dir.path(), &config("1.2.0"));
    for host in ["web1", "web2"] {
        send_datagram(
            daemon.udp_addr(),
            format!(r#"{{"ID":"HTB","name":"{host}","interval":60}}"#).as_bytes(),
        );
    }
    let (ada, moe) = (daemon.login("ada", PASSWORD), daemon.login("moe", PASSWORD));
    assert!(wait_until(Duration::from_secs(5), || {
        get(&daemon, &ada, "/api/0/hosts")["total"] == 2
    }));

    // moe watches the live stream.
    let mut request = format!("ws://{}/ws", daemon.http_addr())
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {moe}")).unwrap(),
    );
    let stream = std::net::TcpStream::connect(daemon.http_addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut ws = tungstenite::client(request, stream).unwrap().0;

    // The next version starts a rollout: web1, first by name, is its canary.
    std::fs::write(daemon.config_path(), config("1.3.0")).unwrap();
    daemon.reload().unwrap();
    let mut heard = None;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while heard.is_none() && std::time::Instant::now() < deadline {
        let Some(message) = hbd_e2e::ws_next(&mut ws, Duration::from_secs(1)) else {
            continue;
        };
        if message["type"] == "updates" {
            heard = message["updates"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["type"] == "rollout" && u["stage_hosts"] == 1)
                .cloned();
        }
    }
    let heard = heard.unwrap_or_else(|| {
        panic!(
            "moe heard no rollout move on the live stream; rollouts: {}; log:\n{}",
            get(&daemon, &ada, "/api/0/rollouts"),
            daemon.log()
        )
    });
    assert_eq!(heard["group"], "web", "{heard}");
    assert_eq!(heard["state"], "running", "{heard}");
    assert_eq!(heard["on_new"], 1, "{heard}");
    assert!(!heard.to_string().contains("web1"), "{heard}");

    // The administrator is shown the canary; moe the rollout, without it.
    let admin_view = get(&daemon, &ada, "/api/0/rollouts");
    assert_eq!(
        admin_view["rollouts"][0]["stage_hosts"],
        serde_json::json!(["web1"]),
        "{admin_view}"
    );
    let moe_view = get(&daemon, &moe, "/api/0/rollouts");
    let rollout = &moe_view["rollouts"][0];
    assert_eq!(rollout["group"], "web", "{moe_view}");
    assert_eq!(rollout["split"]["state"], "running", "{moe_view}");
    assert_eq!(rollout["stage_hosts"], serde_json::json!([]), "{moe_view}");
    assert_eq!(
        rollout["split"]["on_new"],
        serde_json::json!([]),
        "{moe_view}"
    );
    assert!(!moe_view.to_string().contains("web1"), "{moe_view}");

    // The record: the canary's line for the administrator only; the reload's, naming
    // the group, for both.
    let lines = |token: &str| -> Vec<String> {
        get(&daemon, token, "/api/0/managed/changes")["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["change"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(wait_until(Duration::from_secs(5), || {
        lines(&ada).iter().any(|l| l.contains("canary web1"))
    }));
    let seen_by_moe = lines(&moe);
    assert!(
        seen_by_moe
            .iter()
            .any(|l| l.contains("groups.web.plugins.log_freshness")),
        "{seen_by_moe:?}"
    );
    assert!(
        seen_by_moe.iter().all(|l| !l.contains("web1")),
        "{seen_by_moe:?}"
    );
}
