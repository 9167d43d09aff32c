//! Reading `auth_proxy`: the proxy's addresses and the header that names the user.

use serde_norway::Value;

use hb_problems::keys::{Reload, read_map};

use super::Reader;
use super::keys::KeySpec;
use crate::config::proxy::{AuthProxy, DEFAULT_HEADER};

/// Keys of `auth_proxy` (applied at a reload).
pub(in crate::config) static AUTH_PROXY: &[KeySpec<AuthProxy>] = &[
    KeySpec {
        name: "addresses",
        reload: Reload::Live,
        read: |r, c, p, v| c.addresses = r.nets(p, v),
    },
    KeySpec {
        name: "header",
        reload: Reload::Live,
        read: |r, c, p, v| {
            if let Some(name) = r.string(p, v) {
                match axum::http::HeaderName::from_bytes(name.as_bytes()) {
                    Ok(header) => c.header = header.as_str().to_owned(),
                    Err(_) => r.error(p, format!("`{name}` is not a header name")),
                }
            }
        },
    },
];

/// An address (`127.0.0.1`, `::1`) or a block (`10.0.0.0/8`).
fn net(text: &str) -> Option<ipnet::IpNet> {
    text.parse::<ipnet::IpNet>().ok().or_else(|| {
        text.parse::<std::net::IpAddr>()
            .ok()
            .map(ipnet::IpNet::from)
    })
}

impl Reader {
    /// A list of addresses and blocks; each that is neither is an error naming it.
    pub(super) fn nets(&mut self, path: &[&str], v: &Value) -> Vec<ipnet::IpNet> {
        let mut nets = Vec::new();
        for text in self.string_list(path, v).unwrap_or_default() {
            match net(&text) {
                Some(n) => nets.push(n),
                None => self.error(
                    path,
                    format!("`{text}` is not an address or a block (127.0.0.1, 10.0.0.0/8, ::1)"),
                ),
            }
        }
        nets
    }

    /// `auth_proxy: {addresses: [...], header: Remote-User}`.
    pub(super) fn auth_proxy(&mut self, v: &Value) -> Option<AuthProxy> {
        let map = self.section("auth_proxy", v, &["addresses"])?;
        let mut proxy = AuthProxy {
            addresses: Vec::new(),
            header: DEFAULT_HEADER.to_ascii_lowercase(),
        };
        let ok = read_map(self, AUTH_PROXY, &mut proxy, &["auth_proxy"], map);
        if ok && proxy.addresses.is_empty() {
            self.error(
                &["auth_proxy", "addresses"],
                "name the proxy's addresses: the header is believed from them only",
            );
            return None;
        }
        ok.then_some(proxy)
    }
}
