//! A signed plugin that reaches the network (contract 0.3.0), from the daemon to real
//! agents: the manifest asks for a destination, the group grants it, an agent whose
//! ceiling allows it runs the plugin against a loopback server; an agent whose ceiling
//! allows no network refuses the artifact before compiling it, and says why.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use hbd_e2e::needs::Need;
use hbd_e2e::{Agent, Daemon, bin, wait_until, wasm_plugin};

use super::artifacts::{Publishing, ok, publishing, sign};

const KEY: &str = "the net plugin key, long enough for hmac";

/// The latest report of `plugin` from `host`.
fn latest(daemon: &Daemon, host: &str, plugin: &str) -> Option<serde_json::Value> {
    let (200, body) = daemon.get(&format!("/api/0/hosts/{host}/plugins/{plugin}?limit=1"))? else {
        return None;
    };
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    Some(v["samples"][0].clone()).filter(|s| !s.is_null())
}

#[test]
fn a_signed_network_plugin_runs_where_the_ceiling_allows_and_is_refused_where_not() {
    hbd_e2e::require!(Need::Minisign, Need::Wasm("hbd_tcp_check"));
    let dir = tempfile::tempdir().unwrap();
    let Publishing {
        keys,
        offered,
        publisher,
        ..
    } = publishing(dir.path());
    // The service the plugin checks.
    let service = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = service.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in service.incoming().take(256) {
            held.push(s);
        }
    });
    let destination = format!("127.0.0.1:{port}");
    let stem = offered.join("tcp_check-0.1.0").display().to_string();
    std::fs::copy(wasm_plugin("hbd_tcp_check"), format!("{stem}.wasm")).unwrap();
    let manifest = ok(Command::new(bin("hbc"))
        .args(["plugin", "manifest"])
        .arg(format!("{stem}.wasm"))
        .args([
            "--version",
            "0.1.0",
            "--min-interval",
            "1",
            "--net",
            &destination,
        ]));
    assert!(
        manifest.contains(&format!("\"{destination}\"")),
        "{manifest}"
    );
    assert!(manifest.contains("hbd:plugin@0.3.0"), "{manifest}");
    std::fs::write(format!("{stem}.json"), manifest).unwrap();
    sign(
        &keys,
        "publisher",
        std::path::Path::new(&format!("{stem}.json")),
    );

    let daemon = Daemon::start(
        dir.path(),
        &format!(
            "artifacts_dir: {}
hb_key: '{KEY}'
groups:
  probes:
    hosts: ['probe*']
    plugins:
      tcp_check:
        version: 0.1.0
        interval: 1
        net: ['{destination}']
        config: {{host: 127.0.0.1, port: {port}}}
",
            offered.display()
        ),
    );
    let agent = |name: &str, ceiling: &str| {
        Agent::start(
            dir.path(),
            name,
            daemon.udp_addr(),
            &format!(
                "interval: 1
key: '{KEY}'
plugins: {{cpu_monitor: {{enabled: false}}, memory_monitor: {{enabled: false}}, disk_monitor: {{enabled: false}}, network_monitor: {{enabled: false}}}}
wasm_plugins: {{cache_dir: '{cache}'}}
plugin_trust:
  publishers: [{publisher}]
  min_interval: 1
{ceiling}
managed_plugins:
  url: http://{http}
  dir: '{managed}'
  check_every: 3600
",
                cache = dir.path().join("cache").display(),
                http = daemon.http_addr(),
                managed = dir.path().join(format!("managed-{name}")).display(),
            ),
        )
    };
    let allowed = agent("probe1", "  net: ['127.0.0.1:*']");
    let found = wait_until(Duration::from_secs(120), || {
        latest(&daemon, "probe1", "tcp_check").is_some_and(|s| s["status"] == "OK")
    });
    assert!(
        found,
        "probe1 never reported tcp_check OK: {:?}; its log:\n{}",
        latest(&daemon, "probe1", "managed_plugins"),
        allowed.log()
    );
    let report = latest(&daemon, "probe1", "tcp_check").unwrap();
    assert_eq!(report["data"]["address"], destination, "{report}");

    // An agent that allows no network refuses the artifact and says why.
    let closed = agent("probe2", "");
    let refused = wait_until(Duration::from_secs(60), || {
        latest(&daemon, "probe2", "managed_plugins")
            .is_some_and(|s| s["data"]["refused"].to_string().contains("net"))
    });
    let report = latest(&daemon, "probe2", "managed_plugins");
    assert!(refused, "{report:?}; its log:\n{}", closed.log());
    let text = report.unwrap()["data"]["refused"].to_string();
    assert!(text.contains("outside this agent's ceiling"), "{text}");
    assert!(
        latest(&daemon, "probe2", "tcp_check").is_none(),
        "never run there"
    );
}

