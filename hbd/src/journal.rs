//! The message journal: every accepted datagram and every host event as one JSON Lines
//! entry `{"timestamp","datetime","source_ip","source_port","message"}`, written by its
//! own thread with size-based rotation (`FILE`, `FILE.1` ... `FILE.N`).
//!
//! The receiver hands over each batch's datagrams as they arrived ([`Arrivals`]: their
//! JSON texts in one buffer), the engine everything else, over one bounded channel
//! (full: the entries are dropped and counted, by line, in `hbd_journal_dropped_total`),
//! so a slow disk never stalls heartbeats. Every line is formatted on the writer's
//! thread, off the heartbeat path. The writer flushes at least every second and when
//! the channel closes at shutdown.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{
    Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError, sync_channel,
};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock::Timestamp;
use crate::config::JournalConfig;
use crate::metrics::Metrics;
use crate::model::{Event, Job, JobState, Notice};

/// Longest time a written entry stays in the buffer.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Batches waiting for the writer before new ones are dropped (the engine sends one
/// batch per loop turn, so this is up to `QUEUE_LEN * 64` entries under load).
pub const QUEUE_LEN: usize = 4096;

/// Most bytes of text [`Arrivals::like`] reserves: a batch of ordinary heartbeats and
/// reports fits; a larger batch grows its buffer as it needs.
pub const ARRIVALS_ROOM: usize = 64 * 1024;

/// Datagrams' JSON texts in arrival order, each with when and from where it came: one
/// buffer for a whole batch, so the receiver pays a copy of each text and nothing else,
/// and the writer's thread formats the lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Arrivals {
    /// The texts, one after another.
    text: Vec<u8>,
    /// Each datagram's arrival, source and the end of its text in `text`.
    items: Vec<(Timestamp, SocketAddr, usize)>,
}

impl Arrivals {
    /// Room for `datagrams` datagrams of `bytes` bytes in all, allocated at once.
    pub fn with_capacity(datagrams: usize, bytes: usize) -> Arrivals {
        Arrivals {
            text: Vec::with_capacity(bytes),
            items: Vec::with_capacity(datagrams),
        }
    }

    /// Adds a datagram received from `source` at `at` with the JSON text `json`.
    pub fn push(&mut self, at: Timestamp, source: SocketAddr, json: &[u8]) {
        self.text.extend_from_slice(json);
        self.items.push((at, source, self.text.len()));
    }

    /// How many datagrams.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Empty arrivals with room for as many datagrams and bytes as this one has room
    /// for, up to [`ARRIVALS_ROOM`] bytes: the next batch's buffer, allocated once. (A
    /// batch of large reports does not make every later batch reserve as much.)
    pub fn like(&self) -> Arrivals {
        Arrivals::with_capacity(
            self.items.capacity(),
            self.text.capacity().min(ARRIVALS_ROOM),
        )
    }

    /// Each datagram's arrival, source and text, in order.
    pub fn iter(&self) -> impl Iterator<Item = (Timestamp, SocketAddr, &[u8])> {
        let mut start = 0;
        self.items.iter().map(move |&(at, source, end)| {
            let json = &self.text[start..end];
            start = end;
            (at, source, json)
        })
    }
}

/// One journal entry before formatting.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// Accepted datagrams (and ones with an unknown `ID`), in arrival order.
    Datagrams(Arrivals),
    /// A host event.
    Event(Event),
    /// An alert change or reminder, with its rendered text.
    Alert(Notice, String),
    /// An operator's command and what came of it.
    Command {
        /// When it was applied.
        at: Timestamp,
        /// The command (`{"command": "drop_host", ...}`).
        command: serde_json::Value,
        /// `ok`, or why it was refused.
        result: String,
    },
    /// A command for an agent was first sent, got its result, or expired.
    Job(Job),
    /// A DNS update ended.
    Dns {
        /// When.
        at: Timestamp,
        /// The host.
        host: String,
        /// The record.
        name: String,
        /// The address written.
        address: std::net::IpAddr,
        /// `ok`, or why it failed.
        result: String,
    },
    /// What the alert policy decided about a notification.
    Decision(crate::model::Decision),
    /// A notification given up on.
    Dropped {
        /// When.
        at: Timestamp,
        /// The channel.
        channel: &'static str,
        /// The message.
        text: String,
        /// Why.
        reason: String,
    },
    /// A sign-in, refused or not, and other account events.
    Auth {
        /// When.
        at: Timestamp,
        /// The client's address.
        source: std::net::IpAddr,
        /// `login`, `login_failed`, `login_throttled`, `logout`.
        event: &'static str,
        /// The user name given.
        user: String,
    },
}

