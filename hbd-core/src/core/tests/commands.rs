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

#[test]
fn commands_go_only_to_keyed_hosts_only_signed_and_end_with_a_signed_result() {
    let mut c = config();
    c.hosts.insert(
        "keyed".into(),
        HostConfig {
            key: Some(hb_proto::Key::new("0123456789abcdef")),
            ..HostConfig::default()
        },
    );
    let mut core = Core::new(settings(&c), at(0));
    let job = |id: &str, host: &str| Job {
        id: id.into(),
        host: host.into(),
        argv: vec!["/bin/true".into()],
        timeout_s: 5,
        by: None,
        queued: at(0).wall,
        expires: at(100).wall,
        state: JobState::Queued,
        upgrade: None,
    };
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
