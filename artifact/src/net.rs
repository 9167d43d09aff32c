//! Where a plugin may connect (contract 0.3.0): destinations written `HOST:PORT`, which
//! a manifest asks for, an agent's ceiling allows or denies and an operator grants, and
//! the check every outgoing connection passes. HOST is an exact DNS name
//! (`db.example.com`), an address (`10.0.0.7`, `[::1]`), a block (`10.0.0.0/8`,
//! `[fd00::/8]`) or `*` (anything); PORT a number, a range (`8000-8099`) or `*`.
//!
//! A connection is to an address, never to a name: the plugin resolves names itself,
//! and the address it then connects to must be one the grant covers: inside a granted
//! block, or one a granted name resolves to when the agent looks it up at that moment.
//! A name that resolves elsewhere, a redirect, or a DNS answer the plugin made up gains
//! nothing. Pure: resolving is passed in.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Most destinations one manifest, ceiling or grant may list.
pub const MAX_DESTINATIONS: usize = 64;

/// The host part of a destination.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Host {
    /// Anything.
    Any,
    /// One DNS name, lowercase, without a trailing dot.
    Name(String),
    /// An address or a block of them.
    Net(IpNet),
}

/// One destination: a host and a range of ports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Destination {
    /// Who.
    pub host: Host,
    /// The first and the last port, inclusive.
    pub ports: (u16, u16),
}

/// Why a destination cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{text:?} is not a destination (HOST:PORT, e.g. db.example.com:5432, 10.0.0.0/8:*, [::1]:8000-8099): {reason}"
)]
pub struct DestinationError {
    /// What was written.
    pub text: String,
    /// What is wrong.
    pub reason: String,
}

impl FromStr for Destination {
    type Err = DestinationError;

    fn from_str(text: &str) -> Result<Destination, DestinationError> {
        let fail = |reason: &str| DestinationError {
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (host, ports) = text.rsplit_once(':').ok_or_else(|| fail("no :PORT"))?;
        let ports = match ports {
            "*" => (1, u16::MAX),
            p => {
                let (first, last) = p.split_once('-').unwrap_or((p, p));
                let port = |s: &str| {
                    s.parse::<u16>()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| fail("a port is 1 to 65535, a range FIRST-LAST, or *"))
                };
                let (first, last) = (port(first)?, port(last)?);
                if first > last {
                    return Err(fail("a range's first port is after its last"));
                }
                (first, last)
            }
        };
        let host = match host {
            "*" => Host::Any,
            h if h.starts_with('[') && h.ends_with(']') => Host::Net(
                net(&h[1..h.len() - 1]).ok_or_else(|| fail("not an IPv6 address or block"))?,
            ),
            h if h.contains(':') => return Err(fail("an IPv6 address goes in brackets")),
            h => match net(h) {
                Some(n) => Host::Net(n),
                None if valid_name(h) => Host::Name(h.to_ascii_lowercase()),
                None => return Err(fail("not a DNS name, an address or a block")),
            },
        };
        Ok(Destination { host, ports })
    }
}

/// An address (a block of one) or a block, its host bits zero.
fn net(text: &str) -> Option<IpNet> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(IpNet::from(ip));
    }
    let block = text.parse::<IpNet>().ok()?;
    (block.network() == block.addr()).then_some(block)
}

/// A DNS name: dot-separated labels of letters, digits and hyphens (underscores too),
/// none empty, at most 253 characters; not all digits (that would be an address).
fn valid_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        && !name.chars().all(|c| c.is_ascii_digit() || c == '.')
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Any => f.write_str("*")?,
            Host::Name(n) => f.write_str(n)?,
            Host::Net(IpNet::V6(n)) if n.prefix_len() == 128 => write!(f, "[{}]", n.addr())?,
            Host::Net(IpNet::V6(n)) => write!(f, "[{n}]")?,
            Host::Net(n) if n.prefix_len() == n.max_prefix_len() => write!(f, "{}", n.addr())?,
            Host::Net(n) => write!(f, "{n}")?,
        }
        match self.ports {
            (1, u16::MAX) => f.write_str(":*"),
            (a, b) if a == b => write!(f, ":{a}"),
            (a, b) => write!(f, ":{a}-{b}"),
        }
    }
}

