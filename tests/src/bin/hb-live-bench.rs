//! hb-live-bench: `/live` and the WebSocket stream at scale.
//!
//! Starts the release `hbd` (no users), registers N hosts, then:
//! 1. opens 20 WebSocket clients that never read (4 KiB receive buffers), streams
//!    heartbeats at R per second for T seconds, and prints the daemon's resident memory
//!    before and after: what stalled clients cost;
//! 2. closes them and runs `tests/browser/live-bench.mjs` in headless Chromium:
//!    first rows, DOM nodes, frames per second and long tasks while R heartbeats per
//!    second stream in, and a new host's first heartbeat on screen (max of 10); then
//!    the API requests each page makes, the most in one second, and how many the
//!    default rate limits refused (loopback not exempt here).
//!
//! Usage: hb-live-bench [--hosts N] [--rate R] [--seconds T] [--hbd PATH]
//!   cargo build --release -p hbd -p hbd-e2e && target/release/hb-live-bench
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is right

use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use hbd_e2e::{http_with, spawn_hbd, terminate, wait_until};

fn rss_mb(pid: u32) -> f64 {
    hbd_e2e::rss_bytes(pid).map_or(f64::NAN, |b| b as f64 / (1024.0 * 1024.0))
}

fn heartbeats(udp: &UdpSocket, target: SocketAddr, hosts: usize, rate: f64, seconds: f64) -> u64 {
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        let due = (start.elapsed().as_secs_f64() * rate) as u64;
        while sent < due {
            let msg = format!(
                r#"{{"ID":"HTB","name":"bench-{:05}","interval":60}}"#,
                sent as usize % hosts
            );
            let _ = udp.send_to(msg.as_bytes(), target);
            sent += 1;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    sent
}

fn main() {
    let mut hosts = 10_000usize;
    let mut rate = 2000.0;
    let mut seconds = 10.0;
    let mut hbd = std::env::current_exe().unwrap().with_file_name("hbd");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--hosts" => hosts = value.parse().expect("--hosts N"),
            "--rate" => rate = value.parse().expect("--rate R"),
            "--seconds" => seconds = value.parse().expect("--seconds T"),
            "--hbd" => hbd = PathBuf::from(value),
            other => panic!("unknown option {other}"),
        }
    }
    assert!(
        hosts <= 100_000 && seconds <= 120.0,
        "bounded: at most 100,000 hosts, 120 s"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hbd.yaml");
    std::fs::write(
        &config,
        format!(
            "hb_host: 127.0.0.1\nhb_port: 0\nhbd_host: 127.0.0.1\nhbd_port: 0\n\
             state_db: {}\njournal_dir: {}\ninterval: 3600\n\
             # The default rate limits, loopback not exempt: the page meets them as a\n\
             # remote browser would.\n\
             rate_limit: {{exempt: []}}\n",
            dir.path().join("state.db").display(),
            dir.path().join("journal").display()
        ),
    )
    .unwrap();
    let (mut daemon, (udp_port, http_port)) = spawn_hbd(&hbd, &config, &dir.path().join("hbd.log"));
    let http = SocketAddr::from(([127, 0, 0, 1], http_port));
    let target = SocketAddr::from(([127, 0, 0, 1], udp_port));
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let total = || {
        http_with(http, "GET", "/api/0/hosts?limit=1", &[], None)
            .map(|r| r.json()["total"].as_u64().unwrap_or(0))
            .unwrap_or(0)
    };
    for chunk in (0..hosts).collect::<Vec<_>>().chunks(2000) {
        for i in chunk {
            let msg = format!(r#"{{"ID":"HTB","name":"bench-{i:05}","interval":60}}"#);
            udp.send_to(msg.as_bytes(), target).unwrap();
        }
        let want = (chunk[chunk.len() - 1] + 1) as u64;
        assert!(
            wait_until(Duration::from_secs(30), || total() >= want),
            "hosts did not register"
        );
    }
    println!("hb-live-bench: {hosts} hosts, heartbeats at {rate}/s for {seconds} s per phase");

    // 1. Stalled clients, against the same heartbeats with no client first.
    let pid = daemon.id();
    let idle = rss_mb(pid);
    let sent = heartbeats(&udp, target, hosts, rate, seconds);
    let alone = rss_mb(pid);
    println!(
        "no clients  {sent} heartbeats: daemon RSS {idle:.1} MB -> {alone:.1} MB ({:+.1} MB)",
        alone - idle
    );
    let before = alone;
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        socket.connect(&http.into()).unwrap();
        let stream: TcpStream = socket.into();
        let request = format!("ws://{http}/ws");
        let (ws, _) = tungstenite::client(request.as_str(), stream).unwrap();
        stalled.push(ws);
    }
    let connected = rss_mb(pid);
    let sent = heartbeats(&udp, target, hosts, rate, seconds);
    let after = rss_mb(pid);
    println!(
        "stalled     20 clients that never read: daemon RSS {before:.1} MB -> {connected:.1} MB once their snapshots are sent -> {after:.1} MB after {sent} more heartbeats ({:+.1} MB)",
        after - before
    );
    drop(stalled);

    // 2. The page in Chromium.
    let npm = std::env::var_os("HBD_NPM_DIR").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/hbd-npm"),
        PathBuf::from,
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser/live-bench.mjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(format!("http://{http}"))
        .args([
            udp_port.to_string(),
            hosts.to_string(),
            rate.to_string(),
            seconds.to_string(),
        ])
        .env(
            "PLAYWRIGHT",
            npm.join("node_modules/playwright-core/index.mjs"),
        )
        .output()
        .expect("node");
    let text = String::from_utf8_lossy(&out.stdout);
    let figures: serde_json::Value = serde_json::from_str(text.lines().last().unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    println!(
        "/live       first rows {} ms (all {} known at {} ms) | DOM nodes {} | {:.1} fps, {} long tasks (longest {:.0} ms) while {:.0} heartbeats/s stream | new host on screen: max {} ms of 10",
        figures["first_rows_ms"],
        hosts,
        figures["all_rows_known_ms"],
        figures["dom_nodes"],
        figures["fps"].as_f64().unwrap_or(f64::NAN),
        figures["long_tasks"],
        figures["longest_task_ms"].as_f64().unwrap_or(0.0),
        figures["rate_sent"].as_f64().unwrap_or(f64::NAN),
        figures["heartbeat_on_screen_ms"]["max"],
    );
    println!(
        "API         requests per page at {hosts} hosts: {} | at most {} in one second | {} answered 429 by the default rate limits",
        figures["api_requests"], figures["api_peak_per_second"], figures["api_throttled"],
    );
    terminate(&mut daemon);
}