/// Why the journal could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The directory or file could not be created or opened.
    #[error("cannot open journal {path}: {source}")]
    Open {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

impl Entry {
    /// How many journal lines this entry is.
    pub fn lines(&self) -> usize {
        match self {
            Entry::Datagrams(arrivals) => arrivals.len(),
            _ => 1,
        }
    }
}

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
        if json.iter().any(|&b| b == b'\n' || b == b'\r') {
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
            | Entry::Auth { at, .. } => *at,
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
                }
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
        }
        out.extend_from_slice(b"}\n");
    }
}

/// An append-only file that rotates by size.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_size: u64,
    max_backups: u32,
    file: BufWriter<File>,
    size: u64,
}

impl RotatingFile {
    /// Opens (creating the directory) for appending.
    pub fn open(path: &Path, max_size: u64, max_backups: u32) -> io::Result<RotatingFile> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_owned(),
            max_size,
            max_backups,
            file: BufWriter::with_capacity(256 * 1024, file),
            size,
        })
    }

    fn backup(&self, n: u32) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// Appends one line, rotating first if it would pass `max_size`.
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        if self.size > 0 && self.size + line.len() as u64 > self.max_size {
            self.rotate()?;
        }
        self.file.write_all(line)?;
        self.size += line.len() as u64;
        Ok(())
    }

    /// Appends newline-terminated lines, rotating between two lines where one would
    /// take the file past its size.
    pub fn write_lines(&mut self, text: &[u8]) -> io::Result<()> {
        if self.size + text.len() as u64 <= self.max_size {
            self.file.write_all(text)?;
            self.size += text.len() as u64;
            return Ok(());
        }
        for line in text.split_inclusive(|&b| b == b'\n') {
            self.write_line(line)?;
        }
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        if self.max_backups > 0 {
            for n in (1..self.max_backups).rev() {
                let from = self.backup(n);
                if from.exists() {
                    std::fs::rename(&from, self.backup(n + 1))?;
                }
            }
            std::fs::rename(&self.path, self.backup(1))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&self.path)?;
        self.file = BufWriter::with_capacity(256 * 1024, file);
        self.size = 0;
        Ok(())
    }

    /// Flushes buffered lines to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The engine's side of the journal.
#[derive(Debug, Clone)]
pub struct Journal {
    tx: Option<SyncSender<Vec<Entry>>>,
    metrics: Arc<Metrics>,
}

impl Journal {
    /// A journal that discards everything (`journal_enabled: false`).
    pub fn disabled(metrics: Arc<Metrics>) -> Journal {
        Journal { tx: None, metrics }
    }

    /// Queues a batch of entries; drops and counts them if the writer is behind.
    pub fn record(&self, entries: Vec<Entry>) {
        let Some(tx) = &self.tx else { return };
        if entries.is_empty() {
            return;
        }
        match tx.try_send(entries) {
            Ok(()) => {}
            Err(TrySendError::Full(lost) | TrySendError::Disconnected(lost)) => {
                let lines: usize = lost.iter().map(Entry::lines).sum();
                self.metrics.journal_dropped.inc_by(lines as u64);
            }
        }
    }

    /// Whether entries are written at all.
    pub fn enabled(&self) -> bool {
        self.tx.is_some()
    }
}

/// Opens the journal and starts its writer thread. The thread ends, after a final flush,
/// once every [`Journal`] handle is dropped.
pub fn start(
    config: &JournalConfig,
    metrics: Arc<Metrics>,
) -> Result<(Journal, Option<JoinHandle<()>>), JournalError> {
    if !config.enabled {
        return Ok((Journal::disabled(metrics), None));
    }
    let path = config.path();
    let file =
        RotatingFile::open(&path, config.max_size, config.max_backups).map_err(|source| {
            JournalError::Open {
                path: path.clone(),
                source,
            }
        })?;
    let (tx, rx) = sync_channel(QUEUE_LEN);
    let writer_metrics = metrics.clone();
    let handle = std::thread::Builder::new()
        .name("hbd-journal".into())
        .spawn(move || write_loop(file, rx, &writer_metrics))
        .map_err(|source| JournalError::Open { path, source })?;
    Ok((
        Journal {
            tx: Some(tx),
            metrics,
        },
        Some(handle),
    ))
}

