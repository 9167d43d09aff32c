//! The host-name rule: 1 to 253 characters of `A-Z a-z 0-9 . - _`.

/// Longest accepted host name, in bytes.
pub const MAX_NAME_LEN: usize = 253;

/// Why a host name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is the empty string.
    #[error("host name is empty")]
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`].
    #[error("host name is {len} characters long, at most {MAX_NAME_LEN} are allowed")]
    TooLong {
        /// Length in bytes.
        len: usize,
    },
    /// The name holds a character outside `A-Z a-z 0-9 . - _`.
    #[error("host name has the character {found:?}; only A-Z a-z 0-9 . - _ are allowed")]
    BadCharacter {
        /// The first offending character.
        found: char,
    },
}

/// Checks a host name against the protocol's rule.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong { len: name.len() });
    }
    // Checked byte by byte (every datagram's name passes here); a byte outside the
    // rule starts the character reported, which is decoded only then.
    match name
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')))
    {
        Some(at) => Err(NameError::BadCharacter {
            // Invariant: a non-ASCII byte that `position` stops at first is the first
            // byte of its character, so the slice from it starts with a char.
            found: name[at..].chars().next().unwrap_or('\u{FFFD}'),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rule() {
        let cases: &[(&str, Result<(), NameError>)] = &[
            ("web1", Ok(())),
            ("db-2.example.org", Ok(())),
            ("under_score", Ok(())),
            ("", Err(NameError::Empty)),
            ("has space", Err(NameError::BadCharacter { found: ' ' })),
            ("ünï", Err(NameError::BadCharacter { found: 'ü' })),
            ("a/b", Err(NameError::BadCharacter { found: '/' })),
        ];
        for (name, want) in cases {
            assert_eq!(&validate_name(name), want, "{name:?}");
        }
        assert_eq!(validate_name(&"a".repeat(253)), Ok(()));
        assert_eq!(
            validate_name(&"a".repeat(254)),
            Err(NameError::TooLong { len: 254 })
        );
    }
}
