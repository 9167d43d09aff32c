//! The policy with synthetic time: what is told, held and told late.

use std::time::Duration;

use super::*;
use crate::alerting::{Level, Notice, NoticeKind};
use crate::clock::{Mono, Now, Timestamp};
use crate::core::{Event, EventKind};

/// Saturday 2026-11-28 02:30 UTC.
const SAT_0230: u64 = 1_795_833_000_000;

fn at(s: u64) -> Now {
    Now {
        wall: Timestamp(SAT_0230 + s * 1000),
        mono: Mono(s * 1000),
    }
}

fn down(host: &str, s: u64) -> Event {
    Event {
        host: host.into(),
        at: at(s).wall,
        kind: EventKind::Down {
            silent_for_s: Duration::from_secs(30),
        },
    }
}

fn up(host: &str, s: u64) -> Event {
    Event {
        host: host.into(),
        at: at(s).wall,
        kind: EventKind::Up {
            down_for_s: Some(Duration::from_secs(60)),
        },
    }
}

fn notice(kind: NoticeKind, from: Level, to: Level, s: u64) -> Notice {
    Notice {
        host: "web1".into(),
        path: "cpu.percent".into(),
        kind,
        from,
        to,
        value: Some(95.0),
        detail: None,
        threshold: Some(90.0),
        operator: None,
        since: at(s).wall,
        at: at(s).wall,
    }
}

fn silence(id: &str, hosts: &str, paths: Option<&str>, from: u64, to: u64) -> Silence {
    Silence {
        id: id.into(),
        hosts: hosts.into(),
        paths: paths.map(Into::into),
        only: None,
        starts: at(from).wall,
        ends: at(to).wall,
        comment: "patching".into(),
        author: "alice".into(),
        created: at(from).wall,
    }
}

/// The texts sent and the verdicts given, in order.
fn drain(p: &mut Policy) -> (Vec<String>, Vec<String>) {
    let mut sent = Vec::new();
    let mut verdicts = Vec::new();
    for out in p.take() {
        match out {
            Out::Notify(ns) => sent.push(crate::render::group_text(
                &ns.iter()
                    .filter_map(crate::render::text)
                    .collect::<Vec<_>>(),
            )),
            Out::Decision(d) => {
                let v = serde_json::to_value(&d.verdict).unwrap_or_default();
                let reason = v.get("reason").and_then(|r| r.as_str()).unwrap_or("");
                verdicts.push(format!(
                    "{} {} {}{}",
                    d.host,
                    d.what,
                    v["verdict"].as_str().unwrap_or("?"),
                    if reason.is_empty() {
                        String::new()
                    } else {
                        format!(" ({reason})")
                    }
                ));
            }
        }
    }
    (sent, verdicts)
}

fn plain() -> Policy {
    Policy::new(Settings {
        storm: StormSettings {
            window: Duration::from_secs(60),
            threshold: 0,
        },
        ..Settings::default()
    })
}

#[test]
fn without_holds_every_change_is_told() {
    let mut p = plain();
    p.on_event(&down("web1", 0), at(0));
    p.on_event(&up("web1", 60), at(60));
    let (sent, verdicts) = drain(&mut p);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent[0].starts_with("DOWN: web1"), "{sent:?}");
    assert!(sent[1].starts_with("UP: web1"), "{sent:?}");
    assert_eq!(verdicts, ["web1 DOWN notified", "web1 UP notified"]);
}

#[test]
fn a_host_down_and_back_within_a_silence_sends_nothing() {
    let mut p = plain();
    p.put_silence(silence("s1", "web*", None, 0, 600), at(0))
        .expect("silence");
    p.on_event(&down("web1", 10), at(10));
    p.on_event(&up("web1", 70), at(70));
    p.on_tick(at(600));
    let (sent, verdicts) = drain(&mut p);
    assert!(sent.is_empty(), "{sent:?}");
    assert_eq!(
        verdicts,
        ["web1 DOWN held (silenced)", "web1 UP unchanged",]
    );
}

