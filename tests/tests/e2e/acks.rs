//! Acknowledgements end to end: an acknowledged alert's reminders stop (the journal says
//! who held them), the acknowledgement shows in the API, survives a restart, and ends
//! when the alert recovers, after which a new problem reminds again.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use hbd_e2e::needs::Need;
use hbd_e2e::services::HttpStub;
use hbd_e2e::{Daemon, send_datagram, wait_until};

const PATH: &str = "cpu_monitor.cpu_percent";

fn cpu(daemon: &Daemon, value: f64) {
    let json = format!(
        r#"{{"ID":"PLG","name":"web1","plugin":"cpu_monitor","kind":"monitor","data":{{"cpu_percent":{value}}}}}"#
    );
    send_datagram(daemon.udp_addr(), json.as_bytes());
}

/// The Pushover messages that start with `lead`.
fn pushed(stub: &HttpStub, lead: &str) -> usize {
    stub.requests("/1/messages.json")
        .iter()
        .filter(|r| {
            r["body"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(lead))
        })
        .count()
}

fn post(daemon: &Daemon, path: &str, body: &str) -> hbd_e2e::Reply {
    daemon.call(
        "POST",
        path,
        &[("Content-Type", "application/json")],
        Some(body),
    )
}

#[test]
fn an_acknowledged_alert_stops_reminding_until_it_recovers() {
    hbd_e2e::require!(Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let stub = HttpStub::start(dir.path());
    let mut daemon = Daemon::start(
        dir.path(),
        &format!(
            "{thresholds}threshold_renotify_interval: 1
pushover:
  url: {url}/1/messages.json
  token: azGDORePK8gMaC0QOYAMyEEuzJnyUi
  user: uQiRzpo4DXghDmr9QzzfQu27cmVRsG
",
            thresholds = hbd_e2e::CPU_THRESHOLDS,
            url = stub.url()
        ),
    );
    cpu(&daemon, 95.0);
    assert!(wait_until(Duration::from_secs(10), || pushed(
        &stub, "REMINDER"
    ) >= 1));

    // Nothing to acknowledge on a host that is UP; a comment is required.
    assert_eq!(
        post(&daemon, "/api/0/hosts/web1/ack", r#"{"comment": "x"}"#).status,
        409
    );
    let no_comment = post(
        &daemon,
        "/api/0/hosts/web1/ack",
        &format!(r#"{{"path": "{PATH}", "comment": "  "}}"#),
    );
    assert_eq!(no_comment.status, 400, "{}", no_comment.body);

    let acked = post(
        &daemon,
        "/api/0/hosts/web1/ack",
        &format!(r#"{{"path": "{PATH}", "comment": "replacing the fan", "duration": "1h"}}"#),
    );
    assert_eq!(acked.status, 200, "{}", acked.body);
    assert_eq!(acked.json()["outcome"], "acknowledged");
    assert_eq!(acked.json()["ack"]["comment"], "replacing the fan");
    assert!(acked.json()["ack"]["until"].is_string());
    let reminders = pushed(&stub, "REMINDER");

    // The journal says each held reminder was held because of the acknowledgement.
    let journal = dir.path().join("journal");
    let held = || {
        std::fs::read_dir(&journal)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .map(|text| {
                text.lines()
                    .filter(|l| l.contains("\"reason\":\"acknowledged\"") && l.contains("REMINDER"))
                    .count()
            })
            .sum::<usize>()
    };
    assert!(
        wait_until(Duration::from_secs(10), || held() >= 3),
        "{}",
        daemon.log()
    );
    assert_eq!(
        pushed(&stub, "REMINDER"),
        reminders,
        "no reminder told while acknowledged"
    );
    let (_, alerts) = daemon.get("/api/0/alerts").unwrap();
    let alerts: serde_json::Value = serde_json::from_str(&alerts).unwrap();
    assert_eq!(alerts[0]["ack"]["by"], "(no users)");
    assert_eq!(alerts[0]["held"], serde_json::Value::Null);

    // It survives a restart.
    daemon.restart();
    let (_, acks) = daemon.get("/api/0/acks").unwrap();
    let acks: serde_json::Value = serde_json::from_str(&acks).unwrap();
    assert_eq!(acks[0]["host"], "web1");
    assert_eq!(acks[0]["path"], PATH);
    assert_eq!(acks[0]["comment"], "replacing the fan");

    // The recovery is told and ends it; the next problem reminds again.
    cpu(&daemon, 40.0);
    assert!(wait_until(Duration::from_secs(10), || pushed(
        &stub,
        "RECOVERED"
    ) == 1));
    assert!(wait_until(Duration::from_secs(5), || {
        daemon
            .get("/api/0/acks")
            .is_some_and(|(_, body)| body == "[]")
    }));
    let before = pushed(&stub, "REMINDER");
    cpu(&daemon, 95.0);
    assert!(
        wait_until(Duration::from_secs(10), || pushed(&stub, "REMINDER")
            > before),
        "reminders come again after the recovery"
    );
    // Taking back what is not there is refused.
    let gone = daemon.call(
        "DELETE",
        &format!("/api/0/hosts/web1/ack?path={PATH}"),
        &[],
        None,
    );
    assert_eq!(gone.status, 409, "{}", gone.body);
}

/// The button on /alerts and on the host page, in a real browser: a comment, and the
/// row shows who and why.
#[test]
fn a_problem_is_acknowledged_from_its_row_on_the_problems_page() {
    acknowledged_from("alerts", "<b>swapping</b> the disk");
}

#[test]
fn a_problem_is_acknowledged_from_its_row_on_the_host_page() {
    acknowledged_from("host", "<b>swapping</b> the fan");
}

fn acknowledged_from(page: &str, comment: &str) {
    hbd_e2e::require!(Need::Browser);
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), hbd_e2e::CPU_THRESHOLDS);
    cpu(&daemon, 95.0);
    assert!(wait_until(Duration::from_secs(10), || {
        daemon
            .get("/api/0/alerts")
            .is_some_and(|(_, b)| b.contains(PATH))
    }));
    let base = format!("http://{}", daemon.http_addr());
    let seen = hbd_e2e::browser("ack.mjs", &[&base, "web1", PATH, comment, page], &[]);
    assert_eq!(seen["problems"], serde_json::json!([]), "{seen:#}");
    assert_eq!(seen["shown"], format!("(no users): {comment}"), "as text");
    let acks = daemon.get_json("/api/0/acks");
    assert_eq!(acks[0]["comment"], comment, "{acks}");
    assert_eq!(acks[0]["path"], PATH, "{acks}");
}

/// Escalation: a problem nobody acknowledges is told to the group's next people once
/// its step's time is up, once; an acknowledged one is not.
#[test]
fn an_unacknowledged_problem_is_escalated_once_and_an_acknowledged_one_is_not() {
    hbd_e2e::require!(Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let stub = HttpStub::start(dir.path());
    let hash = hbd_e2e::password_hash("escalation test password");
    let daemon = Daemon::start(
        dir.path(),
        &format!(
            "{thresholds}users:
  ada: {{admin: true, password: '{hash}'}}
  bob: {{password: '{hash}', pushover_user: ubobbobbobbobbobbobbobbobbobbo, notification_channels: [pushover]}}
groups:
  web:
    hosts: ['web*']
    escalation: [{{after: 2, users: [bob]}}]
pushover:
  url: {url}/1/messages.json
  token: azGDORePK8gMaC0QOYAMyEEuzJnyUi
  user: uQiRzpo4DXghDmr9QzzfQu27cmVRsG
",
            thresholds = hbd_e2e::CPU_THRESHOLDS,
            url = stub.url()
        ),
    );
    let token = daemon.login("ada", "escalation test password");
    let auth = format!("Bearer {token}");
    let to_bob = |lead: &str| -> Vec<String> {
        stub.requests("/1/messages.json")
            .iter()
            .filter(|r| r["body"]["user"] == "ubobbobbobbobbobbobbobbobbobbo")
            .filter_map(|r| r["body"]["message"].as_str().map(str::to_owned))
            .filter(|m| m.starts_with(lead))
            .collect()
    };
    let load = |host: &str, value: f64| {
        let json = format!(
            r#"{{"ID":"PLG","name":"{host}","plugin":"cpu_monitor","kind":"monitor","data":{{"cpu_percent":{value}}}}}"#
        );
        send_datagram(daemon.udp_addr(), json.as_bytes());
    };
    load("web1", 95.0);
    load("web2", 95.0);
    assert!(wait_until(Duration::from_secs(10), || {
        daemon
            .call("GET", "/api/0/alerts", &[("Authorization", &auth)], None)
            .json()
            .as_array()
            .is_some_and(|a| a.len() == 2)
    }));
    let acked = daemon.call(
        "POST",
        "/api/0/hosts/web2/ack",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(&format!(
            r#"{{"path": "{PATH}", "comment": "known, on it"}}"#
        )),
    );
    assert_eq!(acked.status, 200, "{}", acked.body);

    assert!(
        wait_until(Duration::from_secs(15), || !to_bob("ESCALATED").is_empty()),
        "{:#?}\n{}",
        stub.requests("/1/messages.json"),
        daemon.log()
    );
    let escalated = to_bob("ESCALATED");
    assert_eq!(
        escalated,
        [
            "ESCALATED (step 1, open 2s without acknowledgement): CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0"
        ]
    );
    // bob hears nothing else (he is no one's owner, manager or monitor), and web2's
    // step was held: the journal says by whom.
    let journal = dir.path().join("journal");
    let held = || {
        std::fs::read_dir(&journal)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .any(|t| {
                t.lines().any(|l| {
                    l.contains("\"what\":\"ESCALATED\"")
                        && l.contains("\"name\":\"web2\"")
                        && l.contains("\"reason\":\"acknowledged\"")
                })
            })
    };
    assert!(
        wait_until(Duration::from_secs(10), held),
        "{}",
        daemon.log()
    );
    assert_eq!(to_bob("").len(), 1, "{:?}", to_bob(""));
}
