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

/// Fetches `url` into `dest` (created new, mode 0700) within `timeout`; it must be
/// `size` bytes with SHA-256 `sha256`. On any failure `dest` is removed and the reason
/// returned.
pub async fn download(
    url: &str,
    dest: &Path,
    size: u64,
    sha256: &str,
    timeout: Duration,
) -> Result<(), String> {
    let result = match tokio::time::timeout(timeout, fetch(url, dest, size, sha256)).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "download of {url} took longer than {} s",
            timeout.as_secs()
        )),
    };
    if result.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    result
}

async fn fetch(url: &str, dest: &Path, size: u64, sha256: &str) -> Result<(), String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{url}: not a URL: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!(
            "{url}: the agent downloads over plain http:// only (the SHA-256 it checks comes signed, so TLS adds nothing here)"
        ));
    }
    let host = uri.host().ok_or_else(|| format!("{url}: no host"))?;
    let port = uri.port_u16().unwrap_or(80);
    let addr = format!(
        "{}:{port}",
        host.trim_start_matches('[').trim_end_matches(']')
    );
    let stream = tokio::net::TcpStream::connect(&addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("{addr}: {e}"))?;
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
        .map_err(|e| format!("{url}: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if response.status() != hyper::StatusCode::OK {
        connection.abort();
        return Err(format!("{url}: the server answered {}", response.status()));
    }
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o700)
        .open(dest)
        .await
        .map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    let mut body = response.into_body();
    let mut hasher = Sha256::new();
    let mut got: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("{url}: {e}"))?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        got += data.len() as u64;
        if got > size {
            connection.abort();
            return Err(format!(
                "{url}: longer than the {size} bytes the daemon announced"
            ));
        }
        hasher.update(data);
        file.write_all(data)
            .await
            .map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
    }
    connection.abort();
    file.sync_all()
        .await
        .map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
    if got != size {
        return Err(format!("{url}: {got} bytes, the daemon announced {size}"));
    }
    let actual = hb_proto::digest::hex(&hasher.finalize());
    if !actual.eq_ignore_ascii_case(sha256) {
        return Err(format!(
            "{url}: SHA-256 {actual}, the daemon signed {sha256}: not installed"
        ));
    }
    Ok(())
}
