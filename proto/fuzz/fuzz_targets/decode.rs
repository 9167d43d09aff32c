//! Fuzz target: any bytes through the daemon's decode path (frame split, tag check,
//! bounded inflate, depth scan, JSON parse, validation, replay window) must never
//! panic, and an accepted message must re-encode and decode to itself.
#![no_main]

use hb_proto::frame::{decode_payload, encode, split};
use hb_proto::{Key, Limits, ReplayGuard};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_message_bytes: 64 * 1024,
        ..Limits::default()
    };
    let Ok(frame) = split(data, &limits) else { return };
    let _ = frame.verify(&Key::new("fuzz-key-0123456789"));
    let Ok(decoded) = decode_payload(frame.payload(), &limits) else { return };
    if let Some(stamp) = decoded.message.stamp() {
        let _ = ReplayGuard::new(300.0).check("k", &stamp, 1_700_000_000.0);
    }
    let again = encode(&decoded.message, None, usize::MAX).expect("re-encode");
    let round = decode_payload(&again, &limits).expect("re-decode");
    assert_eq!(round.message, decoded.message);
});
