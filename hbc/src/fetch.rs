//! Downloads from the daemon over plain HTTP, checked as they arrive: a release or
//! plugin file into a new file, failing unless it has exactly the announced size and
//! SHA-256 (both from a signed source: the `UPD`, or the daemon's signed answer and the
//! publisher's manifest), and a small answer into memory, failing past a limit. Only a
//! 200 is taken: a redirect elsewhere is a failure, not followed. Plain HTTP is enough:
//! what makes a file trustworthy is the signed digest. Enrolment posts its JSON the
//! same way ([`post_json`]) and reads any answer, since a refusal says why.

use std::path::Path;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use std::path::PathBuf;

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

/// A running GET: the answer (a 200) and its connection, aborted when dropped.
struct Answer {
    response: hyper::Response<hyper::body::Incoming>,
    connection: tokio::task::JoinHandle<Result<(), hyper::Error>>,
}

impl Drop for Answer {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

fn http(at: &str) -> impl Fn(hyper::Error) -> DownloadError + '_ {
    move |e| DownloadError::Http {
        at: at.to_owned(),
        reason: e.to_string(),
    }
}

/// Sends `GET url` over plain HTTP; anything but a 200 is an error.
async fn get(url: &str) -> Result<Answer, DownloadError> {
    let answer = send(url, hyper::Method::GET, Bytes::new()).await?;
    if answer.response.status() != hyper::StatusCode::OK {
        return Err(DownloadError::Status {
            url: url.to_owned(),
            status: answer.response.status().to_string(),
        });
    }
    Ok(answer)
}

/// Sends `method url` with `body` (JSON when not empty) over plain HTTP; any status.
async fn send(url: &str, method: hyper::Method, body: Bytes) -> Result<Answer, DownloadError> {
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
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, authority)
        .header(
            hyper::header::USER_AGENT,
            concat!("hbc/", env!("CARGO_PKG_VERSION")),
        );
    if !body.is_empty() {
        request = request.header(hyper::header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(Full::new(body))
        .map_err(|e| DownloadError::Http {
            at: url.to_owned(),
            reason: e.to_string(),
        })?;
    let response = match sender.send_request(request).await {
        Ok(r) => r,
        Err(e) => {
            connection.abort();
            return Err(http(url)(e));
        }
    };
    Ok(Answer {
        response,
        connection,
    })
}

/// The rest of an answer's body, at most `max` bytes (more is an error, not a cut).
async fn read_body(url: &str, answer: &mut Answer, max: u64) -> Result<Vec<u8>, DownloadError> {
    let mut body = Vec::new();
    let incoming = answer.response.body_mut();
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(http(url))?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        if (body.len() + data.len()) as u64 > max {
            return Err(DownloadError::TooLong {
                url: url.to_owned(),
                size: max,
            });
        }
        body.extend_from_slice(data);
    }
    Ok(body)
}

/// Posts `json` to `url` within `timeout`: the answer's status and at most `max` bytes
/// of its body, whatever the status.
pub async fn post_json(
    url: &str,
    json: Vec<u8>,
    max: u64,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), DownloadError> {
    let run = async {
        let mut answer = send(url, hyper::Method::POST, Bytes::from(json)).await?;
        let status = answer.response.status().as_u16();
        Ok((status, read_body(url, &mut answer, max).await?))
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(r) => r,
        Err(_) => Err(DownloadError::TimedOut {
            url: url.to_owned(),
            secs: timeout.as_secs(),
        }),
    }
}

/// Fetches `url` into memory within `timeout`: its headers and at most `max` bytes of
/// body (more is an error, not a cut).
pub async fn fetch_bytes(
    url: &str,
    max: u64,
    timeout: Duration,
) -> Result<(hyper::HeaderMap, Vec<u8>), DownloadError> {
    let run = async {
        let mut answer = get(url).await?;
        let headers = answer.response.headers().clone();
        let body = read_body(url, &mut answer, max).await?;
        Ok((headers, body))
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(r) => r,
        Err(_) => Err(DownloadError::TimedOut {
            url: url.to_owned(),
            secs: timeout.as_secs(),
        }),
    }
}

