//! hb-load: heartbeat load generator and throughput benchmark.
//!
//! Simulates N hosts sending heartbeats to a real `hbd` (journal and store on) as fast as
//! it takes them, closed-loop with a bounded window of unanswered heartbeats per sender,
//! for T seconds; then runs the same load against a bare UDP echo loop built on
//! recvmmsg/sendmmsg in this process; `--rounds` times, alternating, and prints both,
//! the CPU each side spent per datagram, and their ratio (of the totals, and by round).
//!
//! With `--mode plugins`, every one of N hosts instead sends one plugin report (a
//! realistic ~1.5 KB cpu/disk/network report, zlib-compressed as agents send it) in one
//! burst, and the run checks that the daemon received and stored every one.
//!
//! With `--mode api`, N hosts are registered, then the heartbeat load runs for T
//! seconds while one client reads `/api/0/hosts` as an administrator (signed in with a
//! bearer token), alternating a first page (`limit=100`) and the full list; it prints
//! the latency percentiles of both, idle and under load, and the heartbeat rate and ACK
//! latency meanwhile. `--rate R` paces the heartbeats at R per second (open loop, the
//! hosts in turn) instead of flooding.
//!
//! With `--mode memory`, the daemon's resident memory is read idle, then after N hosts
//! have each sent two heartbeats (so each is UP, with its interval, and in the store):
//! it prints the resident bytes per host beyond the idle daemon. With `--signed` the
//! heartbeats are signed as in production, so each host's key id also has its replay
//! window.
//!
//! With `--mode fleet`, N simulated agents that manage plugins (signed heartbeats every
//! `--interval` s, fetching over HTTP as `hbc` does) take a new artifact of
//! `--artifact-kb` KiB at once: it prints how fast 99 % of them had it, the bytes they
//! fetched against the artifact's size times the agents, and a closed-loop heartbeat
//! flood's rate while they fetched against before (see `fleet.rs`).
//!
//! Usage: hb-load [--mode heartbeats|plugins|api|memory|fleet] [--hosts N] [--seconds T] [--window W]
//!                [--senders S] [--rate R] [--receivers R] [--rounds N] [--signed] [--hbd PATH]
//!                [--runs N [--unsigned-too]]   (`hb-load --help` says more)
//!
//! With `--runs N`, the heartbeat measurement runs N times, each with a daemon of its
//! own, and ends with the median and quartiles of the runs' ratios: the figure a goal
//! such as "signed heartbeats at 0.85 of the bare loop" is read from. `--unsigned-too`
//! puts an unsigned run beside every signed one (or the reverse), in turn first.
//! Build it and hbd in release for meaningful figures:
//!   cargo build --release -p hbd -p hbd-e2e && target/release/hb-load
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is right

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hbd_e2e::{http_with, metric_value, password_hash_by, spawn_hbd, terminate, wait_until};

mod cpu;
mod echo;
mod fleet;
mod traffic;

use cpu::{Cpu, cpu_line, process_cpu_seconds, thread_cpu_seconds};
use echo::echo_loop;
use traffic::{BENCH_KEY, Beats, plugin_report, seq_of};

