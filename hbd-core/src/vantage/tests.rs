//! The quorum rule as a table, and a check's life through its vantage points.

use std::collections::HashMap;

use super::*;

use Level::{Critical as C, Ok as O, Unknown as U, Warning as W};

#[test]
fn combine_needs_a_quorum_to_agree() {
    let table: &[(&[Level], usize, Option<Level>)] = &[
        (&[O, O, O], 2, Some(O)),
        (&[C, O, O], 2, Some(O)),
        (&[C, C, O], 2, Some(C)),
        (&[C, W, O], 2, Some(W)),
        (&[C, C, C], 3, Some(C)),
        (&[C, C, O], 3, None),
        (&[C, O], 2, None),
        (&[U, U, O], 2, Some(U)),
        (&[U, C, O], 2, None),
        (&[U, C, C], 2, Some(C)),
        (&[], 1, None),
        (&[C], 0, Some(C)),
        (&[W, W, C], 2, Some(W)),
    ];
    for (levels, quorum, want) in table {
        assert_eq!(
            combine(levels, *quorum),
            *want,
            "{levels:?} with quorum {quorum}"
        );
    }
}

fn group() -> Group {
    Group::new("probes", &["probe*".to_owned()], &Labels::default()).unwrap()
}

fn spec(quorum: Option<usize>) -> CheckSpec {
    CheckSpec {
        name: "web".into(),
        plugin: "http_check".into(),
        group: group(),
        quorum,
        latency: None,
    }
}

fn answer(level: Level, at: u64) -> Answer {
    Answer {
        level,
        detail: Some(format!("said {}", level.as_str())),
        latency_ms: Some(12.5),
        at: Timestamp(at),
    }
}

struct World {
    checks: Checks,
    states: HashMap<String, HostState>,
}

impl World {
    fn new(quorum: Option<usize>) -> World {
        let mut checks = Checks::default();
        checks.configure(Arc::new(vec![spec(quorum)]));
        let states = ["probe1", "probe2", "probe3"]
            .iter()
            .map(|h| ((*h).to_owned(), HostState::Up))
            .collect();
        World { checks, states }
    }

    /// Each probe answers in turn; the notices the answers made.
    fn round(&mut self, levels: [Level; 3], at: u64) -> Vec<Notice> {
        let mut out = Vec::new();
        for (i, level) in levels.into_iter().enumerate() {
            let host = format!("probe{}", i + 1);
            self.checks.answer(0, &host, answer(level, at));
            let states = &self.states;
            out.extend(
                self.checks
                    .evaluate(0, |h| states.get(h).copied(), Timestamp(at)),
            );
        }
        out
    }
}

#[test]
fn the_first_vantage_point_to_answer_is_no_majority_of_one() {
    let mut w = World::new(None);
    for p in ["probe1", "probe2", "probe3"] {
        w.checks.place(p, None);
    }
    w.checks.place("web1", None);
    w.checks.answer(0, "probe3", answer(C, 1_000));
    let states = &w.states;
    let n = w
        .checks
        .evaluate(0, |h| states.get(h).copied(), Timestamp(1_000));
    assert_eq!(n, None, "one CRITICAL of three members is no quorum of two");
    assert_eq!(w.checks.views(|_| Some(HostState::Up))[0].quorum, 2);
    // Dropped members no longer count towards M.
    w.checks.forget_host("probe1");
    w.checks.forget_host("probe2");
    assert_eq!(w.checks.views(|_| Some(HostState::Up))[0].quorum, 1);
}

#[test]
fn one_vantage_point_cut_off_pages_nobody() {
    let mut w = World::new(None);
    assert!(w.round([O, O, O], 1_000).is_empty());
    for at in 2..10 {
        assert!(w.round([O, O, C], at * 1_000).is_empty(), "round {at}");
    }
    let views = w.checks.views(|h| w.states.get(h).copied());
    assert_eq!(views[0].level, O);
    assert_eq!(views[0].quorum, 2);
    assert_eq!((views[0].counted, views[0].agreeing), (3, 2));
    assert_eq!(views[0].vantage[2].answer.level, C);
}

#[test]
fn the_target_down_everywhere_pages_once_and_recovers_once() {
    let mut w = World::new(None);
    w.round([O, O, O], 1_000);
    let raised = w.round([C, C, C], 2_000);
    assert_eq!(raised.len(), 1, "{raised:?}");
    let n = &raised[0];
    assert_eq!(
        (n.host.as_str(), n.path.as_str()),
        ("check:web", "http_check")
    );
    assert_eq!((n.kind, n.from, n.to), (NoticeKind::Raised, O, C));
    let detail = n.detail.as_deref().unwrap();
    assert!(
        detail.starts_with("2 of 3 vantage points CRITICAL (quorum 2): probe1: said CRITICAL"),
        "{detail}"
    );
    assert!(w.round([C, C, C], 3_000).is_empty());
    let recovered = w.round([O, O, O], 4_000);
    assert_eq!(recovered.len(), 1);
    assert_eq!(recovered[0].kind, NoticeKind::Recovered);
}

#[test]
fn a_vantage_point_not_up_does_not_count() {
    let mut w = World::new(Some(2));
    w.round([O, O, O], 1_000);
    // probe3 goes DOWN: its last answer (OK) no longer counts, so the two others
    // saying CRITICAL are the quorum.
    w.states.insert("probe3".into(), HostState::Down);
    let n = w.round([C, C, O], 2_000);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].to, C);
    // With two of three down, one answer cannot reach a quorum of two: the state holds.
    w.states.insert("probe2".into(), HostState::Unreachable);
    assert!(w.round([O, O, O], 3_000).is_empty());
    let views = w.checks.views(|h| w.states.get(h).copied());
    assert_eq!(views[0].level, C);
    assert_eq!(views[0].counted, 1);
    assert!(!views[0].vantage[1].counted);
}

#[test]
fn a_reconfigured_check_keeps_its_answers_unless_it_changed() {
    let mut w = World::new(None);
    w.round([C, C, C], 1_000);
    w.checks.configure(Arc::new(vec![spec(Some(3))]));
    assert_eq!(w.checks.views(|_| Some(HostState::Up))[0].level, C);
    let mut other = spec(None);
    other.plugin = "tcp_check".into();
    w.checks.configure(Arc::new(vec![other]));
    let views = w.checks.views(|_| Some(HostState::Up));
    assert_eq!((views[0].level, views[0].vantage.len()), (O, 0));
}

#[test]
fn paths_and_hosts_a_check_covers() {
    let s = spec(None);
    assert!(s.holds("probe1", None, "http_check"));
    assert!(s.holds("probe1", None, "http_check.response_ms"));
    assert!(!s.holds("probe1", None, "http_checks.response_ms"));
    assert!(!s.holds("web1", None, "http_check"));
    assert!(s.answered_by("probe2", None, "http_check"));
    assert!(!s.answered_by("probe2", None, "tcp_check"));
    let mut nagios = spec(None);
    nagios.plugin = "nagios.check_http".into();
    assert!(nagios.answered_by("probe1", None, "nagios"));
    assert!(nagios.holds("probe1", None, "nagios.check_http"));
    assert!(!nagios.holds("probe1", None, "nagios.check_disk"));
}
