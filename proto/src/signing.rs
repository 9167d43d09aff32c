//! HMAC-SHA256 keys and tags for signed frames; verification is constant time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length of a tag in bytes.
pub const TAG_LEN: usize = 32;

/// A shared secret. `Debug` never prints it.
///
/// HMAC's keyed state (the hashed inner and outer pads) is computed once, when the key
/// is made, and copied for each tag: keying it again for every datagram doubled the
/// hashing a short datagram's tag costs.
#[derive(Clone)]
pub struct Key {
    secret: Vec<u8>,
    keyed: HmacSha256,
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.secret == other.secret
    }
}

impl Eq for Key {}

impl Key {
    /// A key from the configured secret's bytes (the config string as UTF-8).
    pub fn new(secret: impl Into<Vec<u8>>) -> Key {
        let secret = secret.into();
        // Invariant: HMAC accepts keys of any length, so this cannot fail.
        let keyed =
            <HmacSha256 as KeyInit>::new_from_slice(&secret).unwrap_or_else(|_| unreachable!());
        Key { secret, keyed }
    }

    fn mac(&self) -> HmacSha256 {
        self.keyed.clone()
    }

    /// The tag over `parts`, concatenated.
    pub fn tag(&self, parts: &[&[u8]]) -> [u8; TAG_LEN] {
        let mut mac = self.mac();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// Checks `tag` over `parts` in constant time.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut mac = self.mac();
        for part in parts {
            mac.update(part);
        }
        mac.verify_slice(tag).is_ok()
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key(<{} bytes redacted>)", self.secret.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_matches_rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let key = Key::new(b"Jefe".to_vec());
        let tag = key.tag(&[b"what do ya want ", b"for nothing?"]);
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(key.verify(&[b"what do ya want for nothing?"], &tag));
        let mut bad = tag;
        bad[31] ^= 1;
        assert!(!key.verify(&[b"what do ya want for nothing?"], &bad));
    }

    #[test]
    fn debug_hides_the_secret() {
        assert_eq!(
            format!("{:?}", Key::new("s3cret")),
            "Key(<6 bytes redacted>)"
        );
    }
}
