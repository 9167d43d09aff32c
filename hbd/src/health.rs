//! `hbd health`: asks a running daemon's `/healthz` whether it answers, at the HTTP
//! address its config gives (loopback where it listens on every address), for a
//! container's HEALTHCHECK, a service probe or a script.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use crate::config::Config;

/// Why the daemon is not healthy.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// No HTTP client could be made.
    #[error("cannot make an HTTP client: {0}")]
    Client(reqwest::Error),
    /// Nothing answered (not running, another port, too slow).
    #[error("{url}: no answer: {source}")]
    Unreachable {
        /// What was asked.
        url: String,
        /// Why.
        source: reqwest::Error,
    },
    /// It answered, but not that it is healthy.
    #[error("{url}: {status}: {body}")]
    Unhealthy {
        /// What was asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The answer (the engine's state, when it is busy).
        body: String,
    },
}

/// The `/healthz` URL of the daemon `config` describes.
pub fn url(config: &Config) -> String {
    let host = match config.hbd_host {
        IpAddr::V4(a) if a.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(a) if a.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    };
    let scheme = if config.hbd_tls { "https" } else { "http" };
    format!(
        "{scheme}://{}/healthz",
        SocketAddr::new(host, config.hbd_port)
    )
}

/// Asks `url`, waiting at most `timeout`.
pub async fn probe(url: &str, timeout: Duration) -> Result<(), HealthError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // The daemon's own certificate need not name the address it is asked at here, and
    // the probe sends nothing and learns one word: the certificate is not checked.
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .tls_danger_accept_invalid_certs(true)
        .build()
        .map_err(HealthError::Client)?;
    let answer = client
        .get(url)
        .send()
        .await
        .map_err(|source| HealthError::Unreachable {
            url: url.to_owned(),
            source,
        })?;
    let status = answer.status().as_u16();
    let body = answer.text().await.unwrap_or_default();
    if status == 200 {
        Ok(())
    } else {
        Err(HealthError::Unhealthy {
            url: url.to_owned(),
            status,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_is_the_api_address_with_loopback_for_every_address() {
        let mut config = Config {
            hbd_port: 8080,
            ..Config::default()
        };
        for (host, tls, want) in [
            ("127.0.0.1", false, "http://127.0.0.1:8080/healthz"),
            ("0.0.0.0", false, "http://127.0.0.1:8080/healthz"),
            ("::", true, "https://[::1]:8080/healthz"),
            ("10.1.2.3", false, "http://10.1.2.3:8080/healthz"),
        ] {
            config.hbd_host = host.parse().unwrap();
            config.hbd_tls = tls;
            assert_eq!(url(&config), want);
        }
    }
}