async fn fetch(url: &str, dest: &Path, size: u64, sha256: &str) -> Result<(), DownloadError> {
    let mut answer = get(url).await?;
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o700);
    let mut file = options
        .open(dest)
        .await
        .map_err(|source| DownloadError::File {
            action: "create",
            path: dest.to_owned(),
            source,
        })?;
    let body = answer.response.body_mut();
    let mut hasher = Sha256::new();
    let mut got: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(http(url))?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        got += data.len() as u64;
        if got > size {
            return Err(DownloadError::TooLong {
                url: url.to_owned(),
                size,
            });
        }
        hasher.update(data);
        file.write_all(data).await.map_err(write(dest))?;
    }
    drop(answer);
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

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// Not a URL.
    #[error("{url}: not a URL: {reason}")]
    NotUrl {
        /// The URL.
        url: String,
        /// The parser's complaint.
        reason: String,
    },
    /// Not plain `http://`.
    #[error(
        "{0}: the agent downloads over plain http:// only (the SHA-256 it checks comes signed, so TLS adds nothing here)"
    )]
    NotHttp(String),
    /// No host in the URL.
    #[error("{0}: no host")]
    NoHost(String),
    /// The connection failed.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// Where to.
        addr: String,
        /// The system's answer.
        source: std::io::Error,
    },
    /// HTTP failed (handshake, request or body).
    #[error("{at}: {reason}")]
    Http {
        /// The URL or address.
        at: String,
        /// What HTTP said.
        reason: String,
    },
    /// The server answered other than 200.
    #[error("{url}: the server answered {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status line's code and reason.
        status: String,
    },
    /// The file could not be written.
    #[error("cannot {action} {}: {source}", path.display())]
    File {
        /// `create` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The system's answer.
        source: std::io::Error,
    },
    /// More bytes than announced.
    #[error("{url}: longer than the {size} bytes announced or allowed")]
    TooLong {
        /// The URL.
        url: String,
        /// The announced size.
        size: u64,
    },
    /// Fewer bytes than announced.
    #[error("{url}: {got} bytes, the daemon announced {size}")]
    Short {
        /// The URL.
        url: String,
        /// Bytes received.
        got: u64,
        /// The announced size.
        size: u64,
    },
    /// The digest differs from the signed one.
    #[error("{url}: SHA-256 {actual}, the daemon signed {signed}: not installed")]
    Digest {
        /// The URL.
        url: String,
        /// What the file hashes to.
        actual: String,
        /// What the `UPD` carried.
        signed: String,
    },
    /// It took too long.
    #[error("download of {url} took longer than {secs} s")]
    TimedOut {
        /// The URL.
        url: String,
        /// The limit.
        secs: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// A one-shot HTTP server on loopback answering `answer` to the first request.
    async fn serve(answer: &'static [u8]) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).await;
            let _ = stream.write_all(answer).await;
        });
        format!("http://{addr}/agent/web1/plugins?nonce=n0nce-abc")
    }

    #[tokio::test]
    async fn a_redirect_is_a_failure_not_followed_and_a_flood_is_cut() {
        let url = serve(
            b"HTTP/1.1 302 Found\r\nLocation: http://evil.example/x\r\nContent-Length: 0\r\n\r\n",
        )
        .await;
        let err = fetch_bytes(&url, 1024, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{url}: the server answered 302 Found")
        );
        let url = serve(
            concat!(
                "HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n",
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            )
            .as_bytes(),
        )
        .await;
        let err = fetch_bytes(&url, 16, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{url}: longer than the 16 bytes announced or allowed")
        );
        let url =
            serve(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nx-hbd-tag: ab\r\n\r\nhello").await;
        let (headers, body) = fetch_bytes(&url, 16, Duration::from_secs(5)).await.unwrap();
        assert_eq!(body, b"hello");
        assert_eq!(headers.get("x-hbd-tag").unwrap(), "ab");
    }
}
