//! The core with its alert policy: parents and UNREACHABLE, `down_after`, `for:`, and a
//! silence's recovery told when it is expired early.

use super::*;
use crate::policy::Reason;
use crate::policy::silence::Silence;
use crate::render;

/// What is sent (one text per message) after `step`.
fn told(out: &[Action]) -> Vec<String> {
    out.iter()
        .filter_map(|a| match a {
            Action::Notify(group) => Some(render::group_text(
                &group.iter().filter_map(render::text).collect::<Vec<_>>(),
            )),
            _ => None,
        })
        .collect()
}

/// web1's `cpu_monitor` reports `cpu_percent` at `t`: what is sent.
fn cpu(core: &mut Core, v: f64, t: u64) -> Vec<String> {
    let mut out = Vec::new();
    let msg = report("web1", "cpu_monitor", serde_json::json!({"cpu_percent": v}));
    core.handle(&datagram(msg, "127.0.0.1"), at(t), &mut out);
    told(&out)
}

fn beat(core: &mut Core, host: &str, t: u64) -> Vec<Action> {
    let msg = Message::Heartbeat(Heartbeat {
        name: host.into(),
        interval: Some(10.0),
        ..Heartbeat::default()
    });
    let mut out = Vec::new();
    core.handle(&datagram(msg, "127.0.0.1"), at(t), &mut out);
    out
}

fn tick(core: &mut Core, t: u64) -> Vec<Action> {
    let mut out = Vec::new();
    core.on_tick(at(t), &mut out);
    out
}

fn network() -> Config {
    let mut c = Config {
        interval: Duration::from_secs(10),
        grace: Duration::from_secs(5),
        ..Config::default()
    };
    c.storm.threshold = 0;
    c.hosts.insert("switch1".into(), HostConfig::default());
    c.hosts.insert(
        "web1".into(),
        HostConfig {
            parents: vec!["switch1".into()],
            ..HostConfig::default()
        },
    );
    c.hosts.insert(
        "app1".into(),
        HostConfig {
            parents: vec!["web1".into()],
            down_after: Some(3),
            ..HostConfig::default()
        },
    );
    c
}

#[test]
fn a_host_behind_a_down_parent_is_unreachable_and_not_told() {
    let mut core = Core::new(settings(&network()), at(0));
    beat(&mut core, "switch1", 0);
    beat(&mut core, "web1", 2);
    beat(&mut core, "app1", 2);
    // switch1's deadline (15 s) passes first: DOWN, told.
    assert_eq!(
        told(&tick(&mut core, 15)),
        ["DOWN: switch1 - no heartbeat for 15s"]
    );
    // web1's (17 s): its parent is DOWN, so it is UNREACHABLE and nobody is told.
    let out = tick(&mut core, 17);
    assert!(told(&out).is_empty(), "{:?}", told(&out));
    assert_eq!(core.host("web1").unwrap().state, HostState::Unreachable);
    assert!(out.iter().any(|a| matches!(
        a,
        Action::Decision(d) if d.host == "web1"
            && matches!(&d.verdict, crate::policy::Verdict::Held { reason: Reason::Unreachable { parent } } if parent == "switch1")
    )));
    // app1 may miss three heartbeats (down_after: 3): 2 + 30 + 5. Its parent web1 is
    // UNREACHABLE, which counts as down: transitive.
    tick(&mut core, 36);
    assert_eq!(core.host("app1").unwrap().state, HostState::Up);
    tick(&mut core, 37);
    assert_eq!(core.host("app1").unwrap().state, HostState::Unreachable);
    assert_eq!(core.counts(), [0, 0, 1, 2]);

    // switch1 is back: UP is told; web1 and app1 get a full period to be heard.
    assert_eq!(
        told(&beat(&mut core, "switch1", 40)),
        ["UP: switch1 is back (was DOWN for 25s)"]
    );
    // web1 is heard again: UP from UNREACHABLE, and nothing to tell (its DOWN never was).
    let out = beat(&mut core, "web1", 42);
    assert!(told(&out).is_empty(), "{:?}", told(&out));
    assert_eq!(core.host("web1").unwrap().state, HostState::Up);
    // app1 stays silent: once its own deadline passes, its real state is told.
    for t in [50, 60, 70] {
        beat(&mut core, "switch1", t);
        beat(&mut core, "web1", t + 2);
        assert!(told(&tick(&mut core, t + 5)).is_empty());
    }
    let out = tick(&mut core, 77);
    assert_eq!(told(&out), ["DOWN: app1 - no heartbeat for 1m 15s"]);
}

