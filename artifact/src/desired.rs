//! The plugins a daemon wants an agent to run: each artifact by name and version, where
//! its three files are on the daemon, and the operator's settings for it. The daemon
//! computes it per host from its groups; the agent fetches it with a nonce of its own,
//! and the daemon signs the answer with the host's key, so only the daemon that holds
//! that key can tell an agent what to run, and an old answer cannot be replayed. The
//! artifacts it names are still checked against the agent's own trust ([`crate::verify`]):
//! the daemon chooses among signed artifacts, it cannot make one.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::collectors::Collectors;
use crate::manifest::Capabilities;

/// The operator's settings for one artifact on a host: what `wasm_plugins.plugins.NAME`
/// says for a plugin in a local directory. Never more than the manifest allows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Seconds between collections (default: the plugin's own, at least the manifest's
    /// `min_interval_s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<f64>,
    /// Passed to the plugin's `collect`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, serde_json::Value>,
    /// Paths it may read; each below one of the manifest's grants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<PathBuf>,
    /// Time per call, ms (default: the manifest's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Memory per instance, MiB (default: the manifest's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
    /// Where it may connect; each within the manifest's `net` (default: none, even
    /// when the manifest asks for some: the operator grants the network).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub net: Vec<crate::net::Destination>,
}

impl Settings {
    /// What in these settings goes beyond what the manifest allows, as a sentence.
    pub fn exceeds(&self, allowed: &Capabilities) -> Option<String> {
        for grant in &self.grants {
            let within = allowed
                .grants
                .iter()
                .any(|top| crate::grant::below(grant, top));
            if !within {
                return Some(format!(
                    "grant {} is not below the artifact's grants ({})",
                    grant.display(),
                    join(&allowed.grants)
                ));
            }
        }
        if let Some(i) = self.interval
            && !(i.is_finite() && i >= allowed.min_interval_s)
        {
            return Some(format!(
                "interval {i} is below the artifact's min_interval_s of {}",
                allowed.min_interval_s
            ));
        }
        if let Some(ms) = self.timeout_ms
            && !(1..=allowed.timeout_ms).contains(&ms)
        {
            return Some(format!(
                "timeout_ms {ms} is not 1 to the artifact's {}",
                allowed.timeout_ms
            ));
        }
        if let Some(mb) = self.memory_mb
            && !(1..=allowed.memory_mb).contains(&mb)
        {
            return Some(format!(
                "memory_mb {mb} is not 1 to the artifact's {}",
                allowed.memory_mb
            ));
        }
        if let Some(d) = crate::net::beyond(&self.net, &allowed.net) {
            return Some(format!(
                "net {d} is not within the artifact's net ({})",
                crate::net::join(&allowed.net, "none")
            ));
        }
        None
    }
}

fn join(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "none".into();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One artifact a host should run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredPlugin {
    /// The plugin's name.
    pub name: String,
    /// Its version.
    pub version: semver::Version,
    /// SHA-256 of its `.wasm`, as its manifest says.
    pub sha256: String,
    /// Size of its `.wasm`.
    pub size: u64,
    /// Paths of its `.wasm`, manifest and signature on the daemon's HTTP port.
    pub files: Files,
    /// The operator's settings.
    #[serde(default)]
    pub settings: Settings,
}

/// Where an artifact's files are, on the daemon's HTTP port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Files {
    /// The `.wasm`.
    pub wasm: String,
    /// The manifest.
    pub manifest: String,
    /// The manifest's minisign signature.
    pub signature: String,
}

impl Files {
    /// The paths `/artifacts/NAME-VERSION.{wasm,json,json.minisig}`.
    pub fn of(name: &str, version: &semver::Version) -> Files {
        let stem = format!("/artifacts/{name}-{version}");
        Files {
            wasm: format!("{stem}.wasm"),
            manifest: format!("{stem}.json"),
            signature: format!("{stem}.json.minisig"),
        }
    }
}

/// What a host should run, as a whole: the signed artifacts, and the daemon's settings
/// for the agent's native collectors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredSet {
    /// The artifacts, sorted by name.
    #[serde(default)]
    pub plugins: Vec<DesiredPlugin>,
    /// The native collectors' settings, by name (none: the agent's own config).
    #[serde(default, skip_serializing_if = "Collectors::is_empty")]
    pub collectors: Collectors,
}

