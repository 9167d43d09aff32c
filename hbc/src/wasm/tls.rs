//! `tls-certificates` (contract 0.3.0): a TLS handshake with a granted destination for
//! a plugin that watches certificates: what the server presented (its own certificate
//! first), each certificate's subject, issuer, validity and names, and whether the
//! chain verifies against the system's trusted roots for the name asked. A certificate
//! that does not verify does not fail the handshake: that is the plugin's question.
//! Blocking, within the time given; the connection is checked and counted by the
//! plugin's [`NetGate`] like any other.

use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

use super::net::NetGate;

/// One certificate, as the contract gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Valid from, Unix ms.
    pub not_before_ms: i64,
    /// Valid until, Unix ms.
    pub not_after_ms: i64,
    /// Subject alternative DNS names.
    pub dns_names: Vec<String>,
}

/// What a handshake found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// Connected to.
    pub address: SocketAddr,
    /// `TLSv1.3` or `TLSv1.2`.
    pub protocol: String,
    /// Leaf first.
    pub chain: Vec<Certificate>,
    /// Whether it verifies, or why not.
    pub trusted: Result<(), String>,
    /// Connecting and the handshake, ms.
    pub handshake_ms: u32,
}

/// Why it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    /// Not granted, or denied.
    NotGranted(String),
    /// The name does not resolve.
    Dns(String),
    /// Out of time.
    Timeout,
    /// Refused or reset.
    Refused(String),
    /// The handshake failed.
    Tls(String),
    /// Anything else.
    Io(String),
}

/// The chain the server presented and the verifier's verdict on it.
#[derive(Debug, Default)]
pub(super) struct Seen {
    chain: Vec<CertificateDer<'static>>,
    verdict: Option<Result<(), String>>,
}

/// Verifies as the system would, but records the outcome instead of failing on it.
#[derive(Debug)]
struct Recorder {
    inner: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    seen: Arc<Mutex<Seen>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = match &self.inner {
            Some(v) => v
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            None => Err("no trusted roots on this system".to_owned()),
        };
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        seen.verdict = Some(verdict);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The system's trusted roots, read once; `None` when it has none.
fn verifier(provider: &Arc<CryptoProvider>) -> Option<Arc<WebPkiServerVerifier>> {
    static ROOTS: OnceLock<Option<Arc<rustls::RootCertStore>>> = OnceLock::new();
    let roots = ROOTS.get_or_init(|| {
        let mut store = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = store.add_parsable_certificates(found.certs);
        (added > 0).then(|| Arc::new(store))
    });
    WebPkiServerVerifier::builder_with_provider(roots.clone()?, provider.clone())
        .build()
        .ok()
}

fn certificate(der: &CertificateDer<'_>) -> Option<Certificate> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let dns_names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(name) => Some((*name).to_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let validity = cert.validity();
    Some(Certificate {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before_ms: validity.not_before.timestamp().saturating_mul(1000),
        not_after_ms: validity.not_after.timestamp().saturating_mul(1000),
        dns_names,
    })
}

fn io_error(e: &std::io::Error, what: &str) -> NetError {
    match e.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => NetError::Timeout,
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset => {
            NetError::Refused(format!("{what}: {e}"))
        }
        _ if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => {
            NetError::Tls(format!("{what}: {e}"))
        }
        _ => NetError::Io(format!("{what}: {e}")),
    }
}

