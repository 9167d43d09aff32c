//! Why an upgrade step failed, as the agent reports it to the daemon (the `RES` output)
//! and logs it. Each variant says what it was doing and to which file, so the text an
//! operator reads is the same whichever step failed.

use std::path::PathBuf;

/// Why an upgrade did not go in (or could not be undone).
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    /// The `UPD` says neither where to download from nor the daemon's HTTP port.
    #[error("the UPD names neither a URL nor the daemon's HTTP port")]
    NoSource,
    /// The `UPD`'s path is relative.
    #[error("the UPD's path {0:?} is not absolute")]
    RelativePath(String),
    /// The download failed or did not match what the signed `UPD` announced.
    #[error(transparent)]
    Download(#[from] crate::fetch::DownloadError),
    /// The agent cannot replace its own binary.
    #[error(
        "cannot replace {}: its directory is not writable by this agent ({errno}); install it with scripts/hb_install.sh agent --self-upgrade",
        exe.display()
    )]
    NotWritable {
        /// The agent's binary.
        exe: PathBuf,
        /// Why `access(2)` refused.
        errno: std::io::Error,
    },
    /// This platform's agent cannot replace its own binary (yet).
    #[error("self-upgrade is not supported on {0}: install the new release with its installer")]
    Unsupported(&'static str),
    /// The new program did not pass its probe.
    #[error("{0}")]
    Probe(#[from] ProbeError),
    /// A file operation of the swap or the rollback failed.
    #[error("cannot {action} {}: {source}", path.display())]
    File {
        /// What the agent was doing (`set the mode of`, `remove`, ...).
        action: &'static str,
        /// To which file.
        path: PathBuf,
        /// The system's answer.
        source: std::io::Error,
    },
    /// Putting the old binary back failed.
    #[error("cannot put {} back as {}: {source}", previous.display(), exe.display())]
    PutBack {
        /// Where the old binary was kept.
        previous: PathBuf,
        /// Where it belongs.
        exe: PathBuf,
        /// The system's answer.
        source: std::io::Error,
    },
    /// The blocking task that installs did not finish.
    #[error("upgrade task failed: {0}")]
    Task(String),
    /// One step failed, and so did undoing an earlier one.
    #[error("{0}; and {1}")]
    Also(Box<UpgradeError>, Box<UpgradeError>),
}

impl UpgradeError {
    /// A failed file operation.
    pub fn file(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        UpgradeError::File {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Why a new program failed its probe.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// It did not run to a clean exit.
    #[error("{what} does not start: {run}")]
    NoStart {
        /// `the new binary` or `the new hbc-compile`.
        what: &'static str,
        /// How the run went.
        run: RunError,
    },
    /// Its `--version` does not name `hbc`.
    #[error("the new binary does not say it is hbc: --version printed {0:?}")]
    NotHbc(String),
    /// Its `--version` names another version.
    #[error("the new binary says {line:?}, the daemon announced version {want}")]
    WrongVersion {
        /// What it printed.
        line: String,
        /// The announced version.
        want: String,
    },
    /// The new compiler's `--version` is not the announced one.
    #[error("the new hbc-compile says {line:?}, the daemon announced hbc-compile {want}")]
    WrongCompiler {
        /// What it printed.
        line: String,
        /// The announced version (`?` when none was).
        want: String,
    },
    /// Its `check-config` refused this agent's config.
    #[error("the new binary does not accept this agent's config: {0}")]
    ConfigRefused(RunError),
}

/// How a probe's run of the new program went wrong.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// It exited non-zero.
    #[error("`{args}` exited with {code}: {output}")]
    Exited {
        /// Its arguments.
        args: String,
        /// The exit code.
        code: i32,
        /// What it printed.
        output: String,
    },
    /// A signal killed it.
    #[error("`{args}` was killed by signal {signal}")]
    Killed {
        /// Its arguments.
        args: String,
        /// The signal.
        signal: i32,
    },
    /// It did not finish in time.
    #[error("`{args}` did not finish in {secs} s")]
    TimedOut {
        /// Its arguments.
        args: String,
        /// The limit.
        secs: u64,
    },
    /// It could not be started.
    #[error("{0}")]
    Failed(String),
}
