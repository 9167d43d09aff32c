//! Table-driven tests of the core with synthetic time: every host transition.

mod acks;
mod commands;
mod fixture;
mod managed;
mod operator;
mod plugin_status;
mod policy;
mod vantage;

use std::net::SocketAddr;
use std::time::Duration;

use hb_proto::{Boot, Heartbeat, Message, OperatorMessage, PluginKind, PluginReport};

use super::*;
use crate::alerting::AlertState;
use crate::clock::Timestamp;
use crate::render::notice_text;
use fixture::{Config, HostConfig};

const T0: u64 = 1_764_000_000_000;

#[derive(Clone, Copy)]
enum Step {
    /// (host, seconds after T0, interval from the heartbeat, source ip)
    Htb(&'static str, u64, Option<f64>, &'static str),
    Boot(&'static str, u64),
    Msg(&'static str, u64, &'static str),
    Plg(&'static str, u64),
    Tick(u64),
}

/// Both clocks `secs` after the start: wall time from T0, monotonic from zero.
fn at(secs: u64) -> Now {
    Now {
        wall: Timestamp(T0 + secs * 1000),
        mono: Mono(secs * 1000),
    }
}

fn config() -> Config {
    let mut c = Config {
        interval: Duration::from_secs(60),
        grace: Duration::from_secs(10),
        ..Config::default()
    };
    c.hosts.insert(
        "slow".into(),
        HostConfig {
            interval: Some(Duration::from_secs(300)),
            ..HostConfig::default()
        },
    );
    c
}

fn datagram(message: Message, ip: &str) -> Datagram {
    let source: SocketAddr = format!("{ip}:40000").parse().unwrap();
    Datagram {
        message,
        source,
        key_id: None,
    }
}

fn render(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter(|a| {
            !matches!(
                a,
                Action::AlertChanged { .. }
                    | Action::Forget { .. }
                    | Action::Notify(_)
                    | Action::Decision(_)
            )
        })
        .map(|a| match a {
            Action::Reply {
                message: Message::Ack(ack),
                ..
            } => {
                format!("ACK seq={:?}", ack.seq)
            }
            Action::Reply { message, .. } => format!("REPLY {}", message.id()),
            Action::Alert(notice) => notice_text(notice),
            Action::Event(e) => match &e.kind {
                EventKind::Up {
                    down_for_s: Some(d),
                } => {
                    format!("UP {} after {}s", e.host, d.as_secs())
                }
                EventKind::Down { silent_for_s } => {
                    format!("DOWN {} silent {}s", e.host, silent_for_s.as_secs())
                }
                EventKind::AddressChanged { from, to } => {
                    format!("ADDRESS_CHANGED {} {from}->{to}", e.host)
                }
                EventKind::Message { text } => format!("MESSAGE {} {text}", e.host),
                other => format!("{} {}", other.name(), e.host),
            },
            Action::Job(job) => format!("JOB {} {}", job.id, commands::job_state(&job.state)),
            Action::Acknowledged {
                host, path, ended, ..
            } => format!("ACKNOWLEDGED {host} {path:?} {ended:?}"),
            Action::AlertChanged { .. }
            | Action::Forget { .. }
            | Action::Notify(_)
            | Action::Decision(_) => unreachable!("filtered"),
        })
        .collect()
}

fn run(core: &mut Core, step: Step) -> Vec<String> {
    let mut out = Vec::new();
    let mut seq = 0;
    match step {
        Step::Htb(name, t, interval, ip) => {
            seq += t;
            let msg = Message::Heartbeat(Heartbeat {
                name: name.into(),
                seq: Some(seq),
                interval,
                ..Heartbeat::default()
            });
            core.handle(&datagram(msg, ip), at(t), &mut out);
        }
        Step::Boot(name, t) => {
            let msg = Message::Boot(Boot {
                name: name.into(),
                uptime: Some(12.0),
                ..Boot::default()
            });
            core.handle(&datagram(msg, "127.0.0.1"), at(t), &mut out);
        }
        Step::Msg(name, t, text) => {
            let msg = Message::Text(OperatorMessage {
                name: name.into(),
                text: text.into(),
                ..OperatorMessage::default()
            });
            core.handle(&datagram(msg, "127.0.0.1"), at(t), &mut out);
        }
        Step::Plg(name, t) => {
            let msg = Message::Plugin(PluginReport {
                name: name.into(),
                ts: None,
                run: None,
                seq: None,
                plugin: "cpu_monitor".into(),
                kind: PluginKind::Monitor,
                data: serde_json::Map::new(),
                status: None,
                duration_ms: None,
            });
            core.handle(&datagram(msg, "127.0.0.1"), at(t), &mut out);
        }
        Step::Tick(t) => core.on_tick(at(t), &mut out),
    }
    render(&out)
}

/// A scenario: its name, then each step with the actions it must produce.
type Scenario = (&'static str, Vec<(Step, Vec<&'static str>)>);

#[test]
fn host_transitions() {
    use self::Step::*;
    let lo = "127.0.0.1";
    // (scenario, steps with the actions each must produce, in order)
    let cases: Vec<Scenario> = vec![
        (
            "new host comes UP and is ACKed",
            vec![
                (
                    Htb("web1", 0, None, lo),
                    vec!["ACK seq=Some(0)", "NEW_HOST web1", "UP web1"],
                ),
                (Htb("web1", 60, None, lo), vec!["ACK seq=Some(60)"]),
            ],
        ),
        (
            "silence past interval + grace is DOWN, exactly once",
            vec![
                (
                    Htb("web1", 0, None, lo),
                    vec!["ACK seq=Some(0)", "NEW_HOST web1", "UP web1"],
                ),
                (Tick(69), vec![]),
                (Tick(70), vec!["DOWN web1 silent 70s"]),
                (Tick(500), vec![]),
            ],
        ),
        (
            "a heartbeat after DOWN brings it back UP with the outage length",
            vec![
                (
                    Htb("web1", 0, None, lo),
                    vec!["ACK seq=Some(0)", "NEW_HOST web1", "UP web1"],
                ),
                (Tick(71), vec!["DOWN web1 silent 71s"]),
                (
                    Htb("web1", 100, None, lo),
                    vec!["ACK seq=Some(100)", "UP web1 after 29s"],
                ),
                (Tick(169), vec![]),
                (Tick(170), vec!["DOWN web1 silent 70s"]),
            ],
        ),
        (
            "the heartbeat's own interval wins over the default",
            vec![
                (
                    Htb("fast", 0, Some(5.0), lo),
                    vec!["ACK seq=Some(0)", "NEW_HOST fast", "UP fast"],
                ),
                (Tick(14), vec![]),
                (Tick(15), vec!["DOWN fast silent 15s"]),
            ],
        ),
        (
            "a shorter interval pulls the deadline in",
            vec![
                (
                    Htb("web1", 0, None, lo),
                    vec!["ACK seq=Some(0)", "NEW_HOST web1", "UP web1"],
                ),
                (Htb("web1", 1, Some(2.0), lo), vec!["ACK seq=Some(1)"]),
                (Tick(13), vec!["DOWN web1 silent 12s"]),
            ],
        ),
        (
            "a configured host interval is used until the agent states one",
            vec![
                (Htb("slow", 0, None, lo), vec!["ACK seq=Some(0)", "UP slow"]), // configured: not new
                (Tick(309), vec![]),
                (Tick(310), vec!["DOWN slow silent 310s"]),
            ],
        ),
        (
            "regular heartbeats keep a host UP",
            vec![
                (
                    Htb("web1", 0, None, lo),
                    vec!["ACK seq=Some(0)", "NEW_HOST web1", "UP web1"],
                ),
                (Htb("web1", 60, None, lo), vec!["ACK seq=Some(60)"]),
                (Tick(125), vec![]),
                (Htb("web1", 125, None, lo), vec!["ACK seq=Some(125)"]),
                (Tick(194), vec![]),
                (Tick(195), vec!["DOWN web1 silent 70s"]),
            ],
        ),
        (
            "BOOT, MSG and PLG are signs of life too",
            vec![
                (Boot("b", 0), vec!["NEW_HOST b", "BOOT b", "UP b"]),
                (Msg("b", 60, "disk swapped"), vec!["MESSAGE b disk swapped"]),
                (Plg("b", 120), vec![]),
                (Tick(189), vec![]),
                (Tick(190), vec!["DOWN b silent 70s"]),
            ],
        ),
        (
            "an IP change is reported; a port change is not",
            vec![
                (
                    Htb("web1", 0, None, "127.0.0.1"),
                    vec!["ACK seq=Some(0)", "NEW_HOST web1", "UP web1"],
                ),
                (
                    Htb("web1", 1, None, "127.0.0.2"),
                    vec![
                        "ACK seq=Some(1)",
                        "ADDRESS_CHANGED web1 127.0.0.1->127.0.0.2",
                    ],
                ),
                (Htb("web1", 2, None, "127.0.0.2"), vec!["ACK seq=Some(2)"]),
            ],
        ),
        (
            "hosts are independent",
            vec![
                (
                    Htb("a", 0, None, lo),
                    vec!["ACK seq=Some(0)", "NEW_HOST a", "UP a"],
                ),
                (
                    Htb("b", 30, None, lo),
                    vec!["ACK seq=Some(30)", "NEW_HOST b", "UP b"],
                ),
                (Tick(70), vec!["DOWN a silent 70s"]),
                (Tick(100), vec!["DOWN b silent 70s"]),
            ],
        ),
    ];
    for (scenario, steps) in cases {
        let mut core = Core::new(settings(&config()), at(0));
        for (i, (step, want)) in steps.into_iter().enumerate() {
            assert_eq!(run(&mut core, step), want, "{scenario}, step {i}");
        }
    }
}

#[test]
fn next_deadline_is_the_earliest_up_host() {
    let mut core = Core::new(settings(&config()), at(0));
    assert_eq!(core.next_deadline(), None);
    run(&mut core, Step::Htb("a", 0, None, "127.0.0.1"));
    run(&mut core, Step::Htb("b", 0, Some(5.0), "127.0.0.1"));
    assert_eq!(core.next_deadline(), Some(at(15).mono));
    run(&mut core, Step::Tick(15));
    assert_eq!(core.next_deadline(), Some(at(70).mono));
}

#[test]
fn heartbeat_fields_are_kept() {
    let mut core = Core::new(settings(&config()), at(0));
    let msg = Message::Heartbeat(Heartbeat {
        name: "web1".into(),
        rtt: Some(1.5),
        version: Some("0.1.0".into()),
        uptime: Some(99.0),
        interval: Some(30.0),
        ..Heartbeat::default()
    });
    core.handle(&datagram(msg, "127.0.0.3"), at(5), &mut Vec::new());
    let host = core.host("web1").unwrap();
    assert_eq!(host.last_rtt_ms, Some(1.5));
    assert_eq!(host.version.as_deref(), Some("0.1.0"));
    assert_eq!(host.uptime_s, Some(99.0));
    assert_eq!(host.interval, Duration::from_secs(30));
    assert_eq!(host.address.unwrap().to_string(), "127.0.0.3:40000");
    assert_eq!(
        (host.first_seen, host.last_seen),
        (Some(at(5).wall), Some(at(5).wall))
    );
    assert_eq!(core.counts(), [1, 1, 0, 0]); // "slow" is configured, never seen
}

#[test]
fn restored_hosts_get_a_fresh_grace_period() {
    let mut first = Core::new(settings(&config()), at(0));
    run(&mut first, Step::Htb("web1", 0, None, "127.0.0.1"));
    run(&mut first, Step::Boot("web1", 1));
    let stored = first.take_changes().hosts;
    assert_eq!(stored.len(), 1);
    assert!(first.take_changes().hosts.is_empty());

    // The daemon comes back an hour later: web1 is remembered, UP, with its boots.
    let mut core = Core::restore(
        settings(&config()),
        stored,
        Vec::new(),
        &HashSet::new(),
        at(3600),
    );
    assert_eq!(core.host("web1").unwrap().boots, 1);
    assert_eq!(core.host("web1").unwrap().state, HostState::Up);
    assert_eq!(run(&mut core, Step::Tick(3669)), Vec::<String>::new());
    assert_eq!(
        run(&mut core, Step::Tick(3670)),
        vec!["DOWN web1 silent 3669s"]
    );
}

#[test]
fn dirty_hosts_are_listed_once_per_flush() {
    let mut core = Core::new(settings(&config()), at(0));
    for t in 0..5 {
        run(&mut core, Step::Htb("a", t, None, "127.0.0.1"));
    }
    let dirty = core.take_changes().hosts;
    assert_eq!(dirty.len(), 1);
    assert_eq!(dirty[0].last_seen, Some(at(4).wall));
}

/// The core's settings from a config, as the daemon makes them.
fn settings(config: &Config) -> CoreSettings {
    fixture::settings(config)
}

fn alert_config() -> Config {
    use crate::alerting::rules::parse_layers;
    let mut c = config();
    c.threshold_layers = parse_layers(&serde_json::json!({
        "cpu_monitor": {"cpu_percent": {"warning": 80, "critical": 90, "hysteresis": 0.1}},
        "disk_monitor": {"partitions": {"/": {"percent": {"warning": 80, "critical": 90}}}},
        "rtt": {"web1": {"warning": 100, "critical": 500}},
    }))
    .unwrap();
    c.profile_layers.insert(
        "busy".into(),
        parse_layers(
            &serde_json::json!({"cpu_monitor": {"cpu_percent": {"warning": 95, "critical": 99}}}),
        )
        .unwrap(),
    );
    c.hosts.insert(
        "batch1".into(),
        HostConfig {
            threshold_config: vec!["busy".into()],
            ..HostConfig::default()
        },
    );
    c
}

fn report(host: &str, plugin: &str, data: serde_json::Value) -> Message {
    Message::Plugin(PluginReport {
        name: host.into(),
        ts: None,
        run: None,
        seq: None,
        plugin: plugin.into(),
        kind: PluginKind::Monitor,
        data: data.as_object().cloned().unwrap(),
        status: None,
        duration_ms: None,
    })
}

fn alerts_of(core: &mut Core, message: Message, t: u64) -> Vec<String> {
    let mut out = Vec::new();
    core.handle(&datagram(message, "127.0.0.1"), at(t), &mut out);
    out.into_iter()
        .filter_map(|a| match a {
            Action::Alert(n) => Some(notice_text(&n)),
            _ => None,
        })
        .collect()
}

#[test]
fn plugin_reports_drive_alerts_with_profiles_layered_per_host() {
    let mut core = Core::new(settings(&alert_config()), at(0));
    let cpu = |v: f64| serde_json::json!({"cpu_percent": v});
    // Defaults for web1; the "busy" profile for batch1.
    assert_eq!(
        alerts_of(&mut core, report("web1", "cpu_monitor", cpu(85.0)), 1),
        ["WARNING: web1 - cpu_monitor.cpu_percent = 85.0"]
    );
    assert!(alerts_of(&mut core, report("batch1", "cpu_monitor", cpu(85.0)), 1).is_empty());
    assert_eq!(
        alerts_of(&mut core, report("batch1", "cpu_monitor", cpu(99.5)), 2),
        ["CRITICAL: batch1 - cpu_monitor.cpu_percent = 99.5"]
    );
    // Nested metric with a collection level left out of the path.
    let disk =
        serde_json::json!({"partitions": {"/": {"percent": 91.0}, "/boot": {"percent": 99.0}}});
    assert_eq!(
        alerts_of(&mut core, report("db1", "disk_monitor", disk), 3),
        ["CRITICAL: db1 - disk_monitor./.percent = 91.0"]
    );
    let disk = serde_json::json!({"partitions": {"/": {"percent": 75.0}}});
    assert_eq!(
        alerts_of(&mut core, report("db1", "disk_monitor", disk), 4),
        ["RECOVERED: db1 - disk_monitor./.percent = 75.0 (CRITICAL -> OK)"]
    );
    // Nagios checks alert through their status.
    let nagios =
        serde_json::json!({"root": {"status": "CRITICAL", "text": "DISK CRITICAL - 1% free"}});
    assert_eq!(
        alerts_of(&mut core, report("db1", "nagios_runner", nagios), 5),
        ["CRITICAL: db1 - nagios_runner.root = DISK CRITICAL - 1% free"]
    );
    assert_eq!(core.active_alerts(at(0)).len(), 3);
    assert_eq!(core.host_alerts("db1", at(0)).len(), 2);
}

#[test]
fn rtt_thresholds_apply_to_heartbeats_that_carry_rtt() {
    let mut core = Core::new(settings(&alert_config()), at(0));
    let htb = |rtt: Option<f64>| {
        Message::Heartbeat(Heartbeat {
            name: "web1".into(),
            rtt,
            ..Heartbeat::default()
        })
    };
    assert!(alerts_of(&mut core, htb(None), 0).is_empty());
    assert!(alerts_of(&mut core, htb(Some(20.0)), 1).is_empty());
    assert_eq!(
        alerts_of(&mut core, htb(Some(150.0)), 2),
        ["WARNING: web1 - rtt.web1 = 150.0"]
    );
    assert_eq!(
        alerts_of(&mut core, htb(Some(600.0)), 3),
        ["CRITICAL: web1 - rtt.web1 = 600.0"]
    );
    assert_eq!(
        alerts_of(&mut core, htb(Some(10.0)), 4),
        ["RECOVERED: web1 - rtt.web1 = 10.0 (CRITICAL -> OK)"]
    );
    // Kept (and served) in whole microseconds, not a float's tail.
    alerts_of(&mut core, htb(Some(6.949478999999999)), 5);
    assert_eq!(core.host("web1").unwrap().last_rtt_ms, Some(6.949));
}

#[test]
fn host_counts_follow_every_transition() {
    // "slow" is configured (UNKNOWN until heard from).
    let mut core = Core::new(settings(&config()), at(0));
    assert_eq!(core.counts(), [1, 0, 0, 0]);
    run(&mut core, Step::Htb("a", 0, None, "127.0.0.1"));
    run(&mut core, Step::Htb("slow", 0, None, "127.0.0.1"));
    assert_eq!(core.counts(), [0, 2, 0, 0]);
    run(&mut core, Step::Tick(70));
    assert_eq!(core.counts(), [0, 1, 1, 0]);
    run(&mut core, Step::Htb("a", 80, None, "127.0.0.1"));
    assert_eq!(core.counts(), [0, 2, 0, 0]);
    // Restoring a stored copy of a configured host replaces it, not adds to it.
    let stored = core.hosts().into_iter().cloned().collect();
    let restored = Core::restore(
        settings(&config()),
        stored,
        Vec::new(),
        &HashSet::new(),
        at(100),
    );
    assert_eq!(restored.counts(), [0, 2, 0, 0]);
}

/// `Now` with the wall clock stepped by `step_s` seconds (positive: forward) relative
/// to the monotonic clock.
fn stepped(secs: u64, step_s: i64) -> Now {
    let now = at(secs);
    Now {
        wall: Timestamp(now.wall.0.saturating_add_signed(step_s * 1000)),
        mono: now.mono,
    }
}

#[test]
fn wall_clock_steps_neither_mark_hosts_down_nor_delay_down() {
    // (what, wall step applied from t=1 on, tick times, expected DOWN text)
    let cases: &[(&str, i64, &[u64], &[&str])] = &[
        (
            "a step forward of 10 minutes marks no UP host DOWN",
            600,
            &[1, 30, 69],
            &[],
        ),
        (
            "a step forward still lets a silent host go DOWN on time",
            600,
            &[69, 70],
            &["DOWN web1 silent 70s"],
        ),
        (
            "a step back does not delay DOWN detection",
            -600,
            &[69, 70],
            &["DOWN web1 silent 70s"],
        ),
    ];
    for (what, step, ticks, want) in cases {
        let mut core = Core::new(settings(&config()), at(0));
        run(&mut core, Step::Htb("web1", 0, None, "127.0.0.1"));
        let mut got = Vec::new();
        for t in *ticks {
            let mut out = Vec::new();
            core.on_tick(stepped(*t, *step), &mut out);
            got.extend(render(&out));
        }
        assert_eq!(got, *want, "{what}");
    }
}

#[test]
fn up_after_down_measures_the_outage_on_the_monotonic_clock() {
    let mut core = Core::new(settings(&config()), at(0));
    run(&mut core, Step::Htb("web1", 0, None, "127.0.0.1"));
    let mut out = Vec::new();
    core.on_tick(at(70), &mut out);
    out.clear();
    let msg = Message::Heartbeat(Heartbeat {
        name: "web1".into(),
        ..Heartbeat::default()
    });
    // The wall clock jumped back an hour meanwhile: the outage is still 30 s.
    core.handle(&datagram(msg, "127.0.0.1"), stepped(100, -3600), &mut out);
    assert!(render(&out).contains(&"UP web1 after 30s".to_owned()));
}

fn reminder_config() -> Config {
    Config {
        threshold_renotify_interval: Duration::from_secs(100),
        ..alert_config()
    }
}

fn alert_texts(out: &[Action]) -> Vec<String> {
    out.iter()
        .filter_map(|a| match a {
            Action::Alert(n) => Some(notice_text(n)),
            _ => None,
        })
        .collect()
}

#[test]
fn reminders_pause_while_the_host_is_down() {
    let mut core = Core::new(settings(&reminder_config()), at(0));
    let cpu = serde_json::json!({"cpu_percent": 95.0});
    let raised = alerts_of(&mut core, report("web1", "cpu_monitor", cpu.clone()), 0);
    assert_eq!(raised, ["CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0"]);
    // web1 (interval 60 + grace 10) goes DOWN at 70; its reminder at 100 does not come.
    let mut out = Vec::new();
    for t in [70, 100, 150, 300] {
        core.on_tick(at(t), &mut out);
    }
    assert_eq!(render(&out), ["DOWN web1 silent 70s"]);
    // Back at 400 (now with a 300 s interval): reminders resume a full period later.
    out.clear();
    run(&mut core, Step::Htb("web1", 400, Some(300.0), "127.0.0.1"));
    core.on_tick(at(499), &mut out);
    assert!(alert_texts(&out).is_empty());
    core.on_tick(at(500), &mut out);
    assert_eq!(
        alert_texts(&out),
        ["REMINDER (CRITICAL): web1 - cpu_monitor.cpu_percent = 95.0 (ongoing for 500s)"]
    );
}

#[test]
fn clearing_an_alert_lets_the_next_report_raise_it_afresh() {
    let mut core = Core::new(settings(&alert_config()), at(0));
    let cpu = serde_json::json!({"cpu_percent": 95.0});
    alerts_of(&mut core, report("web1", "cpu_monitor", cpu.clone()), 0);
    let clear = Command::ClearAlert {
        host: "web1".into(),
        path: "cpu_monitor.cpu_percent".into(),
    };
    let mut out = Vec::new();
    assert_eq!(
        core.apply(&clear, at(1), &mut out),
        Ok(Outcome::AlertCleared {
            was: Level::Critical
        })
    );
    assert!(core.active_alerts(at(0)).is_empty());
    assert!(out.contains(&Action::AlertChanged {
        host: "web1".into(),
        path: "cpu_monitor.cpu_percent".into(),
        state: None
    }));
    assert_eq!(
        alerts_of(&mut core, report("web1", "cpu_monitor", cpu), 2),
        ["CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0"]
    );
    assert!(matches!(
        core.apply(&clear.clone(), at(3), &mut out),
        Ok(Outcome::AlertCleared { .. })
    ));
    assert!(matches!(
        core.apply(&clear, at(4), &mut out),
        Err(CommandError::UnknownAlert { .. })
    ));
}

fn stored_alert(host: &str, path: &str) -> AlertState {
    AlertState {
        held: None,
        ack: None,
        host: host.into(),
        path: path.into(),
        level: Level::Critical,
        since: at(0).wall,
        value: Some(99.0),
        detail: None,
        threshold: Some(90.0),
        operator: None,
        last_notified: Some(at(0).wall),
        reminders: 0,
    }
}

#[test]
fn alert_states_whose_host_rule_or_check_is_gone_are_dropped_at_load() {
    let config = settings(&reminder_config());
    let mut first = Core::new(config.clone(), at(0));
    run(&mut first, Step::Htb("web1", 0, Some(300.0), "127.0.0.1"));
    let hosts = first.take_changes().hosts;
    let alerts = vec![
        stored_alert("web1", "cpu_monitor.cpu_percent"), // rule exists: kept
        stored_alert("web1", "memory_monitor.percent"),  // no such rule any more
        stored_alert("ghost", "cpu_monitor.cpu_percent"), // no such host
        stored_alert("web1", "nagios_runner.root"),      // check still reports: kept
        stored_alert("web1", "nagios_runner.gone"),      // check no longer reports
    ];
    let checks = HashSet::from([("web1".to_owned(), "nagios_runner.root".to_owned())]);
    let mut core = Core::restore(config, hosts, alerts, &checks, at(10));
    let kept: Vec<String> = core
        .host_alerts("web1", at(0))
        .into_iter()
        .map(|s| s.path)
        .collect();
    assert_eq!(kept, ["cpu_monitor.cpu_percent", "nagios_runner.root"]);
    assert_eq!(core.take_changes().dropped_alerts.len(), 3);
    // Only the kept ones remind (both notified at 0, renotify 100 s).
    let mut out = Vec::new();
    core.on_tick(at(100), &mut out);
    assert_eq!(alert_texts(&out).len(), 2, "{:?}", alert_texts(&out));
}

#[test]
fn a_reload_applies_new_thresholds_and_keeps_state() {
    let mut core = Core::new(settings(&alert_config()), at(0));
    run(&mut core, Step::Htb("web1", 0, None, "127.0.0.1"));
    let cpu = |v: f64| serde_json::json!({"cpu_percent": v});
    alerts_of(&mut core, report("web1", "cpu_monitor", cpu(85.0)), 1);
    alerts_of(
        &mut core,
        report(
            "web1",
            "disk_monitor",
            serde_json::json!({"partitions": {"/": {"percent": 95.0}}}),
        ),
        1,
    );
    // The new config raises the CPU warning to 88 and has no disk rule any more.
    let mut config = alert_config();
    config.threshold_layers = crate::alerting::rules::parse_layers(&serde_json::json!({
        "cpu_monitor": {"cpu_percent": {"warning": 88, "critical": 90}},
    }))
    .unwrap();
    let mut out = Vec::new();
    core.reconfigure(settings(&config), at(2), &mut out);
    assert_eq!(core.host("web1").unwrap().state, HostState::Up);
    let paths: Vec<String> = core
        .active_alerts(at(0))
        .into_iter()
        .map(|s| s.path)
        .collect();
    assert_eq!(paths, ["cpu_monitor.cpu_percent"]);
    assert_eq!(
        alerts_of(&mut core, report("web1", "cpu_monitor", cpu(86.0)), 3),
        ["RECOVERED: web1 - cpu_monitor.cpu_percent = 86.0 (WARNING -> OK)"]
    );
}
