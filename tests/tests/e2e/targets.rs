//! End to end: the `targets` (more places to tell) through the real daemon. One alert
//! raised and recovered reaches a stand-in for each of Slack, Microsoft Teams, Discord,
//! Telegram, ntfy and PagerDuty, each request checked exactly as that service's public
//! API documents it, two generic webhooks (a body template with a secret header read
//! from a file; the facts as they are, by PUT), and a real Alertmanager (Debian's),
//! where the alert opens and is resolved. A failure is retried and counted; no secret
//! reaches the log.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use hbd_e2e::needs::Need;
use hbd_e2e::services::{Alertmanager, HttpStub};
use hbd_e2e::{Daemon, send_datagram, wait_until};

const TELEGRAM_TOKEN: &str = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11";
const ROUTING_KEY: &str = "R0UT1NGK3Y0F32CHARACTERS00000001";
const NTFY_TOKEN: &str = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2";
const HEADER_SECRET: &str = "Bearer s3cr3t-from-a-file";
const CRIT: &str = "CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0";
const RECOVERED: &str = "RECOVERED: web1 - cpu_monitor.cpu_percent = 40.0 (CRITICAL -> OK)";

fn cpu(daemon: &Daemon, value: f64) {
    let json = format!(
        r#"{{"ID":"PLG","name":"web1","plugin":"cpu_monitor","kind":"monitor","data":{{"cpu_percent":{value}}}}}"#
    );
    send_datagram(daemon.udp_addr(), json.as_bytes());
}

/// The requests under `prefix` whose text holds `what`, by the body's field `field`.
fn about(stub: &HttpStub, prefix: &str, what: &str) -> Vec<serde_json::Value> {
    stub.requests(prefix)
        .into_iter()
        .filter(|r| r["raw"].as_str().is_some_and(|raw| raw.contains(what)))
        .collect()
}