#[test]
fn what_a_silence_held_is_told_when_it_ends() {
    let mut p = plain();
    p.put_silence(silence("s1", "web1", Some("cpu.*"), 0, 600), at(0))
        .expect("silence");
    p.on_notice(
        &notice(NoticeKind::Raised, Level::Ok, Level::Warning, 10),
        Duration::ZERO,
        at(10),
    );
    p.on_notice(
        &notice(NoticeKind::Raised, Level::Warning, Level::Critical, 20),
        Duration::ZERO,
        at(20),
    );
    // The silence names paths: the host's own DOWN is not covered.
    p.on_event(&down("web1", 30), at(30));
    assert_eq!(p.next_deadline(), Some(at(600).mono));
    p.on_tick(at(599));
    let (sent, _) = drain(&mut p);
    assert_eq!(sent.len(), 1, "{sent:?}");
    p.on_tick(at(600));
    let (sent, verdicts) = drain(&mut p);
    assert_eq!(
        sent,
        ["CRITICAL: web1 - cpu.percent = 95.0"],
        "one message, from what was last told"
    );
    assert_eq!(verdicts, ["web1 CRITICAL released"]);
}

#[test]
fn a_recovery_during_a_silence_is_told_when_it_is_expired_early() {
    // Alertmanager's issue #226: the resolved message of a silenced alert is lost.
    let mut p = plain();
    p.on_notice(
        &notice(NoticeKind::Raised, Level::Ok, Level::Critical, 0),
        Duration::ZERO,
        at(0),
    );
    p.put_silence(silence("s1", "*", None, 5, 3600), at(5))
        .expect("silence");
    p.on_notice(
        &notice(NoticeKind::Recovered, Level::Critical, Level::Ok, 10),
        Duration::ZERO,
        at(10),
    );
    let (sent, _) = drain(&mut p);
    assert_eq!(sent.len(), 1, "only the raise so far: {sent:?}");
    let expired = p.expire_silence("s1", at(100)).expect("known silence");
    assert_eq!(expired.ends, at(100).wall);
    let (sent, verdicts) = drain(&mut p);
    assert_eq!(
        sent,
        ["RECOVERED: web1 - cpu.percent = 95.0 (CRITICAL -> OK)"]
    );
    assert_eq!(verdicts, ["web1 RECOVERED released"]);
    assert_eq!(p.expire_silence("nope", at(100)), None);
}

#[test]
fn a_pending_period_fires_only_if_the_level_holds() {
    let mut p = plain();
    let five_min = Duration::from_secs(300);
    p.on_notice(
        &notice(NoticeKind::Raised, Level::Ok, Level::Warning, 0),
        five_min,
        at(0),
    );
    p.on_notice(
        &notice(NoticeKind::Recovered, Level::Warning, Level::Ok, 120),
        five_min,
        at(120),
    );
    p.on_tick(at(300));
    let (sent, verdicts) = drain(&mut p);
    assert!(sent.is_empty(), "{sent:?}");
    assert_eq!(
        verdicts,
        ["web1 WARNING held (pending)", "web1 RECOVERED unchanged"]
    );
    p.on_notice(
        &notice(NoticeKind::Raised, Level::Ok, Level::Warning, 400),
        five_min,
        at(400),
    );
    p.on_notice(
        &notice(NoticeKind::Raised, Level::Warning, Level::Critical, 500),
        five_min,
        at(500),
    );
    assert_eq!(
        p.next_deadline(),
        Some(at(700).mono),
        "from the first raise"
    );
    p.on_tick(at(700));
    let (sent, _) = drain(&mut p);
    assert_eq!(sent, ["CRITICAL: web1 - cpu.percent = 95.0"]);
    // A recovery is never delayed.
    p.on_notice(
        &notice(NoticeKind::Recovered, Level::Critical, Level::Ok, 800),
        five_min,
        at(800),
    );
    let (sent, _) = drain(&mut p);
    assert_eq!(sent.len(), 1, "{sent:?}");
}