#[test]
fn a_child_waits_for_a_parent_not_heard_since_the_child_was_due() {
    let mut c = network();
    c.hosts.get_mut("web1").unwrap().interval = Some(Duration::from_secs(4));
    let mut core = Core::new(settings(&c), at(0));
    // web1 heartbeats every 4 s (deadline 0 + 4 + 5 = 9); switch1 every 10 s (15).
    let msg = |name: &str| {
        Message::Heartbeat(Heartbeat {
            name: name.into(),
            ..Heartbeat::default()
        })
    };
    let mut out = Vec::new();
    core.handle(&datagram(msg("switch1"), "127.0.0.1"), at(0), &mut out);
    core.handle(&datagram(msg("web1"), "127.0.0.1"), at(0), &mut out);
    // At 9 s web1 is silent, and switch1 has not been heard since web1 was due (4 s):
    // the core waits for switch1's own deadline before deciding.
    assert!(told(&tick(&mut core, 9)).is_empty());
    assert_eq!(core.host("web1").unwrap().state, HostState::Up);
    // switch1 dies too: web1 is UNREACHABLE, only switch1 is told.
    assert_eq!(
        told(&tick(&mut core, 16)),
        ["DOWN: switch1 - no heartbeat for 16s"]
    );
    assert_eq!(core.host("web1").unwrap().state, HostState::Unreachable);

    // Same start, but switch1 is heard after web1 was due: web1 alone is DOWN.
    let mut c = network();
    c.hosts.get_mut("web1").unwrap().interval = Some(Duration::from_secs(4));
    let mut core = Core::new(settings(&c), at(0));
    core.handle(&datagram(msg("switch1"), "127.0.0.1"), at(0), &mut out);
    core.handle(&datagram(msg("web1"), "127.0.0.1"), at(0), &mut out);
    core.handle(&datagram(msg("switch1"), "127.0.0.1"), at(6), &mut out);
    assert_eq!(
        told(&tick(&mut core, 9)),
        ["DOWN: web1 - no heartbeat for 9s"]
    );
}

#[test]
fn a_pending_rule_fires_only_after_its_for_period() {
    use crate::alerting::rules::parse_layers;
    let mut c = config();
    c.storm.threshold = 0;
    c.threshold_layers = parse_layers(&serde_json::json!({
        "cpu_monitor": {"cpu_percent": {"warning": 80, "critical": 90, "for": "60s"}},
    }))
    .unwrap();
    let mut core = Core::new(settings(&c), at(0));
    assert_eq!(
        cpu(&mut core, 95.0, 0),
        ["NEW HOST: web1 sent its first heartbeat"]
    );
    // A spike that ends within the minute is never told.
    assert!(cpu(&mut core, 50.0, 30).is_empty());
    assert!(cpu(&mut core, 95.0, 40).is_empty());
    assert!(
        core.next_deadline() <= Some(at(100).mono),
        "wakes by the end of the period"
    );
    assert!(told(&tick(&mut core, 99)).is_empty());
    assert_eq!(
        told(&tick(&mut core, 100)),
        ["CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0"]
    );
}

