//! `dns_check` (contract 0.3.0): asks a DNS server for a name's records over TCP (every
//! DNS server answers on TCP, RFC 7766, and a TCP grant is all the plugin needs) and
//! reports the answer, how long it took and, with `expect`, whether it holds those
//! values. CRITICAL for no answer, an error code (NXDOMAIN, SERVFAIL, REFUSED), an empty
//! answer or a value `expect` names that is missing; WARNING or CRITICAL for an answer
//! slower than `warning_ms` / `critical_ms`.
//! Settings: `server` (required, `HOST:PORT` or `HOST` for port 53), `name`
//! (required), `type` (A, AAAA, CNAME, MX, NS, TXT, SOA, PTR, SRV, CAA; default A),
//! `expect` (values separated by commas, as `dig +short` prints them),
//! `warning_ms` (default 500), `critical_ms` (default 2000), `timeout_ms` (default
//! 3000), `recursion` (default `true`: ask the server to recurse).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::str::FromStr;
use std::time::{Duration, Instant};

use hbd_plugin_sdk::prelude::*;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use hickory_proto::serialize::binary::BinEncodable;

struct DnsCheck;

/// How a refusal by the agent starts: such a failure is the operator's (UNKNOWN), not
/// the server's.
const NOT_GRANTED: &str = "not granted to this plugin: ";

/// The largest answer read (a DNS message over TCP is at most 65,535 bytes).
const MAX_ANSWER: usize = 65_535;

/// `HOST:PORT`, `[V6]:PORT`, `HOST` or `V6` (port 53) as addresses to try in turn.
fn server_addresses(server: &str) -> Result<Vec<SocketAddr>, String> {
    let with_port = if server.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{server}]:53")
    } else if server
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        server.to_owned()
    } else {
        format!("{server}:53")
    };
    let addrs: Vec<SocketAddr> = with_port
        .to_socket_addrs()
        .map_err(|e| format!("server {server}: cannot resolve: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("server {server}: no address"));
    }
    Ok(addrs)
}

/// The response code as `dig` shows it (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ...).
fn mnemonic(code: ResponseCode) -> String {
    match u16::from(code) {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        6 => "YXDOMAIN".into(),
        7 => "YXRRSET".into(),
        8 => "NXRRSET".into(),
        9 => "NOTAUTH".into(),
        10 => "NOTZONE".into(),
        n => format!("RCODE{n}"),
    }
}

/// One query over one TCP connection: the answer and how long it took.
fn ask(addr: &SocketAddr, query: &[u8], timeout: Duration) -> Result<(Message, Duration), String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect_timeout(addr, timeout).map_err(|e| {
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            // wasi:sockets' access-denied: the operator did not grant this server.
            format!("{NOT_GRANTED}{addr} ({e})")
        } else {
            format!("{addr}: cannot connect: {e}")
        }
    })?;
    // On wasm32-wasip2 a refused connect can come back Ok: a connection has a peer.
    stream
        .peer_addr()
        .map_err(|_| format!("{addr}: cannot connect: refused or unreachable"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("{addr}: {e}"))?;
    let length = u16::try_from(query.len()).map_err(|_| "the query is too long")?;
    let mut framed = length.to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    stream
        .write_all(&framed)
        .map_err(|e| format!("{addr}: cannot send the query: {e}"))?;
    let mut size = [0u8; 2];
    stream
        .read_exact(&mut size)
        .map_err(|e| format!("{addr}: no answer within {} ms: {e}", timeout.as_millis()))?;
    let size = usize::from(u16::from_be_bytes(size)).min(MAX_ANSWER);
    let mut answer = vec![0u8; size];
    stream
        .read_exact(&mut answer)
        .map_err(|e| format!("{addr}: the answer broke off: {e}"))?;
    let took = started.elapsed();
    let message =
        Message::from_vec(&answer).map_err(|e| format!("{addr}: not a DNS answer: {e}"))?;
    Ok((message, took))
}

impl Plugin for DnsCheck {
    const NAME: &'static str = "dns_check";

