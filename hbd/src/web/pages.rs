//! The pages. Browsers not signed in are sent to `/login` (with no users configured,
//! straight on); the login form is protected against login CSRF by a token bound to a
//! short-lived pre-session cookie, and shows throttling as a wait. A refused form is
//! shown again with the reason and status 200: the status codes belong to the API
//! (`/api/0/auth/login`), and a browser reports any other as a console error.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use crate::api::ApiState;
use crate::api::auth::{Client, new_session_cookie};
use crate::api::caller::{Caller, Via, cookie, cross_origin_check};
use crate::auth::service::LoginError;
use crate::auth::sessions::{csrf_token, secret};

/// The pre-session cookie that carries the login form's token.
pub const LOGIN_COOKIE: &str = "hbd_login";

pub(super) fn page(
    state: &ApiState,
    status: StatusCode,
    name: &str,
    data: serde_json::Value,
) -> Response {
    match state.templates.render(name, &data) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "page not rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{error}")).into_response()
        }
    }
}

/// Only a path on this site may be a place to go after login. Decided the way a
/// browser reads the `Location` it is sent: the WHATWG parser (which drops tabs and
/// newlines, reads `\` as `/` and decodes nothing else) resolves `next` against a
/// placeholder origin, and only a result on that origin is kept. What is sent is the
/// parser's own serialization of the path, query and fragment, never the raw text, and
/// never one that starts with `//` (a browser would read that as another host).
pub(super) fn local(next: Option<&str>) -> String {
    const HOME: &str = "/live";
    let Some(next) = next else {
        return HOME.to_owned();
    };
    // A relative reference must start with one slash; anything else (a scheme, a
    // bare name, control characters the parser would strip first) is not a place here.
    if !next.starts_with('/') || next.chars().any(|c| c.is_control()) {
        return HOME.to_owned();
    }
    let Ok(base) = url::Url::parse("http://hbd.invalid/") else {
        return HOME.to_owned();
    };
    match base.join(next) {
        Ok(u) if u.origin() == base.origin() => {
            let path = &u[url::Position::BeforePath..];
            if path.starts_with("//") {
                HOME.to_owned()
            } else {
                path.to_owned()
            }
        }
        _ => HOME.to_owned(),
    }
}

/// `?next=`.
#[derive(Debug, Deserialize)]
pub struct Next {
    pub(super) next: Option<String>,
}

/// `GET /`.
pub async fn root() -> Redirect {
    Redirect::to("/live")
}

/// `GET /favicon.ico`: nothing (and no session work for it).
pub async fn favicon() -> StatusCode {
    StatusCode::NO_CONTENT
}

pub(super) fn login_form(
    state: &ApiState,
    status: StatusCode,
    next: &str,
    error: &str,
    username: &str,
) -> Response {
    let mut random = [0u8; 32];
    if getrandom::fill(&mut random).is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "no randomness").into_response();
    }
    let token = secret(random);
    let config = state.config.get();
    let sso = config.oidc.as_ref().map(|o| o.label.clone());
    let passwords = config.oidc.as_ref().is_none_or(|o| o.password_sign_in);
    let data = json!({
        "csrf": token, "next": next, "error": error, "username": username,
        "sso": sso, "sso_next": encode_path(next), "passwords": passwords,
    });
    let mut response = page(state, status, "login", data);
    let cookie =
        format!("{LOGIN_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=900");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// `GET /login`: the form, or on to the page when no login is needed.
pub async fn login_page(
    State(state): State<ApiState>,
    caller: Caller,
    Query(q): Query<Next>,
) -> Response {
    let next = local(q.next.as_deref());
    if caller.via == Via::Open || caller.user.is_some() {
        return Redirect::to(&next).into_response();
    }
    login_form(&state, StatusCode::OK, &next, "", "")
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

/// `POST /login`: checks the form's token against its cookie and the origin, then
/// signs in like the API and sends the browser on with the session cookie.
pub async fn login_submit(
    State(state): State<ApiState>,
    Client(client): Client,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = local(form.next.as_deref());
    let bound = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    let same = !bound.is_empty()
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            bound.as_bytes(),
            form.csrf.as_bytes(),
        ));
    let allowed = &state.config.get().allowed_origins;
    if !same || cross_origin_check(&axum::http::Method::POST, &headers, allowed).is_err() {
        let why = "This form expired or came from another site; please sign in again.";
        return login_form(&state, StatusCode::OK, &next, why, "");
    }
    match state
        .auth
        .login(&form.username, &form.password, client)
        .await
    {
        Ok((secret, grant)) => {
            let mut response = Redirect::to(&next).into_response();
            let h = response.headers_mut();
            h.append(
                header::SET_COOKIE,
                new_session_cookie(&state, &secret, &grant),
            );
            if let Ok(v) =
                HeaderValue::from_str(&format!("{LOGIN_COOKIE}=; Path=/login; Max-Age=0"))
            {
                h.append(header::SET_COOKIE, v);
            }
            response
        }
        Err(LoginError::Invalid) => login_form(
            &state,
            StatusCode::OK,
            &next,
            "Wrong user name or password.",
            &form.username,
        ),
        Err(LoginError::Throttled(wait)) => login_form(
            &state,
            StatusCode::OK,
            &next,
            &format!(
                "Too many failed attempts. Try again in {} seconds.",
                wait.as_secs().max(1)
            ),
            &form.username,
        ),
        Err(LoginError::PasswordsOff) => login_form(
            &state,
            StatusCode::OK,
            &next,
            "Sign-in with a password is off here; use single sign-on.",
            "",
        ),
        Err(LoginError::Store(error)) => {
            tracing::error!(%error, "login not stored");
            login_form(
                &state,
                StatusCode::OK,
                &next,
                "The daemon could not store the session; try again.",
                &form.username,
            )
        }
    }
}

