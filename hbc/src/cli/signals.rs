//! The signals the running agent answers: SIGUSR1 collects the info plugins now,
//! SIGTERM and SIGINT stop it cleanly.

use tokio_util::sync::CancellationToken;

/// SIGUSR1 asks for the info plugins (os_info, filesystem_info) to be collected now.
pub async fn refresh_on_sigusr1(refresh: std::sync::Arc<tokio::sync::Notify>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut usr1) = signal(SignalKind::user_defined1()) else {
        return;
    };
    while usr1.recv().await.is_some() {
        refresh.notify_one();
    }
}

/// SIGTERM or SIGINT ends the agent cleanly.
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
