//! `hbc plugin check`: the WebAssembly plugin author's tool. Loads a plugin the way the
//! agent does (with its compiler, into a scratch cache of its own), prints what it is,
//! the contract version it speaks, the settings it gets and one report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// A directory removed when dropped (`plugin check`'s compile cache).
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new() -> anyhow::Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("hbc-check-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        #[allow(unused_mut)] // only Unix sets a mode
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a check may give the plugin.
pub struct Limits {
    /// Paths it may read.
    pub grant: Vec<PathBuf>,
    /// Time per call, ms.
    pub timeout_ms: u64,
    /// Memory, MiB.
    pub memory_mb: u64,
    /// Where it may connect.
    pub net: Vec<hb_artifact::net::Destination>,
}

/// `hbc plugin check FILE [--config JSON] [--grant PATH]... [--net HOST:PORT]...`: the
/// plugin author's tool.
pub fn plugin_check(
    file: PathBuf,
    settings: Option<String>,
    limits: Limits,
    verbose: u8,
) -> ExitCode {
    let Limits {
        grant,
        timeout_ms,
        memory_mb,
        net,
    } = limits;
    use hbc::plugins::Plugin;
    super::logging::init(verbose, false);
    let run = || -> anyhow::Result<bool> {
        let config: std::collections::BTreeMap<String, serde_json::Value> = match settings {
            Some(text) => serde_json::from_str(&text).context("--config must be a JSON object")?,
            None => Default::default(),
        };
        let entry = hbc::config::WasmPluginConfig {
            config,
            grants: grant,
            timeout_ms: Some(timeout_ms),
            memory_mb: Some(memory_mb),
            net,
            ..Default::default()
        };
        let settings = hbc::wasm_loader::settings(Some(&entry)).map_err(|e| {
            let flag = e.key.replace('_', "-");
            anyhow::anyhow!("--{flag}: expected {}, found {}", e.expected, e.found)
        })?;
        // Compiled into a scratch directory of its own (the agent's compile cache is
        // not this user's to write), removed when the check ends.
        let scratch = Scratch::new()?;
        let runtime =
            hbc::wasm::Runtime::new(Some(scratch.0.clone())).map_err(|e| anyhow::anyhow!("{e}"))?;
        let passed = settings.config.clone();
        let mut plugin = hbc::wasm::WasmPlugin::load(&runtime, &file, settings)?;
        println!("{}", plugin.description());
        println!("contract: hbd:plugin@{}", plugin.contract());
        for (key, value) in &passed {
            println!("config: {key} = {value:?}");
        }
        let started = std::time::Instant::now();
        match plugin.collect() {
            Ok(report) => {
                let json = serde_json::json!({
                    "plugin": plugin.name(),
                    "status": report.status,
                    "duration_ms": started.elapsed().as_secs_f64() * 1000.0,
                    "data": report.data,
                });
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json).unwrap_or_default()
                );
                Ok(true)
            }
            Err(error) => {
                println!("UNKNOWN: {error}");
                Ok(false)
            }
        }
    };
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("hbc plugin check: {error:#}");
            ExitCode::FAILURE
        }
    }
}