impl DesiredSet {
    /// Its digest: SHA-256 of its JSON, 64 hex digits. The empty set's digest names
    /// "nothing managed".
    pub fn digest(&self) -> String {
        // Invariant: these types serialize (strings, numbers, UTF-8 paths), so this
        // cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        hb_proto::digest::hex(&Sha256::digest(&json))
    }
}

/// The answer to an agent asking what to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Desired {
    /// The host it is for.
    pub host: String,
    /// The agent's nonce, echoed: this answer is for that request.
    pub nonce: String,
    /// [`DesiredSet::digest`] of `set`: what the agent reports once it has applied it.
    pub digest: String,
    /// What to run.
    pub set: DesiredSet,
}

/// The header that carries the answer's tag.
pub const TAG_HEADER: &str = "x-hbd-tag";

/// The tag over an answer's body with the host's key, as hex.
pub fn tag(key: &hb_proto::Key, body: &[u8]) -> String {
    hb_proto::digest::hex(&key.tag(&[b"hbd desired plugins\n", body]))
}

/// Why an answer is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// No tag, or one the host's key did not make.
    #[error("the answer is not signed with this host's key")]
    Tag,
    /// Not the JSON of an answer.
    #[error("the answer is not valid: {0}")]
    Json(String),
    /// For another host or another request.
    #[error("the answer is for {0}, not this request")]
    NotMine(String),
    /// Its digest is not its plugins'.
    #[error("the answer's digest does not match what it names")]
    Digest,
}