#[test]
fn flapping_replaces_single_changes_with_start_and_stop() {
    let mut p = Policy::new(Settings {
        flapping: Some(FlapSettings::default()),
        storm: StormSettings {
            window: Duration::from_secs(60),
            threshold: 0,
        },
        ..Settings::default()
    });
    let mut level = Level::Ok;
    let mut s = 0;
    // Alternate every check: each change is one more weighted step.
    for _ in 0..8 {
        s += 10;
        let next = if level == Level::Ok {
            Level::Critical
        } else {
            Level::Ok
        };
        let kind = if next == Level::Ok {
            NoticeKind::Recovered
        } else {
            NoticeKind::Raised
        };
        p.observe("web1", Some("cpu.percent"), next, at(s));
        p.on_notice(&notice(kind, level, next, s), Duration::ZERO, at(s));
        level = next;
    }
    let (sent, verdicts) = drain(&mut p);
    let start = sent
        .iter()
        .position(|t| t.starts_with("FLAPPING START: web1 - cpu.percent"))
        .expect("FLAPPING START sent");
    assert!(start >= 2, "a few changes are told before: {sent:?}");
    assert_eq!(sent.len(), start + 1, "nothing after the start: {sent:?}");
    assert!(
        verdicts.iter().any(|v| v.ends_with("held (flapping)")),
        "{verdicts:?}"
    );
    // It settles CRITICAL (the last alternation ended OK: make it CRITICAL and hold).
    s += 10;
    p.observe("web1", Some("cpu.percent"), Level::Critical, at(s));
    p.on_notice(
        &notice(NoticeKind::Raised, Level::Ok, Level::Critical, s),
        Duration::ZERO,
        at(s),
    );
    for _ in 0..21 {
        s += 10;
        p.observe("web1", Some("cpu.percent"), Level::Critical, at(s));
    }
    let (sent, _) = drain(&mut p);
    let stop = sent
        .iter()
        .position(|t| t.starts_with("FLAPPING STOP: web1 - cpu.percent"))
        .expect("FLAPPING STOP sent");
    let told_before_stop = sent[..stop].len();
    assert_eq!(told_before_stop, 0, "{sent:?}");
    // What was last told decides the late message.
    let last_told_ok = start % 2 == 0; // the raises and recoveries alternate from OK
    if last_told_ok {
        assert_eq!(
            sent.get(stop + 1).map(String::as_str),
            Some("CRITICAL: web1 - cpu.percent = 95.0"),
            "{sent:?}"
        );
    } else {
        assert_eq!(sent.len(), stop + 1, "already told CRITICAL: {sent:?}");
    }
}

#[test]
fn a_storm_is_grouped_into_one_message() {
    let mut p = Policy::new(Settings {
        storm: StormSettings {
            window: Duration::from_secs(60),
            threshold: 3,
        },
        ..Settings::default()
    });
    for i in 0..200 {
        p.on_event(&down(&format!("h{i:03}"), 1), at(1));
    }
    let (sent, verdicts) = drain(&mut p);
    assert_eq!(sent.len(), 3, "the first three go out alone");
    assert_eq!(
        verdicts.iter().filter(|v| v.ends_with("grouped")).count(),
        197
    );
    assert_eq!(p.next_deadline(), Some(at(61).mono));
    p.on_tick(at(61));
    let (sent, _) = drain(&mut p);
    assert_eq!(sent.len(), 1, "one grouped message");
    assert!(sent[0].starts_with("STORM: 197 notifications grouped\n- DOWN: h003"));
    assert_eq!(sent[0].lines().count(), 52, "50 listed, and how many more");
    assert!(sent[0].ends_with("... and 147 more (GET /api/0/storms lists every one)"));
    let storms = p.storms();
    assert_eq!(storms.len(), 1);
    assert_eq!(storms[0].count, 197);
    assert_eq!(storms[0].hosts.len(), 197);
    // Calm again: one event goes out alone.
    p.on_event(&up("h000", 200), at(200));
    let (sent, _) = drain(&mut p);
    assert_eq!(sent.len(), 1);
}

#[test]
fn a_maintenance_window_holds_by_name_or_profile_and_releases_at_its_end() {
    let cfg = |hosts: &[&str], profiles: &[&str]| window::WindowConfig {
        hosts: hosts.iter().map(|s| s.to_string()).collect(),
        profiles: profiles.iter().map(|s| s.to_string()).collect(),
        groups: vec![],
        paths: None,
        days: vec![6], // Saturday
        start_minute: 2 * 60,
        duration: Duration::from_secs(2 * 3600),
        time_zone: Some("UTC".into()),
    };
    let windows = vec![
        Window::new("backups", &cfg(&["db*"], &[])).expect("window"),
        Window::new("web", &cfg(&[], &["webservers"])).expect("window"),
    ];
    let profiles = [("web1".to_owned(), vec!["webservers".to_owned()])].into();
    let mut p = Policy::new(Settings {
        windows,
        profiles,
        storm: StormSettings {
            window: Duration::from_secs(60),
            threshold: 0,
        },
        ..Settings::default()
    });
    // 02:30: inside both; the window ends at 04:00, 5400 s later.
    p.on_event(&down("db1", 0), at(0));
    p.on_event(&down("web1", 0), at(0));
    p.on_event(&down("mail1", 0), at(0));
    let (sent, verdicts) = drain(&mut p);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].starts_with("DOWN: mail1"));
    assert_eq!(
        verdicts[..2],
        [
            "db1 DOWN held (maintenance)",
            "web1 DOWN held (maintenance)"
        ]
    );
    assert_eq!(p.next_deadline(), Some(at(5400).mono));
    p.on_event(&up("web1", 100), at(100));
    p.on_tick(at(5400));
    let (sent, _) = drain(&mut p);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].starts_with("DOWN: db1"), "{sent:?}");
}