/// An alert already told, then silenced, shows as held: its reminders are (nothing
/// else would change); the hold goes with the silence.
#[test]
fn an_already_told_alert_under_a_silence_shows_as_held() {
    let mut c = super::alert_config();
    c.storm.threshold = 0;
    let mut core = Core::new(settings(&c), at(0));
    assert_eq!(
        cpu(&mut core, 95.0, 0),
        [
            "NEW HOST: web1 sent its first heartbeat",
            "CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0"
        ]
    );
    assert_eq!(
        core.host_alerts("web1", at(5))[0].held,
        None,
        "told, nothing holds it"
    );
    let silence = Silence {
        id: "s2".into(),
        hosts: "web1".into(),
        paths: None,
        only: None,
        starts: at(10).wall,
        ends: at(600).wall,
        comment: "disk swap".into(),
        author: "alice".into(),
        created: at(10).wall,
    };
    core.apply(
        &Command::PutSilence {
            silence: Box::new(silence),
        },
        at(10),
        &mut Vec::new(),
    )
    .unwrap();
    let silenced = Some(Reason::Silenced {
        silence: "s2".into(),
    });
    assert_eq!(core.host_alerts("web1", at(11))[0].held, silenced);
    assert_eq!(core.active_alerts(at(11))[0].held, silenced);
    assert_eq!(
        core.host_alerts("web1", at(601))[0].held,
        None,
        "the silence ended"
    );
}

#[test]
fn a_recovery_in_a_silence_is_told_when_the_silence_is_expired_early() {
    let mut c = super::alert_config();
    c.storm.threshold = 0;
    let mut core = Core::new(settings(&c), at(0));
    cpu(&mut core, 95.0, 0);
    let silence = Silence {
        id: "s1".into(),
        hosts: "web*".into(),
        paths: None,
        only: None,
        starts: at(10).wall,
        ends: at(3600).wall,
        comment: "kernel update".into(),
        author: "alice".into(),
        created: at(10).wall,
    };
    let mut out = Vec::new();
    core.apply(
        &Command::PutSilence {
            silence: Box::new(silence),
        },
        at(10),
        &mut out,
    )
    .unwrap();
    assert!(cpu(&mut core, 50.0, 20).is_empty(), "held by the silence");
    let held = core.host_alerts("web1", at(20));
    assert_eq!(held[0].level, crate::alerting::Level::Ok);
    assert_eq!(
        held[0].held,
        Some(Reason::Silenced {
            silence: "s1".into()
        })
    );
    let mut out = Vec::new();
    core.apply(
        &Command::ExpireSilence { id: "s1".into() },
        at(30),
        &mut out,
    )
    .unwrap();
    assert_eq!(
        told(&out),
        ["RECOVERED: web1 - cpu_monitor.cpu_percent = 50.0 (CRITICAL -> OK)"]
    );
    let changes = core.take_changes();
    assert_eq!(changes.silences.len(), 2, "added, then expired");
    assert_eq!(changes.silences[1].ends, at(30).wall);
    assert!(changes.told.contains(&(
        "web1".into(),
        "cpu_monitor.cpu_percent".into(),
        crate::alerting::Level::Ok
    )));
    assert_eq!(
        core.apply(
            &Command::ExpireSilence { id: "nope".into() },
            at(30),
            &mut out
        ),
        Err(CommandError::UnknownSilence("nope".into()))
    );
}

#[test]
fn a_cleared_alert_or_a_dropped_host_is_told_afresh() {
    let mut c = super::alert_config();
    c.storm.threshold = 0;
    let mut core = Core::new(settings(&c), at(0));
    let raised = "CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0";
    assert_eq!(cpu(&mut core, 95.0, 0)[1], raised);
    let clear = Command::ClearAlert {
        host: "web1".into(),
        path: "cpu_monitor.cpu_percent".into(),
    };
    core.apply(&clear, at(1), &mut Vec::new()).unwrap();
    // Evaluated afresh from OK, and told afresh: the operator cleared it to hear again.
    assert_eq!(cpu(&mut core, 95.0, 2), [raised]);
    let changes = core.take_changes();
    assert!(changes.told.contains(&(
        "web1".into(),
        "cpu_monitor.cpu_percent".into(),
        crate::alerting::Level::Ok
    )));

    let mut out = Vec::new();
    core.apply(
        &Command::DropHost {
            host: "web1".into(),
        },
        at(3),
        &mut out,
    )
    .unwrap();
    // Back as a new host: NEW HOST, and its alert told again.
    assert_eq!(
        cpu(&mut core, 95.0, 4),
        ["NEW HOST: web1 sent its first heartbeat", raised]
    );
}

