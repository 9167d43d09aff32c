//! The `hbc` binary: the command line, the config, detaching, then the agent
//! (`hbc::app`). The plugin author's tool, the log's setup and the signals are in `cli/`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{CommandFactory, Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use hbc::app::{self, Once, Target};
use hbc::config::{AgentConfig, Loaded};
use hbc::host_facts;
use hbc::plugins::scheduler;

mod cli;
use cli::logging;

/// hbc: the hbd agent. Sends heartbeats (and plugin reports) to an hbd daemon over UDP.
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Detach and log to syslog (a systemd unit runs hbc in the foreground instead).
    #[arg(short = 'd', long)]
    detach: bool,
    /// Run as a Windows service (the service control manager starts it so).
    #[cfg(windows)]
    #[arg(long)]
    service: bool,
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
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// The daemon: HOST or HOST:PORT; both daemons of an HA pair as A,B (default:
    /// `server` or `servers` from the config).
    server: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the configuration (and load the WASM plugins it names); print every
    /// problem with file:line; exit 1 on errors.
    CheckConfig {
        /// Configuration file (default ~/.hbc.yaml when it exists).
        #[arg(short, long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Print the completion script for a shell (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), for `man -l -` or man8/hbc.8.
    Manpage,
    /// Make this host's own key with an enrolment token, and write it to the key file
    /// (neither the key nor the token's secret crosses the network).
    Enrol {
        /// The token an administrator made (`hbe1-...`).
        #[arg(long)]
        token: String,
        #[command(flatten)]
        place: EnrolPlace,
    },
    /// Replace this host's enrolled key, proved with the current one; then restart the
    /// agent.
    Rekey {
        #[command(flatten)]
        place: EnrolPlace,
    },
    /// Tools for WebAssembly plugin authors.
    #[cfg(feature = "wasm")]
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

/// Where `enrol` and `rekey` ask, as whom, and where the key goes.
#[derive(Debug, clap::Args)]
struct EnrolPlace {
    /// Configuration file (default ~/.hbc.yaml when it exists): its `server`, `name`
    /// and `key_file`.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The daemon's HTTP base URL (default: `managed_plugins.url`, else the config's
    /// server on port 50004).
    #[arg(long)]
    url: Option<String>,
    /// The host name (default: `name` from the config, else this machine's).
    #[arg(long)]
    name: Option<String>,
    /// Where the key goes (default: `key_file` from the config).
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
}

#[cfg(feature = "wasm")]
#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Load a WebAssembly plugin, print what it is, which contract version it speaks,
    /// the settings it gets and one report; exit 1 on any failure. With -v the plugin's
    /// own log lines show, tagged with its name.
    Check {
        /// The plugin's .wasm file.
        file: PathBuf,
        /// Settings passed to collect, as a JSON object of strings, numbers and booleans
        /// (`{"path": "/var/log/app.log", "warning_s": 300, "strict": true}`): the
        /// plugin gets each as text, numbers and booleans as their JSON text ("300",
        /// "true"), exactly as from `wasm_plugins.plugins.NAME.config`.
        #[arg(long = "config", value_name = "JSON")]
        settings: Option<String>,
        /// A path the plugin may read (repeatable).
        #[arg(long, value_name = "PATH")]
        grant: Vec<PathBuf>,
        /// Time limit per call, ms.
        #[arg(long, default_value_t = 1000)]
        timeout_ms: u64,
        /// Memory limit, MiB.
        #[arg(long, default_value_t = 32)]
        memory_mb: u64,
        /// A destination the plugin may connect to, HOST:PORT (repeatable; contract
        /// 0.3.0 plugins).
        #[arg(long, value_name = "HOST:PORT")]
        net: Vec<hb_artifact::net::Destination>,
    },
    /// Print the manifest of a plugin artifact, for its publisher to sign with
    /// `minisign -Sm`: the plugin's name and contract (it is loaded, so it compiles),
    /// the exact bytes (SHA-256, size) and the most it may be given (docs/PLUGINS.md).
    Manifest {
        /// The plugin's .wasm file.
        file: PathBuf,
        /// Its version, a semantic version (default: the version its describe gives).
        #[arg(long)]
        version: Option<String>,
        /// A path it may be granted to read (repeatable).
        #[arg(long, value_name = "PATH")]
        grant: Vec<PathBuf>,
        /// The most memory per instance it may get, MiB.
        #[arg(long, default_value_t = 32)]
        memory_mb: u64,
        /// The longest time per call it may get, ms.
        #[arg(long, default_value_t = 1000)]
        timeout_ms: u64,
        /// The shortest interval it may run at, seconds.
        #[arg(long, default_value_t = 60.0)]
        min_interval: f64,
        /// A destination it may connect to, HOST:PORT (repeatable; contract 0.3.0).
        #[arg(long, value_name = "HOST:PORT")]
        net: Vec<hb_artifact::net::Destination>,
        /// The most connections it may open per call (with --net; default 8).
        #[arg(long)]
        connections: Option<u32>,
        /// One line for people.
        #[arg(long)]
        description: Option<String>,
    },
    /// Run every check an agent runs on a signed artifact before compiling it, against
    /// an agent config's `plugin_trust`; print OK and what it may do, or why it is
    /// refused (exit 1).
    Verify {
        /// The plugin's .wasm file.
        file: PathBuf,
        /// Its manifest (default: FILE with .json for .wasm).
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// The manifest's minisign signature (default: the manifest's name + .minisig).
        #[arg(long)]
        signature: Option<PathBuf>,
        /// A publisher key to trust besides the config's (the base64 line of a
        /// minisign .pub file; repeatable).
        #[arg(long, value_name = "KEY")]
        publisher: Vec<String>,
        /// The agent config whose plugin_trust to check against (default
        /// ~/.hbc.yaml when it exists).
        #[arg(short, long, value_name = "FILE")]
        config: Option<PathBuf>,
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

/// glibc gives each thread that allocates an arena of its own (up to eight per core);
/// the agent's threads allocate little, and two arenas hold it all in less memory.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable; called first thing, before other threads.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    // Plugins are compiled by `hbc-compile` in a child process, so the compiler's code
    // and memory never become part of the agent.
    #[cfg(feature = "wasm")]
    if let Some(compiler) = hbc::wasm::cache::find_compiler(std::env::current_exe().ok().as_deref())
    {
        hbc::wasm::cache::set_compiler(compiler);
    }
    let cli = Cli::parse();
    match cli.command {
        Some(Command::CheckConfig { config }) => check_config(&RunArgs { config, ..cli.run }),
        Some(Command::Completions { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "hbc", &mut script);
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
                    eprintln!("hbc manpage: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        #[cfg(feature = "wasm")]
        Some(Command::Plugin {
            command:
                PluginCommand::Check {
                    file,
                    settings,
                    grant,
                    timeout_ms,
                    memory_mb,
                    net,
                },
        }) => cli::plugin_check::plugin_check(
            file,
            settings,
            cli::plugin_check::Limits {
                grant,
                timeout_ms,
                memory_mb,
                net,
            },
            cli.run.verbose,
        ),
        #[cfg(feature = "wasm")]
        Some(Command::Plugin {
            command:
                PluginCommand::Manifest {
                    file,
                    version,
                    grant,
                    memory_mb,
                    timeout_ms,
                    min_interval,
                    net,
                    connections,
                    description,
                },
        }) => cli::plugin_artifact::plugin_manifest(cli::plugin_artifact::ManifestArgs {
            file,
            version,
            grant,
            memory_mb,
            timeout_ms,
            min_interval,
            net,
            connections,
            description,
        }),
        #[cfg(feature = "wasm")]
        Some(Command::Plugin {
            command:
                PluginCommand::Verify {
                    file,
                    manifest,
                    signature,
                    publisher,
                    config,
                },
        }) => cli::plugin_artifact::plugin_verify(cli::plugin_artifact::VerifyArgs {
            file,
            manifest,
            signature,
            config: config.or(cli.run.config),
            publisher,
        }),
        Some(Command::Enrol { token, place }) => enrolment(Some(token), place, cli::enrol::enrol),
        Some(Command::Rekey { place }) => enrolment(None, place, cli::enrol::rekey),
        None => match run(cli.run) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("hbc: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// `hbc enrol` or `hbc rekey`.
fn enrolment(
    token: Option<String>,
    place: EnrolPlace,
    act: fn(&cli::enrol::EnrolArgs, &AgentConfig) -> anyhow::Result<()>,
) -> ExitCode {
    let args = RunArgs {
        detach: false,
        #[cfg(windows)]
        service: false,
        config: place.config,
        boot: false,
        message: None,
        verbose: 0,
        server: None,
    };
    let Some((config, _)) = load_config(&args) else {
        eprintln!("configuration refused");
        return ExitCode::FAILURE;
    };
    let args = cli::enrol::EnrolArgs {
        token,
        url: place.url,
        name: place.name,
        key_file: place.key_file,
    };
    match act(&args, &config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hbc: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The config of `-c FILE`, else `~/.hbc.yaml`, else the defaults; problems printed.
fn load_config(args: &RunArgs) -> Option<(AgentConfig, Option<PathBuf>)> {
    let path = args.config.clone().or_else(AgentConfig::default_path);
    let loaded = match &path {
        Some(p) => AgentConfig::load(p),
        None => Ok(Loaded {
            config: AgentConfig::default(),
            warnings: Vec::new(),
        }),
    };
    match loaded {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("{w}");
            }
            Some((loaded.config, path))
        }
        Err(error) => {
            for p in &error.problems {
                eprintln!("{p}");
            }
            None
        }
    }
}

fn check_config(args: &RunArgs) -> ExitCode {
    let Some((config, path)) = load_config(args) else {
        eprintln!("configuration refused");
        return ExitCode::FAILURE;
    };
    logging::init(args.verbose, false);
    #[cfg(not(feature = "wasm"))]
    let _ = config; // the small agent has no WASM plugins to load
    #[allow(unused_mut)] // without the wasm feature nothing is added
    let mut problems = 0;
    #[cfg(feature = "wasm")]
    match hbc::wasm_loader::entries(&config.wasm_plugins) {
        Ok(loaded) => problems += loaded.problems.len(),
        Err(error) => {
            eprintln!("wasm_plugins: {error}");
            problems += 1;
        }
    }
    let source = path.map_or_else(|| "built-in defaults".into(), |p| p.display().to_string());
    if problems > 0 {
        println!("{source}: {problems} problem(s) loading WASM plugins (see above)");
        return ExitCode::FAILURE;
    }
    println!("{source}: configuration OK");
    ExitCode::SUCCESS
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let Some((config, config_path)) = load_config(&args) else {
        bail!("configuration refused");
    };
    let servers = match &args.server {
        Some(list) => list
            .split(',')
            .map(|one| {
                hbc::config::split_server(one.trim(), config.port)
                    .map_err(|e| anyhow::anyhow!("SERVER: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
        None => config.servers.clone(),
    };
    if servers.is_empty() {
        bail!("no server: give SERVER on the command line or `server` in the config");
    }
    if let (Some(file), None) = (&config.key_file, &config.key) {
        bail!(
            "key_file {} does not exist: enrol this host first (hbc enrol --token TOKEN)",
            file.display()
        );
    }
    let name = config.name.clone().unwrap_or_else(host_facts::hostname);
    let target = Target {
        servers,
        key_id: config.key_id.clone().unwrap_or_else(|| name.clone()),
        name,
    };
    // Plugins load with logging in place, so a broken .wasm or a missing directory is
    // reported. Detaching forks, and threads (the WASM runtime's epoch ticker, which
    // times plugins out) do not survive a fork: a detaching agent loads once on the
    // terminal to report problems, then again in the detached process (from the
    // compiled cache).
    //
    // An upgrade in progress is looked at before plugins load, so a new binary that
    // dies loading them is rolled back at the next start.
    let resume = || {
        hbc::upgrade::Resume::start(
            config.commands.upgrade && args.message.is_none(),
            &config.commands.ledger,
            config_path.clone(),
            &target.servers[0].0,
        )
    };
    #[cfg(windows)]
    if args.detach {
        anyhow::bail!("--detach is for Unix: on Windows run hbc as a service (docs/INSTALL.md)");
    }
    // launchd runs its agents in the foreground, and macOS has no daemon(3) to speak of.
    #[cfg(target_os = "macos")]
    if args.detach {
        anyhow::bail!("--detach is not for macOS: run hbc under launchd (docs/INSTALL.md)");
    }
    let (plugins, upgrades) = if args.detach {
        let subscriber = logging::stderr_subscriber(args.verbose);
        drop(tracing::subscriber::with_default(subscriber, || {
            load_plugins(&config)
        })?);
        #[cfg(all(unix, not(target_os = "macos")))]
        nix::unistd::daemon(true, false).context("cannot detach")?;
        logging::init(args.verbose, true);
        let upgrades = resume();
        (load_plugins(&config)?, upgrades)
    } else {
        // A Windows service has no console: it logs to the event log.
        #[cfg(windows)]
        logging::init(args.verbose, args.service);
        #[cfg(not(windows))]
        logging::init(args.verbose, false);
        let upgrades = resume();
        (load_plugins(&config)?, upgrades)
    };
    // One thread runs the agent's tasks (heartbeats, the scheduler, replies): they only
    // move data. Plugins, commands and Nagios checks run on the blocking pool.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let agent = move |shutdown: CancellationToken| {
        runtime.block_on(async move {
            tokio::spawn(cli::signals::stop_on_signal(shutdown.clone()));
            let refresh_info = std::sync::Arc::new(tokio::sync::Notify::new());
            tokio::spawn(cli::signals::refresh_on_sigusr1(refresh_info.clone()));
            let once = Once {
                boot: args.boot,
                message: args.message,
            };
            app::run(
                config,
                target,
                plugins,
                once,
                refresh_info,
                upgrades,
                shutdown,
            )
            .await
            .map_err(anyhow::Error::from)
        })
    };
    #[cfg(windows)]
    if args.service {
        return cli::service::run(Box::new(agent));
    }
    agent(CancellationToken::new())?;
    Ok(())
}

fn load_plugins(config: &AgentConfig) -> anyhow::Result<Vec<scheduler::Entry>> {
    #[allow(unused_mut)] // without the wasm feature nothing is added
    let mut plugins = scheduler::entries(&config.plugins).context("plugins")?;
    #[cfg(feature = "wasm")]
    plugins.extend(
        hbc::wasm_loader::entries(&config.wasm_plugins)
            .context("wasm_plugins")?
            .entries,
    );
    Ok(plugins)
}

#[cfg(test)]
mod tests {
    use hbc::config::split_server;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }

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
        assert!(split_server("", 1).is_err());
    }
}
