//! The whole daemon in process: `app::run` on sockets bound to port 0, a heartbeat over
//! real UDP, the API over real HTTP, a clean stop that hands the last store batch over,
//! and a restart that finds the host in the store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use hbd::app::{self, Sockets};
// The harness's own helpers: an HTTP client that says why a request failed, and
// bounded waits.
use hbd::config::Config;
use hbd_e2e::{http_get as get, wait_until};

struct InProcess {
    udp: SocketAddr,
    http: SocketAddr,
    shutdown: CancellationToken,
    thread: std::thread::JoinHandle<()>,
}

fn start(dir: &std::path::Path) -> InProcess {
    let config = Arc::new(Config {
        hb_host: "127.0.0.1".parse().unwrap(),
        hb_port: 0,
        hbd_port: 0,
        state_db: dir.join("state.db"),
        journal: hbd::config::JournalConfig {
            dir: dir.join("journal"),
            ..Config::default().journal
        },
        ..Config::default()
    });
    let sockets = Sockets::bind(&config).unwrap();
    let udp = sockets.udp.local_addr().unwrap();
    let http = sockets.http.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime
            .block_on(app::run(config, None, sockets, stop))
            .unwrap();
    });
    InProcess {
        udp,
        http,
        shutdown,
        thread,
    }
}

#[test]
fn the_daemon_runs_in_process_on_port_zero_and_keeps_its_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path());
    assert_ne!(first.udp.port(), 0);
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender
        .send_to(br#"{"ID":"HTB","name":"web1","seq":1}"#, first.udp)
        .unwrap();
    // The ACK comes back over real UDP.
    sender
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 2048];
    let (len, _) = sender.recv_from(&mut buf).expect("an ACK");
    assert!(String::from_utf8_lossy(&buf[..len]).contains("\"ACK\""));
    assert!(wait_until(Duration::from_secs(5), || get(
        first.http,
        "/api/0/hosts/web1"
    )
    .is_some_and(
        |(status, body)| status == 200 && body.contains("\"state\":\"UP\"")
    )));
    // Stop at once: the host is in memory only until the last batch is handed over.
    first.shutdown.cancel();
    first.thread.join().unwrap();

    let second = start(dir.path());
    let (status, body) = get(second.http, "/api/0/hosts/web1").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"state\":\"UP\""), "{body}");
    second.shutdown.cancel();
    second.thread.join().unwrap();
}
