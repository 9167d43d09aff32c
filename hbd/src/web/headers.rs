//! Security headers on every answer, pages and API alike: a strict
//! Content-Security-Policy (scripts, styles and connections only from the daemon
//! itself, no inline script, no framing), `X-Frame-Options`, `nosniff` and a
//! same-origin referrer policy.

use axum::http::{HeaderValue, header};
use axum::response::Response;

/// The Content-Security-Policy of every answer.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; \
form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the headers (keeping any a handler set itself).
pub async fn secure(mut response: Response) -> Response {
    let h = response.headers_mut();
    let defaults = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    for (name, value) in defaults {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}
