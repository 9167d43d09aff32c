//! OpenID Connect sign-in, the pure part: the sign-ins under way (state, nonce and
//! PKCE verifier, each used once), the provider's authorization URL, and the checks an
//! ID token's claims must pass before anyone is signed in. The shell that talks to the
//! provider is [`super::oidc_client`]; the signature is checked there, everything the
//! claims say is checked here, against the daemon's clock.

use std::collections::{HashMap, VecDeque};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::config::oidc::OidcConfig;

/// How long a browser has at the provider before its sign-in is forgotten.
pub const PENDING_FOR_MS: u64 = 10 * 60 * 1000;

/// Sign-ins kept under way at most: past this the oldest is forgotten (its browser
/// starts again), so a flood of abandoned starts cannot grow memory.
pub const MAX_PENDING: usize = 10_000;

/// Clock difference allowed between hbd and the provider.
pub const LEEWAY_MS: u64 = 60 * 1000;

/// Why a sign-in through the provider was refused. The text is shown on the sign-in
/// page and kept in the audit log; it never holds a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The callback's state is not one this daemon is waiting for: used before,
    /// expired, made up, or started in another browser.
    #[error("this sign-in is not one hbd started in this browser, or it was used already")]
    UnknownState,
    /// The provider answered the browser with an error.
    #[error("the provider refused: {0}")]
    Provider(String),
    /// The ID token's signature does not verify with the provider's keys.
    #[error("the ID token's signature does not verify: {0}")]
    Signature(String),
    /// The ID token names another issuer.
    #[error("the ID token was issued by {0:?}, not the configured issuer")]
    Issuer(String),
    /// The ID token is not for this client.
    #[error("the ID token is for another client (audience {0})")]
    Audience(String),
    /// The ID token has expired (or has no expiry).
    #[error("the ID token has expired")]
    Expired,
    /// The ID token says it was issued in the future.
    #[error("the ID token was issued in the future; check both clocks")]
    Future,
    /// The ID token's nonce is not this sign-in's.
    #[error("the ID token's nonce is not this sign-in's")]
    Nonce,
    /// A claim that must be there is missing or of the wrong kind.
    #[error("the provider did not say {0}")]
    Claim(String),
    /// The user-info answer is about someone else.
    #[error("the provider's user info is about another subject")]
    Subject,
    /// Not a member of `allowed_groups`.
    #[error("{0} is not in a group allowed to sign in")]
    NotAllowed(String),
    /// The name belongs to a user the config declares, or to another subject.
    #[error("{0}")]
    Name(String),
    /// Talking to the provider failed.
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    /// The provider vouched for the person, but hbd could not record the sign-in (its
    /// own store failed): nothing to do with the provider.
    #[error("hbd could not record the sign-in: {0}")]
    Store(String),
}

/// The longest text of the provider's own (an error's description) that hbd repeats.
pub const MAX_PROVIDER_WORDS: usize = 200;

/// What the provider said, fit to repeat on the sign-in page and in the log: at most
/// [`MAX_PROVIDER_WORDS`] characters, control characters (line breaks that would forge
/// a log line among them) as spaces.
pub fn provider_words(said: &str) -> String {
    let mut words: String = said
        .chars()
        .take(MAX_PROVIDER_WORDS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if said.chars().nth(MAX_PROVIDER_WORDS).is_some() {
        words.push('…');
    }
    words
}

/// One sign-in under way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier the code is redeemed with.
    pub verifier: String,
    /// Where the browser goes once signed in (a local path).
    pub next: String,
    /// When it started.
    pub started: Timestamp,
}

/// What starting a sign-in gives: the state (sent to the provider and kept in the
/// browser's cookie) and what the authorization URL needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// The state.
    pub state: String,
    /// The nonce.
    pub nonce: String,
    /// The PKCE challenge (S256 of the verifier).
    pub challenge: String,
}

