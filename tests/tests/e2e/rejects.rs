//! End to end: hostile and broken datagrams are counted by reason and dropped, while a
//! real agent's heartbeats keep flowing; `require_signed` refuses unsigned senders.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use hb_proto::frame::{DEFAULT_COMPRESS_OVER, deflate, encode};
use hb_proto::{Heartbeat, Key, Message, Signer};
use hbd_e2e::{Agent, Daemon, send_datagram, unix_now, wait_until};

const GLOBAL_KEY: &str = "global-test-key-0123456789";

fn htb(name: &str, seq: u64) -> Message {
    Message::Heartbeat(Heartbeat {
        name: name.into(),
        ts: Some(unix_now()),
        run: Some(99),
        seq: Some(seq),
        interval: Some(30.0),
        ..Heartbeat::default()
    })
}

fn signed(msg: &Message, secret: &str) -> Vec<u8> {
    let signer = Signer {
        key_id: "probe".into(),
        key: Key::new(secret),
    };
    encode(msg, Some(&signer), DEFAULT_COMPRESS_OVER).unwrap()
}

#[test]
fn junk_is_counted_by_reason_while_heartbeats_flow() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(
        dir.path(),
        &format!("hb_key: {GLOBAL_KEY}\nmax_message_bytes: 4096\ninterval: 2\ngrace: 2"),
    );
    let _agent = Agent::start(
        dir.path(),
        "steady",
        daemon.udp_addr(),
        &format!("interval: 0.3\nkey: {GLOBAL_KEY}"),
    );
    assert!(wait_until(Duration::from_secs(10), || daemon
        .host_state("steady")
        .as_deref()
        == Some("UP")));
    let seen_before = daemon.host("steady").unwrap()["last_seen"].clone();

    let to = daemon.udp_addr();
    let good = signed(&htb("probe", 1), GLOBAL_KEY);
    let bomb = deflate(&vec![b' '; 8 * 1024 * 1024]);
    let mut bad_sig = good.clone();
    let last = bad_sig.len() - 3;
    bad_sig[last] ^= 0x01;
    let oversized = format!(r#"{{"ID":"MSG","name":"x","text":"{}"}}"#, "y".repeat(5000));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("bad JSON", b"{\"ID\":\"HTB\",".to_vec(), "bad_json"),
        ("zlib bomb", bomb, "bomb"),
        ("bad signature", bad_sig, "bad_signature"),
        ("oversized", oversized.into_bytes(), "too_large"),
        (
            "unknown ID",
            br#"{"ID":"XYZ","name":"x"}"#.to_vec(),
            "unknown_id",
        ),
        (
            "not a frame",
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            "malformed",
        ),
        (
            "unknown host key",
            b"HB1S\x01zAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA{}".to_vec(),
            "bad_signature",
        ),
    ];
    let rejected = |d: &Daemon| -> f64 {
        let (_, body) = d.get("/metrics").expect("metrics");
        body.lines()
            .filter(|l| l.starts_with("hbd_datagrams_rejected_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let before = rejected(&daemon);
    for round in 1..=3 {
        for (_, bytes, _) in &cases {
            send_datagram(to, bytes);
        }
        // Each round is counted before the next is sent.
        let want = before + (round * cases.len()) as f64;
        assert!(
            wait_until(Duration::from_secs(5), || rejected(&daemon) >= want),
            "round {round}: {} rejected, want {want}",
            rejected(&daemon)
        );
    }
    // Replay: the same signed datagram three times is accepted once.
    for _ in 0..3 {
        send_datagram(to, &good);
    }
    let mut expected = std::collections::BTreeMap::new();
    for (_, _, reason) in &cases {
        *expected.entry(*reason).or_insert(0.0) += 3.0;
    }
    expected.insert("replay", 2.0);
    for (reason, want) in &expected {
        let series = format!("hbd_datagrams_rejected_total{{reason=\"{reason}\"}}");
        assert!(
            wait_until(Duration::from_secs(5), || daemon.metric(&series) == *want),
            "{series}: got {}, want {want}",
            daemon.metric(&series)
        );
    }
    // The replayed datagram's first copy counts as a host.
    assert!(daemon.host("probe").is_some());
    // And the real agent never missed a beat.
    assert!(wait_until(Duration::from_secs(5), || daemon
        .host("steady")
        .unwrap()["last_seen"]
        != seen_before));
    assert_eq!(daemon.host_state("steady").as_deref(), Some("UP"));
    // The unknown ID was journaled, not just dropped.
    let journal = || {
        std::fs::read_to_string(dir.path().join("journal/hbd_journal.jsonl")).unwrap_or_default()
    };
    assert!(
        wait_until(Duration::from_secs(3), || journal()
            .contains("\"ID\":\"XYZ\"")),
        "journal:\n{}",
        journal()
    );
}

#[test]
fn require_signed_refuses_unsigned_heartbeats() {
    let dir = tempfile::tempdir().unwrap();
    let own_key = "host-own-key-abcdef012345";
    let daemon = Daemon::start(
        dir.path(),
        &format!("require_signed: true\nhosts:\n  signed1:\n    key: {own_key}\n"),
    );
    let _signed = Agent::start(
        dir.path(),
        "signed1",
        daemon.udp_addr(),
        &format!("interval: 0.3\nkey: {own_key}"),
    );
    let _unsigned = Agent::start(dir.path(), "plain1", daemon.udp_addr(), "interval: 0.3");
    assert!(
        wait_until(Duration::from_secs(10), || {
            daemon
                .host("signed1")
                .is_some_and(|h| h["last_rtt_ms"].is_number())
        }),
        "signed agent never got a signed ACK; log:\n{}",
        daemon.log()
    );
    assert!(wait_until(Duration::from_secs(5), || {
        daemon.metric("hbd_datagrams_rejected_total{reason=\"unsigned\"}") >= 3.0
    }));
    assert!(daemon.host("plain1").is_none());
    // A datagram signed with signed1's key but claiming another name is refused.
    let forged = {
        let signer = Signer {
            key_id: "signed1".into(),
            key: Key::new(own_key),
        };
        encode(&htb("intruder", 1), Some(&signer), DEFAULT_COMPRESS_OVER).unwrap()
    };
    send_datagram(daemon.udp_addr(), &forged);
    assert!(wait_until(Duration::from_secs(5), || {
        daemon.metric("hbd_datagrams_rejected_total{reason=\"invalid\"}") >= 1.0
    }));
    assert!(daemon.host("intruder").is_none());
}

#[test]
fn several_receivers_on_one_port_share_one_replay_window() {
    // Four sockets on one port (SO_REUSEPORT): the kernel spreads senders over them by
    // source port. A datagram replayed from other source ports, which reach other
    // sockets, must still be refused: the window is one for all receivers.
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(
        dir.path(),
        &format!("hb_key: {GLOBAL_KEY}\nrequire_signed: true\nhb_receivers: 4"),
    );
    assert!(daemon.log().contains("receivers=4"), "{}", daemon.log());
    let to = daemon.udp_addr();
    // Twenty hosts, each from a source port of its own: every one is heard.
    let first = signed(&htb("h0", 1), GLOBAL_KEY);
    send_datagram(to, &first);
    for i in 1..20u64 {
        send_datagram(to, &signed(&htb(&format!("h{i}"), i + 1), GLOBAL_KEY));
    }
    assert!(
        wait_until(Duration::from_secs(10), || (0..20)
            .all(
                |i| daemon.host_state(&format!("h{i}")).as_deref() == Some("UP")
            )),
        "{}",
        daemon.log()
    );
    // The first one again, sixteen times, each from a new source port.
    for _ in 0..16 {
        send_datagram(to, &first);
    }
    let series = "hbd_datagrams_rejected_total{reason=\"replay\"}";
    assert!(
        wait_until(Duration::from_secs(5), || daemon.metric(series) == 16.0),
        "{series}: {}",
        daemon.metric(series)
    );
    assert_eq!(daemon.metric("hbd_datagrams_total{type=\"HTB\"}"), 20.0);
}

/// An agent with the wrong key is not silent: within about one interval the daemon
/// lists it as a rejected sender (address, key id, the name it claims, why, and what
/// to do) and warns in its log, and after three unanswered heartbeats the agent warns
/// in its own.
#[test]
fn a_wrong_key_agent_is_named_in_the_rejected_senders_and_both_logs() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(
        dir.path(),
        "hosts:\n  web7: {key: the-daemons-key-0123456789}\n",
    );
    let mut agent = Agent::start(
        dir.path(),
        "web7",
        daemon.udp_addr(),
        "interval: 1\nkey: the-agents-wrong-key-0123456789",
    );
    let mut found = None;
    assert!(
        wait_until(Duration::from_secs(5), || {
            let list = daemon.get_json("/api/0/rejects");
            found = list
                .as_array()
                .and_then(|l| l.iter().find(|s| s["key_id"] == "web7").cloned());
            found.is_some()
        }),
        "no rejected sender listed: {}",
        daemon.get_json("/api/0/rejects")
    );
    let sender = found.unwrap();
    assert_eq!(sender["source"], "127.0.0.1");
    assert_eq!(sender["reason"], "bad_signature");
    assert_eq!(sender["name"], "web7");
    assert!(
        sender["hint"]
            .as_str()
            .unwrap()
            .contains("check the agent's key"),
        "{sender}"
    );
    assert!(daemon.host("web7").is_none_or(|h| h["state"] != "UP"));
    assert!(
        wait_until(Duration::from_secs(5), || daemon
            .log()
            .contains("datagrams rejected")),
        "{}",
        daemon.log()
    );
    assert!(
        daemon.log().contains("key_id=\"web7\"") && daemon.log().contains("source=127.0.0.1 "),
        "{}",
        daemon.log()
    );
    // Three heartbeats at 1 s, unanswered.
    assert!(
        wait_until(Duration::from_secs(10), || agent
            .log()
            .contains("no ACK from the daemon")),
        "{}",
        agent.log()
    );
    // The count goes on, and the log does not repeat itself each datagram.
    assert!(wait_until(Duration::from_secs(5), || {
        daemon.get_json("/api/0/rejects")[0]["count"].as_u64() >= Some(3)
    }));
    assert_eq!(daemon.log().matches("datagrams rejected").count(), 1);
    agent.kill();
}
