//! The protocol's per-datagram costs on the daemon's heartbeat path: decoding a
//! heartbeat as an agent sends it (`Message::from_json`) and encoding the `ACK` that
//! answers it (`frame::encode`). Prints nanoseconds per call, the best of five runs.
//!
//!   cargo bench -p hb-proto --bench codec
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is right

use std::hint::black_box;
use std::time::Instant;

use hb_proto::frame::{DEFAULT_COMPRESS_OVER, encode};
use hb_proto::message::{Ack, Heartbeat};
use hb_proto::{Message, Signer};

const CALLS: u32 = 500_000;

/// Nanoseconds per call of `f`, the best of five runs of [`CALLS`] calls.
fn per_call(mut f: impl FnMut(u32)) -> f64 {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for i in 0..CALLS {
                f(i);
            }
            start.elapsed().as_nanos() as f64 / f64::from(CALLS)
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    // What an agent sends: the fields in the order it writes them.
    let heartbeat = Message::Heartbeat(Heartbeat {
        name: "web-0042.example.net".into(),
        ts: Some(1_764_963_212.481_337),
        run: Some(8_112_734_992_311),
        seq: Some(123_456),
        interval: Some(30.0),
        rtt: Some(0.412),
        version: Some("0.1.0".into()),
        uptime: Some(1_234_567.5),
        arch: Some("x86_64-linux".into()),
        // Nine heartbeats in ten carry no labels.
        labels: None,
        accepts: None,
        plugins: None,
    });
    let json = heartbeat.to_json();
    let ns = per_call(|_| {
        black_box(Message::from_json(black_box(&json)).unwrap());
    });
    println!("decode a heartbeat ({} bytes): {ns:.0} ns", json.len());

    let signer = Signer {
        key_id: "web-0042.example.net".into(),
        key: hb_proto::Key::new(vec![7u8; 32]),
    };
    for (what, signer) in [("unsigned", None), ("signed", Some(&signer))] {
        let ns = per_call(|i| {
            let ack = Message::Ack(Ack {
                seq: Some(u64::from(i)),
                ts: Some(1_764_963_212.481_337),
                server_ts: 1_764_963_212.5 + f64::from(i) * 1e-6,
                plugins: None,
            });
            black_box(encode(&ack, black_box(signer), DEFAULT_COMPRESS_OVER).unwrap());
        });
        println!("encode an ACK, {what}: {ns:.0} ns");
    }

    // The replay window's check of a signed heartbeat, 1,000 hosts in turn.
    let names: Vec<String> = (0..1000).map(|i| format!("load-{i:06}")).collect();
    let mut guard = hb_proto::ReplayGuard::new(120.0);
    let ns = per_call(|i| {
        let name = &names[i as usize % names.len()];
        let stamp = hb_proto::message::Stamp {
            name,
            ts: Some(1_764_963_212.0),
            run: Some(7),
            seq: Some(u64::from(i)),
        };
        black_box(guard.check(black_box(name), &stamp, 1_764_963_212.0).ok());
    });
    println!("replay check, 1000 hosts: {ns:.0} ns");

    // The tag alone, for a heartbeat's and an ACK's length: the floor under signing.
    let key = hb_proto::Key::new(vec![7u8; 32]);
    for len in [110usize, 305] {
        let bytes = vec![b'x'; len];
        let ns = per_call(|_| {
            black_box(key.tag(&[black_box(&bytes)]));
        });
        println!("HMAC-SHA256 tag of {len} bytes: {ns:.0} ns");
    }
}