#[test]
fn every_target_gets_the_request_its_service_documents() {
    hbd_e2e::require!(Need::TestPython, Need::Alertmanager);
    let dir = tempfile::tempdir().unwrap();
    let stub = HttpStub::start_with(
        dir.path(),
        &[
            "--telegram-token",
            TELEGRAM_TOKEN,
            "--ntfy-token",
            NTFY_TOKEN,
        ],
    );
    let am = Alertmanager::start(dir.path());
    let secret_file = dir.path().join("webhook.secret");
    std::fs::write(&secret_file, format!("{HEADER_SECRET}\n")).unwrap();
    let url = stub.url();
    let config = format!(
        "{thresholds}notify_retry_base: 0.2
targets:
  ops-slack:
    kind: slack
    url: {url}/services/T0001/B0001/XXXXXXXXXXXXXXXXXXXXXXXX
  ops-teams:
    kind: teams
    url: {url}/workflows/a1b2c3/triggers/manual/paths/invoke?sig=s1g
  ops-discord:
    kind: discord
    url: {url}/api/webhooks/1234567890/webhooktoken
  ops-telegram:
    kind: telegram
    url: {url}
    token: '{TELEGRAM_TOKEN}'
    chat_id: -1001234567890
  ops-ntfy:
    kind: ntfy
    url: {url}
    topic: hbd-alerts
    token: '{NTFY_TOKEN}'
  pager:
    kind: pagerduty
    url: {url}/v2/enqueue
    routing_key: '{ROUTING_KEY}'
    hosts: ['web*']
  tickets:
    kind: webhook
    url: {url}/webhook/tickets
    headers:
      Authorization: {{file: {secret}}}
      X-Team: ops
    body: '{{\"summary\": \"{{{{text}}}}\", \"host\": \"{{{{host}}}}\", \"resolved\": {{{{{{json resolved}}}}}}, \"key\": \"{{{{key}}}}\"}}'
  raw:
    kind: webhook
    method: PUT
    url: {url}/webhook/raw
  am:
    kind: alertmanager
    url: {am_url}
    resend: 2
    labels: {{team: ops}}
  elsewhere:
    kind: slack
    url: {url}/services/OTHER/TEAM/only-db-hosts
    hosts: ['db*']
",
        thresholds = hbd_e2e::CPU_THRESHOLDS,
        secret = secret_file.display(),
        am_url = am.url(),
    );
    let daemon = Daemon::start(dir.path(), &config);
    // Slack answers 500 once: retried, then delivered. Telegram's connection drops
    // once: the error names the URL, which holds the bot's token.
    stub.fail("/services/T0001/", 500, 1, 0.0);
    stub.fail("/bot", 0, 1, 0.0);
    cpu(&daemon, 95.0);

    // Slack: {"text"} only. Its first message (NEW HOST) met the failure and went
    // again.
    assert!(
        wait_until(Duration::from_secs(15), || !about(
            &stub,
            "/services/T0001/",
            CRIT
        )
        .is_empty()),
        "{:#?}\n{}",
        stub.requests("/services/"),
        daemon.log()
    );
    let slack = about(&stub, "/services/T0001/", CRIT);
    assert_eq!(slack.len(), 1, "{slack:#?}");
    assert_eq!(slack[0]["status"], 200);
    assert_eq!(slack[0]["body"], serde_json::json!({ "text": CRIT }));
    assert_eq!(slack[0]["headers"]["content-type"], "application/json");
    let first = || -> Vec<serde_json::Value> {
        about(&stub, "/services/T0001/", "NEW HOST")
            .iter()
            .map(|r| r["status"].clone())
            .collect()
    };
    assert!(wait_until(Duration::from_secs(10), || first().len() >= 2));
    assert_eq!(first(), [500, 200]);

    // Teams: one Adaptive Card holding the text.
    assert!(wait_until(Duration::from_secs(10), || !about(
        &stub,
        "/workflows/",
        CRIT
    )
    .is_empty()));
    let teams = &about(&stub, "/workflows/", CRIT)[0];
    assert_eq!(teams["status"], 202);
    assert_eq!(teams["query"]["sig"], "s1g");
    assert_eq!(
        teams["body"],
        serde_json::json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [{"type": "TextBlock", "text": CRIT, "wrap": true}],
                },
            }],
        })
    );

    // Discord: the content, mentions off.
    assert!(wait_until(Duration::from_secs(10), || !about(
        &stub,
        "/api/webhooks/",
        CRIT
    )
    .is_empty()));
    let discord = &about(&stub, "/api/webhooks/", CRIT)[0];
    assert_eq!(discord["status"], 204);
    assert_eq!(discord["path"], "/api/webhooks/1234567890/webhooktoken");
    assert_eq!(
        discord["body"],
        serde_json::json!({"content": CRIT, "allowed_mentions": {"parse": []}})
    );

    // Telegram: sendMessage with the bot's token in the path, plain text.
    assert!(wait_until(Duration::from_secs(10), || !about(
        &stub, "/bot", CRIT
    )
    .is_empty()));
    let telegram = &about(&stub, "/bot", CRIT)[0];
    assert_eq!(telegram["status"], 200, "{telegram:#}");
    assert_eq!(
        telegram["path"],
        format!("/bot{TELEGRAM_TOKEN}/sendMessage")
    );
    assert_eq!(
        telegram["body"],
        serde_json::json!({
            "chat_id": "-1001234567890",
            "text": CRIT,
            "link_preview_options": {"is_disabled": true},
        })
    );

    // ntfy: the text as the body, a title, the priority and tag of a CRITICAL.
    assert!(wait_until(Duration::from_secs(10), || !about(
        &stub,
        "/hbd-alerts",
        CRIT
    )
    .is_empty()));
    let ntfy = &about(&stub, "/hbd-alerts", CRIT)[0];
    assert_eq!(ntfy["status"], 200, "{ntfy:#}");
    assert_eq!(ntfy["raw"], CRIT);
    assert_eq!(ntfy["body"]["title"], "hbd: CRITICAL web1");
    assert_eq!(ntfy["body"]["priority"], 5);
    assert_eq!(ntfy["body"]["tags"], serde_json::json!(["rotating_light"]));

    // PagerDuty: a trigger keyed by the alert (NEW HOST pages nobody).
    assert!(wait_until(Duration::from_secs(10), || !stub
        .requests("/v2/enqueue")
        .is_empty()));
    let pd = stub.requests("/v2/enqueue");
    assert_eq!(pd.len(), 1, "{pd:#?}");
    assert_eq!(pd[0]["status"], 202, "{:#}", pd[0]);
    let event = &pd[0]["body"];
    assert_eq!(event["routing_key"], ROUTING_KEY);
    assert_eq!(event["event_action"], "trigger");
    assert_eq!(event["dedup_key"], "hbd/web1/cpu_monitor.cpu_percent");
    assert_eq!(event["payload"]["summary"], CRIT);
    assert_eq!(event["payload"]["source"], "web1");
    assert_eq!(event["payload"]["severity"], "critical");
    assert_eq!(event["payload"]["component"], "cpu_monitor.cpu_percent");
    assert_eq!(event["payload"]["custom_details"]["threshold"], 90.0);

    // The webhook with a template, its secret header from a file.
    assert!(wait_until(Duration::from_secs(10), || !about(
        &stub,
        "/webhook/tickets",
        CRIT
    )
    .is_empty()));
    let ticket = &about(&stub, "/webhook/tickets", CRIT)[0];
    assert_eq!(ticket["method"], "POST");
    assert_eq!(ticket["headers"]["authorization"], HEADER_SECRET);
    assert_eq!(ticket["headers"]["x-team"], "ops");
    assert_eq!(
        ticket["body"],
        serde_json::json!({"summary": CRIT, "host": "web1", "resolved": false,
                           "key": "web1/cpu_monitor.cpu_percent"})
    );
    // The webhook without one: the facts, by PUT.
    assert!(wait_until(Duration::from_secs(10), || !about(
        &stub,
        "/webhook/raw",
        CRIT
    )
    .is_empty()));
    let raw = &about(&stub, "/webhook/raw", CRIT)[0];
    assert_eq!(raw["method"], "PUT");
    assert_eq!(raw["body"]["kind"], "problem");
    assert_eq!(raw["body"]["event"], "CRITICAL");
    assert_eq!(raw["body"]["severity"], "CRITICAL");
    assert_eq!(raw["body"]["value"], 95.0);
    assert_eq!(raw["body"]["text"], CRIT);

    // Alertmanager: the alert is open there, labelled.
    let open = |am: &Alertmanager| -> Option<serde_json::Value> {
        am.alerts()
            .into_iter()
            .find(|a| a["labels"]["host"] == "web1" && a["status"]["state"] == "active")
    };
    assert!(
        wait_until(Duration::from_secs(15), || open(&am).is_some()),
        "{:#?}\n{}",
        am.alerts(),
        daemon.log()
    );
    let alert = open(&am).unwrap();
    assert_eq!(alert["labels"]["alertname"], "hbd_alert");
    assert_eq!(alert["labels"]["path"], "cpu_monitor.cpu_percent");
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(alert["labels"]["team"], "ops");
    assert_eq!(alert["annotations"]["summary"], CRIT);

    // Recovery: everyone hears it, PagerDuty resolves the same incident, Alertmanager
    // resolves the alert.
    cpu(&daemon, 40.0);
    assert!(wait_until(Duration::from_secs(15), || {
        stub.requests("/v2/enqueue").len() >= 2
            && !about(&stub, "/services/T0001/", RECOVERED).is_empty()
            && !about(&stub, "/webhook/tickets", RECOVERED).is_empty()
    }));
    let resolve = &stub.requests("/v2/enqueue")[1];
    assert_eq!(resolve["status"], 202, "{resolve:#}");
    assert_eq!(
        resolve["body"],
        serde_json::json!({
            "routing_key": ROUTING_KEY,
            "event_action": "resolve",
            "dedup_key": "hbd/web1/cpu_monitor.cpu_percent",
        })
    );
    let closed = &about(&stub, "/webhook/tickets", RECOVERED)[0];
    assert_eq!(closed["body"]["resolved"], true);
    assert!(
        wait_until(Duration::from_secs(15), || open(&am).is_none()),
        "{:#?}",
        am.alerts()
    );
    // The target for db hosts only heard nothing.
    assert_eq!(stub.requests("/services/OTHER/").len(), 0);

    // Counted per target; no secret in the log.
    let sent = |target: &str| {
        daemon.metric(&format!(
            "hbd_notifications_sent_total{{channel=\"{target}\"}}"
        ))
    };
    assert_eq!(
        daemon.metric("hbd_notification_failures_total{channel=\"ops-slack\"}"),
        1.0
    );
    // A request reaches the stand-in before its answer is counted: wait for the counts.
    assert!(
        wait_until(Duration::from_secs(15), || sent("ops-slack") >= 3.0),
        "NEW HOST, CRITICAL, RECOVERED: {}",
        sent("ops-slack")
    );
    assert!(
        wait_until(Duration::from_secs(15), || sent("pager") == 2.0),
        "{}",
        sent("pager")
    );
    assert!(daemon.metric("hbd_notification_failures_total{channel=\"ops-telegram\"}") >= 1.0);
    let log = daemon.log();
    assert!(log.contains("/bot***/sendMessage"), "{log}");
    for secret in [
        TELEGRAM_TOKEN,
        ROUTING_KEY,
        NTFY_TOKEN,
        "s3cr3t-from-a-file",
    ] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

