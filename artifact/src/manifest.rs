//! The manifest a publisher signs: which plugin this is, which exact bytes, which
//! contract it speaks and what it may do. The signature covers the manifest's bytes as
//! they are, so the agent reads only what was signed; a field or capability this agent
//! does not know refuses the artifact instead of being ignored (an unknown capability
//! would otherwise be granted by omission).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The manifest format this crate reads and writes (`"hbd_artifact": 1`).
pub const FORMAT: u32 = 1;
/// Longest manifest read, in bytes.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;
/// Most grants one manifest may ask for.
pub const MAX_GRANTS: usize = 64;
/// The most memory any manifest may ask for, as the agent's own limit (MiB).
pub const MAX_MEMORY_MB: u64 = 1024;
/// The longest time per call any manifest may ask for, as the agent's own limit (ms).
pub const MAX_TIMEOUT_MS: u64 = 600_000;

/// A signed plugin manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub hbd_artifact: u32,
    /// The plugin's name, as its `describe()` gives it (`a-z 0-9 _`, at most 64).
    pub name: String,
    /// Its version, a semantic version (`1.2.0`).
    pub version: semver::Version,
    /// SHA-256 of the `.wasm`, 64 lowercase hex digits.
    pub sha256: String,
    /// Size of the `.wasm` in bytes.
    pub size: u64,
    /// The contract it speaks (`hbd:plugin@0.2.0`).
    pub contract: String,
    /// What it may do.
    pub capabilities: Capabilities,
    /// One line for people; not used by any check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What an artifact may do once running: the most it may ever be given. An operator's
/// settings for it may give less, never more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Paths it may be granted to read (files and directories below them), absolute.
    #[serde(default)]
    pub grants: Vec<PathBuf>,
    /// Memory per instance, MiB.
    pub memory_mb: u64,
    /// Time per call, milliseconds.
    pub timeout_ms: u64,
    /// The shortest interval it may be run at, seconds.
    pub min_interval_s: f64,
    /// Where it may connect (contract 0.3.0 and later), `HOST:PORT` each
    /// ([`crate::net`]); none: no network.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub net: Vec<crate::net::Destination>,
    /// The most connections it may open in one call when it has `net`
    /// ([`DEFAULT_CONNECTIONS`] when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<u32>,
}

/// Connections per call of an artifact with `net` that does not say.
pub const DEFAULT_CONNECTIONS: u32 = 8;
/// The most connections per call any manifest may ask for.
pub const MAX_CONNECTIONS: u32 = 1024;

/// The first contract version whose plugins may reach the network.
pub const NET_CONTRACT: semver::Version = semver::Version::new(0, 3, 0);

impl Capabilities {
    /// The connections per call it may open.
    pub fn connections(&self) -> u32 {
        self.connections.unwrap_or(DEFAULT_CONNECTIONS)
    }
}