impl Serialize for Destination {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Destination {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Destination, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Destination {
    /// Whether every connection this allows, `outer` allows too, as far as can be told
    /// without resolving names: a name is within the same name or `*`, a block within a
    /// block holding it or `*`. (A name is never within a block: what it resolves to
    /// changes; the ceiling must name it.)
    pub fn within(&self, outer: &Destination) -> bool {
        let ports = outer.ports.0 <= self.ports.0 && self.ports.1 <= outer.ports.1;
        let host = match (&self.host, &outer.host) {
            (_, Host::Any) => true,
            (Host::Name(a), Host::Name(b)) => a == b,
            (Host::Net(a), Host::Net(b)) => b.contains(a),
            _ => false,
        };
        ports && host
    }

    /// Whether a connection to `to` is one this allows; a name is looked up with
    /// `resolve` (the addresses it has now).
    pub fn allows(&self, to: SocketAddr, resolve: &mut impl FnMut(&str) -> Vec<IpAddr>) -> bool {
        if to.port() < self.ports.0 || to.port() > self.ports.1 {
            return false;
        }
        let ip = to.ip().to_canonical();
        match &self.host {
            Host::Any => true,
            Host::Net(n) => n.contains(&ip),
            Host::Name(name) => resolve(name).iter().any(|a| a.to_canonical() == ip),
        }
    }

    /// As an entry of a deny list: whether it covers a connection to `to` (the port in
    /// its range, the address in its block).
    pub fn denies(&self, to: SocketAddr) -> bool {
        let port = self.ports.0 <= to.port() && to.port() <= self.ports.1;
        let ip = to.ip().to_canonical();
        port && match &self.host {
            Host::Any => true,
            Host::Net(n) => n.contains(&ip),
            // A name in a deny list would be looked up on every connection: the
            // ceiling refuses one ([`Destination::is_address_based`]).
            Host::Name(_) => false,
        }
    }

