//! The artifacts `artifacts_dir` holds: for each `NAME-VERSION.json` manifest, its
//! `NAME-VERSION.json.minisig` and `NAME-VERSION.wasm`. An artifact is offered only when
//! its files are all there, its manifest is named for the plugin and version it states,
//! the `.wasm` is the one it names, and (when `plugin_publishers` is set) one of those
//! keys signed it. What is not offered is listed with the reason. The daemon never
//! signs anything: it only refuses to offer what agents would refuse anyway, early and
//! where the operator sees it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use hb_artifact::{Manifest, Publisher};
use serde::Serialize;

/// One artifact on offer.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Offered {
    /// Its manifest.
    #[schema(value_type = Object)]
    pub manifest: Manifest,
    /// The file names' common part, `NAME-VERSION`.
    pub stem: String,
}

/// What `artifacts_dir` holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalogue {
    /// On offer, by name and version.
    pub offered: BTreeMap<(String, semver::Version), Offered>,
    /// Files not offered, each with the reason (`x.json: ...`).
    pub refused: Vec<String>,
}

impl Catalogue {
    /// The artifact `name` at `version`, if on offer.
    pub fn get(&self, name: &str, version: &semver::Version) -> Option<&Offered> {
        self.offered.get(&(name.to_owned(), version.clone()))
    }

    /// Whether `file` (a bare file name) belongs to an artifact on offer.
    pub fn serves(&self, file: &str) -> bool {
        self.offered.values().any(|o| {
            file.strip_prefix(o.stem.as_str())
                .is_some_and(|rest| matches!(rest, ".wasm" | ".json" | ".json.minisig"))
        })
    }
}

/// Reads `dir`. An unreadable directory is an error; an unreadable artifact is listed
/// under `refused`.
pub fn scan(dir: &Path, publishers: &[Publisher]) -> std::io::Result<Catalogue> {
    let mut catalogue = Catalogue::default();
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    manifests.sort();
    for path in manifests {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        match check(&path, publishers) {
            Ok(offered) => {
                let key = (
                    offered.manifest.name.clone(),
                    offered.manifest.version.clone(),
                );
                catalogue.offered.insert(key, offered);
            }
            Err(why) => catalogue.refused.push(format!("{file}: {why}")),
        }
    }
    Ok(catalogue)
}

fn check(manifest_path: &Path, publishers: &[Publisher]) -> Result<Offered, String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let stem = manifest_path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or("not a UTF-8 file name")?
        .to_owned();
    let bytes = read(manifest_path)?;
    let manifest = Manifest::parse(&bytes).map_err(|e| e.to_string())?;
    let want = format!("{}-{}", manifest.name, manifest.version);
    if stem != want {
        return Err(format!(
            "holds {} {}: name its files {want}.json, {want}.json.minisig and {want}.wasm",
            manifest.name, manifest.version
        ));
    }
    let dir = manifest_path.parent().unwrap_or(Path::new("."));
    let signature = read(&dir.join(format!("{stem}.json.minisig")))?;
    let wasm = read(&dir.join(format!("{stem}.wasm")))?;
    // The agent's own checks, with a ceiling as wide as a manifest may ask: what is
    // refused here would be refused by every agent.
    let trust = hb_artifact::Trust {
        publishers: publishers.to_vec(),
        ceiling: hb_artifact::Ceiling {
            grants: vec![PathBuf::from("/")],
            memory_mb: hb_artifact::manifest::MAX_MEMORY_MB,
            timeout_ms: hb_artifact::manifest::MAX_TIMEOUT_MS,
            min_interval_s: 0.0,
            max_size: u64::MAX,
            // The daemon checks signatures, not what agents allow.
            net: vec![hb_artifact::net::Destination {
                host: hb_artifact::net::Host::Any,
                ports: (1, u16::MAX),
            }],
            deny: Vec::new(),
            connections: hb_artifact::manifest::MAX_CONNECTIONS,
        },
        contracts: vec![manifest.contract.clone()],
    };
    if publishers.is_empty() {
        let size = wasm.len() as u64;
        let sha = hb_proto::digest::hex(&<sha2::Sha256 as sha2::Digest>::digest(&wasm));
        if size != manifest.size || sha != manifest.sha256 {
            return Err(format!(
                "the .wasm is not the one the manifest names ({size} bytes, SHA-256 {sha})"
            ));
        }
    } else {
        hb_artifact::verify(&bytes, &signature, &wasm, None, &trust, &Default::default())
            .map_err(|e| e.to_string())?;
    }
    Ok(Offered { manifest, stem })
}

