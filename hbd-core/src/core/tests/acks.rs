//! Acknowledgements through the core: a reminder of an acknowledged alert is held and
//! says who acknowledged it; a change of level, a recovery, the host back UP and the
//! acknowledgement's own end each end it, said so; nothing is acknowledged that is no
//! problem.

use super::*;
use crate::core::acks::Ended;
use crate::model::{Ack, Notification, Reason, Verdict};

const PATH: &str = "cpu_monitor.cpu_percent";

fn ack(by: &str, until: Option<u64>) -> Box<Ack> {
    Box::new(Ack {
        by: by.into(),
        at: at(0).wall,
        comment: "replacing the fan".into(),
        until: until.map(|t| at(t).wall),
    })
}

fn acknowledge(
    core: &mut Core,
    path: Option<&str>,
    a: Box<Ack>,
    t: u64,
) -> Result<Outcome, CommandError> {
    let command = Command::Acknowledge {
        host: "web1".into(),
        path: path.map(str::to_owned),
        ack: a,
    };
    core.apply(&command, at(t), &mut Vec::new())
}

fn told(out: &[Action]) -> Vec<String> {
    out.iter()
        .filter_map(|a| match a {
            Action::Notify(ns) => Some(ns),
            _ => None,
        })
        .flatten()
        .filter_map(|n| match n {
            Notification::Alert(n) => Some(notice_text(n)),
            Notification::Host(e) => crate::render::event_text(e),
            Notification::Flapping(_) | Notification::Escalated(_) => crate::render::text(n),
        })
        .collect()
}

fn ended(out: &[Action]) -> Vec<(Option<String>, Ended)> {
    out.iter()
        .filter_map(|a| match a {
            Action::Acknowledged {
                path,
                ack: None,
                ended: Some(why),
                ..
            } => Some((path.clone(), *why)),
            _ => None,
        })
        .collect()
}

fn cpu(core: &mut Core, value: f64, t: u64) -> Vec<Action> {
    let mut out = Vec::new();
    let msg = report(
        "web1",
        "cpu_monitor",
        serde_json::json!({"cpu_percent": value}),
    );
    core.handle(&datagram(msg, "127.0.0.1"), at(t), &mut out);
    out
}

#[test]
fn an_acknowledged_alert_reminds_nobody_until_its_level_changes() {
    let mut core = Core::new(settings(&reminder_config()), at(0));
    cpu(&mut core, 95.0, 0);
    // web1 stays UP: a heartbeat every 50 s.
    let beat = |core: &mut Core, t| run(core, Step::Htb("web1", t, None, "127.0.0.1"));
    assert!(matches!(
        acknowledge(&mut core, Some(PATH), ack("ada", None), 10),
        Ok(Outcome::Acknowledged { .. })
    ));
    assert_eq!(
        core.active_alerts(at(10))[0].ack.as_ref().unwrap().by,
        "ada"
    );
    beat(&mut core, 50);
    let mut out = Vec::new();
    core.on_tick(at(100), &mut out);
    assert!(told(&out).is_empty(), "the reminder at 100 is held");
    let held = out.iter().any(|a| {
        matches!(a, Action::Decision(d) if matches!(&d.verdict,
            Verdict::Held { reason: Reason::Acknowledged { by } } if by == "ada"))
    });
    assert!(held, "{out:?}");
    // A new level ends it, and is told.
    beat(&mut core, 110);
    let out = cpu(&mut core, 80.5, 120);
    assert_eq!(
        told(&out),
        ["WARNING: web1 - cpu_monitor.cpu_percent = 80.5 (CRITICAL -> WARNING)"]
    );
    assert_eq!(ended(&out), [(Some(PATH.to_owned()), Ended::Changed)]);
    assert!(core.active_alerts(at(120))[0].ack.is_none());
    // Acknowledged again, then it recovers: the recovery is told and ends it.
    acknowledge(&mut core, Some(PATH), ack("bob", None), 130).unwrap();
    let out = cpu(&mut core, 40.0, 140);
    assert_eq!(told(&out).len(), 1);
    assert_eq!(ended(&out), [(Some(PATH.to_owned()), Ended::Changed)]);
    // Nothing to acknowledge now.
    assert!(matches!(
        acknowledge(&mut core, Some(PATH), ack("ada", None), 150),
        Err(CommandError::NoProblem { .. })
    ));
    assert!(matches!(
        acknowledge(&mut core, None, ack("ada", None), 150),
        Err(CommandError::NoProblem { .. })
    ));
}