/// The sign-ins under way, by state.
#[derive(Debug, Default)]
pub struct PendingSignIns {
    by_state: HashMap<String, Pending>,
    order: VecDeque<String>,
}

fn text(random: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(random)
}

/// The PKCE challenge of a verifier: `BASE64URL(SHA256(verifier))` (RFC 7636, S256).
pub fn challenge(verifier: &str) -> String {
    text(&Sha256::digest(verifier.as_bytes()))
}

impl PendingSignIns {
    /// Starts a sign-in from 96 random bytes (state, nonce, verifier).
    pub fn start(&mut self, random: [u8; 96], next: String, now: Timestamp) -> Started {
        self.expire(now);
        while self.by_state.len() >= MAX_PENDING {
            match self.order.pop_front() {
                Some(old) => {
                    self.by_state.remove(&old);
                }
                None => break,
            }
        }
        let state = text(&random[..32]);
        let nonce = text(&random[32..64]);
        let verifier = text(&random[64..]);
        let started = Started {
            state: state.clone(),
            nonce: nonce.clone(),
            challenge: challenge(&verifier),
        };
        self.order.push_back(state.clone());
        self.by_state.insert(
            state,
            Pending {
                nonce,
                verifier,
                next,
                started: now,
            },
        );
        started
    }

    /// Takes the sign-in `state` names, once: it must be under way, not expired, and
    /// the same as the browser's cookie (`bound`), so a callback link sent to someone
    /// else signs nobody in. Whatever the outcome, the state cannot be used again.
    pub fn take(&mut self, state: &str, bound: &str, now: Timestamp) -> Result<Pending, Refusal> {
        self.expire(now);
        let pending = self.by_state.remove(state).ok_or(Refusal::UnknownState)?;
        self.order.retain(|s| s != state);
        let same = bool::from(subtle::ConstantTimeEq::ct_eq(
            state.as_bytes(),
            bound.as_bytes(),
        ));
        if !same {
            return Err(Refusal::UnknownState);
        }
        Ok(pending)
    }

    /// How many are under way.
    pub fn len(&self) -> usize {
        self.by_state.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.by_state.is_empty()
    }

    fn expire(&mut self, now: Timestamp) {
        while let Some(oldest) = self.order.front() {
            let old = self
                .by_state
                .get(oldest)
                .is_none_or(|p| p.started.0 + PENDING_FOR_MS <= now.0);
            if !old {
                break;
            }
            if let Some(s) = self.order.pop_front() {
                self.by_state.remove(&s);
            }
        }
    }
}

