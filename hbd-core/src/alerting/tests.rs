//! Table-driven tests of the alert engine over synthetic time.

use std::time::Duration;

use super::*;
use crate::render::notice_text;

fn text(n: &Notice) -> String {
    notice_text(n)
}

const T0: u64 = 1_764_000_000_000;

/// Both clocks `secs` after the start: wall time from T0, monotonic from zero.
fn at(secs: u64) -> Now {
    Now {
        wall: Timestamp(T0 + secs * 1000),
        mono: Mono(secs * 1000),
    }
}

fn policy(renotify_s: u64, max: u32) -> Policy {
    Policy {
        renotify: Duration::from_secs(renotify_s),
        renotify_max: max,
        notify_unknown: true,
    }
}

fn cpu_rule() -> Rule {
    Rule {
        warning: Some(80.0),
        critical: Some(90.0),
        operator: Operator::Gt,
        hysteresis: 0.1,
        ..Rule::default()
    }
}

enum Step {
    Value(u64, f64),
    Tick(u64),
}

fn run(alerts: &mut Alerts, steps: &[(Step, &[&str])]) {
    let rule = cpu_rule();
    for (i, (step, want)) in steps.iter().enumerate() {
        let mut out = Vec::new();
        match step {
            Step::Value(t, v) => {
                alerts.observe(
                    "web1",
                    "cpu_monitor.cpu_percent",
                    &rule,
                    *v,
                    at(*t),
                    &mut out,
                );
            }
            Step::Tick(t) => alerts.on_tick(at(*t), &mut out),
        }
        let texts: Vec<String> = out.iter().map(text).collect();
        assert_eq!(texts, *want, "step {i}");
    }
}

#[test]
fn escalation_de_escalation_and_quiet_steady_state() {
    use Step::*;
    let mut alerts = Alerts::new(policy(0, 0));
    run(
        &mut alerts,
        &[
            (Value(0, 50.0), &[]),
            (Value(1, 50.0), &[]),
            (
                Value(2, 85.0),
                &["WARNING: web1 - cpu_monitor.cpu_percent = 85.0"],
            ),
            (Value(3, 86.0), &[]),
            (
                Value(4, 95.5),
                &["CRITICAL: web1 - cpu_monitor.cpu_percent = 95.5"],
            ),
            (Value(5, 85.0), &[]), // inside CRITICAL's band (81..90)
            (
                Value(6, 80.5),
                &["WARNING: web1 - cpu_monitor.cpu_percent = 80.5 (CRITICAL -> WARNING)"],
            ),
            (Value(7, 75.0), &[]), // inside WARNING's band (72..80)
            (
                Value(8, 70.0),
                &["RECOVERED: web1 - cpu_monitor.cpu_percent = 70.0 (WARNING -> OK)"],
            ),
            (
                Value(9, 99.0),
                &["CRITICAL: web1 - cpu_monitor.cpu_percent = 99.0"],
            ),
            (
                Value(10, 10.0),
                &["RECOVERED: web1 - cpu_monitor.cpu_percent = 10.0 (CRITICAL -> OK)"],
            ),
            // The original's example: once the value leaves CRITICAL's band, the plain
            // thresholds decide; 79 is below warning 80, so OK, not WARNING.
            (
                Value(11, 91.0),
                &["CRITICAL: web1 - cpu_monitor.cpu_percent = 91.0"],
            ),
            (Value(12, 85.0), &[]),
            (
                Value(13, 79.0),
                &["RECOVERED: web1 - cpu_monitor.cpu_percent = 79.0 (CRITICAL -> OK)"],
            ),
        ],
    );
}

#[test]
fn reminders_repeat_until_the_cap() {
    use Step::*;
    let mut alerts = Alerts::new(policy(3600, 2));
    run(
        &mut alerts,
        &[
            (
                Value(0, 95.0),
                &["CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0"],
            ),
            (Tick(3599), &[]),
            (
                Tick(3600),
                &["REMINDER (CRITICAL): web1 - cpu_monitor.cpu_percent = 95.0 (ongoing for 3600s)"],
            ),
            (Value(4000, 96.0), &[]),
            (Tick(7199), &[]),
            (
                Tick(7200),
                &["REMINDER (CRITICAL): web1 - cpu_monitor.cpu_percent = 96.0 (ongoing for 7200s)"],
            ),
            (Tick(20000), &[]), // capped at 2
            (
                Value(20001, 50.0),
                &["RECOVERED: web1 - cpu_monitor.cpu_percent = 50.0 (CRITICAL -> OK)"],
            ),
            (Tick(40000), &[]),
            // A new episode starts a new count.
            (
                Value(40001, 85.0),
                &["WARNING: web1 - cpu_monitor.cpu_percent = 85.0"],
            ),
            (
                Tick(43601),
                &["REMINDER (WARNING): web1 - cpu_monitor.cpu_percent = 85.0 (ongoing for 3600s)"],
            ),
        ],
    );
    assert_eq!(alerts.next_deadline(), Some(at(43601 + 3600).mono));
}

#[test]
fn no_cap_and_no_reminders() {
    use Step::*;
    let mut uncapped = Alerts::new(policy(10, 0));
    run(
        &mut uncapped,
        &[
            (
                Value(0, 95.0),
                &["CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0"],
            ),
            (
                Tick(10),
                &["REMINDER (CRITICAL): web1 - cpu_monitor.cpu_percent = 95.0 (ongoing for 10s)"],
            ),
            (
                Tick(20),
                &["REMINDER (CRITICAL): web1 - cpu_monitor.cpu_percent = 95.0 (ongoing for 20s)"],
            ),
            (
                Tick(30),
                &["REMINDER (CRITICAL): web1 - cpu_monitor.cpu_percent = 95.0 (ongoing for 30s)"],
            ),
        ],
    );
    let mut none = Alerts::new(policy(0, 0));
    run(
        &mut none,
        &[
            (
                Value(0, 95.0),
                &["CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0"],
            ),
            (Tick(100_000), &[]),
        ],
    );
    assert_eq!(none.next_deadline(), None);
}

