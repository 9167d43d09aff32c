//! Plugins that reach the network (contract 0.3.0), against real TCP servers on
//! loopback: the tcp_check example reaches what it is granted and is refused anything
//! else (another port, a granted name whose address the agent denies), a server that
//! never speaks costs it only its own time, and a plugin of an earlier contract is
//! given no network at all. Built by scripts/build-plugins.sh (`plugins-wasm/tcp-check`).
#![cfg(feature = "wasm")]
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use hb_artifact::net::Destination;
use hb_proto::Status;
use hbc::plugins::Plugin;
use hbc::wasm::{WasmPlugin, WasmSettings};
use hbd_e2e::needs::Need;

mod support;
use support::{runtime, wasm};

/// A server on loopback that greets each connection with `greeting` (nothing when
/// `None`, holding the connection open) until the test ends.
fn server(greeting: Option<&'static str>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { continue };
            if let Some(text) = greeting {
                let _ = stream.write_all(text.as_bytes());
            }
            held.push(stream);
        }
    });
    addr
}

fn d(text: &str) -> Destination {
    text.parse().unwrap()
}

/// tcp_check for `host:port`, granted `net`, denying `deny`.
fn tcp_check(
    host: &str,
    port: u16,
    extra: &[(&str, &str)],
    net: Vec<Destination>,
    deny: Vec<Destination>,
) -> WasmPlugin {
    let mut config = vec![
        ("host".to_owned(), host.to_owned()),
        ("port".to_owned(), port.to_string()),
    ];
    config.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let settings = WasmSettings {
        config,
        net,
        deny,
        timeout: Duration::from_secs(3),
        ..WasmSettings::default()
    };
    WasmPlugin::load(&runtime(), &wasm("hbd_tcp_check"), settings).unwrap()
}

#[test]
fn a_granted_port_is_reached_and_every_other_destination_refused() {
    hbd_e2e::require!(Need::Wasm("hbd_tcp_check"));
    let ssh = server(Some("SSH-2.0-hbd-test\r\n"));
    let other = server(Some("SSH-2.0-other\r\n"));
    let granted = vec![d(&format!("127.0.0.1:{}", ssh.port()))];

    let mut p = tcp_check(
        "127.0.0.1",
        ssh.port(),
        &[("expect", "SSH-2.0")],
        granted.clone(),
        vec![],
    );
    assert_eq!(p.contract(), "0.3.0");
    let c = p.collect().unwrap();
    assert_eq!(c.status, Some(Status::Ok), "{:?}", c.data);
    assert_eq!(c.data["address"], ssh.to_string());
    assert!(c.data["connect_ms"].as_f64().unwrap() >= 0.0);
    // The same plugin again: a fresh instance, the same answer.
    assert_eq!(p.collect().unwrap().status, Some(Status::Ok));

    // (what, host, port, net, deny, the error names)
    type Case = (
        &'static str,
        &'static str,
        u16,
        Vec<Destination>,
        Vec<Destination>,
    );
    let refused: Vec<Case> = vec![
        (
            "another port",
            "127.0.0.1",
            other.port(),
            granted.clone(),
            vec![],
        ),
        (
            "another address of the granted port",
            "127.0.0.2",
            ssh.port(),
            granted.clone(),
            vec![],
        ),
        (
            "a granted name whose addresses the agent denies",
            "localhost",
            ssh.port(),
            vec![d(&format!("localhost:{}", ssh.port()))],
            vec![d("127.0.0.0/8:*"), d("[::1]:*")],
        ),
        ("no grant at all", "127.0.0.1", ssh.port(), vec![], vec![]),
    ];
    for (what, host, port, net, deny) in refused {
        let has_net = !net.is_empty();
        let mut p = tcp_check(host, port, &[], net, deny);
        let e = p.collect().unwrap_err().to_string();
        assert!(
            e.contains("not granted") || (!has_net && e.contains("denied")),
            "{what}: {e}"
        );
    }

    // A granted name reaches the address it resolves to.
    let mut p = tcp_check(
        "localhost",
        ssh.port(),
        &[("expect", "SSH-2.0")],
        vec![d(&format!("localhost:{}", ssh.port()))],
        vec![],
    );
    let c = p.collect().unwrap();
    assert_eq!(c.status, Some(Status::Ok), "{:?}", c.data);
}

#[test]
fn a_server_that_never_speaks_costs_the_plugin_only_its_own_time() {
    hbd_e2e::require!(Need::Wasm("hbd_tcp_check"));
    let silent = server(None);
    let mut p = tcp_check(
        "127.0.0.1",
        silent.port(),
        &[("expect", "SSH-"), ("timeout_ms", "300")],
        vec![d(&format!("127.0.0.1:{}", silent.port()))],
        vec![],
    );
    let started = Instant::now();
    let c = p.collect().unwrap();
    assert_eq!(c.status, Some(Status::Critical), "{:?}", c.data);
    assert!(
        c.data["message"].as_str().unwrap().contains("no greeting"),
        "{:?}",
        c.data
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "it waited for its own timeout, not the call's"
    );
}

#[test]
fn plugin_check_runs_a_network_plugin_against_a_local_server() {
    hbd_e2e::require!(Need::Wasm("hbd_tcp_check"));
    let smtp = server(Some("220 mail.test ESMTP\r\n"));
    let check = |net: &[String]| {
        let mut args = vec![
            "plugin".to_owned(),
            "check".to_owned(),
            wasm("hbd_tcp_check").display().to_string(),
            "--timeout-ms".to_owned(),
            "3000".to_owned(),
            "--config".to_owned(),
            format!(
                r#"{{"host": "127.0.0.1", "port": {}, "expect": "ESMTP"}}"#,
                smtp.port()
            ),
        ];
        for n in net {
            args.push("--net".to_owned());
            args.push(n.clone());
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hbc"))
            .args(&args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, out) = check(&[format!("127.0.0.1:{}", smtp.port())]);
    assert!(ok, "{out}");
    assert!(out.contains("contract: hbd:plugin@0.3.0"), "{out}");
    assert!(out.contains(r#""status": "OK""#), "{out}");
    let (ok, out) = check(&[format!("127.0.0.1:{}", smtp.port() - 1)]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("UNKNOWN") && out.contains("not granted"),
        "{out}"
    );
}

#[test]
fn only_a_plugin_of_contract_0_3_is_given_the_network() {
    hbd_e2e::require!(Need::Wasm("hbd_log_freshness"));
    let settings = WasmSettings {
        net: vec![d("127.0.0.1:22")],
        ..WasmSettings::default()
    };
    let e = WasmPlugin::load(&runtime(), &wasm("hbd_log_freshness"), settings)
        .unwrap_err()
        .to_string();
    assert!(e.contains("reaches no network"), "{e}");
}