/// The provider's authorization URL for a started sign-in.
pub fn authorize_url(
    endpoint: &str,
    config: &OidcConfig,
    redirect: &str,
    started: &Started,
) -> Result<String, Refusal> {
    let mut url = url::Url::parse(endpoint)
        .map_err(|e| Refusal::Unreachable(format!("authorization endpoint {endpoint:?}: {e}")))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", &config.scopes.join(" "))
        .append_pair("state", &started.state)
        .append_pair("nonce", &started.nonce)
        .append_pair("code_challenge", &started.challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(url.into())
}

/// Checks what a signature-verified ID token says (OpenID Connect Core 3.1.3.7):
/// issued by the configured issuer, for this client, not expired, not from the
/// future, with this sign-in's nonce.
pub fn check_claims(
    claims: &Map<String, Value>,
    config: &OidcConfig,
    nonce: &str,
    now: Timestamp,
) -> Result<(), Refusal> {
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if iss != config.issuer {
        return Err(Refusal::Issuer(iss.to_owned()));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&config.client_id.as_str()) {
        return Err(Refusal::Audience(format!("{audiences:?}")));
    }
    let azp = claims.get("azp").and_then(Value::as_str);
    if (audiences.len() > 1 || azp.is_some()) && azp != Some(config.client_id.as_str()) {
        return Err(Refusal::Audience(format!(
            "{audiences:?}, authorized party {azp:?}"
        )));
    }
    let seconds = |name: &str| claims.get(name).and_then(Value::as_u64);
    let now_s = now.0 / 1000;
    let leeway = LEEWAY_MS / 1000;
    match seconds("exp") {
        Some(exp) if now_s < exp.saturating_add(leeway) => {}
        _ => return Err(Refusal::Expired),
    }
    match seconds("iat") {
        Some(iat) if iat <= now_s + leeway => {}
        Some(_) => return Err(Refusal::Future),
        None => return Err(Refusal::Claim("when the ID token was issued (iat)".into())),
    }
    if let Some(nbf) = seconds("nbf")
        && nbf > now_s + leeway
    {
        return Err(Refusal::Future);
    }
    let same = claims
        .get("nonce")
        .and_then(Value::as_str)
        .is_some_and(|n| {
            bool::from(subtle::ConstantTimeEq::ct_eq(
                n.as_bytes(),
                nonce.as_bytes(),
            ))
        });
    if !same {
        return Err(Refusal::Nonce);
    }
    Ok(())
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user name hbd knows them by (the configured claim).
    pub name: String,
    /// The provider's subject (stable, never reassigned).
    pub subject: String,
    /// Their groups.
    pub groups: Vec<String>,
    /// Their name as shown, if given.
    pub full_name: Option<String>,
    /// Their email address, if given (and not said to be unverified).
    pub email: Option<String>,
}

/// Whether `name` may be a user name: what the config's names may be, without spaces
/// or control characters, at most 128 bytes.
pub fn usable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '/')
}

