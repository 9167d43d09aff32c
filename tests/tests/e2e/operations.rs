//! End to end: the write path (drop a host, clear an alert) through the API, persisted
//! and journaled; configuration reload by SIGHUP and by the API, refused whole when the
//! new file has an error; and one notification per recipient, so a refused address is
//! retried alone.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use hbd_e2e::needs::Need;
use std::time::Duration;

use hbd_e2e::services::SmtpCapture;
use hbd_e2e::{Daemon, send_datagram, wait_until};

fn cpu(daemon: &Daemon, host: &str, value: f64) {
    let json = format!(
        r#"{{"ID":"PLG","name":"{host}","plugin":"cpu_monitor","kind":"monitor","data":{{"cpu_percent":{value}}}}}"#
    );
    send_datagram(daemon.udp_addr(), json.as_bytes());
}

fn journal(daemon: &Daemon, id: &str) -> Vec<serde_json::Value> {
    daemon.journal(id)
}

const THRESHOLDS: &str = "
thresholds:
  cpu_monitor:
    cpu_percent: {warning: 80, critical: 90}
";

#[test]
fn a_dropped_host_is_forgotten_for_good_and_comes_back_as_new() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(dir.path(), THRESHOLDS);
    cpu(&daemon, "web1", 95.0);
    assert!(wait_until(Duration::from_secs(5), || daemon
        .get_json("/api/0/alerts")
        .as_array()
        .is_some_and(|a| a.len() == 1)));

    let (status, body) = daemon.request("DELETE", "/api/0/hosts/web1").unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["outcome"],
        "host_dropped"
    );
    assert_eq!(daemon.get("/api/0/hosts/web1").unwrap().0, 404);
    assert_eq!(daemon.get_json("/api/0/alerts"), serde_json::json!([]));
    assert_eq!(daemon.get("/api/0/hosts/web1/plugins").unwrap().0, 404);
    let (status, body) = daemon.request("DELETE", "/api/0/hosts/web1").unwrap();
    assert_eq!(status, 404, "{body}");
    assert!(wait_until(Duration::from_secs(5), || journal(
        &daemon, "COMMAND"
    )
    .len()
        == 2));
    let commands = journal(&daemon, "COMMAND");
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert_eq!(commands[0]["command"], "drop_host");
    assert_eq!(commands[0]["result"], "ok");
    assert_eq!(commands[1]["result"], "no host named \"web1\"");

    // Persisted: the store forgot it too (the restart flushes and reloads the store).
    daemon.restart();
    assert_eq!(daemon.get("/api/0/hosts/web1").unwrap().0, 404);
    // It comes back as a new host.
    cpu(&daemon, "web1", 10.0);
    assert!(wait_until(Duration::from_secs(5), || daemon
        .host_state("web1")
        .is_some()));
    let new_host = |d: &Daemon| {
        journal(d, "EVENT")
            .iter()
            .filter(|e| e["name"] == "web1" && e["event"] == "NEW_HOST")
            .count()
    };
    assert!(wait_until(Duration::from_secs(5), || new_host(&daemon) == 2));
}

#[test]
fn a_cleared_alert_is_raised_afresh_by_the_next_report() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), THRESHOLDS);
    cpu(&daemon, "web1", 95.0);
    assert!(wait_until(Duration::from_secs(5), || journal(
        &daemon, "ALERT"
    )
    .len()
        == 1));
    let path = "/api/0/hosts/web1/alerts?path=cpu_monitor.cpu_percent";
    let (status, body) = daemon.request("DELETE", path).unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(daemon.get_json("/api/0/alerts"), serde_json::json!([]));
    assert_eq!(daemon.request("DELETE", path).unwrap().0, 404);
    assert_eq!(
        daemon
            .request("DELETE", "/api/0/hosts/web1/alerts")
            .unwrap()
            .0,
        400,
        "no path given"
    );
    cpu(&daemon, "web1", 96.0);
    assert!(wait_until(Duration::from_secs(5), || journal(
        &daemon, "ALERT"
    )
    .len()
        == 2));
    assert_eq!(
        journal(&daemon, "ALERT")[1]["text"],
        "CRITICAL: web1 - cpu_monitor.cpu_percent = 96.0"
    );
}

