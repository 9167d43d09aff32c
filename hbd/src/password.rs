//! Password hashes in Werkzeug's formats, so hashes made for the original (Flask)
//! daemon keep working: `pbkdf2:sha256:ITER$SALT$HEX`, `pbkdf2:sha512:ITER$...`, a bare
//! `pbkdf2$...` (sha256, 1,000,000 iterations), and `scrypt:N:r:p$SALT$HEX` (Werkzeug's
//! default since 3.0; 64-byte key). The salt is used as its UTF-8 text, as Werkzeug
//! does. Pure: no I/O but the random salt of a new hash.

use subtle::ConstantTimeEq;

/// Iterations `hbd passwd` uses for a new PBKDF2-SHA256 hash.
pub const DEFAULT_ITERATIONS: u32 = 600_000;

/// Most memory an scrypt hash may ask for (`128 * N * r * p` bytes); Werkzeug's default
/// asks for 32 MiB.
pub const MAX_SCRYPT_BYTES: u64 = 256 * 1024 * 1024;

/// Why a stored hash cannot be used (never why a password is wrong: that is `false`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Not `METHOD$SALT$HEX`.
    #[error("not a password hash (expected METHOD$SALT$HEX, e.g. pbkdf2:sha256:600000$...)")]
    Shape,
    /// A method hbd does not know.
    #[error("unknown hash method {0:?} (pbkdf2:sha256, pbkdf2:sha512 or scrypt:N:r:p)")]
    Method(String),
    /// Parameters out of range.
    #[error("bad hash parameters: {0}")]
    Params(String),
    /// The digest is not hexadecimal.
    #[error("the digest is not hexadecimal")]
    Hex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Pbkdf2Sha256(u32),
    Pbkdf2Sha512(u32),
    Scrypt { log_n: u8, r: u32, p: u32 },
}

/// A parsed stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash {
    method: Method,
    salt: String,
    digest: Vec<u8>,
}

impl PasswordHash {
    /// Parses `METHOD$SALT$HEX`.
    pub fn parse(text: &str) -> Result<PasswordHash, HashError> {
        let mut parts = text.splitn(3, '$');
        let (Some(method), Some(salt), Some(hex)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(HashError::Shape);
        };
        let number = |s: &str, what: &str| -> Result<u32, HashError> {
            s.parse()
                .map_err(|_| HashError::Params(format!("{what} {s:?} is not a number")))
        };
        let fields: Vec<&str> = method.split(':').collect();
        let method = match fields.as_slice() {
            ["pbkdf2"] => Method::Pbkdf2Sha256(1_000_000),
            ["pbkdf2", "sha256"] => Method::Pbkdf2Sha256(1_000_000),
            ["pbkdf2", "sha512"] => Method::Pbkdf2Sha512(1_000_000),
            ["pbkdf2", "sha256", n] => Method::Pbkdf2Sha256(number(n, "iterations")?),
            ["pbkdf2", "sha512", n] => Method::Pbkdf2Sha512(number(n, "iterations")?),
            ["scrypt"] => Method::Scrypt {
                log_n: 15,
                r: 8,
                p: 1,
            },
            ["scrypt", n, r, p] => {
                let n = number(n, "N")?;
                if !n.is_power_of_two() || n < 2 {
                    return Err(HashError::Params(format!(
                        "scrypt N {n} is not a power of two"
                    )));
                }
                Method::Scrypt {
                    log_n: u8::try_from(n.trailing_zeros()).unwrap_or(u8::MAX),
                    r: number(r, "r")?,
                    p: number(p, "p")?,
                }
            }
            _ => return Err(HashError::Method(method.to_owned())),
        };
        match method {
            Method::Pbkdf2Sha256(0) | Method::Pbkdf2Sha512(0) => {
                return Err(HashError::Params("0 iterations".into()));
            }
            Method::Scrypt { log_n, r, p } => {
                let bytes = 128u64 << log_n;
                if r == 0
                    || p == 0
                    || bytes.saturating_mul(u64::from(r) * u64::from(p)) > MAX_SCRYPT_BYTES
                {
                    return Err(HashError::Params(format!(
                        "scrypt N={} r={r} p={p} is out of range (at most {} MiB)",
                        1u64 << log_n,
                        MAX_SCRYPT_BYTES >> 20
                    )));
                }
            }
            _ => {}
        }
        Ok(PasswordHash {
            method,
            salt: salt.to_owned(),
            digest: decode_hex(hex)?,
        })
    }

    /// A hash that no password matches and whose check costs what this one's does (the
    /// same method, parameters and digest length): what an unknown user name is checked
    /// against, so it answers in the time a known one does.
    pub fn decoy(&self) -> PasswordHash {
        PasswordHash {
            method: self.method,
            salt: "decoy-salt-16chr".to_owned(),
            digest: vec![0; self.digest.len()],
        }
    }

    /// Werkzeug's default method (`scrypt:32768:8:1`, as passwords set through the API
    /// are hashed) as a [`decoy`](Self::decoy): for a daemon none of whose users has a
    /// password hash.
    pub fn default_decoy() -> PasswordHash {
        PasswordHash {
            method: Method::Scrypt {
                log_n: 15,
                r: 8,
                p: 1,
            },
            salt: "decoy-salt-16chr".to_owned(),
            digest: vec![0; 64],
        }
    }

