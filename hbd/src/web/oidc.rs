//! Single sign-on through an OpenID Connect provider: `GET /login/oidc` sends the
//! browser to the provider with a fresh state, nonce and PKCE challenge (the state
//! also in a cookie of this browser); `GET /login/oidc/callback` takes that state
//! once, redeems the code, checks the ID token (signature, issuer, audience, expiry,
//! nonce), signs the user in and sends the browser on (by a page of its own, so the
//! step is same-site and the SameSite=Strict session cookie goes with it). Every
//! callback, signed in or refused, leaves an audit entry; a refusal shows the sign-in
//! page with the reason.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::pages::{Next, local, login_form, page};
use crate::api::ApiState;
use crate::api::auth::{Client, new_session_cookie};
use crate::api::caller::cookie;
use crate::auth::oidc::{self, Refusal};
use crate::auth::service::SsoSignInError;
use crate::clock::Timestamp;
use crate::config::oidc::OidcConfig;
use crate::store::audit::{Asked, Audited};

/// The cookie that binds a sign-in under way to the browser that started it.
pub const STATE_COOKIE: &str = "hbd_oidc";

/// Where the provider sends browsers back.
pub const CALLBACK: &str = "/login/oidc/callback";

fn redirect_uri(config: &crate::config::Config) -> Option<String> {
    config
        .public_url
        .as_deref()
        .map(|u| format!("{}{CALLBACK}", u.trim_end_matches('/')))
}

fn state_cookie(state: &ApiState, value: &str, max_age: u64) -> Option<HeaderValue> {
    // Lax, not Strict: the provider's redirect back is a cross-site navigation.
    let secure = if state.tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{STATE_COOKIE}={value}; Path=/login/oidc; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .ok()
}

/// `GET /login/oidc?next=PATH`: off to the provider.
pub async fn start(State(state): State<ApiState>, Query(q): Query<Next>) -> Response {
    let config = state.config.get();
    let next = local(q.next.as_deref());
    let (Some(oidc), Some(redirect)) = (config.oidc.as_ref(), redirect_uri(&config)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let discovery = match state.auth.oidc_client().discovery(oidc).await {
        Ok(d) => d,
        Err(refusal) => {
            tracing::warn!(issuer = %oidc.issuer, %refusal, "single sign-on provider not reached");
            let why = format!("Single sign-on is unavailable: {refusal}.");
            return login_form(&state, StatusCode::BAD_GATEWAY, &next, &why, "");
        }
    };
    let started = state.auth.oidc_start(next.clone());
    let url =
        match oidc::authorize_url(&discovery.authorization_endpoint, oidc, &redirect, &started) {
            Ok(url) => url,
            Err(refusal) => {
                let why = format!("Single sign-on is unavailable: {refusal}.");
                return login_form(&state, StatusCode::BAD_GATEWAY, &next, &why, "");
            }
        };
    let mut response = Redirect::to(&url).into_response();
    if let Some(v) = state_cookie(&state, &started.state, oidc::PENDING_FOR_MS / 1000) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// What the provider sends back.
#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Signs in whom the callback's code names, or says why not.
async fn sign_in(
    state: &ApiState,
    oidc: &OidcConfig,
    redirect: &str,
    q: &Callback,
    bound: &str,
    client: std::net::IpAddr,
) -> Result<(String, crate::auth::sessions::Grant, String), (Refusal, Option<String>)> {
    let refused = |r: Refusal| (r, None);
    let pending = state
        .auth
        .oidc_take(q.state.as_deref().unwrap_or_default(), bound)
        .map_err(refused)?;
    if let Some(error) = &q.error {
        let said = q.error_description.as_deref().unwrap_or(error);
        return Err(refused(Refusal::Provider(oidc::provider_words(said))));
    }
    let code = q
        .code
        .as_deref()
        .ok_or_else(|| refused(Refusal::Provider("no code in the answer".into())))?;
    let provider = state.auth.oidc_client();
    let tokens = provider
        .exchange(oidc, redirect, code, &pending.verifier)
        .await
        .map_err(refused)?;
    let claims = provider
        .verify(oidc, &tokens.id_token)
        .await
        .map_err(refused)?;
    oidc::check_claims(&claims, oidc, &pending.nonce, Timestamp::now()).map_err(refused)?;
    let lacking =
        !claims.contains_key(&oidc.username_claim) || !claims.contains_key(&oidc.groups_claim);
    let userinfo = match (&tokens.access_token, lacking) {
        (Some(token), true) => provider.userinfo(oidc, token).await.map_err(refused)?,
        _ => None,
    };
    let who = oidc::identity(&claims, userinfo.as_ref(), oidc).map_err(|r| match r {
        // The provider vouched for who they are; only the groups do not let them in.
        Refusal::NotAllowed(name) => (Refusal::NotAllowed(name.clone()), Some(name)),
        r => (r, None),
    })?;
    let name = who.name.clone();
    match state.auth.sign_in_oidc(&oidc.issuer, &who, client).await {
        Ok((secret, grant)) => Ok((secret, grant, pending.next)),
        Err(SsoSignInError::Refused(r)) => Err((r, Some(name))),
        Err(SsoSignInError::Store(error)) => Err((Refusal::Store(error.to_string()), Some(name))),
    }
}

/// `GET /login/oidc/callback?code=...&state=...`.
pub async fn callback(
    State(state): State<ApiState>,
    Client(client): Client,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let config = state.config.get();
    let (Some(oidc), Some(redirect)) = (config.oidc.as_ref(), redirect_uri(&config)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let bound = cookie(&headers, STATE_COOKIE)
        .unwrap_or_default()
        .to_owned();
    let outcome = sign_in(&state, oidc, &redirect, &q, &bound, client).await;
    let (response, user, refused) = match outcome {
        Ok((secret, grant, next)) => {
            // Not a redirect: the browser came here from the provider's site, and a
            // redirect would go on as part of that cross-site navigation, without the
            // SameSite=Strict session cookie. This page's own step to `next` is
            // same-site, so the session goes with it.
            let mut response = page(&state, StatusCode::OK, "signed_in", json!({ "next": next }));
            response.headers_mut().append(
                header::SET_COOKIE,
                new_session_cookie(&state, &secret, &grant),
            );
            (response, grant.user, None)
        }
        Err((refusal, name)) => {
            tracing::warn!(%refusal, user = name.as_deref(), issuer = %oidc.issuer, "single sign-on refused");
            state.metrics.login_failures.inc();
            let status = match refusal {
                Refusal::Unreachable(_) => StatusCode::BAD_GATEWAY,
                Refusal::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::FORBIDDEN,
            };
            let why = format!("Single sign-on refused: {refusal}.");
            let response = login_form(&state, status, "/live", &why, "");
            (
                response,
                name.unwrap_or_else(|| "(anonymous)".into()),
                Some(refusal.to_string()),
            )
        }
    };
    let mut response = response;
    if let Some(v) = state_cookie(&state, "", 0) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    let entry = Audited {
        at: Timestamp::now(),
        asked: Asked {
            user,
            address: client.to_canonical().to_string(),
            kind: "login".into(),
            method: "GET".into(),
            operation: CALLBACK.into(),
            path: CALLBACK.into(),
            host: None,
            status: response.status().as_u16(),
            request: json!({"provider": oidc.issuer, "refused": refused}),
            before: None,
            after: None,
        },
    };
    crate::api::audit::write(&state, entry).await;
    response
}
