//! End to end: the alert policy in a running daemon with real mail (aiosmtpd). A
//! silence made through the API holds a recovery, survives a restart, and its early end
//! sends the recovery; a host behind a DOWN parent is UNREACHABLE and nobody is told;
//! a burst of notifications becomes one grouped message, listed in full by the API; a
//! flapping metric is told once as flapping; a silence made by someone who is not an
//! administrator reveals and reaches no host hidden from them.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use hbd_e2e::needs::Need;
use std::time::Duration;

use hbd_e2e::services::SmtpCapture;
use hbd_e2e::{Daemon, send_datagram, wait_until};

fn mail(smtp: &SmtpCapture, extra: &str) -> String {
    format!("{}{}{extra}\n", hbd_e2e::CPU_THRESHOLDS, smtp.email_yaml())
}

fn cpu(daemon: &Daemon, host: &str, value: f64) {
    let json = format!(
        r#"{{"ID":"PLG","name":"{host}","plugin":"cpu_monitor","kind":"monitor","data":{{"cpu_percent":{value}}}}}"#
    );
    send_datagram(daemon.udp_addr(), json.as_bytes());
}

fn beat(daemon: &Daemon, host: &str) {
    let json = format!(r#"{{"ID":"HTB","name":"{host}","interval":1}}"#);
    send_datagram(daemon.udp_addr(), json.as_bytes());
}

/// The journal's POLICY entries so far.
fn decisions(daemon: &Daemon) -> Vec<serde_json::Value> {
    let journal =
        std::fs::read_to_string(daemon.dir.join("journal/hbd_journal.jsonl")).unwrap_or_default();
    journal
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|e| e["message"].clone())
        .filter(|m| m["ID"] == "POLICY")
        .collect()
}

#[test]
fn a_silence_holds_a_recovery_survives_a_restart_and_tells_it_when_it_ends() {
    hbd_e2e::require!(Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpCapture::start(dir.path(), &[]);
    let mut daemon = Daemon::start(dir.path(), &mail(&smtp, ""));
    cpu(&daemon, "web1", 95.0);
    let crit = "[hbd] CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0";
    assert!(
        wait_until(Duration::from_secs(10), || smtp.subjects().len() >= 2),
        "{:?}",
        smtp.subjects()
    );
    assert_eq!(smtp.subjects()[1], crit);

    let body = r#"{"hosts":"web*","duration":"1h","comment":"kernel update"}"#;
    let made = daemon.call("POST", "/api/0/silences", &[], Some(body));
    assert_eq!(made.status, 201, "{}", made.body);
    let silence = made.json();
    assert_eq!(silence["state"], "active");
    assert_eq!(silence["hosts"], "web*");
    let id = silence["id"].as_str().unwrap().to_owned();

    // The recovery is evaluated (the alert is OK) but held, and nobody is told.
    cpu(&daemon, "web1", 50.0);
    assert!(
        wait_until(Duration::from_secs(10), || decisions(&daemon).iter().any(
            |d| d["what"] == "RECOVERED"
                && d["verdict"] == "held"
                && d["reason"] == "silenced"
                && d["silence"] == id.as_str()
        )),
        "{:?}",
        decisions(&daemon)
    );
    let alerts = daemon.get_json("/api/0/hosts/web1/alerts");
    let alert = &alerts[0];
    assert_eq!(alert["level"], "OK", "{alerts}");
    assert_eq!(alert["held"]["reason"], "silenced", "{alerts}");
    assert_eq!(smtp.subjects().len(), 2, "{:?}", smtp.subjects());

    // A restart keeps the silence and what is owed.
    daemon.restart();
    let list = daemon.get_json("/api/0/silences");
    assert_eq!(list["silences"][0]["id"], id.as_str(), "{list}");
    assert_eq!(list["silences"][0]["state"], "active");
    assert_eq!(smtp.subjects().len(), 2, "{:?}", smtp.subjects());

    // Ending it early tells the recovery, from what was last told.
    let ended = daemon.call("DELETE", &format!("/api/0/silences/{id}"), &[], None);
    assert_eq!(ended.status, 200, "{}", ended.body);
    assert_eq!(ended.json()["state"], "expired");
    assert!(
        wait_until(Duration::from_secs(10), || smtp.subjects().len() >= 3),
        "{:?}",
        smtp.subjects()
    );
    assert_eq!(
        smtp.subjects()[2],
        "[hbd] RECOVERED: web1 - cpu_monitor.cpu_percent = 50.0 (CRITICAL -> OK)"
    );
    assert_eq!(
        daemon
            .call("DELETE", "/api/0/silences/nope", &[], None)
            .status,
        404
    );
    // The guide's second example: some paths of one host, a fixed time in the future.
    let later = r#"{"hosts": "web1", "paths": "disk_monitor.*", "starts": "2099-11-28T02:00:00Z",
          "ends": "2099-11-28T04:00:00Z", "comment": "backup rewrites the disk"}"#;
    let made = daemon.call("POST", "/api/0/silences", &[], Some(later));
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.json()["state"], "pending");
    assert_eq!(made.json()["starts"], "2099-11-28T02:00:00.000Z");
    assert_eq!(made.json()["paths"], "disk_monitor.*");
    let bad = daemon.call(
        "POST",
        "/api/0/silences",
        &[],
        Some(r#"{"hosts":"web[","duration":60,"comment":"x"}"#),
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("hosts:"), "{}", bad.body);
}

