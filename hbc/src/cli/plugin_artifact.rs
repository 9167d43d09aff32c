//! `hbc plugin manifest` and `hbc plugin verify`: the publisher's side of signed plugin
//! artifacts. `manifest` loads a plugin the way the agent does (so it compiles) and
//! writes the manifest to sign, naming its exact bytes, its contract and the
//! capabilities asked for; the publisher signs it with `minisign -Sm` on a machine of
//! their own. `verify` runs every check an agent runs before compiling an artifact,
//! against an agent's `plugin_trust`, and prints the verdict.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

/// What `hbc plugin manifest` is asked for.
pub struct ManifestArgs {
    /// The plugin's `.wasm`.
    pub file: PathBuf,
    /// Its version (default: what its `describe` says).
    pub version: Option<String>,
    /// Paths it may be granted.
    pub grant: Vec<PathBuf>,
    /// Memory per instance, MiB.
    pub memory_mb: u64,
    /// Time per call, ms.
    pub timeout_ms: u64,
    /// The shortest interval, seconds.
    pub min_interval: f64,
    /// Where it may connect.
    pub net: Vec<hb_artifact::net::Destination>,
    /// Connections per call.
    pub connections: Option<u32>,
    /// One line for people.
    pub description: Option<String>,
}

/// `hbc plugin manifest FILE [--version V] [--grant PATH]... [...]`: prints the manifest.
pub fn plugin_manifest(args: ManifestArgs) -> ExitCode {
    super::logging::init(0, false);
    match manifest(args) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("hbc plugin manifest: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn manifest(args: ManifestArgs) -> anyhow::Result<String> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let scratch = super::plugin_check::Scratch::new()?;
    let runtime =
        hbc::wasm::Runtime::new(Some(scratch.0.clone())).map_err(|e| anyhow::anyhow!("{e}"))?;
    let plugin =
        hbc::wasm::WasmPlugin::load(&runtime, &args.file, hbc::wasm::WasmSettings::default())?;
    let version = args.version.as_deref().unwrap_or(plugin.version());
    let version: semver::Version = version.parse().with_context(|| {
        format!("version {version:?} is not a semantic version (1.2.0); give --version")
    })?;
    let manifest = hb_artifact::Manifest {
        hbd_artifact: hb_artifact::manifest::FORMAT,
        name: hbc::plugins::Plugin::name(&plugin).to_owned(),
        version,
        sha256: hb_proto::digest::hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
        size: bytes.len() as u64,
        contract: format!("hbd:plugin@{}", plugin.contract()),
        capabilities: hb_artifact::Capabilities {
            grants: args.grant,
            memory_mb: args.memory_mb,
            timeout_ms: args.timeout_ms,
            min_interval_s: args.min_interval,
            net: args.net,
            connections: args.connections,
        },
        description: args.description,
    };
    manifest.check().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(manifest.render())
}

/// What `hbc plugin verify` is asked for.
pub struct VerifyArgs {
    /// The plugin's `.wasm`.
    pub file: PathBuf,
    /// Its manifest (default: FILE with `.json` for `.wasm`).
    pub manifest: Option<PathBuf>,
    /// The manifest's signature (default: the manifest's name and `.minisig`).
    pub signature: Option<PathBuf>,
    /// The agent config whose `plugin_trust` to check against.
    pub config: Option<PathBuf>,
    /// Publisher keys trusted besides the config's.
    pub publisher: Vec<String>,
}

/// `hbc plugin verify FILE [--manifest M] [--signature S] [-c CONFIG] [--publisher KEY]`.
pub fn plugin_verify(args: VerifyArgs) -> ExitCode {
    match verify(args) {
        Ok(Ok(text)) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Ok(Err(refusal)) => {
            println!("refused ({}): {refusal}", refusal.reason());
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("hbc plugin verify: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn verify(args: VerifyArgs) -> anyhow::Result<Result<String, hb_artifact::Refusal>> {
    let manifest = args
        .manifest
        .unwrap_or_else(|| args.file.with_extension("json"));
    let signature = args.signature.unwrap_or_else(|| {
        let mut name = manifest.clone().into_os_string();
        name.push(".minisig");
        PathBuf::from(name)
    });
    let mut trust = match args.config.or_else(hbc::config::AgentConfig::default_path) {
        Some(path) => {
            hbc::config::AgentConfig::load(&path)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .config
                .plugin_trust
        }
        None => hbc::config::default_trust(),
    };
    for key in &args.publisher {
        trust.publishers.push(
            hb_artifact::Publisher::new(key).map_err(|e| anyhow::anyhow!("--publisher: {e}"))?,
        );
    }
    let verdict = hb_artifact::verify(
        &read(&manifest)?,
        &read(&signature)?,
        &read(&args.file)?,
        None,
        &trust,
        &hb_artifact::RanVersions::default(),
    );
    Ok(verdict.map(|m| {
        let grants: Vec<String> = m
            .capabilities
            .grants
            .iter()
            .map(|g| g.display().to_string())
            .collect();
        format!(
            "OK: {} {} ({}), signed by a trusted publisher; may read [{}], {} MiB, {} ms per call, every {} s at most",
            m.name,
            m.version,
            m.contract,
            grants.join(", "),
            m.capabilities.memory_mb,
            m.capabilities.timeout_ms,
            m.capabilities.min_interval_s
        )
    }))
}
