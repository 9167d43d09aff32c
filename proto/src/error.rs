//! Decode and encode errors, and the reject reasons the daemon counts them under.

/// Why a datagram was rejected. Every variant maps to one [`RejectReason`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// Zero bytes.
    #[error("empty datagram")]
    Empty,
    /// The datagram is larger than the wire limit.
    #[error("datagram of {len} bytes is over the limit of {max}")]
    TooLarge {
        /// Bytes received.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The first byte is none of `{`, `0x78` or the signed magic.
    #[error("unknown encoding: first byte 0x{first:02x}")]
    UnknownEncoding {
        /// The first byte.
        first: u8,
    },
    /// A signed frame shorter than its header, or with a bad key-id length.
    #[error("malformed signed frame: {detail}")]
    BadFrame {
        /// What is wrong.
        detail: &'static str,
    },
    /// The key id names no configured key.
    #[error("no key for key id {key_id:?}")]
    UnknownKey {
        /// The key id, lossily decoded.
        key_id: String,
    },
    /// The tag does not match.
    #[error("bad signature for key id {key_id:?}")]
    BadSignature {
        /// The key id.
        key_id: String,
    },
    /// An unsigned datagram where signatures are required.
    #[error("unsigned datagram refused (require_signed is on)")]
    Unsigned,
    /// The zlib stream is corrupt or truncated.
    #[error("corrupt zlib stream: {detail}")]
    Decompress {
        /// The inflater's message.
        detail: String,
    },
    /// Inflation would exceed `max_message_bytes`.
    #[error("decompression bomb: inflates past {max} bytes")]
    Bomb {
        /// The limit.
        max: usize,
    },
    /// The JSON text nests deeper than allowed.
    #[error("JSON nests deeper than {max}")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// Not JSON, not an object, or a field of the wrong type.
    #[error("bad JSON: {detail}")]
    BadJson {
        /// The parser's message.
        detail: String,
    },
    /// A well-formed message whose `ID` is not known.
    #[error("unknown message ID {id:?}")]
    UnknownId {
        /// The `ID` (at most 32 bytes of it).
        id: String,
    },
    /// A field outside its bounds.
    #[error("invalid field {field}: {reason}")]
    Invalid {
        /// Wire name of the field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A signed message without `ts`, `run` and `seq`.
    #[error("signed message lacks {field}, which replay protection needs")]
    MissingReplayField {
        /// The missing field.
        field: &'static str,
    },
    /// `ts` too far from the receiver's clock.
    #[error("timestamp is {skew_s:.0} s from the receiver's clock (limit {max_s:.0} s)")]
    ClockSkew {
        /// Observed difference in seconds.
        skew_s: f64,
        /// The limit in seconds.
        max_s: f64,
    },
    /// The (`run`, `seq`) pair was already accepted, or is too old to tell.
    #[error("replayed message: run {run} seq {seq}")]
    Replay {
        /// Run id.
        run: u64,
        /// Sequence number.
        seq: u64,
    },
}

/// Reject counters' label: a closed set, so metrics stay bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// [`DecodeError::Empty`], [`DecodeError::UnknownEncoding`], [`DecodeError::BadFrame`].
    Malformed,
    /// [`DecodeError::TooLarge`].
    TooLarge,
    /// [`DecodeError::UnknownKey`].
    UnknownKey,
    /// [`DecodeError::BadSignature`].
    BadSignature,
    /// [`DecodeError::Unsigned`].
    Unsigned,
    /// [`DecodeError::Decompress`].
    Decompress,
    /// [`DecodeError::Bomb`].
    Bomb,
    /// [`DecodeError::TooDeep`].
    TooDeep,
    /// [`DecodeError::BadJson`].
    BadJson,
    /// [`DecodeError::UnknownId`].
    UnknownId,
    /// [`DecodeError::Invalid`].
    Invalid,
    /// [`DecodeError::ClockSkew`].
    ClockSkew,
    /// [`DecodeError::Replay`], [`DecodeError::MissingReplayField`].
    Replay,
}

impl RejectReason {
    /// Every reason, in a fixed order (index = position).
    pub const ALL: [RejectReason; 13] = [
        RejectReason::Malformed,
        RejectReason::TooLarge,
        RejectReason::UnknownKey,
        RejectReason::BadSignature,
        RejectReason::Unsigned,
        RejectReason::Decompress,
        RejectReason::Bomb,
        RejectReason::TooDeep,
        RejectReason::BadJson,
        RejectReason::UnknownId,
        RejectReason::Invalid,
        RejectReason::ClockSkew,
        RejectReason::Replay,
    ];

    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Malformed => "malformed",
            RejectReason::TooLarge => "too_large",
            RejectReason::UnknownKey => "unknown_key",
            RejectReason::BadSignature => "bad_signature",
            RejectReason::Unsigned => "unsigned",
            RejectReason::Decompress => "decompress",
            RejectReason::Bomb => "bomb",
            RejectReason::TooDeep => "too_deep",
            RejectReason::BadJson => "bad_json",
            RejectReason::UnknownId => "unknown_id",
            RejectReason::Invalid => "invalid",
            RejectReason::ClockSkew => "clock_skew",
            RejectReason::Replay => "replay",
        }
    }

    /// Position in [`RejectReason::ALL`], for array-indexed counters.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl DecodeError {
    /// The counter this rejection is counted under.
    pub fn reason(&self) -> RejectReason {
        match self {
            DecodeError::Empty
            | DecodeError::UnknownEncoding { .. }
            | DecodeError::BadFrame { .. } => RejectReason::Malformed,
            DecodeError::TooLarge { .. } => RejectReason::TooLarge,
            DecodeError::UnknownKey { .. } => RejectReason::UnknownKey,
            DecodeError::BadSignature { .. } => RejectReason::BadSignature,
            DecodeError::Unsigned => RejectReason::Unsigned,
            DecodeError::Decompress { .. } => RejectReason::Decompress,
            DecodeError::Bomb { .. } => RejectReason::Bomb,
            DecodeError::TooDeep { .. } => RejectReason::TooDeep,
            DecodeError::BadJson { .. } => RejectReason::BadJson,
            DecodeError::UnknownId { .. } => RejectReason::UnknownId,
            DecodeError::Invalid { .. } => RejectReason::Invalid,
            DecodeError::ClockSkew { .. } => RejectReason::ClockSkew,
            DecodeError::Replay { .. } | DecodeError::MissingReplayField { .. } => {
                RejectReason::Replay
            }
        }
    }
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// Even compressed, the datagram would be over the wire limit.
    #[error("encoded datagram is {len} bytes, over the limit of {max}")]
    TooLarge {
        /// Encoded size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The key id is empty or longer than 64 bytes.
    #[error("key id must be 1 to 64 bytes, got {len}")]
    BadKeyId {
        /// Its length.
        len: usize,
    },
}
