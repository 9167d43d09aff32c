//! Enrolment: how an agent holding a token an administrator made gets a key of its own,
//! and how it replaces that key later (PROTOCOL.md, "Enrolment").
//!
//! The two sides agree on the host key by X25519: the agent sends a fresh public value,
//! the daemon answers with its own, and each derives the key with HKDF-SHA256 from the
//! shared secret, bound to the token, the host name and both public values. Neither the
//! key nor the token's secret ever crosses the network. Both messages carry an
//! HMAC-SHA256 proof keyed by the token's verifier (SHA-256 of its secret), so only a
//! holder of the token can ask, only the daemon that made it can answer, and a party in
//! the middle that swaps a public value makes both proofs fail. A rekey is the same
//! exchange with the current host key in the token's place.
//!
//! Pure: the caller passes the random bytes in.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};

use crate::digest::{hex, unhex};
use crate::signing::Key;

/// What every token starts with (its format's version).
pub const TOKEN_PREFIX: &str = "hbe1";

/// Why an exchange fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrolError {
    /// The token is not of the form `hbe1-ID-SECRET`.
    #[error("not an enrolment token (hbe1-<16 hex>-<64 hex>)")]
    Token,
    /// A public value is not 64 hex digits, or gives no shared secret.
    #[error("{0} is not an X25519 public value")]
    Public(&'static str),
    /// A proof does not verify: the other side does not hold the token (or key).
    #[error("the {0}'s proof does not verify")]
    Proof(&'static str),
    /// The answer is for another host or another request.
    #[error("the answer is for {0:?}, not this request")]
    NotMine(String),
}

/// A token: an id the daemon finds it by, and a secret only its holder knows.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    /// 16 hex digits.
    pub id: String,
    secret: [u8; 32],
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token({}, <secret>)", self.id)
    }
}

impl Token {
    /// A token from random bytes.
    pub fn new(id: [u8; 8], secret: [u8; 32]) -> Token {
        Token {
            id: hex(&id),
            secret,
        }
    }

    /// Reads `hbe1-ID-SECRET`.
    pub fn parse(text: &str) -> Result<Token, EnrolError> {
        let mut parts = text.trim().split('-');
        let (Some(TOKEN_PREFIX), Some(id), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(EnrolError::Token);
        };
        let id_ok = id.len() == 16 && unhex(id).is_some();
        let secret: [u8; 32] = unhex(secret)
            .and_then(|s| s.try_into().ok())
            .ok_or(EnrolError::Token)?;
        if !id_ok {
            return Err(EnrolError::Token);
        }
        Ok(Token {
            id: id.to_ascii_lowercase(),
            secret,
        })
    }

    /// The text an administrator hands out.
    pub fn text(&self) -> String {
        format!("{TOKEN_PREFIX}-{}-{}", self.id, hex(&self.secret))
    }

    /// What the daemon keeps of it (not the secret), and what proofs are keyed by.
    pub fn verifier(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"hbd enrolment token\n");
        h.update(self.secret);
        h.finalize().into()
    }
}

/// The agent's request to enrol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The host name it asks to speak for.
    pub name: String,
    /// The token's id.
    pub token_id: String,
    /// Its X25519 public value, hex.
    pub agent_public: String,
    /// HMAC under the token's verifier, hex.
    pub proof: String,
}

/// Whether the key may speak at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Standing {
    /// It speaks for the host from now on.
    Active,
    /// An administrator has to approve it first.
    Pending,
}

impl Standing {
    fn word(self) -> &'static str {
        match self {
            Standing::Active => "active",
            Standing::Pending => "pending",
        }
    }
}

/// The daemon's answer to a request, or to a rekey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// The host name.
    pub name: String,
    /// Whether the new key speaks at once.
    pub standing: Standing,
    /// The daemon's X25519 public value, hex.
    pub server_public: String,
    /// HMAC under the same key as the request's proof, hex.
    pub proof: String,
}