/// Heartbeat load generator and throughput benchmark for hbd.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "hb-load", version)]
struct Args {
    /// What to measure: closed-loop heartbeats against the bare echo loop, one burst of
    /// plugin reports (all must be stored), or API reads under heartbeat load.
    #[arg(long, value_enum, default_value_t = Mode::Heartbeats)]
    mode: Mode,
    /// Simulated hosts.
    #[arg(long, default_value_t = 1000)]
    hosts: usize,
    /// Seconds each load runs (more than 0, at most 600).
    #[arg(long, default_value_t = 5.0, value_parser = seconds)]
    seconds: f64,
    /// Unanswered heartbeats each sender allows (closed loop).
    #[arg(long, default_value_t = 256)]
    window: usize,
    /// Sender threads.
    #[arg(long, default_value_t = 1)]
    senders: usize,
    /// Heartbeats per second, paced (open loop); 0 floods.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// The hbd binary (default: next to hb-load).
    #[arg(long)]
    hbd: Option<PathBuf>,
    /// The daemon's heartbeat sockets on one port (`hb_receivers`, `SO_REUSEPORT`).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    receivers: u16,
    /// Rounds of the heartbeat load, each against hbd then the bare echo loop.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    rounds: u32,
    /// Run the daemon without its journal, to see what journaling every datagram costs.
    #[arg(long)]
    no_journal: bool,
    /// `--mode fleet`: seconds between each simulated agent's heartbeats.
    #[arg(long, default_value_t = 10.0, value_parser = seconds)]
    interval: f64,
    /// `--mode fleet`: the artifact's size at least, KiB (the log_freshness plugin,
    /// padded).
    #[arg(long, default_value_t = 64)]
    artifact_kb: usize,
    /// Sign every heartbeat as an agent with a key does (HMAC-SHA256 under a shared
    /// `hb_key`, the host's name as key id, with the replay fields `ts`, `run`, `seq`);
    /// the daemon then requires signatures, checks them and signs its ACKs.
    #[arg(long)]
    signed: bool,
    /// Heartbeats: the whole measurement this many times, each run with a daemon of
    /// its own, then the ratios' median and quartiles over the runs.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    runs: u32,
    /// Heartbeats: beside every run of `--runs`, the same run with the other kind of
    /// heartbeats (signed and unsigned, in turn first), each kind summed up apart.
    #[arg(long)]
    unsigned_too: bool,
}

/// The measurement `--mode` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// Closed-loop heartbeats, then the same against a bare UDP echo loop.
    Heartbeats,
    /// One burst of plugin reports; every one must be stored.
    Plugins,
    /// `/api/0/hosts` latency while heartbeats run.
    Api,
    /// Resident memory per host.
    Memory,
    /// Simulated agents that manage plugins take a new artifact: how fast, at what
    /// egress, and what it costs the heartbeats.
    Fleet,
}

fn seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 600.0 => Ok(s),
        _ => Err(format!(
            "{text:?}: expected seconds, more than 0 and at most 600"
        )),
    }
}

fn parse_args() -> (Args, PathBuf) {
    let args = <Args as clap::Parser>::parse();
    let hbd = args
        .hbd
        .clone()
        .unwrap_or_else(|| std::env::current_exe().unwrap().with_file_name("hbd"));
    (args, hbd)
}

/// What one load run measured.
#[derive(Debug, Default)]
struct Run {
    sent: u64,
    acked: u64,
    lost: u64,
    elapsed: f64,
    latencies_us: Vec<u32>,
    /// CPU seconds the load generator's sender threads spent.
    cpu: f64,
}

impl Run {
    fn merge(&mut self, other: Run) {
        self.sent += other.sent;
        self.acked += other.acked;
        self.lost += other.lost;
        self.elapsed = self.elapsed.max(other.elapsed);
        self.latencies_us.extend(other.latencies_us);
        self.cpu += other.cpu;
    }

    fn percentile(&mut self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        self.latencies_us.sort_unstable();
        let i = ((self.latencies_us.len() - 1) as f64 * p).round() as usize;
        f64::from(self.latencies_us[i])
    }
}

