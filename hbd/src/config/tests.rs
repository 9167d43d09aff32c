//! Table-driven tests of config loading: defaults, every error naming file, line and key.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::core::CoreSettings;

fn problems(text: &str) -> Vec<String> {
    match parse(text, Some(Path::new("hbd.yaml"))) {
        Ok(loaded) => loaded.warnings.iter().map(ToString::to_string).collect(),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    }
}

/// Each config text reports (among its problems) the one given with it.
fn assert_each_reported(cases: &[(&str, &str)]) {
    for (text, want) in cases {
        let got = problems(text);
        assert!(
            got.iter().any(|p| p.contains(want)),
            "{text:?}: want {want:?}, got {got:?}"
        );
    }
}

#[test]
fn empty_file_gives_the_documented_defaults() {
    let c = parse("", None).unwrap().config;
    assert_eq!(c.hb_port, 50003);
    assert_eq!(c.hbd_port, 50004);
    assert_eq!(c.ws_port, None, "/ws is on hbd_port");
    assert_eq!(c.journal.max_size, 100 * 1024 * 1024);
    assert_eq!(c.journal.max_backups, 10);
    assert_eq!(c.threshold_renotify_interval, Duration::from_secs(3600));
    assert_eq!(c.max_clock_skew, Duration::from_secs(300));
    assert_eq!(c.max_message_bytes, 1024 * 1024);
    assert!(!c.require_signed);
}

#[test]
fn values_are_read() {
    let text = "\
hb_port: 6000
interval: 10
grace: 2.5
journal_max_size: 1MB
hb_key: 0123456789abcdef0123
hosts:
  web1:
    interval: 5
    key: fedcba9876543210fedc
";
    let c = parse(text, None).unwrap().config;
    assert_eq!(c.hb_port, 6000);
    assert_eq!(c.interval, Duration::from_secs(10));
    assert_eq!(c.grace, Duration::from_millis(2500));
    assert_eq!(c.journal.max_size, 1024 * 1024);
    assert_eq!(
        CoreSettings::from(&c).host_timing("web1"),
        (Duration::from_secs(5), Duration::from_millis(2500))
    );
    assert_eq!(
        CoreSettings::from(&c).host_timing("other"),
        (Duration::from_secs(10), Duration::from_millis(2500))
    );
    assert!(matches!(c.key_for("web1"), Some((_, true))));
    assert!(matches!(c.key_for("other"), Some((_, false))));
}

#[test]
fn each_problem_names_file_line_and_key() {
    let cases: &[(&str, &str)] = &[
        (
            "hb_port: 70000\n",
            "hbd.yaml:1: error: hb_port: expected a whole number from 0 to 65535, found 70000",
        ),
        (
            "interval: soon\n",
            "hbd.yaml:1: error: interval: expected a number of seconds > 0, found \"soon\"",
        ),
        (
            "a: 1\nhosts:\n  web1:\n    interval: -3\n",
            "hbd.yaml:4: error: hosts.web1.interval: expected a number of seconds > 0, found -3",
        ),
        (
            "intervall: 30\n",
            "hbd.yaml:1: warning: intervall: unknown key, ignored; did you mean `interval`?",
        ),
        (
            "hosts:\n  web1:\n    grce: 3\n",
            "hbd.yaml:3: warning: hosts.web1.grce: unknown key, ignored; did you mean `grace`?",
        ),
        (
            "pickfile: /var/lib/hbd.pickle\n",
            "hbd.yaml:1: error: pickfile: is replaced by state_db",
        ),
        (
            "require_signed: true\n",
            "hbd.yaml:1: error: require_signed: is on, but no key is configured",
        ),
        (
            "hb_key: short\n",
            "hbd.yaml:1: error: hb_key: a key must be at least 16 characters",
        ),
        (
            "pushsrv: pushovr\n",
            "hbd.yaml:1: error: pushsrv: unknown push service `pushovr`",
        ),
        (
            "journal_max_size: lots\n",
            "hbd.yaml:1: error: journal_max_size: expected a size",
        ),
        (
            "hbd_host: not-an-ip\n",
            "hbd.yaml:1: error: hbd_host: expected an IP address",
        ),
        (
            "hosts:\n  \"bad name\": {}\n",
            "hbd.yaml:2: error: hosts.bad name: host name has the character ' '",
        ),
        (
            "hosts:\n  web1:\n    owner: alice\n",
            "hbd.yaml:3: error: hosts.web1.owner: names user `alice`, who is not defined",
        ),
        (
            "users:\n  bob:\n    password: hunter2\n",
            "hbd.yaml:3: error: users.bob.password: not a password hash",
        ),
        (
            "thresholds: 5\n",
            "hbd.yaml:1: error: thresholds: expected a mapping, found a number",
        ),
        (
            "hb_port: [1\n",
            "hbd.yaml:2: error: (syntax): not valid YAML",
        ),
        (
            "- a\n- b\n",
            "hbd.yaml: error: (top level): expected a mapping of keys, found a list",
        ),
        (
            "thresholds:\n  cpu_monitor:\n    cpu_percent:\n      warning: high\n",
            "hbd.yaml:3: error: thresholds.cpu_monitor.cpu_percent: warning: expected a number",
        ),
        (
            "thresholds:\n  cpu_monitor:\n    cpu_percnt: {warning: 80}\n",
            "hbd.yaml:3: warning: thresholds.cpu_monitor.cpu_percnt: no known plugin reports this path",
        ),
        (
            "threshold_configs:\n  web:\n    thresholds:\n      memory_monitor:\n        percent: {hysteresis: 5, warning: 1}\n",
            "hbd.yaml:5: error: threshold_configs.web.thresholds.memory_monitor.percent: hysteresis",
        ),
    ];
    for (text, want) in cases {
        let got = problems(text);
        assert!(
            got.iter().any(|p| p.starts_with(want)),
            "config {text:?}\n want prefix: {want}\n got: {got:#?}"
        );
    }
}