#[test]
fn a_host_behind_a_down_parent_is_unreachable_and_its_real_state_is_told_later() {
    hbd_e2e::require!(Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpCapture::start(dir.path(), &[]);
    let extra = "grace: 1\nhosts:\n  switch1: {}\n  web1: {parents: [switch1]}\n";
    let daemon = Daemon::start(dir.path(), &mail(&smtp, extra));
    beat(&daemon, "switch1");
    beat(&daemon, "web1");
    // Both fall silent: switch1 is DOWN and told; web1 is UNREACHABLE and not.
    assert!(
        wait_until(Duration::from_secs(10), || daemon
            .host_state("web1")
            .as_deref()
            == Some("UNREACHABLE")),
        "{:?}",
        daemon.host("web1")
    );
    assert_eq!(daemon.host_state("switch1").as_deref(), Some("DOWN"));
    assert!(wait_until(Duration::from_secs(5), || smtp
        .subjects()
        .iter()
        .any(|s| s.starts_with("[hbd] DOWN: switch1"))));
    assert!(
        !smtp
            .subjects()
            .iter()
            .any(|s| s.contains("web1 - no heartbeat")),
        "{:?}",
        smtp.subjects()
    );
    assert_eq!(
        daemon.metric("hbd_hosts{state=\"UNREACHABLE\"}"),
        1.0,
        "the gauge counts it"
    );
    // switch1 is back and stays, web1 stays silent: once web1's own deadline passes,
    // its real state decides, and it is DOWN.
    assert!(
        wait_until(Duration::from_secs(10), || {
            beat(&daemon, "switch1");
            smtp.subjects()
                .iter()
                .any(|s| s.starts_with("[hbd] DOWN: web1"))
        }),
        "{:?}",
        smtp.subjects()
    );
    assert!(
        smtp.subjects()
            .iter()
            .any(|s| s.starts_with("[hbd] UP: switch1 is back"))
    );
}

#[test]
fn a_burst_of_notifications_becomes_one_grouped_message() {
    hbd_e2e::require!(Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpCapture::start(dir.path(), &[]);
    let daemon = Daemon::start(dir.path(), &mail(&smtp, "storm: {window: 2, threshold: 3}"));
    for i in 0..40 {
        beat(&daemon, &format!("node{i:02}"));
    }
    // Three NEW HOST messages go out alone, the other 37 as one.
    assert!(
        wait_until(Duration::from_secs(15), || smtp.subjects().len() >= 4),
        "{:?}",
        smtp.subjects()
    );
    let subjects = smtp.subjects();
    assert_eq!(subjects.len(), 4, "{subjects:?}");
    assert!(
        subjects[..3]
            .iter()
            .all(|s| s.starts_with("[hbd] NEW HOST: node"))
    );
    assert_eq!(subjects[3], "[hbd] STORM: 37 notifications grouped");
    let (_, raw) = &smtp.messages()[3];
    assert_eq!(raw.matches("- NEW HOST: node").count(), 37, "{raw}");
    let storms = daemon.get_json("/api/0/storms");
    let storm = &storms["storms"][0];
    assert_eq!(storm["count"], 37, "{storms}");
    assert_eq!(storm["items"].as_array().unwrap().len(), 37);
    assert_eq!(storm["hosts"].as_array().unwrap().len(), 37);
}

#[test]
fn a_flapping_metric_is_told_once_as_flapping_then_held() {
    hbd_e2e::require!(Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpCapture::start(dir.path(), &[]);
    let daemon = Daemon::start(
        dir.path(),
        &mail(&smtp, "flapping: {low: 5, high: 20}\nstorm: {threshold: 0}"),
    );
    beat(&daemon, "web1");
    assert!(wait_until(Duration::from_secs(10), || daemon
        .host("web1")
        .is_some()));
    // Two dozen values alternating 95/10, each sent once the daemon has evaluated the
    // one before (its alert level in the API), so none overtakes another.
    for i in 0..24 {
        let value = if i % 2 == 0 { 95.0 } else { 10.0 };
        cpu(&daemon, "web1", value);
        let level = if i % 2 == 0 { "CRITICAL" } else { "OK" };
        assert!(
            wait_until(Duration::from_secs(10), || {
                let alerts = daemon.get_json("/api/0/hosts/web1/alerts");
                alerts[0]["level"] == level && alerts[0]["value"] == value
            }),
            "value {i} ({value}) was not evaluated"
        );
    }
    let start = "[hbd] FLAPPING START: web1 - cpu_monitor.cpu_percent (";
    assert!(
        wait_until(Duration::from_secs(10), || smtp
            .subjects()
            .iter()
            .any(|s| s.starts_with(start))),
        "{:?}",
        smtp.subjects()
    );
    // Every later change was held as flapping or, back at what was last told, not
    // told (journaled), and nothing more was mailed.
    let after_start = || {
        let all = decisions(&daemon);
        let start = all.iter().position(|d| d["what"] == "FLAPPING START");
        start.map(|s| all[s + 1..].to_vec()).unwrap_or_default()
    };
    assert!(
        wait_until(Duration::from_secs(10), || after_start()
            .iter()
            .filter(|d| d["verdict"] == "held" && d["reason"] == "flapping")
            .count()
            >= 8),
        "{:?}",
        decisions(&daemon)
    );
    assert!(
        after_start()
            .iter()
            .all(|d| d["verdict"] == "held" || d["verdict"] == "unchanged"),
        "{:?}",
        after_start()
    );
    let subjects = smtp.subjects();
    let starts = subjects.iter().filter(|s| s.starts_with(start)).count();
    let changes = subjects
        .iter()
        .filter(|s| s.starts_with("[hbd] CRITICAL") || s.starts_with("[hbd] RECOVERED"))
        .count();
    assert_eq!(starts, 1, "{subjects:?}");
    assert!(
        changes <= 5,
        "two dozen changes, {changes} mailed: {subjects:?}"
    );
    assert!(
        subjects.last().is_some_and(|s| s.starts_with(start)),
        "nothing after FLAPPING START: {subjects:?}"
    );
}

/// The users of the silence test.
const PASSWORD: &str = "policy test password";

#[test]
fn a_silence_pattern_reveals_no_hidden_host_and_reaches_none() {
    hbd_e2e::require!(Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let hash = hbd_e2e::password_hash(PASSWORD);
    let daemon = Daemon::start(
        dir.path(),
        &format!(
            "users:\n  ada: {{admin: true, password: '{hash}'}}\n  otto: {{password: '{hash}'}}\n\
             {}hosts:\n  other: {{owner: otto}}\n  w0: {{owner: ada}}\n",
            hbd_e2e::CPU_THRESHOLDS
        ),
    );
    for host in ["w0", "other"] {
        daemon.heartbeat_and_cpu(host, 95.0);
    }
    let otto = daemon.login("otto", PASSWORD);
    let ada = daemon.login("ada", PASSWORD);
    let call = |token: Option<&str>, method: &str, path: &str, body: Option<&str>| {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("Authorization", a)])
            .unwrap_or_default();
        daemon.call(method, path, &headers, body)
    };
    assert!(
        wait_until(Duration::from_secs(10), || call(
            Some(&ada),
            "GET",
            "/api/0/alerts",
            None
        )
        .json()
        .as_array()
        .is_some_and(|a| a.len() == 2)),
        "the hosts and their alerts did not appear"
    );
    let post = |token: &str, hosts: &str| {
        let body = format!(r#"{{"hosts": "{hosts}", "duration": "1h", "comment": "patching"}}"#);
        call(Some(token), "POST", "/api/0/silences", Some(&body))
    };
    // otto owns only `other`. A pattern that matches hidden hosts (w*) and one that
    // matches nothing (zz*) answer alike, status and text.
    let hidden = post(&otto, "w*");
    let absent = post(&otto, "zz*");
    assert_eq!(
        (hidden.status, absent.status),
        (403, 403),
        "{}",
        hidden.body
    );
    assert_eq!(
        hidden.body.replace("w*", "X"),
        absent.body.replace("zz*", "X"),
        "no difference leaks"
    );
    // A pattern that matches his host and hidden ones covers his host only.
    let made = post(&otto, "*");
    assert_eq!(made.status, 201, "{}", made.body);
    let silence = made.json();
    assert_eq!(silence["only"], serde_json::json!(["other"]), "{silence}");
    // Both recover: his host's recovery is held by it, a hidden host's is not.
    daemon.heartbeat_and_cpu("other", 10.0);
    daemon.heartbeat_and_cpu("w0", 10.0);
    let alert = |host: &str| {
        call(
            Some(&ada),
            "GET",
            &format!("/api/0/hosts/{host}/alerts"),
            None,
        )
        .json()[0]
            .clone()
    };
    assert!(
        wait_until(Duration::from_secs(10), || alert("other")["level"] == "OK"
            && alert("w0")["level"] == "OK"),
        "{} {}",
        alert("other"),
        alert("w0")
    );
    assert_eq!(
        alert("other")["held"]["reason"],
        "silenced",
        "{}",
        alert("other")
    );
    assert!(
        alert("w0")["held"].is_null(),
        "a hidden host is not held by otto's silence: {}",
        alert("w0")
    );
    // He may end it; it lists, for him and the admin, only what it covers.
    let list = call(Some(&ada), "GET", "/api/0/silences", None).json();
    assert_eq!(list["silences"][0]["only"], serde_json::json!(["other"]));
    let id = silence["id"].as_str().unwrap();
    let ended = call(
        Some(&otto),
        "DELETE",
        &format!("/api/0/silences/{id}"),
        None,
    );
    assert_eq!(ended.status, 200, "{}", ended.body);
    // An administrator's pattern reaches every host it matches, now or later.
    let all = post(&ada, "*");
    assert_eq!(all.status, 201, "{}", all.body);
    assert!(all.json().get("only").is_none(), "{}", all.body);
    // Someone else may not end it, and is told the same whatever it covers.
    let id = all.json()["id"].as_str().unwrap().to_owned();
    let refused = call(
        Some(&otto),
        "DELETE",
        &format!("/api/0/silences/{id}"),
        None,
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
}

/// What holds a host is listed: the windows that cover it (open now or not) and the
/// silences active now, and every window with whether it is open.
#[test]
fn a_hosts_holds_and_the_windows_open_now_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(
        dir.path(),
        "maintenance:
  always: {hosts: ['web*'], start: '00:00', duration: 24h, time_zone: UTC}
  sundays: {hosts: ['db*'], days: [sun], start: '03:00', duration: 1h}
",
    );
    beat(&daemon, "web1");
    assert!(wait_until(Duration::from_secs(5), || daemon
        .host("web1")
        .is_some()));
    let windows = daemon.get_json("/api/0/maintenance");
    let always = &windows.as_array().unwrap()[0];
    assert_eq!(always["name"], "always");
    assert!(always["open_until"].is_string(), "{windows}");
    assert_eq!(windows[1]["days"], serde_json::json!(["sun"]));
    assert_eq!(windows[1]["start"], "03:00");
    assert_eq!(windows[1]["duration_s"], 3600);

    let holds = daemon.get_json("/api/0/hosts/web1/holds");
    assert_eq!(holds["silences"], serde_json::json!([]));
    let names: Vec<&str> = holds["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["always"], "db* does not cover web1");

    let made = daemon.call(
        "POST",
        "/api/0/silences",
        &[],
        Some(r#"{"hosts": "web1", "duration": "1h", "comment": "disk swap"}"#),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let holds = daemon.get_json("/api/0/hosts/web1/holds");
    assert_eq!(holds["silences"][0]["comment"], "disk swap", "{holds}");
    assert_eq!(holds["silences"][0]["state"], "active");
    let (status, _) = daemon.get("/api/0/hosts/web2/holds").unwrap();
    assert_eq!(status, 404, "an unknown host has no holds to list");
}