/// One sender: hosts `first..first+count`, at most `window` unanswered heartbeats.
fn sender(
    target: SocketAddr,
    first: usize,
    count: usize,
    window: usize,
    seconds: f64,
    sender_id: u64,
    signed: bool,
) -> Run {
    let cpu_start = thread_cpu_seconds();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    // Room for a whole window of replies, so the generator itself loses nothing.
    let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(8 << 20);
    socket.connect(target).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    // Ring of send times indexed by seq % RING.
    const RING: usize = 1 << 16;
    let mut sent_at: Vec<Option<Instant>> = vec![None; RING];
    let mut run = Run::default();
    let mut outstanding = 0usize;
    let mut seq: u64 = sender_id << 40;
    let mut buf = [0u8; 2048];
    let mut last_progress = Instant::now();
    let beats = Beats::new(first, count, signed, sender_id);
    let mut next_host = 0usize;
    while Instant::now() < end {
        while outstanding < window {
            seq += 1;
            let datagram = beats.datagram(next_host, seq);
            next_host = (next_host + 1) % count;
            if socket.send(&datagram).is_err() {
                break;
            }
            sent_at[(seq as usize) % RING] = Some(Instant::now());
            run.sent += 1;
            outstanding += 1;
        }
        match socket.recv(&mut buf) {
            Ok(len) => {
                if let Some(s) = seq_of(&buf[..len])
                    && let Some(t) = sent_at[(s as usize) % RING].take()
                {
                    run.acked += 1;
                    outstanding = outstanding.saturating_sub(1);
                    run.latencies_us
                        .push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                    last_progress = Instant::now();
                }
            }
            Err(_) => {
                if last_progress.elapsed() > Duration::from_millis(200) {
                    // Whatever is still unanswered is lost; open the window again.
                    run.lost += outstanding as u64;
                    outstanding = 0;
                    sent_at.iter_mut().for_each(|s| *s = None);
                    last_progress = Instant::now();
                }
            }
        }
    }
    // Drain late replies briefly, then count the rest as lost.
    let drain_end = Instant::now() + Duration::from_millis(300);
    while outstanding > 0 && Instant::now() < drain_end {
        if let Ok(len) = socket.recv(&mut buf)
            && let Some(s) = seq_of(&buf[..len])
            && sent_at[(s as usize) % RING].take().is_some()
        {
            run.acked += 1;
            outstanding -= 1;
        }
    }
    run.lost += outstanding as u64;
    run.elapsed = start.elapsed().as_secs_f64();
    run.cpu = thread_cpu_seconds() - cpu_start;
    run
}

fn load(target: SocketAddr, args: &Args) -> Run {
    let per = args.hosts.div_ceil(args.senders);
    let handles: Vec<_> = (0..args.senders)
        .map(|i| {
            let (window, seconds, signed) = (args.window, args.seconds, args.signed);
            let count = per.min(args.hosts - i * per);
            std::thread::spawn(move || {
                sender(
                    target,
                    i * per,
                    count,
                    window,
                    seconds,
                    i as u64 + 1,
                    signed,
                )
            })
        })
        .collect();
    let mut total = Run::default();
    for h in handles {
        total.merge(h.join().unwrap());
    }
    total
}

fn report(label: &str, run: &mut Run, processed_per_s: f64) {
    let (p50, p99) = (run.percentile(0.50), run.percentile(0.99));
    println!(
        "{label:<10} processed {processed_per_s:>10.0} datagrams/s | sent {:>9} acked {:>9} lost {:>7} | ack latency p50 {:>7.0} us p99 {:>7.0} us",
        run.sent, run.acked, run.lost, p50, p99
    );
}

fn plugins_mode(args: &Args, udp: u16, metric: &dyn Fn(&str) -> f64) {
    let reports: Vec<Vec<u8>> = (0..args.hosts)
        .map(|i| plugin_report(i, args.signed))
        .collect();
    let avg = reports.iter().map(Vec::len).sum::<usize>() / reports.len().max(1);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .connect(SocketAddr::from(([127, 0, 0, 1], udp)))
        .unwrap();
    let start = Instant::now();
    for r in &reports {
        socket.send(r).unwrap();
    }
    let sent_in = start.elapsed();
    let want = args.hosts as f64;
    let received = wait_until(Duration::from_secs(30), || {
        metric("hbd_datagrams_total{type=\"PLG\"}") >= want
    });
    let received_in = start.elapsed();
    let stored = wait_until(Duration::from_secs(30), || {
        metric("hbd_store_samples_total") >= want
    });
    let stored_in = start.elapsed();
    println!(
        "plugins: {} hosts, one report each ({} bytes on the wire on average), sent in {:.0} ms",
        args.hosts,
        avg,
        sent_in.as_secs_f64() * 1e3
    );
    println!(
        "  received {} of {} ({}) in {:.0} ms; stored {} ({}) in {:.0} ms; rejected {}, dropped {}",
        metric("hbd_datagrams_total{type=\"PLG\"}"),
        args.hosts,
        if received { "all" } else { "LOSS" },
        received_in.as_secs_f64() * 1e3,
        metric("hbd_store_samples_total"),
        if stored { "all" } else { "LOSS" },
        stored_in.as_secs_f64() * 1e3,
        metric("hbd_datagrams_rejected_total{reason=\"bad_json\"}"),
        metric("hbd_engine_dropped_total") + metric("hbd_samples_dropped_total"),
    );
}