#[test]
fn an_acknowledgement_ends_by_itself_and_a_host_back_up_ends_its_own() {
    let mut core = Core::new(settings(&reminder_config()), at(0));
    cpu(&mut core, 95.0, 0);
    acknowledge(&mut core, Some(PATH), ack("ada", Some(40)), 10).unwrap();
    assert!(core.next_deadline().is_some_and(|d| d <= at(40).mono));
    let mut out = Vec::new();
    core.on_tick(at(40), &mut out);
    assert_eq!(ended(&out), [(Some(PATH.to_owned()), Ended::Expired)]);
    // web1 goes DOWN (interval 60, grace 10) and is acknowledged; back UP ends it.
    let mut out = Vec::new();
    core.on_tick(at(70), &mut out);
    acknowledge(&mut core, None, ack("ada", None), 80).unwrap();
    let mut out = Vec::new();
    core.handle(
        &datagram(
            Message::Heartbeat(Heartbeat {
                name: "web1".into(),
                ..Heartbeat::default()
            }),
            "127.0.0.1",
        ),
        at(90),
        &mut out,
    );
    assert_eq!(ended(&out), [(None, Ended::Changed)]);
    // Withdrawing what is not there is refused.
    let withdraw = Command::Withdraw {
        host: "web1".into(),
        path: None,
    };
    assert!(matches!(
        core.apply(&withdraw, at(95), &mut out),
        Err(CommandError::NotAcknowledged { .. })
    ));
    let changes = core.take_changes();
    assert!(
        changes
            .acks
            .iter()
            .any(|(s, a)| s.1.is_none() && a.is_none())
    );
}

fn escalating() -> CoreSettings {
    use crate::policy::escalate::{Escalation, Step};
    let mut s = settings(&alert_config());
    let group = crate::groups::Group::new(
        "web",
        &["web*".to_owned()],
        &crate::groups::Labels::default(),
    )
    .unwrap();
    s.policy.escalation = vec![Escalation {
        group,
        steps: std::sync::Arc::from(vec![
            Step {
                after: Duration::from_secs(60),
                users: vec!["bob".into()],
            },
            Step {
                after: Duration::from_secs(300),
                users: vec!["carol".into()],
            },
        ]),
    }];
    s
}

