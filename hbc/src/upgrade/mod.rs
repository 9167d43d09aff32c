//! Self-upgrade (`UPD`): the agent downloads the release the daemon names, installs it
//! only if its size and SHA-256 are the ones the signed `UPD` carries, runs it once to
//! see it start and accept this agent's config, swaps it in with one rename, and
//! executes it in its own place. The new binary reports the upgrade after its first
//! heartbeat; if it dies before that, the next start puts the old one back. A release
//! that carries its plugin compiler (`hbc-compile`) has it downloaded, checked and
//! probed the same way and put beside the agent before the new agent is probed (whose
//! `check-config` compiles with it), and put back with the agent. Nothing here runs
//! unless `commands.upgrade` is on and the `UPD` came signed, recent and new
//! ([`crate::commands::decide_update`]).
//!
//! - [`error`]: why a step failed, as reported.
//! - [`install`]: probe, swap, roll back, execute.
//! - [`marker`]: the record that carries an upgrade across the execution.

pub mod error;
pub mod install;
pub mod marker;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::commands::Outcome;
pub use error::UpgradeError;
use marker::{CompilerSwap, Marker, OnStart, Stage};

/// Longest a download may take.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);
/// The exit code reported for an upgrade that failed (the reason is the output).
pub const FAILED: i32 = 1;

/// This binary's platform as heartbeats report it (`x86_64-linux`): which release file
/// the daemon picks.
pub fn platform() -> String {
    format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)
}

/// What an agent needs to know about itself to upgrade.
#[derive(Debug, Clone)]
pub struct Context {
    /// Its binary.
    pub exe: PathBuf,
    /// Its command line, to start the new binary with.
    pub args: Vec<OsString>,
    /// The config file it read, for the new binary's `check-config`.
    pub config: Option<PathBuf>,
    /// Where the upgrade record lives (beside the command ledger).
    pub marker: PathBuf,
    /// The daemon host heartbeats go to; downloads go there unless the `UPD` has a URL.
    pub server: String,
}

impl Context {
    /// The running agent's context; `None` if its own binary cannot be found.
    pub fn current(ledger: &Path, config: Option<PathBuf>, server: &str) -> Option<Context> {
        let exe = std::env::current_exe()
            .map_err(|e| tracing::warn!(error = %e, "own binary not found: upgrades refused"))
            .ok()?;
        Some(Context {
            exe,
            args: std::env::args_os().collect(),
            config,
            marker: ledger.with_file_name("upgrade.json"),
            server: server.to_owned(),
        })
    }
}

/// An agent's upgrades at start: what upgrading needs (none: refused), and the result of
/// an upgrade in progress to report after the first heartbeat.
#[derive(Debug, Default)]
pub struct Resume {
    /// What upgrading needs.
    pub context: Option<Context>,
    /// `(cmd_id, result)` to report.
    pub report: Option<(String, Outcome)>,
}

impl Resume {
    /// For an agent whose `commands.upgrade` is `on`, reading `config` and sending to
    /// `server`: carries out what [`at_start`] finds (which may roll back and execute
    /// the old binary).
    pub fn start(on: bool, ledger: &Path, config: Option<PathBuf>, server: &str) -> Resume {
        if !on {
            return Resume::default();
        }
        let context = Context::current(ledger, config, server);
        let report = context.as_ref().and_then(at_start);
        Resume { context, report }
    }
}

fn failed(output: String) -> Outcome {
    Outcome {
        exit_code: FAILED,
        output,
    }
}

/// Where to download a file of an `UPD`: its `url`, else its `path` on `port` of
/// `server`.
fn file_url(
    file: &hb_proto::UpdateFile,
    port: Option<u16>,
    server: &str,
) -> Result<String, UpgradeError> {
    if let Some(url) = &file.url {
        return Ok(url.clone());
    }
    let port = port.ok_or(UpgradeError::NoSource)?;
    let path = &file.path;
    if !path.starts_with('/') {
        return Err(UpgradeError::RelativePath(path.clone()));
    }
    let host = match server.contains(':') && !server.starts_with('[') {
        true => format!("[{server}]"),
        false => server.to_owned(),
    };
    Ok(format!("http://{host}:{port}{path}"))
}

