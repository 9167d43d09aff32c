//! Applying what the daemon says to run: fetch each artifact's files the agent does not
//! hold yet, run every check of [`hb_artifact::verify`] on them (with the name and
//! version asked for, this agent's trust and the versions it ran), then load each (the
//! compiler runs here, for verified code only) with the operator's settings. The set
//! is applied whole or not at all: one refusal leaves the previous set running.

use std::path::Path;
use std::time::Duration;

use hb_artifact::desired::{DesiredPlugin, Settings};
use hb_artifact::{Manifest, RanVersions, Trust};

use super::state::file;
use crate::config::WasmPluginConfig;
use crate::plugins::Plugin;
use crate::plugins::scheduler::Entry;
use crate::wasm::{Runtime, WasmPlugin};
use crate::wasm_loader::settings as wasm_settings;

/// Longest time one download may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(120);

/// Why one artifact was not applied: its name and version, a reason word (the
/// artifact check's, or `fetch`, `settings`, `load`) and the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `name version`.
    pub artifact: String,
    /// A short word.
    pub reason: &'static str,
    /// What happened.
    pub detail: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.artifact, self.detail, self.reason)
    }
}

fn failure(plugin: &DesiredPlugin, reason: &'static str, detail: impl Into<String>) -> Failure {
    Failure {
        artifact: format!("{} {}", plugin.name, plugin.version),
        reason,
        detail: detail.into(),
    }
}

/// A path the daemon names for a file: absolute on its HTTP port, nothing that could
/// leave it (`//other.host`, spaces, `..`).
fn safe_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains("..")
        && path.bytes().all(|b| b.is_ascii_graphic())
}

/// Makes sure `dir` holds the artifact's three files and they pass every check; the
/// verified manifest. A local copy that fails is fetched again once.
pub async fn fetch_and_verify(
    base: &str,
    dir: &Path,
    plugin: &DesiredPlugin,
    trust: &Trust,
    ran: &RanVersions,
) -> Result<Manifest, Failure> {
    if !hb_artifact::manifest::valid_name(&plugin.name)
        || ![
            &plugin.files.wasm,
            &plugin.files.manifest,
            &plugin.files.signature,
        ]
        .iter()
        .all(|p| safe_path(p))
    {
        return Err(failure(
            plugin,
            "fetch",
            "the daemon named a bad name or path",
        ));
    }
    if plugin.size > trust.ceiling.max_size {
        return Err(failure(
            plugin,
            "too_large",
            format!(
                "{} bytes, this agent takes at most {}",
                plugin.size, trust.ceiling.max_size
            ),
        ));
    }
    if let Ok(manifest) = check_local(dir, plugin, trust, ran) {
        return Ok(manifest);
    }
    let url = |path: &str| format!("{}{path}", base.trim_end_matches('/'));
    let fetch_err = |e: crate::fetch::DownloadError| failure(plugin, "fetch", e.to_string());
    let (_, manifest) = crate::fetch::fetch_bytes(
        &url(&plugin.files.manifest),
        hb_artifact::manifest::MAX_MANIFEST_BYTES as u64,
        FETCH_TIMEOUT,
    )
    .await
    .map_err(fetch_err)?;
    let (_, signature) = crate::fetch::fetch_bytes(
        &url(&plugin.files.signature),
        hb_artifact::verify::MAX_SIGNATURE_BYTES as u64,
        FETCH_TIMEOUT,
    )
    .await
    .map_err(fetch_err)?;
    let wasm = file(dir, plugin, "wasm");
    let _ = std::fs::remove_file(&wasm);
    crate::fetch::download(
        &url(&plugin.files.wasm),
        &wasm,
        plugin.size,
        &plugin.sha256,
        FETCH_TIMEOUT,
    )
    .await
    .map_err(fetch_err)?;
    let write = |suffix: &str, bytes: &[u8]| {
        std::fs::write(file(dir, plugin, suffix), bytes)
            .map_err(|e| failure(plugin, "fetch", format!("cannot keep it: {e}")))
    };
    write("json", &manifest)?;
    write("json.minisig", &signature)?;
    check_local(dir, plugin, trust, ran).inspect_err(|_| {
        // Refused code is not kept.
        for suffix in ["wasm", "json", "json.minisig"] {
            let _ = std::fs::remove_file(file(dir, plugin, suffix));
        }
    })
}