    /// Whether this may stand in a deny list (no names).
    pub fn is_address_based(&self) -> bool {
        !matches!(self.host, Host::Name(_))
    }
}

/// Whether `to` may be connected to by a plugin granted `grants`, under an agent that
/// denies `deny`: no deny entry covers it, and some grant does (names looked up with
/// `resolve`). The reason when not.
pub fn check(
    to: SocketAddr,
    grants: &[Destination],
    deny: &[Destination],
    resolve: &mut impl FnMut(&str) -> Vec<IpAddr>,
) -> Result<(), String> {
    if let Some(d) = deny.iter().find(|d| d.denies(to)) {
        return Err(format!("{to} is denied by the agent ({d})"));
    }
    if grants.iter().any(|g| g.allows(to, resolve)) {
        Ok(())
    } else {
        Err(format!("{to} is covered by no grant"))
    }
}

/// `list` written out, `, ` between; `none_text` when it is empty.
pub fn join(list: &[Destination], none_text: &str) -> String {
    if list.is_empty() {
        return none_text.to_owned();
    }
    list.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first of `asked` that none of `allowed` holds ([`Destination::within`]).
pub fn beyond<'a>(asked: &'a [Destination], allowed: &[Destination]) -> Option<&'a Destination> {
    asked.iter().find(|a| !allowed.iter().any(|o| a.within(o)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Destination {
        text.parse().unwrap()
    }

    #[test]
    fn destinations_read_and_write_back_the_same() {
        // (written, as written back)
        let cases = [
            ("db.example.com:5432", "db.example.com:5432"),
            ("DB.Example.com:5432", "db.example.com:5432"),
            ("10.0.0.0/8:*", "10.0.0.0/8:*"),
            ("10.0.0.7:8000-8099", "10.0.0.7:8000-8099"),
            ("[::1]:80", "[::1]:80"),
            ("[fd00::/8]:443", "[fd00::/8]:443"),
            ("*:443", "*:443"),
            ("localhost:1-65535", "localhost:*"),
        ];
        for (text, back) in cases {
            assert_eq!(d(text).to_string(), back, "{text}");
        }
        // (written, what the error says)
        let bad = [
            ("db.example.com", "no :PORT"),
            ("db.example.com:0", "a port is 1 to 65535"),
            ("db.example.com:99999", "a port is 1 to 65535"),
            ("db.example.com:90-80", "first port is after its last"),
            ("::1:80", "in brackets"),
            ("10.0.0.1/8:80", "not a DNS name"),
            ("bad name:80", "not a DNS name"),
            ("-x.example:80", "not a DNS name"),
            ("[nope]:80", "not an IPv6"),
        ];
        for (text, why) in bad {
            let e = text.parse::<Destination>().unwrap_err().to_string();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn a_destination_is_within_another_only_when_it_allows_no_more() {
        // (inner, outer, within)
        let cases = [
            ("db.example.com:5432", "db.example.com:5432", true),
            ("db.example.com:5432", "db.example.com:*", true),
            ("db.example.com:*", "db.example.com:5432", false),
            ("db.example.com:5432", "*:5432", true),
            ("db.example.com:5432", "other.example.com:5432", false),
            ("db.example.com:5432", "10.0.0.0/8:*", false),
            ("10.1.2.3:80", "10.0.0.0/8:*", true),
            ("10.0.0.0/16:80", "10.0.0.0/8:80", true),
            ("10.0.0.0/8:80", "10.0.0.0/16:80", false),
            ("[::1]:80", "[::/0]:*", true),
            ("*:80", "10.0.0.0/8:*", false),
        ];
        for (inner, outer, within) in cases {
            assert_eq!(d(inner).within(&d(outer)), within, "{inner} within {outer}");
        }
    }

    #[test]
    fn a_connection_passes_only_a_grant_that_covers_its_address_and_no_deny() {
        let at = |s: &str| s.parse::<SocketAddr>().unwrap();
        let mut dns = |name: &str| -> Vec<IpAddr> {
            match name {
                "web.test" => vec!["127.0.0.2".parse().unwrap()],
                "meta.test" => vec!["169.254.169.254".parse().unwrap()],
                _ => vec![],
            }
        };
        let grants = [d("web.test:8080"), d("10.0.0.0/8:5432"), d("meta.test:80")];
        let deny = [d("169.254.0.0/16:*")];
        // (to, allowed, reason contains)
        let cases = [
            ("127.0.0.2:8080", true, ""),
            ("127.0.0.2:8081", false, "no grant"),
            ("127.0.0.3:8080", false, "no grant"),
            ("10.9.8.7:5432", true, ""),
            ("[::ffff:10.9.8.7]:5432", true, ""),
            ("169.254.169.254:80", false, "denied by the agent"),
        ];
        for (to, ok, why) in cases {
            let got = check(at(to), &grants, &deny, &mut dns);
            assert_eq!(got.is_ok(), ok, "{to}: {got:?}");
            if let Err(e) = got {
                assert!(e.contains(why), "{to}: {e}");
            }
        }
        assert_eq!(
            beyond(&grants, &[d("*:8080"), d("10.0.0.0/8:*")]),
            Some(&grants[2])
        );
        assert_eq!(
            beyond(&grants[..2], &[d("*:8080"), d("10.0.0.0/8:*")]),
            None
        );
    }

    #[test]
    fn destinations_travel_as_strings() {
        let list: Vec<Destination> =
            serde_json::from_str(r#"["db.example.com:5432", "[::1]:*"]"#).unwrap();
        assert_eq!(
            serde_json::to_string(&list).unwrap(),
            r#"["db.example.com:5432","[::1]:*"]"#
        );
        let e = serde_json::from_str::<Vec<Destination>>(r#"["nope"]"#).unwrap_err();
        assert!(e.to_string().contains("no :PORT"), "{e}");
    }
}