#[test]
fn sighup_and_the_api_reload_the_config_and_a_bad_one_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(dir.path(), THRESHOLDS);
    cpu(&daemon, "web1", 85.0);
    assert!(wait_until(Duration::from_secs(5), || journal(
        &daemon, "ALERT"
    )
    .len()
        == 1));

    // A config with two errors: refused whole, each problem named with file and line.
    let good = std::fs::read_to_string(daemon.config_path()).unwrap();
    let bad = good.replace(
        "{warning: 80, critical: 90}",
        "{warning: high, operator: '=>'}",
    ) + "interval: -5\n";
    std::fs::write(daemon.config_path(), &bad).unwrap();
    let failed = daemon.reload().unwrap_err();
    let file = daemon.config_path().display().to_string();
    assert!(failed.contains(&format!("{file}:")), "{failed}");
    assert!(
        failed.contains("thresholds.cpu_monitor.cpu_percent: warning"),
        "{failed}"
    );
    assert!(
        failed.contains("thresholds.cpu_monitor.cpu_percent: operator"),
        "{failed}"
    );
    assert!(failed.contains("interval"), "{failed}");
    let (status, body) = daemon.request("POST", "/api/0/config/reload").unwrap();
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("operator"), "{body}");
    // Still running on the old thresholds and state.
    cpu(&daemon, "web1", 95.0);
    assert!(wait_until(Duration::from_secs(5), || journal(
        &daemon, "ALERT"
    )
    .len()
        == 2));

    // A good change: warning moves to 99. Host and alert state stay.
    std::fs::write(
        daemon.config_path(),
        good.replace(
            "{warning: 80, critical: 90}",
            "{warning: 99, critical: 100}",
        ),
    )
    .unwrap();
    daemon.reload().unwrap();
    assert_eq!(daemon.host_state("web1").as_deref(), Some("UP"));
    assert_eq!(daemon.get_json("/api/0/alerts")[0]["level"], "CRITICAL");
    cpu(&daemon, "web1", 95.0);
    assert!(wait_until(Duration::from_secs(5), || journal(
        &daemon, "ALERT"
    )
    .len()
        == 3));
    assert_eq!(
        journal(&daemon, "ALERT")[2]["text"],
        "RECOVERED: web1 - cpu_monitor.cpu_percent = 95.0 (CRITICAL -> OK)"
    );
    let (status, body) = daemon.request("POST", "/api/0/config/reload").unwrap();
    assert_eq!(status, 200, "{body}");
    // SIGHUP no longer kills the daemon; SIGTERM still stops it cleanly.
    let (status, _) = daemon.stop(nix::sys::signal::Signal::SIGTERM);
    assert!(status.success());
}

