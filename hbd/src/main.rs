//! The `hbd` binary: command line, config loading, daemonizing and signal handling.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use hbd::app::{self, Sockets};
use hbd::config::Severity;

/// mimalloc: the receive path allocates per datagram on one thread and frees on
/// another (the journal's), which glibc's allocator serves slowly.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// hbd: host-monitoring daemon. Receives heartbeats and plugin reports from hbc agents.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (YAML). Without one, ~/.hb.yaml if it exists, else built-in
    /// defaults.
    #[arg(short, long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Stay in the foreground (as under systemd); otherwise detach.
    #[arg(short, long)]
    foreground: bool,
    /// More log output (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the configuration, print every problem, exit 1 if any is an error.
    CheckConfig,
    /// Make a password hash for `users.NAME.password`: asks twice without echo (reads
    /// two lines from standard input when it is not a terminal) and prints the hash.
    Passwd {
        /// The user (for the prompt and the hint only).
        name: String,
        /// PBKDF2-SHA256 iterations.
        #[arg(long, default_value_t = hbd::auth::password::DEFAULT_ITERATIONS)]
        iterations: u32,
    },
    /// Print the completion script for a shell (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), for `man -l -` or man8/hbd.8.
    Manpage,
    /// Ask the running daemon (at the config's hbd_host and hbd_port) whether it
    /// answers: exit 0 when `/healthz` says so, else 1 with why (a container's
    /// HEALTHCHECK, a service probe).
    Health {
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 5.0)]
        timeout: f64,
    },
    /// Copy the state database (`state_db`) to FILE, consistently, while the daemon
    /// runs: SQLite's online backup, not a file copy. FILE must not exist.
    Backup {
        /// Where the copy goes.
        file: PathBuf,
    },
    /// Put a backup in place of the state database. Stop the daemon first; a damaged
    /// backup, or one a newer hbd made, is refused and the state left as it was.
    Restore {
        /// The backup.
        file: PathBuf,
    },
}