/// The agent's request for a new key, proved with its current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rekey {
    /// The host name.
    pub name: String,
    /// Its new X25519 public value, hex.
    pub agent_public: String,
    /// HMAC under the current host key's binder, hex.
    pub proof: String,
}

/// What proofs and the key are bound to in a rekey: the current key, hashed.
fn key_binder(current: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"hbd host key\n");
    h.update(current.as_bytes());
    h.finalize().into()
}

fn prove(binder: &[u8; 32], label: &str, fields: &[&str]) -> String {
    let key = Key::new(binder.to_vec());
    let mut parts: Vec<&[u8]> = vec![label.as_bytes()];
    for field in fields {
        parts.push(b"\n");
        parts.push(field.as_bytes());
    }
    hex(&key.tag(&parts))
}

fn proved(binder: &[u8; 32], label: &str, fields: &[&str], proof: &str) -> bool {
    let Some(tag) = unhex(proof) else {
        return false;
    };
    let key = Key::new(binder.to_vec());
    let mut parts: Vec<&[u8]> = vec![label.as_bytes()];
    for field in fields {
        parts.push(b"\n");
        parts.push(field.as_bytes());
    }
    key.verify(&parts, &tag)
}

fn public(text: &str, which: &'static str) -> Result<PublicKey, EnrolError> {
    let bytes: [u8; 32] = unhex(text)
        .and_then(|b| b.try_into().ok())
        .ok_or(EnrolError::Public(which))?;
    Ok(PublicKey::from(bytes))
}

/// The host key both sides derive, as the text an agent's `key` holds (64 hex).
fn derive(
    secret: &StaticSecret,
    theirs: &PublicKey,
    binder: &[u8; 32],
    name: &str,
    agent_public: &str,
    server_public: &str,
) -> Result<String, EnrolError> {
    let shared = secret.diffie_hellman(theirs);
    if !shared.was_contributory() {
        return Err(EnrolError::Public("the other side's value"));
    }
    let info = format!("hbd host key\n{name}\n{agent_public}\n{server_public}");
    let hk = hkdf::Hkdf::<Sha256>::new(Some(binder), shared.as_bytes());
    let mut key = [0u8; 32];
    // Invariant: 32 bytes is far below HKDF-SHA256's limit of 255 * 32.
    hk.expand(info.as_bytes(), &mut key)
        .unwrap_or_else(|_| unreachable!());
    Ok(hex(&key))
}

/// The agent's half of one exchange.
pub struct Offer {
    secret: StaticSecret,
    public: String,
}

impl Offer {
    /// An offer from 32 random bytes.
    pub fn new(random: [u8; 32]) -> Offer {
        let secret = StaticSecret::from(random);
        let public = hex(PublicKey::from(&secret).as_bytes());
        Offer { secret, public }
    }

    /// The request to enrol as `name` with `token`.
    pub fn request(&self, name: &str, token: &Token) -> Request {
        Request {
            name: name.to_owned(),
            token_id: token.id.clone(),
            agent_public: self.public.clone(),
            proof: prove(
                &token.verifier(),
                "hbd enrol request",
                &[name, &token.id, &self.public],
            ),
        }
    }

    /// The host key, from the daemon's answer to `request`.
    pub fn accept(
        &self,
        token: &Token,
        request: &Request,
        answer: &Answer,
    ) -> Result<String, EnrolError> {
        self.finish(&token.verifier(), "hbd enrol answer", &request.name, answer)
    }

    /// The request for a new key for `name`, proved with its `current` one.
    pub fn rekey(&self, name: &str, current: &str) -> Rekey {
        Rekey {
            name: name.to_owned(),
            agent_public: self.public.clone(),
            proof: prove(
                &key_binder(current),
                "hbd rekey request",
                &[name, &self.public],
            ),
        }
    }

