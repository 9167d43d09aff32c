//! The three encodings of a datagram (plain JSON, zlib, signed) and their encoder and
//! decoder.
//!
//! Decoding is split in two so the caller can look up the key between the steps:
//! [`split`] reads the frame header without touching the payload, [`Frame::verify`] checks
//! the tag, and only then [`decode_payload`] inflates (bounded) and parses.

use std::borrow::Cow;
use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;

use crate::error::{DecodeError, EncodeError};
use crate::limits::{Limits, MAX_DATAGRAM_BYTES, too_deep};
use crate::message::Message;
use crate::signing::{Key, TAG_LEN};

/// Magic that starts a signed frame.
pub const SIGNED_MAGIC: &[u8; 4] = b"HB1S";
/// First byte of a zlib stream with the default window (CMF 0x78).
pub const ZLIB_FIRST_BYTE: u8 = 0x78;
/// Longest key id in a signed frame.
pub const MAX_KEY_ID_LEN: usize = 64;
/// Agents compress JSON longer than this many bytes.
pub const DEFAULT_COMPRESS_OVER: usize = 512;

/// A datagram with its signature header (if any) separated from its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// Plain or zlib payload with no signature.
    Unsigned {
        /// The payload (plain JSON or zlib).
        payload: &'a [u8],
    },
    /// `HB1S`, key id, tag, payload.
    Signed {
        /// The key id (normally the host name).
        key_id: &'a str,
        /// Every byte before the tag: magic, length byte, key id.
        header: &'a [u8],
        /// The 32-byte tag.
        tag: &'a [u8],
        /// The payload (plain JSON or zlib).
        payload: &'a [u8],
    },
}

/// Reads the frame structure of a datagram. Does not inflate or parse.
pub fn split<'a>(datagram: &'a [u8], limits: &Limits) -> Result<Frame<'a>, DecodeError> {
    if datagram.is_empty() {
        return Err(DecodeError::Empty);
    }
    if datagram.len() > limits.max_datagram_bytes {
        return Err(DecodeError::TooLarge {
            len: datagram.len(),
            max: limits.max_datagram_bytes,
        });
    }
    if !datagram.starts_with(SIGNED_MAGIC) {
        return Ok(Frame::Unsigned { payload: datagram });
    }
    let Some(&len) = datagram.get(SIGNED_MAGIC.len()) else {
        return Err(DecodeError::BadFrame {
            detail: "no key id length",
        });
    };
    let len = usize::from(len);
    if len == 0 || len > MAX_KEY_ID_LEN {
        return Err(DecodeError::BadFrame {
            detail: "key id length outside 1..=64",
        });
    }
    let header_len = SIGNED_MAGIC.len() + 1 + len;
    if datagram.len() < header_len + TAG_LEN + 1 {
        return Err(DecodeError::BadFrame {
            detail: "shorter than its header and tag",
        });
    }
    let key_id =
        std::str::from_utf8(&datagram[SIGNED_MAGIC.len() + 1..header_len]).map_err(|_| {
            DecodeError::BadFrame {
                detail: "key id is not UTF-8",
            }
        })?;
    Ok(Frame::Signed {
        key_id,
        header: &datagram[..header_len],
        tag: &datagram[header_len..header_len + TAG_LEN],
        payload: &datagram[header_len + TAG_LEN..],
    })
}

impl<'a> Frame<'a> {
    /// The key id of a signed frame.
    pub fn key_id(&self) -> Option<&'a str> {
        match self {
            Frame::Unsigned { .. } => None,
            Frame::Signed { key_id, .. } => Some(key_id),
        }
    }

    /// The inner bytes (plain JSON or zlib).
    pub fn payload(&self) -> &'a [u8] {
        match self {
            Frame::Unsigned { payload } | Frame::Signed { payload, .. } => payload,
        }
    }

    /// Checks the tag with `key` in constant time. An unsigned frame never verifies.
    pub fn verify(&self, key: &Key) -> Result<(), DecodeError> {
        match self {
            Frame::Unsigned { .. } => Err(DecodeError::Unsigned),
            Frame::Signed {
                key_id,
                header,
                tag,
                payload,
            } => {
                if key.verify(&[header, payload], tag) {
                    Ok(())
                } else {
                    Err(DecodeError::BadSignature {
                        key_id: (*key_id).to_owned(),
                    })
                }
            }
        }
    }
}