#[test]
fn window_occurrences_follow_the_time_zone() {
    let c = window::WindowConfig {
        hosts: vec!["*".into()],
        profiles: vec![],
        groups: vec![],
        paths: None,
        days: vec![6],
        start_minute: 3 * 60 + 30,
        duration: Duration::from_secs(3600),
        time_zone: Some("Europe/Berlin".into()),
    };
    let w = Window::new("w", &c).expect("window");
    // 02:30 UTC is 03:30 in Berlin (UTC+1 in November): open until 04:30 Berlin.
    assert_eq!(w.open_until(at(0).wall), Some(at(3600).wall));
    assert_eq!(w.open_until(at(3600).wall), None);
    let bad = window::WindowConfig {
        time_zone: Some("Mars/Olympus".into()),
        ..c
    };
    assert!(Window::new("w", &bad).is_err());
}

#[test]
fn an_unreachable_host_is_not_told() {
    let mut p = plain();
    p.on_event(
        &Event {
            host: "web1".into(),
            at: at(0).wall,
            kind: EventKind::Unreachable {
                parent: "switch1".into(),
            },
        },
        at(0),
    );
    p.on_notice(
        &notice(NoticeKind::Reminder, Level::Critical, Level::Critical, 5),
        Duration::ZERO,
        at(5),
    );
    let (sent, verdicts) = drain(&mut p);
    assert!(sent.is_empty(), "{sent:?}");
    assert_eq!(
        verdicts,
        [
            "web1 UNREACHABLE held (unreachable)",
            "web1 REMINDER held (unreachable)"
        ]
    );
    // Once the parent is back, the child's own state decides: here it is DOWN.
    p.on_event(&down("web1", 60), at(60));
    let (sent, _) = drain(&mut p);
    assert_eq!(sent.len(), 1);
}

#[test]
fn flap_percentages_follow_nagios_weights() {
    let s = FlapSettings::default();
    let mut f = flap::Flap::default();
    assert_eq!(f.percent(), 0.0);
    // One change at the newest position weighs 1.25 of 20 possible: 6.25 %.
    f.record(0, &s);
    f.record(1, &s);
    assert!((f.percent() - 6.25).abs() < 1e-9, "{}", f.percent());
    // Alternating every check: all 20 changes, weights averaging 1.0: 100 %.
    let mut f = flap::Flap::default();
    for i in 0..21 {
        f.record((i % 2) as u8, &s);
    }
    assert!((f.percent() - 100.0).abs() < 1e-9, "{}", f.percent());
    assert!(f.flapping());
}

#[test]
fn a_standby_tells_nothing_and_on_taking_over_tells_only_what_its_predecessor_did_not() {
    let standby = || Reason::Standby {
        leader: Some("hbd-a".into()),
    };
    // The predecessor told web1's CRITICAL; web2 went DOWN and it died before telling;
    // web1's alert recovers while this daemon is still standby.
    let mut p = plain();
    p.set_standby(Some(standby()), at(0));
    p.on_notice(
        &notice(NoticeKind::Raised, Level::Ok, Level::Critical, 1),
        Duration::ZERO,
        at(1),
    );
    p.on_event(&down("web2", 2), at(2));
    p.on_notice(
        &notice(NoticeKind::Recovered, Level::Critical, Level::Ok, 3),
        Duration::ZERO,
        at(3),
    );
    let (sent, verdicts) = drain(&mut p);
    assert!(sent.is_empty(), "{sent:?}");
    assert_eq!(
        verdicts,
        [
            "web1 CRITICAL held (standby)",
            "web2 DOWN held (standby)",
            // Back to what this daemon last told (nothing) while held.
            "web1 RECOVERED unchanged"
        ]
    );
    p.adopt_told(vec![("web1".into(), "cpu.percent".into(), Level::Critical)]);
    p.set_standby(None, at(4));
    let (sent, verdicts) = drain(&mut p);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent.iter().any(|s| s.starts_with("RECOVERED: web1")),
        "{sent:?}"
    );
    assert!(sent.iter().any(|s| s.starts_with("DOWN: web2")), "{sent:?}");
    assert_eq!(verdicts.len(), 2, "{verdicts:?}");
    // Both are on record as told now, for the store.
    let (told, _) = p.take_changes();
    assert!(
        told.contains(&("web1".into(), "cpu.percent".into(), Level::Ok)),
        "{told:?}"
    );
    assert!(
        told.contains(&("web2".into(), String::new(), Level::Critical)),
        "{told:?}"
    );

    // A CRITICAL the predecessor already told is not told again.
    let mut p = plain();
    p.set_standby(Some(standby()), at(0));
    p.on_notice(
        &notice(NoticeKind::Raised, Level::Ok, Level::Critical, 1),
        Duration::ZERO,
        at(1),
    );
    p.adopt_told(vec![("web1".into(), "cpu.percent".into(), Level::Critical)]);
    p.set_standby(None, at(2));
    let (sent, _) = drain(&mut p);
    assert!(sent.is_empty(), "{sent:?}");
}

