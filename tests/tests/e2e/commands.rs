//! Commands for agents end to end: queued through the API, sent signed after the ACK,
//! run by a real `hbc` only when its config allows the program, reported back with exit
//! code and output; refusals (a host without a key, a program not allowed, a command
//! that overstays its timeout) end as a person would expect, and a queued command
//! survives a daemon restart.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use hbd_e2e::{Agent, Daemon, Reply, wait_until};
use serde_json::Value;

const KEY: &str = "a shared key for web1 only";

fn daemon_config() -> String {
    format!("interval: 1\nhosts:\n  web1: {{key: '{KEY}'}}\n")
}

fn agent_config(dir: &std::path::Path) -> String {
    format!(
        "interval: 0.3\nkey: '{KEY}'\nplugins: {{}}\ncommands:\n  allow: [/bin/echo, /bin/sleep]\n  ledger: {}\n",
        dir.join("ledger.json").display()
    )
}

fn queue(daemon: &Daemon, host: &str, body: &str) -> Reply {
    daemon.call(
        "POST",
        &format!("/api/0/hosts/{host}/commands"),
        &[("Content-Type", "application/json")],
        Some(body),
    )
}

/// Waits until command `id` of web1 is finished; returns it.
fn finished(daemon: &Daemon, id: &str, agent: &Agent) -> Value {
    let mut last = Value::Null;
    let done = wait_until(Duration::from_secs(20), || {
        last = daemon.get_json(&format!("/api/0/hosts/web1/commands/{id}"));
        last["state"] == "done" || last["state"] == "expired"
    });
    assert!(
        done,
        "command {id} still {last}\nagent log:\n{}",
        agent.log()
    );
    last
}