/// A parsed message and the JSON text it came from (inflated if it was compressed).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<'a> {
    /// The message.
    pub message: Message,
    /// Its JSON text.
    pub json: Cow<'a, [u8]>,
}

/// Inflates (bounded by `max_message_bytes`) and parses a frame's payload.
pub fn decode_payload<'a>(payload: &'a [u8], limits: &Limits) -> Result<Decoded<'a>, DecodeError> {
    let json: Cow<'a, [u8]> = match payload.first() {
        None => return Err(DecodeError::Empty),
        Some(b'{') => {
            if payload.len() > limits.max_message_bytes {
                return Err(DecodeError::TooLarge {
                    len: payload.len(),
                    max: limits.max_message_bytes,
                });
            }
            Cow::Borrowed(payload)
        }
        Some(&ZLIB_FIRST_BYTE) => Cow::Owned(inflate_bounded(payload, limits.max_message_bytes)?),
        Some(&first) => return Err(DecodeError::UnknownEncoding { first }),
    };
    if json.first() != Some(&b'{') {
        return Err(DecodeError::BadJson {
            detail: "compressed content is not a JSON object".into(),
        });
    }
    if too_deep(&json, limits.max_depth) {
        return Err(DecodeError::TooDeep {
            max: limits.max_depth,
        });
    }
    let message = Message::from_json(&json)?;
    Ok(Decoded { message, json })
}

/// Inflates a zlib stream, refusing (without allocating it) any output over `max` bytes.
pub fn inflate_bounded(input: &[u8], max: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(input.len().saturating_mul(4).min(max));
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    ZlibDecoder::new(input)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Decompress {
            detail: e.to_string(),
        })?;
    if out.len() > max {
        return Err(DecodeError::Bomb { max });
    }
    Ok(out)
}

/// Compresses with zlib at the default level.
pub fn deflate(json: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(
        Vec::with_capacity(json.len() / 2 + 16),
        Compression::default(),
    );
    // Invariant: writing into a Vec cannot fail.
    let _ = encoder.write_all(json);
    encoder.finish().unwrap_or_default()
}

/// What signs outgoing datagrams: a key id and its key.
#[derive(Debug, Clone)]
pub struct Signer {
    /// Key id put in the frame (normally the host name).
    pub key_id: String,
    /// The shared secret.
    pub key: Key,
}

/// Encodes a message: JSON, zlib when longer than `compress_over`, then signed when a
/// signer is given.
pub fn encode(
    message: &Message,
    signer: Option<&Signer>,
    compress_over: usize,
) -> Result<Vec<u8>, EncodeError> {
    let key = signer.map(|s| (s.key_id.as_str(), &s.key));
    encode_as(message, key, compress_over)
}

/// As [`encode`], signed with a borrowed `(key id, key)` when given: for a sender that
/// signs for many key ids (the daemon's replies), with no [`Signer`] made per datagram.
pub fn encode_as(
    message: &Message,
    key: Option<(&str, &Key)>,
    compress_over: usize,
) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    encode_into(message, key, compress_over, &mut out)?;
    Ok(out)
}