    fn info() -> PluginInfo {
        PluginInfo::monitor(
            "dns_check",
            "does a DNS server answer a name with the records expected, and how fast",
        )
        .every(60)
        .version(env!("CARGO_PKG_VERSION"))
    }

    fn collect(config: &Settings) -> Result<Report, String> {
        let server = config.get("server").ok_or("config server is required")?;
        let name = config.get("name").ok_or("config name is required")?;
        let kind = config.get("type").unwrap_or("A").to_ascii_uppercase();
        let record_type = RecordType::from_str(&kind)
            .map_err(|_| format!("config type: {kind:?} is not a record type"))?;
        let timeout = Duration::from_millis(config.parse("timeout_ms")?.unwrap_or(3000));
        let warning_ms: f64 = config.parse("warning_ms")?.unwrap_or(500.0);
        let critical_ms: f64 = config.parse("critical_ms")?.unwrap_or(2000.0);
        let recursion: bool = config.parse("recursion")?.unwrap_or(true);
        let expected: Vec<String> = config
            .get("expect")
            .map(|e| {
                e.split(',')
                    .map(|v| v.trim().trim_end_matches('.').to_ascii_lowercase())
                    .filter(|v| !v.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let fqdn = Name::from_ascii(name).map_err(|e| format!("config name: {e}"))?;

        let mut query = Message::new();
        // The id only has to match within one TCP connection; the clock's low bits do.
        query
            .set_id((host::now_ms() & 0xffff) as u16)
            .set_message_type(MessageType::Query)
            .set_op_code(OpCode::Query)
            .set_recursion_desired(recursion)
            .add_query(Query::query(fqdn, record_type));
        let wire = query
            .to_bytes()
            .map_err(|e| format!("cannot make the query: {e}"))?;

        let mut failures = Vec::new();
        for addr in server_addresses(server)? {
            let (answer, took) = match ask(&addr, &wire, timeout) {
                Ok(answered) => answered,
                Err(why) if why.starts_with(NOT_GRANTED) => return Err(why),
                Err(why) => {
                    failures.push(why);
                    continue;
                }
            };
            let ms = took.as_secs_f64() * 1000.0;
            let values: Vec<String> = answer
                .answers()
                .iter()
                .filter(|r| r.record_type() == record_type)
                .map(|r| r.data().to_string())
                .collect();
            let code = answer.response_code();
            let rcode = mnemonic(code);
            let mut report = Report::new()
                .metric(&["response_ms"], ms)
                .metric(&["rcode"], rcode.as_str())
                .metric(&["answers"], values.len() as u64)
                .metric(&["answer"], values.join(", ").as_str())
                .metric(&["server"], addr.to_string());
            if answer.id() != query.id() {
                report = report.status(
                    Status::Critical,
                    &format!("{addr}: the answer is for another query"),
                );
                return Ok(report);
            }
            let shown = |v: &str| v.trim_end_matches('.').to_ascii_lowercase();
            let have: Vec<String> = values.iter().map(|v| shown(v)).collect();
            let missing: Vec<&String> = expected.iter().filter(|e| !have.contains(e)).collect();
            let (status, message) = if code != ResponseCode::NoError {
                (
                    Status::Critical,
                    format!("{name} {kind}: {rcode} from {addr}"),
                )
            } else if values.is_empty() {
                (
                    Status::Critical,
                    format!("{name} {kind}: no records at {addr}"),
                )
            } else if !missing.is_empty() {
                let missing: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                (
                    Status::Critical,
                    format!(
                        "{name} {kind} is {} at {addr}, without {}",
                        values.join(", "),
                        missing.join(", ")
                    ),
                )
            } else {
                let status = if ms > critical_ms {
                    Status::Critical
                } else if ms > warning_ms {
                    Status::Warning
                } else {
                    Status::Ok
                };
                (
                    status,
                    format!(
                        "{name} {kind} is {} ({ms:.1} ms from {addr})",
                        values.join(", ")
                    ),
                )
            };
            return Ok(report.status(status, &message));
        }
        Ok(Report::new().status(Status::Critical, &failures.join("; ")))
    }
}

export_plugin!(DnsCheck);
