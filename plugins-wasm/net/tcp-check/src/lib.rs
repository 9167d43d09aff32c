//! `tcp_check` (contract 0.3.0): connects to `host:port` and reports how long the
//! connection took, and, with `expect`, whether the service's first words hold that
//! text (an SSH banner, an SMTP greeting). The agent lets it reach only what the
//! operator granted (`net: [HOST:PORT]`); anything else is refused, which this plugin
//! reports as UNKNOWN, naming the address.
//! Settings: `host` and `port` (required), `timeout_ms` (default 3000),
//! `warning_ms` and `critical_ms` (connect time; default 1000 and 3000), `expect`.

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use hbd_plugin_sdk::prelude::*;

struct TcpCheck;

/// Most bytes of a greeting read for `expect`.
const GREETING_BYTES: usize = 1024;

/// What connecting to one address gave.
enum Outcome {
    Connected(TcpStream, Duration),
    Refused(String),
    Failed(String),
}

fn connect(addr: &SocketAddr, timeout: Duration) -> Outcome {
    let started = Instant::now();
    match TcpStream::connect_timeout(addr, timeout) {
        // On wasm32-wasip2 the standard library's connect with a time limit reports
        // success once the attempt is over, refused or not (wasi-libc sets no
        // SO_ERROR): a connection that was made has a peer. One that was not is tried
        // once more without the limit (a refusal comes at once), for its real error.
        Ok(stream) => match stream.peer_addr() {
            Ok(_) => Outcome::Connected(stream, started.elapsed()),
            Err(_) => match TcpStream::connect(addr) {
                Ok(stream) => Outcome::Connected(stream, started.elapsed()),
                Err(e) => Outcome::Failed(format!("{addr}: {e}")),
            },
        },
        // wasi:sockets' access-denied: not granted to this plugin.
        Err(e) if e.kind() == ErrorKind::PermissionDenied => {
            Outcome::Refused(format!("{addr}: not granted to this plugin ({e})"))
        }
        Err(e) if e.kind() == ErrorKind::TimedOut => Outcome::Failed(format!(
            "{addr}: no answer within {} ms",
            timeout.as_millis()
        )),
        Err(e) => Outcome::Failed(format!("{addr}: {e}")),
    }
}

/// The service's first words, up to [`GREETING_BYTES`] or until `timeout`.
fn greeting(stream: &mut TcpStream, timeout: Duration) -> Result<String, String> {
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| format!("cannot wait for a greeting: {e}"))?;
    let mut buf = vec![0; GREETING_BYTES];
    let n = stream
        .read(&mut buf)
        .map_err(|e| format!("no greeting within {} ms: {e}", timeout.as_millis()))?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

impl Plugin for TcpCheck {
    const NAME: &'static str = "tcp_check";

    fn info() -> PluginInfo {
        PluginInfo::monitor(
            "tcp_check",
            "does a TCP port accept connections, and how fast",
        )
        .every(60)
        .version(env!("CARGO_PKG_VERSION"))
    }

    fn collect(config: &Settings) -> Result<Report, String> {
        let host = config.get("host").ok_or("config host is required")?;
        let port: u16 = config.parse("port")?.ok_or("config port is required")?;
        let timeout = Duration::from_millis(config.parse("timeout_ms")?.unwrap_or(3000));
        let warning_ms: f64 = config.parse("warning_ms")?.unwrap_or(1000.0);
        let critical_ms: f64 = config.parse("critical_ms")?.unwrap_or(3000.0);
        let addrs: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("{host}: cannot resolve: {e}"))?
            .collect();
        if addrs.is_empty() {
            return Err(format!("{host}: no address"));
        }
        let mut failures = Vec::new();
        for addr in &addrs {
            let (mut stream, took) = match connect(addr, timeout) {
                Outcome::Connected(stream, took) => (stream, took),
                Outcome::Refused(why) => return Err(why),
                Outcome::Failed(why) => {
                    failures.push(why);
                    continue;
                }
            };
            let ms = took.as_secs_f64() * 1000.0;
            let report = Report::new()
                .metric(&["connect_ms"], ms)
                .metric(&["address"], addr.to_string());
            if let Some(expected) = config.get("expect") {
                let said = match greeting(&mut stream, timeout) {
                    Ok(said) => said,
                    Err(why) => {
                        return Ok(report.status(Status::Critical, &format!("{addr}: {why}")));
                    }
                };
                if !said.contains(expected) {
                    let first = said.lines().next().unwrap_or("").chars().take(80);
                    return Ok(report.status(
                        Status::Critical,
                        &format!(
                            "{addr} answered {:?}, not {expected:?}",
                            first.collect::<String>()
                        ),
                    ));
                }
            }
            let status = if ms > critical_ms {
                Status::Critical
            } else if ms > warning_ms {
                Status::Warning
            } else {
                Status::Ok
            };
            return Ok(report.status(status, &format!("{addr} accepted in {ms:.1} ms")));
        }
        Ok(Report::new().status(Status::Critical, &failures.join("; ")))
    }
}

export_plugin!(TcpCheck);
