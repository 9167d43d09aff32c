//! OpenID Connect sign-in, the shell that talks to the provider: its discovery
//! document and signing keys (cached; the keys fetched again when a token names one
//! not seen, at most every [`KEYS_AGAIN_AFTER`]), the code exchanged for tokens with
//! the PKCE verifier, the ID token's signature, and the user-info answer when the ID
//! token leaves the name or groups out. What the claims say is checked by the pure
//! [`super::oidc`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::oidc::{self, Refusal};
use crate::config::oidc::OidcConfig;

/// How long a discovery document and keys are kept before they are fetched again.
pub const KEEP_FOR: Duration = Duration::from_secs(3600);

/// The least time between two fetches of the keys for a key id not seen.
pub const KEYS_AGAIN_AFTER: Duration = Duration::from_secs(10);

/// How long one request to the provider may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `alg` is a signature algorithm hbd takes: asymmetric only (never a MAC
/// keyed with something the provider publishes; `none` is not read at all).
fn asymmetric(alg: Algorithm) -> bool {
    !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// The signature algorithm a JWK's `alg` names (`None` for encryption and MACs).
fn signs_with(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

/// The published key a token signed with `alg` is checked with: the one `kid` names,
/// or, when the token names none, the only one that fits. A key for encryption, or
/// one whose own `alg` or key type is another, never fits.
pub fn pick_key<'k>(keys: &'k JwkSet, kid: Option<&str>, alg: Algorithm) -> Option<&'k Jwk> {
    let family = |k: &Jwk| match k.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        AlgorithmParameters::EllipticCurve(_) => {
            matches!(alg, Algorithm::ES256 | Algorithm::ES384)
        }
        AlgorithmParameters::OctetKeyPair(_) => alg == Algorithm::EdDSA,
        AlgorithmParameters::OctetKey(_) => false,
    };
    let fits = |k: &&Jwk| {
        family(k)
            && k.common
                .key_algorithm
                .is_none_or(|a| signs_with(a) == Some(alg))
            && !matches!(k.common.public_key_use, Some(PublicKeyUse::Encryption))
    };
    match kid {
        Some(kid) => keys
            .keys
            .iter()
            .filter(fits)
            .find(|k| k.common.key_id.as_deref() == Some(kid)),
        None => {
            let mut candidates = keys.keys.iter().filter(fits);
            match (candidates.next(), candidates.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        }
    }
}

/// The parts of the discovery document hbd uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    /// Must equal the configured issuer.
    pub issuer: String,
    /// Where browsers are sent to sign in.
    pub authorization_endpoint: String,
    /// Where the code is redeemed.
    pub token_endpoint: String,
    /// Where the user's claims can be asked for.
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// The signing keys.
    pub jwks_uri: String,
}

#[derive(Debug)]
struct Known {
    issuer: String,
    discovery: Arc<Discovery>,
    keys: Arc<JwkSet>,
    fetched: Instant,
    keys_fetched: Instant,
}

/// The provider's tokens for one code.
#[derive(Debug, Deserialize)]
pub struct Tokens {
    /// The ID token.
    pub id_token: String,
    /// The access token (for user info).
    #[serde(default)]
    pub access_token: Option<String>,
}

/// Talks to the configured provider.
#[derive(Debug, Clone)]
pub struct OidcClient {
    http: reqwest::Client,
    known: Arc<Mutex<Option<Known>>>,
}

fn unreachable(what: &str, e: impl std::fmt::Display) -> Refusal {
    Refusal::Unreachable(format!("{what}: {e}"))
}

impl Default for OidcClient {
    fn default() -> OidcClient {
        OidcClient::new()
    }
}

