//! A log sink for the detached agent: each log event becomes one datagram on
//! `/dev/log` (RFC 3164 framing, facility daemon), with the priority from its level.

use std::io::{self, Write};
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// Writes log events to the local syslog socket.
#[derive(Debug, Clone)]
pub struct Syslog {
    socket: Arc<UnixDatagram>,
    tag: String,
}

impl Syslog {
    /// Connects to `/dev/log`.
    pub fn connect(ident: &str) -> io::Result<Syslog> {
        let socket = UnixDatagram::unbound()?;
        socket.connect("/dev/log")?;
        Ok(Syslog {
            socket: Arc::new(socket),
            tag: format!("{ident}[{}]", std::process::id()),
        })
    }
}

/// One event's buffer; sent when dropped.
#[derive(Debug)]
pub struct Line {
    socket: Arc<UnixDatagram>,
    buf: Vec<u8>,
}

impl Write for Line {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        while self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        }
        let _ = self.socket.send(&self.buf);
    }
}

/// Facility `daemon` (3) times 8 plus the severity.
fn priority(level: &Level) -> u8 {
    let severity = match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    };
    3 * 8 + severity
}

impl<'a> MakeWriter<'a> for Syslog {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        self.line(&Level::INFO)
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Line {
        self.line(meta.level())
    }
}

impl Syslog {
    fn line(&self, level: &Level) -> Line {
        Line {
            socket: self.socket.clone(),
            buf: format!("<{}>{}: ", priority(level), self.tag).into_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_use_the_daemon_facility() {
        assert_eq!(priority(&Level::ERROR), 27);
        assert_eq!(priority(&Level::INFO), 30);
        assert_eq!(priority(&Level::TRACE), 31);
    }
}