#[test]
fn an_allowed_command_runs_once_and_refusals_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), &daemon_config());
    let agent = Agent::start(
        dir.path(),
        "web1",
        daemon.udp_addr(),
        &agent_config(dir.path()),
    );
    assert!(
        wait_until(Duration::from_secs(10), || daemon
            .host_state("web1")
            .as_deref()
            == Some("UP")),
        "web1 never came up: {}",
        agent.log()
    );
    // The agent says what it runs, so the pages offer only what can work.
    assert_eq!(
        daemon.host("web1").unwrap()["accepts"],
        serde_json::json!({"allow": ["/bin/echo", "/bin/sleep"], "upgrade": false})
    );

    // Allowed: runs, and its exit code and output come back.
    let queued = queue(
        &daemon,
        "web1",
        r#"{"argv":["/bin/echo","hello","$HOME;","*"],"timeout":5}"#,
    );
    assert_eq!(queued.status, 201, "{}", queued.body);
    let queued = queued.json();
    assert_eq!(queued["state"], "queued");
    let id = queued["id"].as_str().unwrap().to_owned();
    let done = finished(&daemon, &id, &agent);
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["exit_code"], 0);
    assert_eq!(
        done["output"], "hello $HOME; *\n",
        "argv as given: no shell expanded it"
    );

    // A program the agent's config does not allow: answered, not run.
    let rm = queue(
        &daemon,
        "web1",
        r#"{"argv":["/bin/rm","-rf","/tmp/never"]}"#,
    )
    .json();
    let refused = finished(&daemon, rm["id"].as_str().unwrap(), &agent);
    assert_eq!(refused["exit_code"], -255);
    assert!(
        refused["output"]
            .as_str()
            .unwrap()
            .contains("/bin/rm is not in commands.allow"),
        "{refused}"
    );

    // Over its time limit: killed, and said so.
    let slow = queue(
        &daemon,
        "web1",
        r#"{"argv":["/bin/sleep","60"],"timeout":1}"#,
    )
    .json();
    let killed = finished(&daemon, slow["id"].as_str().unwrap(), &agent);
    assert_eq!(killed["exit_code"], -9, "{killed}");
    assert!(
        killed["output"]
            .as_str()
            .unwrap()
            .contains("timed out after 1 s")
    );

    // The two that failed are told, as events of the host; the one that ran is not.
    let failed = || {
        daemon
            .journal("EVENT")
            .into_iter()
            .filter(|e| e["event"] == "COMMAND_FAILED")
            .filter_map(|e| e["summary"].as_str().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert!(
        wait_until(Duration::from_secs(10), || failed().len() >= 2),
        "{:?}",
        failed()
    );
    let failed = failed();
    assert!(
        failed[0].starts_with("COMMAND FAILED: web1 - /bin/rm -rf /tmp/never exited -255: ")
            && failed[0].contains("not in commands.allow"),
        "{failed:?}"
    );
    assert!(
        failed[1].starts_with("COMMAND FAILED: web1 - /bin/sleep 60 exited -9"),
        "{failed:?}"
    );
    assert_eq!(failed.len(), 2, "{failed:?}");

    // Each ran once, though the daemon sent each after several heartbeats.
    let log = agent.log();
    assert_eq!(log.matches("running command").count(), 2, "{log}");

    // Listed newest first; the journal has them.
    let list = daemon.get_json("/api/0/hosts/web1/commands");
    let ids: Vec<&str> = list["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[2], id);
    // The audit log keeps each queued command as its change's after.
    let audit = daemon.get_json("/api/0/audit?kind=commands&limit=10");
    let entry = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["after"]["id"] == id)
        .unwrap_or_else(|| panic!("no audit entry for {id}: {audit}"));
    assert_eq!(entry["after"]["argv"][1], "hello", "{entry}");
    assert_eq!(entry["before"], Value::Null, "{entry}");
    // The journal is written on its own thread: wait for the entries.
    let journaled = |state: &str| {
        let journal = std::fs::read_to_string(dir.path().join("journal/hbd_journal.jsonl"))
            .unwrap_or_default();
        journal.lines().any(|l| {
            l.contains(r#""ID":"JOB""#)
                && l.contains(&id)
                && l.contains(&format!(r#""state":"{state}""#))
        })
    };
    assert!(
        wait_until(Duration::from_secs(5), || journaled("sent")
            && journaled("done")),
        "the journal has the command's first send and its result"
    );
}

#[test]
fn a_host_without_a_key_gets_no_commands_and_a_queued_one_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(dir.path(), &daemon_config());
    // web2 has no key: refused, with the reason.
    hbd_e2e::send_datagram(
        daemon.udp_addr(),
        br#"{"ID":"HTB","name":"web2","interval":60}"#,
    );
    assert!(wait_until(Duration::from_secs(5), || daemon
        .host("web2")
        .is_some()));
    let refused = queue(&daemon, "web2", r#"{"argv":["/bin/echo","x"]}"#);
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "unsigned_host");
    assert!(refused.body.contains("commands travel only signed"));
    // Bad requests name what is wrong.
    for (body, says) in [
        (r#"{"argv":[]}"#, "argv must name the program"),
        (r#"{"argv":["echo","x"]}"#, "absolute path"),
        (
            r#"{"argv":["/bin/echo"],"timeout":0}"#,
            "timeout must be 1 to 86400",
        ),
    ] {
        let r = queue(&daemon, "web1", body);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.body.contains(says), "{body}: {}", r.body);
    }

    // web1 is known (configured) but its agent is not running: the command waits,
    // through a daemon restart, and runs when the agent comes.
    let queued = queue(&daemon, "web1", r#"{"argv":["/bin/echo","after restart"]}"#);
    assert_eq!(queued.status, 201, "{}", queued.body);
    let id = queued.json()["id"].as_str().unwrap().to_owned();
    daemon.restart();
    let after = daemon.get_json(&format!("/api/0/hosts/web1/commands/{id}"));
    assert_eq!(after["state"], "queued", "{after}");
    let agent = Agent::start(
        dir.path(),
        "web1",
        daemon.udp_addr(),
        &agent_config(dir.path()),
    );
    let done = finished(&daemon, &id, &agent);
    assert_eq!(done["output"], "after restart\n", "{done}");
}

#[test]
fn a_command_cut_short_by_the_agent_s_death_is_answered_as_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), &daemon_config());
    let mut agent = Agent::start(
        dir.path(),
        "web1",
        daemon.udp_addr(),
        &agent_config(dir.path()),
    );
    // A command that will still run when the agent dies.
    let long = queue(
        &daemon,
        "web1",
        r#"{"argv":["/bin/sleep","30"],"timeout":60}"#,
    );
    assert_eq!(long.status, 201, "{}", long.body);
    let id = long.json()["id"].as_str().unwrap().to_owned();
    assert!(
        wait_until(Duration::from_secs(20), || agent
            .log()
            .contains("running command")),
        "the command never started: {}",
        agent.log()
    );
    let runs_before = agent.log().matches("running command").count();
    // Power loss: no chance to record a result.
    agent.kill();
    let log_before = agent.log().len();
    let mut agent = Agent::start(
        dir.path(),
        "web1",
        daemon.udp_addr(),
        &agent_config(dir.path()),
    );
    let mut last = Value::Null;
    assert!(
        wait_until(Duration::from_secs(20), || {
            last = daemon.get_json(&format!("/api/0/hosts/web1/commands/{id}"));
            last["state"] != "sent" && last["state"] != "queued"
        }),
        "still {last}\nagent log:\n{}",
        agent.log()
    );
    assert_eq!(last["state"], "interrupted", "{last}");
    assert_eq!(last["exit_code"], hb_proto::EXIT_INTERRUPTED, "{last}");
    assert!(
        last["output"]
            .as_str()
            .unwrap()
            .starts_with("interrupted: the agent stopped"),
        "{last}"
    );
    assert!(last["sent_times"].as_u64().unwrap() >= 1, "{last}");
    assert!(last["last_sent"].is_string(), "{last}");
    // Not run again, and no warning about a result that will never come.
    let log = agent.log();
    assert_eq!(log.matches("running command").count(), runs_before, "{log}");
    let since_restart = &log[log_before..];
    assert!(
        !since_restart.contains("already started"),
        "{since_restart}"
    );
    assert!(
        since_restart.contains("command interrupted by the agent's stop"),
        "{since_restart}"
    );
    // The journal has the answer.
    let journaled = || {
        std::fs::read_to_string(dir.path().join("journal/hbd_journal.jsonl"))
            .unwrap_or_default()
            .lines()
            .any(|l| l.contains(r#""ID":"RES""#) && l.contains(&id) && l.contains("-254"))
    };
    assert!(
        wait_until(Duration::from_secs(5), journaled),
        "no RES -254 in the journal"
    );
    agent.kill();
}