#[test]
fn all_problems_are_reported_together() {
    let err = parse("hb_port: -1\nhbd_port: x\ngrace: -1\n", None).unwrap_err();
    assert_eq!(err.problems.len(), 3);
    let lines: Vec<_> = err.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [Some(1), Some(2), Some(3)]);
}

#[test]
fn missing_file_is_a_clear_error() {
    let err = load(Some(Path::new("/nonexistent/hbd.yaml"))).unwrap_err();
    assert!(
        err.to_string()
            .contains("/nonexistent/hbd.yaml: error: (file): cannot read")
    );
}

#[test]
fn users_take_werkzeug_hashes_and_the_first_admin_owns_by_default() {
    let text = "
users:
  zed: {full_name: Zed, password: 'scrypt:16:8:1$salt$00ff', admin: true}
  amy: {avatar: /img/amy.png, password: 'pbkdf2:sha256:1000$salt$00ff', admin: true}
  bob: {password: 'pbkdf2:sha512:1000$salt$00ff'}
";
    let config = parse(text, None).unwrap().config;
    assert_eq!(config.users["zed"].full_name.as_deref(), Some("Zed"));
    assert_eq!(config.users["amy"].avatar.as_deref(), Some("/img/amy.png"));
    // No default_owner: the first administrator by name.
    assert_eq!(config.default_owner(), Some("amy"));
    let with_owner = parse(&format!("{text}default_owner: bob\n"), None)
        .unwrap()
        .config;
    assert_eq!(with_owner.default_owner(), Some("bob"));
    assert_eq!(parse("", None).unwrap().config.default_owner(), None);
}

#[test]
fn dynamic_dns_zones_and_host_records_are_checked() {
    let good = "\
dyndomains:
  Example.Test.: {server: 127.0.0.1, port: 5353, ttl: 30, all_hosts: true}
hosts:
  db1: {dyndomain: db.example.test}
  lab: {dyndomain: false}
";
    let c = parse(good, None).unwrap().config;
    let zone = &c.dyndomains["example.test"];
    assert_eq!((zone.port, zone.ttl, zone.all_hosts), (5353, 30, true));
    assert_eq!(
        c.hosts["db1"].dyndomain,
        Some(dns::DynDomain::Name("db.example.test".into()))
    );
    // (config) -> the problem it reports, with its line.
    let cases = [
        (
            "dyndomains:\n  a.test: {port: 53}\n",
            "hbd.yaml:2: error: dyndomains.a.test: `server` is required",
        ),
        (
            "dyndomains:\n  a.test: {server: x, timout: 5}\n",
            "hbd.yaml:2: warning: dyndomains.a.test.timout: unknown key",
        ),
        (
            "dyndomains:\n  a.test: {server: x}\n  b.test: {server: y}\nhosts:\n  w: {dyndomain: true}\n",
            "error: hosts.w.dyndomain: true is ambiguous with several zones",
        ),
        (
            "dyndomains:\n  a.test: {server: x}\nhosts:\n  w: {dyndomain: c.test}\n",
            "error: hosts.w.dyndomain: names no zone under dyndomains",
        ),
        (
            "dyndomains:\n  a.test: {server: x, all_hosts: true}\n  b.test: {server: y, all_hosts: true}\n",
            "error: dyndomains: only one zone may say all_hosts: true",
        ),
        (
            "dyndomains: [example.com, 42]\n",
            "hbd.yaml:1: error: dyndomains: a number is not a zone name; expected a list of zones such as [example.com]",
        ),
    ];
    assert_each_reported(&cases);
}

