//! Every check an artifact passes before an agent compiles it, in order: sizes first
//! (nothing large is hashed or parsed), then the publisher's signature over the
//! manifest's bytes (nothing unsigned is read further), then the manifest against what
//! was asked for, the contracts this agent speaks, the `.wasm`'s bytes, the ceiling and
//! the versions already run. The first that fails is the refusal.

use minisign_verify::Signature;
use sha2::{Digest, Sha256};

use crate::manifest::{Manifest, ManifestError};
use crate::ran::RanVersions;
use crate::trust::Trust;

/// Longest signature file read, in bytes (a minisign signature is about 350).
pub const MAX_SIGNATURE_BYTES: usize = 4096;

/// Why an artifact is refused. Each is reported to the daemon with its text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// The `.wasm`, manifest or signature is larger than allowed.
    #[error("too large: {0}")]
    TooLarge(String),
    /// The agent trusts no publisher key.
    #[error("no publisher keys are trusted (plugin_trust.publishers)")]
    NoPublishers,
    /// The signature file is not a minisign signature.
    #[error("the signature is not a minisign signature")]
    BadSignatureFile,
    /// Signed by a key the agent does not trust.
    #[error("signed by none of the {0} trusted publisher keys")]
    UnknownPublisher(usize),
    /// A trusted key's signature that does not verify: the manifest was changed.
    #[error("the signature does not verify: the manifest is not what its publisher signed")]
    BadSignature,
    /// A signed manifest that cannot be read.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A manifest for another plugin or version than the one asked for.
    #[error("asked for {asked}, the manifest is for {got}")]
    NotAsked {
        /// `name version` asked for.
        asked: String,
        /// `name version` of the manifest.
        got: String,
    },
    /// A contract this agent does not speak.
    #[error("speaks {got}, which this agent does not know (it speaks {known})")]
    UnknownContract {
        /// The manifest's contract.
        got: String,
        /// What the agent speaks.
        known: String,
    },
    /// The `.wasm` is not the one the manifest names.
    #[error("the .wasm is not the one signed: {0}")]
    Digest(String),
    /// It asks for more than the agent's ceiling.
    #[error("asks for more than this agent allows: {0}")]
    Ceiling(String),
    /// It would take the agent back behind a version it ran.
    #[error("{0}")]
    Older(String),
}

impl Refusal {
    /// A short stable word for counting and for the API (`bad_signature`).
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::TooLarge(_) => "too_large",
            Refusal::NoPublishers => "no_publishers",
            Refusal::BadSignatureFile => "bad_signature_file",
            Refusal::UnknownPublisher(_) => "unknown_publisher",
            Refusal::BadSignature => "bad_signature",
            Refusal::Manifest(_) => "bad_manifest",
            Refusal::NotAsked { .. } => "not_asked",
            Refusal::UnknownContract { .. } => "unknown_contract",
            Refusal::Digest(_) => "digest",
            Refusal::Ceiling(_) => "ceiling",
            Refusal::Older(_) => "older",
        }
    }
}