/// Writes generated text to standard output (a closed pipe is not an error).
fn print_out(bytes: &[u8]) -> ExitCode {
    use std::io::Write;
    match std::io::stdout().write_all(bytes) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot write: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::CheckConfig) => check_config(cli.config),
        Some(Command::Completions { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "hbd", &mut script);
            print_out(&script)
        }
        Some(Command::Manpage) => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(Cli::command())
                .section("8")
                .render(&mut page)
            {
                Ok(()) => print_out(&page),
                Err(error) => {
                    eprintln!("hbd manpage: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Health { timeout }) => health(cli.config, timeout),
        Some(Command::Backup { file }) => state_copy("backup", cli.config, |state| {
            hbd::store::backup::backup(state, &file)
        }),
        Some(Command::Restore { file }) => state_copy("restore", cli.config, |state| {
            hbd::store::backup::restore(&file, state)
        }),
        Some(Command::Passwd { name, iterations }) => match passwd(&name, iterations) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("hbd passwd: {error:#}");
                ExitCode::FAILURE
            }
        },
        None => match run(cli) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("hbd: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Reads one line; on a terminal without echo.
fn read_secret(prompt: &str) -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    let saved = if terminal {
        eprint!("{prompt}");
        std::io::stderr().flush()?;
        use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
        let saved = tcgetattr(&stdin).context("cannot read the terminal settings")?;
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        tcsetattr(&stdin, SetArg::TCSANOW, &quiet).context("cannot turn echo off")?;
        Some(saved)
    } else {
        None
    };
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(saved) = saved {
        let _ = nix::sys::termios::tcsetattr(&stdin, nix::sys::termios::SetArg::TCSANOW, &saved);
        eprintln!();
    }
    if read? == 0 {
        anyhow::bail!("no password given (end of input)");
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn passwd(name: &str, iterations: u32) -> anyhow::Result<()> {
    let first = read_secret(&format!("New password for {name}: "))?;
    let second = read_secret("Again: ")?;
    if first != second {
        anyhow::bail!("the two passwords differ; nothing printed");
    }
    if first.is_empty() {
        anyhow::bail!("an empty password is refused");
    }
    let hash = hbd::auth::password::hash(&first, iterations)
        .map_err(|e| anyhow::anyhow!("no random salt: {e}"))?;
    eprintln!("Paste into the config as users.{name}.password:");
    println!("{hash}");
    Ok(())
}

/// The config file to read: `-c FILE`, else `~/.hb.yaml` when it exists (where the
/// original daemon looks), else none (built-in defaults).
fn config_path(given: Option<PathBuf>) -> Option<PathBuf> {
    given.or_else(|| {
        let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
        let default = PathBuf::from(home).join(".hb.yaml");
        default.is_file().then_some(default)
    })
}

/// `hbd health`: the daemon's `/healthz`, at the address its config gives.
fn health(config: Option<PathBuf>, timeout: f64) -> ExitCode {
    let loaded = match hbd::reload::load(config_path(config).as_deref()) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("hbd health: {error}");
            return ExitCode::FAILURE;
        }
    };
    let url = hbd::health::url(&loaded.config);
    let timeout = std::time::Duration::try_from_secs_f64(timeout)
        .unwrap_or(std::time::Duration::from_secs(5));
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hbd health: no runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(hbd::health::probe(&url, timeout)) {
        Ok(()) => {
            println!("hbd health: {url}: ok");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("hbd health: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `hbd backup` and `hbd restore`: the configured `state_db`, and what was done to it.
fn state_copy(
    what: &str,
    config: Option<PathBuf>,
    act: impl FnOnce(
        &std::path::Path,
    ) -> Result<hbd::store::backup::Copied, hbd::store::backup::BackupError>,
) -> ExitCode {
    let loaded = match hbd::reload::load(config_path(config).as_deref()) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("hbd {what}: {error}");
            return ExitCode::FAILURE;
        }
    };
    match act(&loaded.config.state_db) {
        Ok(done) => {
            println!(
                "hbd {what}: {} written ({} bytes, schema version {}) in {:.1} s",
                done.path.display(),
                done.bytes,
                done.version,
                done.took.as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("hbd {what}: {error}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(path: Option<PathBuf>) -> ExitCode {
    let path = config_path(path);
    match hbd::reload::load(path.as_deref()) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                println!("{warning}");
            }
            let source =
                path.map_or_else(|| "built-in defaults".into(), |p| p.display().to_string());
            // Every message as each channel and target would send it, from samples of
            // every kind (the reader checked each override against its own kind).
            let mut channels: Vec<String> = hbd::notify::test_send::names(&loaded.config)
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            if channels.is_empty() {
                // No channel yet: the messages email would send.
                channels.push("email".to_owned());
            }
            let names: Vec<&str> = channels.iter().map(String::as_str).collect();
            let messages = hbd::messages::Messages::new(&loaded.config.notify.messages)
                .and_then(|m| m.check(&names));
            match messages {
                Ok(n) => println!(
                    "messages: {n} sample notifications rendered ({} template override(s))",
                    loaded.config.notify.messages.len()
                ),
                Err(e) => {
                    println!("{e}");
                    println!("1 error(s): configuration refused");
                    return ExitCode::FAILURE;
                }
            }
            println!(
                "{source}: configuration OK ({} warning(s))",
                loaded.warnings.len()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            for problem in &error.problems {
                println!("{problem}");
            }
            let errors = error
                .problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .count();
            println!("{errors} error(s): configuration refused");
            ExitCode::FAILURE
        }
    }
}

fn run(mut cli: Cli) -> anyhow::Result<()> {
    cli.config = config_path(cli.config.take());
    let loaded = hbd::reload::load(cli.config.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let config = Arc::new(loaded.config);
    // Bind before detaching so a busy port is reported on the terminal.
    let sockets = Sockets::bind(&config)?;
    if !cli.foreground {
        nix::unistd::daemon(true, false)
            .context("cannot detach (use -f to stay in the foreground)")?;
    }
    hbd::logging::init(cli.verbose, config.logfile.as_deref())
        .with_context(|| format!("cannot open log file {:?}", config.logfile))?;
    match &cli.config {
        Some(path) => tracing::info!(file = %path.display(), "configuration read"),
        None => tracing::info!("no configuration file (-c, ~/.hb.yaml): built-in defaults"),
    }
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        app::run(config, cli.config.clone(), sockets, shutdown).await
    })?;
    Ok(())
}

async fn stop_on_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!(signal = "SIGTERM", "stopping"),
        _ = int.recv() => tracing::info!(signal = "SIGINT", "stopping"),
    }
    shutdown.cancel();
}
