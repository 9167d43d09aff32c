//! The HTTP listeners: plain, or TLS with rustls (`hbd_tls`, and `wss_port`, with
//! `wss_pem` and `wss_key`) through axum-server. Handlers get the client's address. The certificate
//! is read again after every configuration reload, so a renewed one needs no restart;
//! a reload with an unreadable certificate keeps the one in use.

use std::net::SocketAddr;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use tokio_util::sync::CancellationToken;

use crate::api::ApiState;

/// How long open connections may finish at shutdown.
pub const GRACE: Duration = Duration::from_secs(5);

/// Why the HTTP server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The certificate or key could not be read.
    #[error("TLS certificate {cert} / key {key}: {source}")]
    Tls {
        /// The chain file.
        cert: String,
        /// The key file.
        key: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("http server: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads the TLS certificate and key (`wss_pem`, `wss_key`) of `state`'s config.
pub async fn tls_config(state: &ApiState) -> Result<RustlsConfig, ServerError> {
    let config = state.config.get();
    let Some((cert, key)) = config.tls_files() else {
        return Err(ServerError::Tls {
            cert: String::new(),
            key: String::new(),
            source: std::io::Error::other("wss_pem and wss_key are not set"),
        });
    };
    // One TLS provider for everything: ring. Installing it twice is a no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    RustlsConfig::from_pem_file(&cert, &key)
        .await
        .map_err(|source| ServerError::Tls {
            cert: cert.display().to_string(),
            key: key.display().to_string(),
            source,
        })
}

/// Serves until `shutdown` is cancelled; `tls` from [`tls_config`].
pub async fn serve(
    listener: std::net::TcpListener,
    state: ApiState,
    tls: Option<RustlsConfig>,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let app =
        crate::router::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let Some(tls) = tls else {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await?;
        return Ok(());
    };
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        stop.cancelled().await;
        stopper.graceful_shutdown(Some(GRACE));
    });
    tokio::spawn(reload_certificates(state, tls.clone(), shutdown));
    axum_server::from_tcp_rustls(listener, tls)?
        .handle(handle)
        .serve(app)
        .await?;
    Ok(())
}

async fn reload_certificates(state: ApiState, tls: RustlsConfig, shutdown: CancellationToken) {
    let mut reloads = state.reloader.subscribe();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = reloads.changed() => if changed.is_err() { return },
        }
        let Some((cert, key)) = state.config.get().tls_files() else {
            continue;
        };
        match tls.reload_from_pem_file(&cert, &key).await {
            Ok(()) => tracing::info!(cert = %cert.display(), "TLS certificate reloaded"),
            Err(error) => tracing::error!(
                cert = %cert.display(),
                key = %key.display(),
                %error,
                "TLS certificate reload failed; the one in use stays"
            ),
        }
    }
}