/// Connects to `host:port` through `gate`, makes a TLS handshake presenting
/// `server_name` (default `host`) and returns what the server presented, within
/// `timeout`.
pub fn certificates(
    gate: Option<&NetGate>,
    host: &str,
    port: u16,
    server_name: Option<&str>,
    timeout: Duration,
) -> Result<TlsInfo, NetError> {
    let gate = gate.ok_or_else(|| NetError::NotGranted("no network is granted".into()))?;
    let started = Instant::now();
    let name = ServerName::try_from(server_name.unwrap_or(host).to_owned()).map_err(|e| {
        NetError::Tls(format!(
            "server name {:?}: {e}",
            server_name.unwrap_or(host)
        ))
    })?;
    each_address(gate, host, port, |addr| {
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Attempt::Done(Err(NetError::Timeout));
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(mut socket) => {
                Attempt::Done(handshake(&mut socket, addr, name.clone(), timeout, started))
            }
            Err(e) => Attempt::Next(io_error(&e, &addr.to_string())),
        }
    })
}

/// What trying one address gave: the outcome, or a reason to try the next.
pub(super) enum Attempt<T> {
    Done(Result<T, NetError>),
    Next(NetError),
}

/// Tries `attempt` on each address `host:port` resolves to, skipping those `gate`
/// refuses, until one is done; the last reason when none is (no address, none granted,
/// or the last failure).
pub(super) fn each_address<T>(
    gate: &NetGate,
    host: &str,
    port: u16,
    mut attempt: impl FnMut(SocketAddr) -> Attempt<T>,
) -> Result<T, NetError> {
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| NetError::Dns(format!("{host}: {e}")))?;
    let mut last = NetError::Dns(format!("{host}: no address"));
    for addr in addrs {
        if let Err(why) = gate.admit(addr) {
            last = NetError::NotGranted(why);
            continue;
        }
        match attempt(addr) {
            Attempt::Done(outcome) => return outcome,
            Attempt::Next(why) => last = why,
        }
    }
    Err(last)
}

/// A client configuration that records the chain a server presents and whether it
/// verifies, without failing on it; and where it records them.
pub(super) fn recording_config() -> Result<(Arc<ClientConfig>, Arc<Mutex<Seen>>), NetError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let recorder = Recorder {
        inner: verifier(&provider),
        provider: provider.clone(),
        seen: seen.clone(),
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(recorder))
        .with_no_client_auth();
    Ok((Arc::new(config), seen))
}

/// A protocol version as people write it.
pub(super) fn protocol(version: Option<rustls::ProtocolVersion>) -> String {
    match version {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
        other => format!("{other:?}"),
    }
}

/// What a finished handshake with `addr` found.
pub(super) fn found(
    addr: SocketAddr,
    protocol: String,
    seen: &Mutex<Seen>,
    handshake_ms: u32,
) -> TlsInfo {
    let seen = std::mem::take(
        &mut *seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    TlsInfo {
        address: addr,
        protocol,
        chain: seen.chain.iter().filter_map(certificate).collect(),
        trusted: seen
            .verdict
            .unwrap_or_else(|| Err("the server presented no certificate".into())),
        handshake_ms,
    }
}

fn handshake(
    socket: &mut TcpStream,
    addr: SocketAddr,
    name: ServerName<'static>,
    timeout: Duration,
    started: Instant,
) -> Result<TlsInfo, NetError> {
    let (config, seen) = recording_config()?;
    let mut tls = ClientConnection::new(config, name).map_err(|e| NetError::Tls(e.to_string()))?;
    while tls.is_handshaking() {
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(NetError::Timeout);
        }
        let set = socket
            .set_read_timeout(Some(left))
            .and_then(|()| socket.set_write_timeout(Some(left)));
        set.map_err(|e| io_error(&e, &addr.to_string()))?;
        match tls.complete_io(socket) {
            Ok((0, 0)) if tls.is_handshaking() => {
                return Err(NetError::Refused(format!(
                    "{addr}: closed during the handshake"
                )));
            }
            Ok(_) => {}
            Err(e) => return Err(io_error(&e, &addr.to_string())),
        }
    }
    let handshake_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
    let protocol = protocol(tls.protocol_version());
    tls.send_close_notify();
    let _ = tls.write_tls(socket);
    let _ = socket.flush();
    Ok(found(addr, protocol, &seen, handshake_ms))
}