/// The catalogue of one directory, scanned again only when the directory's
/// modification time moves (adding, removing or renaming a file moves it).
#[derive(Debug, Clone, Default)]
pub struct Cached(Arc<Mutex<Option<Scanned>>>);

/// One scan: of which directory, at which modification time, and what it found.
#[derive(Debug)]
struct Scanned {
    dir: PathBuf,
    modified: Option<SystemTime>,
    catalogue: Arc<Catalogue>,
}

impl Cached {
    /// The catalogue of `dir` (blocking: reads files).
    pub fn get(&self, dir: &Path, publishers: &[Publisher]) -> std::io::Result<Arc<Catalogue>> {
        let stamp = std::fs::metadata(dir)?.modified().ok();
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(last) = slot.as_ref()
            && last.dir == dir
            && last.modified == stamp
            && stamp.is_some()
        {
            return Ok(last.catalogue.clone());
        }
        let catalogue = Arc::new(scan(dir, publishers)?);
        *slot = Some(Scanned {
            dir: dir.to_owned(),
            modified: stamp,
            catalogue: catalogue.clone(),
        });
        Ok(catalogue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../artifact/tests/fixtures");

    fn publisher() -> Publisher {
        let text = std::fs::read_to_string(format!("{FIXTURES}/publisher.pub")).unwrap();
        Publisher::new(text.lines().nth(1).unwrap()).unwrap()
    }

    /// Copies fixture `from` (good, wide, ...) into `dir` as `to`.json and friends.
    fn put(dir: &Path, from: &str, to: &str) {
        let copy =
            |a: String, b: String| std::fs::copy(format!("{FIXTURES}/{a}"), dir.join(b)).unwrap();
        copy(format!("{from}.json"), format!("{to}.json"));
        copy(format!("{from}.json.minisig"), format!("{to}.json.minisig"));
        copy("plugin.wasm".into(), format!("{to}.wasm"));
    }

    #[test]
    fn only_whole_well_named_signed_artifacts_are_offered() {
        let dir = tempfile::tempdir().unwrap();
        put(dir.path(), "good", "log_freshness-1.2.0");
        put(dir.path(), "old", "log_freshness-1.0.0");
        put(dir.path(), "other", "misnamed");
        // A stranger's signature over a manifest of its own.
        put(dir.path(), "good", "log_freshness-9.9.9");
        let m = std::fs::read_to_string(dir.path().join("log_freshness-9.9.9.json")).unwrap();
        std::fs::write(
            dir.path().join("log_freshness-9.9.9.json"),
            m.replace("1.2.0", "9.9.9"),
        )
        .unwrap();
        std::fs::write(dir.path().join("half-1.0.0.json"), "{}").unwrap();

        let c = scan(dir.path(), &[publisher()]).unwrap();
        let offered: Vec<String> = c.offered.values().map(|o| o.stem.clone()).collect();
        assert_eq!(offered, ["log_freshness-1.0.0", "log_freshness-1.2.0"]);
        assert_eq!(c.refused.len(), 3, "{:?}", c.refused);
        assert!(
            c.refused[0].starts_with("half-1.0.0.json: manifest is not valid"),
            "{:?}",
            c.refused
        );
        assert_eq!(
            c.refused[1],
            "log_freshness-9.9.9.json: the signature does not verify: the manifest is not what its publisher signed"
        );
        assert_eq!(
            c.refused[2],
            "misnamed.json: holds other_plugin 1.2.0: name its files other_plugin-1.2.0.json, other_plugin-1.2.0.json.minisig and other_plugin-1.2.0.wasm"
        );
        assert!(c.serves("log_freshness-1.2.0.wasm"));
        assert!(c.serves("log_freshness-1.2.0.json.minisig"));
        assert!(!c.serves("misnamed.wasm"));
        assert!(!c.serves("log_freshness-1.2.0.wasm.bak"));

        // Without publisher keys, the daemon still checks each .wasm against its manifest.
        std::fs::write(dir.path().join("log_freshness-1.0.0.wasm"), b"other bytes").unwrap();
        let c = scan(dir.path(), &[]).unwrap();
        assert!(c.get("log_freshness", &"1.0.0".parse().unwrap()).is_none());
        assert!(c.get("log_freshness", &"9.9.9".parse().unwrap()).is_some());
    }
}
