//! The engine under overload, on tokio's paused clock: a receive queue that never empties
//! must not hold back DOWN detection or API answers, and the live stream must carry
//! every change in order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use hb_proto::{Heartbeat, Message};
use hbd::clock::Clock;
use hbd::config::{Config, SharedConfig};
use hbd::core::{Core, Datagram, EventKind, HostState};
use hbd::engine::{Engine, Parts, Query};
use hbd::journal::Journal;
use hbd::live::{Item, Publisher, Start, UpdateKind};
use hbd::metrics::Metrics;
use hbd::receiver::Inbound;
use hbd::samples::Latest;

struct Running {
    clock: Clock,
    inbound: mpsc::Sender<Vec<Inbound>>,
    requests: mpsc::Sender<Query>,
    shutdown: CancellationToken,
}

async fn start(queue: usize) -> Running {
    let config = Arc::new(Config {
        interval: Duration::from_secs(2),
        grace: Duration::from_secs(1),
        ..Config::default()
    });
    let clock = Clock::start();
    let metrics = Arc::new(Metrics::new());
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let dns = hbd::dns::worker::start(
        None,
        SharedConfig::new(config.clone()),
        clock,
        Journal::disabled(metrics.clone()),
        metrics.clone(),
        CancellationToken::new(),
    );
    let engine = Engine::new(Parts {
        remote_write: None,
        ha: None,
        delivery: None,
        dns,
        core: Core::new(hbd::core::CoreSettings::from(&*config), clock.now()),
        clock,
        directories: hbd::auth::directory::Directories::config_only(SharedConfig::new(
            config.clone(),
        )),
        labels: Default::default(),
        config: SharedConfig::new(config),
        socket: Arc::new(socket),
        journal: Journal::disabled(metrics.clone()),
        store: None,
        latest: Latest::default(),
        metrics,
        live: Publisher::new("test".into()),
        stop_notifying: CancellationToken::new(),
    })
    .unwrap();
    let (inbound, inbound_rx) = mpsc::channel(queue);
    let (requests, requests_rx) = mpsc::channel(hbd::engine::QUERY_QUEUE);
    let shutdown = CancellationToken::new();
    let control = hbd::engine::control::Control::default();
    tokio::spawn(engine.run(inbound_rx, requests_rx, control, shutdown.clone()));
    Running {
        clock,
        inbound,
        requests,
        shutdown,
    }
}

fn heartbeat(running: &Running, name: &str) -> Inbound {
    // Port 9 (discard): the ACKs go nowhere.
    let source: SocketAddr = "127.0.0.1:9".parse().unwrap();
    Inbound {
        datagram: Datagram {
            message: Message::Heartbeat(Heartbeat {
                name: name.into(),
                rtt: Some(1.5),
                ..Heartbeat::default()
            }),
            key_id: None,
            source,
        },
        at: running.clock.now(),
    }
}

/// Fills the engine's inbound queue to the brim with heartbeats from 100 loud hosts.
fn flood(running: &Running) -> usize {
    let mut sent = 0;
    loop {
        let batch: Vec<Inbound> = (0..64)
            .map(|i| heartbeat(running, &format!("loud{}", i % 100)))
            .collect();
        if running.inbound.try_send(batch).is_err() {
            return sent;
        }
        sent += 64;
    }
}

async fn host_state(running: &Running, name: &str) -> Option<HostState> {
    let (tx, rx) = oneshot::channel();
    running
        .requests
        .try_send(Query::Host(name.into(), tx))
        .unwrap();
    rx.await.unwrap().map(|h| h.state)
}

/// Asks until `name` is known (datagrams queue behind requests, so the first answer may
/// come before the engine took the datagram), within 1 s of virtual time.
async fn wait_known(running: &Running, name: &str) -> HostState {
    for _ in 0..100 {
        if let Some(state) = host_state(running, name).await {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{name} never became known");
}

#[tokio::test(start_paused = true)]
async fn a_silent_host_goes_down_on_time_while_the_inbound_queue_never_empties() {
    let running = start(256).await;
    running
        .inbound
        .send(vec![heartbeat(&running, "quiet")])
        .await
        .unwrap();
    assert_eq!(wait_known(&running, "quiet").await, HostState::Up);
    let started = tokio::time::Instant::now();
    let mut flooded = 0;
    // interval 2 s + grace 1 s: DOWN is due 3 s after its heartbeat. Keep the queue full
    // (bounded: 40 steps of 100 ms) and ask every step.
    let mut down_after = None;
    for _ in 0..40 {
        flooded += flood(&running);
        tokio::time::advance(Duration::from_millis(100)).await;
        // A query is answered while the flood goes on.
        let state = tokio::time::timeout(Duration::from_secs(1), host_state(&running, "quiet"))
            .await
            .expect("the engine answers queries during a flood");
        if state == Some(HostState::Down) {
            down_after = Some(started.elapsed());
            break;
        }
    }
    let down_after = down_after.expect("quiet never went DOWN during the flood");
    assert!(
        down_after <= Duration::from_millis(3200),
        "DOWN after {down_after:?}, due after 3 s"
    );
    assert!(flooded > 10_000, "the flood was real: {flooded} heartbeats");
    running.shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn the_live_stream_has_a_snapshot_then_every_update_in_order() {
    let running = start(16).await;
    running
        .inbound
        .send(vec![heartbeat(&running, "web1")])
        .await
        .unwrap();
    wait_known(&running, "web1").await;
    let (tx, rx) = oneshot::channel();
    running
        .requests
        .send(Query::Subscribe(None, tx))
        .await
        .unwrap();
    let (start, mut stream) = rx.await.unwrap();
    let Start::Snapshot(snapshot) = start else {
        panic!("a first subscription starts from a snapshot");
    };
    assert_eq!(snapshot.hosts.len(), 1);
    assert_eq!(snapshot.hosts[0].name, "web1");
    // A new host, then a heartbeat from the known one, then silence until DOWN.
    running
        .inbound
        .send(vec![
            heartbeat(&running, "web2"),
            heartbeat(&running, "web1"),
        ])
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut expected_seq = snapshot.seq + 1;
    while seen.len() < 8 {
        let item = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("an update within 10 s");
        let Item::Update(update) = item else {
            panic!("unexpected {item:?}");
        };
        assert_eq!(update.seq, expected_seq, "no gap, no duplicate");
        expected_seq += 1;
        let what = match &update.kind {
            UpdateKind::Event { event, .. } => format!("{} {}", event.kind.name(), event.host),
            UpdateKind::Heartbeat { host, rtt_ms, .. } => format!("HTB {host} {rtt_ms:?}"),
            other => format!("{other:?}"),
        };
        let down = matches!(&update.kind, UpdateKind::Event { event, .. } if matches!(event.kind, EventKind::Down { .. }));
        seen.push(what);
        if down && seen.iter().filter(|s| s.starts_with("DOWN")).count() == 2 {
            break;
        }
    }
    assert_eq!(seen[..2], ["NEW_HOST web2", "UP web2"]);
    // Heartbeats of one turn are coalesced: one per host.
    let beats: Vec<&String> = seen.iter().filter(|s| s.starts_with("HTB")).collect();
    assert_eq!(beats.len(), 2, "{seen:?}");
    assert!(seen.contains(&"DOWN web1".to_owned()) && seen.contains(&"DOWN web2".to_owned()));
    running.shutdown.cancel();
}
