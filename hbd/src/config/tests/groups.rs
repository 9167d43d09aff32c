//! Host groups as the config states them: profiles and windows by name pattern and
//! by label, and their checks.

use super::*;

/// Host groups give their members profiles, by name pattern or by the labels the
/// agent declares: a group's profiles come before the host's own, groups in name order.
#[test]
fn groups_give_their_members_profiles_by_name_or_by_label() {
    let text = "\
thresholds:
  cpu_monitor:
    cpu_percent: {warning: 80, critical: 90}
threshold_configs:
  busy:
    cpu_monitor:
      cpu_percent: {warning: 95, critical: 99}
  quiet:
    cpu_monitor:
      cpu_percent: {critical: 98}
groups:
  batch: {hosts: ['batch*'], threshold_config: [busy]}
  web: {labels: {role: web}, threshold_config: [quiet]}
hosts:
  batch2: {threshold_config: [quiet]}
";
    let c = parse(text, None).unwrap().config;
    let s = CoreSettings::from(&c);
    let cpu = vec!["cpu_monitor".to_owned(), "cpu_percent".to_owned()];
    let web: hbd_core::groups::Labels = [("role".to_owned(), "web".to_owned())].into();
    let db: hbd_core::groups::Labels = [("role".to_owned(), "db".to_owned())].into();
    let limits = |host: &str, labels: Option<&hbd_core::groups::Labels>| {
        let rules = s.rules_for(host, labels);
        let rule = *rules.get(&cpu).expect("a cpu rule");
        (rule.warning, rule.critical)
    };
    // (host, its labels, warning, critical)
    let cases = [
        ("other", None, Some(80.0), Some(90.0)),
        ("batch1", None, Some(95.0), Some(99.0)),
        ("batch2", None, Some(95.0), Some(98.0)),
        ("db1", Some(&web), Some(80.0), Some(98.0)),
        ("db2", Some(&db), Some(80.0), Some(90.0)),
        ("batch3", Some(&web), Some(95.0), Some(98.0)),
    ];
    for (host, labels, warning, critical) in cases {
        assert_eq!(limits(host, labels), (warning, critical), "{host}");
    }
}

#[test]
fn a_group_is_checked_like_a_host() {
    assert_each_reported(&[
        (
            "groups:\n  web: {}\n",
            "hbd.yaml:2: error: groups.web: needs `hosts` (name patterns) or `labels`",
        ),
        (
            "groups:\n  web: {hosts: ['web[']}\n",
            "hbd.yaml:2: error: groups.web: \"web[\" is not a name pattern",
        ),
        (
            "groups:\n  web:\n    hosts: [web1]\n    owner: bob\n",
            "hbd.yaml:4: error: groups.web.owner: names user `bob`",
        ),
        (
            "groups:\n  web:\n    hosts: [web1]\n    threshold_config: [nope]\n",
            "hbd.yaml:4: error: groups.web.threshold_config: names profile `nope`",
        ),
        (
            "groups:\n  web:\n    labels: {Role: web}\n",
            "hbd.yaml:3: error: groups.web.labels: label name \"Role\"",
        ),
        (
            "groups:\n  web:\n    hosts: [web1]\n    ownr: ada\n",
            "hbd.yaml:4: warning: groups.web.ownr: unknown key, ignored; did you mean `owner`?",
        ),
    ]);
}

/// A maintenance window may name a group: a host that declares the group's label is
/// held by it, one that does not is told.
#[test]
fn a_window_naming_a_label_group_holds_the_hosts_that_declare_the_label() {
    use crate::clock::{Mono, Now, Timestamp};
    use crate::core::{Action, Core, Datagram};
    use crate::model::Reason;
    use hb_proto::{Heartbeat, Message, PluginKind, PluginReport};
    let text = "\
thresholds:
  cpu_monitor:
    cpu_percent: {warning: 80, critical: 90}
groups:
  db: {labels: {role: db}}
maintenance:
  backups: {groups: [db], start: '00:00', duration: 24h, time_zone: UTC}
";
    let c = parse(text, None).unwrap().config;
    let now = Now {
        wall: Timestamp(1_800_000_000_000),
        mono: Mono(1_000),
    };
    let mut core = Core::new(CoreSettings::from(&c), now);
    let mut out = Vec::new();
    let send = |core: &mut Core, message: Message, out: &mut Vec<Action>| {
        let datagram = Datagram {
            message,
            source: "127.0.0.1:4000".parse().unwrap(),
            key_id: None,
        };
        core.handle(&datagram, now, out);
    };
    for (host, role) in [("db1", "db"), ("web1", "web")] {
        let labels = [("role".to_owned(), role.to_owned())].into_iter().collect();
        let beat = Heartbeat {
            name: host.into(),
            interval: Some(60.0),
            labels: Some(labels),
            ..Heartbeat::default()
        };
        send(&mut core, Message::Heartbeat(beat), &mut out);
        let report = PluginReport {
            name: host.into(),
            ts: None,
            run: None,
            seq: None,
            plugin: "cpu_monitor".into(),
            kind: PluginKind::Monitor,
            data: serde_json::json!({"cpu_percent": 95.0})
                .as_object()
                .cloned()
                .unwrap(),
            status: None,
            duration_ms: None,
        };
        send(&mut core, Message::Plugin(report), &mut out);
    }
    let held = |host: &str| core.host_alerts(host, now)[0].held.clone();
    assert_eq!(
        held("db1"),
        Some(Reason::Maintenance {
            window: "backups".into()
        })
    );
    assert_eq!(held("web1"), None);
    let told: Vec<String> = out
        .iter()
        .filter_map(|a| match a {
            Action::Notify(n) => Some(format!("{n:?}")),
            _ => None,
        })
        .filter(|n| n.contains("cpu_percent"))
        .collect();
    assert_eq!(told.len(), 1, "only web1's CRITICAL is told: {told:?}");
    assert!(told[0].contains("web1"), "{told:?}");

    // A window naming a group no one defined is refused.
    assert_each_reported(&[(
        "maintenance:\n  w:\n    groups: [nope]\n    start: '01:00'\n    duration: 1h\n",
        "hbd.yaml:3: error: maintenance.w.groups: names group `nope`",
    )]);
}
