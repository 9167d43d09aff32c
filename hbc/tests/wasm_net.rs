//! Plugins that reach the network (contract 0.3.0), against real TCP and TLS servers on
//! loopback: the tcp_check example reaches what it is granted and is refused anything
//! else (another port, a granted name whose address the agent denies), a server that
//! never speaks costs it only its own time, tls_expiry reads a certificate's days left
//! and trust, and a plugin of an earlier contract is given no network at all. Built by
//! scripts/build-plugins.sh (`plugins-wasm/net`).
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
use support::{persistent_cache, runtime, wasm};

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

/// Settings with `config` then `extra` passed to the plugin, granted `net`, 5 s a call.
fn settings(
    config: &[(&str, &str)],
    extra: &[(&str, &str)],
    net: Vec<Destination>,
) -> WasmSettings {
    WasmSettings {
        config: config
            .iter()
            .chain(extra)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        net,
        timeout: Duration::from_secs(5),
        ..WasmSettings::default()
    }
}

/// tcp_check for `host:port`, granted `net`, denying `deny`.
fn tcp_check(
    host: &str,
    port: u16,
    extra: &[(&str, &str)],
    net: Vec<Destination>,
    deny: Vec<Destination>,
) -> WasmPlugin {
    let port = port.to_string();
    let settings = WasmSettings {
        deny,
        ..settings(&[("host", host), ("port", &port)], extra, net)
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

    // A granted destination where nothing listens is CRITICAL, refused, never
    // "accepted" (the standard library's connect with a time limit says Ok there).
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for host in ["127.0.0.1", "127.0.0.2"] {
        let mut p = tcp_check(
            host,
            closed,
            &[],
            vec![d(&format!("{host}:{closed}"))],
            vec![],
        );
        let c = p.collect().unwrap();
        assert_eq!(c.status, Some(Status::Critical), "{host}: {:?}", c.data);
        let said = c.data["message"].as_str().unwrap();
        assert!(said.contains("refused"), "{host}: {said}");
    }

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

/// A TLS server on loopback presenting a self-signed certificate for `tls.test` that
/// expires in `days`.
fn tls_server(days: u64) -> SocketAddr {
    let mut params = rcgen::CertificateParams::new(vec!["tls.test".to_owned()]).unwrap();
    params.not_before = (std::time::SystemTime::now() - Duration::from_secs(86_400)).into();
    params.not_after = (std::time::SystemTime::now() + Duration::from_secs(days * 86_400)).into();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let config = std::sync::Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(mut stream) = stream else { continue };
            let mut tls = rustls::ServerConnection::new(config.clone()).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            while tls.is_handshaking() {
                if tls.complete_io(&mut stream).is_err() {
                    break;
                }
            }
        }
    });
    addr
}

fn tls_expiry(addr: SocketAddr, extra: &[(&str, &str)], net: Vec<Destination>) -> WasmPlugin {
    let port = addr.port().to_string();
    let config = [
        ("host", "127.0.0.1"),
        ("port", port.as_str()),
        ("server_name", "tls.test"),
    ];
    let settings = settings(&config, extra, net);
    WasmPlugin::load(&runtime(), &wasm("hbd_tls_expiry"), settings).unwrap()
}

#[test]
fn tls_expiry_flags_a_certificate_at_each_threshold_and_an_untrusted_one() {
    hbd_e2e::require!(Need::Wasm("hbd_tls_expiry"));
    // (days the certificate has left, status, the threshold flagged)
    let cases = [
        (90, Status::Ok, 0.0),
        (20, Status::Warning, 30.0),
        (10, Status::Warning, 14.0),
        (3, Status::Critical, 7.0),
    ];
    for (days, status, flag) in cases {
        let server = tls_server(days);
        let granted = vec![d(&format!("127.0.0.1:{}", server.port()))];
        let mut p = tls_expiry(server, &[("require_trusted", "false")], granted.clone());
        let c = p.collect().unwrap();
        assert_eq!(c.status, Some(status), "{days} days: {:?}", c.data);
        let left = c.data["days_left"].as_f64().unwrap();
        assert!((left - days as f64).abs() < 1.0, "{days} days: {left}");
        assert_eq!(c.data["flag_days"].as_f64().unwrap(), flag, "{days} days");
        assert_eq!(c.data["trusted"], false, "self-signed");
        assert!(
            c.data["subject"].as_str().unwrap().contains("rcgen"),
            "{:?}",
            c.data
        );
        assert_eq!(c.data["protocol"], "TLSv1.3");
        // Trust required (the default): a self-signed certificate is CRITICAL, saying why.
        let mut strict = tls_expiry(server, &[], granted);
        let c = strict.collect().unwrap();
        assert_eq!(c.status, Some(Status::Critical), "{:?}", c.data);
        assert!(
            c.data["message"].as_str().unwrap().contains("not trusted"),
            "{:?}",
            c.data
        );
    }
    // Not granted: refused before any connection.
    let server = tls_server(90);
    let mut p = tls_expiry(
        server,
        &[],
        vec![d(&format!("127.0.0.1:{}", server.port() - 1))],
    );
    let e = p.collect().unwrap_err().to_string();
    assert!(e.contains("not granted"), "{e}");
}

