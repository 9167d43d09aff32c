//! Managed plugins through the core: the ACK to a heartbeat names the digest the host
//! should run while its agent reports another, and nothing to an agent that never
//! reported one.

use std::collections::BTreeMap;
use std::sync::Arc;

use hb_artifact::desired::{DesiredPlugin, DesiredSet, Files};
use hb_proto::{Heartbeat, Message};

use super::fixture::settings;
use super::{at, config, datagram};
use crate::core::{Action, Core};
use crate::groups::Group;
use crate::managed::Plan;

fn plan(version: &str) -> Arc<Plan> {
    let version: semver::Version = version.parse().unwrap();
    let plugin = DesiredPlugin {
        name: "log_freshness".into(),
        files: Files::of("log_freshness", &version),
        version,
        sha256: "ab".repeat(32),
        size: 1,
        settings: Default::default(),
    };
    let web = Group::new("web", &["web*".into()], &BTreeMap::new()).unwrap();
    Arc::new(Plan {
        groups: vec![(
            web,
            DesiredSet {
                plugins: vec![plugin],
                ..DesiredSet::default()
            },
        )],
        ..Plan::default()
    })
}

/// The `plugins` of the ACK to `host`'s heartbeat reporting `applied`.
fn acked(core: &mut Core, host: &str, applied: Option<&str>, second: u64) -> Option<String> {
    let beat = Message::Heartbeat(Heartbeat {
        name: host.into(),
        plugins: applied.map(str::to_owned),
        ..Heartbeat::default()
    });
    let mut out = Vec::new();
    core.handle(&datagram(beat, "127.0.0.1"), at(second), &mut out);
    out.iter().find_map(|a| match a {
        Action::Reply {
            message: Message::Ack(ack),
            ..
        } => Some(ack.plugins.as_deref().map(str::to_owned)),
        _ => None,
    })?
}

#[test]
fn the_ack_names_what_to_run_until_the_agent_reports_it() {
    let mut s = settings(&config());
    s.plan = plan("1.2.0");
    let mut core = Core::new(s, at(0));
    let empty = DesiredSet::default().digest();
    let want = plan("1.2.0").digest_for("web1", None);
    let next = plan("1.3.0").digest_for("web1", None);
    // (step: host, what it reports applied, what the ACK names)
    let steps: &[(&str, Option<&str>, Option<&str>)] = &[
        ("web1", None, None),                // manages nothing: told nothing
        ("web1", Some(&empty), Some(&want)), // its first report
        ("web1", None, Some(&want)),         // still behind, between reports
        ("web1", Some(&want), None),         // caught up
        ("web1", None, None),
        ("mail", Some(&empty), None), // no group names plugins for it: the empty set
    ];
    for (i, (host, applied, told)) in steps.iter().enumerate() {
        let got = acked(&mut core, host, *applied, i as u64);
        assert_eq!(got.as_deref(), *told, "step {i}: {host}");
    }
    // A reload with a new version: every managing agent is told at its next heartbeat.
    let mut s = settings(&config());
    s.plan = plan("1.3.0");
    core.reconfigure(s, at(10), &mut Vec::new());
    assert_eq!(
        acked(&mut core, "web1", None, 11).as_deref(),
        Some(next.as_str())
    );
    assert_eq!(acked(&mut core, "mail", None, 11), None);
}