#[test]
fn the_original_daemons_list_of_zones_is_read() {
    // The original daemon's minimal config names its zones as a list and lets
    // nsupdate find each zone's primary.
    let original = "\
dyndomains: [Example.com., hosts.example.org]
nsupdate_bin: /usr/bin/nsupdate
";
    let loaded = parse(original, None).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = loaded.config;
    let zone = &c.dyndomains["example.com"];
    assert!(zone.server.is_empty() && zone.names_inside && !zone.all_hosts);
    assert!(c.dyndomains.contains_key("hosts.example.org"));
    assert_eq!(
        dns::record_for(&c.dyndomains, "web1.example.com", None).map(|r| r.name),
        Some("web1.example.com".to_owned())
    );
    assert_eq!(dns::record_for(&c.dyndomains, "web1", None), None);
}

#[test]
fn alert_policy_settings_are_read_and_checked() {
    let good = "\
thresholds:
  cpu_monitor:
    cpu_percent: {warning: 80, critical: 90, for: 5m}
threshold_configs:
  databases: {}
maintenance:
  backups:
    hosts: ['db*']
    profiles: [databases]
    days: [sat, Sunday]
    start: '02:00'
    duration: 2h 30m
    time_zone: Europe/Berlin
flapping: {low: 10, high: 30}
storm: {window: 2m, threshold: 5}
hosts:
  switch1: {}
  db1: {parents: [switch1], down_after: 3, threshold_config: [databases]}
";
    let c = parse(good, None).unwrap().config;
    let w = &c.maintenance["backups"];
    assert_eq!(w.days, [6, 7]);
    assert_eq!(w.start_minute, 120);
    assert_eq!(w.duration, Duration::from_secs(9000));
    assert_eq!(w.time_zone.as_deref(), Some("Europe/Berlin"));
    let flap = c.flapping.unwrap();
    assert_eq!((flap.low, flap.high), (10.0, 30.0));
    assert_eq!(c.storm.window, Duration::from_secs(120));
    assert_eq!(c.storm.threshold, 5);
    assert_eq!(c.hosts["db1"].parents, ["switch1"]);
    assert_eq!(c.hosts["db1"].down_after, Some(3));
    assert_eq!(
        CoreSettings::from(&c).allowance("db1", Duration::from_secs(10)),
        Duration::from_secs(60),
        "three intervals plus the default 30 s grace"
    );
    let rules = crate::alerting::rules::merge(&[&c.threshold_layers]);
    let rule = rules.values().next().unwrap();
    assert_eq!(rule.pending, Duration::from_secs(300));
    // Defaults: no flap detection, grouping past 10 messages a minute.
    let d = parse("", None).unwrap().config;
    assert_eq!(d.flapping, None);
    assert_eq!(
        (d.storm.window, d.storm.threshold),
        (Duration::from_secs(60), 10)
    );

    let cases = [
        (
            "hosts:\n  a: {parents: [b]}\n  b: {parents: [c]}\n  c: {parents: [a]}\n",
            "hbd.yaml:2: error: hosts.a.parents: parents form a cycle: a -> b -> c -> a",
        ),
        (
            "hosts:\n  a: {parents: [a]}\n",
            "hbd.yaml:2: error: hosts.a.parents: a host cannot be its own parent",
        ),
        (
            "maintenance:\n  w:\n    hosts: [x]\n    start: '25:00'\n    duration: 1h\n",
            "hbd.yaml:4: error: maintenance.w.start: expected a time as HH:MM",
        ),
        (
            "maintenance:\n  w:\n    hosts: [x]\n    start: '01:00'\n    duration: 1h\n    time_zone: Mars/Olympus\n",
            "hbd.yaml:6: error: maintenance.w.time_zone: time_zone:",
        ),
        (
            "maintenance:\n  w:\n    hosts: [x]\n    days: [someday]\n    start: '01:00'\n    duration: 1h\n",
            "hbd.yaml:4: error: maintenance.w.days: \"someday\" is no day",
        ),
        (
            "maintenance:\n  w:\n    start: '01:00'\n    duration: 1h\n",
            "hbd.yaml:2: error: maintenance.w: needs `hosts`, `profiles` or `groups`",
        ),
        (
            "maintenance:\n  w:\n    profiles: [nope]\n    start: '01:00'\n    duration: 1h\n",
            "error: maintenance.w.profiles: names profile `nope`",
        ),
        (
            "flapping: {low: 30, high: 20}\n",
            "hbd.yaml:1: error: flapping.low: must be below high (20)",
        ),
        (
            "storm: {threshold: -1}\n",
            "hbd.yaml:1: error: storm.threshold: expected a whole number from 0 to 100000",
        ),
        (
            "thresholds:\n  cpu_monitor:\n    cpu_percent: {warning: 80, for: soon}\n",
            "for: expected seconds or a duration such as 5m",
        ),
        (
            "hosts:\n  a: {down_after: 0}\n",
            "hbd.yaml:2: error: hosts.a.down_after: expected a whole number from 1 to 1000",
        ),
    ];
    assert_each_reported(&cases);
}