/// Downloads `file` of `upd` beside `replaces` (the file it is to replace, so the swap
/// is one rename), checked against its size and SHA-256; returns where it is.
async fn fetch_beside(
    ctx: &Context,
    upd: &hb_proto::Update,
    file: &hb_proto::UpdateFile,
    replaces: &Path,
) -> Result<PathBuf, UpgradeError> {
    let url = file_url(file, upd.port, &ctx.server)?;
    let dest = install::download_path(replaces, &upd.cmd_id);
    let _ = std::fs::remove_file(&dest); // a leftover of an interrupted attempt
    tracing::info!(cmd_id = %upd.cmd_id, %url, size = file.size, replaces = %replaces.display(), "downloading upgrade");
    crate::fetch::download(&url, &dest, file.size, &file.sha256, DOWNLOAD_TIMEOUT).await?;
    Ok(dest)
}

/// Downloads, checks, probes and swaps in the release `upd` names (and its compiler).
/// On success the new binary is in place and the returned record says so; [`restart`]
/// executes it.
pub async fn prepare(ctx: &Context, upd: &hb_proto::Update) -> Result<Marker, UpgradeError> {
    install::check_writable(&ctx.exe)?;
    let dest = fetch_beside(ctx, upd, &upd.file, &ctx.exe).await?;
    let compiler = match &upd.compiler {
        None => None,
        Some(c) => match fetch_beside(ctx, upd, c, &install::compiler_of(&ctx.exe)).await {
            Ok(path) => Some(path),
            Err(e) => {
                let _ = std::fs::remove_file(&dest);
                return Err(e);
            }
        },
    };
    let (ctx, upd) = (ctx.clone(), upd.clone());
    tokio::task::spawn_blocking(move || {
        let installed = install_both(&ctx, &upd, &dest, compiler.as_deref());
        if installed.is_err() {
            let _ = std::fs::remove_file(&dest);
            if let Some(c) = &compiler {
                let _ = std::fs::remove_file(c);
            }
        }
        installed
    })
    .await
    .map_err(|e| UpgradeError::Task(e.to_string()))?
}

/// Puts the new compiler in (if any) once it says the right version, then probes the
/// new agent, whose `check-config` compiles plugins with the compiler beside it (so with
/// the new one, which a new wasmtime needs), then swaps the agent in. Whatever fails
/// after the compiler went in puts it back.
fn install_both(
    ctx: &Context,
    upd: &hb_proto::Update,
    agent: &Path,
    compiler: Option<&Path>,
) -> Result<Marker, UpgradeError> {
    let compiler = match (compiler, &upd.compiler) {
        (Some(candidate), Some(announced)) => {
            let line = install::probe_compiler(candidate, upd.version.as_deref())?;
            tracing::info!(cmd_id = %upd.cmd_id, new = %line, "new hbc-compile probed");
            let path = install::compiler_of(&ctx.exe);
            let previous = install::swap_or_place(candidate, &path)?;
            Some(CompilerSwap {
                path,
                previous,
                sha256: announced.sha256.to_ascii_lowercase(),
            })
        }
        _ => None,
    };
    let swapped = install::probe(agent, upd.version.as_deref(), ctx.config.as_deref())
        .map_err(UpgradeError::from)
        .and_then(|line| {
            tracing::info!(cmd_id = %upd.cmd_id, new = %line, "new binary probed");
            install::swap(agent, &ctx.exe)
        });
    let previous = match swapped {
        Ok(previous) => previous,
        Err(e) => {
            return Err(match compiler.as_ref().map(undo_compiler) {
                Some(Err(back)) => UpgradeError::Also(Box::new(e), Box::new(back)),
                _ => e,
            });
        }
    };
    Ok(Marker {
        cmd_id: upd.cmd_id.clone(),
        from_version: env!("CARGO_PKG_VERSION").to_owned(),
        to_version: upd.version.clone().unwrap_or_else(|| "?".into()),
        sha256: upd.file.sha256.to_ascii_lowercase(),
        exe: ctx.exe.clone(),
        previous,
        stage: Stage::Swapped,
        compiler,
    })
}

/// Puts the compiler an upgrade replaced back (or removes the one it added).
fn undo_compiler(c: &CompilerSwap) -> Result<(), UpgradeError> {
    install::unswap(c.previous.as_deref(), &c.path)
}

/// Puts back what `marker` swapped in: the agent's old binary and its compiler.
fn roll_back(marker: &Marker) -> Result<(), UpgradeError> {
    let agent = install::rollback(&marker.previous, &marker.exe);
    let compiler = marker.compiler.as_ref().map_or(Ok(()), undo_compiler);
    match (agent, compiler) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(e), Ok(())) | (Ok(()), Err(e)) => Err(e),
        (Err(a), Err(c)) => Err(UpgradeError::Also(Box::new(a), Box::new(c))),
    }
}

