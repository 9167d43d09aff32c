//! The dns_check example plugin (contract 0.3.0) against a real BIND 9 on loopback: it
//! asks over TCP, reads the answer and its code, holds it to `expect`, and fails as an
//! operator would want (NXDOMAIN, a missing value, a server that is not there) without
//! ever reaching a server it was not granted. Built by scripts/build-plugins.sh.
#![cfg(feature = "wasm")]
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use hb_proto::Status;
use hbc::plugins::Plugin;
use hbc::wasm::{WasmPlugin, WasmSettings};
use hbd_e2e::needs::Need;
use hbd_e2e::services::Bind;

mod support;
use support::{runtime, wasm};

/// dns_check asking `server` with `config`, granted `net`.
fn dns_check(server: &str, config: &[(&str, &str)], net: &str) -> WasmPlugin {
    let settings = WasmSettings {
        config: [("server", server)]
            .iter()
            .chain(config)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        net: vec![net.parse().unwrap()],
        timeout: Duration::from_secs(5),
        ..WasmSettings::default()
    };
    WasmPlugin::load(&runtime(), &wasm("hbd_dns_check"), settings).unwrap()
}

#[test]
fn dns_check_reads_real_answers_and_holds_them_to_what_is_expected() {
    hbd_e2e::require!(Need::Bind, Need::Wasm("hbd_dns_check"));
    let dir = tempfile::tempdir().unwrap();
    let bind = Bind::start(dir.path());
    let server = format!("127.0.0.1:{}", bind.port);

    // (what, config, status, the message holds)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Status, &'a str);
    let cases: &[Case] = &[
        (
            "an A record, as expected",
            &[("name", "ns1.example.test"), ("expect", "127.0.0.1")],
            Status::Ok,
            "ns1.example.test A is 127.0.0.1 (",
        ),
        (
            "the zone's NS, named with or without the final dot",
            &[
                ("name", "example.test"),
                ("type", "ns"),
                ("expect", "NS1.example.test."),
            ],
            Status::Ok,
            "example.test NS is ns1.example.test.",
        ),
        (
            "a value the answer does not hold",
            &[
                ("name", "ns1.example.test"),
                ("expect", "127.0.0.1, 192.0.2.7"),
            ],
            Status::Critical,
            "without 192.0.2.7",
        ),
        (
            "a name that does not exist",
            &[("name", "nothere.example.test")],
            Status::Critical,
            "nothere.example.test A: NXDOMAIN",
        ),
        (
            "a name with no records of the type",
            &[("name", "ns1.example.test"), ("type", "MX")],
            Status::Critical,
            "no records",
        ),
        (
            "a zone the server does not serve (no recursion here)",
            &[("name", "example.org")],
            Status::Critical,
            "REFUSED",
        ),
        (
            "an answer slower than a threshold of no time at all",
            &[("name", "ns1.example.test"), ("warning_ms", "0")],
            Status::Warning,
            "127.0.0.1",
        ),
    ];
    for (what, config, status, says) in cases {
        let mut p = dns_check(&server, config, &server);
        assert_eq!(p.contract(), "0.3.0");
        let c = p.collect().unwrap();
        let message = c.data["message"].as_str().unwrap_or_default();
        assert_eq!(c.status, Some(*status), "{what}: {:?}", c.data);
        assert!(message.contains(says), "{what}: {message}");
        if *status == Status::Ok {
            assert!(c.data["response_ms"].as_f64().unwrap() >= 0.0, "{what}");
            assert_eq!(c.data["rcode"], "NOERROR", "{what}");
        }
    }

    // A server not granted is never asked: the plugin fails (the agent reports it
    // UNKNOWN: the plugin's setup, not the server).
    let mut p = dns_check(&server, &[("name", "ns1.example.test")], "127.0.0.1:1");
    let error = p.collect().unwrap_err().to_string();
    assert!(error.contains("not granted to this plugin"), "{error}");

    // The server gone: CRITICAL, saying so.
    let mut bind = bind;
    bind.stop();
    let mut p = dns_check(&server, &[("name", "ns1.example.test")], &server);
    let c = p.collect().unwrap();
    assert_eq!(c.status, Some(Status::Critical), "{:?}", c.data);
    assert!(
        c.data["message"].to_string().contains("cannot connect"),
        "{:?}",
        c.data
    );
}
