//! SHA-256 digests as the protocol writes them (64 lowercase hex digits): what a `UPD`
//! names a release file by, computed the same way by the daemon that offers the file
//! and the agent that checks it.

use std::io::Read;

use sha2::{Digest, Sha256};

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of hex text (either case); `None` for an odd length or a non-hex digit.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// SHA-256 of everything `reader` yields, read in 64 KiB pieces, as lowercase hex.
pub fn sha256_hex(mut reader: impl Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(hex(&hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// SHA-256 of a file, as lowercase hex.
pub fn sha256_file(path: &std::path::Path) -> std::io::Result<String> {
    sha256_hex(std::fs::File::open(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_sha256_in_lowercase_hex() {
        // FIPS 180-2's "abc" test vector, and a read longer than one piece.
        assert_eq!(
            sha256_hex(&b"abc"[..]).ok().as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        let long = vec![b'a'; 1_000_000];
        assert_eq!(
            sha256_hex(&long[..]).ok().as_deref(),
            Some("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        );
    }
}
