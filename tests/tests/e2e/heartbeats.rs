//! End to end: real hbc agents heartbeat a real hbd on loopback.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::{Duration, Instant};

use hbd_e2e::{Agent, Daemon, wait_until};
use nix::sys::signal::Signal;

#[test]
fn agent_shows_up_with_rtt_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), "interval: 1\ngrace: 1");
    let _agent = Agent::start(dir.path(), "web1", daemon.udp_addr(), "interval: 0.5");
    assert!(
        wait_until(Duration::from_secs(10), || daemon
            .host("web1")
            .is_some_and(|h| h["last_rtt_ms"].is_number())),
        "host never reported an RTT; log:\n{}",
        daemon.log()
    );
    let host = daemon.host("web1").unwrap();
    assert_eq!(host["state"], "UP");
    assert_eq!(host["address"], "127.0.0.1");
    assert_eq!(host["interval_s"], 0.5);
    assert_eq!(host["version"], env!("CARGO_PKG_VERSION"));
    let rtt = host["last_rtt_ms"].as_f64().unwrap();
    assert!(rtt > 0.0 && rtt < 1000.0, "rtt {rtt}");
    let all = daemon.get_json("/api/0/hosts");
    assert_eq!(all["total"], 1);
    let hosts = all["hosts"].as_array().unwrap();
    assert!(hosts.iter().any(|h| h["name"] == "web1"));
    assert!(daemon.metric("hbd_datagrams_total{type=\"HTB\"}") >= 2.0);
    assert_eq!(daemon.metric("hbd_hosts{state=\"UP\"}"), 1.0);
}

#[test]
fn killed_agent_is_down_within_interval_plus_grace() {
    let dir = tempfile::tempdir().unwrap();
    // The agent's own interval (1 s) wins over the daemon's default (60 s).
    let daemon = Daemon::start(dir.path(), "interval: 60\ngrace: 1");
    let mut agent = Agent::start(dir.path(), "web2", daemon.udp_addr(), "interval: 1");
    assert!(wait_until(Duration::from_secs(10), || daemon
        .host_state("web2")
        .as_deref()
        == Some("UP")));
    // A round trip has completed (the second heartbeat carries the first one's RTT), so
    // the agent's own 1 s interval is in force.
    assert!(wait_until(Duration::from_secs(10), || daemon
        .host("web2")
        .is_some_and(
            |h| h["last_rtt_ms"].is_number() && h["interval_s"] == 1.0
        )));
    agent.kill();
    let killed = Instant::now();
    assert!(
        wait_until(Duration::from_secs(10), || daemon
            .host_state("web2")
            .as_deref()
            == Some("DOWN")),
        "never DOWN; log:\n{}",
        daemon.log()
    );
    let took = killed.elapsed();
    // interval + grace + 1 s
    assert!(took <= Duration::from_secs(3), "DOWN after {took:?}");
    assert_eq!(daemon.metric("hbd_hosts{state=\"DOWN\"}"), 1.0);
}

#[test]
fn restarted_daemon_remembers_hosts_and_journals_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(dir.path(), "interval: 5\ngrace: 5");
    let mut agent = Agent::start(dir.path(), "db1", daemon.udp_addr(), "interval: 0.5");
    assert!(wait_until(Duration::from_secs(10), || daemon
        .host("db1")
        .is_some_and(|h| h["last_rtt_ms"].is_number())));
    agent.kill();
    let before = daemon.host("db1").unwrap();
    daemon.restart();
    let after = daemon.host("db1").expect("host remembered after restart");
    assert_eq!(
        after["state"], "UP",
        "a restart must not declare hosts DOWN at once"
    );
    for field in [
        "first_seen",
        "last_seen",
        "last_rtt_ms",
        "version",
        "interval_s",
        "address",
    ] {
        assert_eq!(after[field], before[field], "{field}");
    }
    // The journal was flushed on shutdown: it holds the heartbeats and the events.
    let journal = std::fs::read_to_string(dir.path().join("journal/hbd_journal.jsonl")).unwrap();
    let entries: Vec<serde_json::Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let htb = entries
        .iter()
        .find(|e| e["message"]["ID"] == "HTB")
        .expect("an HTB entry");
    assert_eq!(htb["source_ip"], "127.0.0.1");
    assert!(htb["source_port"].is_u64());
    assert!(htb["timestamp"].is_f64());
    assert!(htb["datetime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(htb["message"]["name"], "db1");
    assert!(
        entries
            .iter()
            .any(|e| e["message"]["ID"] == "EVENT" && e["message"]["event"] == "NEW_HOST")
    );
}

#[test]
fn sigterm_and_sigint_stop_the_daemon_cleanly_within_5_s() {
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let dir = tempfile::tempdir().unwrap();
        let mut daemon = Daemon::start(dir.path(), "");
        let _agent = Agent::start(dir.path(), "h", daemon.udp_addr(), "interval: 0.2");
        assert!(wait_until(Duration::from_secs(10), || daemon
            .host("h")
            .is_some()));
        let (status, took) = daemon.stop(signal);
        assert!(status.success(), "{signal}: {status}");
        assert!(took < Duration::from_secs(5), "{signal}: took {took:?}");
        assert!(daemon.log().contains("stopped"), "{}", daemon.log());
    }
}

