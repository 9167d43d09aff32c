//! End to end: an HA pair of daemons with one notifier, coordinated through a real
//! PostgreSQL, mail caught by a real SMTP server (aiosmtpd), and a real agent sending
//! every datagram to both. The leader killed with SIGKILL: exactly one CRITICAL and one
//! RECOVERED mail in all. The leader frozen past its lease and resumed: nothing from it
//! after the takeover. PostgreSQL stopped: both tell, each tagged. Against a real BIND
//! 9: only the leader writes records, and a new leader makes every record current.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use hbd_e2e::needs::Need;
use std::path::Path;
use std::time::Duration;

use hbd_e2e::services::{Bind, Postgres, SmtpCapture};
use hbd_e2e::{Agent, Daemon, send_datagram, wait_until};
use nix::sys::signal::Signal;

const CRITICAL: &str = "CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0";
const RECOVERED: &str = "RECOVERED: web1 - cpu_monitor.cpu_percent";
/// The key of `app1`, the host the command test runs an agent as.
const APP_KEY: &str = "the key of app1, shared with the pair";

fn start(dir: &Path, node: &str, pg: &Postgres, smtp: &SmtpCapture, fail_open: &str) -> Daemon {
    start_with(dir, node, pg, smtp, fail_open, "")
}

/// As [`start`], with more config (top-level keys).
fn start_with(
    dir: &Path,
    node: &str,
    pg: &Postgres,
    smtp: &SmtpCapture,
    fail_open: &str,
    extra: &str,
) -> Daemon {
    let dir = dir.join(node);
    std::fs::create_dir_all(&dir).unwrap();
    Daemon::start(
        &dir,
        &format!(
            "{}{}ha:\n  postgres: '{}'\n  node: {node}\n  lease: 3s\n  renew: 0.5s\n  fail_open_after: {fail_open}\n\
             hosts:\n  app1: {{key: '{APP_KEY}'}}\n{extra}",
            hbd_e2e::CPU_THRESHOLDS,
            smtp.email_yaml(),
            pg.conninfo(),
        ),
    )
}

/// A pair: `a` leads, `b` stands by; both have heard web1 at 50 %, OK.
struct Pair {
    a: Daemon,
    b: Daemon,
    smtp: SmtpCapture,
    pg: Postgres,
}

fn pair(dir: &Path, fail_open: &str) -> Pair {
    let pg = Postgres::start(dir);
    let smtp = SmtpCapture::start(dir, &[]);
    let a = start(dir, "a", &pg, &smtp, fail_open);
    assert!(
        wait_until(Duration::from_secs(15), || leads(&a)),
        "{}",
        a.log()
    );
    let b = start(dir, "b", &pg, &smtp, fail_open);
    assert!(wait_until(Duration::from_secs(15), || b
        .metric("hbd_coordination_up")
        == 1.0));
    cpu(&[&a, &b], 50.0);
    assert!(wait_until(Duration::from_secs(5), || alert_level(&a)
        .is_some()
        && alert_level(&b).is_some()));
    Pair { a, b, smtp, pg }
}

/// The same report to both daemons, as an agent with `servers: [a, b]` sends it.
fn cpu(daemons: &[&Daemon], value: f64) {
    let json = format!(
        r#"{{"ID":"PLG","name":"web1","plugin":"cpu_monitor","kind":"monitor","data":{{"cpu_percent":{value}}}}}"#
    );
    for d in daemons {
        send_datagram(d.udp_addr(), json.as_bytes());
    }
}

/// Kills the leader `a` with SIGKILL and waits until `b` leads in its place.
fn kill_leader(a: &mut Daemon, b: &Daemon) {
    a.stop(Signal::SIGKILL);
    assert!(
        wait_until(Duration::from_secs(15), || leads(b)),
        "the standby did not take over: {}",
        b.log()
    );
}