/// A page for signed-in users (everyone when no users are configured): strangers are
/// sent to `/login`, back here after.
fn signed_in_page(state: &ApiState, caller: &Caller, name: &str, path: &str) -> Response {
    signed_in_page_with(state, caller, name, path, json!({}))
}

/// Percent-encodes all but unreserved characters and `/` (for `?next=`).
pub(super) fn encode_path(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// As [`signed_in_page`], with more template data (`extra`'s fields).
fn signed_in_page_with(
    state: &ApiState,
    caller: &Caller,
    name: &str,
    path: &str,
    extra: serde_json::Value,
) -> Response {
    let csrf = match &caller.via {
        Via::Cookie(secret) => csrf_token(secret),
        Via::Open | Via::Proxy => String::new(),
        Via::Bearer(_) | Via::Nothing => {
            if caller.user.is_none() {
                return Redirect::to(&format!("/login?next={}", encode_path(path))).into_response();
            }
            String::new()
        }
    };
    let mut data = json!({
        "user": caller.user.clone().unwrap_or_default(),
        "open": caller.via == Via::Open,
        "csrf": csrf,
    });
    if let (Some(data), serde_json::Value::Object(extra)) = (data.as_object_mut(), extra) {
        data.extend(extra);
    }
    page(state, StatusCode::OK, name, data)
}

/// `GET /hosts/{name}`: one host: its state, alerts, plugins, history and access, with
/// the actions the user's role allows. Whether the user may see the host is the API's
/// answer to the page's first request (the page says "no host named" otherwise), so a
/// hidden host and an unknown one look the same here too.
pub async fn host(
    State(state): State<ApiState>,
    caller: Caller,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Response {
    let path = format!("/hosts/{name}");
    signed_in_page_with(&state, &caller, "host", &path, json!({ "host": name }))
}

/// `GET /live`: every visible host, live.
pub async fn live(State(state): State<ApiState>, caller: Caller) -> Response {
    signed_in_page(&state, &caller, "live", "/live")
}

/// `GET /plugins`: hosts, their plugins and each metric charted over time.
pub async fn plugins(State(state): State<ApiState>, caller: Caller) -> Response {
    signed_in_page(&state, &caller, "plugins", "/plugins")
}

/// `GET /fleet`: the managed plugins across the hosts: rollouts, versions, who is
/// behind or refused and why, and the record of changes.
pub async fn fleet(State(state): State<ApiState>, caller: Caller) -> Response {
    signed_in_page(&state, &caller, "fleet", "/fleet")
}

/// `GET /alerts`: the alerts that are not OK, live.
pub async fn alerts(State(state): State<ApiState>, caller: Caller) -> Response {
    signed_in_page(&state, &caller, "alerts", "/alerts")
}

/// `GET /checks`: the checks run from several vantage points, each vantage point's
/// answer and latency.
pub async fn checks(State(state): State<ApiState>, caller: Caller) -> Response {
    signed_in_page(&state, &caller, "checks", "/checks")
}

/// `GET /tokens`: the signed-in user's API tokens.
pub async fn tokens(State(state): State<ApiState>, caller: Caller) -> Response {
    signed_in_page(&state, &caller, "tokens", "/tokens")
}

/// `GET /audit`: the audit log (its API answers administrators only; others are told).
pub async fn audit(State(state): State<ApiState>, caller: Caller) -> Response {
    signed_in_page(&state, &caller, "audit", "/audit")
}

#[cfg(test)]
mod tests {
    use super::local;

    #[test]
    fn only_same_origin_paths_are_places_to_go() {
        let home = "/live";
        let cases: &[(&str, &str)] = &[
            ("/plugins", "/plugins"),
            ("/hosts/web1?x=1#h", "/hosts/web1?x=1#h"),
            ("/%2F/evil.example/", "/%2F/evil.example/"),
            ("/%2f%2fevil.example", "/%2f%2fevil.example"),
            ("/\t/evil.example/", home),
            ("/\n/evil.example/", home),
            ("/\r/evil.example/", home),
            ("//evil.example/", home),
            ("///evil.example/", home),
            ("/\\evil.example/", home),
            ("\\/evil.example/", home),
            ("/\\/evil.example/", home),
            ("/.//evil.example/", home),
            ("/./\\evil.example", home),
            ("http://evil.example/", home),
            ("https:evil.example", home),
            ("javascript:alert(1)", home),
            ("data:text/html,x", home),
            (" /evil", home),
            ("evil.example", home),
            ("", home),
            ("/\u{0}//evil.example", home),
            ("/x/../..//evil.example", home),
        ];
        for (next, want) in cases {
            assert_eq!(local(Some(next)), *want, "next = {next:?}");
        }
        assert_eq!(local(None), home);
    }
}
