//! Size and nesting limits of a datagram, and the JSON depth scan that enforces nesting
//! before any parser allocates.

/// Largest UDP payload that fits in one IPv4 datagram.
pub const MAX_DATAGRAM_BYTES: usize = 65_507;
/// Deepest JSON nesting accepted (objects and arrays together).
pub const MAX_JSON_DEPTH: usize = 32;
/// Default bound on the size of a message after inflation (`max_message_bytes`).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Longest `output` of a `RES` message, in bytes.
pub const MAX_COMMAND_OUTPUT_BYTES: usize = 16 * 1024;
/// Longest free-text field (`MSG` text, status texts), in bytes.
pub const MAX_TEXT_BYTES: usize = 8 * 1024;
/// Longest short string field (plugin name, version, command id), in bytes.
pub const MAX_SHORT_STRING_BYTES: usize = 256;
/// Most entries in a `CMD` argv.
pub const MAX_ARGV_ITEMS: usize = 256;

/// The limits a decoder enforces. `Default` gives the protocol's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest datagram accepted on the wire.
    pub max_datagram_bytes: usize,
    /// Largest JSON text accepted after inflation (`max_message_bytes`).
    pub max_message_bytes: usize,
    /// Deepest JSON nesting accepted.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_datagram_bytes: MAX_DATAGRAM_BYTES,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_depth: MAX_JSON_DEPTH,
        }
    }
}

/// Whether `bytes` nests `[` and `{` deeper than `max` (see [`json_depth`]).
///
/// Nesting can be no deeper than the number of opening brackets, strings or not. That
/// count is a loop the compiler vectorizes; only a text with more than `max` of them
/// (few real messages: a heartbeat has one) pays for the byte-by-byte scan.
pub fn too_deep(bytes: &[u8], max: usize) -> bool {
    let opening = bytes.iter().filter(|&&b| b == b'{' || b == b'[').count();
    opening > max && json_depth(bytes, max) > max
}

/// Returns the deepest nesting of `[` and `{` in a JSON text, ignoring brackets inside
/// strings. It stops early and returns `max + 1` once `max` is exceeded, so the scan of a
/// hostile input costs one pass and no allocation.
pub fn json_depth(bytes: &[u8], max: usize) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > deepest {
                    deepest = depth;
                    if deepest > max {
                        return deepest;
                    }
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_objects_and_arrays_but_not_strings() {
        let cases: &[(&str, usize)] = &[
            ("{}", 1),
            (r#"{"a":[1,{"b":2}]}"#, 3),
            (r#"{"a":"[[[[{{{{"}"#, 1),
            (r#"{"a":"\"[[[["}"#, 1),
            ("1", 0),
        ];
        for (text, want) in cases {
            assert_eq!(json_depth(text.as_bytes(), 32), *want, "{text}");
        }
    }

    #[test]
    fn too_deep_agrees_with_the_scan() {
        let cases: &[(&str, usize, bool)] = &[
            ("{}", 1, false),
            ("[[]]", 1, true),
            // Many brackets, but in a string or side by side: not deep.
            (r#"{"a":"[[[[{{{{"}"#, 2, false),
            ("[[],[],[],[]]", 2, false),
            (r#"{"a":[1,{"b":[2]}]}"#, 3, true),
            (r#"{"a":[1,{"b":[2]}]}"#, 4, false),
        ];
        for &(text, max, want) in cases {
            assert_eq!(too_deep(text.as_bytes(), max), want, "{text} max {max}");
        }
    }

    #[test]
    fn depth_scan_stops_past_the_limit() {
        let deep = "[".repeat(10_000);
        assert_eq!(json_depth(deep.as_bytes(), 32), 33);
    }
}