/// The test-send: a sample through one channel or target now, with the service's
/// answer, from the API and from the button on /alerts in a real browser.
#[test]
fn a_test_send_shows_what_each_service_answered() {
    hbd_e2e::require!(Need::TestPython, Need::Browser);
    let dir = tempfile::tempdir().unwrap();
    let stub = HttpStub::start_with(dir.path(), &["--telegram-token", TELEGRAM_TOKEN]);
    let url = stub.url();
    let daemon = Daemon::start(
        dir.path(),
        &format!(
            "pushover:
  url: {url}/1/messages.json
  token: azGDORePK8gMaC0QOYAMyEEuzJnyUi
  user: uQiRzpo4DXghDmr9QzzfQu27cmVRsG
targets:
  ops-slack: {{kind: slack, url: '{url}/services/T0/B0/X'}}
  wrong-bot: {{kind: telegram, url: '{url}', token: '999:not-the-bot', chat_id: 1}}
  pager: {{kind: pagerduty, url: '{url}/v2/enqueue', routing_key: '{ROUTING_KEY}'}}
"
        ),
    );
    let test = |channel: &str| {
        daemon.call(
            "POST",
            "/api/0/notify/test",
            &[("Content-Type", "application/json")],
            Some(&format!(r#"{{"channel": "{channel}"}}"#)),
        )
    };
    let listed = daemon.call("GET", "/api/0/notify/channels", &[], None);
    assert_eq!(
        listed.json(),
        serde_json::json!([
            {"name": "pushover", "kind": "pushover"},
            {"name": "ops-slack", "kind": "slack"},
            {"name": "wrong-bot", "kind": "telegram"},
            {"name": "pager", "kind": "pagerduty"},
        ])
    );

    let slack = test("ops-slack");
    assert_eq!(slack.status, 200, "{}", slack.body);
    let tried = &slack.json()["tried"];
    assert_eq!(tried[0]["ok"], true);
    assert_eq!(tried[0]["answer"], "HTTP 200 OK: ok");
    assert_eq!(
        tried[0]["text"],
        "WARNING: hbd-test - test.notification = a test sent by an administrator"
    );
    assert_eq!(stub.requests("/services/T0/").len(), 1);

    // Pushover: to its own user, with Pushover's answer.
    let push = test("pushover").json();
    assert_eq!(
        push["tried"][0]["recipient"],
        "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"
    );
    assert!(
        push["tried"][0]["answer"]
            .as_str()
            .unwrap()
            .starts_with("HTTP 200 OK: {\"status\": 1"),
        "{push}"
    );

    // A refusal is the answer, secrets kept out of it.
    let bot = test("wrong-bot").json();
    assert_eq!(bot["tried"][0]["ok"], false, "{bot}");
    assert!(
        bot["tried"][0]["answer"].as_str().unwrap().contains("401"),
        "{bot}"
    );
    assert!(!bot.to_string().contains("not-the-bot"), "{bot}");

    // PagerDuty: the sample opens an incident and its recovery resolves it.
    let pager = test("pager").json();
    let actions: Vec<String> = stub
        .requests("/v2/enqueue")
        .iter()
        .map(|r| {
            r["body"]["event_action"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(actions, ["trigger", "resolve"], "{pager}");
    assert_eq!(
        pager["tried"][1]["answer"].as_str().unwrap().get(..12),
        Some("HTTP 202 Acc")
    );

    assert_eq!(test("nowhere").status, 404);
    assert_eq!(
        daemon
            .call(
                "POST",
                "/api/0/notify/test",
                &[("Content-Type", "application/json")],
                Some("{}")
            )
            .status,
        422
    );

    // The button on /alerts, in a real browser.
    let base = format!("http://{}", daemon.http_addr());
    let seen = hbd_e2e::browser("test_send.mjs", &[&base, "ops-slack"], &[]);
    assert_eq!(seen["problems"], serde_json::json!([]), "{seen:#}");
    assert_eq!(
        seen["channels"],
        serde_json::json!(["pushover", "ops-slack", "wrong-bot", "pager"])
    );
    assert_eq!(seen["result"], "ok: HTTP 200 OK: ok", "{seen:#}");
    assert_eq!(stub.requests("/services/T0/").len(), 2);
}
