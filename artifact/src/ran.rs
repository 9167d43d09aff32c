//! The versions an agent has run, per plugin name: no artifact may take it back behind
//! them, so an old, signed but vulnerable version cannot be served again. Going back is
//! a deliberate, signed act: publish the old code as a new version. One step back is
//! allowed: to the exact version and digest the agent ran just before (its last good
//! one), which is what a rollout's automatic rollback asks for.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::manifest::Manifest;

/// One plugin's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ran {
    /// The version it runs now (or last ran).
    pub version: semver::Version,
    /// That version's digest.
    pub sha256: String,
    /// The version and digest it ran before, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<(semver::Version, String)>,
}

/// Every plugin's record, as the agent keeps it on disk (JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RanVersions(pub BTreeMap<String, Ran>);

impl RanVersions {
    /// Why `manifest` would take this agent back, if it would.
    pub fn refuses(&self, manifest: &Manifest) -> Option<String> {
        let ran = self.0.get(&manifest.name)?;
        let (version, digest) = (&manifest.version, &manifest.sha256);
        if *version > ran.version {
            return None;
        }
        if *version == ran.version {
            return (*digest != ran.sha256).then(|| {
                format!(
                    "version {version} was already run here with another digest ({})",
                    ran.sha256
                )
            });
        }
        if ran
            .previous
            .as_ref()
            .is_some_and(|(v, d)| v == version && d == digest)
        {
            return None;
        }
        Some(format!(
            "version {version} is older than {}, which this agent already ran (to go back, publish the old code as a new version)",
            ran.version
        ))
    }

    /// Records that `manifest` now runs.
    pub fn record(&mut self, manifest: &Manifest) {
        let now = (manifest.version.clone(), manifest.sha256.clone());
        match self.0.get_mut(&manifest.name) {
            Some(ran) if ran.version == now.0 && ran.sha256 == now.1 => {}
            Some(ran) => {
                let before = (ran.version.clone(), ran.sha256.clone());
                ran.version = now.0;
                ran.sha256 = now.1;
                ran.previous = Some(before);
            }
            None => {
                self.0.insert(
                    manifest.name.clone(),
                    Ran {
                        version: now.0,
                        sha256: now.1,
                        previous: None,
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(version: &str, digest: char) -> Manifest {
        let mut m = crate::manifest::tests::sample();
        m.version = version.parse().unwrap();
        m.sha256 = digest.to_string().repeat(64);
        m
    }

    #[test]
    fn never_behind_what_ran_except_one_step_to_the_last_good() {
        // (step, version, digest, refused?, then run it?)
        let steps: &[(&str, &str, char, bool, bool)] = &[
            ("first", "1.0.0", 'a', false, true),
            ("same again", "1.0.0", 'a', false, false),
            ("same version, other bytes", "1.0.0", 'b', true, false),
            ("newer", "1.1.0", 'c', false, true),
            ("back to the last good", "1.0.0", 'a', false, false),
            ("older than both", "0.9.0", 'd', true, false),
            ("pre-release of the current", "1.1.0-rc.1", 'e', true, false),
            ("newer again", "1.2.0", 'f', false, true),
            ("two steps back", "1.0.0", 'a', true, false),
            ("one step back", "1.1.0", 'c', false, true),
            ("forward again, above what ran", "1.2.0", 'f', false, true),
        ];
        let mut ran = RanVersions::default();
        for (what, version, digest, refused, run) in steps {
            let m = manifest(version, *digest);
            let got = ran.refuses(&m);
            assert_eq!(got.is_some(), *refused, "{what}: {got:?}");
            if *run {
                ran.record(&m);
            }
        }
        let text = serde_json::to_string(&ran).unwrap();
        assert_eq!(serde_json::from_str::<RanVersions>(&text).unwrap(), ran);
    }

    #[test]
    fn the_refusal_says_what_ran() {
        let mut ran = RanVersions::default();
        ran.record(&manifest("2.0.0", 'a'));
        assert_eq!(
            ran.refuses(&manifest("1.9.9", 'b')).unwrap(),
            "version 1.9.9 is older than 2.0.0, which this agent already ran (to go back, publish the old code as a new version)"
        );
    }
}
