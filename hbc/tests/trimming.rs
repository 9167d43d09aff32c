//! A report too large for one datagram is trimmed, not lost: the agent sends it with
//! per-item detail replaced by markers, and the datagram decodes.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::net::UdpSocket;
use std::time::Duration;

use hb_proto::frame::{decode_payload, split};
use hb_proto::{Limits, Message, PluginKind};
use hbc::heartbeat::{Identity, send_report};
use hbc::link::Link;
use hbc::plugins::scheduler::Report;
use serde_json::{Map, Value, json};

#[tokio::test]
async fn oversized_reports_are_trimmed_to_fit() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let port = server.local_addr().unwrap().port();
    // N interfaces with incompressible names and values: well over 64 KiB.
    const N: usize = 2400;
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut interfaces = Map::new();
    for i in 0..N {
        interfaces.insert(
            format!("if{i}-{:x}", next()),
            json!({"rx_bytes": next(), "tx_bytes": next()}),
        );
    }
    let mut data = Map::new();
    data.insert("errors_total".into(), json!(0));
    data.insert("interfaces".into(), Value::Object(interfaces));
    let report = Report {
        plugin: "network_monitor".into(),
        kind: PluginKind::Monitor,
        data,
        status: None,
        duration_ms: 1.0,
    };
    let mut link = Link::new("127.0.0.1", port, Some("0123456789abcdef"), "big1");
    let mut me = Identity::new("big1".into());
    send_report(&mut link, &mut me, report).await;

    let mut buf = vec![0u8; 70_000];
    let (len, _) = server.recv_from(&mut buf).unwrap();
    assert!(len <= 65_507);
    assert!(
        len > 52_000,
        "trimmed far more than needed: {len} bytes left"
    );
    let frame = split(&buf[..len], &Limits::default()).unwrap();
    let Message::Plugin(plg) = decode_payload(frame.payload(), &Limits::default())
        .unwrap()
        .message
    else {
        panic!("not a PLG");
    };
    assert_eq!(plg.data["errors_total"], 0, "top-level scalars survive");
    let interfaces = plg.data["interfaces"].as_object().unwrap();
    let trimmed = interfaces
        .values()
        .filter(|v| v.get("trimmed") == Some(&json!(true)))
        .count();
    assert!(trimmed > 0, "some interfaces trimmed");
    assert!(trimmed < N, "not everything trimmed: {trimmed}");
    assert_eq!(interfaces.len(), N, "every interface still named");
    println!("{trimmed} of {N} interfaces trimmed, datagram {len} bytes");
}