/// Open file descriptors of process `pid`.
fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

#[test]
fn a_plugin_flooding_the_network_leaves_the_agent_and_its_other_plugins_untouched() {
    hbd_e2e::require!(Need::Wasm("hbd_net_fixture"), Need::Wasm("hbd_tcp_check"));
    let dir = tempfile::tempdir().unwrap();
    let service = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = service.local_addr().unwrap().port();
    // Accepts and closes, for as long as the test runs.
    std::thread::spawn(move || {
        for s in service.incoming() {
            drop(s);
        }
    });
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    for name in ["hbd_net_fixture", "hbd_tcp_check"] {
        std::fs::copy(wasm_plugin(name), plugins.join(format!("{name}.wasm"))).unwrap();
    }
    let daemon = Daemon::start(dir.path(), "");
    let mut agent = Agent::start(
        dir.path(),
        "probe1",
        daemon.udp_addr(),
        &format!(
            "interval: 0.5
plugins: {{cpu_monitor: {{enabled: false}}, disk_monitor: {{enabled: false}}}}
wasm_plugins:
  dirs: [{plugins}]
  cache_dir: {cache}
  plugins:
    net_fixture:
      interval: 0.5
      timeout_ms: 5000
      config: {{mode: flood, target: '127.0.0.1:{port}', count: 1000, timeout_ms: 200}}
      net: ['127.0.0.1:{port}']
      connections: 8
    tcp_check:
      interval: 0.5
      timeout_ms: 5000
      config: {{host: 127.0.0.1, port: {port}}}
      net: ['127.0.0.1:{port}']
",
            plugins = plugins.display(),
            cache = dir.path().join("cache").display(),
        ),
    );
    let flood = |d: &Daemon| latest(d, "probe1", "net_fixture");
    assert!(
        wait_until(Duration::from_secs(60), || flood(&daemon).is_some()),
        "no flood report; agent log:\n{}",
        agent.log()
    );
    let first = flood(&daemon).unwrap();
    assert_eq!(first["data"]["connected"], 8, "{first}");
    assert_eq!(first["data"]["refused"], 992, "{first}");
    let pid = agent.pid().unwrap();
    let fds_then = fds(pid);
    // Ten more flood calls: every heartbeat and every tcp_check still arrives, and no
    // call leaves its sockets behind.
    let reports = |d: &Daemon, plugin: &str| -> usize {
        d.get_json(&format!("/api/0/hosts/probe1/plugins/{plugin}?limit=1000"))["samples"]
            .as_array()
            .map_or(0, Vec::len)
    };
    let (floods, checks) = (
        reports(&daemon, "net_fixture"),
        reports(&daemon, "tcp_check"),
    );
    assert!(
        wait_until(Duration::from_secs(60), || reports(&daemon, "net_fixture")
            >= floods + 10),
        "the flood stopped reporting; agent log:
{}",
        agent.log()
    );
    let check = latest(&daemon, "probe1", "tcp_check").unwrap();
    assert_eq!(check["status"], "OK", "{check}");
    assert!(
        reports(&daemon, "tcp_check") >= checks + 8,
        "tcp_check fell behind: {} reports beside ten floods",
        reports(&daemon, "tcp_check") - checks
    );
    let host = daemon.get_json("/api/0/hosts/probe1");
    assert_eq!(host["state"], "UP", "{host}");
    assert!(
        fds(pid) < fds_then + 24,
        "sockets left open: {} then, {} now",
        fds_then,
        fds(pid)
    );
    // Refusals are a line per call in the agent's log, not one per connection.
    let log = agent.log();
    let lines = log.matches("connections refused").count();
    assert!(lines > 0 && lines < 60, "{lines} refusal lines in:\n{log}");
    assert!(agent.running(), "the agent died; log:\n{log}");
}
