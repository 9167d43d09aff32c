//! The `hbc` binary: command line, config, detaching, logging and signal handling.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Parser;
use tokio_util::sync::CancellationToken;

use hbc::config::AgentConfig;
use hbc::heartbeat::{self, Identity};
use hbc::host_facts;
use hbc::link::Link;
use hbc::plugins::scheduler;

/// hbc: the hbd agent. Sends heartbeats (and plugin reports) to an hbd daemon over UDP.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Detach and log to syslog (a systemd unit runs hbc in the foreground instead).
    #[arg(short = 'd', long)]
    detach: bool,
    /// Configuration file (default ~/.hbc.yaml when it exists).
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Send a BOOT message first (run from a boot-time unit).
    #[arg(long)]
    boot: bool,
    /// Send this one-off message and exit.
    #[arg(short, long, value_name = "TEXT")]
    message: Option<String>,
    /// More log output (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
    /// The daemon: HOST or HOST:PORT (default: `server` from the config).
    server: Option<String>,
}

fn main() -> ExitCode {
    #[cfg(feature = "wasm")]
    if std::env::args().nth(1).as_deref() == Some("plugin") {
        return plugin_command();
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hbc: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `hbc plugin check FILE [--config JSON] [--grant PATH]...`: the plugin author's tool.
#[cfg(feature = "wasm")]
#[derive(Debug, Parser)]
#[command(name = "hbc plugin")]
struct PluginCli {
    #[command(subcommand)]
    command: PluginCommand,
}

#[cfg(feature = "wasm")]
#[derive(Debug, clap::Subcommand)]
enum PluginCommand {
    /// Load a WebAssembly plugin, print what it is and one report; exit 1 on any failure.
    Check {
        /// The plugin's .wasm file.
        file: PathBuf,
        /// Settings passed to collect, as a JSON object.
        #[arg(long, value_name = "JSON")]
        config: Option<String>,
        /// A path the plugin may read (repeatable).
        #[arg(long, value_name = "PATH")]
        grant: Vec<PathBuf>,
        /// Time limit per call, ms.
        #[arg(long, default_value_t = 1000)]
        timeout_ms: u64,
        /// Memory limit, MiB.
        #[arg(long, default_value_t = 32)]
        memory_mb: u64,
    },
}

#[cfg(feature = "wasm")]
fn plugin_command() -> ExitCode {
    use hbc::plugins::Plugin;
    let args = std::env::args().skip(1);
    let cli = PluginCli::parse_from(args);
    let PluginCommand::Check {
        file,
        config,
        grant,
        timeout_ms,
        memory_mb,
    } = cli.command;
    init_logging(0, false);
    let run = || -> anyhow::Result<bool> {
        let config: std::collections::BTreeMap<String, serde_json::Value> = match config {
            Some(text) => serde_json::from_str(&text).context("--config must be a JSON object")?,
            None => Default::default(),
        };
        let entry = hbc::config::WasmPluginConfig {
            config,
            grants: grant,
            timeout_ms: Some(timeout_ms),
            memory_mb: Some(memory_mb),
            ..Default::default()
        };
        let settings = hbc::plugins::wasm_loader::settings(Some(&entry))?;
        let runtime = hbc::wasm::Runtime::new(None).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut plugin = hbc::wasm::WasmPlugin::load(&runtime, &file, settings)?;
        println!("{}", plugin.description());
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

/// Splits `host`, `host:port`, `[v6]:port` or a bare IPv6 address.
fn split_server(server: &str, default_port: u16) -> anyhow::Result<(String, u16)> {
    if let Some(rest) = server.strip_prefix('[') {
        let (host, tail) = rest.split_once(']').context("unclosed [ in SERVER")?;
        let port = match tail.strip_prefix(':') {
            Some(p) => p.parse().with_context(|| format!("bad port {p:?}"))?,
            None => default_port,
        };
        return Ok((host.to_owned(), port));
    }
    match server.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Ok((
            host.to_owned(),
            port.parse().with_context(|| format!("bad port {port:?}"))?,
        )),
        _ => Ok((server.to_owned(), default_port)),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config = match cli.config.clone().or_else(AgentConfig::default_path) {
        Some(path) => AgentConfig::load(&path)?,
        None => AgentConfig::default(),
    };
    let Some(server) = cli.server.clone().or_else(|| config.server.clone()) else {
        bail!("no server: give SERVER on the command line or `server` in the config");
    };
    let (host, port) = split_server(&server, config.port)?;
    let name = config.name.clone().unwrap_or_else(host_facts::hostname);
    let key_id = config.key_id.clone().unwrap_or_else(|| name.clone());
    // Plugin options are checked before detaching, so mistakes reach the terminal.
    #[allow(unused_mut)] // without the wasm feature nothing is added
    let mut plugins = scheduler::entries(&config.plugins).context("plugins")?;
    #[cfg(feature = "wasm")]
    plugins
        .extend(hbc::plugins::wasm_loader::entries(&config.wasm_plugins).context("wasm_plugins")?);

    if cli.detach {
        nix::unistd::daemon(true, false).context("cannot detach")?;
    }
    init_logging(cli.verbose, cli.detach);

    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    runtime.block_on(async move {
        let mut link = Link::new(&host, port, config.key.as_deref(), &key_id);
        let mut me = Identity::new(name);
        if let Some(text) = &cli.message {
            let message = me.text(text);
            link.send(&message).await.context("message not sent")?;
            return Ok(());
        }
        if cli.boot {
            let message = me.boot();
            if let Err(error) = link.send(&message).await {
                tracing::warn!(%error, "boot message not sent");
            }
        }
        tracing::info!(server = %host, port, name = %me.name, interval_s = config.interval.as_secs_f64(), signed = config.key.is_some(), "hbc started");
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        let (report_tx, report_rx) = tokio::sync::mpsc::channel(scheduler::QUEUE_LEN);
        let refresh_info = std::sync::Arc::new(tokio::sync::Notify::new());
        tokio::spawn(refresh_on_sigusr1(refresh_info.clone()));
        tokio::spawn(scheduler::run(plugins, report_tx, refresh_info, shutdown.clone()));
        heartbeat::run(link, me, config.interval, report_rx, shutdown).await;
        tracing::info!("hbc stopped");
        Ok(())
    })
}

fn init_logging(verbosity: u8, detached: bool) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let level = match verbosity {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if detached && let Ok(syslog) = hbc::syslog::Syslog::connect("hbc") {
        let _ = builder
            .without_time()
            .with_ansi(false)
            .with_writer(syslog)
            .try_init();
        return;
    }
    let ansi = std::io::stderr().is_terminal();
    let _ = builder
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

/// SIGUSR1 asks for the info plugins (os_info, filesystem_info) to be collected now.
async fn refresh_on_sigusr1(refresh: std::sync::Arc<tokio::sync::Notify>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut usr1) = signal(SignalKind::user_defined1()) else {
        return;
    };
    while usr1.recv().await.is_some() {
        refresh.notify_one();
    }
}

async fn stop_on_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    shutdown.cancel();
}

#[cfg(test)]
mod tests {
    use super::split_server;

    #[test]
    fn server_forms() {
        let cases = [
            ("hbd.example.org", ("hbd.example.org", 50003)),
            ("hbd:6000", ("hbd", 6000)),
            ("127.0.0.1:7", ("127.0.0.1", 7)),
            ("[::1]:9", ("::1", 9)),
            ("::1", ("::1", 50003)),
        ];
        for (input, (host, port)) in cases {
            assert_eq!(
                split_server(input, 50003).unwrap(),
                (host.to_owned(), port),
                "{input}"
            );
        }
        assert!(split_server("h:notaport", 1).is_err());
    }
}