/// Records the swap and executes the new binary in this process's place. Returns only
/// if that failed, with the old binary back in place: the result to report.
pub fn restart(ctx: &Context, marker: &Marker) -> Outcome {
    let why = match marker.save(&ctx.marker) {
        Err(e) => e.to_string(),
        Ok(()) => {
            tracing::info!(cmd_id = %marker.cmd_id, to = %marker.to_version, exe = %ctx.exe.display(), "starting the new binary");
            install::exec(&ctx.exe, &install::restart_args(&ctx.args))
        }
    };
    let back = roll_back(marker);
    Marker::remove(&ctx.marker);
    tracing::error!(reason = %why, "upgrade failed; the old binary stays");
    failed(match back {
        Ok(()) => format!("{why}; the old binary stays"),
        Err(e) => format!("{why}; and {e}"),
    })
}

/// At start, what an upgrade in progress asks for. A rollback happens here (the old
/// binary goes back and is executed, so this returns only if that failed). Otherwise
/// the result to report once the first heartbeat is out, if any.
pub fn at_start(ctx: &Context) -> Option<(String, Outcome)> {
    let marker = match Marker::load(&ctx.marker) {
        Ok(m) => m?,
        Err(e) => {
            tracing::warn!(error = %e, "upgrade record unreadable; ignored");
            return None;
        }
    };
    let running = hb_proto::digest::sha256_file(Path::new("/proc/self/exe"))
        .or_else(|_| hb_proto::digest::sha256_file(&ctx.exe))
        .unwrap_or_default();
    let report = |outcome| Some((marker.cmd_id.clone(), outcome));
    match marker::on_start(Some(&marker), &running) {
        OnStart::Nothing => None,
        OnStart::Confirm => {
            let started = Marker {
                stage: Stage::Started,
                ..marker.clone()
            };
            if let Err(e) = started.save(&ctx.marker) {
                tracing::warn!(error = %e, "upgrade start not recorded");
            }
            let mut output = format!(
                "upgraded from hbc {} to hbc {} (sha256 {})",
                marker.from_version, marker.to_version, running
            );
            if let Some(c) = &marker.compiler {
                let installed = hb_proto::digest::sha256_file(&c.path)
                    .unwrap_or_else(|e| format!("unreadable: {e}"));
                output.push_str(&format!(
                    ", and hbc-compile {} beside it (sha256 {installed})",
                    marker.to_version
                ));
            }
            report(Outcome {
                exit_code: 0,
                output,
            })
        }
        OnStart::RollBack(reason) => {
            tracing::error!(%reason, "rolling back the upgrade");
            if let Err(e) = roll_back(&marker) {
                return report(failed(format!("{reason}, but {e}")));
            }
            let back = Marker {
                stage: Stage::RolledBack {
                    reason: reason.clone(),
                },
                ..marker.clone()
            };
            if let Err(e) = back.save(&ctx.marker) {
                tracing::warn!(error = %e, "rollback not recorded");
            }
            let why = install::exec(&marker.exe, &install::restart_args(&ctx.args));
            report(failed(format!("{reason}, but {why}")))
        }
        OnStart::ReportFailure(reason) => report(failed(reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_download_url_comes_from_the_upd_or_the_server() {
        let upd = |url: Option<&str>, port: Option<u16>, path: &str| hb_proto::Update {
            file: hb_proto::UpdateFile {
                url: url.map(str::to_owned),
                path: path.into(),
                ..Default::default()
            },
            port,
            ..Default::default()
        };
        let cases = [
            (
                upd(None, Some(8080), "/releases/hbc-1-x86_64-linux"),
                "hbd.example",
                Ok("http://hbd.example:8080/releases/hbc-1-x86_64-linux"),
            ),
            (
                upd(None, Some(80), "/r/f"),
                "::1",
                Ok("http://[::1]:80/r/f"),
            ),
            (
                upd(Some("http://mirror/f"), Some(80), "/r/f"),
                "hbd",
                Ok("http://mirror/f"),
            ),
            (upd(None, None, "/r/f"), "hbd", Err("neither a URL nor")),
            (upd(None, Some(80), "r/f"), "hbd", Err("not absolute")),
        ];
        for (u, server, want) in cases {
            match (file_url(&u.file, u.port, server), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want),
                (Err(got), Err(want)) => assert!(got.to_string().contains(want), "{got}"),
                (got, want) => panic!("{got:?} against {want:?}"),
            }
        }
    }

    #[test]
    fn the_platform_is_arch_and_os() {
        assert_eq!(platform(), format!("{}-linux", std::env::consts::ARCH));
    }
}
