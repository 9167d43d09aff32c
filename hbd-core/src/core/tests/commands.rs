//! Commands for agents through the core: queued only for keyed hosts, sent only after
//! signed heartbeats, done only by signed results.

use std::sync::Arc;

use hb_proto::{Heartbeat, Message};

use super::*;

pub(super) fn job_state(state: &JobState) -> String {
    match state {
        JobState::Queued => "queued".into(),
        JobState::Sent { times, .. } => format!("sent x{times}"),
        JobState::Done { exit_code, .. } => format!("done {exit_code}"),
        JobState::Expired { .. } => "expired".into(),
    }
}

/// A core that knows the configured host `keyed`, which has a key.
fn keyed_core() -> Core {
    let mut c = config();
    c.hosts.insert(
        "keyed".into(),
        HostConfig {
            key: Some(hb_proto::Key::new("0123456789abcdef")),
            ..HostConfig::default()
        },
    );
    Core::new(settings(&c), at(0))
}

/// `/bin/true` for `host`, queued at 0, expiring at 100 s.
fn job(id: &str, host: &str) -> Job {
    Job {
        id: id.into(),
        host: host.into(),
        argv: vec!["/bin/true".into()],
        timeout_s: 5,
        by: None,
        queued: at(0).wall,
        expires: at(100).wall,
        state: JobState::Queued,
        upgrade: None,
    }
}

#[test]
fn commands_go_only_to_keyed_hosts_only_signed_and_end_with_a_signed_result() {
    let mut core = keyed_core();
    let mut out = Vec::new();
    // Known but keyless hosts are refused; unknown hosts are unknown.
    run(&mut core, Step::Htb("plain", 1, None, "10.0.0.1"));
    let apply = |core: &mut Core, j: Job, out: &mut Vec<Action>| {
        core.apply(&Command::QueueJob { job: Box::new(j) }, at(2), out)
    };
    assert_eq!(
        apply(&mut core, job("j0", "plain"), &mut out),
        Err(CommandError::Unsigned("plain".into()))
    );
    assert_eq!(
        apply(&mut core, job("j0", "nobody"), &mut out),
        Err(CommandError::UnknownHost("nobody".into()))
    );
    // The configured keyed host takes it.
    core.hosts_after(None).find(|h| h.name == "keyed").unwrap();
    assert!(apply(&mut core, job("j1", "keyed"), &mut out).is_ok());
    assert_eq!(render(&out), ["JOB j1 queued"]);
    let beat = |key_id: Option<&str>, t: u64| {
        let mut d = datagram(
            Message::Heartbeat(Heartbeat {
                name: "keyed".into(),
                seq: Some(t),
                ..Heartbeat::default()
            }),
            "10.0.0.2",
        );
        d.key_id = key_id.map(Arc::from);
        (d, at(t))
    };
    // (datagram, time) -> what the core does: an unsigned heartbeat gets only its ACK.
    let step = |core: &mut Core, (d, now): (Datagram, Now)| {
        let mut out = Vec::new();
        core.handle(&d, now, &mut out);
        render(&out)
    };
    assert!(
        !step(&mut core, beat(None, 3))
            .iter()
            .any(|a| a.contains("CMD"))
    );
    assert_eq!(
        step(&mut core, beat(Some("keyed"), 4))[1..],
        ["REPLY CMD".to_owned(), "JOB j1 sent x1".to_owned()]
    );
    let result = |key_id: Option<&str>, t: u64| {
        let mut d = datagram(
            Message::CommandResult(hb_proto::CommandResult {
                name: "keyed".into(),
                cmd_id: "j1".into(),
                exit_code: 0,
                ..hb_proto::CommandResult::default()
            }),
            "10.0.0.2",
        );
        d.key_id = key_id.map(Arc::from);
        (d, at(t))
    };
    assert!(
        step(&mut core, result(None, 5)).is_empty(),
        "an unsigned result counts for nothing"
    );
    assert_eq!(step(&mut core, result(Some("keyed"), 6)), ["JOB j1 done 0"]);
    assert_eq!(
        step(&mut core, beat(Some("keyed"), 7)).len(),
        1,
        "only the ACK now"
    );
    let changes = core.take_changes();
    assert_eq!(changes.jobs.len(), 1, "the latest state of each, once");
    assert!(matches!(changes.jobs[0].state, JobState::Done { .. }));
}

/// A command no result came for expires when its time is up, is said so, and is no
/// longer what the core waits for (its deadline once stayed the earliest, past).
#[test]
fn a_command_without_a_result_expires_on_the_tick_and_the_next_deadline_moves_on() {
    let mut core = keyed_core();
    let mut out = Vec::new();
    let queued = Command::QueueJob {
        job: Box::new(job("j1", "keyed")),
    };
    core.apply(&queued, at(2), &mut out).unwrap();
    assert!(core.next_deadline().is_some_and(|d| d <= at(100).mono));
    let mut out = Vec::new();
    core.on_tick(at(99), &mut out);
    assert!(render(&out).iter().all(|a| !a.contains("expired")));
    core.on_tick(at(100), &mut out);
    assert_eq!(
        render(&out)
            .into_iter()
            .filter(|a| a.starts_with("JOB"))
            .collect::<Vec<_>>(),
        ["JOB j1 expired"]
    );
    assert!(
        core.next_deadline().is_none_or(|d| d > at(100).mono),
        "{:?}",
        core.next_deadline()
    );
    assert!(matches!(
        core.jobs("keyed")[0].state,
        JobState::Expired { .. }
    ));
    // ... and it is told, like a host event.
    let told: Vec<String> = out
        .iter()
        .filter_map(|a| match a {
            Action::Event(e) => crate::render::event_text(e),
            _ => None,
        })
        .collect();
    assert_eq!(
        told,
        ["COMMAND FAILED: keyed - /bin/true got no result before it expired"]
    );
}

/// A DNS record failing is told once it has failed three times in a row, and once
/// more when it is written again.
#[test]
fn a_failing_dns_record_is_told_once_and_again_when_it_is_written() {
    let mut core = Core::new(settings(&config()), at(0));
    let status = |state: &'static str, failures: u32| crate::dns::plan::Status {
        zone: "dyn.example.org".into(),
        name: "web1.dyn.example.org".into(),
        address: "192.0.2.1".parse().unwrap(),
        applied: None,
        state,
        failures,
        last_error: (failures > 0).then(|| "update failed: REFUSED".to_owned()),
        last_ok: None,
    };
    let mut told = Vec::new();
    for (t, (state, failures)) in [
        ("failing", 1),
        ("failing", 2),
        ("failing", 3),
        ("failing", 4),
        ("ok", 0),
        ("ok", 0),
    ]
    .into_iter()
    .enumerate()
    {
        let mut out = Vec::new();
        core.dns_status("web1", &status(state, failures), at(t as u64), &mut out);
        told.extend(out.iter().filter_map(|a| match a {
            Action::Event(e) => crate::render::event_text(e),
            _ => None,
        }));
    }
    assert_eq!(
        told,
        [
            "DNS FAILED: web1 - web1.dyn.example.org not written after 3 tries: update failed: REFUSED",
            "DNS OK: web1 - web1.dyn.example.org written again",
        ]
    );
}
