//! Host groups as the config states them: profiles, windows and signed plugin
//! artifacts by name pattern and by label, and their checks.

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

/// Signed plugin artifacts a group's members run: resolved against `artifacts_dir` when
/// the configuration is read, and checked there.
mod artifacts {
    use crate::fleet::desired::set_for;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../artifact/tests/fixtures");

    /// An artifacts directory offering log_freshness 1.2.0 and 1.3.0 (unsigned: without
    /// `plugin_publishers` the daemon checks only each .wasm against its manifest).
    fn offering(dir: &std::path::Path) {
        let good = std::fs::read_to_string(format!("{FIXTURES}/good.json")).unwrap();
        for version in ["1.2.0", "1.3.0"] {
            let stem = dir
                .join(format!("log_freshness-{version}"))
                .display()
                .to_string();
            std::fs::write(format!("{stem}.json"), good.replace("1.2.0", version)).unwrap();
            std::fs::write(format!("{stem}.json.minisig"), "x").unwrap();
            std::fs::copy(format!("{FIXTURES}/plugin.wasm"), format!("{stem}.wasm")).unwrap();
        }
    }

    #[test]
    fn a_host_runs_what_its_groups_name_the_first_group_winning() {
        let dir = tempfile::tempdir().unwrap();
        offering(dir.path());
        let config = crate::config::parse(
            &format!(
                "
artifacts_dir: {}
groups:
  a_canary:
    hosts: ['web1']
    plugins:
      log_freshness: {{version: 1.3.0, grants: [/var/log/app]}}
  web:
    hosts: ['web*']
    plugins:
      log_freshness: {{version: 1.2.0, interval: 60}}
  gone:
    hosts: ['db*']
    plugins:
      log_freshness: {{version: 1.2.0}}
",
                dir.path().display()
            ),
            None,
        )
        .unwrap()
        .config;
        let c = crate::catalogue::scan(dir.path(), &[]).unwrap();
        // (host, the versions it runs)
        let cases: &[(&str, &[&str])] =
            &[("web1", &["1.3.0"]), ("web2", &["1.2.0"]), ("mail", &[])];
        for (host, want) in cases {
            let (set, missing) = set_for(&config.plugin_plan(), host, None, Some(&c));
            let got: Vec<String> = set.plugins.iter().map(|p| p.version.to_string()).collect();
            assert_eq!(got, *want, "{host}");
            assert!(missing.is_empty(), "{host}: {missing:?}");
        }
        let web1 = set_for(&config.plugin_plan(), "web1", None, Some(&c))
            .0
            .plugins;
        assert_eq!(web1[0].files.wasm, "/artifacts/log_freshness-1.3.0.wasm");
        assert_eq!(
            web1[0].settings.grants,
            [std::path::PathBuf::from("/var/log/app")]
        );
        assert_eq!(
            web1[0].sha256,
            c.get("log_freshness", &web1[0].version)
                .unwrap()
                .manifest
                .sha256
        );
        // Removed from the directory after the config was read: still named (the agent
        // keeps what it runs), and said to be missing.
        std::fs::remove_file(dir.path().join("log_freshness-1.2.0.wasm")).unwrap();
        let c = crate::catalogue::scan(dir.path(), &[]).unwrap();
        let (kept, missing) = set_for(&config.plugin_plan(), "db1", None, Some(&c));
        assert_eq!(kept.plugins.len(), 1);
        assert_eq!(
            missing,
            ["log_freshness 1.2.0 is no longer on offer in artifacts_dir"]
        );
    }