#[test]
fn after_failing_open_the_record_taken_over_and_merged_decides_what_is_told() {
    // Failing open, this daemon told web1's CRITICAL on its own.
    let mut p = plain();
    p.on_notice(
        &notice(NoticeKind::Raised, Level::Ok, Level::Critical, 1),
        Duration::ZERO,
        at(1),
    );
    let (sent, _) = drain(&mut p);
    assert_eq!(sent.len(), 1, "{sent:?}");
    // It takes the lease straight from failing open (no hold changes): the record,
    // with its own telling written in, is taken over and looked at all the same.
    p.adopt_told(vec![("web1".into(), "cpu.percent".into(), Level::Critical)]);
    p.set_standby(None, at(2));
    let (sent, _) = drain(&mut p);
    assert!(sent.is_empty(), "told already: {sent:?}");
    // A record without it (the other daemon's view) makes it tell the CRITICAL again
    // rather than lose the RECOVERED later.
    p.adopt_told(Vec::new());
    p.set_standby(None, at(3));
    let (sent, _) = drain(&mut p);
    assert!(
        sent.iter().any(|s| s.starts_with("CRITICAL: web1")),
        "{sent:?}"
    );
    // It recovers and tells so.
    p.on_notice(
        &notice(NoticeKind::Recovered, Level::Critical, Level::Ok, 4),
        Duration::ZERO,
        at(4),
    );
    let (sent, _) = drain(&mut p);
    assert!(
        sent.iter().any(|s| s.starts_with("RECOVERED: web1")),
        "{sent:?}"
    );
    // A row of the other daemon's, a CRITICAL it told on its own after that, merged:
    // its RECOVERED is told too.
    p.merge_told(
        vec![("web1".into(), "cpu.percent".into(), Level::Critical)],
        at(5),
    );
    let (sent, _) = drain(&mut p);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].starts_with("RECOVERED: web1"), "{sent:?}");
}

/// A healthy fleet costs the policy nothing: a subject back to told OK with nothing
/// held is forgotten, one still to tell or held is kept; a daemon of an HA pair keeps
/// every subject (taking over may need the notification that last carried a state).
#[test]
fn idle_subjects_are_forgotten_except_in_a_pair() {
    let mut p = plain();
    for (i, host) in ["web1", "web2", "web3"].into_iter().enumerate() {
        p.on_event(&up(host, i as u64), at(i as u64));
    }
    assert_eq!(p.hosts.len(), 0, "UP hosts told OK keep nothing");
    p.on_event(&down("web2", 10), at(10));
    assert_eq!(
        p.hosts.keys().collect::<Vec<_>>(),
        ["web2"],
        "told DOWN: kept"
    );
    p.on_event(&up("web2", 20), at(20));
    assert_eq!(p.hosts.len(), 0, "back UP and told: forgotten");
    p.put_silence(silence("s1", "web3", None, 0, 100), at(30))
        .unwrap();
    p.on_event(&down("web3", 31), at(31));
    p.on_event(&up("web3", 32), at(32));
    p.on_event(&down("web3", 33), at(33));
    assert!(p.hosts.contains_key("web3"), "held by a silence: kept");
    let (sent, _) = drain(&mut p);
    assert_eq!(sent.len(), 2, "web2's DOWN and UP only: {sent:?}");

    let mut pair = plain();
    pair.set_standby(None, at(0));
    pair.on_event(&up("web1", 1), at(1));
    assert_eq!(pair.hosts.len(), 1, "one of a pair keeps every subject");
}
