//! The whole agent in process, as the daemon's tests run the daemon: `app::run` sending
//! to a UDP socket on loopback that stands in for the daemon; its heartbeats arrive,
//! named and with the interval it runs at, a one-off message is sent and ends the run,
//! and cancelling stops it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use hb_proto::{Frame, Limits, Message, decode_payload, split};
use hbc::app::{self, Once, Target};
use hbc::config::AgentConfig;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

/// The next message the stand-in daemon receives, within `limit`.
async fn next(socket: &UdpSocket, limit: Duration) -> Message {
    let mut buf = vec![0u8; 65536];
    let (n, _) = tokio::time::timeout(limit, socket.recv_from(&mut buf))
        .await
        .expect("a datagram in time")
        .unwrap();
    let Frame::Unsigned { payload } = split(&buf[..n], &Limits::default()).unwrap() else {
        panic!("an agent without a key sends unsigned frames");
    };
    decode_payload(payload, &Limits::default()).unwrap().message
}

fn target(port: u16) -> Target {
    Target {
        servers: vec![("127.0.0.1".into(), port)],
        name: "inproc1".into(),
        key_id: "inproc1".into(),
    }
}

fn config() -> AgentConfig {
    AgentConfig {
        interval: Duration::from_millis(200),
        ..AgentConfig::default()
    }
}

#[tokio::test]
async fn the_agent_in_process_heartbeats_and_stops_when_told() {
    let daemon = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = daemon.local_addr().unwrap().port();
    let shutdown = CancellationToken::new();
    let agent = tokio::spawn(app::run(
        config(),
        target(port),
        Vec::new(),
        Once::default(),
        Arc::new(tokio::sync::Notify::new()),
        hbc::upgrade::Resume::default(),
        shutdown.clone(),
    ));
    for _ in 0..2 {
        match next(&daemon, Duration::from_secs(5)).await {
            Message::Heartbeat(h) => {
                assert_eq!(h.name, "inproc1");
                assert_eq!(h.interval, Some(0.2));
            }
            other => panic!("a heartbeat, not {other:?}"),
        }
    }
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), agent)
        .await
        .expect("stopped in time")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_one_off_message_is_sent_and_ends_the_run() {
    let daemon = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = daemon.local_addr().unwrap().port();
    let once = Once {
        boot: false,
        message: Some("disk replaced".into()),
    };
    let run = app::run(
        config(),
        target(port),
        Vec::new(),
        once,
        Arc::new(tokio::sync::Notify::new()),
        hbc::upgrade::Resume::default(),
        CancellationToken::new(),
    );
    tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("ends by itself")
        .unwrap();
    match next(&daemon, Duration::from_secs(5)).await {
        Message::Text(m) => assert!(format!("{m:?}").contains("disk replaced"), "{m:?}"),
        other => panic!("the message, not {other:?}"),
    }
}
