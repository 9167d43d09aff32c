//! A check run from three vantage points through the whole core: heartbeats make them
//! UP, their reports answer, the policy holds their own alerts for the plugin and tells
//! the check's state once a quorum agrees.

use super::*;
use crate::groups::{Group, Labels};
use crate::model::{Notification, Reason, Verdict};
use crate::vantage::CheckSpec;

fn probes_settings() -> CoreSettings {
    let mut s = settings(&config());
    let group = Group::new("probes", &["probe*".to_owned()], &Labels::default()).unwrap();
    s.policy.checks = std::sync::Arc::new(vec![CheckSpec {
        name: "web".into(),
        plugin: "tcp_check".into(),
        group,
        quorum: None,
        latency: None,
    }]);
    s
}

fn beat(core: &mut Core, host: &str, t: u64) {
    let msg = Message::Heartbeat(Heartbeat {
        name: host.into(),
        interval: Some(10.0),
        ..Heartbeat::default()
    });
    core.handle(&datagram(msg, "127.0.0.1"), at(t), &mut Vec::new());
}

fn answer(core: &mut Core, host: &str, status: hb_proto::Status, t: u64) -> Vec<Action> {
    let Message::Plugin(mut r) = report(
        host,
        "tcp_check",
        serde_json::json!({"message": format!("{status:?} from {host}"), "connect_ms": 4.5}),
    ) else {
        unreachable!()
    };
    r.status = Some(status);
    let mut out = Vec::new();
    core.handle(&datagram(Message::Plugin(r), "127.0.0.1"), at(t), &mut out);
    out
}

/// What was sent: `(subject, path, level)` of every notification.
fn told(out: &[Action]) -> Vec<(String, String, Level)> {
    out.iter()
        .filter_map(|a| match a {
            Action::Notify(ns) => Some(ns),
            _ => None,
        })
        .flatten()
        .filter_map(|n| match n {
            Notification::Alert(n) => Some((n.host.clone(), n.path.clone(), n.to)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_check_pages_once_when_its_quorum_agrees_and_never_for_one_vantage_point() {
    use hb_proto::Status::{Critical, Ok as Fine};
    let mut core = Core::new(probes_settings(), at(0));
    let probes = ["probe1", "probe2", "probe3"];
    for p in probes {
        beat(&mut core, p, 1);
    }
    // probe3, cut off, answers first: one CRITICAL of three members is no quorum.
    assert!(told(&answer(&mut core, "probe3", Critical, 2)).is_empty());
    for p in probes {
        assert!(told(&answer(&mut core, p, Fine, 2)).is_empty());
    }
    // probe3 alone cannot reach the target: its own alert is held, the check stays OK.
    let out = answer(&mut core, "probe3", Critical, 12);
    assert!(told(&out).is_empty(), "{out:?}");
    let held = out.iter().any(|a| {
        matches!(a, Action::Decision(d) if d.host == "probe3"
            && matches!(&d.verdict, Verdict::Held { reason: Reason::Vantage { check } } if check == "web"))
    });
    assert!(held, "the vantage point's own alert is held: {out:?}");
    assert_eq!(core.host_alerts("probe3", at(12))[0].level, Level::Critical);

    assert!(told(&answer(&mut core, "probe3", Fine, 15)).is_empty());

    // The target down for everyone: the check is told once, when the second agrees.
    assert!(told(&answer(&mut core, "probe1", Critical, 20)).is_empty());
    let out = answer(&mut core, "probe2", Critical, 21);
    assert_eq!(
        told(&out),
        [(
            "check:web".to_owned(),
            "tcp_check".to_owned(),
            Level::Critical
        )]
    );
    for p in probes {
        beat(&mut core, p, 25);
        assert!(told(&answer(&mut core, p, Critical, 26)).is_empty());
    }
    let active = core.active_alerts(at(26));
    let check = active.iter().find(|a| a.host == "check:web").unwrap();
    assert_eq!(
        (check.path.as_str(), check.level),
        ("tcp_check", Level::Critical)
    );
    let views = core.checks(|_| true);
    assert_eq!(
        (views[0].level, views[0].counted, views[0].agreeing),
        (Level::Critical, 3, 3)
    );
    assert_eq!(views[0].vantage[0].answer.latency_ms, Some(4.5));

    // Two probes fall silent (DOWN): the one left cannot make a quorum of two alone.
    beat(&mut core, "probe1", 40);
    let mut out = Vec::new();
    core.on_tick(at(50), &mut out);
    assert!(told(&out).is_empty());
    assert!(told(&answer(&mut core, "probe1", Fine, 51)).is_empty());
    assert_eq!(core.checks(|_| true)[0].counted, 1);
    // They come back and agree: RECOVERED, once.
    beat(&mut core, "probe2", 55);
    let out = answer(&mut core, "probe2", Fine, 56);
    assert_eq!(
        told(&out),
        [("check:web".to_owned(), "tcp_check".to_owned(), Level::Ok)]
    );
}
