//! The daemon's own work on each heartbeat, without the sockets: admitting the datagram
//! (`Gate::admit`: frame, signature, parse, checks, replay window), the core's handling
//! (`Core::handle`, the datagram dropped after) and the ACK's encoding (signed like the
//! heartbeat). This is the user-space part of the serial stage `hb-load` measures whole
//! (docs/PERFORMANCE.md), timed without the machine's network noise.
//!
//! 1,000 hosts send heartbeats as `hb-load` writes them, unsigned and then signed under
//! a shared `hb_key`; then 100,000 hosts, unsigned, to show what the number of hosts
//! costs (finding the host, and caches that no longer hold every host's state). Prints
//! nanoseconds per heartbeat for each step and in all, the best of five runs.
//!
//!   cargo bench -p hbd --bench heartbeat
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is right

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hb_proto::frame::{DEFAULT_COMPRESS_OVER, encode_into, encode_json};
use hb_proto::{Key, Signer};
use hbd::clock::Clock;
use hbd::config::{Config, SharedConfig};
use hbd::core::{Action, Core, Datagram};
use hbd::gate::Gate;
use hbd_e2e::bench_heartbeat;

/// The daemon's allocator (see `main.rs`), so that allocation costs what it costs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Heartbeats timed in one run, spread over passes of every host.
const BEATS: usize = 200_000;

/// Timed passes over `hosts` hosts in one run.
fn passes(hosts: usize) -> usize {
    BEATS.div_ceil(hosts)
}
const KEY: &str = "benchmark key, long enough to use";

/// Time spent in each step, over one run.
#[derive(Default, Clone, Copy)]
struct Spent {
    admit: Duration,
    handle: Duration,
    encode: Duration,
}

impl Spent {
    fn total(&self) -> Duration {
        self.admit + self.handle + self.encode
    }
}

/// Host `i`'s heartbeat number `seq`, as `hb-load` sends it.
fn heartbeat(i: usize, seq: u64, signer: Option<&Signer>, ts: f64) -> Vec<u8> {
    let name = format!("load-{i:06}");
    match signer {
        None => bench_heartbeat(&name, seq, None).into_bytes(),
        Some(signer) => {
            let json = bench_heartbeat(&name, seq, Some((ts, 7)));
            let signer = Signer {
                key_id: name,
                key: signer.key.clone(),
            };
            encode_json(json.as_bytes(), Some(&signer), DEFAULT_COMPRESS_OVER).unwrap()
        }
    }
}

/// One run: a warm-up pass that registers `hosts` hosts, then passes over all of them
/// until [`BEATS`] heartbeats are timed.
fn run(hosts: usize, signed: bool) -> Spent {
    let config = Arc::new(Config {
        hb_key: signed.then(|| Key::new(KEY)),
        require_signed: signed,
        ..Config::default()
    });
    let clock = Clock::start();
    let mut gate = Gate::new(SharedConfig::new(config.clone()));
    let mut core = Core::new(hbd::core::CoreSettings::from(&*config), clock.now());
    let signer = Signer {
        key_id: String::new(),
        key: Key::new(KEY),
    };
    let signer = signed.then_some(&signer);
    let source: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let mut spent = Spent::default();
    let mut actions = Vec::with_capacity(16);
    let mut admitted = Vec::with_capacity(hosts);
    let mut pending = Vec::with_capacity(hosts);
    // The turn's replies, one after another in one buffer, as the engine's `Replies`.
    let mut replies: Vec<u8> = Vec::new();
    for pass in 0..=passes(hosts) as u64 {
        let now = clock.now();
        let ts = now.wall.as_secs_f64();
        // Made outside the timing, as the agents make them.
        let datagrams: Vec<Vec<u8>> = (0..hosts)
            .map(|i| heartbeat(i, pass + 1, signer, ts))
            .collect();

        let start = Instant::now();
        for bytes in &datagrams {
            let a = gate.admit(bytes, now.wall).unwrap();
            admitted.push(Datagram {
                message: a.message,
                source,
                key_id: a.key_id,
            });
        }
        let admitted_at = Instant::now();
        for datagram in admitted.drain(..) {
            core.handle(&datagram, now, &mut actions);
            for action in actions.drain(..) {
                if let Action::Reply {
                    key_id, message, ..
                } = action
                {
                    pending.push((key_id, message));
                }
            }
        }
        let handled_at = Instant::now();
        // As the engine's `reply`: the key looked up by key id, the ACK framed and signed.
        let mut encoded = 0;
        for (key_id, message) in pending.drain(..) {
            let key = key_id
                .as_deref()
                .and_then(|id| config.key_for(id).map(|(key, _)| (id, key)));
            encode_into(&message, key, DEFAULT_COMPRESS_OVER, &mut replies).unwrap();
            encoded += 1;
        }
        let encoded_at = Instant::now();
        assert_eq!(encoded, hosts, "one ACK per heartbeat");
        black_box(&replies);
        replies.clear();
        if pass > 0 {
            spent.admit += admitted_at - start;
            spent.handle += handled_at - admitted_at;
            spent.encode += encoded_at - handled_at;
        }
    }
    spent
}

fn main() {
    for (hosts, signed) in [(1_000, false), (1_000, true), (100_000, false)] {
        let best = (0..5)
            .map(|_| run(hosts, signed))
            .min_by_key(Spent::total)
            .unwrap();
        let timed = (passes(hosts) * hosts) as f64;
        let per = |d: Duration| d.as_nanos() as f64 / timed;
        println!(
            "heartbeat, {hosts} hosts, {}: {:.0} ns in all: admit {:.0} ns, core {:.0} ns, ACK {:.0} ns",
            if signed { "signed" } else { "unsigned" },
            per(best.total()),
            per(best.admit),
            per(best.handle),
            per(best.encode)
        );
    }
}
