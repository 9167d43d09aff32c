//! A check run from several vantage points, end to end: three real agents (probe1-3)
//! run the TCP check plugin against one loopback service, and the daemon combines their
//! answers by a quorum (two of three). probe3 is cut off from the service (it reaches
//! for it at 127.0.0.2, where nothing listens): it pages nobody. The service stopped for
//! everyone pages once, and once it is back the check recovers once. The answers and
//! latencies of each vantage point are in the API and, in a real browser, on /checks.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hbd_e2e::needs::Need;
use hbd_e2e::services::HttpStub;
use hbd_e2e::{Agent, Daemon, wait_until, wasm_plugin};

/// A TCP service on `listener` that accepts until `stop` is set, then closes its socket.
fn serve(listener: TcpListener, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((s, _)) => drop(s),
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    })
}

/// `127.0.0.1:port` listening again (the port may be in use for a moment).
fn listen_again(port: u16) -> TcpListener {
    let mut bound = None;
    let again = wait_until(Duration::from_secs(10), || {
        bound = TcpListener::bind(("127.0.0.1", port)).ok();
        bound.is_some()
    });
    assert!(again, "port {port} could not be bound again");
    bound.unwrap()
}

fn checks(daemon: &Daemon) -> serde_json::Value {
    let (status, body) = daemon.get("/api/0/checks").unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// The answer of `host` to the check `web`, if it has answered.
fn answer(daemon: &Daemon, host: &str) -> Option<serde_json::Value> {
    let all = checks(daemon);
    all[0]["vantage"]
        .as_array()?
        .iter()
        .find(|v| v["host"] == host)
        .cloned()
}

/// Waits until every probe has answered twice more (fresh answers after `at`).
fn rounds(daemon: &Daemon) {
    for _ in 0..2 {
        let before: Vec<serde_json::Value> = (1..=3)
            .map(|i| answer(daemon, &format!("probe{i}")).unwrap()["at"].clone())
            .collect();
        assert!(
            wait_until(Duration::from_secs(30), || (1..=3).all(|i| {
                answer(daemon, &format!("probe{i}")).is_some_and(|a| a["at"] != before[i - 1])
            })),
            "the probes stopped answering: {:#}",
            checks(daemon)
        );
    }
}

/// The Pushover messages about the check, and those about a probe's own tcp_check.
fn pages(stub: &HttpStub) -> (Vec<String>, Vec<String>) {
    let all: Vec<String> = stub
        .requests("/1/messages.json")
        .iter()
        .map(|r| r["body"]["message"].as_str().unwrap_or_default().to_owned())
        .collect();
    let check = all
        .iter()
        .filter(|m| m.contains("check:web"))
        .cloned()
        .collect();
    let own = all
        .iter()
        .filter(|m| m.contains("probe") && m.contains("- tcp_check") && !m.contains("check:web"))
        .cloned()
        .collect();
    (check, own)
}

#[test]
fn a_check_from_three_vantage_points_pages_once_when_two_agree() {
    hbd_e2e::require!(Need::Wasm("hbd_tcp_check"), Need::TestPython, Need::Browser);
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let service = serve(listener, stop.clone());
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::copy(wasm_plugin("hbd_tcp_check"), plugins.join("tcp_check.wasm")).unwrap();
    let stub = HttpStub::start(dir.path());
    let daemon = Daemon::start(
        dir.path(),
        &format!(
            "pushover:
  url: {url}/1/messages.json
  token: azGDORePK8gMaC0QOYAMyEEuzJnyUi
  user: uQiRzpo4DXghDmr9QzzfQu27cmVRsG
notify_retry_base: 0.2
groups:
  probes:
    hosts: ['probe*']
checks:
  web:
    plugin: tcp_check
    group: probes
",
            url = stub.url()
        ),
    );
    let probe = |name: &str, target: &str| {
        Agent::start(
            dir.path(),
            name,
            daemon.udp_addr(),
            &format!(
                "interval: 0.5
plugins: {{cpu_monitor: {{enabled: false}}, memory_monitor: {{enabled: false}}, disk_monitor: {{enabled: false}}, network_monitor: {{enabled: false}}}}
wasm_plugins:
  dirs: [{plugins}]
  cache_dir: {cache}
  plugins:
    tcp_check:
      interval: 0.5
      timeout_ms: 5000
      config: {{host: '{target}', port: {port}, timeout_ms: 1000}}
      net: ['{target}:{port}']
",
                plugins = plugins.display(),
                cache = dir.path().join("cache").display(),
            ),
        )
    };
    // The two that reach the target first: the group then has two known members, so
    // the default quorum is two (a first vantage point alone would be a majority of
    // one: THRESHOLD_ALERTING.md).
    let mut agents = vec![probe("probe1", "127.0.0.1"), probe("probe2", "127.0.0.1")];
    assert!(
        wait_until(Duration::from_secs(120), || {
            (1..=2).all(|i| answer(&daemon, &format!("probe{i}")).is_some())
        }),
        "{:#}\n{}",
        checks(&daemon),
        daemon.log()
    );
    agents.push(probe("probe3", "127.0.0.2"));

    // All three answer; probe3's answer is CRITICAL, the check stays OK.
    let answered = wait_until(Duration::from_secs(120), || {
        (1..=3).all(|i| answer(&daemon, &format!("probe{i}")).is_some())
    });
    assert!(answered, "{:#}\n{}", checks(&daemon), daemon.log());
    rounds(&daemon);
    let check = checks(&daemon)[0].clone();
    assert_eq!(check["name"], "web");
    assert_eq!(check["level"], "OK", "{check:#}");
    assert_eq!(
        (check["quorum"].as_u64(), check["counted"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(check["agreeing"], 2, "{check:#}");
    let cut_off = answer(&daemon, "probe3").unwrap();
    assert_eq!(cut_off["level"], "CRITICAL", "{cut_off:#}");
    assert!(
        cut_off["detail"].as_str().unwrap().contains("127.0.0.2"),
        "{cut_off:#}"
    );
    let near = answer(&daemon, "probe1").unwrap();
    assert_eq!(near["level"], "OK", "{near:#}");
    assert!(
        near["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{near:#}"
    );
    // probe3's own tcp_check alert is there, and held: the check tells.
    let (_, body) = daemon.get("/api/0/hosts/probe3/alerts").unwrap();
    let own: serde_json::Value = serde_json::from_str(&body).unwrap();
    let alert = own
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == "tcp_check")
        .unwrap_or_else(|| panic!("{own:#}"));
    assert_eq!(alert["level"], "CRITICAL");
    assert_eq!(alert["held"]["reason"], "vantage", "{alert:#}");
    assert_eq!(alert["held"]["check"], "web");
    assert_eq!(
        pages(&stub),
        (vec![], vec![]),
        "one vantage point pages nobody"
    );

    // The service goes away for everyone: one page, naming the check.
    stop.store(true, Ordering::Relaxed);
    service.join().unwrap();
    assert!(
        wait_until(Duration::from_secs(30), || !pages(&stub).0.is_empty()),
        "{:#}",
        checks(&daemon)
    );
    rounds(&daemon);
    let (check_pages, own) = pages(&stub);
    assert_eq!(check_pages.len(), 1, "{check_pages:#?}");
    assert!(
        check_pages[0].starts_with("CRITICAL: check:web - tcp_check = "),
        "{}",
        check_pages[0]
    );
    assert!(
        check_pages[0].contains("vantage points CRITICAL (quorum 2)"),
        "{}",
        check_pages[0]
    );
    assert_eq!(own, Vec::<String>::new());
    let check = checks(&daemon)[0].clone();
    assert_eq!(
        (check["level"].as_str(), check["agreeing"].as_u64()),
        (Some("CRITICAL"), Some(3))
    );
    // The problems list has it.
    let (_, body) = daemon.get("/api/0/alerts").unwrap();
    assert!(body.contains("\"host\":\"check:web\""), "{body}");

    // What a person sees on /checks, in a real browser.
    let seen = browse(&daemon);
    assert_eq!(seen["problems"], serde_json::json!([]), "{seen:#}");
    assert_eq!(seen["checks"][0]["name"], "web", "{seen:#}");
    assert_eq!(seen["checks"][0]["level"], "CRITICAL", "{seen:#}");
    let rows = seen["checks"][0]["rows"].as_array().unwrap();
    let hosts: Vec<&str> = rows.iter().map(|r| r[0].as_str().unwrap()).collect();
    assert_eq!(hosts, ["probe1", "probe2", "probe3"], "{seen:#}");
    for row in rows {
        assert_eq!(row[1], "CRITICAL", "{row}");
        assert_eq!(row[2], "yes", "{row}");
    }

    // Back for everyone: one RECOVERED.
    stop.store(false, Ordering::Relaxed);
    let _service = serve(listen_again(port), stop.clone());
    assert!(
        wait_until(Duration::from_secs(30), || pages(&stub).0.len() >= 2),
        "{:#}",
        checks(&daemon)
    );
    rounds(&daemon);
    let (check_pages, own) = pages(&stub);
    assert_eq!(check_pages.len(), 2, "{check_pages:#?}");
    assert!(
        check_pages[1].starts_with("RECOVERED: check:web - tcp_check"),
        "{}",
        check_pages[1]
    );
    assert_eq!(own, Vec::<String>::new());
    stop.store(true, Ordering::Relaxed);
}

/// Opens /checks in headless Chromium: each check's name, state and vantage rows.
fn browse(daemon: &Daemon) -> serde_json::Value {
    hbd_e2e::browser(
        "checks.mjs",
        &[&format!("http://{}", daemon.http_addr())],
        &[],
    )
}