fn p_settings(mode: &str, target: SocketAddr, extra: &[(&str, &str)]) -> WasmSettings {
    let to = target.to_string();
    WasmSettings {
        connections: 8,
        ..settings(
            &[("mode", mode), ("target", &to)],
            extra,
            vec![d(&format!("127.0.0.1:{}", target.port()))],
        )
    }
}

fn net_fixture(
    mode: &str,
    target: SocketAddr,
    extra: &[(&str, &str)],
    net: Vec<Destination>,
) -> WasmPlugin {
    let settings = WasmSettings {
        net,
        ..p_settings(mode, target, extra)
    };
    WasmPlugin::load(&runtime(), &wasm("hbd_net_fixture"), settings).unwrap()
}

/// A server on loopback that sends each connection `total` bytes, `chunk` at a time,
/// `pause` between chunks.
fn talker(total: usize, chunk: usize, pause: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let block = vec![b'x'; chunk];
                let mut sent = 0;
                while sent < total && stream.write_all(&block).is_ok() {
                    sent += chunk;
                    std::thread::sleep(pause);
                }
            });
        }
    });
    addr
}

#[test]
fn a_hostile_plugin_is_held_to_its_grants_and_limits() {
    hbd_e2e::require!(Need::Wasm("hbd_net_fixture"));
    let open = server(Some("hello\r\n"));
    let granted = vec![d(&format!("127.0.0.1:{}", open.port()))];

    // A thousand connections in one call: the grant's eight get through, the rest are
    // refused, and the next call has its eight again.
    let mut p = net_fixture("flood", open, &[("count", "1000")], granted.clone());
    for _ in 0..2 {
        let c = p.collect().unwrap();
        assert_eq!(c.data["connected"], 8, "{:?}", c.data);
        assert_eq!(c.data["refused"], 992, "{:?}", c.data);
        assert!(
            c.data["first_error"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("denied"),
            "{:?}",
            c.data
        );
    }

    // Listening and UDP: refused whatever is granted.
    for mode in ["listen", "udp"] {
        let mut p = net_fixture(mode, open, &[], vec![d("*:*")]);
        let c = p.collect().unwrap_or_else(|e| panic!("{mode}: {e}"));
        assert!(c.data["refused"].as_str().is_some(), "{mode}: {:?}", c.data);
    }

    // A huge answer: the plugin takes what its own limit says, the agent nothing.
    let huge = talker(64 << 20, 64 << 10, Duration::ZERO);
    let mut p = net_fixture(
        "read",
        huge,
        &[("limit_bytes", "1048576")],
        vec![d(&format!("127.0.0.1:{}", huge.port()))],
    );
    let c = p.collect().unwrap();
    assert_eq!(c.data["bytes"], 1 << 20, "{:?}", c.data);

    // A slow-loris server, a byte a second: the plugin's own read timeout ends it.
    let slow = talker(1000, 1, Duration::from_secs(1));
    let mut p = net_fixture(
        "read",
        slow,
        &[("timeout_ms", "300")],
        vec![d(&format!("127.0.0.1:{}", slow.port()))],
    );
    let c = p.collect().unwrap();
    assert!(c.data["bytes"].as_u64().unwrap() <= 1, "{:?}", c.data);
    // A byte every 100 ms keeps each read inside its timeout: the call's own time limit
    // (here 1 s) ends it, and the agent carries on.
    let trickle = talker(100_000, 1, Duration::from_millis(100));
    let mut p = net_fixture(
        "read",
        trickle,
        &[("timeout_ms", "300")],
        vec![d(&format!("127.0.0.1:{}", trickle.port()))],
    );
    p.configure(WasmSettings {
        timeout: Duration::from_secs(1),
        ..p_settings("read", trickle, &[("timeout_ms", "300")])
    })
    .unwrap();
    let started = Instant::now();
    let e = p.collect().unwrap_err().to_string();
    assert!(e.contains("timed out"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

/// An HTTP/1.1 server on loopback: `/ok` says hello, `/moved` redirects to
/// `redirect_to`, `/big` sends 8 MiB, `/slow` answers after 3 s, anything else 404.
fn web(redirect_to: &'static str) -> SocketAddr {
    use std::io::{BufRead, BufReader};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(32) {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                reader.read_line(&mut first).unwrap_or(0);
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 2 {
                    line.clear();
                }
                let path = first.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (status, extra, body): (&str, String, Vec<u8>) = match path.as_str() {
                    "/ok" => ("200 OK", String::new(), b"hello world".to_vec()),
                    "/moved" => (
                        "302 Found",
                        format!("location: {redirect_to}\r\n"),
                        Vec::new(),
                    ),
                    "/big" => ("200 OK", String::new(), vec![b'x'; 8 << 20]),
                    "/slow" => {
                        std::thread::sleep(Duration::from_secs(3));
                        ("200 OK", String::new(), b"late".to_vec())
                    }
                    _ => ("404 Not Found", String::new(), b"no".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            });
        }
    });
    addr
}

fn http_check(url: &str, extra: &[(&str, &str)], net: Vec<Destination>) -> WasmPlugin {
    let settings = settings(&[("url", url)], extra, net);
    WasmPlugin::load(&runtime(), &wasm("hbd_http_check"), settings).unwrap()
}

#[test]
fn http_check_reads_status_latency_and_body_and_follows_no_redirect() {
    hbd_e2e::require!(Need::Wasm("hbd_http_check"));
    let site = web("http://127.0.0.2:9/ok");
    let granted = vec![d(&format!("127.0.0.1:{}", site.port()))];
    let url = |path: &str| format!("http://127.0.0.1:{}{path}", site.port());
    // (path, settings, status, what the message or data says)
    type Case = (
        &'static str,
        Vec<(&'static str, &'static str)>,
        Status,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        ("/ok", vec![("expect", "hello")], Status::Ok, "answered 200"),
        (
            "/ok",
            vec![("expect", "goodbye")],
            Status::Critical,
            "not in the body",
        ),
        ("/missing", vec![], Status::Critical, "answered 404"),
        ("/moved", vec![], Status::Ok, "answered 302"),
        (
            "/slow",
            vec![("timeout_ms", "500")],
            Status::Critical,
            "no answer in time",
        ),
    ];
    for (path, extra, status, says) in cases {
        let mut p = http_check(&url(path), &extra, granted.clone());
        let c = p.collect().unwrap();
        assert_eq!(c.status, Some(status), "{path}: {:?}", c.data);
        let message = c.data["message"].as_str().unwrap();
        assert!(message.contains(says), "{path}: {message}");
    }
    // The redirect's target was not fetched: it is on a host this plugin was not
    // granted, and asking for it directly is refused.
    let mut p = http_check("http://127.0.0.2:9/ok", &[], granted.clone());
    let e = p.collect().unwrap_err().to_string();
    assert!(e.contains("not granted"), "{e}");
    // A huge answer: the plugin keeps what it asked for.
    let mut p = http_check(&url("/big"), &[("max_body_bytes", "1048576")], granted);
    let c = p.collect().unwrap();
    assert_eq!(c.data["body_bytes"], 1 << 20, "{:?}", c.data);
    assert_eq!(c.status, Some(Status::Ok), "{:?}", c.data);
}

#[test]
fn a_python_plugin_checks_an_http_endpoint_it_is_granted() {
    hbd_e2e::require!(Need::Wasm("http_py"));
    let site = web("http://127.0.0.2:9/ok");
    let granted = vec![d(&format!("127.0.0.1:{}", site.port()))];
    // The 18 MB component compiles once per build dir.
    let rt = hbc::wasm::Runtime::new(Some(persistent_cache())).unwrap();
    let load = |path: &str, net: Vec<Destination>| {
        let url = format!("http://127.0.0.1:{}{path}", site.port());
        WasmPlugin::load(
            &rt,
            &wasm("http_py"),
            settings(&[("url", &url), ("expect", "hello")], &[], net),
        )
        .unwrap()
    };
    let mut p = load("/ok", granted.clone());
    assert_eq!(p.contract(), "0.3.0");
    let c = p.collect().unwrap();
    assert_eq!(c.status, Some(Status::Ok), "{:?}", c.data);
    assert_eq!(c.data["status_code"], 200);
    let c = load("/missing", granted).collect().unwrap();
    assert_eq!(c.status, Some(Status::Critical), "{:?}", c.data);
    let e = load("/ok", vec![d("127.0.0.1:9")])
        .collect()
        .unwrap_err()
        .to_string();
    assert!(e.contains("NotGranted"), "{e}");
}

#[test]
fn a_javascript_plugin_reads_a_certificate_it_is_granted() {
    hbd_e2e::require!(Need::Wasm("tls_js"));
    let server = tls_server(10);
    let rt = hbc::wasm::Runtime::new(Some(persistent_cache())).unwrap();
    let port = server.port().to_string();
    let config = [
        ("host", "127.0.0.1"),
        ("port", port.as_str()),
        ("server_name", "tls.test"),
    ];
    let load = |extra: &[(&str, &str)], net: Vec<Destination>| {
        WasmPlugin::load(&rt, &wasm("tls_js"), settings(&config, extra, net)).unwrap()
    };
    let granted = vec![d(&format!("127.0.0.1:{port}"))];
    let mut p = load(&[("require_trusted", "false")], granted.clone());
    assert_eq!(p.contract(), "0.3.0");
    let c = p.collect().unwrap();
    assert_eq!(c.status, Some(Status::Warning), "{:?}", c.data);
    assert!(
        (c.data["days_left"].as_f64().unwrap() - 10.0).abs() < 1.0,
        "{:?}",
        c.data
    );
    let c = load(&[], granted).collect().unwrap();
    assert_eq!(c.status, Some(Status::Critical), "untrusted: {:?}", c.data);
    let e = load(&[], vec![]).collect().unwrap_err().to_string();
    assert!(e.contains("not-granted"), "{e}");
}