/// Checks an artifact: its manifest's bytes, its minisign signature's text and its
/// `.wasm`'s bytes, against what the agent trusts and has run. `asked` is the plugin
/// name and version the agent was told to run, when it was told one. On success, the
/// manifest, which the agent then honours (the most it may grant the plugin).
pub fn verify(
    manifest: &[u8],
    signature: &[u8],
    wasm: &[u8],
    asked: Option<(&str, &semver::Version)>,
    trust: &Trust,
    ran: &RanVersions,
) -> Result<Manifest, Refusal> {
    let max = trust.ceiling.max_size;
    if wasm.len() as u64 > max {
        return Err(Refusal::TooLarge(format!(
            "the .wasm is {} bytes, this agent takes at most {max}",
            wasm.len()
        )));
    }
    if signature.len() > MAX_SIGNATURE_BYTES {
        return Err(Refusal::TooLarge(format!(
            "the signature is {} bytes, at most {MAX_SIGNATURE_BYTES}",
            signature.len()
        )));
    }
    if manifest.len() > crate::manifest::MAX_MANIFEST_BYTES {
        return Err(ManifestError::TooLarge(manifest.len()).into());
    }
    check_signature(manifest, signature, trust)?;
    let m = Manifest::parse(manifest)?;
    if let Some((name, version)) = asked
        && (m.name != name || m.version != *version)
    {
        return Err(Refusal::NotAsked {
            asked: format!("{name} {version}"),
            got: format!("{} {}", m.name, m.version),
        });
    }
    if !trust.contracts.contains(&m.contract) {
        return Err(Refusal::UnknownContract {
            got: m.contract.clone(),
            known: trust.contracts.join(" and "),
        });
    }
    if m.size > max {
        return Err(Refusal::TooLarge(format!(
            "the manifest names {} bytes, this agent takes at most {max}",
            m.size
        )));
    }
    if wasm.len() as u64 != m.size {
        return Err(Refusal::Digest(format!(
            "{} bytes, the manifest names {}",
            wasm.len(),
            m.size
        )));
    }
    let digest = hb_proto::digest::hex(&Sha256::digest(wasm));
    if digest != m.sha256 {
        return Err(Refusal::Digest(format!(
            "SHA-256 {digest}, the manifest names {}",
            m.sha256
        )));
    }
    if let Some(why) = trust.ceiling.exceeded_by(&m.capabilities) {
        return Err(Refusal::Ceiling(why));
    }
    if let Some(why) = ran.refuses(&m) {
        return Err(Refusal::Older(why));
    }
    Ok(m)
}