/// The identity in an ID token's claims, with the user-info answer's (when the ID
/// token lacks the name or groups): the user-info must be about the same subject.
pub fn identity(
    id_token: &Map<String, Value>,
    userinfo: Option<&Map<String, Value>>,
    config: &OidcConfig,
) -> Result<Identity, Refusal> {
    let subject = id_token
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Refusal::Claim("the subject (sub)".into()))?
        .to_owned();
    if let Some(info) = userinfo
        && info.get("sub").and_then(Value::as_str) != Some(subject.as_str())
    {
        return Err(Refusal::Subject);
    }
    let claim = |name: &str| {
        id_token
            .get(name)
            .or_else(|| userinfo.and_then(|u| u.get(name)))
    };
    let name = claim(&config.username_claim)
        .and_then(Value::as_str)
        .ok_or_else(|| Refusal::Claim(format!("the user name ({})", config.username_claim)))?
        .to_owned();
    if !usable_name(&name) {
        return Err(Refusal::Name(format!(
            "the provider's {} {name:?} is not a usable user name",
            config.username_claim
        )));
    }
    let groups = match claim(&config.groups_claim) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(g)) => vec![g.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(_) => {
            return Err(Refusal::Claim(format!(
                "the groups ({}) as a list of names",
                config.groups_claim
            )));
        }
    };
    if !config.may_sign_in(&groups) {
        return Err(Refusal::NotAllowed(name));
    }
    let verified = claim("email_verified").and_then(Value::as_bool) != Some(false);
    Ok(Identity {
        name,
        subject,
        groups,
        full_name: claim("name").and_then(Value::as_str).map(str::to_owned),
        email: claim("email")
            .and_then(Value::as_str)
            .filter(|_| verified)
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn config() -> OidcConfig {
        OidcConfig {
            issuer: "http://127.0.0.1:9000".into(),
            client_id: "hbd".into(),
            client_secret: None,
            scopes: vec!["openid".into(), "groups".into()],
            username_claim: "preferred_username".into(),
            groups_claim: "groups".into(),
            admin_groups: vec![],
            group_roles: BTreeMap::new(),
            allowed_groups: vec![],
            password_sign_in: true,
            label: "SSO".into(),
        }
    }

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn what_the_provider_says_is_cut_and_kept_on_one_line() {
        let cases = [
            ("access_denied", "access_denied".to_owned()),
            (
                "no\nINFO forged log line\r",
                "no INFO forged log line ".to_owned(),
            ),
            (
                &*"é".repeat(MAX_PROVIDER_WORDS + 1),
                format!("{}…", "é".repeat(MAX_PROVIDER_WORDS)),
            ),
            (
                &*"x".repeat(MAX_PROVIDER_WORDS),
                "x".repeat(MAX_PROVIDER_WORDS),
            ),
        ];
        for (said, shown) in cases {
            assert_eq!(provider_words(said), shown, "{said:?}");
        }
    }

    /// RFC 7636's appendix B example.
    #[test]
    fn the_challenge_is_rfc_7636s() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_state_is_taken_once_in_its_own_browser_before_it_expires() {
        let t = |s: u64| Timestamp(1_000_000 + s * 1000);
        let mut p = PendingSignIns::default();
        let random = |seed: u8| std::array::from_fn::<u8, 96, _>(|i| seed ^ (i as u8));
        let a = p.start(random(1), "/live".into(), t(0));
        let b = p.start(random(2), "/alerts".into(), t(0));
        assert_ne!(a.state, b.state);
        assert_ne!(a.state, a.nonce);
        // Another browser's cookie: refused, and the state is spent.
        assert_eq!(p.take(&a.state, &b.state, t(1)), Err(Refusal::UnknownState));
        assert_eq!(p.take(&a.state, &a.state, t(1)), Err(Refusal::UnknownState));
        let taken = p.take(&b.state, &b.state, t(1)).unwrap();
        assert_eq!(taken.next, "/alerts");
        assert_eq!(challenge(&taken.verifier), b.challenge);
        assert_eq!(
            p.take(&b.state, &b.state, t(2)),
            Err(Refusal::UnknownState),
            "replayed"
        );
        let c = p.start(random(3), "/live".into(), t(10));
        assert_eq!(
            p.take(&c.state, &c.state, t(10 + 600)),
            Err(Refusal::UnknownState),
            "expired"
        );
        assert!(p.is_empty());
    }

    #[test]
    fn abandoned_sign_ins_are_bounded() {
        let mut p = PendingSignIns::default();
        let mut first = None;
        for i in 0..(MAX_PENDING + 5) {
            let mut random = [0u8; 96];
            random[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let s = p.start(random, "/".into(), Timestamp(1));
            first.get_or_insert(s.state);
        }
        assert_eq!(p.len(), MAX_PENDING);
        let first = first.unwrap();
        assert_eq!(
            p.take(&first, &first, Timestamp(2)),
            Err(Refusal::UnknownState)
        );
    }

    #[test]
    fn the_authorization_url_asks_for_a_code_with_pkce() {
        let started = Started {
            state: "st".into(),
            nonce: "no".into(),
            challenge: "ch".into(),
        };
        let url = authorize_url(
            "http://127.0.0.1:9000/auth?prompt=login",
            &config(),
            "http://127.0.0.1:8080/login/oidc/callback",
            &started,
        )
        .unwrap();
        assert_eq!(
            url,
            "http://127.0.0.1:9000/auth?prompt=login&response_type=code&client_id=hbd\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Flogin%2Foidc%2Fcallback\
             &scope=openid+groups&state=st&nonce=no&code_challenge=ch&code_challenge_method=S256"
        );
    }

    #[test]
    fn an_id_tokens_claims_are_checked() {
        let now = Timestamp(1_700_000_000_000);
        let good = json!({
            "iss": "http://127.0.0.1:9000", "aud": "hbd", "sub": "u1",
            "exp": 1_700_000_300u64, "iat": 1_699_999_990u64, "nonce": "n1",
        });
        let with = |k: &str, v: Value| {
            let mut m = map(good.clone());
            if v.is_null() {
                m.remove(k);
            } else {
                m.insert(k.into(), v);
            }
            m
        };
        type Case<'a> = (&'a str, Map<String, Value>, Result<(), Refusal>);
        let cases: Vec<Case> = vec![
            ("good", map(good.clone()), Ok(())),
            ("aud list", with("aud", json!(["hbd"])), Ok(())),
            (
                "another issuer",
                with("iss", json!("http://127.0.0.1:9001")),
                Err(Refusal::Issuer("http://127.0.0.1:9001".into())),
            ),
            (
                "another audience",
                with("aud", json!("grafana")),
                Err(Refusal::Audience("[\"grafana\"]".into())),
            ),
            (
                "no audience",
                with("aud", Value::Null),
                Err(Refusal::Audience("[]".into())),
            ),
            (
                "several audiences, no azp",
                with("aud", json!(["hbd", "grafana"])),
                Err(Refusal::Audience(
                    "[\"hbd\", \"grafana\"], authorized party None".into(),
                )),
            ),
            (
                "expired",
                with("exp", json!(1_699_999_900u64)),
                Err(Refusal::Expired),
            ),
            (
                "expired within leeway",
                with("exp", json!(1_699_999_950u64)),
                Ok(()),
            ),
            ("no expiry", with("exp", Value::Null), Err(Refusal::Expired)),
            (
                "from the future",
                with("iat", json!(1_700_000_100u64)),
                Err(Refusal::Future),
            ),
            (
                "not yet valid",
                with("nbf", json!(1_700_000_100u64)),
                Err(Refusal::Future),
            ),
            (
                "another nonce",
                with("nonce", json!("n2")),
                Err(Refusal::Nonce),
            ),
            ("no nonce", with("nonce", Value::Null), Err(Refusal::Nonce)),
        ];
        for (what, claims, want) in cases {
            assert_eq!(check_claims(&claims, &config(), "n1", now), want, "{what}");
        }
        let mut azp = map(good.clone());
        azp.insert("aud".into(), json!(["hbd", "grafana"]));
        azp.insert("azp".into(), json!("hbd"));
        assert_eq!(check_claims(&azp, &config(), "n1", now), Ok(()));
    }

    #[test]
    fn the_identity_comes_from_the_id_token_and_the_same_subjects_user_info() {
        let token = map(json!({"sub": "u1", "preferred_username": "olga", "groups": ["ops"]}));
        let got = identity(&token, None, &config()).unwrap();
        assert_eq!(
            (got.name.as_str(), got.groups.clone()),
            ("olga", vec!["ops".to_owned()])
        );
        // Name and groups from user info.
        let bare = map(json!({"sub": "u1"}));
        let info = map(
            json!({"sub": "u1", "preferred_username": "olga", "groups": "ops",
            "email": "o@example.org", "email_verified": true, "name": "Olga"}),
        );
        let got = identity(&bare, Some(&info), &config()).unwrap();
        assert_eq!(got.groups, ["ops"]);
        assert_eq!(got.email.as_deref(), Some("o@example.org"));
        assert_eq!(got.full_name.as_deref(), Some("Olga"));
        let other = map(json!({"sub": "u2", "preferred_username": "ada"}));
        assert_eq!(
            identity(&bare, Some(&other), &config()),
            Err(Refusal::Subject)
        );
        assert!(matches!(
            identity(&bare, None, &config()),
            Err(Refusal::Claim(_))
        ));
        let spaced = map(json!({"sub": "u1", "preferred_username": "o lga"}));
        assert!(matches!(
            identity(&spaced, None, &config()),
            Err(Refusal::Name(_))
        ));
        let unverified = map(json!({"sub": "u1", "preferred_username": "olga",
            "email": "o@example.org", "email_verified": false}));
        assert_eq!(identity(&unverified, None, &config()).unwrap().email, None);
        let mut only_staff = config();
        only_staff.allowed_groups = vec!["staff".into()];
        assert_eq!(
            identity(&token, None, &only_staff),
            Err(Refusal::NotAllowed("olga".into()))
        );
    }
}