/// Every check on the files in `dir`, as the daemon named them.
pub fn check_local(
    dir: &Path,
    plugin: &DesiredPlugin,
    trust: &Trust,
    ran: &RanVersions,
) -> Result<Manifest, Failure> {
    let read = |suffix: &str| {
        std::fs::read(file(dir, plugin, suffix))
            .map_err(|e| failure(plugin, "fetch", e.to_string()))
    };
    let (manifest, signature, wasm) = (read("json")?, read("json.minisig")?, read("wasm")?);
    let checked = hb_artifact::verify(
        &manifest,
        &signature,
        &wasm,
        Some((&plugin.name, &plugin.version)),
        trust,
        ran,
    )
    .map_err(|e| failure(plugin, e.reason(), e.to_string()))?;
    if checked.sha256 != plugin.sha256 {
        return Err(failure(
            plugin,
            "digest",
            "the daemon named another digest than the signed manifest",
        ));
    }
    if let Some(why) = plugin.settings.exceeds(&checked.capabilities) {
        return Err(failure(plugin, "settings", why));
    }
    Ok(checked)
}

/// The plugin settings for a verified artifact: the operator's, and where they say
/// nothing, the most the manifest allows for time and memory.
fn settings_of(manifest: &Manifest, s: &Settings) -> WasmPluginConfig {
    WasmPluginConfig {
        interval: s.interval,
        config: s.config.clone(),
        grants: s.grants.clone(),
        timeout_ms: Some(s.timeout_ms.unwrap_or(manifest.capabilities.timeout_ms)),
        memory_mb: Some(s.memory_mb.unwrap_or(manifest.capabilities.memory_mb)),
        enabled: None,
        net: s.net.clone(),
        connections: Some(manifest.capabilities.connections()),
    }
}

/// Loads a verified artifact from `dir` (blocking: compiles it if the cache does not
/// hold it yet). It must describe itself as its manifest says, speak the manifest's
/// contract, and not share a name with a plugin of this agent's own. It never connects
/// to what the agent denies.
pub fn load(
    runtime: &Runtime,
    dir: &Path,
    plugin: &DesiredPlugin,
    manifest: &Manifest,
    taken: &[String],
    deny: &[hb_artifact::net::Destination],
) -> Result<Entry, Failure> {
    if taken.contains(&plugin.name) {
        return Err(failure(
            plugin,
            "load",
            "a plugin of this agent's own config has that name",
        ));
    }
    let load_err = |e: &dyn std::fmt::Display| failure(plugin, "load", e.to_string());
    let mut loaded = WasmPlugin::load(
        runtime,
        &file(dir, plugin, "wasm"),
        crate::wasm::WasmSettings::default(),
    )
    .map_err(|e| load_err(&e))?;
    if loaded.name() != manifest.name {
        return Err(load_err(&format!(
            "describes itself as {}, its manifest says {}",
            loaded.name(),
            manifest.name
        )));
    }
    let contract = format!("hbd:plugin@{}", loaded.contract());
    if contract != manifest.contract {
        return Err(load_err(&format!(
            "speaks {contract}, its manifest says {}",
            manifest.contract
        )));
    }
    let mut settings =
        wasm_settings(Some(&settings_of(manifest, &plugin.settings))).map_err(|e| load_err(&e))?;
    settings.deny = deny.to_vec();
    loaded
        .configure(settings.clone())
        .map_err(|e| load_err(&e))?;
    let floor = Duration::from_secs_f64(manifest.capabilities.min_interval_s);
    if loaded.interval() < floor {
        settings.interval = Some(floor);
        loaded.configure(settings).map_err(|e| load_err(&e))?;
    }
    tracing::info!(plugin = %loaded.description(), version = %plugin.version, "managed plugin loaded");
    let (interval, timeout) = (loaded.interval(), loaded.timeout());
    Ok(Entry::new(Box::new(loaded), interval, timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_the_daemons_port_are_fetched() {
        // (path, fetched?)
        let cases = [
            ("/artifacts/x-1.0.0.wasm", true),
            ("//evil.example/x.wasm", false),
            ("/artifacts/../keys", false),
            ("artifacts/x.wasm", false),
            ("/a b", false),
            ("/artifacts/x@evil.example", true), // still a path on the daemon
        ];
        for (path, ok) in cases {
            assert_eq!(safe_path(path), ok, "{path}");
        }
    }

    #[test]
    fn unset_limits_are_the_manifests_set_ones_the_operators() {
        let manifest =
            Manifest::parse(include_bytes!("../../../artifact/tests/fixtures/good.json")).unwrap();
        let got = settings_of(&manifest, &Settings::default());
        assert_eq!((got.timeout_ms, got.memory_mb), (Some(1000), Some(32)));
        let got = settings_of(
            &manifest,
            &Settings {
                timeout_ms: Some(200),
                memory_mb: Some(8),
                interval: Some(60.0),
                ..Settings::default()
            },
        );
        assert_eq!(
            (got.timeout_ms, got.memory_mb, got.interval),
            (Some(200), Some(8), Some(60.0))
        );
    }
}