/// The manifest's bytes must carry a valid signature by one trusted key.
fn check_signature(manifest: &[u8], signature: &[u8], trust: &Trust) -> Result<(), Refusal> {
    if trust.publishers.is_empty() {
        return Err(Refusal::NoPublishers);
    }
    let text = std::str::from_utf8(signature).map_err(|_| Refusal::BadSignatureFile)?;
    let signature = Signature::decode(text).map_err(|_| Refusal::BadSignatureFile)?;
    let mut signer_known = false;
    for publisher in &trust.publishers {
        match publisher.key().verify(manifest, &signature, false) {
            Ok(()) => return Ok(()),
            // Another key signed it: try the next.
            Err(minisign_verify::Error::UnexpectedKeyId) => {}
            Err(_) => signer_known = true,
        }
    }
    Err(if signer_known {
        Refusal::BadSignature
    } else {
        Refusal::UnknownPublisher(trust.publishers.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::{Ceiling, Publisher};

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../tests/fixtures/", $name)).as_slice()
        };
    }

    const WASM: &[u8] = fixture!("plugin.wasm");

    fn key(file: &str) -> Publisher {
        let text = match file {
            "publisher" => include_str!("../tests/fixtures/publisher.pub"),
            _ => include_str!("../tests/fixtures/stranger.pub"),
        };
        Publisher::new(text.lines().nth(1).unwrap()).unwrap()
    }

    fn trust() -> Trust {
        Trust {
            publishers: vec![key("stranger"), key("publisher")],
            ceiling: Ceiling {
                grants: vec!["/var/log".into(), "/srv".into()],
                ..Ceiling::default()
            },
            contracts: vec!["hbd:plugin@0.1.0".into(), "hbd:plugin@0.2.0".into()],
        }
    }

    #[test]
    fn a_good_artifact_passes_and_every_attack_is_refused_before_compiling() {
        let good = fixture!("good.json");
        let good_sig = fixture!("good.json.minisig");
        let tampered = String::from_utf8(good.to_vec())
            .unwrap()
            .replace("/var/log/app", "/var/log/ap2");
        let mut wasm_changed = WASM.to_vec();
        wasm_changed[0] ^= 1;
        let mut ran_newer = RanVersions::default();
        ran_newer.record(&Manifest::parse(good).unwrap());
        let mut higher = Manifest::parse(good).unwrap();
        higher.version = "1.3.0".parse().unwrap();
        ran_newer.record(&higher);
        let v120: semver::Version = "1.2.0".parse().unwrap();
        let only_stranger = Trust {
            publishers: vec![key("stranger")],
            ..trust()
        };
        let small = Trust {
            ceiling: Ceiling {
                max_size: 10,
                ..trust().ceiling
            },
            ..trust()
        };
        let no_keys = Trust {
            publishers: vec![],
            ..trust()
        };
        let none = RanVersions::default();
        // (what, manifest, signature, wasm, asked, trust, ran, the refusal's reason)
        type Case<'a> = (
            &'a str,
            &'a [u8],
            &'a [u8],
            &'a [u8],
            Option<(&'a str, &'a semver::Version)>,
            &'a Trust,
            &'a RanVersions,
            Option<&'a str>,
        );
        let t = trust();
        let cases: Vec<Case> = vec![
            (
                "good",
                good,
                good_sig,
                WASM,
                Some(("log_freshness", &v120)),
                &t,
                &none,
                None,
            ),
            (
                "tampered manifest",
                tampered.as_bytes(),
                good_sig,
                WASM,
                None,
                &t,
                &none,
                Some("bad_signature"),
            ),
            (
                "another publisher's key",
                good,
                fixture!("good.json.stranger.minisig"),
                WASM,
                None,
                &t,
                &none,
                None,
            ),
            (
                "signed by an untrusted key",
                good,
                good_sig,
                WASM,
                None,
                &only_stranger,
                &none,
                Some("unknown_publisher"),
            ),
            (
                "no keys trusted",
                good,
                good_sig,
                WASM,
                None,
                &no_keys,
                &none,
                Some("no_publishers"),
            ),
            (
                "garbage for a signature",
                good,
                b"<html>not found</html>",
                WASM,
                None,
                &t,
                &none,
                Some("bad_signature_file"),
            ),
            (
                "the .wasm changed",
                good,
                good_sig,
                &wasm_changed,
                None,
                &t,
                &none,
                Some("digest"),
            ),
            (
                "the .wasm cut short",
                good,
                good_sig,
                &WASM[..10],
                None,
                &t,
                &none,
                Some("digest"),
            ),
            (
                "widened capabilities",
                fixture!("wide.json"),
                fixture!("wide.json.minisig"),
                WASM,
                None,
                &t,
                &none,
                Some("ceiling"),
            ),
            (
                "an older version replayed",
                fixture!("old.json"),
                fixture!("old.json.minisig"),
                WASM,
                None,
                &t,
                &ran_newer,
                Some("older"),
            ),
            (
                "a contract from the future",
                fixture!("future.json"),
                fixture!("future.json.minisig"),
                WASM,
                None,
                &t,
                &none,
                Some("unknown_contract"),
            ),
            (
                "another plugin than asked",
                fixture!("other.json"),
                fixture!("other.json.minisig"),
                WASM,
                Some(("log_freshness", &v120)),
                &t,
                &none,
                Some("not_asked"),
            ),
            (
                "oversized",
                good,
                good_sig,
                WASM,
                None,
                &small,
                &none,
                Some("too_large"),
            ),
        ];
        for (what, manifest, sig, wasm, asked, trust, ran, want) in cases {
            let got = verify(manifest, sig, wasm, asked, trust, ran);
            match (want, &got) {
                (None, Ok(m)) => assert_eq!(m.name, "log_freshness", "{what}"),
                (Some(reason), Err(e)) => assert_eq!(e.reason(), reason, "{what}: {e}"),
                _ => panic!("{what}: {got:?}"),
            }
        }
    }

    #[test]
    fn refusals_say_what_to_look_at() {
        let t = Trust {
            publishers: vec![key("stranger")],
            ..trust()
        };
        let good = fixture!("good.json");
        let sig = fixture!("good.json.minisig");
        let e = verify(good, sig, WASM, None, &t, &RanVersions::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "signed by none of the 1 trusted publisher keys"
        );
        let e = verify(
            fixture!("wide.json"),
            fixture!("wide.json.minisig"),
            WASM,
            None,
            &trust(),
            &RanVersions::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "asks for more than this agent allows: grant /etc is outside this agent's ceiling (/var/log, /srv)"
        );
        let e = verify(
            fixture!("future.json"),
            fixture!("future.json.minisig"),
            WASM,
            None,
            &trust(),
            &RanVersions::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "speaks hbd:plugin@9.0.0, which this agent does not know (it speaks hbd:plugin@0.1.0 and hbd:plugin@0.2.0)"
        );
    }

    #[test]
    fn the_ceiling_holds_each_capability() {
        let c = Ceiling {
            grants: vec!["/var/log".into()],
            ..Ceiling::default()
        };
        let base = Manifest::parse(fixture!("good.json")).unwrap().capabilities;
        // (what, change, exceeded?)
        type Change = fn(&mut crate::Capabilities);
        let cases: &[(&str, Change, bool)] = &[
            ("as signed", |_| {}, false),
            (
                "the ceiling's own path",
                |c| c.grants = vec!["/var/log".into()],
                false,
            ),
            (
                "a sibling sharing a prefix",
                |c| c.grants = vec!["/var/logs".into()],
                true,
            ),
            (
                "climbing out",
                |c| c.grants = vec!["/var/log/../../etc".into()],
                true,
            ),
            // One artifact for Linux and Windows hosts: the grant of the other OS's
            // style opens nothing here, so only this OS's is held to the ceiling.
            (
                "a Windows grant beside a Unix one",
                |c| c.grants = vec!["/var/log/app".into(), "C:\\logs".into()],
                cfg!(windows),
            ),
            (
                "a Unix grant beside the ceiling, with a Windows one",
                |c| c.grants = vec!["/etc".into(), "C:\\logs".into()],
                true,
            ),
            ("more memory", |c| c.memory_mb = 33, true),
            ("longer calls", |c| c.timeout_ms = 1001, true),
            ("more often", |c| c.min_interval_s = 9.5, true),
            (
                "the network, where the agent allows none",
                |c| c.net = vec!["db.example.com:5432".parse().unwrap()],
                true,
            ),
        ];
        for (what, change, exceeded) in cases {
            let mut asked = base.clone();
            change(&mut asked);
            assert_eq!(c.exceeded_by(&asked).is_some(), *exceeded, "{what}");
        }
        // An agent that allows some of the network.
        let c = Ceiling {
            grants: vec!["/var/log".into()],
            net: vec![
                "db.example.com:5432".parse().unwrap(),
                "10.0.0.0/8:*".parse().unwrap(),
            ],
            connections: 16,
            ..Ceiling::default()
        };
        let dest = |d: &[&str]| -> Vec<crate::net::Destination> {
            d.iter().map(|d| d.parse().unwrap()).collect()
        };
        // (what, net, connections, exceeded: the reason names)
        let cases = [
            (
                "a name it allows",
                dest(&["db.example.com:5432"]),
                None,
                None,
            ),
            (
                "a block inside its block",
                dest(&["10.1.0.0/16:443"]),
                None,
                None,
            ),
            (
                "another port",
                dest(&["db.example.com:5433"]),
                None,
                Some("net db.example.com:5433"),
            ),
            (
                "a name inside its block (names move)",
                dest(&["db.internal:5432"]),
                None,
                Some("net db.internal:5432"),
            ),
            (
                "too many connections",
                dest(&["10.0.0.1:80"]),
                Some(17),
                Some("connections 17"),
            ),
        ];
        for (what, net, connections, why) in cases {
            let asked = crate::Capabilities {
                net,
                connections,
                ..base.clone()
            };
            let got = c.exceeded_by(&asked);
            match why {
                None => assert_eq!(got, None, "{what}"),
                Some(why) => assert!(
                    got.as_deref().unwrap_or("").contains(why),
                    "{what}: {got:?}"
                ),
            }
        }
    }
}
