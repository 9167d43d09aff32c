//! `auth_proxy`: an authenticating reverse proxy in front of hbd (oauth2-proxy,
//! Authelia, a web server's own single sign-on) that tells who signed in by a request
//! header. The header is believed only on connections from the proxy's own addresses;
//! from anywhere else it is ignored, so nobody can name themselves by sending it.

use std::net::IpAddr;

use ipnet::IpNet;

/// The header proxies commonly set when none is configured.
pub const DEFAULT_HEADER: &str = "Remote-User";

/// Which peers are the proxy, and which header names the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthProxy {
    /// The proxy's addresses (single addresses or blocks).
    pub addresses: Vec<IpNet>,
    /// The request header holding the signed-in user's name (lower case).
    pub header: String,
}

impl AuthProxy {
    /// Whether a connection from `peer` comes from the proxy. An IPv4 peer seen as an
    /// IPv4-mapped IPv6 address (a dual-stack listener) counts as its IPv4 address.
    pub fn is_proxy(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.addresses.iter().any(|net| net.contains(&peer))
    }

    /// The user a request's header names (trimmed, not empty), when the request came
    /// from the proxy (`peer`); from anyone else, or without a peer, nobody.
    pub fn user<'h>(
        &self,
        headers: &'h axum::http::HeaderMap,
        peer: Option<IpAddr>,
    ) -> Option<&'h str> {
        let name = headers.get(self.header.as_str())?.to_str().ok()?.trim();
        (!name.is_empty() && peer.is_some_and(|p| self.is_proxy(p))).then_some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_proxys_addresses_are_the_proxy() {
        let proxy = AuthProxy {
            addresses: vec![
                "127.0.0.1/32".parse().unwrap(),
                "10.1.0.0/16".parse().unwrap(),
            ],
            header: "remote-user".into(),
        };
        for (peer, want) in [
            ("127.0.0.1", true),
            ("::ffff:127.0.0.1", true),
            ("10.1.200.3", true),
            ("127.0.0.2", false),
            ("10.2.0.1", false),
            ("::1", false),
        ] {
            assert_eq!(proxy.is_proxy(peer.parse().unwrap()), want, "{peer}");
        }
        let mut headers = axum::http::HeaderMap::new();
        let at = |ip: &str| Some(ip.parse().unwrap());
        assert_eq!(proxy.user(&headers, at("127.0.0.1")), None, "no header");
        headers.insert("remote-user", " ada ".parse().unwrap());
        assert_eq!(proxy.user(&headers, at("127.0.0.1")), Some("ada"));
        assert_eq!(proxy.user(&headers, at("127.0.0.2")), None, "not the proxy");
        assert_eq!(proxy.user(&headers, None), None, "no peer");
        headers.insert("remote-user", "  ".parse().unwrap());
        assert_eq!(proxy.user(&headers, at("127.0.0.1")), None, "empty");
    }
}
