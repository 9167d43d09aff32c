//! An agent whose "daemon" for managed plugins is hostile: it redirects elsewhere, or
//! answers garbage, or an answer signed with another key, or a real answer for another
//! host. The agent follows nothing, runs nothing new, keeps running, and says why in
//! its `managed_plugins` report, which the real daemon stores and shows.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use hbd_e2e::needs::Need;
use hbd_e2e::{Agent, Daemon, wait_until};

use super::artifacts::keypair;

const KEY: &str = "web1's own key, long enough";

/// Answers every request on a loopback port with `answer` (the whole HTTP response),
/// and counts the requests; the port.
fn hostile(answer: String) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = asked.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (port, asked)
}

fn response(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut text = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    text
}

#[test]
fn an_agent_asking_a_hostile_daemon_follows_nothing_and_runs_nothing_new() {
    hbd_e2e::require!(Need::Minisign);
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let publisher = keypair(&keys, "publisher");
    let daemon = Daemon::start(dir.path(), &format!("hosts:\n  web1: {{key: \"{KEY}\"}}\n"));
    // A real answer for another host, tagged with that host's key.
    let other = hb_proto::Key::new("db1's own key, long enough too");
    let theirs = serde_json::to_vec(&hb_artifact::desired::Desired {
        host: "db1".into(),
        nonce: "whatever-nonce".into(),
        digest: hb_artifact::desired::DesiredSet::default().digest(),
        set: Default::default(),
    })
    .unwrap();
    let their_tag = hb_artifact::desired::tag(&other, &theirs);
    let mine_tagged_by_another = hb_artifact::desired::tag(&other, b"{}");
    // (what, the response, what the agent's report says)
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "a redirect elsewhere",
            response(
                "302 Found",
                &[("Location", "http://127.0.0.1:9/agent/web1/plugins")],
                "",
            ),
            "302",
        ),
        (
            "garbage",
            response("200 OK", &[("x-hbd-tag", "zz")], "\u{1}not json at all"),
            "the answer is not signed with this host's key",
        ),
        (
            "signed with another key",
            response("200 OK", &[("x-hbd-tag", &mine_tagged_by_another)], "{}"),
            "the answer is not signed with this host's key",
        ),
        (
            "another host's answer",
            response(
                "200 OK",
                &[("x-hbd-tag", &their_tag)],
                std::str::from_utf8(&theirs).unwrap(),
            ),
            "the answer is not signed with this host's key",
        ),
    ];
    for (what, answer, says) in cases {
        let (port, asked) = hostile(answer);
        let started = std::process::Command::new("date")
            .args(["-u", "+%Y-%m-%dT%H:%M:%S.%3NZ"])
            .output()
            .unwrap();
        let started = String::from_utf8_lossy(&started.stdout).trim().to_owned();
        let managed = dir.path().join(format!("managed-{port}"));
        let agent = Agent::start(
            dir.path(),
            "web1",
            daemon.udp_addr(),
            &format!(
                "interval: 0.5
key: \"{KEY}\"
plugins: {{cpu_monitor: {{enabled: false}}, memory_monitor: {{enabled: false}}}}
plugin_trust:
  publishers: [{publisher}]
managed_plugins:
  url: http://127.0.0.1:{port}
  dir: '{}'
  check_every: 3600
",
                managed.display()
            ),
        );
        let mut report = serde_json::Value::Null;
        let said = wait_until(Duration::from_secs(20), || {
            let Some((200, body)) = daemon.get("/api/0/hosts/web1/plugins/managed_plugins?limit=1")
            else {
                return false;
            };
            report =
                serde_json::from_str::<serde_json::Value>(&body).unwrap()["samples"][0].clone();
            report["received"]
                .as_str()
                .is_some_and(|r| r >= started.as_str())
                && report["data"]["message"].as_str().is_some_and(|m| {
                    m.starts_with("cannot ask the daemon what to run") && m.contains(says)
                })
        });
        assert!(said, "{what}: {report}; agent log:\n{}", agent.log());
        assert_eq!(report["status"], "WARNING", "{what}");
        assert_eq!(
            report["data"]["plugins"],
            serde_json::json!({}),
            "{what}: nothing new runs"
        );
        assert!(
            asked.load(std::sync::atomic::Ordering::Relaxed) >= 1,
            "{what}"
        );
        // Nothing was kept but its record.
        let kept: Vec<String> = std::fs::read_dir(&managed)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert!(kept.iter().all(|f| f == "state.json"), "{what}: {kept:?}");
        drop(agent);
    }
}