    /// The new host key, from the daemon's answer to a rekey.
    pub fn accept_rekey(
        &self,
        current: &str,
        request: &Rekey,
        answer: &Answer,
    ) -> Result<String, EnrolError> {
        self.finish(
            &key_binder(current),
            "hbd rekey answer",
            &request.name,
            answer,
        )
    }

    fn finish(
        &self,
        binder: &[u8; 32],
        label: &str,
        name: &str,
        answer: &Answer,
    ) -> Result<String, EnrolError> {
        if answer.name != name {
            return Err(EnrolError::NotMine(answer.name.clone()));
        }
        let fields = [
            name,
            &self.public,
            &answer.server_public,
            answer.standing.word(),
        ];
        if !proved(binder, label, &fields, &answer.proof) {
            return Err(EnrolError::Proof("daemon"));
        }
        let theirs = public(&answer.server_public, "server_public")?;
        derive(
            &self.secret,
            &theirs,
            binder,
            name,
            &self.public,
            &answer.server_public,
        )
    }
}

/// The daemon's half: checks the request's proof under the token's `verifier`, and
/// answers with `standing`. Returns the answer and the host key.
pub fn answer(
    verifier: &[u8; 32],
    request: &Request,
    random: [u8; 32],
    standing: Standing,
) -> Result<(Answer, String), EnrolError> {
    let fields = [
        request.name.as_str(),
        &request.token_id,
        &request.agent_public,
    ];
    if !proved(verifier, "hbd enrol request", &fields, &request.proof) {
        return Err(EnrolError::Proof("agent"));
    }
    reply(
        verifier,
        "hbd enrol answer",
        &request.name,
        &request.agent_public,
        random,
        standing,
    )
}

/// The daemon's half of a rekey: checks the request's proof under the host's `current`
/// key. Returns the answer and the new key.
pub fn answer_rekey(
    current: &str,
    request: &Rekey,
    random: [u8; 32],
) -> Result<(Answer, String), EnrolError> {
    let binder = key_binder(current);
    let fields = [request.name.as_str(), &request.agent_public];
    if !proved(&binder, "hbd rekey request", &fields, &request.proof) {
        return Err(EnrolError::Proof("agent"));
    }
    reply(
        &binder,
        "hbd rekey answer",
        &request.name,
        &request.agent_public,
        random,
        Standing::Active,
    )
}

/// Whether `request` is proved by the host key `key` (to tell which of two keys a
/// rekey was made with).
pub fn rekey_proved_by(key: &str, request: &Rekey) -> bool {
    proved(
        &key_binder(key),
        "hbd rekey request",
        &[&request.name, &request.agent_public],
        &request.proof,
    )
}

