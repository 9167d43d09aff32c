//! End to end: plugin reports cross thresholds, the daemon journals the exact alert texts,
//! reminds (capped), serves the alert state, and still sends RECOVERED after a restart.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use hbd_e2e::{Daemon, send_datagram, wait_until};

const CONFIG: &str = "
hosts:
  marker: {grace: 0}
threshold_renotify_interval: 1
threshold_renotify_max: 2
thresholds:
  cpu_monitor:
    cpu_percent: {warning: 80, critical: 90, hysteresis: 0.1}
";

fn cpu_report(daemon: &Daemon, value: f64) {
    let json = format!(
        r#"{{"ID":"PLG","name":"web1","plugin":"cpu_monitor","kind":"monitor","data":{{"cpu_percent":{value}}}}}"#
    );
    send_datagram(daemon.udp_addr(), json.as_bytes());
}

fn alert_texts(daemon: &Daemon) -> Vec<String> {
    let journal =
        std::fs::read_to_string(daemon.dir.join("journal/hbd_journal.jsonl")).unwrap_or_default();
    journal
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["message"]["ID"] == "ALERT")
        .map(|e| e["message"]["text"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn thresholds_alert_remind_and_recover_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(dir.path(), CONFIG);
    cpu_report(&daemon, 95.0);
    assert!(wait_until(Duration::from_secs(5), || {
        daemon
            .get_json("/api/0/alerts")
            .as_array()
            .is_some_and(|a| a.len() == 1)
    }));
    let alert = &daemon.get_json("/api/0/alerts")[0];
    assert_eq!(alert["host"], "web1");
    assert_eq!(alert["path"], "cpu_monitor.cpu_percent");
    assert_eq!(alert["level"], "CRITICAL");
    assert_eq!(alert["value"], 95.0);
    assert_eq!(alert["threshold"], 90.0);
    assert!(alert["since"].is_string() && alert["last_notified"].is_string());

    // 85 is inside the hysteresis band (81..90): still CRITICAL, no new notice.
    cpu_report(&daemon, 85.0);
    // Two reminders, one a second, then the cap.
    assert!(
        wait_until(Duration::from_secs(10), || alert_texts(&daemon).len() >= 3),
        "{:?}",
        alert_texts(&daemon)
    );
    // Nothing more comes: a marker host that goes DOWN 3 s from now (well after a third
    // reminder would have been due, 1 s after the second) shows the engine got past it.
    send_datagram(
        daemon.udp_addr(),
        br#"{"ID":"HTB","name":"marker","interval":3}"#,
    );
    assert!(wait_until(Duration::from_secs(10), || daemon
        .host_state("marker")
        .as_deref()
        == Some("DOWN")));
    let texts = alert_texts(&daemon);
    assert_eq!(texts.len(), 3, "{texts:#?}");
    assert_eq!(texts[0], "CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0");
    assert!(
        texts[1].starts_with(
            "REMINDER (CRITICAL): web1 - cpu_monitor.cpu_percent = 85.0 (ongoing for "
        ),
        "{}",
        texts[1]
    );
    assert!(
        texts[2].starts_with("REMINDER (CRITICAL): "),
        "{}",
        texts[2]
    );

    // The alert survives a restart (a clean stop writes what the store has not yet
    // got), and its recovery is still sent.
    daemon.restart();
    let alerts = daemon.get_json("/api/0/alerts");
    assert_eq!(alerts[0]["level"], "CRITICAL", "{alerts}");
    cpu_report(&daemon, 50.0);
    assert!(wait_until(Duration::from_secs(5), || daemon
        .get_json("/api/0/alerts")
        .as_array()
        .unwrap()
        .is_empty()));
    let host_alerts = daemon.get_json("/api/0/hosts/web1/alerts");
    assert_eq!(host_alerts[0]["level"], "OK");
    assert!(
        wait_until(Duration::from_secs(5), || {
            alert_texts(&daemon).last().map(String::as_str)
                == Some("RECOVERED: web1 - cpu_monitor.cpu_percent = 50.0 (CRITICAL -> OK)")
        }),
        "{:#?}",
        alert_texts(&daemon)
    );
    let (status, _) = daemon.get("/api/0/hosts/nobody/alerts").unwrap();
    assert_eq!(status, 404);
}
