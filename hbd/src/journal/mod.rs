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
//!
//! - [`entry`]: what the journal holds before formatting, and which actions become
//!   which entries.
//! - [`format`]: the lines, written by hand.
//! - [`rotate`]: the file, rotated by size.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{
    Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError, sync_channel,
};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::JournalConfig;
use crate::metrics::Metrics;

pub mod entry;
pub mod format;
pub mod rotate;

pub use entry::{Arrivals, Entry};
pub use format::{Formatter, format_entry};
pub use rotate::RotatingFile;

/// Longest time a written entry stays in the buffer.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Batches waiting for the writer before new ones are dropped (the engine sends one
/// batch per loop turn, so this is up to `QUEUE_LEN * 64` entries under load).
pub const QUEUE_LEN: usize = 4096;

/// Most bytes of text [`Arrivals::like`] reserves: a batch of ordinary heartbeats and
/// reports fits; a larger batch grows its buffer as it needs.
pub const ARRIVALS_ROOM: usize = 64 * 1024;

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
                        tracing::error!(%error, path = %file.path().display(), "journal write failed");
                        self.failing = true;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::path::Path;

    use super::*;
    use crate::clock::Timestamp;
    use crate::core::EventKind;
    use crate::model::Event;

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
        // Worded as the notification is (and the host's history).
        assert_eq!(
            v["message"]["summary"],
            "DOWN: web1 - no heartbeat for 1m 10s"
        );
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