/// Why a manifest cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Longer than [`MAX_MANIFEST_BYTES`].
    #[error("manifest of {0} bytes, at most {MAX_MANIFEST_BYTES}")]
    TooLarge(usize),
    /// Not the JSON of a manifest (an unknown field included).
    #[error("manifest is not valid: {0}")]
    Json(String),
    /// A format this agent does not read.
    #[error("manifest format {0}, this agent reads format {FORMAT}")]
    Format(u32),
    /// A field with a value it may not have.
    #[error("manifest {field}: {reason}")]
    Field {
        /// The field (`capabilities.grants`).
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl Manifest {
    /// Reads a manifest's bytes and checks each field on its own.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge(bytes.len()));
        }
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Json(e.to_string()))?;
        if manifest.hbd_artifact != FORMAT {
            return Err(ManifestError::Format(manifest.hbd_artifact));
        }
        manifest.check()?;
        Ok(manifest)
    }

    /// The manifest as a publisher signs it: pretty JSON and a final newline.
    pub fn render(&self) -> String {
        // Invariant: every field serializes (strings, numbers, paths of UTF-8 text,
        // checked by `check`), so this cannot fail.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Each field's own rule.
    pub fn check(&self) -> Result<(), ManifestError> {
        let field = |field, reason: String| Err(ManifestError::Field { field, reason });
        if !valid_name(&self.name) {
            return field(
                "name",
                format!("{:?} is not a plugin name (a-z 0-9 _, 1 to 64)", self.name),
            );
        }
        if self.sha256.len() != 64
            || !self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return field("sha256", "must be 64 lowercase hex digits".into());
        }
        if self.size == 0 {
            return field("size", "must be more than 0".into());
        }
        if !self.contract.starts_with("hbd:plugin@") {
            return field(
                "contract",
                format!("{:?} is not hbd:plugin@VERSION", self.contract),
            );
        }
        let c = &self.capabilities;
        if c.grants.len() > MAX_GRANTS {
            return field(
                "capabilities.grants",
                format!("{} grants, at most {MAX_GRANTS}", c.grants.len()),
            );
        }
        for grant in &c.grants {
            if let Err(reason) = crate::grant::plain_absolute(grant) {
                return field(
                    "capabilities.grants",
                    format!("{}: {reason}", grant.display()),
                );
            }
        }
        if !(1..=MAX_MEMORY_MB).contains(&c.memory_mb) {
            return field(
                "capabilities.memory_mb",
                format!("{} is not 1 to {MAX_MEMORY_MB}", c.memory_mb),
            );
        }
        if !(1..=MAX_TIMEOUT_MS).contains(&c.timeout_ms) {
            return field(
                "capabilities.timeout_ms",
                format!("{} is not 1 to {MAX_TIMEOUT_MS}", c.timeout_ms),
            );
        }
        if !(c.min_interval_s.is_finite() && c.min_interval_s > 0.0) {
            return field(
                "capabilities.min_interval_s",
                format!("{} is not seconds > 0", c.min_interval_s),
            );
        }
        if c.net.len() > crate::net::MAX_DESTINATIONS {
            return field(
                "capabilities.net",
                format!(
                    "{} destinations, at most {}",
                    c.net.len(),
                    crate::net::MAX_DESTINATIONS
                ),
            );
        }
        let speaks_net = self
            .contract
            .strip_prefix("hbd:plugin@")
            .and_then(|v| v.parse::<semver::Version>().ok())
            .is_some_and(|v| v >= NET_CONTRACT);
        if !c.net.is_empty() && !speaks_net {
            return field(
                "capabilities.net",
                format!(
                    "{} reaches no network: contract hbd:plugin@{NET_CONTRACT} or later does",
                    self.contract
                ),
            );
        }
        if let Some(n) = c.connections
            && !(1..=MAX_CONNECTIONS).contains(&n)
        {
            return field(
                "capabilities.connections",
                format!("{n} is not 1 to {MAX_CONNECTIONS}"),
            );
        }
        Ok(())
    }
}

