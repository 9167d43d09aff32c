//! `http` (contract 0.3.0): one HTTP or HTTPS request from a plugin to a granted
//! destination, made by the agent (hyper, rustls) so that every address it connects to
//! passes the plugin's [`NetGate`] like its own connections. Redirects are not
//! followed: the plugin sees the 3xx and its `Location`, and a request it then makes
//! is checked again, so a redirect to a host it was not granted gains it nothing. The
//! answer's body is kept up to the size asked (at most [`MAX_BODY`]), the rest
//! dropped; the whole exchange ends within the time given. An HTTPS server whose chain
//! does not verify is refused unless the plugin asks not to verify; either way the
//! handshake's findings come back with the answer.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use super::net::NetGate;
use super::tls::{Attempt, NetError, TlsInfo, each_address};

/// The most of an answer's body kept.
pub const MAX_BODY: u32 = 16 << 20;

/// A request, as the contract gives it.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `HEAD`, `POST`, ...
    pub method: String,
    /// `http://host[:port]/path?query` or `https://...`.
    pub url: String,
    /// Sent as given (a `host` header is added).
    pub headers: Vec<(String, String)>,
    /// The request's body.
    pub body: Option<Vec<u8>>,
    /// The whole exchange, at most.
    pub timeout: Duration,
    /// The most of the answer's body kept.
    pub max_body: u32,
    /// For HTTPS: refuse a chain that does not verify.
    pub verify_tls: bool,
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Its headers, in order.
    pub headers: Vec<(String, String)>,
    /// Its body, up to the size asked.
    pub body: Vec<u8>,
    /// Whether more came than was kept.
    pub truncated: bool,
    /// Connected to.
    pub address: SocketAddr,
    /// From the start until the body kept arrived.
    pub elapsed_ms: u32,
    /// For HTTPS, what the handshake found.
    pub tls: Option<TlsInfo>,
}

/// Makes `request` through `gate`.
pub fn request(gate: Option<&NetGate>, request: &Request) -> Result<Response, NetError> {
    let gate = gate.ok_or_else(|| NetError::NotGranted("no network is granted".into()))?;
    let started = Instant::now();
    let uri: hyper::Uri = request
        .url
        .parse()
        .map_err(|e| NetError::Io(format!("{}: not a URL: {e}", request.url)))?;
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => {
            return Err(NetError::Io(format!(
                "{}: not http:// or https://",
                request.url
            )));
        }
    };
    let host = uri
        .host()
        .ok_or_else(|| NetError::Io(format!("{}: no host", request.url)))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    each_address(gate, &host, port, |addr| {
        let exchange = exchange(&uri, &host, addr, https, request, started);
        let left = request.timeout.saturating_sub(started.elapsed());
        let outcome =
            wasmtime_wasi::runtime::in_tokio(async { tokio::time::timeout(left, exchange).await });
        match outcome {
            Err(_) => Attempt::Done(Err(NetError::Timeout)),
            Ok(Err(Retry(e))) => Attempt::Next(e),
            Ok(Err(Final(e))) => Attempt::Done(Err(e)),
            Ok(Ok(response)) => Attempt::Done(Ok(response)),
        }
    })
}

/// How an exchange with one address failed: try the next address, or not.
enum Failed {
    Retry(NetError),
    Final(NetError),
}
use Failed::{Final, Retry};

async fn exchange(
    uri: &hyper::Uri,
    host: &str,
    addr: SocketAddr,
    https: bool,
    request: &Request,
    started: Instant,
) -> Result<Response, Failed> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| Retry(io(&e, &addr.to_string())))?;
    let (response, tls) = if https {
        let (config, seen) = super::tls::recording_config().map_err(Final)?;
        let name = rustls::pki_types::ServerName::try_from(host.to_owned())
            .map_err(|e| Final(NetError::Tls(format!("server name {host:?}: {e}"))))?;
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(name, stream)
            .await
            .map_err(|e| Final(NetError::Tls(format!("{addr}: {e}"))))?;
        let protocol = super::tls::protocol(stream.get_ref().1.protocol_version());
        let handshake_ms = ms(started);
        let tls = super::tls::found(addr, protocol, &seen, handshake_ms);
        if request.verify_tls
            && let Err(why) = &tls.trusted
        {
            return Err(Final(NetError::Tls(format!(
                "{addr}: certificate not trusted: {why}"
            ))));
        }
        (send(TokioIo::new(stream), uri, request).await?, Some(tls))
    } else {
        (send(TokioIo::new(stream), uri, request).await?, None)
    };
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let max = request.max_body.min(MAX_BODY) as usize;
    let mut body = Vec::new();
    let mut truncated = false;
    let mut incoming = response.into_body();
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(|e| Final(NetError::Io(format!("{addr}: {e}"))))?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        let room = max - body.len();
        if data.len() > room {
            body.extend_from_slice(&data[..room]);
            truncated = true;
            break;
        }
        body.extend_from_slice(data);
    }
    Ok(Response {
        status,
        headers,
        body,
        truncated,
        address: addr,
        elapsed_ms: ms(started),
        tls,
    })
}

async fn send<T>(
    io: TokioIo<T>,
    uri: &hyper::Uri,
    request: &Request,
) -> Result<hyper::Response<hyper::body::Incoming>, Failed>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| Final(NetError::Io(e.to_string())))?;
    // Ends with the exchange: dropped with the answer's body.
    let connection = tokio::spawn(connection);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let authority = uri.authority().map_or("", |a| a.as_str());
    let mut built = hyper::Request::builder()
        .method(request.method.as_str())
        .uri(path)
        .header(hyper::header::HOST, authority);
    for (k, v) in &request.headers {
        built = built.header(k.as_str(), v.as_str());
    }
    let body = Bytes::from(request.body.clone().unwrap_or_default());
    let built = built
        .body(Full::new(body))
        .map_err(|e| Final(NetError::Io(format!("the request: {e}"))))?;
    sender.send_request(built).await.map_err(|e| {
        connection.abort();
        Final(NetError::Io(e.to_string()))
    })
}

fn io(e: &std::io::Error, what: &str) -> NetError {
    match e.kind() {
        std::io::ErrorKind::TimedOut => NetError::Timeout,
        std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset => {
            NetError::Refused(format!("{what}: {e}"))
        }
        _ => NetError::Io(format!("{what}: {e}")),
    }
}

fn ms(since: Instant) -> u32 {
    u32::try_from(since.elapsed().as_millis()).unwrap_or(u32::MAX)
}