/// How long the writer gathers batches after it wakes. Under load the receiver hands
/// over a batch thousands of times a second; gathering them for this long means one
/// wake-up (of the writer, paid for by the receiver too) per `GATHER` rather than one
/// per batch. An idle daemon's entries still go to the file at once.
pub const GATHER: Duration = Duration::from_millis(2);

fn write_loop(mut file: RotatingFile, rx: Receiver<Vec<Entry>>, metrics: &Metrics) {
    let mut writer = Writer {
        failing: false,
        formatter: Formatter::default(),
        line: Vec::with_capacity(1024),
    };
    let mut last_flush = Instant::now();
    'running: loop {
        let wait = FLUSH_EVERY.saturating_sub(last_flush.elapsed());
        match rx.recv_timeout(wait) {
            Ok(entries) => {
                writer.write(&mut file, &entries, metrics);
                std::thread::sleep(GATHER);
                loop {
                    match rx.try_recv() {
                        Ok(entries) => writer.write(&mut file, &entries, metrics),
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => break 'running,
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if last_flush.elapsed() >= FLUSH_EVERY {
            if let Err(error) = file.flush() {
                tracing::warn!(%error, "journal flush failed");
            }
            last_flush = Instant::now();
        }
    }
    if let Err(error) = file.flush() {
        tracing::error!(%error, "final journal flush failed");
    }
}

/// The writer thread's formatting state.
struct Writer {
    /// Whether the last write failed (a failure is logged once, not per entry).
    failing: bool,
    formatter: Formatter,
    line: Vec<u8>,
}

impl Writer {
    /// Writes a batch; what cannot be written is counted as dropped.
    fn write(&mut self, file: &mut RotatingFile, entries: &[Entry], metrics: &Metrics) {
        for entry in entries {
            self.line.clear();
            self.formatter.format(entry, &mut self.line);
            let written = file.write_lines(&self.line).map(|()| self.line.len());
            match written {
                Ok(bytes) => {
                    metrics.journal_bytes.inc_by(bytes as u64);
                    self.failing = false;
                }
                Err(error) => {
                    metrics.journal_dropped.inc_by(entry.lines() as u64);
                    if !self.failing {
                        tracing::error!(%error, path = %file.path.display(), "journal write failed");
                        self.failing = true;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::EventKind;

    fn datagram(at: Timestamp, source: &str, json: &[u8]) -> Entry {
        let mut arrivals = Arrivals::default();
        arrivals.push(at, source.parse().unwrap(), json);
        Entry::Datagrams(arrivals)
    }

    #[test]
    fn datagram_entries_have_the_documented_fields() {
        let entry = datagram(
            Timestamp(1_764_000_000_123),
            "127.0.0.1:4000",
            b"{\n\"ID\":\"HTB\",\"name\":\"web1\"}",
        );
        let line = String::from_utf8(format_entry(&entry)).unwrap();
        assert_eq!(
            line,
            "{\"timestamp\":1764000000.123,\"datetime\":\"2025-11-24T16:00:00.123Z\",\
             \"source_ip\":\"127.0.0.1\",\"source_port\":4000,\
             \"message\":{\"ID\":\"HTB\",\"name\":\"web1\"}}\n"
        );
        // Milliseconds keep their zeros; IPv6 sources, and IPv4 ones mapped into IPv6
        // (a dual-stack socket), are written as addresses, the latter as IPv4.
        for (ms, source, stamp, ip) in [
            (7, "[::1]:53", "1764000000.007", "::1"),
            (50, "[::ffff:10.0.0.9]:1", "1764000000.050", "10.0.0.9"),
            (0, "10.20.30.255:65535", "1764000000.000", "10.20.30.255"),
        ] {
            let entry = datagram(Timestamp(1_764_000_000_000 + ms), source, b"{}");
            let line = String::from_utf8(format_entry(&entry)).unwrap();
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert!(
                line.starts_with(&format!("{{\"timestamp\":{stamp},")),
                "{line}"
            );
            assert_eq!(v["source_ip"], ip, "{line}");
            let port: std::net::SocketAddr = source.parse().unwrap();
            assert_eq!(v["source_port"], port.port(), "{line}");
        }
    }

    #[test]
    fn a_batch_of_datagrams_is_one_line_each_in_arrival_order() {
        let mut arrivals = Arrivals::with_capacity(4, 64);
        let texts: [&[u8]; 3] = [b"{\"n\":1}", b"{}", b"{\"n\":\"three\"}"];
        for (i, json) in texts.iter().enumerate() {
            let port = 4000 + i as u16;
            arrivals.push(
                Timestamp(1_764_000_000_000 + i as u64),
                SocketAddr::from(([127, 0, 0, 1], port)),
                json,
            );
        }
        let entry = Entry::Datagrams(arrivals);
        assert_eq!(entry.lines(), 3);
        let text = String::from_utf8(format_entry(&entry)).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        for (i, (line, json)) in text.lines().zip(texts).enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let want: serde_json::Value = serde_json::from_slice(json).unwrap();
            assert_eq!(v["message"], want, "{line}");
            assert_eq!(v["source_port"], 4000 + i, "{line}");
            let stamp = format!("{{\"timestamp\":1764000000.00{i},");
            assert!(line.starts_with(&stamp), "{line}");
        }
    }

    #[test]
    fn the_next_batch_reserves_no_more_than_arrivals_room() {
        let source: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut big = Arrivals::default();
        big.push(Timestamp(0), source, &vec![b' '; 4 * ARRIVALS_ROOM]);
        assert_eq!(big.like().text.capacity(), ARRIVALS_ROOM);
        let mut usual = Arrivals::with_capacity(64, 8 * 1024);
        usual.push(Timestamp(0), source, b"{}");
        let next = usual.like();
        assert!(next.is_empty());
        assert_eq!(
            (next.items.capacity(), next.text.capacity()),
            (64, 8 * 1024)
        );
    }

    #[test]
    fn events_are_entries_too() {
        let entry = Entry::Event(Event {
            host: "web1".into(),
            at: Timestamp(1_000),
            kind: EventKind::Down {
                silent_for_s: Duration::from_secs(70),
            },
        });
        let line = format_entry(&entry);
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["source_ip"], serde_json::Value::Null);
        assert_eq!(v["message"]["ID"], "EVENT");
        assert_eq!(v["message"]["event"], "DOWN");
        assert_eq!(v["message"]["name"], "web1");
        assert_eq!(v["message"]["silent_for_s"], 70.0);
    }

    #[test]
    fn rotation_keeps_max_backups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut file = RotatingFile::open(&path, 100, 2).unwrap();
        let line = [b'x'; 39]
            .iter()
            .copied()
            .chain([b'\n'])
            .collect::<Vec<u8>>();
        for _ in 0..9 {
            file.write_line(&line).unwrap(); // 2 lines per file
        }
        file.flush().unwrap();
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).ok();
        assert_eq!(size(&path), Some(40));
        assert_eq!(size(&dir.path().join("j.jsonl.1")), Some(80));
        assert_eq!(size(&dir.path().join("j.jsonl.2")), Some(80));
        assert_eq!(size(&dir.path().join("j.jsonl.3")), None);
    }

    #[test]
    fn a_block_of_lines_rotates_between_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut file = RotatingFile::open(&path, 100, 3).unwrap();
        let line = |c: u8| [c; 39].iter().copied().chain([b'\n']).collect::<Vec<u8>>();
        // One line, then a block of five: 40 + 200 bytes over files of 100 at most.
        file.write_lines(&line(b'a')).unwrap();
        let block: Vec<u8> = (b'b'..=b'f').flat_map(line).collect();
        file.write_lines(&block).unwrap();
        file.flush().unwrap();
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        // Oldest first: "ab", "cd", then "ef" in the live file; no line is split.
        for (name, want) in [("j.jsonl.2", "ab"), ("j.jsonl.1", "cd"), ("j.jsonl", "ef")] {
            let firsts: String = read(name).lines().map(|l| &l[..1]).collect();
            assert_eq!(firsts, want, "{name}");
            assert!(read(name).lines().all(|l| l.len() == 39), "{name}");
        }
    }
}
