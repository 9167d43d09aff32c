//! What guards a daemon with no users, where every request acts as an administrator:
//! it answers only to its own names (IP addresses, `localhost`, `allowed_hosts`), so a
//! page that rebinds its own DNS name to the daemon's address reaches nothing, and it
//! refuses cross-site writes by the same origin rule as cookie requests with users.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::caller::cross_origin_check;
use super::{ApiError, ApiState};

/// The name in a `Host` header, without its port, lower case; `[::1]`'s brackets kept.
fn host_name(host: &str) -> String {
    let name = if host.starts_with('[') {
        host.split_once(']').map_or(host, |(v6, _)| v6).to_owned() + "]"
    } else {
        host.rsplit_once(':')
            .map_or(host, |(name, _)| name)
            .to_owned()
    };
    name.to_ascii_lowercase()
}

/// Whether a daemon with no users answers to a request sent to `host`: an IP address
/// (a rebinding page always sends its own DNS name), `localhost` (and its subdomains,
/// which resolve to loopback by RFC 6761) or a listed name. No `Host` at all is an
/// HTTP/1.0 client, not a browser.
pub fn answers_to(host: Option<&str>, allowed: &[String]) -> bool {
    let Some(host) = host else {
        return true;
    };
    let name = host_name(host);
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>().is_ok()
        || name == "localhost"
        || name.ends_with(".localhost")
        || allowed.iter().any(|a| a.eq_ignore_ascii_case(&name))
}

fn check(
    headers: &HeaderMap,
    method: &axum::http::Method,
    state: &ApiState,
) -> Result<(), ApiError> {
    let config = state.config.get();
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if !answers_to(host, &config.allowed_hosts) {
        return Err(ApiError::Misdirected(format!(
            "this daemon has no users and answers only to its own names; add {:?} to allowed_hosts if it is one",
            host_name(host.unwrap_or_default())
        )));
    }
    Ok(cross_origin_check(
        method,
        headers,
        &config.allowed_origins,
    )?)
}

/// The middleware: with users configured it passes everything on (sign-in and the
/// cookie rules guard those); with none it applies the two rules above.
pub async fn guard(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    if state.auth.directory().is_open()
        && let Err(e) = check(request.headers(), request.method(), &state)
    {
        return e.into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::answers_to;

    #[test]
    fn answers_only_to_addresses_loopback_names_and_listed_names() {
        let allowed = vec!["hbd.example.org".to_owned()];
        let cases: &[(Option<&str>, bool)] = &[
            (None, true),
            (Some("127.0.0.1:50004"), true),
            (Some("127.0.0.1"), true),
            (Some("[::1]:50004"), true),
            (Some("192.0.2.7:50004"), true),
            (Some("localhost:50004"), true),
            (Some("LOCALHOST"), true),
            (Some("app.localhost:50004"), true),
            (Some("hbd.example.org:50004"), true),
            (Some("HBD.example.org"), true),
            (Some("evil.example:50004"), false),
            (Some("evil.example"), false),
            (Some("localhost.evil.example"), false),
            (Some("127.0.0.1.nip.example"), false),
            (Some("example.org"), false),
        ];
        for (host, want) in cases {
            assert_eq!(answers_to(*host, &allowed), *want, "{host:?}");
        }
    }
}
