//! The signals the running agent answers: SIGUSR1 collects the info plugins now,
//! SIGTERM and SIGINT stop it cleanly. On Windows, Ctrl-C, Ctrl-Break, closing the
//! console and the service manager's shutdown stop it; there is no SIGUSR1.

use tokio_util::sync::CancellationToken;

/// SIGUSR1 asks for the info plugins (os_info, filesystem_info) to be collected now.
#[cfg(unix)]
pub async fn refresh_on_sigusr1(refresh: std::sync::Arc<tokio::sync::Notify>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut usr1) = signal(SignalKind::user_defined1()) else {
        return;
    };
    while usr1.recv().await.is_some() {
        refresh.notify_one();
    }
}

/// Windows has no SIGUSR1: the info plugins run on their own schedule.
#[cfg(windows)]
pub async fn refresh_on_sigusr1(_refresh: std::sync::Arc<tokio::sync::Notify>) {}

/// SIGTERM or SIGINT ends the agent cleanly.
#[cfg(unix)]
pub async fn stop_on_signal(shutdown: CancellationToken) {
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

/// Ctrl-C, Ctrl-Break, closing the console or the system shutting down ends the agent
/// cleanly.
#[cfg(windows)]
pub async fn stop_on_signal(shutdown: CancellationToken) {
    use tokio::signal::windows;
    let (Ok(mut c), Ok(mut brk), Ok(mut close), Ok(mut end)) = (
        windows::ctrl_c(),
        windows::ctrl_break(),
        windows::ctrl_close(),
        windows::ctrl_shutdown(),
    ) else {
        return;
    };
    tokio::select! {
        _ = c.recv() => {}
        _ = brk.recv() => {}
        _ = close.recv() => {}
        _ = end.recv() => {}
    }
    shutdown.cancel();
}