/// Checks an answer: tag with the host's key, then host, nonce and digest.
pub fn read_answer(
    key: &hb_proto::Key,
    body: &[u8],
    tag_hex: Option<&str>,
    host: &str,
    nonce: &str,
) -> Result<Desired, AnswerError> {
    let tag_hex = tag_hex.ok_or(AnswerError::Tag)?;
    let tag = hb_proto::digest::unhex(tag_hex).ok_or(AnswerError::Tag)?;
    if !key.verify(&[b"hbd desired plugins\n", body], &tag) {
        return Err(AnswerError::Tag);
    }
    let desired: Desired =
        serde_json::from_slice(body).map_err(|e| AnswerError::Json(e.to_string()))?;
    if desired.host != host || desired.nonce != nonce {
        return Err(AnswerError::NotMine(format!(
            "host {:?} nonce {:?}",
            desired.host, desired.nonce
        )));
    }
    if desired.set.digest() != desired.digest {
        return Err(AnswerError::Digest);
    }
    Ok(desired)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin() -> DesiredPlugin {
        let version = semver::Version::new(1, 2, 0);
        DesiredPlugin {
            name: "log_freshness".into(),
            files: Files::of("log_freshness", &version),
            version,
            sha256: "ab".repeat(32),
            size: 1000,
            settings: Settings {
                grants: vec!["/var/log/app".into()],
                ..Settings::default()
            },
        }
    }

    fn set() -> DesiredSet {
        DesiredSet {
            plugins: vec![plugin()],
            ..DesiredSet::default()
        }
    }

    fn answer(host: &str, nonce: &str) -> Vec<u8> {
        serde_json::to_vec(&Desired {
            host: host.into(),
            nonce: nonce.into(),
            digest: set().digest(),
            set: set(),
        })
        .unwrap()
    }

    #[test]
    fn only_a_fresh_answer_signed_with_the_hosts_key_is_taken() {
        let key = hb_proto::Key::new("web1's own key, 16+");
        let body = answer("web1", "n1");
        let good = tag(&key, &body);
        let other = tag(&hb_proto::Key::new("another key entirely"), &body);
        let mut changed = body.clone();
        let at = changed.len() - 3;
        changed[at] ^= 1;
        // (what, body, tag, nonce asked, what comes of it)
        type Case<'a> = (
            &'a str,
            &'a [u8],
            Option<&'a str>,
            &'a str,
            Result<(), AnswerError>,
        );
        let cases: Vec<Case> = vec![
            ("good", &body, Some(&good), "n1", Ok(())),
            ("no tag", &body, None, "n1", Err(AnswerError::Tag)),
            (
                "tag of another key",
                &body,
                Some(&other),
                "n1",
                Err(AnswerError::Tag),
            ),
            ("not hex", &body, Some("zz"), "n1", Err(AnswerError::Tag)),
            (
                "body changed",
                &changed,
                Some(&good),
                "n1",
                Err(AnswerError::Tag),
            ),
            (
                "an earlier answer replayed",
                &body,
                Some(&good),
                "n2",
                Err(AnswerError::NotMine("host \"web1\" nonce \"n1\"".into())),
            ),
        ];
        for (what, body, tag, nonce, want) in cases {
            let got = read_answer(&key, body, tag, "web1", nonce).map(|_| ());
            assert_eq!(got, want, "{what}");
        }
        let theirs = answer("db1", "n1");
        let got = read_answer(&key, &theirs, Some(&tag(&key, &theirs)), "web1", "n1");
        assert!(matches!(got, Err(AnswerError::NotMine(_))), "{got:?}");
    }

    #[test]
    fn settings_stay_within_the_manifest() {
        let allowed = Capabilities {
            grants: vec!["/var/log".into(), "C:\\ProgramData\\app".into()],
            memory_mb: 32,
            timeout_ms: 1000,
            min_interval_s: 30.0,
            net: vec!["db.example.com:5432".parse().unwrap()],
            connections: None,
        };
        // (what, settings, exceeds?)
        let cases: Vec<(&str, Settings, bool)> = vec![
            ("nothing set", Settings::default(), false),
            (
                "a grant below",
                Settings {
                    grants: vec!["/var/log/app".into()],
                    ..Settings::default()
                },
                false,
            ),
            (
                "a grant beside",
                Settings {
                    grants: vec!["/var/lib".into()],
                    ..Settings::default()
                },
                true,
            ),
            (
                "a Windows grant below, read on any OS",
                Settings {
                    grants: vec!["c:\\programdata\\App\\logs".into()],
                    ..Settings::default()
                },
                false,
            ),
            (
                "a Windows grant beside",
                Settings {
                    grants: vec!["C:\\ProgramData\\other".into()],
                    ..Settings::default()
                },
                true,
            ),
            (
                "more often",
                Settings {
                    interval: Some(10.0),
                    ..Settings::default()
                },
                true,
            ),
            (
                "as often as allowed",
                Settings {
                    interval: Some(30.0),
                    ..Settings::default()
                },
                false,
            ),
            (
                "more time",
                Settings {
                    timeout_ms: Some(2000),
                    ..Settings::default()
                },
                true,
            ),
            (
                "more memory",
                Settings {
                    memory_mb: Some(64),
                    ..Settings::default()
                },
                true,
            ),
            (
                "less memory",
                Settings {
                    memory_mb: Some(16),
                    ..Settings::default()
                },
                false,
            ),
            (
                "the destination asked for",
                Settings {
                    net: vec!["db.example.com:5432".parse().unwrap()],
                    ..Settings::default()
                },
                false,
            ),
            (
                "another destination",
                Settings {
                    net: vec!["db.example.com:22".parse().unwrap()],
                    ..Settings::default()
                },
                true,
            ),
        ];
        for (what, settings, exceeds) in cases {
            assert_eq!(settings.exceeds(&allowed).is_some(), exceeds, "{what}");
        }
    }

    #[test]
    fn the_digest_follows_the_set_not_the_request() {
        let a: Desired = serde_json::from_slice(&answer("web1", "n1")).unwrap();
        let b: Desired = serde_json::from_slice(&answer("web1", "n2")).unwrap();
        assert_eq!(a.digest, b.digest);
        let mut changed = set();
        changed.plugins[0].settings.interval = Some(60.0);
        assert_ne!(changed.digest(), a.digest);
        let mut collectors = set();
        collectors.collectors.insert(
            "cpu_monitor".into(),
            crate::collectors::Collector {
                enabled: Some(false),
                ..Default::default()
            },
        );
        assert_ne!(collectors.digest(), a.digest);
        assert_eq!(DesiredSet::default().digest().len(), 64);
    }
}