/// One evaluated value of each kind of alert path, alternating between a bad and a good
/// state: a threshold metric, a Nagios check's own status, and the RTT.
fn flapping_value(kind: &str, bad: bool) -> Message {
    match kind {
        "metric" => report(
            "web1",
            "cpu_monitor",
            serde_json::json!({"cpu_percent": if bad { 95.0 } else { 10.0 }}),
        ),
        "nagios" => report(
            "web1",
            "nagios_runner",
            serde_json::json!({"root": {
                "status": if bad { "CRITICAL" } else { "OK" },
                "text": if bad { "DISK CRITICAL" } else { "DISK OK" },
            }}),
        ),
        _ => Message::Heartbeat(Heartbeat {
            name: "web1".into(),
            interval: Some(3600.0),
            rtt: Some(if bad { 600.0 } else { 10.0 }),
            ..Heartbeat::default()
        }),
    }
}

#[test]
fn every_kind_of_alert_path_flaps_and_is_held_then_settles() {
    let cases = [
        ("metric", "web1 - cpu_monitor.cpu_percent"),
        ("nagios", "web1 - nagios_runner.root"),
        ("rtt", "web1 - rtt.web1"),
    ];
    for (kind, subject) in cases {
        let mut c = alert_config();
        c.storm.threshold = 0;
        c.flapping = Some(crate::policy::flap::FlapSettings {
            low: 5.0,
            high: 20.0,
        });
        let mut core = Core::new(settings(&c), at(0));
        let mut sent = Vec::new();
        // Two dozen alternations a second apart.
        for i in 0..24u64 {
            let mut out = Vec::new();
            let msg = flapping_value(kind, i % 2 == 0);
            core.handle(&datagram(msg, "127.0.0.1"), at(1 + i), &mut out);
            sent.extend(told(&out));
        }
        let start = format!("FLAPPING START: {subject} (");
        let starts = sent.iter().filter(|t| t.starts_with(&start)).count();
        assert_eq!(starts, 1, "{kind}: {sent:#?}");
        let changes = sent.iter().filter(|t| !t.starts_with("FLAPPING")).count();
        assert!(
            changes <= 5,
            "{kind}: single changes are held once it flaps: {sent:#?}"
        );
        // After flapping started, nothing else is told.
        let at_start = sent.iter().position(|t| t.starts_with(&start)).unwrap();
        assert_eq!(at_start, sent.len() - 1, "{kind}: {sent:#?}");
        // Whichever state differs from the one last told is held, as flapping.
        let path = subject.split(" - ").nth(1).unwrap();
        let mut holds = Vec::new();
        for (i, bad) in [true, false].into_iter().enumerate() {
            let mut out = Vec::new();
            let msg = flapping_value(kind, bad);
            core.handle(&datagram(msg, "127.0.0.1"), at(30 + i as u64), &mut out);
            assert!(told(&out).is_empty(), "{kind}: {:?}", told(&out));
            holds.push(core.hold_of("web1", Some(path)));
        }
        assert!(
            holds
                .iter()
                .any(|h| matches!(h, Some(Reason::Flapping { .. }))),
            "{kind}: {holds:?}"
        );
        // It settles: good values until the percentage falls below `low`; the stop is
        // told, then the state now if it differs from what was last told.
        let mut after = Vec::new();
        for i in 32..70u64 {
            let mut out = Vec::new();
            let msg = flapping_value(kind, false);
            core.handle(&datagram(msg, "127.0.0.1"), at(1 + i), &mut out);
            after.extend(told(&out));
        }
        let stop = format!("FLAPPING STOP: {subject} (");
        assert!(
            after.first().is_some_and(|t| t.starts_with(&stop)),
            "{kind}: {after:#?}"
        );
        assert!(core.hold_of("web1", Some(path)).is_none(), "{kind}");
    }
}
