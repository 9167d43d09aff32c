//! Dynamic DNS against a real BIND 9 with a TSIG-protected zone: a host's A record
//! follows the address its heartbeats come from; a refused or unreachable server is
//! retried with backoff and reported per host, while the daemon carries on.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use hbd_e2e::needs::Need;
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use hbd_e2e::services::Bind;
use hbd_e2e::{Daemon, wait_until};
use serde_json::Value;

/// A heartbeat for `host` sent from `ip` (a loopback address).
fn heartbeat_from(daemon: &Daemon, host: &str, ip: &str) {
    let socket = UdpSocket::bind((ip, 0)).unwrap();
    let message = format!(r#"{{"ID":"HTB","name":"{host}","interval":60}}"#);
    socket
        .send_to(message.as_bytes(), daemon.udp_addr())
        .unwrap();
}

/// The `dns` updates about `host` the live stream sends within `limit`.
fn dns_updates(
    ws: &mut tungstenite::WebSocket<TcpStream>,
    host: &str,
    limit: Duration,
) -> Vec<Value> {
    let end = Instant::now() + limit;
    let mut found = Vec::new();
    while found.is_empty() {
        let Some(m) = hbd_e2e::ws_next(ws, end.saturating_duration_since(Instant::now())) else {
            break;
        };
        for u in m["updates"].as_array().into_iter().flatten() {
            if u["type"] == "dns" && u["host"] == host {
                found.push(u["dns"].clone());
            }
        }
    }
    found
}

fn dns_status(daemon: &Daemon, host: &str) -> Value {
    daemon
        .get(&format!("/api/0/hosts/{host}/dns"))
        .filter(|(status, _)| *status == 200)
        .map_or(Value::Null, |(_, body)| {
            serde_json::from_str(&body).unwrap()
        })
}

#[test]
fn a_hosts_record_follows_its_address_and_failures_are_retried_without_blocking() {
    hbd_e2e::require!(Need::Bind);
    let dir = tempfile::tempdir().unwrap();
    let mut bind = Bind::start(dir.path());
    let config = format!(
        "dyndomains:\n  example.test: {{server: 127.0.0.1, port: {port}, key_file: {key}, ttl: 30, all_hosts: true, timeout: 2}}\n  \
         locked.test: {{server: 127.0.0.1, port: {port}, key_file: {key}}}\n\
         hosts:\n  web9: {{dyndomain: locked.test}}\n  quiet: {{dyndomain: false}}\n",
        port = bind.port,
        key = bind.key_file.display()
    );
    let daemon = Daemon::start(dir.path(), &config);
    let stream = TcpStream::connect(daemon.http_addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut ws = tungstenite::client(format!("ws://{}/ws", daemon.http_addr()), stream)
        .unwrap()
        .0;

    // From 127.0.0.2, then from 127.0.0.3: dig sees each.
    heartbeat_from(&daemon, "web1", "127.0.0.2");
    assert!(
        wait_until(Duration::from_secs(20), || bind
            .lookup("web1.example.test", "A")
            == "127.0.0.2"),
        "web1's record never appeared: {}\n{}",
        dns_status(&daemon, "web1"),
        daemon.log()
    );
    heartbeat_from(&daemon, "web1", "127.0.0.3");
    assert!(
        wait_until(Duration::from_secs(20), || bind
            .lookup("web1.example.test", "A")
            == "127.0.0.3"),
        "web1's record did not follow: {}",
        dns_status(&daemon, "web1")
    );
    assert!(wait_until(Duration::from_secs(5), || dns_status(
        &daemon, "web1"
    )["state"]
        == "ok"));
    // The live stream told of the writes.
    let live = dns_updates(&mut ws, "web1", Duration::from_secs(5));
    assert_eq!(live[0]["name"], "web1.example.test", "{live:?}");
    drop(ws);
    let status = dns_status(&daemon, "web1");
    assert_eq!(status["name"], "web1.example.test");
    assert_eq!(status["applied"], "127.0.0.3");

    // A host that opted out gets no record.
    heartbeat_from(&daemon, "quiet", "127.0.0.5");
    // A zone that refuses the daemon's key: reported, retried, never written.
    heartbeat_from(&daemon, "web9", "127.0.0.9");
    assert!(
        wait_until(Duration::from_secs(20), || {
            let s = dns_status(&daemon, "web9");
            s["state"] == "failing" && s["failures"].as_u64() >= Some(2)
        }),
        "the refusal was not reported and retried: {}",
        dns_status(&daemon, "web9")
    );
    let refused = dns_status(&daemon, "web9");
    assert!(
        refused["last_error"].as_str().unwrap().contains("REFUSED"),
        "{refused}"
    );
    // Three failures in a row are told, once, as an event of the host.
    let told = || {
        daemon
            .journal("EVENT")
            .into_iter()
            .filter(|e| e["name"] == "web9" && e["event"] == "DNS_FAILED")
            .collect::<Vec<_>>()
    };
    assert!(
        wait_until(Duration::from_secs(30), || !told().is_empty()),
        "{}",
        dns_status(&daemon, "web9")
    );
    let summary = told()[0]["summary"].as_str().unwrap().to_owned();
    assert!(
        summary.starts_with("DNS FAILED: web9 - web9.locked.test not written after 3 tries: ")
            && summary.contains("REFUSED"),
        "{summary}"
    );
    assert_eq!(bind.lookup("web9.locked.test", "A"), "");
    assert_eq!(bind.lookup("quiet.example.test", "A"), "");
    assert_eq!(daemon.get("/api/0/hosts/quiet/dns").unwrap().0, 404);

    // The server goes away: the change is retried with backoff and written once it is
    // back; meanwhile heartbeats and the API carry on.
    bind.stop();
    heartbeat_from(&daemon, "web1", "127.0.0.4");
    assert!(
        wait_until(
            Duration::from_secs(20),
            || dns_status(&daemon, "web1")["state"] == "failing"
        ),
        "{}",
        dns_status(&daemon, "web1")
    );
    heartbeat_from(&daemon, "web2", "127.0.0.6");
    assert!(
        wait_until(Duration::from_secs(2), || daemon
            .host_state("web2")
            .as_deref()
            == Some("UP")),
        "the daemon stalled while DNS failed"
    );
    bind.restart();
    assert!(
        wait_until(Duration::from_secs(40), || bind
            .lookup("web1.example.test", "A")
            == "127.0.0.4"),
        "not written after the server came back: {}",
        dns_status(&daemon, "web1")
    );
    // The record can be visible before the worker has counted the update that wrote
    // it (nsupdate returns after the server answered): wait for the counts.
    assert!(
        wait_until(Duration::from_secs(10), || daemon
            .metric("hbd_dns_updates_total")
            >= 3.0),
        "updates counted: {}",
        daemon.metric("hbd_dns_updates_total")
    );
    assert!(daemon.metric("hbd_dns_update_failures_total") >= 3.0);

    // A manager can have it written again now.
    let forced = daemon.call("POST", "/api/0/hosts/web1/dns", &[], None);
    assert_eq!(forced.status, 202, "{}", forced.body);
    let journal = || {
        std::fs::read_to_string(dir.path().join("journal/hbd_journal.jsonl")).unwrap_or_default()
    };
    assert!(
        wait_until(Duration::from_secs(10), || journal()
            .lines()
            .filter(|l| l.contains(r#""ID":"DNS""#)
                && l.contains(r#""address":"127.0.0.4""#)
                && l.contains(r#""result":"ok""#))
            .count()
            >= 2),
        "the forced write is journaled"
    );
    let none = daemon.call("POST", "/api/0/hosts/quiet/dns", &[], None);
    assert_eq!(none.status, 409, "{}", none.body);
}
