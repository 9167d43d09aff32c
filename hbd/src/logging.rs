//! Log setup: `tracing` to stderr, or to `logfile` when configured; `-v` raises the
//! level, `RUST_LOG` overrides everything.

use std::fs::OpenOptions;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `verbosity`: 0 info, 1 debug, 2+ trace.
pub fn init(verbosity: u8, logfile: Option<&Path>) -> std::io::Result<()> {
    let level = match verbosity {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match logfile {
        Some(path) => {
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            let _ = builder
                .with_ansi(false)
                .with_writer(Mutex::new(file))
                .try_init();
        }
        None => {
            let ansi = std::io::stderr().is_terminal();
            let _ = builder
                .with_ansi(ansi)
                .with_writer(std::io::stderr)
                .try_init();
        }
    }
    Ok(())
}
