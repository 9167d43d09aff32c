//! Downloads a release file over HTTP into a new file, hashing it on the way: the
//! download fails unless the file has exactly the announced size and SHA-256 (both from
//! the signed `UPD`), so a wrong, short, long or tampered file is never installed.
//! Plain HTTP is enough: what makes the file trustworthy is the signed digest.

use std::path::Path;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::error::DownloadError;

/// Fetches `url` into `dest` (created new, mode 0700) within `timeout`; it must be
/// `size` bytes with SHA-256 `sha256`. On any failure `dest` is removed and the reason
/// returned.
pub async fn download(
    url: &str,
    dest: &Path,
    size: u64,
    sha256: &str,
    timeout: Duration,
) -> Result<(), DownloadError> {
    let result = match tokio::time::timeout(timeout, fetch(url, dest, size, sha256)).await {
        Ok(r) => r,
        Err(_) => Err(DownloadError::TimedOut {
            url: url.to_owned(),
            secs: timeout.as_secs(),
        }),
    };
    if result.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    result
}

async fn fetch(url: &str, dest: &Path, size: u64, sha256: &str) -> Result<(), DownloadError> {
    let http = |at: &str| {
        let at = at.to_owned();
        move |e: hyper::Error| DownloadError::Http {
            at,
            reason: e.to_string(),
        }
    };
    let uri: hyper::Uri =
        url.parse()
            .map_err(|e: hyper::http::uri::InvalidUri| DownloadError::NotUrl {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
    if uri.scheme_str() != Some("http") {
        return Err(DownloadError::NotHttp(url.to_owned()));
    }
    let host = uri
        .host()
        .ok_or_else(|| DownloadError::NoHost(url.to_owned()))?;
    let port = uri.port_u16().unwrap_or(80);
    let addr = format!(
        "{}:{port}",
        host.trim_start_matches('[').trim_end_matches(']')
    );
    let stream = tokio::net::TcpStream::connect(&addr)
        .await
        .map_err(|source| DownloadError::Connect {
            addr: addr.clone(),
            source,
        })?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(http(&addr))?;
    let connection = tokio::spawn(conn);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let authority = uri.authority().map_or(host, |a| a.as_str());
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, authority)
        .header(
            hyper::header::USER_AGENT,
            concat!("hbc/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::<Bytes>::new())
        .map_err(|e| DownloadError::Http {
            at: url.to_owned(),
            reason: e.to_string(),
        })?;
    let response = sender.send_request(request).await.map_err(http(url))?;
    if response.status() != hyper::StatusCode::OK {
        connection.abort();
        return Err(DownloadError::Status {
            url: url.to_owned(),
            status: response.status().to_string(),
        });
    }
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o700)
        .open(dest)
        .await
        .map_err(|source| DownloadError::File {
            action: "create",
            path: dest.to_owned(),
            source,
        })?;
    let mut body = response.into_body();
    let mut hasher = Sha256::new();
    let mut got: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(http(url))?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        got += data.len() as u64;
        if got > size {
            connection.abort();
            return Err(DownloadError::TooLong {
                url: url.to_owned(),
                size,
            });
        }
        hasher.update(data);
        file.write_all(data).await.map_err(write(dest))?;
    }
    connection.abort();
    file.sync_all().await.map_err(write(dest))?;
    if got != size {
        return Err(DownloadError::Short {
            url: url.to_owned(),
            got,
            size,
        });
    }
    let actual = hb_proto::digest::hex(&hasher.finalize());
    if !actual.eq_ignore_ascii_case(sha256) {
        return Err(DownloadError::Digest {
            url: url.to_owned(),
            actual,
            signed: sha256.to_owned(),
        });
    }
    Ok(())
}

/// A failed write to `dest`.
fn write(dest: &Path) -> impl Fn(std::io::Error) -> DownloadError + '_ {
    move |source| DownloadError::File {
        action: "write",
        path: dest.to_owned(),
        source,
    }
}
