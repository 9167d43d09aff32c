//! Where the agent's log goes: standard error (coloured on a terminal), or syslog once
//! detached, or the Application event log for a Windows service; `-v` for debug, `-vv`
//! for trace, `RUST_LOG` over both.

fn filter(verbosity: u8) -> tracing_subscriber::EnvFilter {
    let level = match verbosity {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level))
}

pub fn stderr_subscriber(verbosity: u8) -> impl tracing::Subscriber + Send + Sync {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter(verbosity))
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .finish()
}

/// `detached`: no terminal (a detached Unix agent, a Windows service).
pub fn init(verbosity: u8, detached: bool) {
    #[cfg(unix)]
    if detached && let Ok(syslog) = hbc::syslog::Syslog::connect("hbc") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter(verbosity))
            .without_time()
            .with_ansi(false)
            .with_writer(syslog)
            .try_init();
        return;
    }
    #[cfg(windows)]
    if detached && let Ok(events) = hbc::eventlog::EventLog::open("hbc") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter(verbosity))
            .without_time()
            .with_ansi(false)
            .with_writer(events)
            .try_init();
        return;
    }
    let _ = tracing::subscriber::set_global_default(stderr_subscriber(verbosity));
}
