//! End to end: alerts and host events reach a real SMTP server (aiosmtpd capturing to
//! files) and local stand-ins for Pushover, Mattermost and signal-cli-rest-api, in each
//! API's format; failures are retried with backoff; a dead channel delays nobody else;
//! what is given up on is counted and journaled.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use hbd_e2e::needs::Need;
use std::time::{Duration, Instant};

use hbd_e2e::services::{HttpStub, SmtpCapture};
use hbd_e2e::{Daemon, send_datagram, wait_until};

fn channels(smtp: &SmtpCapture, stub: &HttpStub, extra: &str) -> String {
    format!(
        "{thresholds}{email}
pushover:
  url: {url}/1/messages.json
  token: azGDORePK8gMaC0QOYAMyEEuzJnyUi
  user: uQiRzpo4DXghDmr9QzzfQu27cmVRsG
  priority: 1
mattermost:
  webhook_url: {url}/hooks/xr3j5x3p4pfk7rbb
  channel: ops
  username: hbd
signal:
  url: {url}
  number: '+4312345'
  recipients: ['+4912345']
notify_retry_base: 0.2
{extra}
",
        thresholds = hbd_e2e::CPU_THRESHOLDS,
        email = smtp.email_yaml(),
        url = stub.url()
    )
}

fn cpu(daemon: &Daemon, host: &str, value: f64) {
    let json = format!(
        r#"{{"ID":"PLG","name":"{host}","plugin":"cpu_monitor","kind":"monitor","data":{{"cpu_percent":{value}}}}}"#
    );
    send_datagram(daemon.udp_addr(), json.as_bytes());
}

const CRIT: &str = "CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0";