    #[test]
    fn the_config_names_what_is_not_on_offer_and_settings_beyond_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        offering(dir.path());
        std::fs::write(dir.path().join("junk.json"), "{}").unwrap();
        let text = format!(
            "artifacts_dir: {}
groups:
  web:
    hosts: ['web*']
    plugins:
      log_freshness: {{version: 2.0.0}}
  db:
    hosts: ['db*']
    plugins:
      log_freshness: {{version: 1.2.0, grants: [/etc]}}
      Bad-Name: {{version: 1.0.0}}
      no_version: {{interval: 60}}
",
            dir.path().display()
        );
        let err = crate::config::parse(&text, Some(std::path::Path::new("/etc/hbd.yaml")))
            .unwrap_err()
            .to_string();
        for want in [
            "/etc/hbd.yaml:6: error: groups.web.plugins.log_freshness.version: log_freshness 2.0.0 is not on offer in",
            "(offered: 1.2.0, 1.3.0)",
            "/etc/hbd.yaml:10: error: groups.db.plugins.log_freshness: grant /etc is not below the artifact's grants (/var/log/app)",
            "/etc/hbd.yaml:11: error: groups.db.plugins.Bad-Name: is not a plugin name (a-z 0-9 _, 1 to 64)",
            "/etc/hbd.yaml:12: error: groups.db.plugins.no_version: needs `version` (the artifact's, 1.2.0)",
            "/etc/hbd.yaml:1: warning: artifacts_dir: not offered: junk.json: manifest is not valid",
        ] {
            assert!(err.contains(want), "missing {want:?} in\n{err}");
        }
        let without = "groups:\n  web:\n    hosts: ['web*']\n    plugins:\n      log_freshness: {version: 1.2.0}\n";
        let err = crate::config::parse(without, None).unwrap_err().to_string();
        assert!(
            err.contains("groups.web.plugins: needs artifacts_dir"),
            "{err}"
        );
    }

    #[test]
    fn groups_set_native_collectors_and_the_config_names_what_is_wrong() {
        let config = crate::config::parse(
            "
groups:
  a_quiet:
    hosts: ['web1']
    collectors:
      cpu_monitor: {enabled: false}
  web:
    hosts: ['web*']
    collectors:
      cpu_monitor: {interval: 5}
      nagios_runner: {checks: [root, load]}
",
            None,
        )
        .unwrap()
        .config;
        let plan = config.plugin_plan();
        let web1 = plan.for_host("web1", None);
        let web2 = plan.for_host("web2", None);
        assert_eq!(web1.collectors["cpu_monitor"].enabled, Some(false));
        assert_eq!(
            web1.collectors["cpu_monitor"].interval, None,
            "the first group wins whole"
        );
        assert_eq!(web2.collectors["cpu_monitor"].interval, Some(5.0));
        assert_eq!(
            web1.collectors["nagios_runner"].checks.as_deref(),
            Some(&["root".to_owned(), "load".to_owned()][..])
        );
        assert_ne!(web1.digest(), web2.digest());
        assert!(plan.for_host("mail", None).collectors.is_empty());

        let bad = "groups:
  web:
    hosts: ['web*']
    collectors:
      cpu_monitr: {interval: 5}
      disk_monitor: {interval: 0.2}
      memory_monitor: {checks: [x]}
      nagios_runner: {checks: [a, a], colour: red}
";
        let err = crate::config::parse(bad, Some(std::path::Path::new("/etc/hbd.yaml")))
            .unwrap_err()
            .to_string();
        for want in [
            "/etc/hbd.yaml:5: error: groups.web.collectors.cpu_monitr: \"cpu_monitr\" is not a native collector",
            "/etc/hbd.yaml:6: error: groups.web.collectors.disk_monitor: interval 0.2 is not 1 to 86400 seconds",
            "/etc/hbd.yaml:7: error: groups.web.collectors.memory_monitor: checks are for nagios_runner only",
            "/etc/hbd.yaml:8: error: groups.web.collectors.nagios_runner: check \"a\" is named twice",
            "groups.web.collectors.nagios_runner.colour",
        ] {
            assert!(err.contains(want), "missing {want:?} in\n{err}");
        }
    }

    #[test]
    fn a_groups_rollout_is_read_and_what_is_wrong_is_named() {
        use hbd_core::rollout::Canaries;
        let config = crate::config::parse(
            "groups:\n  web:\n    hosts: ['web*']\n    rollout: {canaries: '5%', healthy_for: 2, waves: [25, 100]}\n  db:\n    hosts: ['db*']\n    rollout: {canaries: [db3]}\n  mail:\n    hosts: ['mail*']\n    rollout: {}\n",
            None,
        )
        .unwrap()
        .config;
        let web = config.groups["web"].rollout.clone().unwrap();
        assert_eq!(
            (web.canaries, web.healthy_for, web.waves),
            (Canaries::Percent(5), 2, vec![25, 100])
        );
        let db = config.groups["db"].rollout.clone().unwrap();
        assert_eq!(db.canaries, Canaries::Hosts(vec!["db3".into()]));
        let mail = config.groups["mail"].rollout.clone().unwrap();
        assert_eq!(
            (mail.canaries, mail.healthy_for, mail.waves),
            (Canaries::Count(1), 3, vec![100]),
            "the defaults"
        );
        let bad = "groups:
  web:
    hosts: ['web*']
    rollout:
      canaries: five
      healthy_for: 0
      waves: [50, 25]
      canary: 2
";
        let err = crate::config::parse(bad, Some(std::path::Path::new("/etc/hbd.yaml")))
            .unwrap_err()
            .to_string();
        for want in [
            "/etc/hbd.yaml:5: error: groups.web.rollout.canaries: \"five\": expected a number of hosts",
            "/etc/hbd.yaml:6: error: groups.web.rollout.healthy_for:",
            "/etc/hbd.yaml:7: error: groups.web.rollout.waves: expected a list of percentages, rising to 100",
            "groups.web.rollout.canary",
        ] {
            assert!(err.contains(want), "missing {want:?} in\n{err}");
        }
    }
}
