//! Operator commands on hosts through the core: dropping a host, telling about one.

use super::*;

#[test]
fn dropping_a_host_forgets_it_and_it_comes_back_as_new() {
    let mut core = Core::new(settings(&alert_config()), at(0));
    run(&mut core, Step::Htb("web1", 0, None, "127.0.0.1"));
    alerts_of(
        &mut core,
        report(
            "web1",
            "cpu_monitor",
            serde_json::json!({"cpu_percent": 95.0}),
        ),
        1,
    );
    core.take_changes();
    let mut out = Vec::new();
    let command = Command::DropHost {
        host: "web1".into(),
    };
    assert_eq!(
        core.apply(&command, at(2), &mut out),
        Ok(Outcome::HostDropped)
    );
    assert!(core.host("web1").is_none());
    assert!(core.host_alerts("web1", at(0)).is_empty());
    assert_eq!(core.counts(), [2, 0, 0, 0]); // "slow" and "batch1" are configured
    assert!(out.contains(&Action::Forget {
        host: "web1".into()
    }));
    let changes = core.take_changes();
    assert_eq!(changes.dropped_hosts, ["web1"]);
    assert_eq!(
        changes.dropped_alerts,
        [("web1".to_owned(), "cpu_monitor.cpu_percent".to_owned())]
    );
    // Its old deadline does not fire; a new heartbeat makes it a new host.
    assert_eq!(run(&mut core, Step::Tick(100)), Vec::<String>::new());
    assert_eq!(
        run(&mut core, Step::Htb("web1", 101, None, "127.0.0.1")),
        ["ACK seq=Some(101)", "NEW_HOST web1", "UP web1"]
    );
    assert_eq!(core.apply(&command, at(102), &mut out).map(|_| ()), Ok(()));
    assert_eq!(
        core.apply(&command, at(103), &mut out),
        Err(CommandError::UnknownHost("web1".into()))
    );
}

#[test]
fn a_host_is_told_about_as_an_operator_message_from_it() {
    let mut core = Core::new(settings(&alert_config()), at(0));
    run(&mut core, Step::Htb("web1", 0, None, "127.0.0.1"));
    let tell = |host: &str| Command::Tell {
        host: host.into(),
        text: "groups.web rollout rolled back".into(),
    };
    let mut out = Vec::new();
    assert_eq!(
        core.apply(&tell("nope"), at(1), &mut out),
        Err(CommandError::UnknownHost("nope".into()))
    );
    assert_eq!(
        core.apply(&tell("web1"), at(1), &mut out),
        Ok(Outcome::Told)
    );
    let told = out.iter().any(|a| match a {
        Action::Notify(ns) => ns.iter().any(|n| {
            matches!(n, crate::model::Notification::Host(e)
                if e.host == "web1"
                    && e.kind == EventKind::Message { text: "groups.web rollout rolled back".into() })
        }),
        _ => false,
    });
    assert!(told, "{out:?}");
}