#[test]
fn every_channel_gets_the_exact_text_in_its_api_format() {
    hbd_e2e::require!(Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpCapture::start(dir.path(), &[]);
    let stub = HttpStub::start(dir.path());
    let daemon = Daemon::start(dir.path(), &channels(&smtp, &stub, ""));
    cpu(&daemon, "web1", 95.0);

    assert!(
        wait_until(Duration::from_secs(10), || smtp.subjects().len() >= 2),
        "{:?}",
        smtp.subjects()
    );
    // First contact is a NEW HOST notice, then the alert.
    assert_eq!(
        smtp.subjects(),
        [
            "[hbd] NEW HOST: web1 sent its first heartbeat",
            &format!("[hbd] {CRIT}")
        ]
    );
    let (envelope, raw) = &smtp.messages()[1];
    assert_eq!(envelope["mail_from"], "hbd@example.org");
    assert_eq!(envelope["rcpt_tos"], serde_json::json!(["ops@example.org"]));
    assert!(raw.contains(CRIT), "{raw}");

    assert!(wait_until(Duration::from_secs(10), || stub
        .requests("/v2/send")
        .len()
        >= 2));
    let push = &stub.requests("/1/messages.json")[1];
    assert_eq!(push["body_kind"], "form");
    assert_eq!(push["status"], 200);
    assert_eq!(push["body"]["token"], "azGDORePK8gMaC0QOYAMyEEuzJnyUi");
    assert_eq!(push["body"]["user"], "uQiRzpo4DXghDmr9QzzfQu27cmVRsG");
    assert_eq!(push["body"]["message"], CRIT);
    assert_eq!(push["body"]["priority"], "1");
    let mm = &stub.requests("/hooks/")[1];
    assert_eq!(mm["path"], "/hooks/xr3j5x3p4pfk7rbb");
    assert_eq!(mm["body_kind"], "json");
    assert_eq!(mm["status"], 200);
    assert_eq!(
        mm["body"],
        serde_json::json!({"text": CRIT, "channel": "ops", "username": "hbd"})
    );
    let sig = &stub.requests("/v2/send")[1];
    assert_eq!(sig["status"], 201);
    assert_eq!(
        sig["body"],
        serde_json::json!({"message": CRIT, "number": "+4312345", "recipients": ["+4912345"]})
    );
    for channel in ["email", "pushover", "mattermost", "signal"] {
        let series = format!("hbd_notifications_sent_total{{channel=\"{channel}\"}}");
        assert!(
            wait_until(Duration::from_secs(5), || daemon.metric(&series) == 2.0),
            "{channel}"
        );
    }
}

#[test]
fn a_failed_delivery_is_retried_with_backoff() {
    hbd_e2e::require!(Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpCapture::start(dir.path(), &[]);
    let stub = HttpStub::start(dir.path());
    let daemon = Daemon::start(dir.path(), &channels(&smtp, &stub, "notify_retries: 5"));
    // Four server errors: each of the two messages (NEW HOST, the alert) fails twice,
    // then goes through. A message waiting for its retry does not hold up the other.
    stub.fail("/1/messages.json", 503, 4, 0.0);
    let started = Instant::now();
    cpu(&daemon, "web1", 95.0);
    let delivered = |s: &HttpStub| {
        s.requests("/1/messages.json")
            .iter()
            .filter(|r| r["status"] == 200)
            .count()
    };
    assert!(
        wait_until(Duration::from_secs(10), || delivered(&stub) >= 2),
        "{:#?}",
        stub.requests("/1/")
    );
    let attempts = stub.requests("/1/messages.json");
    for text in ["NEW HOST: web1 sent its first heartbeat", CRIT] {
        let mine: Vec<(i64, f64)> = attempts
            .iter()
            .filter(|r| r["body"]["message"] == text)
            .map(|r| (r["status"].as_i64().unwrap(), r["time"].as_f64().unwrap()))
            .collect();
        let statuses: Vec<i64> = mine.iter().map(|m| m.0).collect();
        assert_eq!(statuses, [503, 503, 200], "{text}");
        // 0.2 s then 0.4 s of backoff before the third attempt.
        let gap = |i: usize| mine[i + 1].1 - mine[i].1;
        assert!(
            gap(0) >= 0.15 && gap(1) >= 0.35,
            "{text}: {:?}",
            (gap(0), gap(1))
        );
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        daemon.metric("hbd_notification_failures_total{channel=\"pushover\"}"),
        4.0
    );
    assert!(wait_until(Duration::from_secs(5), || daemon
        .metric("hbd_notifications_sent_total{channel=\"pushover\"}")
        == 2.0));
}

#[test]
fn a_dead_channel_does_not_delay_the_others() {
    hbd_e2e::require!(Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpCapture::start(dir.path(), &[]);
    let stub = HttpStub::start(dir.path());
    let daemon = Daemon::start(dir.path(), &channels(&smtp, &stub, "notify_timeout: 30"));
    // Mattermost hangs for 20 s on every request.
    stub.fail("/hooks/", 500, 10, 20.0);
    let started = Instant::now();
    cpu(&daemon, "web1", 95.0);
    assert!(wait_until(Duration::from_secs(15), || smtp
        .subjects()
        .len()
        >= 2));
    assert!(wait_until(Duration::from_secs(15), || stub
        .requests("/v2/send")
        .len()
        >= 2));
    assert!(wait_until(Duration::from_secs(15), || stub
        .requests("/1/messages.json")
        .len()
        >= 2));
    assert!(
        // Had they waited for Mattermost, they would have taken its 20 s or more; the
        // margin below that is for a busy machine.
        started.elapsed() < Duration::from_secs(15),
        "others waited: {:?}",
        started.elapsed()
    );
    // And heartbeats are still answered meanwhile.
    assert!(daemon.host("web1").is_some());
}

#[test]
fn refused_and_exhausted_deliveries_are_counted_and_journaled() {
    hbd_e2e::require!(Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpCapture::start(dir.path(), &["--reject-rcpt", "550"]);
    let stub = HttpStub::start(dir.path());
    let daemon = Daemon::start(dir.path(), &channels(&smtp, &stub, "notify_retries: 2"));
    stub.fail("/v2/send", 500, 100, 0.0);
    cpu(&daemon, "web1", 95.0);
    let dropped = |channel: &str| {
        daemon.metric(&format!(
            "hbd_notifications_dropped_total{{channel=\"{channel}\"}}"
        ))
    };
    // Signal: 1 attempt + 2 retries, each 500, for both notices; SMTP 550 is permanent.
    assert!(wait_until(Duration::from_secs(10), || dropped("signal")
        == 2.0
        && dropped("email") == 2.0));
    assert_eq!(stub.requests("/v2/send").len(), 6);
    assert_eq!(
        daemon.metric("hbd_notification_failures_total{channel=\"email\"}"),
        2.0,
        "550 is not retried"
    );
    let drops = || -> Vec<serde_json::Value> {
        let journal = std::fs::read_to_string(dir.path().join("journal/hbd_journal.jsonl"))
            .unwrap_or_default();
        journal
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e["message"]["ID"] == "NOTIFICATION_DROPPED")
            .collect()
    };
    // The journal is flushed at least once a second.
    assert!(
        wait_until(Duration::from_secs(5), || drops().iter().any(
            |d| d["message"]["channel"] == "signal" && d["message"]["text"] == CRIT
        )),
        "{:#?}",
        drops()
    );
    assert!(drops().iter().any(|d| d["message"]["channel"] == "email"
        && d["message"]["reason"].as_str().unwrap().contains("550")));
    // The working channels were unaffected.
    assert!(wait_until(Duration::from_secs(5), || daemon
        .metric("hbd_notifications_sent_total{channel=\"mattermost\"}")
        == 2.0));
}

#[test]
fn host_down_and_back_up_are_notified_with_the_outage_length() {
    hbd_e2e::require!(Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpCapture::start(dir.path(), &[]);
    let stub = HttpStub::start(dir.path());
    let daemon = Daemon::start(dir.path(), &channels(&smtp, &stub, "grace: 1"));
    send_datagram(
        daemon.udp_addr(),
        br#"{"ID":"HTB","name":"web9","interval":1}"#,
    );
    assert!(
        wait_until(Duration::from_secs(10), || smtp
            .subjects()
            .iter()
            .any(|s| s.starts_with("[hbd] DOWN: web9"))),
        "{:?}",
        smtp.subjects()
    );
    send_datagram(
        daemon.udp_addr(),
        br#"{"ID":"HTB","name":"web9","interval":1}"#,
    );
    assert!(
        wait_until(Duration::from_secs(5), || smtp
            .subjects()
            .iter()
            .any(|s| s.starts_with("[hbd] UP: web9 is back (was DOWN for"))),
        "{:?}",
        smtp.subjects()
    );
    let subjects = smtp.subjects();
    assert_eq!(subjects[0], "[hbd] NEW HOST: web9 sent its first heartbeat");
    assert_eq!(subjects[1], "[hbd] DOWN: web9 - no heartbeat for 2s");
    send_datagram(
        daemon.udp_addr(),
        br#"{"ID":"MSG","name":"web9","text":"disk swapped"}"#,
    );
    assert!(wait_until(Duration::from_secs(5), || {
        stub.requests("/hooks/")
            .iter()
            .any(|r| r["body"]["text"] == "MESSAGE from web9: disk swapped")
    }));
}

/// A private CA and a server certificate for localhost/127.0.0.1 signed by it, made with
/// the openssl CLI: (ca.pem, server cert, server key). rustls refuses a self-signed
/// certificate used directly as a server certificate, as real clients should.
fn certificates(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let run = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=hbd test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.pem",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

#[test]
fn email_over_starttls_and_implicit_tls_with_login() {
    hbd_e2e::require!(Need::TestPython);
    for (mode, flag) in [("starttls", "--require-starttls"), ("tls", "--smtps")] {
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = certificates(dir.path());
        let (ca_s, cert_s, key_s) = (
            ca.display().to_string(),
            cert.display().to_string(),
            key.display().to_string(),
        );
        let smtp = SmtpCapture::start(
            dir.path(),
            &[
                "--cert",
                &cert_s,
                "--key",
                &key_s,
                flag,
                "--auth",
                "hbd:s3cret",
            ],
        );
        let config = format!(
            "email:
  host: localhost
  port: {}
  security: {mode}
  username: hbd
  password: s3cret
  ca_file: {ca_s}
  from: hbd@example.org
  to: [ops@example.org]
",
            smtp.port
        );
        let daemon = Daemon::start(dir.path(), &config);
        send_datagram(
            daemon.udp_addr(),
            br#"{"ID":"MSG","name":"web3","text":"hello over TLS"}"#,
        );
        assert!(
            wait_until(Duration::from_secs(10), || smtp
                .subjects()
                .iter()
                .any(|s| s == "[hbd] MESSAGE from web3: hello over TLS")),
            "{mode}: {:?}\n{}",
            smtp.subjects(),
            daemon.log()
        );
        let (envelope, _) = smtp.messages().pop().unwrap();
        assert_eq!(envelope["tls"], true, "{mode}");
        assert_eq!(envelope["auth_login"], "hbd", "{mode}");
    }
}