/// As [`encode_as`], appending the datagram to `out` (left as it was on an error): the
/// daemon writes a turn's replies one after another into one buffer, with no
/// allocation per reply.
pub fn encode_into(
    message: &Message,
    key: Option<(&str, &Key)>,
    compress_over: usize,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    // An ACK answers every heartbeat: its text is written straight into `out`, after
    // the frame's header and the room for the tag when signed, with no copy. The bytes
    // are those `frame` makes (tested).
    if let Message::Ack(ack) = message
        && key.is_none_or(|(key_id, _)| !key_id.is_empty() && key_id.len() <= MAX_KEY_ID_LEN)
    {
        let start = out.len();
        if let Some((key_id, _)) = key {
            out.extend_from_slice(SIGNED_MAGIC);
            // Invariant: checked above that the length is 1..=64, which fits a u8.
            out.push(key_id.len() as u8);
            out.extend_from_slice(key_id.as_bytes());
            out.extend_from_slice(&[0; TAG_LEN]);
        }
        let text = out.len();
        ack.write_json(out);
        if out.len() - text <= compress_over {
            if let Some((_, key)) = key {
                let head = text - TAG_LEN;
                let tag = key.tag(&[&out[start..head], &out[text..]]);
                out[head..text].copy_from_slice(&tag);
            }
            return Ok(());
        }
        out.truncate(start);
    }
    let datagram = frame(Cow::Owned(message.to_json()), key, compress_over)?;
    out.extend_from_slice(&datagram);
    Ok(())
}

/// As [`encode`], for a caller that already has the JSON text.
pub fn encode_json(
    json: &[u8],
    signer: Option<&Signer>,
    compress_over: usize,
) -> Result<Vec<u8>, EncodeError> {
    let key = signer.map(|s| (s.key_id.as_str(), &s.key));
    frame(Cow::Borrowed(json), key, compress_over)
}