#[test]
fn each_recipient_gets_one_message_and_a_refused_one_is_retried_alone() {
    hbd_e2e::require!(Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    // The server refuses one mailbox for now (451: try again later).
    let smtp = SmtpCapture::start(dir.path(), &["--refuse", "busy@example.org=451"]);
    let config = format!(
        "{THRESHOLDS}
email:
  host: 127.0.0.1
  port: {}
  security: none
  from: hbd@example.org
  to: [ops@example.org, busy@example.org, dev@example.org]
notify_retries: 2
notify_retry_base: 0.2
",
        smtp.port
    );
    let daemon = Daemon::start(dir.path(), &config);
    cpu(&daemon, "web1", 95.0);
    // 2 notices (NEW HOST, CRITICAL) x 3 recipients; busy@ is tried 3 times each.
    let dropped = "hbd_notifications_dropped_total{channel=\"email\"}";
    let sent = "hbd_notifications_sent_total{channel=\"email\"}";
    assert!(
        wait_until(Duration::from_secs(20), || daemon.metric(dropped) == 2.0
            && daemon.metric(sent) == 4.0),
        "dropped: {}, sent: {}",
        daemon.metric(dropped),
        daemon.metric(sent)
    );
    let mut delivered: Vec<(String, String)> = smtp
        .messages()
        .iter()
        .map(|(envelope, raw)| {
            let to = envelope["rcpt_tos"].as_array().unwrap();
            assert_eq!(to.len(), 1, "one recipient per message");
            let subject = raw
                .lines()
                .find_map(|l| l.strip_prefix("Subject: "))
                .unwrap()
                .to_owned();
            (to[0].as_str().unwrap().to_owned(), subject)
        })
        .collect();
    delivered.sort();
    let crit = "[hbd] CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0";
    let new = "[hbd] NEW HOST: web1 sent its first heartbeat";
    let want: Vec<(String, String)> = [
        ("dev@example.org", crit),
        ("dev@example.org", new),
        ("ops@example.org", crit),
        ("ops@example.org", new),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(
        delivered, want,
        "exactly one of each to every other recipient"
    );
    assert_eq!(
        daemon.metric("hbd_notification_failures_total{channel=\"email\"}"),
        6.0
    );
    assert!(wait_until(Duration::from_secs(5), || journal(
        &daemon,
        "NOTIFICATION_DROPPED"
    )
    .len()
        == 2));
    let dropped = journal(&daemon, "NOTIFICATION_DROPPED");
    assert!(
        dropped[0]["reason"].as_str().unwrap().contains("451"),
        "{dropped:?}"
    );
}

#[test]
fn notifications_left_at_shutdown_are_counted_and_journaled() {
    hbd_e2e::require!(Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let stub = hbd_e2e::services::HttpStub::start(dir.path());
    // Signal hangs for a minute on every request; nothing gets through.
    stub.fail("/v2/send", 500, 100, 60.0);
    let config = format!(
        "{THRESHOLDS}
signal:
  url: {}
  number: '+4312345'
  recipients: ['+4912345', '+4954321']
notify_timeout: 120
",
        stub.url()
    );
    let mut daemon = Daemon::start(dir.path(), &config);
    cpu(&daemon, "web1", 95.0);
    // Both notices are queued (the alert is journaled after its notification is).
    assert!(wait_until(Duration::from_secs(10), || journal(
        &daemon, "ALERT"
    )
    .len()
        == 1));
    let (status, took) = daemon.stop(nix::sys::signal::Signal::SIGTERM);
    assert!(status.success());
    assert!(took < Duration::from_secs(10), "stopping took {took:?}");
    // NEW HOST and CRITICAL to two numbers: four messages, none delivered.
    let dropped = journal(&daemon, "NOTIFICATION_DROPPED");
    assert_eq!(dropped.len(), 4, "{dropped:?}");
    assert!(dropped.iter().all(|d| d["reason"] == "daemon stopping"));
}

fn signed_heartbeat(name: &str, key: &str) -> Vec<u8> {
    use hb_proto::{Heartbeat, Key, Message, Signer, frame};
    let message = Message::Heartbeat(Heartbeat {
        name: name.into(),
        ts: Some(hbd_e2e::unix_now()),
        run: Some(1),
        seq: Some(1),
        ..Heartbeat::default()
    });
    let signer = Signer {
        key_id: name.into(),
        key: Key::new(key),
    };
    frame::encode(&message, Some(&signer), frame::DEFAULT_COMPRESS_OVER).unwrap()
}

#[test]
fn a_reloaded_key_is_in_force_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let old = "old-shared-key-0123456789";
    let new = "new-shared-key-9876543210";
    let daemon = Daemon::start(
        dir.path(),
        &format!("require_signed: true\nhb_key: {old}\n"),
    );
    send_datagram(daemon.udp_addr(), &signed_heartbeat("before", old));
    assert!(wait_until(Duration::from_secs(5), || daemon
        .host_state("before")
        .is_some()));
    let config = std::fs::read_to_string(daemon.config_path()).unwrap();
    std::fs::write(daemon.config_path(), config.replace(old, new)).unwrap();
    daemon.reload().unwrap();
    // The old key is refused now, the new one accepted, and known hosts stay.
    send_datagram(daemon.udp_addr(), &signed_heartbeat("stale", old));
    send_datagram(daemon.udp_addr(), &signed_heartbeat("after", new));
    assert!(wait_until(Duration::from_secs(5), || daemon
        .host_state("after")
        .is_some()));
    assert!(wait_until(Duration::from_secs(5), || daemon.metric(
        "hbd_datagrams_rejected_total{reason=\"bad_signature\"}"
    ) == 1.0));
    assert!(daemon.host_state("stale").is_none());
    assert_eq!(daemon.host_state("before").as_deref(), Some("UP"));
}

#[test]
fn hbd_health_says_whether_the_daemon_answers_and_healthz_is_open_to_anyone() {
    let dir = tempfile::tempdir().unwrap();
    // With users, everything else asks who is calling; /healthz names nothing.
    let mut daemon = Daemon::start(
        dir.path(),
        "users:\n  ada: {admin: true, password: 'pbkdf2:sha256:1000$salt$00'}\n",
    );
    let (status, body) = daemon.get("/healthz").unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    assert_eq!(daemon.get("/api/0/hosts").unwrap().0, 401);

    // `hbd health` finds the daemon by a config naming its HTTP address.
    let probe_config = dir.path().join("probe.yaml");
    std::fs::write(
        &probe_config,
        format!("hbd_port: {}\n", daemon.http_addr().port()),
    )
    .unwrap();
    let health = || {
        std::process::Command::new(hbd_e2e::bin("hbd"))
            .args(["health", "--timeout", "3", "-c"])
            .arg(&probe_config)
            .output()
            .unwrap()
    };
    let ok = health();
    assert!(
        ok.status.success() && String::from_utf8_lossy(&ok.stdout).contains("/healthz: ok"),
        "{ok:?}"
    );
    daemon.stop(nix::sys::signal::Signal::SIGTERM);
    let down = health();
    assert_eq!(down.status.code(), Some(1), "{down:?}");
    assert!(
        String::from_utf8_lossy(&down.stderr).contains("no answer"),
        "{down:?}"
    );
}