#[test]
fn the_alerting_guide_s_config_examples_load() {
    let guide = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/THRESHOLD_ALERTING.md"),
    )
    .unwrap();
    let mut checked = 0;
    for block in guide.split("```yaml\n").skip(1) {
        let yaml = block.split("```").next().unwrap();
        let result = parse(yaml, Some(Path::new("THRESHOLD_ALERTING.md")));
        assert!(result.is_ok(), "{yaml}\n{:?}", result.err());
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} examples found");
}

#[test]
fn remote_write_is_read_and_checked() {
    let good = "\
remote_write:
  url: http://127.0.0.1:8428/api/v1/write
  external_labels: {hbd_shard: eu-1, dc: fra}
  max_samples: 50000
  batch: 1000
  flush_interval: 500ms
  max_backoff: 1m
";
    let rw = parse(good, None).unwrap().config.remote_write.unwrap();
    assert_eq!(rw.url, "http://127.0.0.1:8428/api/v1/write");
    assert_eq!(
        rw.external_labels,
        [
            ("dc".into(), "fra".into()),
            ("hbd_shard".into(), "eu-1".into())
        ]
    );
    assert_eq!((rw.max_samples, rw.batch), (50_000, 1000));
    assert_eq!(rw.flush_interval, Duration::from_millis(500));
    assert_eq!(rw.max_backoff, Duration::from_secs(60));
    assert!(
        parse("", None).unwrap().config.remote_write.is_none(),
        "off by default"
    );
    let c = parse(good, None).unwrap().config;
    assert_eq!(c.plugin_history, 288, "a short window in SQLite");
    let c = parse(&format!("{good}plugin_history: 5000\n"), None)
        .unwrap()
        .config;
    assert_eq!(c.plugin_history, 5000, "unless set");
    let cases = [
        (
            "remote_write: {url: vm:8428}\n",
            "hbd.yaml:1: error: remote_write.url: expected an http:// or https:// URL",
        ),
        (
            "remote_write: {external_labels: {a: b}}\n",
            "hbd.yaml:1: error: remote_write: needs `url`",
        ),
        (
            "remote_write:\n  url: http://x/w\n  external_labels: {host: x}\n",
            "hbd.yaml:3: error: remote_write.external_labels: \"host\" is a label hbd sets itself",
        ),
        (
            "remote_write:\n  url: http://x/w\n  external_labels: {9lives: x}\n",
            "hbd.yaml:3: error: remote_write.external_labels: \"9lives\" is not a label name",
        ),
    ];
    assert_each_reported(&cases);
}