/// Freezes the leader `a` (SIGSTOP); `b` takes over, and web1's CRITICAL, sent to both,
/// is told once, by `b`.
fn freeze_a_and_let_b_tell_the_critical(a: &Daemon, b: &Daemon, smtp: &SmtpCapture) {
    a.signal(Signal::SIGSTOP);
    assert!(
        wait_until(Duration::from_secs(15), || leads(b)),
        "the standby did not take over from a frozen leader: {}",
        b.log()
    );
    cpu(&[a, b], 95.0);
    assert!(
        wait_until(Duration::from_secs(15), || count(smtp, CRITICAL) == 1),
        "{:?}",
        smtp.subjects()
    );
}

fn leads(d: &Daemon) -> bool {
    d.metric("hbd_ha_leader") == 1.0 && d.metric("hbd_coordination_up") == 1.0
}

fn count(smtp: &SmtpCapture, what: &str) -> usize {
    smtp.subjects().iter().filter(|s| s.contains(what)).count()
}

fn alert_level(d: &Daemon) -> Option<String> {
    let (_, body) = d.get("/api/0/hosts/web1/alerts")?;
    let alerts: serde_json::Value = serde_json::from_str(&body).ok()?;
    alerts
        .as_array()?
        .iter()
        .find(|a| a["path"] == "cpu_monitor.cpu_percent")
        .and_then(|a| a["level"].as_str().map(str::to_owned))
}