#[test]
fn one_socket_serves_ipv4_and_ipv6_agents() {
    let dir = tempfile::tempdir().unwrap();
    // `::` is the default: one dual-stack socket. Only loopback traffic is sent.
    let daemon = Daemon::start(dir.path(), "hb_host: \"::\"");
    let v6: std::net::SocketAddr = format!("[::1]:{}", daemon.udp_port).parse().unwrap();
    let _a4 = Agent::start(dir.path(), "via-v4", daemon.udp_addr(), "interval: 0.3");
    let _a6 = Agent::start(dir.path(), "via-v6", v6, "interval: 0.3");
    for name in ["via-v4", "via-v6"] {
        assert!(
            wait_until(Duration::from_secs(10), || daemon
                .host(name)
                .is_some_and(|h| h["last_rtt_ms"].is_number())),
            "{name} never ACKed; log:\n{}",
            daemon.log()
        );
    }
    assert_eq!(daemon.host("via-v6").unwrap()["address"], "::1");
    // IPv4 peers on the dual-stack socket are shown as plain IPv4, not ::ffff:127.0.0.1.
    assert_eq!(daemon.host("via-v4").unwrap()["address"], "127.0.0.1");
}

#[test]
fn an_agent_started_before_its_daemon_keeps_trying_and_is_seen_once_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let port = hbd_e2e::free_udp_port();
    let server: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let agent = Agent::start(dir.path(), "early", server, "interval: 0.2");
    // Nobody listens yet: its heartbeats go nowhere (the kernel refuses them), and it
    // must not give up. Wait until it has hit that at least twice.
    let failures = |log: &str| {
        ["heartbeat not sent", "udp receive error", "server resolved"]
            .iter()
            .map(|m| log.matches(m).count())
            .sum::<usize>()
    };
    assert!(
        wait_until(Duration::from_secs(10), || failures(&agent.log()) >= 2),
        "agent log:\n{}",
        agent.log()
    );
    let daemon = Daemon::start_on(dir.path(), "", port);
    assert!(
        wait_until(Duration::from_secs(10), || daemon
            .host("early")
            .is_some_and(|h| h["last_rtt_ms"].is_number())),
        "agent log:\n{}",
        agent.log()
    );
}

#[test]
fn a_detached_agent_keeps_heartbeating() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), "");
    let config = dir.path().join("detached.yaml");
    // A WASM plugin that loops: only a live epoch thread in the detached process can
    // time it out (threads do not survive the fork that detaches).
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::copy(
        hbd_e2e::wasm_plugin("hbd_fixture_plugin"),
        plugins.join("fixture.wasm"),
    )
    .unwrap();
    std::fs::write(
        &config,
        format!(
            "name: detached1\ninterval: 0.2\nwasm_plugins:\n  dirs: [{}]\n  cache_dir: {}\n  plugins:\n    fixture: {{interval: 0.3, config: {{mode: loop}}, timeout_ms: 100}}\n",
            plugins.display(),
            dir.path().join("cache").display()
        ),
    )
    .unwrap();
    // -d returns at once; the agent lives on in the background.
    let status = std::process::Command::new(hbd_e2e::bin("hbc"))
        .arg("-d")
        .arg("-c")
        .arg(&config)
        .arg(daemon.udp_addr().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let seen = wait_until(Duration::from_secs(10), || {
        daemon.host_state("detached1").as_deref() == Some("UP")
    });
    let timed_out = wait_until(Duration::from_secs(20), || {
        daemon
            .get("/api/0/hosts/detached1/plugins/fixture?limit=10")
            .is_some_and(|(status, body)| status == 200 && body.contains("timed out after 100 ms"))
    });
    // Stop the background agent whatever happened: it is found by its unique config path.
    let wanted = config.display().to_string();
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline)
            .split('\0')
            .any(|arg| arg == wanted)
        {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGTERM);
        }
    }
    assert!(seen, "the detached agent never reported");
    assert!(
        timed_out,
        "the detached agent's looping plugin never timed out"
    );
}