/// Heartbeats at `args.rate` per second for `args.seconds`, the hosts in turn, in
/// 1 ms slices; ACKs are counted with their latency.
fn paced(target: SocketAddr, args: &Args) -> Run {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(8 << 20);
    socket.connect(target).unwrap();
    socket.set_nonblocking(true).unwrap();
    let start = Instant::now();
    let mut run = Run::default();
    const RING: usize = 1 << 16;
    let mut sent_at: Vec<Option<Instant>> = vec![None; RING];
    let mut buf = [0u8; 2048];
    let mut seq: u64 = 1 << 40;
    let beats = Beats::new(0, args.hosts, args.signed, 1);
    while start.elapsed().as_secs_f64() < args.seconds {
        let due = (start.elapsed().as_secs_f64() * args.rate) as u64;
        while run.sent < due {
            seq += 1;
            let datagram = beats.datagram(run.sent as usize, seq);
            if socket.send(&datagram).is_ok() {
                sent_at[(seq as usize) % RING] = Some(Instant::now());
            }
            run.sent += 1;
        }
        while let Ok(len) = socket.recv(&mut buf) {
            if let Some(s) = seq_of(&buf[..len])
                && let Some(t) = sent_at[(s as usize) % RING].take()
            {
                run.acked += 1;
                run.latencies_us
                    .push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    run.elapsed = start.elapsed().as_secs_f64();
    run.lost = run.sent - run.acked;
    run
}

const BENCH_PASSWORD: &str = "benchmark password";

/// Latencies in microseconds: p50 and p99.
fn percentiles(samples: &mut [u32]) -> (f64, f64) {
    samples.sort_unstable();
    let at = |p: f64| f64::from(samples[((samples.len() - 1) as f64 * p).round() as usize]);
    (at(0.50), at(0.99))
}

fn api_mode(args: &Args, udp: u16, get: &dyn Fn(&str) -> String, counter: &dyn Fn() -> f64) {
    let target = SocketAddr::from(([127, 0, 0, 1], udp));
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    // Register every host, in slices the socket buffer takes whole.
    let total =
        |body: String| serde_json::from_str::<serde_json::Value>(&body).unwrap()["total"].as_u64();
    for chunk in (0..args.hosts).collect::<Vec<_>>().chunks(2000) {
        for i in chunk {
            let msg = format!(r#"{{"ID":"HTB","name":"load-{i:06}","interval":3600}}"#);
            socket.send_to(msg.as_bytes(), target).unwrap();
        }
        let want = (chunk[chunk.len() - 1] + 1) as u64;
        assert!(
            wait_until(Duration::from_secs(30), || total(get(
                "/api/0/hosts?limit=1"
            )) >= Some(want)),
            "hosts did not register"
        );
    }
    let full = format!("/api/0/hosts?limit={}", args.hosts.min(10_000));
    let paths = [
        ("first page (100)", "/api/0/hosts?limit=100".to_owned()),
        ("full list", full),
    ];
    // Reads one path back to back until `until(requests so far)`; latencies in us.
    let measure = |path: &str, until: &dyn Fn(usize) -> bool| {
        let mut latencies = Vec::new();
        while !until(latencies.len()) {
            let t = Instant::now();
            let body = get(path);
            latencies.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
            assert!(body.len() > 100);
        }
        latencies
    };
    let show = |phase: &str, what: &str, latencies: &mut Vec<u32>| {
        let (p50, p99) = percentiles(latencies);
        println!(
            "{phase:<11} {what:<17} p50 {:>7.2} ms  p99 {:>7.2} ms  ({} requests)",
            p50 / 1000.0,
            p99 / 1000.0,
            latencies.len()
        );
    };
    println!(
        "hb-load api: {} hosts registered; heartbeats {}",
        args.hosts,
        if args.rate > 0.0 {
            format!("paced at {} per second", args.rate)
        } else {
            "as fast as the daemon takes them".into()
        }
    );
    for (what, path) in &paths {
        show("idle", what, &mut measure(path, &|n| n >= 200));
    }
    // One heartbeat run alone, then one per path read back to back meanwhile: the ACK
    // latencies show what the reads cost heartbeat handling.
    let heartbeats = |api: Option<(&str, &str)>| {
        let before = counter();
        let stop = Arc::new(AtomicBool::new(false));
        let load_args = args.clone();
        let done = stop.clone();
        let loader = std::thread::spawn(move || {
            let run = if load_args.rate > 0.0 {
                paced(target, &load_args)
            } else {
                load(target, &load_args)
            };
            done.store(true, Ordering::SeqCst);
            run
        });
        if let Some((what, path)) = api {
            show(
                "under load",
                what,
                &mut measure(path, &|_| stop.load(Ordering::SeqCst)),
            );
        }
        let mut run = loader.join().unwrap();
        let rate = (counter() - before) / run.elapsed;
        let label = match api {
            None => "alone",
            Some((what, _)) if what.starts_with("first") => "+ pages",
            Some(_) => "+ lists",
        };
        report(label, &mut run, rate);
    };
    heartbeats(None);
    for (what, path) in &paths {
        heartbeats(Some((what, path)));
    }
}

/// Registers `args.hosts` hosts, twice over, and prints the daemon's resident memory
/// per host beyond its idle size.
fn memory_mode(args: &Args, udp: u16, pid: u32, counter: &dyn Fn() -> f64) {
    let target = SocketAddr::from(([127, 0, 0, 1], udp));
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let _ = socket2::SockRef::from(&socket).set_send_buffer_size(8 << 20);
    // Settled: the store's first flush and the runtime's threads are in.
    let idle = hbd_e2e::settled_rss(pid, Duration::from_secs(10));
    let start = Instant::now();
    let mut sent = 0u64;
    // Signed as agents with a key sign them (`--signed`): the daemon then also keeps
    // each key id's replay window.
    let beats = args.signed.then(|| Beats::new(0, args.hosts, true, 1));
    for round in 0..2u64 {
        // In slices the socket buffers take whole; each slice counted in before the next.
        for chunk in (0..args.hosts).collect::<Vec<_>>().chunks(4000) {
            for &i in chunk {
                let msg = match &beats {
                    Some(beats) => beats.datagram(i, round + 1),
                    None => format!(
                        r#"{{"ID":"HTB","name":"load-{i:07}","interval":3600,"seq":{round}}}"#
                    )
                    .into_bytes(),
                };
                socket.send_to(&msg, target).unwrap();
            }
            sent += chunk.len() as u64;
            assert!(
                wait_until(Duration::from_secs(60), || counter() >= sent as f64),
                "the daemon counted {} of {sent} heartbeats",
                counter()
            );
        }
    }
    let took = start.elapsed().as_secs_f64();
    // The store's batches written, the engine's buffers back to their size.
    let full = hbd_e2e::settled_rss(pid, Duration::from_secs(30));
    let n = args.hosts as f64;
    println!(
        "hb-load memory: {} hosts (2 {}heartbeats each, {:.1} s): resident {:.1} MB idle, {:.1} MB with the hosts: {:.0} bytes per host",
        args.hosts,
        if args.signed { "signed " } else { "" },
        took,
        idle as f64 / 1e6,
        full as f64 / 1e6,
        (full.saturating_sub(idle)) as f64 / n
    );
}

fn main() {
    let (args, hbd) = parse_args();
    assert!(
        hbd.exists(),
        "hbd not found at {}; pass --hbd PATH",
        hbd.display()
    );
    if args.mode == Mode::Fleet {
        fleet::run(&args, &hbd, args.interval, args.artifact_kb);
        return;
    }
    if args.mode != Mode::Heartbeats || (args.runs == 1 && !args.unsigned_too) {
        measure(&args, &hbd);
        return;
    }
    sitting(&args, &hbd);
}

/// `--runs N` (and `--unsigned-too`): the heartbeat measurement N times over, each run
/// with a daemon of its own; with `--unsigned-too` every run of signed heartbeats has
/// an unsigned one beside it, which of the two goes first alternating from run to run,
/// so that a machine whose speed drifts slows both alike. Ends with the ratios of
/// every run and their median and quartiles.
fn sitting(args: &Args, hbd: &std::path::Path) {
    let modes: &[bool] = if args.unsigned_too {
        &[false, true]
    } else {
        &[args.signed]
    };
    let mut ratios: Vec<(bool, f64)> = Vec::new();
    for run in 0..args.runs {
        for k in 0..modes.len() {
            // Alternate the order: signed first in every other run.
            let signed = modes[(k + run as usize) % modes.len()];
            let one = Args {
                signed,
                ..args.clone()
            };
            println!(
                "--- run {} of {}{}",
                run + 1,
                args.runs,
                if signed { ", signed" } else { ", unsigned" }
            );
            if let Some(ratio) = measure(&one, hbd) {
                ratios.push((signed, ratio));
            }
        }
    }
    println!("--- ratio hbd / bare echo, each run a daemon of its own:");
    for &signed in modes {
        let mut of: Vec<f64> = ratios
            .iter()
            .filter(|(s, _)| *s == signed)
            .map(|(_, r)| *r)
            .collect();
        println!(
            "{:<9} {}",
            if signed { "signed" } else { "unsigned" },
            spread(&mut of)
        );
    }
}

/// `median M (quartiles Q1-Q3, range A-B) over N runs: r1 r2 ...`, runs in order.
fn spread(ratios: &mut [f64]) -> String {
    if ratios.is_empty() {
        return "no runs".into();
    }
    let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| {
        // Linear between the two nearest, as a spreadsheet's QUARTILE.INC does.
        let x = q * (ratios.len() - 1) as f64;
        let (lo, hi) = (x.floor() as usize, x.ceil() as usize);
        ratios[lo] + (ratios[hi] - ratios[lo]) * (x - lo as f64)
    };
    format!(
        "median {:.3} (quartiles {:.2}-{:.2}, range {:.2}-{:.2}) over {} runs: {}",
        at(0.5),
        at(0.25),
        at(0.75),
        ratios[0],
        ratios[ratios.len() - 1],
        ratios.len(),
        each.join(" ")
    )
}

/// One measurement as `--mode` asks, with a daemon of its own; for heartbeats, the
/// ratio of the daemon's rate to the bare echo loop's.
fn measure(args: &Args, hbd: &std::path::Path) -> Option<f64> {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hbd.yaml");
    // The API mode reads as a signed-in administrator, as a dashboard would.
    let users = if args.mode == Mode::Api {
        format!(
            "users:\n  ops: {{admin: true, password: '{}'}}\n",
            password_hash_by(hbd, BENCH_PASSWORD)
        )
    } else {
        String::new()
    };
    let signing = if args.signed {
        format!("hb_key: '{BENCH_KEY}'\nrequire_signed: true\n")
    } else {
        String::new()
    };
    std::fs::write(
        &config,
        format!(
            "hb_host: 127.0.0.1\nhb_port: 0\nhbd_host: 127.0.0.1\nhbd_port: 0\n\
             state_db: {}\njournal_dir: {}\njournal_enabled: {}\ninterval: 3600\n\
             hb_receivers: {}\n{users}{signing}",
            dir.path().join("state.db").display(),
            dir.path().join("journal").display(),
            !args.no_journal,
            args.receivers
        ),
    )
    .unwrap();
    let (mut daemon, (udp, http)) = spawn_hbd(hbd, &config, &dir.path().join("hbd.log"));
    let http_addr = SocketAddr::from(([127, 0, 0, 1], http));
    assert!(wait_until(Duration::from_secs(10), || http_with(
        http_addr,
        "GET",
        "/api/0/openapi.json",
        &[],
        None
    )
    .is_some()));
    let bearer = if args.mode == Mode::Api {
        let body = format!(r#"{{"username":"ops","password":"{BENCH_PASSWORD}"}}"#);
        let reply = http_with(http_addr, "POST", "/api/0/auth/login", &[], Some(&body)).unwrap();
        assert_eq!(reply.status, 200, "login: {}", reply.body);
        format!("Bearer {}", reply.json()["token"].as_str().unwrap())
    } else {
        String::new()
    };
    let get = |path: &str| -> String {
        let headers: &[(&str, &str)] = if bearer.is_empty() {
            &[]
        } else {
            &[("Authorization", &bearer)]
        };
        // A busy daemon (a burst of 100,000 reports makes /metrics large) may miss the
        // client's 10 s read timeout once: ask again, a few times.
        let reply = (0..5)
            .find_map(|_| http_with(http_addr, "GET", path, headers, None))
            .expect("http answer within five tries");
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.body);
        reply.body
    };
    let metric = |series: &str| metric_value(&get("/metrics"), series).unwrap_or(0.0);
    let counter = || metric("hbd_datagrams_total{type=\"HTB\"}");
    if args.mode == Mode::Memory {
        memory_mode(args, udp, daemon.id(), &counter);
        terminate(&mut daemon);
        return None;
    }
    if args.mode == Mode::Plugins || args.mode == Mode::Api {
        if args.mode == Mode::Plugins {
            plugins_mode(args, udp, &metric);
        } else {
            api_mode(args, udp, &get, &counter);
        }
        terminate(&mut daemon);
        return None;
    }
    println!(
        "hb-load: {} hosts, {} sender(s), window {} per sender, {} s per run, {} round(s) of hbd then bare echo{}",
        args.hosts,
        args.senders,
        args.window,
        args.seconds,
        args.rounds,
        if args.signed { ", signed" } else { "" }
    );
    let echo_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    // The same receive buffer hbd asks for by default (hb_recv_buffer).
    let _ = socket2::SockRef::from(&echo_socket).set_recv_buffer_size(64 << 20);
    let echo_addr = echo_socket.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let echo = {
        let stop = stop.clone();
        std::thread::spawn(move || echo_loop(echo_socket, stop))
    };
    // Rounds alternate the two, so that a machine whose speed drifts (a shared VM)
    // slows both alike; the ratio is of the totals.
    let hbd_addr = SocketAddr::from(([127, 0, 0, 1], udp));
    let (mut hbd_run, mut echo_run) = (Run::default(), Run::default());
    let (mut hbd_secs, mut echo_secs, mut processed) = (0.0, 0.0, 0.0);
    let mut hbd_cpu = Cpu::default();
    let mut ratios = Vec::new();
    for _ in 0..args.rounds {
        let before = counter();
        let cpu_before = process_cpu_seconds(daemon.id());
        let run = load(hbd_addr, args);
        hbd_cpu += process_cpu_seconds(daemon.id()) - cpu_before;
        let here = counter() - before;
        let echo_here = load(echo_addr, args);
        ratios.push((here / run.elapsed) / (echo_here.acked as f64 / echo_here.elapsed));
        processed += here;
        hbd_secs += run.elapsed;
        echo_secs += echo_here.elapsed;
        hbd_run.merge(run);
        echo_run.merge(echo_here);
    }
    hbd_run.elapsed = hbd_secs;
    echo_run.elapsed = echo_secs;
    let journal_bytes = metric("hbd_journal_bytes_total");
    let dropped = metric("hbd_engine_dropped_total") + metric("hbd_journal_dropped_total");
    terminate(&mut daemon);
    stop.store(true, Ordering::Relaxed);
    let echo_cpu = echo.join().unwrap();

    let hbd_rate = processed / hbd_secs;
    report("hbd", &mut hbd_run, hbd_rate);
    println!(
        "           journal {:.1} MB written, {} entries dropped by the daemon",
        journal_bytes / 1e6,
        dropped
    );
    cpu_line(
        hbd_cpu.total(),
        hbd_secs,
        processed,
        &hbd_run,
        Some(hbd_cpu),
    );
    let echo_rate = echo_run.acked as f64 / echo_secs;
    report("bare echo", &mut echo_run, echo_rate);
    cpu_line(echo_cpu, echo_secs, echo_run.acked as f64, &echo_run, None);
    let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    println!(
        "ratio hbd / bare echo: {:.2} (goal >= 0.8); by round: {}",
        hbd_rate / echo_rate,
        each.join(" ")
    );
    Some(hbd_rate / echo_rate)
}
