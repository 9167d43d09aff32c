//! What this agent keeps about its managed plugins across restarts, in
//! `managed_plugins.dir/state.json`: the digest of the set it applied (what it reports),
//! the versions it has run (which no artifact may go back behind) and the set itself
//! (artifacts and the native collectors' settings).
//! Each artifact's three files lie beside it as `NAME-VERSION.{wasm,json,json.minisig}`.
//! Written whole to a new file and renamed over the old, so a crash leaves one or the
//! other.

use std::path::{Path, PathBuf};

use hb_artifact::RanVersions;
use hb_artifact::desired::DesiredPlugin;
use serde::{Deserialize, Serialize};

/// The record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The digest of the set applied (the daemon's, as it answered); empty: none yet.
    #[serde(default)]
    pub digest: String,
    /// Versions run, per plugin.
    #[serde(default)]
    pub ran: RanVersions,
    /// The set applied.
    #[serde(default)]
    pub plugins: Vec<DesiredPlugin>,
    /// The daemon's settings for the native collectors applied.
    #[serde(default)]
    pub collectors: hb_artifact::collectors::Collectors,
    /// The contract each plugin of the set speaks, from its manifest as checked when it
    /// was loaded (not kept: checked again at each start).
    #[serde(skip)]
    pub contracts: std::collections::BTreeMap<String, String>,
}

/// Why the record cannot be kept.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's answer.
        source: std::io::Error,
    },
    /// The file is not a record.
    #[error("{}: not a managed plugins record: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Where an artifact's file of `suffix` (`wasm`, `json`, `json.minisig`) lies in `dir`.
pub fn file(dir: &Path, plugin: &DesiredPlugin, suffix: &str) -> PathBuf {
    dir.join(format!("{}-{}.{suffix}", plugin.name, plugin.version))
}

impl State {
    fn path(dir: &Path) -> PathBuf {
        dir.join("state.json")
    }

    /// The record in `dir`; none yet is the empty record.
    pub fn load(dir: &Path) -> Result<State, StateError> {
        let path = State::path(dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
                path,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(source) => Err(StateError::Io { path, source }),
        }
    }

    /// Writes the record to `dir`, whole, then renames it into place.
    pub fn save(&self, dir: &Path) -> Result<(), StateError> {
        let path = State::path(dir);
        let new = dir.join("state.json.new");
        let io = |source| StateError::Io {
            path: path.clone(),
            source,
        };
        // Invariant: the record's types serialize (strings, numbers, UTF-8 paths).
        let bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        std::fs::write(&new, bytes).map_err(io)?;
        std::fs::rename(&new, &path).map_err(io)
    }

    /// Removes files in `dir` of artifacts neither in this set nor the version each
    /// plugin ran before (kept for a rollback without a download).
    pub fn tidy(&self, dir: &Path) {
        let keep: Vec<String> = self
            .plugins
            .iter()
            .map(|p| format!("{}-{}.", p.name, p.version))
            .chain(self.ran.0.iter().filter_map(|(name, ran)| {
                ran.previous
                    .as_ref()
                    .map(|(version, _)| format!("{name}-{version}."))
            }))
            .collect();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let artifact = [".wasm", ".json", ".json.minisig"]
                .iter()
                .any(|s| name.ends_with(s))
                && name != "state.json";
            if artifact && !keep.iter().any(|k| name.starts_with(k.as_str())) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(version: &str) -> DesiredPlugin {
        let version: semver::Version = version.parse().unwrap();
        DesiredPlugin {
            name: "log_freshness".into(),
            files: hb_artifact::desired::Files::of("log_freshness", &version),
            version,
            sha256: "ab".repeat(32),
            size: 1,
            settings: Default::default(),
        }
    }

    #[test]
    fn the_record_survives_a_restart_and_old_files_go() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(State::load(dir.path()).unwrap(), State::default());
        for v in ["1.0.0", "1.1.0", "1.2.0"] {
            for s in ["wasm", "json", "json.minisig"] {
                std::fs::write(file(dir.path(), &plugin(v), s), v).unwrap();
            }
        }
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        let mut state = State {
            digest: "d".repeat(64),
            ..State::default()
        };
        let manifest = |v: &str| {
            let mut m = hb_artifact::Manifest::parse(include_bytes!(
                "../../../artifact/tests/fixtures/good.json"
            ))
            .unwrap();
            m.version = v.parse().unwrap();
            m
        };
        state.ran.record(&manifest("1.1.0"));
        state.ran.record(&manifest("1.2.0"));
        state.plugins = vec![plugin("1.2.0")];
        state.save(dir.path()).unwrap();
        assert_eq!(State::load(dir.path()).unwrap(), state);
        state.tidy(dir.path());
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "log_freshness-1.1.0.json",
                "log_freshness-1.1.0.json.minisig",
                "log_freshness-1.1.0.wasm",
                "log_freshness-1.2.0.json",
                "log_freshness-1.2.0.json.minisig",
                "log_freshness-1.2.0.wasm",
                "notes.txt",
                "state.json",
            ]
        );
        std::fs::write(dir.path().join("state.json"), "{not json").unwrap();
        assert!(matches!(
            State::load(dir.path()),
            Err(StateError::Corrupt { .. })
        ));
    }
}