#[test]
fn a_restart_in_the_middle_of_an_alert_still_recovers() {
    let mut before = Alerts::new(policy(3600, 0));
    let mut out = Vec::new();
    before.observe(
        "db1",
        "disk_monitor./.percent",
        &cpu_rule(),
        95.0,
        at(0),
        &mut out,
    );
    let stored = before.take_dirty();
    assert_eq!(stored.len(), 1);
    assert!(before.take_dirty().is_empty());

    let mut after = Alerts::new(policy(3600, 0));
    after.restore(stored, at(0));
    assert_eq!(after.active().len(), 1);
    let mut out = Vec::new();
    after.on_tick(at(3600), &mut out);
    assert_eq!(
        notice_text(&out[0]),
        "REMINDER (CRITICAL): db1 - disk_monitor./.percent = 95.0 (ongoing for 3600s)"
    );
    out.clear();
    after.observe(
        "db1",
        "disk_monitor./.percent",
        &cpu_rule(),
        60.0,
        at(4000),
        &mut out,
    );
    assert_eq!(
        notice_text(&out[0]),
        "RECOVERED: db1 - disk_monitor./.percent = 60.0 (CRITICAL -> OK)"
    );
    assert!(after.active().is_empty());
    assert_eq!(after.for_host("db1")[0].level, Level::Ok);
}

#[test]
fn nagios_statuses_and_the_unknown_policy() {
    for notify_unknown in [true, false] {
        let mut alerts = Alerts::new(Policy {
            notify_unknown,
            ..policy(0, 0)
        });
        let mut texts = Vec::new();
        for (t, level, text) in [
            (0, Level::Ok, "DISK OK"),
            (1, Level::Warning, "DISK WARNING - 15% free"),
            (2, Level::Unknown, "check_disk: timed out"),
            (3, Level::Critical, "DISK CRITICAL - 2% free"),
            (4, Level::Ok, "DISK OK"),
        ] {
            let mut out = Vec::new();
            alerts.observe_status(
                "web1",
                "nagios_runner.root_disk",
                level,
                text,
                at(t),
                &mut out,
            );
            texts.extend(out.into_iter().map(|n| notice_text(&n)));
        }
        let mut want = vec!["WARNING: web1 - nagios_runner.root_disk = DISK WARNING - 15% free"];
        if notify_unknown {
            want.push("UNKNOWN: web1 - nagios_runner.root_disk = check_disk: timed out");
            want.push("CRITICAL: web1 - nagios_runner.root_disk = DISK CRITICAL - 2% free");
        }
        want.push("RECOVERED: web1 - nagios_runner.root_disk = DISK OK (CRITICAL -> OK)");
        assert_eq!(texts, want, "notify_unknown {notify_unknown}");
    }
}

#[test]
fn api_views() {
    let mut alerts = Alerts::new(policy(0, 0));
    let mut out = Vec::new();
    alerts.observe(
        "b",
        "cpu_monitor.cpu_percent",
        &cpu_rule(),
        95.0,
        at(0),
        &mut out,
    );
    alerts.observe(
        "a",
        "cpu_monitor.cpu_percent",
        &cpu_rule(),
        85.0,
        at(0),
        &mut out,
    );
    alerts.observe(
        "a",
        "memory_monitor.percent",
        &cpu_rule(),
        10.0,
        at(0),
        &mut out,
    );
    let active: Vec<(String, Level, Option<f64>)> = alerts
        .active()
        .into_iter()
        .map(|s| (s.host, s.level, s.threshold))
        .collect();
    assert_eq!(
        active,
        [
            ("a".into(), Level::Warning, Some(80.0)),
            ("b".into(), Level::Critical, Some(90.0))
        ]
    );
    assert_eq!(alerts.for_host("a").len(), 2);
}

/// An alert carries its rule's operator beside its threshold, so a page can show
/// `< 10` rather than a bare `10`; a Nagios check and an OK path have neither.
#[test]
fn an_alert_knows_how_its_value_compares_with_its_threshold() {
    let mut alerts = Alerts::new(policy(0, 0));
    let mut out = Vec::new();
    let free = Rule {
        warning: Some(20.0),
        critical: Some(10.0),
        operator: Operator::Lt,
        ..Rule::default()
    };
    alerts.observe("a", "disk_monitor./.free", &free, 5.0, at(0), &mut out);
    alerts.observe(
        "a",
        "cpu_monitor.cpu_percent",
        &cpu_rule(),
        10.0,
        at(0),
        &mut out,
    );
    alerts.observe_status(
        "a",
        "nagios.load",
        Level::Warning,
        "LOAD WARNING",
        at(0),
        &mut out,
    );
    let shown: Vec<(String, Option<f64>, Option<&str>)> = alerts
        .for_host("a")
        .into_iter()
        .map(|s| (s.path, s.threshold, s.operator.map(Operator::as_str)))
        .collect();
    assert_eq!(
        shown,
        [
            ("cpu_monitor.cpu_percent".into(), None, None),
            ("disk_monitor./.free".into(), Some(10.0), Some("<")),
            ("nagios.load".into(), None, None),
        ]
    );
}