    /// The method and its parameters, as the hash's text names them (`scrypt:32768:8:1`).
    pub fn cost(&self) -> String {
        match self.method {
            Method::Pbkdf2Sha256(n) => format!("pbkdf2:sha256:{n}"),
            Method::Pbkdf2Sha512(n) => format!("pbkdf2:sha512:{n}"),
            Method::Scrypt { log_n, r, p } => format!("scrypt:{}:{r}:{p}", 1u64 << log_n),
        }
    }

    /// Whether `password` matches, compared in constant time.
    pub fn verify(&self, password: &str) -> bool {
        let mut out = vec![0u8; self.digest.len().max(1)];
        derive(
            self.method,
            password.as_bytes(),
            self.salt.as_bytes(),
            &mut out,
        );
        out.ct_eq(&self.digest).into()
    }
}

fn derive(method: Method, password: &[u8], salt: &[u8], out: &mut [u8]) {
    match method {
        Method::Pbkdf2Sha256(n) => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, n, out),
        Method::Pbkdf2Sha512(n) => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, salt, n, out),
        Method::Scrypt { log_n, r, p } => {
            // Invariant: parse() checked the parameters, and `out` is never empty.
            if let Ok(params) = scrypt::Params::new(log_n, r, p) {
                let _ = scrypt::scrypt(password, salt, &params, out);
            }
        }
    }
}

fn decode_hex(hex: &str) -> Result<Vec<u8>, HashError> {
    hb_proto::digest::unhex(hex)
        .filter(|bytes| !bytes.is_empty())
        .ok_or(HashError::Hex)
}

fn salt() -> Result<String, getrandom::Error> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut random = [0u8; 16];
    getrandom::fill(&mut random)?;
    // 256 is a multiple of 62 plus 8: the small bias is irrelevant for a salt.
    Ok(random
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new `pbkdf2:sha256:ITERATIONS$SALT$HEX` hash with a random 16-character salt, as
/// Werkzeug's `generate_password_hash(..., method="pbkdf2:sha256:ITERATIONS")` makes.
pub fn hash(password: &str, iterations: u32) -> Result<String, getrandom::Error> {
    let salt = salt()?;
    let mut out = [0u8; 32];
    derive(
        Method::Pbkdf2Sha256(iterations.max(1)),
        password.as_bytes(),
        salt.as_bytes(),
        &mut out,
    );
    Ok(format!(
        "pbkdf2:sha256:{}${salt}${}",
        iterations.max(1),
        hex(&out)
    ))
}

/// A new `scrypt:32768:8:1$SALT$HEX` hash: Werkzeug's default method, used for
/// passwords set through the API (32 MiB and about 0.1 s per check).
pub fn hash_scrypt(password: &str) -> Result<String, getrandom::Error> {
    let salt = salt()?;
    let mut out = [0u8; 64];
    derive(
        Method::Scrypt {
            log_n: 15,
            r: 8,
            p: 1,
        },
        password.as_bytes(),
        salt.as_bytes(),
        &mut out,
    );
    Ok(format!("scrypt:32768:8:1${salt}${}", hex(&out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_hashes_verify_and_wrong_passwords_do_not() {
        let made = hash("pässwörd ✓", 1000).unwrap();
        assert!(made.starts_with("pbkdf2:sha256:1000$"));
        let parsed = PasswordHash::parse(&made).unwrap();
        assert!(parsed.verify("pässwörd ✓"));
        assert!(!parsed.verify("passwörd ✓"));
        assert!(!parsed.verify(""));
        assert_ne!(hash("x", 1000).unwrap(), hash("x", 1000).unwrap(), "salted");
        let scrypt = hash_scrypt("pässwörd ✓").unwrap();
        assert!(scrypt.starts_with("scrypt:32768:8:1$"), "{scrypt}");
        let parsed = PasswordHash::parse(&scrypt).unwrap();
        assert!(parsed.verify("pässwörd ✓") && !parsed.verify("password"));
    }

    #[test]
    fn a_decoy_has_its_hash_s_cost_and_matches_nothing() {
        for made in [hash("pw", 1000).unwrap(), hash_scrypt("pw").unwrap()] {
            let real = PasswordHash::parse(&made).unwrap();
            let decoy = real.decoy();
            assert_eq!(decoy.cost(), real.cost());
            assert_eq!(decoy.digest.len(), real.digest.len());
            assert!(!decoy.verify("pw") && !decoy.verify(""));
        }
        assert_eq!(PasswordHash::default_decoy().cost(), "scrypt:32768:8:1");
    }

    #[test]
    fn bad_hashes_say_what_is_wrong() {
        let cases = [
            ("plain-text-password", HashError::Shape),
            ("md5$salt$00", HashError::Method("md5".into())),
            (
                "pbkdf2:sha256:abc$s$00",
                HashError::Params("iterations \"abc\" is not a number".into()),
            ),
            (
                "pbkdf2:sha256:0$s$00",
                HashError::Params("0 iterations".into()),
            ),
            ("pbkdf2:sha256:1000$s$zz", HashError::Hex),
            (
                "scrypt:1000:8:1$s$00",
                HashError::Params("scrypt N 1000 is not a power of two".into()),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(PasswordHash::parse(text).unwrap_err(), want, "{text}");
        }
        assert!(matches!(
            PasswordHash::parse("scrypt:1048576:8:8$s$00"),
            Err(HashError::Params(_))
        ));
    }
}
