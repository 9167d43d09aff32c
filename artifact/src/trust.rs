//! What an agent trusts: the publishers' public keys (minisign's, as in the `.pub`
//! file's second line) and a ceiling no artifact may exceed, whoever signed it. The
//! ceiling is the agent operator's last word: a publisher key that leaks still cannot
//! make an agent grant a plugin `/etc` or a gigabyte.

use std::path::PathBuf;

use minisign_verify::PublicKey;

use crate::grant;
use crate::manifest::Capabilities;

/// A trusted publisher key.
#[derive(Clone)]
pub struct Publisher {
    /// The key as configured (base64), to name it.
    pub text: String,
    key: PublicKey,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Publisher({})", self.text)
    }
}

impl PartialEq for Publisher {
    fn eq(&self, other: &Publisher) -> bool {
        self.text == other.text
    }
}

/// A publisher key that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a minisign public key (the base64 line of a minisign .pub file)")]
pub struct BadPublisher {
    /// What was given.
    pub text: String,
}

impl Publisher {
    /// A key from the base64 line of a minisign public key file (`RWQ...`).
    pub fn new(text: &str) -> Result<Publisher, BadPublisher> {
        let text = text.trim();
        PublicKey::from_base64(text)
            .map(|key| Publisher {
                text: text.to_owned(),
                key,
            })
            .map_err(|_| BadPublisher {
                text: text.to_owned(),
            })
    }

    pub(crate) fn key(&self) -> &PublicKey {
        &self.key
    }
}

/// The most any artifact may do on this agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Ceiling {
    /// Paths below which grants may lie; none: no artifact may read any file.
    pub grants: Vec<PathBuf>,
    /// Memory per instance, MiB.
    pub memory_mb: u64,
    /// Time per call, milliseconds.
    pub timeout_ms: u64,
    /// The shortest interval any artifact may run at, seconds.
    pub min_interval_s: f64,
    /// The largest `.wasm`, bytes.
    pub max_size: u64,
    /// Destinations artifacts may ask to reach ([`crate::net`]); none: no artifact
    /// reaches the network.
    pub net: Vec<crate::net::Destination>,
    /// Addresses no plugin connects to whatever it was granted (a granted name that
    /// resolves into one of them is refused too).
    pub deny: Vec<crate::net::Destination>,
    /// The most connections per call any artifact may ask for.
    pub connections: u32,
}

/// What an agent denies by default: link-local addresses (where clouds answer with a
/// machine's credentials).
pub fn default_deny() -> Vec<crate::net::Destination> {
    ["169.254.0.0/16:*", "[fe80::/10]:*"]
        .iter()
        // Invariant: these are valid destinations (a test reads them).
        .filter_map(|d| d.parse().ok())
        .collect()
}

impl Default for Ceiling {
    /// The agent's defaults: no files, the default plugin limits (32 MiB, 1 s), no
    /// plugin more often than every 10 s, at most 16 MiB of code.
    fn default() -> Ceiling {
        Ceiling {
            grants: Vec::new(),
            memory_mb: 32,
            timeout_ms: 1000,
            min_interval_s: 10.0,
            max_size: 16 * 1024 * 1024,
            net: Vec::new(),
            deny: default_deny(),
            connections: 64,
        }
    }
}

impl Ceiling {
    /// What in `asked` goes beyond this ceiling, as a sentence naming it; `None` when
    /// all of it is within.
    pub fn exceeded_by(&self, asked: &Capabilities) -> Option<String> {
        for grant in &asked.grants {
            // A grant in the other OS's style opens nothing here (one artifact may
            // carry grants for Linux and for Windows hosts): the runtime refuses it.
            let within = grant::plain_absolute(grant).is_ok()
                && (!grant::native(grant)
                    || self.grants.iter().any(|top| grant::below(grant, top)));
            if !within {
                return Some(format!(
                    "grant {} is outside this agent's ceiling ({})",
                    grant.display(),
                    if self.grants.is_empty() {
                        "no grants".to_owned()
                    } else {
                        self.grants
                            .iter()
                            .map(|g| g.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ));
            }
        }
        if asked.memory_mb > self.memory_mb {
            return Some(format!(
                "memory_mb {} is above this agent's ceiling of {}",
                asked.memory_mb, self.memory_mb
            ));
        }
        if asked.timeout_ms > self.timeout_ms {
            return Some(format!(
                "timeout_ms {} is above this agent's ceiling of {}",
                asked.timeout_ms, self.timeout_ms
            ));
        }
        if asked.min_interval_s < self.min_interval_s {
            return Some(format!(
                "min_interval_s {} is below this agent's floor of {}",
                asked.min_interval_s, self.min_interval_s
            ));
        }
        if let Some(d) = crate::net::beyond(&asked.net, &self.net) {
            return Some(format!(
                "net {d} is outside this agent's ceiling ({})",
                crate::net::join(&self.net, "no network")
            ));
        }
        if !asked.net.is_empty() && asked.connections() > self.connections {
            return Some(format!(
                "connections {} is above this agent's ceiling of {}",
                asked.connections(),
                self.connections
            ));
        }
        None
    }
}

/// The publisher keys an agent trusts, its ceiling, and the contracts it speaks.
#[derive(Debug, Clone, PartialEq)]
pub struct Trust {
    /// Trusted publisher keys; none: every artifact is refused.
    pub publishers: Vec<Publisher>,
    /// The ceiling.
    pub ceiling: Ceiling,
    /// The contract versions this agent runs (`hbd:plugin@0.2.0`).
    pub contracts: Vec<String>,
}