impl OidcClient {
    /// A client (no request is made until the first sign-in).
    pub fn new() -> OidcClient {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("hbd/", env!("CARGO_PKG_VERSION")))
            .build()
            // Building fails only without a TLS provider, installed just above.
            .unwrap_or_else(|_| reqwest::Client::new());
        OidcClient {
            http,
            known: Arc::new(Mutex::new(None)),
        }
    }

    fn cached(&self, issuer: &str) -> Option<(Arc<Discovery>, Arc<JwkSet>, Instant)> {
        let known = self.known.lock().ok()?;
        let k = known.as_ref()?;
        (k.issuer == issuer && k.fetched.elapsed() < KEEP_FOR)
            .then(|| (k.discovery.clone(), k.keys.clone(), k.keys_fetched))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        url: &str,
    ) -> Result<T, Refusal> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| unreachable(what, e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(unreachable(what, format!("{url} answered {status}")));
        }
        response.json().await.map_err(|e| unreachable(what, e))
    }

    /// The discovery document (cached for [`KEEP_FOR`]; its issuer must be the
    /// configured one).
    pub async fn discovery(&self, config: &OidcConfig) -> Result<Arc<Discovery>, Refusal> {
        if let Some((d, _, _)) = self.cached(&config.issuer) {
            return Ok(d);
        }
        self.fetch(config).await.map(|(d, _)| d)
    }

    async fn fetch(&self, config: &OidcConfig) -> Result<(Arc<Discovery>, Arc<JwkSet>), Refusal> {
        let url = format!("{}/.well-known/openid-configuration", config.issuer);
        let discovery: Discovery = self.get_json("discovery document", &url).await?;
        if discovery.issuer.trim_end_matches('/') != config.issuer {
            return Err(Refusal::Issuer(discovery.issuer));
        }
        let keys: JwkSet = self.get_json("signing keys", &discovery.jwks_uri).await?;
        let (discovery, keys) = (Arc::new(discovery), Arc::new(keys));
        if let Ok(mut known) = self.known.lock() {
            *known = Some(Known {
                issuer: config.issuer.clone(),
                discovery: discovery.clone(),
                keys: keys.clone(),
                fetched: Instant::now(),
                keys_fetched: Instant::now(),
            });
        }
        Ok((discovery, keys))
    }

    /// Redeems `code` with the PKCE verifier (client_secret_basic with a secret, else
    /// as a public client).
    pub async fn exchange(
        &self,
        config: &OidcConfig,
        redirect: &str,
        code: &str,
        verifier: &str,
    ) -> Result<Tokens, Refusal> {
        let discovery = self.discovery(config).await?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ];
        let mut request = self.http.post(&discovery.token_endpoint);
        match &config.client_secret {
            Some(secret) => {
                // RFC 6749 2.3.1: both form-encoded before they are joined.
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                request = request.basic_auth(enc(&config.client_id), Some(enc(secret)));
            }
            None => form.push(("client_id", &config.client_id)),
        }
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| unreachable("token endpoint", e))?;
        let status = response.status();
        if !status.is_success() {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let error = body
                .get("error_description")
                .or_else(|| body.get("error"))
                .and_then(Value::as_str)
                .unwrap_or("no reason given");
            return Err(Refusal::Provider(format!(
                "the code was not redeemed ({status}): {}",
                oidc::provider_words(error)
            )));
        }
        response
            .json()
            .await
            .map_err(|e| unreachable("token endpoint", e))
    }

    /// Verifies the ID token's signature with the provider's key it names and
    /// returns its claims (not yet checked: see [`super::oidc::check_claims`]).
    pub async fn verify(
        &self,
        config: &OidcConfig,
        id_token: &str,
    ) -> Result<Map<String, Value>, Refusal> {
        let header = jsonwebtoken::decode_header(id_token)
            .map_err(|e| Refusal::Signature(format!("unreadable: {e}")))?;
        if !asymmetric(header.alg) {
            return Err(Refusal::Signature(format!(
                "{:?} is not a signature algorithm hbd takes",
                header.alg
            )));
        }
        let jwk = match self
            .key(config, header.kid.as_deref(), header.alg, false)
            .await?
        {
            Some(jwk) => jwk,
            None => self
                .key(config, header.kid.as_deref(), header.alg, true)
                .await?
                .ok_or_else(|| {
                    Refusal::Signature("signed with a key the provider does not publish".into())
                })?,
        };
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|e| Refusal::Signature(format!("the provider's key: {e}")))?;
        let mut validation = Validation::new(header.alg);
        // The claims are checked by check_claims against the daemon's clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<Map<String, Value>>(id_token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| Refusal::Signature(e.to_string()))
    }

    /// The published key `kid` names for `alg` (the only one, when the token names
    /// none); `again` fetches the keys first, unless they were fetched very recently.
    async fn key(
        &self,
        config: &OidcConfig,
        kid: Option<&str>,
        alg: Algorithm,
        again: bool,
    ) -> Result<Option<Jwk>, Refusal> {
        let keys = match self.cached(&config.issuer) {
            Some((_, keys, fetched)) if !again || fetched.elapsed() < KEYS_AGAIN_AFTER => keys,
            _ => self.fetch(config).await?.1,
        };
        Ok(pick_key(&keys, kid, alg).cloned())
    }

    /// The user-info answer for an access token.
    pub async fn userinfo(
        &self,
        config: &OidcConfig,
        access_token: &str,
    ) -> Result<Option<Map<String, Value>>, Refusal> {
        let discovery = self.discovery(config).await?;
        let Some(url) = discovery.userinfo_endpoint.as_deref() else {
            return Ok(None);
        };
        let response = self
            .http
            .get(url)
            .bearer_auth(access_token)
            .send()
            .await
            .map_err(|e| unreachable("user info", e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(unreachable("user info", format!("answered {status}")));
        }
        response
            .json()
            .await
            .map(Some)
            .map_err(|e| unreachable("user info", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_checked_with_the_key_it_names_for_its_algorithm() {
        let keys: JwkSet = serde_json::from_value(serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "a", "alg": "RS256", "use": "sig", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "b", "use": "sig", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "c", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "kid": "d", "alg": "ES256", "crv": "P-256", "x": "AQAB", "y": "AQAB"},
        ]}))
        .unwrap();
        let kid = |k: Option<&Jwk>| k.and_then(|k| k.common.key_id.clone());
        // (kid named, algorithm, key used)
        let cases = [
            (Some("a"), Algorithm::RS256, Some("a")),
            (Some("a"), Algorithm::PS256, None),
            (Some("b"), Algorithm::PS256, Some("b")),
            (Some("c"), Algorithm::RS256, None),
            (Some("d"), Algorithm::ES256, Some("d")),
            (Some("d"), Algorithm::RS256, None),
            (Some("x"), Algorithm::RS256, None),
            (None, Algorithm::ES256, Some("d")),
            (None, Algorithm::ES384, None),
            (None, Algorithm::RS256, None),
        ];
        for (named, alg, want) in cases {
            assert_eq!(
                kid(pick_key(&keys, named, alg)),
                want.map(str::to_owned),
                "{named:?} {alg:?}"
            );
        }
    }
}
