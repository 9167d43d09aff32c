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
        (
            "checks:\n  web:\n    plugin: tcp_check\n    group: probes\n",
            "hbd.yaml:4: error: checks.web.group: names group `probes`, which groups does not define",
        ),
        (
            "groups: {p: {hosts: [p*]}}\nchecks:\n  web: {group: p}\n",
            "checks.web: needs `plugin` (the plugin its vantage points run)",
        ),
        (
            "groups: {p: {hosts: [p*]}}\nchecks:\n  web: {plugin: tcp_check, group: p, quorum: 0}\n",
            "checks.web.quorum: expected a whole number from 1 to 10000",
        ),
        (
            "groups: {p: {hosts: [p*]}}\nchecks:\n  'a b': {plugin: tcp_check, group: p}\n",
            "checks.a b: is not a check name",
        ),
        (
            "groups:\n  web:\n    hosts: [web*]\n    escalation: [{after: 15m, users: [nobody]}]\n",
            "hbd.yaml:4: error: groups.web.escalation: names user `nobody`, who is not defined under users",
        ),
        (
            "groups:\n  web:\n    hosts: [web*]\n    escalation: [{users: [bob]}]\n",
            "groups.web.escalation.0: a step needs `after` (a duration) and `users`",
        ),
        (
            "targets:\n  x:\n    kind: matrix\n",
            "hbd.yaml:3: error: targets.x.kind: \"matrix\" is not a kind of target",
        ),
        (
            "targets:\n  x: {kind: telegram, token: t}\n",
            "targets.x: a telegram target needs `chat_id`",
        ),
        (
            "targets:\n  x: {kind: slack, url: 'https://h/s', topic: t}\n",
            "targets.x: `topic` is not a key of a slack target",
        ),
        (
            "targets:\n  x: {kind: slack, url: 'ftp://h/s'}\n",
            "targets.x.url: expected an http:// or https:// URL",
        ),
        (
            "targets:\n  x: {kind: pagerduty, routing_key: {env: HBD_TEST_SURELY_UNSET_VARIABLE}}\n",
            "targets.x.routing_key: the environment variable HBD_TEST_SURELY_UNSET_VARIABLE is not set",
        ),
        (
            "targets:\n  x: {kind: ntfy, topic: t, token: {file: /nonexistent/hbd-token}}\n",
            "targets.x.token: cannot read the secret's file /nonexistent/hbd-token",
        ),
        (
            "targets:\n  x:\n    kind: webhook\n    url: 'https://h/'\n    body: '{\"text\": {{text}}}'\n",
            "hbd.yaml:5: error: targets.x.body: the template makes no JSON for a problem notification",
        ),
        (
            "targets:\n  x: {kind: webhook, url: 'https://h/', headers: {'bad header': v}}\n",
            "targets.x.headers.bad header: is not a header name",
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

mod groups;
mod includes;
mod oidc;
mod secrets;

/// Message templates: one that does not render is an error naming its key (or its file
/// under `templates_dir`) and its line; a good one is in force; one for a channel that
/// does not exist is a warning.
#[test]
fn message_templates_are_checked_where_they_are_written() {
    assert_each_reported(&[
        (
            "messages:\n  problem.body: \"{{#if host}}\"\n",
            "hbd.yaml:2: error: messages.problem.body: line 1 of the template",
        ),
        (
            "messages:\n  problems.body: x\n",
            "\"problems.body\" is not a message template name",
        ),
        (
            "messages:\n  nowhere/down.text: x\n",
            "`nowhere` is neither a channel",
        ),
        (
            "public_url: hbd.example.org\n",
            "public_url: \"hbd.example.org\" is not an http:// or https:// URL",
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let messages = dir.path().join("messages");
    std::fs::create_dir_all(messages.join("email")).unwrap();
    std::fs::write(messages.join("down.subject.hbs"), "{{host}} is down").unwrap();
    std::fs::write(messages.join("email/up.body.hbs"), "fine\n{{#each}}\n").unwrap();
    let text = format!("templates_dir: {}\n", dir.path().display());
    let got = problems(&text);
    let file = messages.join("email/up.body.hbs").display().to_string();
    assert!(
        got.iter()
            // The block opened on line 2 is still open where the file ends.
            .any(|p| p.contains("templates_dir") && p.contains(&file) && p.contains("line 3")),
        "{got:?}"
    );
    std::fs::remove_file(messages.join("email/up.body.hbs")).unwrap();
    let loaded = parse(&text, Some(Path::new("hbd.yaml"))).unwrap();
    assert_eq!(
        loaded
            .config
            .notify
            .messages
            .get("down.subject")
            .map(String::as_str),
        Some("{{host}} is down")
    );
}