fn reply(
    binder: &[u8; 32],
    label: &str,
    name: &str,
    agent_public: &str,
    random: [u8; 32],
    standing: Standing,
) -> Result<(Answer, String), EnrolError> {
    let theirs = public(agent_public, "agent_public")?;
    let secret = StaticSecret::from(random);
    let server_public = hex(PublicKey::from(&secret).as_bytes());
    let key = derive(&secret, &theirs, binder, name, agent_public, &server_public)?;
    let proof = prove(
        binder,
        label,
        &[name, agent_public, &server_public, standing.word()],
    );
    Ok((
        Answer {
            name: name.to_owned(),
            standing,
            server_public,
            proof,
        },
        key,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> Token {
        Token::new([1; 8], [2; 32])
    }

    #[test]
    fn a_token_reads_back_and_nothing_else_is_one() {
        let t = token();
        assert_eq!(Token::parse(&t.text()).unwrap(), t);
        assert!(t.text().starts_with("hbe1-0101010101010101-0202"));
        assert_eq!(format!("{t:?}"), "Token(0101010101010101, <secret>)");
        for bad in [
            "",
            "hbe1",
            "hbe2-0101010101010101-0202020202020202020202020202020202020202020202020202020202020202",
            "hbe1-01010101010101-0202020202020202020202020202020202020202020202020202020202020202",
            "hbe1-0101010101010101-02",
            "hbe1-0101010101010101-zz02020202020202020202020202020202020202020202020202020202020202",
            "hbe1-0101010101010101-0202020202020202020202020202020202020202020202020202020202020202-x",
        ] {
            assert_eq!(Token::parse(bad), Err(EnrolError::Token), "{bad:?}");
        }
    }

    #[test]
    fn both_sides_derive_the_same_key_and_no_one_else_can() {
        let t = token();
        let offer = Offer::new([3; 32]);
        let request = offer.request("web1", &t);
        let (answer_, daemons) =
            answer(&t.verifier(), &request, [4; 32], Standing::Active).unwrap();
        let agents = offer.accept(&t, &request, &answer_).unwrap();
        assert_eq!(agents, daemons);
        assert_eq!(agents.len(), 64);
        assert!(!agents.contains(&hex(&[2; 32])), "not the token's secret");

        // (what, the request as sent, what the daemon says)
        let other = Token::new([1; 8], [9; 32]);
        let mut renamed = request.clone();
        renamed.name = "db1".into();
        let mut swapped = request.clone();
        swapped.agent_public = Offer::new([5; 32]).public;
        let cases = [
            (
                "a token with the same id and another secret",
                offer.request("web1", &other),
            ),
            ("another name", renamed),
            ("a public value swapped in the middle", swapped),
        ];
        for (what, sent) in cases {
            assert_eq!(
                answer(&t.verifier(), &sent, [4; 32], Standing::Active).map(|_| ()),
                Err(EnrolError::Proof("agent")),
                "{what}"
            );
        }

        // The answer tampered with on its way back.
        let mut forged = answer_.clone();
        forged.server_public = Offer::new([6; 32]).public;
        assert_eq!(
            offer.accept(&t, &request, &forged),
            Err(EnrolError::Proof("daemon"))
        );
        let mut promoted = answer_.clone();
        promoted.standing = Standing::Pending;
        assert_eq!(
            offer.accept(&t, &request, &promoted),
            Err(EnrolError::Proof("daemon"))
        );
        let mut elsewhere = answer_;
        elsewhere.name = "db1".into();
        assert_eq!(
            offer.accept(&t, &request, &elsewhere),
            Err(EnrolError::NotMine("db1".into()))
        );
    }

    #[test]
    fn a_rekey_is_proved_with_the_current_key_and_gives_a_new_one() {
        let current = "a".repeat(64);
        let offer = Offer::new([7; 32]);
        let request = offer.rekey("web1", &current);
        assert!(rekey_proved_by(&current, &request));
        assert!(!rekey_proved_by(&"b".repeat(64), &request));
        let (answer_, daemons) = answer_rekey(&current, &request, [8; 32]).unwrap();
        let agents = offer.accept_rekey(&current, &request, &answer_).unwrap();
        assert_eq!(agents, daemons);
        assert_ne!(agents, current);
        assert_eq!(
            answer_rekey(&"b".repeat(64), &request, [8; 32]).map(|_| ()),
            Err(EnrolError::Proof("agent"))
        );
    }

    #[test]
    fn a_public_value_that_is_not_one_is_refused() {
        let t = token();
        let offer = Offer::new([3; 32]);
        let mut request = offer.request("web1", &t);
        // All zeros: a small-order point, which would give a shared secret of zeros.
        request.agent_public = "00".repeat(32);
        request.proof = prove(
            &t.verifier(),
            "hbd enrol request",
            &["web1", &t.id, &request.agent_public],
        );
        assert_eq!(
            answer(&t.verifier(), &request, [4; 32], Standing::Active).map(|_| ()),
            Err(EnrolError::Public("the other side's value"))
        );
        request.agent_public = "zz".into();
        request.proof = prove(&t.verifier(), "hbd enrol request", &["web1", &t.id, "zz"]);
        assert_eq!(
            answer(&t.verifier(), &request, [4; 32], Standing::Active).map(|_| ()),
            Err(EnrolError::Public("agent_public"))
        );
    }
}
