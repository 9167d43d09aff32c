//! The record of an upgrade in progress (`upgrade.json` beside the command ledger): it
//! carries the upgrade across the re-execution, so the new binary can report it, and
//! lets a start tell that the new binary died before its first heartbeat, so the old one
//! goes back. [`on_start`] is the pure decision; [`Marker::load`] and [`Marker::save`]
//! keep the file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// An upgrade between the swap and its report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// The `UPD`'s id, for the `RES`.
    pub cmd_id: String,
    /// The version that ran before.
    pub from_version: String,
    /// The version swapped in.
    pub to_version: String,
    /// SHA-256 of the binary swapped in.
    pub sha256: String,
    /// The binary's path.
    pub exe: PathBuf,
    /// Where the old binary is kept.
    pub previous: PathBuf,
    /// How far it got.
    pub stage: Stage,
    /// The plugin compiler swapped in with it, if the upgrade carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compiler: Option<CompilerSwap>,
}

/// The plugin compiler an upgrade put beside the agent, and how to undo that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompilerSwap {
    /// Where it is (`hbc-compile` beside the agent).
    pub path: PathBuf,
    /// Where the old one is kept; `None` if there was none there.
    pub previous: Option<PathBuf>,
    /// SHA-256 of the one swapped in.
    pub sha256: String,
}

/// How far an upgrade got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    /// Swapped in; the old process is about to execute the new binary.
    Swapped,
    /// The new binary started and has not sent its first heartbeat yet.
    Started,
    /// The old binary is back in place, for this reason.
    RolledBack {
        /// Why.
        reason: String,
    },
}

/// What a starting agent does about a marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnStart {
    /// No upgrade in progress.
    Nothing,
    /// This is the new binary's first start: mark it started, and report success once
    /// the first heartbeat is out.
    Confirm,
    /// The new binary started before and never sent a heartbeat: put the old one back
    /// and execute it.
    RollBack(String),
    /// Report this failure once the first heartbeat is out.
    ReportFailure(String),
}

/// Decides what to do at start about `marker`, given the SHA-256 of the binary running.
pub fn on_start(marker: Option<&Marker>, running_sha256: &str) -> OnStart {
    let Some(m) = marker else {
        return OnStart::Nothing;
    };
    let is_new = m.sha256.eq_ignore_ascii_case(running_sha256);
    match (&m.stage, is_new) {
        (Stage::Swapped, true) => OnStart::Confirm,
        (Stage::Started, true) => OnStart::RollBack(format!(
            "hbc {} stopped before its first heartbeat; hbc {} is back",
            m.to_version, m.from_version
        )),
        (Stage::Swapped | Stage::Started, false) => OnStart::ReportFailure(format!(
            "the binary running is not the one installed for the upgrade to {} (another hand replaced it?)",
            m.to_version
        )),
        (Stage::RolledBack { reason }, _) => OnStart::ReportFailure(reason.clone()),
    }
}

/// Why the marker could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("upgrade record {path}: {reason}")]
pub struct MarkerError {
    path: PathBuf,
    reason: String,
}

impl Marker {
    /// The marker at `path`, if there is one.
    pub fn load(path: &Path) -> Result<Option<Marker>, MarkerError> {
        let err = |reason: String| MarkerError {
            path: path.to_owned(),
            reason,
        };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| err(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Writes the marker to `path` atomically, synced: the swap must not be lost.
    pub fn save(&self, path: &Path) -> Result<(), MarkerError> {
        let err = |reason: String| MarkerError {
            path: path.to_owned(),
            reason,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        let tmp = path.with_extension("json.new");
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| err(e.to_string()))?;
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| err(e.to_string()))
    }

    /// Removes the marker at `path` (the upgrade is reported).
    pub fn remove(path: &Path) {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "upgrade record not removed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(stage: Stage) -> Marker {
        Marker {
            cmd_id: "u1".into(),
            from_version: "0.1.0".into(),
            to_version: "0.2.0".into(),
            sha256: "ab".repeat(32),
            exe: "/var/lib/hbc/bin/hbc".into(),
            previous: "/var/lib/hbc/bin/hbc.previous".into(),
            stage,
            compiler: None,
        }
    }

    #[test]
    fn each_stage_and_binary_gives_its_action() {
        let new = "ab".repeat(32);
        let old = "cd".repeat(32);
        let back = Stage::RolledBack {
            reason: "it broke".into(),
        };
        // (stage, running binary) -> action
        let cases = [
            (None, new.as_str(), OnStart::Nothing),
            (Some(Stage::Swapped), new.as_str(), OnStart::Confirm),
            (
                Some(Stage::Started),
                new.as_str(),
                OnStart::RollBack(
                    "hbc 0.2.0 stopped before its first heartbeat; hbc 0.1.0 is back".into(),
                ),
            ),
            (
                Some(back.clone()),
                old.as_str(),
                OnStart::ReportFailure("it broke".into()),
            ),
            (
                Some(back),
                new.as_str(),
                OnStart::ReportFailure("it broke".into()),
            ),
        ];
        for (stage, running, want) in cases {
            let m = stage.clone().map(marker);
            assert_eq!(on_start(m.as_ref(), running), want, "{stage:?}");
        }
        for stage in [Stage::Swapped, Stage::Started] {
            assert!(matches!(
                on_start(Some(&marker(stage)), &old),
                OnStart::ReportFailure(why) if why.contains("not the one installed")
            ));
        }
    }

    #[test]
    fn the_record_survives_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/upgrade.json");
        assert_eq!(Marker::load(&path).unwrap(), None);
        let m = marker(Stage::RolledBack { reason: "x".into() });
        m.save(&path).unwrap();
        assert_eq!(Marker::load(&path).unwrap(), Some(m));
        let m = Marker {
            compiler: Some(CompilerSwap {
                path: "/var/lib/hbc/bin/hbc-compile".into(),
                previous: None,
                sha256: "cd".repeat(32),
            }),
            ..marker(Stage::Swapped)
        };
        m.save(&path).unwrap();
        assert_eq!(Marker::load(&path).unwrap(), Some(m));
        Marker::remove(&path);
        assert_eq!(Marker::load(&path).unwrap(), None);
        std::fs::write(&path, b"{not json").unwrap();
        assert!(
            Marker::load(&path)
                .unwrap_err()
                .to_string()
                .contains("upgrade.json")
        );
    }
}
