//! Table-driven tests of the core with synthetic time: every host transition.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hb_proto::{Boot, Heartbeat, Message, OperatorMessage, PluginKind, PluginReport};

use super::*;
use crate::config::{Config, HostConfig};

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

fn at(secs: u64) -> Timestamp {
    Timestamp(T0 + secs * 1000)
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
        .map(|a| match a {
            Action::Reply {
                message: Message::Ack(ack),
                ..
            } => {
                format!("ACK seq={:?}", ack.seq)
            }
            Action::Reply { message, .. } => format!("REPLY {}", message.id()),
            Action::Alert(notice) => notice.text.clone(),
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
    use Step::*;
    let lo = "127.0.0.1";
    // (scenario, steps with the actions each must produce, in order)
    let cases: Vec<Scenario> = vec![
        (
            "new host comes UP and is ACKed",
            vec![
                (
                    Htb("web1", 0, None, lo),
                    vec!["NEW_HOST web1", "ACK seq=Some(0)", "UP web1"],
                ),
                (Htb("web1", 60, None, lo), vec!["ACK seq=Some(60)"]),
            ],
        ),
        (
            "silence past interval + grace is DOWN, exactly once",
            vec![
                (
                    Htb("web1", 0, None, lo),
                    vec!["NEW_HOST web1", "ACK seq=Some(0)", "UP web1"],
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
                    vec!["NEW_HOST web1", "ACK seq=Some(0)", "UP web1"],
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
                    vec!["NEW_HOST fast", "ACK seq=Some(0)", "UP fast"],
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
                    vec!["NEW_HOST web1", "ACK seq=Some(0)", "UP web1"],
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
                    vec!["NEW_HOST web1", "ACK seq=Some(0)", "UP web1"],
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
                    vec!["NEW_HOST web1", "ACK seq=Some(0)", "UP web1"],
                ),
                (
                    Htb("web1", 1, None, "127.0.0.2"),
                    vec![
                        "ADDRESS_CHANGED web1 127.0.0.1->127.0.0.2",
                        "ACK seq=Some(1)",
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
                    vec!["NEW_HOST a", "ACK seq=Some(0)", "UP a"],
                ),
                (
                    Htb("b", 30, None, lo),
                    vec!["NEW_HOST b", "ACK seq=Some(30)", "UP b"],
                ),
                (Tick(70), vec!["DOWN a silent 70s"]),
                (Tick(100), vec!["DOWN b silent 70s"]),
            ],
        ),
    ];
    for (scenario, steps) in cases {
        let mut core = Core::new(Arc::new(config()), at(0));
        for (i, (step, want)) in steps.into_iter().enumerate() {
            assert_eq!(run(&mut core, step), want, "{scenario}, step {i}");
        }
    }
}

#[test]
fn next_deadline_is_the_earliest_up_host() {
    let mut core = Core::new(Arc::new(config()), at(0));
    assert_eq!(core.next_deadline(), None);
    run(&mut core, Step::Htb("a", 0, None, "127.0.0.1"));
    run(&mut core, Step::Htb("b", 0, Some(5.0), "127.0.0.1"));
    assert_eq!(core.next_deadline(), Some(at(15)));
    run(&mut core, Step::Tick(15));
    assert_eq!(core.next_deadline(), Some(at(70)));
}

#[test]
fn heartbeat_fields_are_kept() {
    let mut core = Core::new(Arc::new(config()), at(0));
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
        (Some(at(5)), Some(at(5)))
    );
    assert_eq!(core.counts(), [1, 1, 0]); // "slow" is configured, never seen
}

#[test]
fn restored_hosts_get_a_fresh_grace_period() {
    let mut first = Core::new(Arc::new(config()), at(0));
    run(&mut first, Step::Htb("web1", 0, None, "127.0.0.1"));
    run(&mut first, Step::Boot("web1", 1));
    let stored = first.take_dirty();
    assert_eq!(stored.len(), 1);
    assert!(first.take_dirty().is_empty());

    // The daemon comes back an hour later: web1 is remembered, UP, with its boots.
    let mut core = Core::restore(Arc::new(config()), stored, Vec::new(), at(3600));
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
    let mut core = Core::new(Arc::new(config()), at(0));
    for t in 0..5 {
        run(&mut core, Step::Htb("a", t, None, "127.0.0.1"));
    }
    let dirty = core.take_dirty();
    assert_eq!(dirty.len(), 1);
    assert_eq!(dirty[0].last_seen, Some(at(4)));
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
            Action::Alert(n) => Some(n.text),
            _ => None,
        })
        .collect()
}

#[test]
fn plugin_reports_drive_alerts_with_profiles_layered_per_host() {
    let mut core = Core::new(Arc::new(alert_config()), at(0));
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
    assert_eq!(core.active_alerts().len(), 3);
    assert_eq!(core.host_alerts("db1").len(), 2);
}

#[test]
fn rtt_thresholds_apply_to_heartbeats_that_carry_rtt() {
    let mut core = Core::new(Arc::new(alert_config()), at(0));
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
}

#[test]
fn host_counts_follow_every_transition() {
    // "slow" is configured (UNKNOWN until heard from).
    let mut core = Core::new(Arc::new(config()), at(0));
    assert_eq!(core.counts(), [1, 0, 0]);
    run(&mut core, Step::Htb("a", 0, None, "127.0.0.1"));
    run(&mut core, Step::Htb("slow", 0, None, "127.0.0.1"));
    assert_eq!(core.counts(), [0, 2, 0]);
    run(&mut core, Step::Tick(70));
    assert_eq!(core.counts(), [0, 1, 1]);
    run(&mut core, Step::Htb("a", 80, None, "127.0.0.1"));
    assert_eq!(core.counts(), [0, 2, 0]);
    // Restoring a stored copy of a configured host replaces it, not adds to it.
    let stored = core.hosts().into_iter().cloned().collect();
    let restored = Core::restore(Arc::new(config()), stored, Vec::new(), at(100));
    assert_eq!(restored.counts(), [0, 2, 0]);
}
