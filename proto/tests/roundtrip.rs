//! Property tests: every message survives encode -> decode in every encoding, and no
//! input whatsoever makes the decoder panic.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use hb_proto::frame::{DEFAULT_COMPRESS_OVER, decode_payload, encode, split};
use hb_proto::message::Ack;
use hb_proto::{Boot, Heartbeat, Key, Limits, Message, OperatorMessage, Signer};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._-]{1,64}"
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (
            name(),
            any::<u64>(),
            any::<u64>(),
            1u32..86_400,
            proptest::option::of(0u32..100_000),
            proptest::option::of("[0-9.]{1,12}"),
        )
            .prop_map(|(name, run, seq, interval, rtt, version)| {
                Message::Heartbeat(Heartbeat {
                    name,
                    ts: Some(1_700_000_000.25),
                    run: Some(run),
                    seq: Some(seq),
                    interval: Some(f64::from(interval)),
                    rtt: rtt.map(|r| f64::from(r) / 8.0),
                    version,
                    uptime: Some(12.5),
                    arch: Some("x86_64-linux".into()),
                    labels: (seq.is_multiple_of(2)).then(|| {
                        [("role".to_owned(), "web".to_owned())]
                            .into_iter()
                            .collect()
                    }),
                    accepts: (seq.is_multiple_of(3)).then(|| hb_proto::Accepts {
                        allow: vec!["/usr/bin/systemctl".into()],
                        upgrade: true,
                    }),
                    plugins: (seq.is_multiple_of(5)).then(|| "ab".repeat(32)),
                })
            }),
        (name(), ".{0,2000}").prop_map(|(name, text)| Message::Text(OperatorMessage {
            name,
            ts: Some(1.0),
            run: Some(1),
            seq: Some(2),
            text,
        })),
        name().prop_map(|name| Message::Boot(Boot {
            name,
            ..Boot::default()
        })),
    ]
}

/// Any f64 at all (NaN, the infinities, subnormals), and the clock readings an ACK
/// usually carries.
fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        (1_600_000_000u64..2_000_000_000, 0u32..1_000_000)
            .prop_map(|(s, us)| s as f64 + f64::from(us) / 1e6),
        Just(0.0),
        Just(-0.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ]
}

fn decode(bytes: &[u8], key: Option<&Key>) -> Message {
    let limits = Limits::default();
    let frame = split(bytes, &limits).expect("frame");
    if let Some(key) = key {
        frame.verify(key).expect("signature");
    }
    decode_payload(frame.payload(), &limits)
        .expect("payload")
        .message
}

proptest! {
    #[test]
    fn every_encoding_round_trips(msg in message(), secret in "[ -~]{1,40}") {
        let plain = encode(&msg, None, usize::MAX).unwrap();
        prop_assert_eq!(decode(&plain, None), msg.clone());
        let zlib = encode(&msg, None, 0).unwrap();
        prop_assert_eq!(zlib[0], 0x78);
        prop_assert_eq!(decode(&zlib, None), msg.clone());
        let signer = Signer { key_id: "kid".into(), key: Key::new(secret.clone()) };
        let signed = encode(&msg, Some(&signer), DEFAULT_COMPRESS_OVER).unwrap();
        prop_assert_eq!(decode(&signed, Some(&Key::new(secret))), msg);
    }

    /// The ACK is written by hand; it must be serde's text exactly, for any value.
    #[test]
    fn the_ack_is_written_as_serde_writes_it(
        seq in proptest::option::of(any::<u64>()),
        ts in proptest::option::of(any_f64()),
        server_ts in any_f64(),
        plugins in proptest::option::of("[0-9a-f]{64}|\\PC{0,12}"),
    ) {
        let plugins = plugins.map(|p| std::sync::Arc::from(p.as_str()));
        let ack = Message::Ack(Ack { seq, ts, server_ts, plugins });
        let by_serde = serde_json::to_vec(&ack).unwrap();
        prop_assert_eq!(
            String::from_utf8(ack.to_json()).unwrap(),
            String::from_utf8(by_serde).unwrap()
        );
    }

    #[test]
    fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let limits = Limits::default();
        if let Ok(frame) = split(&bytes, &limits) {
            let _ = frame.verify(&Key::new("k"));
            let _ = decode_payload(frame.payload(), &limits);
        }
    }

    #[test]
    fn flipping_any_signed_byte_breaks_the_signature(msg in message(), at in any::<prop::sample::Index>()) {
        let signer = Signer { key_id: "kid".into(), key: Key::new("secret") };
        let mut signed = encode(&msg, Some(&signer), DEFAULT_COMPRESS_OVER).unwrap();
        // Skip the magic and length byte: changing those changes the frame, not the tag check.
        let i = 5 + at.index(signed.len() - 5);
        signed[i] ^= 0x01;
        let limits = Limits::default();
        if let Ok(frame) = split(&signed, &limits) {
            prop_assert!(frame.verify(&Key::new("secret")).is_err());
        }
    }
}