fn escalated(out: &[Action]) -> Vec<(usize, Vec<String>, String)> {
    out.iter()
        .filter_map(|a| match a {
            Action::Notify(ns) => Some(ns),
            _ => None,
        })
        .flatten()
        .filter_map(|n| match n {
            Notification::Escalated(e) => Some((
                e.step,
                e.users.clone(),
                crate::render::text(n).unwrap_or_default(),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn an_unacknowledged_problem_escalates_once_per_step_and_an_acknowledged_one_does_not() {
    let mut core = Core::new(escalating(), at(0));
    cpu(&mut core, 95.0, 0);
    let beat = |core: &mut Core, t| run(core, Step::Htb("web1", t, None, "127.0.0.1"));
    let mut out = Vec::new();
    core.on_tick(at(59), &mut out);
    assert!(escalated(&out).is_empty());
    core.on_tick(at(60), &mut out);
    assert_eq!(
        escalated(&out),
        [(
            1,
            vec!["bob".to_owned()],
            "ESCALATED (step 1, open 1m without acknowledgement): CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0".to_owned()
        )]
    );
    out.clear();
    beat(&mut core, 50);
    core.on_tick(at(120), &mut out);
    assert!(escalated(&out).is_empty(), "each step once");
    // Acknowledged: the next step is held, saying who.
    acknowledge(&mut core, Some(PATH), ack("ada", None), 150).unwrap();
    beat(&mut core, 110);
    beat(&mut core, 170);
    beat(&mut core, 230);
    let mut out = Vec::new();
    core.on_tick(at(300), &mut out);
    assert!(escalated(&out).is_empty(), "{out:?}");
    let held = out.iter().any(|a| {
        matches!(a, Action::Decision(d) if d.what == "ESCALATED" && matches!(&d.verdict,
            Verdict::Held { reason: Reason::Acknowledged { by } } if by == "ada"))
    });
    assert!(held, "{out:?}");

    // A new problem after a recovery starts from step 1 again.
    cpu(&mut core, 40.0, 310);
    cpu(&mut core, 95.0, 320);
    beat(&mut core, 290);
    beat(&mut core, 350);
    let mut out = Vec::new();
    core.on_tick(at(380), &mut out);
    assert_eq!(escalated(&out).len(), 1);
    assert_eq!(escalated(&out)[0].0, 1);
}

/// The HA pair: an acknowledgement made on the other daemon is taken when it is about
/// the same problem (same state, begun at about the same time), and only then; taking
/// it back takes back that one only.
#[test]
fn an_acknowledgement_from_the_other_daemon_is_taken_for_the_same_problem_only() {
    use crate::model::AckChange;
    let mut core = Core::new(settings(&reminder_config()), at(0));
    cpu(&mut core, 95.0, 10);
    let since = core.alerts.get("web1", PATH).unwrap().since;
    let change = |state: &str, since: crate::clock::Timestamp, by: &str| AckChange {
        host: "web1".into(),
        path: Some(PATH.into()),
        state: state.into(),
        since,
        ack: *ack(by, None),
        withdrawn: false,
    };
    let later = crate::clock::Timestamp(since.0 + 90_000);
    let sooner = crate::clock::Timestamp(since.0.saturating_sub(30_000));
    for (c, taken) in [
        // Another level: an earlier or later episode.
        (change("WARNING", since, "ann"), false),
        // Begun 90 s apart: not the same problem.
        (change("CRITICAL", later, "ann"), false),
        // The other daemon saw it begin 30 s sooner: the same problem.
        (change("CRITICAL", sooner, "ann"), true),
    ] {
        let mut out = Vec::new();
        core.adopt_acks(vec![c.clone()], at(20), &mut out);
        let made = out
            .iter()
            .any(|a| matches!(a, Action::Acknowledged { ack: Some(_), .. }));
        assert_eq!(made, taken, "{c:?}");
        assert_eq!(core.acks.get("web1", Some(PATH)).is_some(), taken, "{c:?}");
    }
    // Its own, read back: nothing happens again.
    let own = core.ack_change("web1", Some(PATH)).unwrap();
    assert_eq!(own.state, "CRITICAL");
    let mut out = Vec::new();
    core.adopt_acks(vec![own.clone()], at(21), &mut out);
    assert!(out.is_empty(), "{out:?}");
    // A withdrawal of another acknowledgement leaves this one; of this one, ends it.
    let mut other = change("CRITICAL", since, "bob");
    other.withdrawn = true;
    core.adopt_acks(vec![other], at(22), &mut out);
    assert!(core.acks.get("web1", Some(PATH)).is_some());
    let mut same = own;
    same.withdrawn = true;
    core.adopt_acks(vec![same], at(23), &mut out);
    assert!(core.acks.get("web1", Some(PATH)).is_none());
    assert_eq!(ended(&out), [(Some(PATH.to_owned()), Ended::Withdrawn)]);
    // A host that is UP has no DOWN to acknowledge.
    let host = AckChange {
        path: None,
        state: "DOWN".into(),
        ..change("DOWN", since, "ann")
    };
    core.adopt_acks(vec![host], at(24), &mut out);
    assert!(core.acks.get("web1", None).is_none());
}