#[test]
fn an_ha_pair_is_read_and_checked() {
    let good = "ha:\n  postgres: host=127.0.0.1 port=5432 user=hbd\n  node: hbd-a\n  shard: eu-1\n  lease: 10s\n  renew: 2s\n  fail_open_after: 1m\n";
    let ha = parse(good, None).unwrap().config.ha.unwrap();
    assert_eq!(ha.node, "hbd-a");
    assert_eq!(ha.lease_name(), "alerts/eu-1");
    assert_eq!(ha.lease, Duration::from_secs(10));
    assert_eq!(ha.renew, Duration::from_secs(2));
    assert_eq!(ha.fail_open_after, Duration::from_secs(60));
    let defaults = parse("ha: {postgres: 'dbname=hbd'}\n", None)
        .unwrap()
        .config
        .ha
        .unwrap();
    assert_eq!(
        (
            defaults.shard.as_str(),
            defaults.lease,
            defaults.renew,
            defaults.fail_open_after
        ),
        (
            "default",
            Duration::from_secs(15),
            Duration::from_secs(5),
            Duration::from_secs(60)
        )
    );
    assert!(
        parse("", None).unwrap().config.ha.is_none(),
        "alone by default"
    );
    let cases = [
        ("ha: {node: a}\n", "hbd.yaml:1: error: ha: needs `postgres`"),
        (
            "ha:\n  postgres: dbname=hbd\n  lease: 4s\n  renew: 3s\n",
            "hbd.yaml:4: error: ha.renew: must be at most half of `lease`",
        ),
        (
            "ha:\n  postgres: dbname=hbd\n  fail_open_after: 5s\n",
            "hbd.yaml:3: error: ha.fail_open_after: must be at least `lease`",
        ),
        (
            "ha:\n  postgres: dbname=hbd\n  node: 'a b'\n",
            "hbd.yaml:3: error: ha.node: \"a b\" is not a name",
        ),
        // Once silently dropped the whole section: now the key is named.
        (
            "ha:\n  postgres: dbname=hbd\n  lease: 0.5\n",
            "hbd.yaml:3: error: ha.lease: must be at least 1s",
        ),
        (
            "ha:\n  postgres: dbname=hbd\n  leese: 10s\n",
            "hbd.yaml:3: warning: ha.leese: unknown key, ignored; did you mean `lease`?",
        ),
        (
            "remote_write:\n  url: http://127.0.0.1:1/w\n  flush_interval: 0\n",
            "hbd.yaml:3: error: remote_write.flush_interval: expected more than 0 seconds",
        ),
        (
            "maintenance:\n  nightly:\n    hosts: [a]\n    start: '02:00'\n    duration: 1h\n    dayz: [mon]\n",
            "hbd.yaml:6: warning: maintenance.nightly.dayz: unknown key, ignored; did you mean `days`?",
        ),
    ];
    assert_each_reported(&cases);
}

/// The core's rules per host, as the config makes them: a host's profiles layered over
/// the defaults left to right; a host without profiles has the defaults.
#[test]
fn core_settings_layer_each_hosts_profiles_over_the_defaults() {
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
hosts:
  batch1:
    threshold_config: [busy, quiet]
  web1: {}
";
    let c = parse(text, None).unwrap().config;
    let s = CoreSettings::from(&c);
    let cpu = vec!["cpu_monitor".to_owned(), "cpu_percent".to_owned()];
    let limits = |host: &str| {
        let rules = s.rules_for(host, None);
        let rule = *rules.get(&cpu).expect("a cpu rule");
        (rule.warning, rule.critical)
    };
    assert_eq!(limits("web1"), (Some(80.0), Some(90.0)));
    assert_eq!(limits("batch1"), (Some(95.0), Some(98.0)));
    assert_eq!(s.policy.profiles["batch1"], ["busy", "quiet"]);
}

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

/// A user's keys are read through their table: a plain password is refused with the
/// command that makes a hash for that very user, an unknown key gets its hint.
#[test]
fn user_keys_are_read_from_their_table() {
    assert_each_reported(&[
        (
            "users:\n  ada:\n    password: hunter2\n",
            "users.ada.password: ",
        ),
        (
            "users:\n  ada:\n    password: hunter2\n",
            "make one with `hbd passwd ada`",
        ),
        (
            "users:\n  ada:\n    emial: a@example.org\n",
            "did you mean `email`?",
        ),
    ]);
}