/// A plugin name: `a-z 0-9 _`, 1 to 64 bytes.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn only_a_contract_that_has_the_network_may_ask_for_it() {
        let with_net = |contract: &str, connections: Option<u32>| {
            let mut m = sample();
            m.contract = contract.to_owned();
            m.capabilities.net = vec!["db.example.com:5432".parse().unwrap()];
            m.capabilities.connections = connections;
            m.check()
        };
        assert_eq!(with_net("hbd:plugin@0.3.0", None), Ok(()));
        assert_eq!(with_net("hbd:plugin@0.3.1", Some(32)), Ok(()));
        let e = with_net("hbd:plugin@0.2.0", None).unwrap_err().to_string();
        assert!(e.contains("capabilities.net") && e.contains("0.3.0"), "{e}");
        let e = with_net("hbd:plugin@0.3.0", Some(0))
            .unwrap_err()
            .to_string();
        assert!(e.contains("capabilities.connections"), "{e}");
        // The manifest's bytes name the destinations as written.
        let mut m = sample();
        m.contract = "hbd:plugin@0.3.0".into();
        m.capabilities.net = vec!["[::1]:8000-8099".parse().unwrap()];
        let text = m.render();
        assert!(
            text.contains(r#""net": ["#) && text.contains(r#""[::1]:8000-8099""#),
            "{text}"
        );
        assert_eq!(Manifest::parse(text.as_bytes()).unwrap(), m);
    }

    pub(crate) fn sample() -> Manifest {
        Manifest {
            hbd_artifact: FORMAT,
            name: "log_freshness".into(),
            version: semver::Version::new(1, 2, 0),
            sha256: "ab".repeat(32),
            size: 1000,
            contract: "hbd:plugin@0.2.0".into(),
            capabilities: Capabilities {
                grants: vec!["/var/log".into()],
                memory_mb: 32,
                timeout_ms: 1000,
                min_interval_s: 30.0,
                net: Vec::new(),
                connections: None,
            },
            description: None,
        }
    }

    #[test]
    fn a_rendered_manifest_reads_back_the_same() {
        let m = sample();
        assert_eq!(Manifest::parse(m.render().as_bytes()), Ok(m));
    }

    #[test]
    fn each_bad_field_is_named() {
        let text = sample().render();
        // (what, replace, with, the error's text)
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                "unknown capability",
                "\"memory_mb\"",
                "\"network\": true, \"memory_mb\"",
                "manifest is not valid: unknown field `network`",
            ),
            (
                "unknown field",
                "\"name\"",
                "\"run_as\": \"root\", \"name\"",
                "manifest is not valid: unknown field `run_as`",
            ),
            (
                "format",
                "\"hbd_artifact\": 1",
                "\"hbd_artifact\": 2",
                "manifest format 2, this agent reads format 1",
            ),
            (
                "name",
                "log_freshness",
                "Log-Freshness",
                "manifest name: \"Log-Freshness\" is not a plugin name (a-z 0-9 _, 1 to 64)",
            ),
            (
                "version",
                "1.2.0",
                "1.2",
                "manifest is not valid: unexpected end of input while parsing minor version number",
            ),
            (
                "digest",
                &"ab".repeat(32),
                &"AB".repeat(32),
                "manifest sha256: must be 64 lowercase hex digits",
            ),
            (
                "relative grant",
                "\"/var/log\"",
                "\"var/log\"",
                "manifest capabilities.grants: var/log: not an absolute path",
            ),
            (
                "grant climbing out",
                "\"/var/log\"",
                "\"/var/log/../../etc\"",
                "manifest capabilities.grants: /var/log/../../etc: has . or .. in it",
            ),
            (
                "memory",
                "\"memory_mb\": 32",
                "\"memory_mb\": 4096",
                "manifest capabilities.memory_mb: 4096 is not 1 to 1024",
            ),
            (
                "interval",
                "\"min_interval_s\": 30.0",
                "\"min_interval_s\": 0.0",
                "manifest capabilities.min_interval_s: 0 is not seconds > 0",
            ),
            (
                "contract",
                "hbd:plugin@0.2.0",
                "wasi:cli@0.2.0",
                "manifest contract: \"wasi:cli@0.2.0\" is not hbd:plugin@VERSION",
            ),
        ];
        for (what, from, to, want) in cases {
            assert!(text.contains(from), "{what}: {from} not in {text}");
            let bad = text.replacen(from, to, 1);
            let err = Manifest::parse(bad.as_bytes()).unwrap_err().to_string();
            assert!(err.starts_with(want), "{what}: {err}");
        }
        let huge = vec![b' '; MAX_MANIFEST_BYTES + 1];
        assert_eq!(
            Manifest::parse(&huge),
            Err(ManifestError::TooLarge(MAX_MANIFEST_BYTES + 1))
        );
    }
}
