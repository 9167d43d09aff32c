//! Journal lines, written by hand: `{"timestamp","datetime","source_ip","source_port",
//! "message"}` for every entry, on the writer's thread (the property tests in the
//! journal's tests check each line against serde's reading of it).

use std::io::Write;
use std::net::SocketAddr;

use super::entry::Entry;
use crate::clock::Timestamp;
use crate::model::JobState;

/// Formats one entry as a JSON line (with its trailing newline).
pub fn format_entry(entry: &Entry) -> Vec<u8> {
    let mut line = Vec::with_capacity(256);
    Formatter::default().format(entry, &mut line);
    line
}

/// Formats entries, remembering the last `datetime` text: under load many entries share
/// a millisecond, and RFC 3339 formatting is the costliest part of a line.
#[derive(Debug, Default)]
pub struct Formatter {
    cached_at: Option<Timestamp>,
    cached_datetime: String,
}

impl Formatter {
    /// Appends the line of a datagram received from `source` at `at` with the JSON text
    /// `json`. Written by hand rather than with `write!`: this runs for every datagram,
    /// and `core::fmt` was most of its cost.
    pub fn datagram(&mut self, at: Timestamp, source: SocketAddr, json: &[u8], out: &mut Vec<u8>) {
        self.head(at, out);
        let mut digits = itoa::Buffer::new();
        out.extend_from_slice(b"\"source_ip\":\"");
        match source.ip().to_canonical() {
            std::net::IpAddr::V4(v4) => {
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        out.push(b'.');
                    }
                    out.extend_from_slice(digits.format(octet).as_bytes());
                }
            }
            v6 => {
                let _ = write!(out, "{v6}");
            }
        }
        out.extend_from_slice(b"\",\"source_port\":");
        out.extend_from_slice(digits.format(source.port()).as_bytes());
        out.extend_from_slice(b",\"message\":");
        if memchr::memchr2(b'\n', b'\r', json).is_some() {
            // Pretty-printed JSON would break the one-entry-per-line rule: re-minify.
            let minified = serde_json::from_slice::<serde_json::Value>(json)
                .map(|v| v.to_string())
                .unwrap_or_else(|_| "null".into());
            out.extend_from_slice(minified.as_bytes());
        } else {
            out.extend_from_slice(json);
        }
        out.extend_from_slice(b"}\n");
    }

    /// Appends `{"timestamp":...,"datetime":"...",`, the start of every line.
    fn head(&mut self, at: Timestamp, out: &mut Vec<u8>) {
        if self.cached_at != Some(at) {
            self.cached_datetime = at.rfc3339();
            self.cached_at = Some(at);
        }
        let mut digits = itoa::Buffer::new();
        out.extend_from_slice(b"{\"timestamp\":");
        out.extend_from_slice(digits.format(at.0 / 1000).as_bytes());
        let millis = at.0 % 1000;
        out.extend_from_slice(&[
            b'.',
            b'0' + (millis / 100) as u8,
            b'0' + (millis / 10 % 10) as u8,
            b'0' + (millis % 10) as u8,
        ]);
        out.extend_from_slice(b",\"datetime\":\"");
        out.extend_from_slice(self.cached_datetime.as_bytes());
        out.extend_from_slice(b"\",");
    }

    /// Appends `entry`'s lines (each with its newline) to `out`.
    pub fn format(&mut self, entry: &Entry, out: &mut Vec<u8>) {
        let at = match entry {
            Entry::Datagrams(arrivals) => {
                for (at, source, json) in arrivals.iter() {
                    self.datagram(at, source, json, out);
                }
                return;
            }
            Entry::Dropped { at, .. }
            | Entry::Dns { at, .. }
            | Entry::Command { at, .. }
            | Entry::Ack { at, .. }
            | Entry::Auth { at, .. } => *at,
            Entry::Audit(a) => a.at,
            Entry::Alert(notice, _) => notice.at,
            Entry::Event(event) => event.at,
            Entry::Decision(d) => d.at,
            Entry::Job(job) => match &job.state {
                JobState::Sent { last, .. } => *last,
                JobState::Done { at, .. } | JobState::Expired { at, .. } => *at,
                JobState::Queued => job.queued,
            },
        };
        self.head(at, out);
        match entry {
            // Written above.
            Entry::Datagrams(_) => {}
            Entry::Event(event) => {
                out.extend_from_slice(b"\"source_ip\":null,\"source_port\":null,\"message\":");
                let mut value = serde_json::to_value(event).unwrap_or_default();
                if let Some(map) = value.as_object_mut() {
                    map.remove("at");
                    let host = map.remove("host").unwrap_or_default();
                    map.insert("ID".into(), "EVENT".into());
                    map.insert("name".into(), host);
                    // Worded as notifications word it (render.rs), for the history.
                    if let Some(text) = crate::render::event_line(event) {
                        map.insert("summary".into(), text.into());
                    }
                }
                out.extend_from_slice(value.to_string().as_bytes());
            }
            Entry::Ack {
                host,
                path,
                ack,
                ended,
                ..
            } => {
                out.extend_from_slice(b"\"source_ip\":null,\"source_port\":null,\"message\":");
                let value = match ack {
                    Some(a) => serde_json::json!({
                        "ID": "ACK", "name": host, "path": path, "by": a.by,
                        "comment": a.comment, "until": a.until,
                    }),
                    None => serde_json::json!({
                        "ID": "ACK_ENDED", "name": host, "path": path, "why": ended,
                    }),
                };
                out.extend_from_slice(value.to_string().as_bytes());
            }
            Entry::Decision(decision) => {
                out.extend_from_slice(b"\"source_ip\":null,\"source_port\":null,\"message\":");
                let mut value = serde_json::to_value(decision).unwrap_or_default();
                if let Some(map) = value.as_object_mut() {
                    map.remove("at");
                    let host = map.remove("host").unwrap_or_default();
                    map.insert("ID".into(), "POLICY".into());
                    map.insert("name".into(), host);
                }
                out.extend_from_slice(value.to_string().as_bytes());
            }
            Entry::Alert(notice, text) => {
                out.extend_from_slice(b"\"source_ip\":null,\"source_port\":null,\"message\":");
                let value = serde_json::json!({
                    "ID": "ALERT",
                    "name": notice.host,
                    "path": notice.path,
                    "kind": notice.kind,
                    "from": notice.from,
                    "to": notice.to,
                    "text": text,
                });
                out.extend_from_slice(value.to_string().as_bytes());
            }
            Entry::Command {
                command, result, ..
            } => {
                out.extend_from_slice(b"\"source_ip\":null,\"source_port\":null,\"message\":");
                let mut value = command.clone();
                if let Some(map) = value.as_object_mut() {
                    map.insert("ID".into(), "COMMAND".into());
                    map.insert("result".into(), result.clone().into());
                }
                out.extend_from_slice(value.to_string().as_bytes());
            }
            Entry::Dns {
                host,
                name,
                address,
                result,
                ..
            } => {
                out.extend_from_slice(b"\"source_ip\":null,\"source_port\":null,\"message\":");
                let value = serde_json::json!({
                    "ID": "DNS", "name": host, "record": name, "address": address.to_string(),
                    "result": result,
                });
                out.extend_from_slice(value.to_string().as_bytes());
            }
            Entry::Job(job) => {
                out.extend_from_slice(b"\"source_ip\":null,\"source_port\":null,\"message\":");
                let mut value = serde_json::to_value(job).unwrap_or_default();
                if let Some(map) = value.as_object_mut() {
                    map.insert("ID".into(), "JOB".into());
                }
                out.extend_from_slice(value.to_string().as_bytes());
            }
            Entry::Dropped {
                channel,
                text,
                reason,
                ..
            } => {
                out.extend_from_slice(b"\"source_ip\":null,\"source_port\":null,\"message\":");
                let value = serde_json::json!({
                    "ID": "NOTIFICATION_DROPPED",
                    "channel": channel,
                    "text": text,
                    "reason": reason,
                });
                out.extend_from_slice(value.to_string().as_bytes());
            }
            Entry::Auth {
                source,
                event,
                user,
                ..
            } => {
                let _ = write!(
                    out,
                    "\"source_ip\":\"{}\",\"source_port\":null,\"message\":",
                    source.to_canonical()
                );
                let value = serde_json::json!({ "ID": "AUTH", "event": event, "user": user });
                out.extend_from_slice(value.to_string().as_bytes());
            }
            Entry::Audit(a) => {
                let asked = &a.asked;
                let _ = write!(out, "\"source_ip\":{},", serde_json::json!(asked.address));
                out.extend_from_slice(b"\"source_port\":null,\"message\":");
                let mut value = serde_json::to_value(asked).unwrap_or_default();
                if let Some(map) = value.as_object_mut() {
                    map.remove("address");
                    map.insert("ID".into(), "AUDIT".into());
                }
                out.extend_from_slice(value.to_string().as_bytes());
            }
        }
        out.extend_from_slice(b"}\n");
    }
}