/// `include` reads more files into one configuration; every problem keeps its own
/// file and line, and a host or key defined twice names both files.
#[test]
fn includes_gather_entries_and_keep_each_problems_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let conf_d = dir.path().join("conf.d");
    std::fs::create_dir(&conf_d).unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "hbd.yaml",
        "include: conf.d/*.yaml\ninterval: 30\nusers:\n  ada: {admin: true}\nhosts:\n  db1: {}\n",
    );
    write(
        "conf.d/10-web.yaml",
        "hosts:\n  web1: {owner: ada}\n  web2: {interval: 10}\nthreshold_configs:\n  busy:\n    cpu_monitor:\n      cpu_percent: {warning: 95}\n",
    );
    write(
        "conf.d/20-windows.yaml",
        "maintenance:\n  nightly: {hosts: ['web*'], start: '02:00', duration: 1h}\n",
    );
    // Not configuration: a hidden editor file and a file the pattern does not name.
    write("conf.d/.10-web.yaml.swp", "garbage: [");
    write("conf.d/notes.txt", "not: [yaml");
    let loaded = load(Some(&dir.path().join("hbd.yaml"))).unwrap();
    let c = loaded.config;
    assert_eq!(c.interval, Duration::from_secs(30));
    assert_eq!(c.hosts.keys().collect::<Vec<_>>(), ["db1", "web1", "web2"]);
    assert_eq!(c.hosts["web2"].interval, Some(Duration::from_secs(10)));
    assert_eq!(c.hosts["web1"].owner.as_deref(), Some("ada"));
    assert!(c.threshold_configs.contains_key("busy"));
    assert!(c.maintenance.contains_key("nightly"));

    // A host in two files, a key set in two, a bad value and a user no file defines:
    // each at its own file and line.
    write(
        "conf.d/30-more.yaml",
        "hosts:\n  web1: {}\n  web3: {owner: bob}\ninterval: 20\ngrace: soon\n",
    );
    let err = load(Some(&dir.path().join("hbd.yaml"))).unwrap_err();
    let got: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
    let more = conf_d.join("30-more.yaml").display().to_string();
    let web = conf_d.join("10-web.yaml").display().to_string();
    let main = dir.path().join("hbd.yaml").display().to_string();
    for want in [
        format!("{more}:2: error: hosts.web1: is also defined in {web}"),
        format!("{more}:4: error: interval: is also set in {main}"),
        format!("{more}:5: error: grace:"),
        format!("{more}:3: error: hosts.web3.owner: names user `bob`"),
    ] {
        assert!(got.iter().any(|p| p.starts_with(&want)), "{want}\n{got:#?}");
    }
}

#[test]
fn an_include_that_names_nothing_or_nests_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "hbd.yaml",
        "include: [missing.yaml, 'sub/*.yaml', inner.yaml]\n",
    );
    write("inner.yaml", "include: other.yaml\n");
    let err = load(Some(&dir.path().join("hbd.yaml"))).unwrap_err();
    let got: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
    let main = dir.path().join("hbd.yaml").display().to_string();
    let inner = dir.path().join("inner.yaml").display().to_string();
    for want in [
        format!("{main}:1: error: include: \"missing.yaml\": "),
        format!("{main}:1: error: include: \"sub/*.yaml\": "),
        format!("{inner}:1: error: include: included files do not include further"),
    ] {
        assert!(got.iter().any(|p| p.starts_with(&want)), "{want}\n{got:#?}");
    }
}

/// The fenced YAML blocks of a document whose first line is `# NAME`, by name.
pub(crate) fn yaml_blocks(md: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut rest = md;
    while let Some(start) = rest.find("```yaml\n") {
        let body = &rest[start + "```yaml\n".len()..];
        let end = body.find("```").expect("a closed block");
        let text = &body[..end];
        if let Some(name) = text.lines().next().and_then(|l| l.strip_prefix("# ")) {
            blocks.push((name.trim().to_owned(), text.to_owned()));
        }
        rest = &body[end + 3..];
    }
    blocks
}

/// docs/EVALUATE.md's daemon configuration loads without a single problem, and does
/// what the guide says: the batch host's label puts it in the batch group.
#[test]
fn the_evaluation_guide_config_is_clean() {
    let md = hbd_e2e::docs::read("EVALUATE.md");
    let blocks = yaml_blocks(&md);
    let (_, text) = blocks
        .iter()
        .find(|(name, _)| name == "hbd.yaml")
        .expect("the guide's hbd.yaml");
    let loaded = parse(text, Some(Path::new("hbd.yaml")))
        .unwrap_or_else(|e| panic!("the guide's hbd.yaml: {e}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = loaded.config;
    let s = CoreSettings::from(&c);
    let batch: hbd_core::groups::Labels = [("role".to_owned(), "batch".to_owned())].into();
    let cpu = vec!["cpu_monitor".to_owned(), "cpu_percent".to_owned()];
    let rules = s.rules_for("batch1", Some(&batch));
    assert_eq!(rules.get(&cpu).unwrap().warning, Some(98.0));
    assert!(c.maintenance.contains_key("backups"));
    assert!(
        crate::password::PasswordHash::parse(c.users["ada"].password.as_deref().unwrap())
            .unwrap()
            .verify("evaluate-hbd"),
        "the guide's hash is of the password it names"
    );
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