/// Compresses and signs `json` as asked; an owned text sent as it is (short, unsigned)
/// becomes the datagram without a copy.
fn frame(
    json: Cow<'_, [u8]>,
    signer: Option<(&str, &Key)>,
    compress_over: usize,
) -> Result<Vec<u8>, EncodeError> {
    let payload = if json.len() > compress_over {
        Cow::Owned(deflate(&json))
    } else {
        json
    };
    let out = match signer {
        None => payload.into_owned(),
        Some((key_id, key)) => {
            let key_id = key_id.as_bytes();
            if key_id.is_empty() || key_id.len() > MAX_KEY_ID_LEN {
                return Err(EncodeError::BadKeyId { len: key_id.len() });
            }
            let mut out = Vec::with_capacity(5 + key_id.len() + TAG_LEN + payload.len());
            out.extend_from_slice(SIGNED_MAGIC);
            // Invariant: checked above that the length is 1..=64, which fits a u8.
            out.push(key_id.len() as u8);
            out.extend_from_slice(key_id);
            let tag = key.tag(&[&out, &payload]);
            out.extend_from_slice(&tag);
            out.extend_from_slice(&payload);
            out
        }
    };
    if out.len() > MAX_DATAGRAM_BYTES {
        return Err(EncodeError::TooLarge {
            len: out.len(),
            max: MAX_DATAGRAM_BYTES,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RejectReason;
    use crate::message::{Heartbeat, OperatorMessage};

    fn signer() -> Signer {
        Signer {
            key_id: "web1".into(),
            key: Key::new("s3cret"),
        }
    }

    fn htb() -> Message {
        Message::Heartbeat(Heartbeat {
            name: "web1".into(),
            ts: Some(1_700_000_000.5),
            run: Some(42),
            seq: Some(1),
            interval: Some(30.0),
            ..Heartbeat::default()
        })
    }

    fn decode(datagram: &[u8], key: Option<&Key>) -> Result<Message, DecodeError> {
        let limits = Limits::default();
        let frame = split(datagram, &limits)?;
        if let Some(key) = key {
            frame.verify(key)?;
        }
        decode_payload(frame.payload(), &limits).map(|d| d.message)
    }

    #[test]
    fn plain_round_trip() {
        let bytes = encode(&htb(), None, DEFAULT_COMPRESS_OVER).unwrap();
        assert_eq!(bytes[0], b'{');
        assert_eq!(decode(&bytes, None).unwrap(), htb());
    }

    #[test]
    fn zlib_round_trip_for_large_messages() {
        let msg = Message::Text(OperatorMessage {
            name: "web1".into(),
            text: "disk replaced ".repeat(100),
            ..OperatorMessage::default()
        });
        let bytes = encode(&msg, None, DEFAULT_COMPRESS_OVER).unwrap();
        assert_eq!(bytes[0], ZLIB_FIRST_BYTE);
        assert!(bytes.len() < 200);
        assert_eq!(decode(&bytes, None).unwrap(), msg);
    }

    /// A signed ACK written in place is byte for byte the frame the general path makes,
    /// whatever it carries, for any key id length; too long for `compress_over`, it
    /// goes the general way (compressed).
    #[test]
    fn a_signed_ack_written_in_place_is_the_general_frame() {
        use crate::message::Ack;
        let key = Key::new("k");
        let acks = [
            Ack {
                seq: Some(7),
                ts: Some(1_764_963_212.481_337),
                server_ts: 1_764_963_212.5,
                plugins: None,
            },
            Ack {
                seq: None,
                ts: None,
                server_ts: 0.1,
                plugins: Some("ab12".into()),
            },
            Ack {
                seq: Some(u64::MAX),
                ts: Some(f64::NAN),
                server_ts: 1e300,
                plugins: Some("not hex \"!".into()),
            },
        ];
        // Appended after other replies, as the daemon writes a turn's replies into one
        // buffer: each must be its own frame, the ones before it untouched.
        let mut turn = b"earlier replies".to_vec();
        for ack in acks {
            let message = Message::Ack(ack);
            for key_id in ["h", "web-0042.example.net", &"x".repeat(MAX_KEY_ID_LEN)] {
                for compress_over in [DEFAULT_COMPRESS_OVER, 10] {
                    for key in [Some((key_id, &key)), None] {
                        let general =
                            frame(Cow::Owned(message.to_json()), key, compress_over).unwrap();
                        let fast = encode_as(&message, key, compress_over).unwrap();
                        assert_eq!(fast, general, "{message:?} {key:?} {compress_over}");
                        let before = turn.clone();
                        encode_into(&message, key, compress_over, &mut turn).unwrap();
                        assert_eq!(turn[..before.len()], before[..]);
                        assert_eq!(turn[before.len()..], general[..]);
                    }
                }
            }
        }
    }

    #[test]
    fn a_reply_that_cannot_be_encoded_leaves_the_buffer_as_it_was() {
        let mut turn = b"earlier replies".to_vec();
        let ack = Message::Ack(crate::message::Ack {
            seq: Some(1),
            ts: None,
            server_ts: 1.0,
            plugins: None,
        });
        let too_long = "x".repeat(MAX_KEY_ID_LEN + 1);
        let key = Key::new("k");
        assert!(matches!(
            encode_into(
                &ack,
                Some((&too_long, &key)),
                DEFAULT_COMPRESS_OVER,
                &mut turn
            ),
            Err(EncodeError::BadKeyId { .. })
        ));
        assert_eq!(turn, b"earlier replies");
    }

    #[test]
    fn signed_round_trip_and_layout() {
        let bytes = encode(&htb(), Some(&signer()), DEFAULT_COMPRESS_OVER).unwrap();
        assert_eq!(&bytes[..4], b"HB1S");
        assert_eq!(bytes[4], 4);
        assert_eq!(&bytes[5..9], b"web1");
        assert_eq!(bytes[9 + 32], b'{');
        let frame = split(&bytes, &Limits::default()).unwrap();
        assert_eq!(frame.key_id(), Some("web1"));
        assert_eq!(decode(&bytes, Some(&Key::new("s3cret"))).unwrap(), htb());
    }

    #[test]
    fn every_rejection_has_its_reason() {
        let limits = Limits::default();
        let signed = encode(&htb(), Some(&signer()), DEFAULT_COMPRESS_OVER).unwrap();
        let mut tampered = signed.clone();
        let last = tampered.len() - 2;
        tampered[last] ^= 0x20;
        let bomb = deflate(&vec![b' '; 2 * 1024 * 1024]);
        let mut deep = "{\"a\":".repeat(40);
        deep.push('1');
        deep.push_str(&"}".repeat(40));
        let cases: Vec<(&str, Vec<u8>, Option<Key>, RejectReason)> = vec![
            ("empty", vec![], None, RejectReason::Malformed),
            (
                "oversized",
                vec![b'{'; 70_000],
                None,
                RejectReason::TooLarge,
            ),
            (
                "unknown encoding",
                b"hello".to_vec(),
                None,
                RejectReason::Malformed,
            ),
            (
                "truncated signed",
                b"HB1S\x04web1abc".to_vec(),
                None,
                RejectReason::Malformed,
            ),
            (
                "zero key id",
                b"HB1S\x00".to_vec(),
                None,
                RejectReason::Malformed,
            ),
            (
                "tampered",
                tampered,
                Some(Key::new("s3cret")),
                RejectReason::BadSignature,
            ),
            (
                "wrong key",
                signed,
                Some(Key::new("other")),
                RejectReason::BadSignature,
            ),
            (
                "corrupt zlib",
                vec![0x78, 0x9c, 1, 2, 3],
                None,
                RejectReason::Decompress,
            ),
            ("bomb", bomb, None, RejectReason::Bomb),
            ("deep", deep.into_bytes(), None, RejectReason::TooDeep),
            ("not json", b"{nope".to_vec(), None, RejectReason::BadJson),
            (
                "unknown id",
                br#"{"ID":"ZZZ","name":"a"}"#.to_vec(),
                None,
                RejectReason::UnknownId,
            ),
            (
                "bad name",
                br#"{"ID":"HTB","name":""}"#.to_vec(),
                None,
                RejectReason::Invalid,
            ),
        ];
        for (what, bytes, key, want) in cases {
            let err = decode(&bytes, key.as_ref()).unwrap_err();
            assert_eq!(err.reason(), want, "{what}: {err}");
        }
        let unsigned = encode(&htb(), None, DEFAULT_COMPRESS_OVER).unwrap();
        let frame = split(&unsigned, &limits).unwrap();
        assert_eq!(
            frame.verify(&Key::new("k")).unwrap_err().reason(),
            RejectReason::Unsigned
        );
    }

    #[test]
    fn the_documented_signed_example_is_exact() {
        // docs/PROTOCOL.md, "Signed": these bytes must stay what the document shows.
        let inner =
            br#"{"ID":"HTB","name":"web1","ts":1764000000.5,"run":42,"seq":7,"interval":30}"#;
        let signer = Signer {
            key_id: "web1".into(),
            key: Key::new("s3cret-key-0123456789"),
        };
        let bytes = encode_json(inner, Some(&signer), DEFAULT_COMPRESS_OVER).unwrap();
        let hex = |b: &[u8]| {
            b.iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(bytes.len(), 116);
        assert_eq!(hex(&bytes[..9]), "48 42 31 53 04 77 65 62 31");
        assert_eq!(
            hex(&bytes[9..41]),
            "25 9c 5f da 99 e8 3d 6b 4b 33 84 f6 45 a2 a9 79 \
             9c f8 d1 46 ea 1f 24 94 7e 54 50 30 40 96 0c 37"
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert_eq!(&bytes[41..], inner);
    }

    #[test]
    fn bomb_is_refused_at_the_configured_limit() {
        let limits = Limits {
            max_message_bytes: 1000,
            ..Limits::default()
        };
        let json = format!(r#"{{"ID":"MSG","name":"a","text":"{}"}}"#, "x".repeat(2000));
        let err = decode_payload(&deflate(json.as_bytes()), &limits).unwrap_err();
        assert_eq!(err, DecodeError::Bomb { max: 1000 });
    }

    #[test]
    fn encoding_refuses_oversized_datagrams() {
        // Random-looking text does not compress below the wire limit.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let text: String = (0..200_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b'a' + (state % 26) as u8)
            })
            .collect();
        let msg = Message::Text(OperatorMessage {
            name: "a".into(),
            text,
            ..OperatorMessage::default()
        });
        assert!(matches!(
            encode(&msg, None, DEFAULT_COMPRESS_OVER),
            Err(EncodeError::TooLarge { .. })
        ));
    }
}