#[test]
fn a_killed_leader_is_replaced_and_each_change_is_told_exactly_once() {
    hbd_e2e::require!(Need::Postgres, Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let Pair { mut a, b, smtp, pg } = pair(dir.path(), "60s");
    assert_eq!(b.metric("hbd_ha_leader"), 0.0);

    // A real agent sends to both daemons; each measures its own round trip.
    let agent = Agent::start_to_all(
        dir.path(),
        "web1",
        &[a.udp_addr(), b.udp_addr()],
        // Its own cpu_monitor would report this machine's real load, which the
        // thresholds would judge: the test sends the values it needs itself.
        "interval: 0.3\nplugins: {cpu_monitor: {enabled: false}}",
    );
    for d in [&a, &b] {
        assert!(
            wait_until(Duration::from_secs(15), || {
                d.host("web1")
                    .is_some_and(|h| h["state"] == "UP" && h["last_rtt_ms"].is_number())
            }),
            "{:?}\n{}",
            d.host("web1"),
            agent.log()
        );
    }

    cpu(&[&a, &b], 95.0);
    assert!(
        wait_until(Duration::from_secs(15), || count(&smtp, CRITICAL) == 1),
        "{:?}",
        smtp.subjects()
    );
    // The standby evaluated the same alert, and holds it: the leader told it.
    assert!(wait_until(Duration::from_secs(5), || alert_level(&b)
        .as_deref()
        == Some("CRITICAL")));

    kill_leader(&mut a, &b);
    let epoch = pg.query("SELECT epoch FROM hbd_lease WHERE name = 'alerts/default'");
    assert_eq!(epoch, [["2"]], "a new leader, a new epoch");
    // It took over what A told: the CRITICAL is not told again.
    cpu(&[&b], 50.0);
    assert!(
        wait_until(Duration::from_secs(15), || count(&smtp, RECOVERED) == 1),
        "{:?}",
        smtp.subjects()
    );
    assert!(
        wait_until(Duration::from_secs(5), || b
            .metric("hbd_notifications_sent_total{channel=\"email\"}")
            >= b.metric("hbd_ha_messages_total{outcome=\"claimed\"}")),
        "every message B claimed was sent"
    );
    assert_eq!(count(&smtp, CRITICAL), 1, "{:?}", smtp.subjects());
    assert_eq!(count(&smtp, RECOVERED), 1, "{:?}", smtp.subjects());
    assert_eq!(b.metric("hbd_ha_messages_total{outcome=\"claimed\"}"), 1.0);
    // What the pair told is on record, by whom and in which epoch.
    let told = pg.query(
        "SELECT level, holder, epoch FROM hbd_told WHERE host = 'web1' AND path = 'cpu_monitor.cpu_percent'",
    );
    assert_eq!(told, [["OK", "b", "2"]]);
}

#[test]
fn a_frozen_leader_resumed_after_the_takeover_tells_nothing() {
    hbd_e2e::require!(Need::Postgres, Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let Pair { a, b, smtp, pg } = pair(dir.path(), "60s");
    // The new host is told (by A, the leader), claimed first.
    assert!(wait_until(Duration::from_secs(10), || count(
        &smtp,
        "NEW HOST: web1"
    ) == 1));
    let claimed_before = a.metric("hbd_ha_messages_total{outcome=\"claimed\"}");
    assert_eq!(claimed_before, 1.0);

    // The change arrives while A is frozen: its datagram waits in A's socket.
    freeze_a_and_let_b_tell_the_critical(&a, &b, &smtp);
    a.signal(Signal::SIGCONT);
    // A wakes, evaluates the same CRITICAL and learns it no longer leads; it claims
    // nothing more, so it sends nothing.
    assert!(wait_until(Duration::from_secs(15), || alert_level(&a)
        .as_deref()
        == Some("CRITICAL")));
    assert!(
        wait_until(Duration::from_secs(15), || a.metric("hbd_ha_leader") == 0.0
            && a.metric("hbd_coordination_up") == 1.0),
        "{}",
        a.log()
    );
    assert_eq!(
        a.metric("hbd_ha_messages_total{outcome=\"claimed\"}"),
        claimed_before,
        "the old leader claimed (and so sent) something after the takeover"
    );
    assert_eq!(count(&smtp, CRITICAL), 1, "{:?}", smtp.subjects());
    // The log of claims: nothing of epoch 1 after the first of epoch 2.
    let late = pg.query(
        "SELECT count(*) FROM hbd_sent WHERE epoch = 1 AND id > (SELECT min(id) FROM hbd_sent WHERE epoch = 2)",
    );
    assert_eq!(late, [["0"]]);
}

#[test]
fn with_postgresql_down_both_daemons_tell_each_tagged() {
    hbd_e2e::require!(Need::Postgres, Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let Pair { a, b, smtp, pg } = pair(dir.path(), "3s");
    pg.stop();
    for d in [&a, &b] {
        assert!(
            wait_until(Duration::from_secs(20), || d.metric("hbd_coordination_up")
                == 0.0
                && d.metric("hbd_ha_leader") == 1.0),
            "did not fail open: {}",
            d.log()
        );
    }
    cpu(&[&a, &b], 95.0);
    assert!(
        wait_until(Duration::from_secs(15), || count(&smtp, CRITICAL) == 2),
        "{:?}",
        smtp.subjects()
    );
    for node in ["a", "b"] {
        let tag = format!("[{node}, coordination down]");
        assert_eq!(
            smtp.subjects()
                .iter()
                .filter(|s| s.contains(&tag) && s.contains(CRITICAL))
                .count(),
            1,
            "{:?}",
            smtp.subjects()
        );
    }
}

/// A cpu report of `host` to each of `daemons`.
fn cpu_of(daemons: &[&Daemon], host: &str, value: f64) {
    let json = format!(
        r#"{{"ID":"PLG","name":"{host}","plugin":"cpu_monitor","kind":"monitor","data":{{"cpu_percent":{value}}}}}"#
    );
    for d in daemons {
        send_datagram(d.udp_addr(), json.as_bytes());
    }
}

/// Subjects that contain every one of `parts`.
fn mails(smtp: &SmtpCapture, parts: &[&str]) -> Vec<String> {
    smtp.subjects()
        .into_iter()
        .filter(|s| parts.iter().all(|p| s.contains(p)))
        .collect()
}

/// Waits until both daemons tell on their own (coordination down).
fn both_fail_open(a: &Daemon, b: &Daemon) {
    for d in [a, b] {
        assert!(
            wait_until(Duration::from_secs(20), || d.metric("hbd_coordination_up")
                == 0.0
                && d.metric("hbd_ha_leader") == 1.0),
            "did not fail open: {}",
            d.log()
        );
    }
}

#[test]
fn after_postgresql_returns_a_recovery_is_told_once_by_the_leader() {
    hbd_e2e::require!(Need::Postgres, Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let Pair { a, b, smtp, pg } = pair(dir.path(), "3s");
    pg.stop();
    both_fail_open(&a, &b);
    // Both tell the CRITICAL on their own, tagged (fail-open: duplicates, never silence).
    cpu(&[&a, &b], 95.0);
    assert!(
        wait_until(Duration::from_secs(15), || count(&smtp, CRITICAL) == 2),
        "{:?}",
        smtp.subjects()
    );
    pg.start_again();
    // One leads, the other stands by, and what each told on its own is on record.
    assert!(
        wait_until(Duration::from_secs(20), || {
            let up = [&a, &b]
                .iter()
                .all(|d| d.metric("hbd_coordination_up") == 1.0);
            let leaders = a.metric("hbd_ha_leader") + b.metric("hbd_ha_leader");
            up && leaders == 1.0
        }),
        "no single leader after PostgreSQL came back:\n{}\n{}",
        a.log(),
        b.log()
    );
    let record = || {
        pg.query(
            "SELECT level, epoch FROM hbd_told WHERE host = 'web1' AND path = 'cpu_monitor.cpu_percent'",
        )
    };
    assert!(
        wait_until(Duration::from_secs(10), || record() == [["CRITICAL", "0"]]),
        "the CRITICAL told while coordination was down is not on record: {:?}",
        record()
    );
    let (leader, standby) = if a.metric("hbd_ha_leader") == 1.0 {
        (&a, &b)
    } else {
        (&b, &a)
    };
    // The host recovers: the leader tells it, once, untagged; the standby holds it.
    cpu(&[&a, &b], 50.0);
    assert!(
        wait_until(Duration::from_secs(15), || count(&smtp, RECOVERED) >= 1),
        "the RECOVERED was lost: {:?}\nleader's log:\n{}",
        smtp.subjects(),
        leader.log()
    );
    assert!(wait_until(Duration::from_secs(5), || alert_level(standby)
        .as_deref()
        == Some("OK")));
    // The standby has evaluated the recovery; give both one more change to tell, so the
    // count below is taken after each has had its say.
    cpu_of(&[&a, &b], "web2", 95.0);
    assert!(
        wait_until(Duration::from_secs(15), || mails(
            &smtp,
            &["CRITICAL: web2"]
        )
        .len()
            == 1),
        "{:?}",
        smtp.subjects()
    );
    assert_eq!(count(&smtp, RECOVERED), 1, "{:?}", smtp.subjects());
    assert_eq!(
        mails(&smtp, &[RECOVERED, "coordination down"]),
        Vec::<String>::new(),
        "the RECOVERED is the leader's, untagged"
    );
    assert_eq!(
        count(&smtp, CRITICAL),
        2,
        "nothing told twice: {:?}",
        smtp.subjects()
    );
    let record = pg.query(
        "SELECT level FROM hbd_told WHERE host = 'web1' AND path = 'cpu_monitor.cpu_percent'",
    );
    assert_eq!(record, [["OK"]]);
}

#[test]
fn a_standby_failing_open_tells_no_recovery_of_an_episode_another_closed() {
    hbd_e2e::require!(Need::Postgres, Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let Pair { a, b, smtp, pg } = pair(dir.path(), "3s");
    // An open problem A tells while it leads.
    cpu_of(&[&a, &b], "web2", 95.0);
    assert!(
        wait_until(Duration::from_secs(15), || mails(
            &smtp,
            &["CRITICAL: web2"]
        )
        .len()
            == 1),
        "{:?}",
        smtp.subjects()
    );
    // A freezes; B takes over and tells web1's CRITICAL.
    freeze_a_and_let_b_tell_the_critical(&a, &b, &smtp);
    // A resumes: its claim for the same CRITICAL is fenced, and it stands by.
    a.signal(Signal::SIGCONT);
    assert!(
        wait_until(Duration::from_secs(15), || alert_level(&a).as_deref()
            == Some("CRITICAL")
            && a.metric("hbd_ha_leader") == 0.0
            && a.metric("hbd_coordination_up") == 1.0),
        "{}",
        a.log()
    );
    // web1 recovers: B tells it.
    cpu(&[&a, &b], 50.0);
    assert!(
        wait_until(Duration::from_secs(15), || count(&smtp, RECOVERED) == 1),
        "{:?}",
        smtp.subjects()
    );
    assert!(wait_until(Duration::from_secs(5), || alert_level(&a)
        .as_deref()
        == Some("OK")));
    // Coordination goes down: both tell on their own.
    pg.stop();
    both_fail_open(&a, &b);
    // A, a standby failing open, re-tells the open problem (rule 4); B, which led, does
    // not.
    assert!(
        wait_until(Duration::from_secs(15), || mails(
            &smtp,
            &["[a, coordination down]", "CRITICAL: web2"]
        )
        .len()
            == 1),
        "{:?}",
        smtp.subjects()
    );
    // One more change, told by both on their own: each has taken its new role by then.
    cpu_of(&[&a, &b], "web3", 95.0);
    assert!(
        wait_until(Duration::from_secs(15), || mails(
            &smtp,
            &["CRITICAL: web3"]
        )
        .len()
            == 2),
        "{:?}",
        smtp.subjects()
    );
    assert_eq!(
        mails(&smtp, &["coordination down", "RECOVERED"]),
        Vec::<String>::new(),
        "a RECOVERED of an episode already closed"
    );
    assert_eq!(count(&smtp, RECOVERED), 1, "{:?}", smtp.subjects());
    assert_eq!(count(&smtp, CRITICAL), 1, "{:?}", smtp.subjects());
    assert_eq!(
        mails(&smtp, &["[b, coordination down]", "web2"]),
        Vec::<String>::new(),
        "the daemon that led told web2 already"
    );
}

#[test]
fn a_command_queued_on_either_daemon_is_sent_by_the_leader_even_after_its_daemon_died() {
    hbd_e2e::require!(Need::Postgres, Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let Pair {
        mut a,
        b,
        pg,
        smtp: _smtp,
    } = pair(dir.path(), "60s");
    let agent = Agent::start_to_all(
        dir.path(),
        "app1",
        &[a.udp_addr(), b.udp_addr()],
        &format!(
            "interval: 0.3\nkey: '{APP_KEY}'\nplugins: {{cpu_monitor: {{enabled: false}}}}\ncommands:\n  allow: [/bin/echo]\n  ledger: {}\n",
            dir.path().join("ledger.json").display()
        ),
    );
    for d in [&a, &b] {
        assert!(
            wait_until(Duration::from_secs(15), || d.host_state("app1").as_deref()
                == Some("UP")),
            "{}",
            agent.log()
        );
    }
    let queue = |d: &Daemon, word: &str| -> String {
        let body = format!(r#"{{"argv":["/bin/echo","{word}"],"timeout":5}}"#);
        let r = d.call(
            "POST",
            "/api/0/hosts/app1/commands",
            &[("Content-Type", "application/json")],
            Some(&body),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["id"].as_str().unwrap().to_owned()
    };
    // The command as `d` knows it (null until it does).
    let command = |d: &Daemon, id: &str| {
        d.get(&format!("/api/0/hosts/app1/commands/{id}"))
            .filter(|(status, _)| *status == 200)
            .map_or(serde_json::Value::Null, |(_, body)| {
                serde_json::from_str(&body).unwrap()
            })
    };
    let state = |d: &Daemon, id: &str| command(d, id)["state"].as_str().unwrap_or("").to_owned();
    // Commands the agent recorded running with `word` in their output.
    let ran = |word: &str| {
        let ledger = std::fs::read_to_string(dir.path().join("ledger.json")).unwrap_or_default();
        ledger.matches(word).count()
    };

    // A command the queue has kept past any command's life (8 days) is removed.
    pg.query(
        "INSERT INTO hbd_jobs (shard, id, job, at) VALUES ('default', 'ancient', '{}', now() - interval '9 days')",
    );
    assert!(
        wait_until(Duration::from_secs(10), || pg
            .query("SELECT count(*) FROM hbd_jobs WHERE id = 'ancient'")
            == [["0"]]),
        "the leader did not prune the shared queue: {}",
        a.log()
    );

    // Queued on the standby: the leader takes it from the pair's queue and sends it;
    // the agent's result reaches both.
    let on_b = queue(&b, "from-b");
    for d in [&a, &b] {
        assert!(
            wait_until(Duration::from_secs(15), || state(d, &on_b) == "done"),
            "{}\n{}",
            command(d, &on_b),
            agent.log()
        );
    }
    assert!(
        command(&b, &on_b)["output"]
            .as_str()
            .unwrap_or("")
            .contains("from-b")
    );
    assert_eq!(ran("from-b"), 1, "run once");

    // Queued on the leader while the agent is silent, so it cannot be sent yet; the
    // standby has it from the pair's queue. The leader dies; the agent speaks again.
    agent.signal(Signal::SIGSTOP);
    let on_a = queue(&a, "from-a");
    assert!(
        wait_until(Duration::from_secs(15), || state(&b, &on_a) == "queued"),
        "the standby never had it: {}",
        b.log()
    );
    assert_eq!(
        pg.query(&format!(
            "SELECT count(*) FROM hbd_jobs WHERE id = '{on_a}'"
        )),
        [["1"]]
    );
    kill_leader(&mut a, &b);
    agent.signal(Signal::SIGCONT);
    assert!(
        wait_until(Duration::from_secs(15), || state(&b, &on_a) == "done"),
        "the new leader did not send it: {}\n{}",
        command(&b, &on_a),
        agent.log()
    );
    let done = command(&b, &on_a);
    assert_eq!(done["exit_code"], 0, "{done}");
    assert!(
        done["output"].as_str().unwrap_or("").contains("from-a"),
        "{done}"
    );
}

/// A heartbeat for `host` from the loopback address `ip` to each of `daemons`.
fn heartbeat_from(daemons: &[&Daemon], host: &str, ip: &str) {
    let socket = std::net::UdpSocket::bind((ip, 0)).unwrap();
    let message = format!(r#"{{"ID":"HTB","name":"{host}","interval":60}}"#);
    for d in daemons {
        socket.send_to(message.as_bytes(), d.udp_addr()).unwrap();
    }
}

#[test]
fn only_the_leader_writes_dns_and_a_new_leader_makes_every_record_current() {
    hbd_e2e::require!(Need::Postgres, Need::TestPython, Need::Bind);
    let dir = tempfile::tempdir().unwrap();
    let bind = Bind::start(dir.path());
    let pg = Postgres::start(dir.path());
    let smtp = SmtpCapture::start(dir.path(), &[]);
    let dns = format!(
        "dyndomains:\n  example.test: {{server: 127.0.0.1, port: {}, key_file: {}, ttl: 30, all_hosts: true, timeout: 2}}\n",
        bind.port,
        bind.key_file.display()
    );
    let mut a = start_with(dir.path(), "a", &pg, &smtp, "60s", &dns);
    assert!(
        wait_until(Duration::from_secs(15), || leads(&a)),
        "{}",
        a.log()
    );
    let b = start_with(dir.path(), "b", &pg, &smtp, "60s", &dns);
    assert!(wait_until(Duration::from_secs(15), || b
        .metric("hbd_coordination_up")
        == 1.0));
    let updates = |d: &Daemon| d.metric("hbd_dns_updates_total");
    // BIND answers `name`'s A record with `ip` within 20 s.
    let resolves =
        |name: &str, ip: &str| wait_until(Duration::from_secs(20), || bind.lookup(name, "A") == ip);

    // web2 reaches only the standby (say, a route to the leader is down); web1 both.
    heartbeat_from(&[&b], "web2", "127.0.0.4");
    assert!(wait_until(Duration::from_secs(10), || b
        .host_state("web2")
        .as_deref()
        == Some("UP")));
    heartbeat_from(&[&a, &b], "web1", "127.0.0.2");
    assert!(
        resolves("web1.example.test", "127.0.0.2"),
        "the leader did not write web1: {}",
        a.log()
    );
    assert!(wait_until(Duration::from_secs(10), || b
        .host_state("web1")
        .as_deref()
        == Some("UP")));
    // The leader counts its write once nsupdate has ended (BIND may answer a moment
    // before); the standby knows both hosts and their addresses, and wrote neither.
    assert!(
        wait_until(Duration::from_secs(10), || updates(&a) >= 1.0),
        "{}",
        a.log()
    );
    assert_eq!(updates(&b), 0.0, "the standby wrote DNS: {}", b.log());
    assert_eq!(bind.lookup("web2.example.test", "A"), "");

    // The leader dies: the new one writes what it knows, web2 included, and from then on
    // follows addresses itself.
    kill_leader(&mut a, &b);
    assert!(
        resolves("web2.example.test", "127.0.0.4"),
        "the new leader did not make web2 current: {}",
        b.log()
    );
    heartbeat_from(&[&b], "web1", "127.0.0.3");
    assert!(
        resolves("web1.example.test", "127.0.0.3"),
        "the new leader does not follow web1: {}",
        b.log()
    );
    assert!(
        wait_until(Duration::from_secs(10), || updates(&b) >= 2.0),
        "{}",
        b.log()
    );
}

/// The policy's decisions of `d` holding a REMINDER because it is acknowledged.
fn reminders_held_for_ack(d: &Daemon) -> usize {
    d.journal("POLICY")
        .iter()
        .filter(|m| m["reason"] == "acknowledged" && m["what"] == "REMINDER")
        .count()
}

fn acks_of(d: &Daemon) -> serde_json::Value {
    d.get_json("/api/0/acks")
}

/// An acknowledgement made on the standby holds on the leader too, whose reminders
/// stop; taken back on the leader, it is gone from the standby as well.
#[test]
fn an_acknowledgement_made_on_either_daemon_holds_on_both() {
    hbd_e2e::require!(Need::Postgres, Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let pg = Postgres::start(dir.path());
    let smtp = SmtpCapture::start(dir.path(), &[]);
    let extra = "threshold_renotify_interval: 1\n";
    let a = start_with(dir.path(), "a", &pg, &smtp, "60s", extra);
    assert!(
        wait_until(Duration::from_secs(15), || leads(&a)),
        "{}",
        a.log()
    );
    let b = start_with(dir.path(), "b", &pg, &smtp, "60s", extra);
    assert!(wait_until(Duration::from_secs(15), || b
        .metric("hbd_coordination_up")
        == 1.0));
    cpu(&[&a, &b], 95.0);
    assert!(
        wait_until(Duration::from_secs(15), || count(&smtp, "REMINDER") >= 1),
        "{:?}",
        smtp.subjects()
    );

    let path = "cpu_monitor.cpu_percent";
    let acked = b.call(
        "POST",
        "/api/0/hosts/web1/ack",
        &[("Content-Type", "application/json")],
        Some(&format!(
            r#"{{"path": "{path}", "comment": "fan on order"}}"#
        )),
    );
    assert_eq!(acked.status, 200, "{}", acked.body);
    assert!(
        wait_until(Duration::from_secs(15), || acks_of(&a)[0]["comment"]
            == "fan on order"),
        "{}\n{}",
        acks_of(&a),
        a.log()
    );
    assert_eq!(acks_of(&a)[0]["path"], path);
    // The leader now holds its reminders, because of the acknowledgement.
    assert!(
        wait_until(Duration::from_secs(10), || reminders_held_for_ack(&a) >= 1),
        "{}",
        a.log()
    );
    let reminders = count(&smtp, "REMINDER");
    assert!(
        wait_until(Duration::from_secs(10), || reminders_held_for_ack(&a) >= 3),
        "{}",
        a.log()
    );
    assert_eq!(
        count(&smtp, "REMINDER"),
        reminders,
        "no reminder told while acknowledged"
    );

    // Taken back on the leader: gone from the standby too, and reminders resume.
    let withdrawn = a.call(
        "DELETE",
        &format!("/api/0/hosts/web1/ack?path={path}"),
        &[],
        None,
    );
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.body);
    assert!(
        wait_until(Duration::from_secs(15), || acks_of(&b)
            .as_array()
            .is_some_and(Vec::is_empty)),
        "{}",
        acks_of(&b)
    );
    assert!(
        wait_until(Duration::from_secs(15), || count(&smtp, "REMINDER")
            > reminders),
        "{:?}",
        smtp.subjects()
    );
}
