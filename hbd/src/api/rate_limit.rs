//! The API's rate limits at the door: every request to `/api/` and `/ws` takes one from
//! its credential's bucket (a bearer token or session cookie, by its hash; a sign-in
//! proxy's user) or, without one, from its client address's (unless exempt), before
//! any handler runs. An empty bucket is answered 429 with `Retry-After`. The buckets
//! themselves are pure ([`crate::auth::rate`]); the limits are `rate_limit` in the
//! config.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::caller::presented;
use super::{ApiError, ApiState};

/// The bucket a client address fills: IPv4 as it is, IPv6 by its /64 (one machine
/// may hold a whole /64).
fn address_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The credential's bucket: a hash of the bearer token or session cookie (valid or
/// not: a made-up one still fills its address's), or the proxy's user.
fn credential_key(request: &Request, state: &ApiState, peer: Option<IpAddr>) -> Option<String> {
    let headers = request.headers();
    if let Some(secret) = presented(headers) {
        return Some(crate::auth::sessions::id(secret));
    }
    let config = state.config.get();
    let user = config.auth_proxy.as_ref()?.user(headers, peer)?;
    Some(format!("proxy user {user}"))
}

/// The middleware: the limits, then the handler.
pub async fn limit(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !(path.starts_with("/api/") || path == "/ws") {
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let credential = credential_key(&request, &state, peer);
    // Who holds a credential is limited by it; the address limit is for the rest. An
    // exempt address, and the sign-in proxy, speak for many people.
    let address = if credential.is_some() {
        None
    } else {
        let config = state.config.get();
        let exempt = |p: IpAddr| {
            let p = p.to_canonical();
            config.rate_limit.exempt.iter().any(|n| n.contains(&p))
                || config.auth_proxy.as_ref().is_some_and(|x| x.is_proxy(p))
        };
        peer.filter(|p| !exempt(*p)).map(address_key)
    };
    match state
        .auth
        .take_request(credential.as_deref(), address.as_deref())
    {
        Ok(()) => next.run(request).await,
        Err((wait, by)) => {
            state.metrics.api_limited(by);
            ApiError::Throttled(
                format!(
                    "too many requests from this {}; try again in {} s (rate_limit in the config)",
                    if by == "token" { "token" } else { "address" },
                    wait.as_secs_f64().ceil().max(1.0)
                ),
                wait,
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_share_their_64_and_mapped_ipv4_is_ipv4() {
        for (ip, key) in [
            ("192.0.2.7", "192.0.2.7"),
            ("::ffff:192.0.2.7", "192.0.2.7"),
            ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
            ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),
            ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ] {
            assert_eq!(address_key(ip.parse().unwrap()), key, "{ip}");
        }
    }
}
