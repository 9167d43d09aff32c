//! A log sink for the agent run as a Windows service, which has no console: each log
//! event becomes one entry in the Application event log under the source `hbc`, of the
//! type its level names (error, warning, information), as Event Viewer and
//! `Get-WinEvent` show them.

use std::io::{self, Write};
use std::sync::Arc;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::EventLog::{
    DeregisterEventSource, EVENTLOG_ERROR_TYPE, EVENTLOG_INFORMATION_TYPE, EVENTLOG_WARNING_TYPE,
    REPORT_EVENT_TYPE, RegisterEventSourceW, ReportEventW,
};

/// The event ID of every entry: the text is the whole message (hbc registers no message
/// file, so Event Viewer prefaces it with a note saying so).
const EVENT_ID: u32 = 1;

/// An open event source.
#[derive(Debug)]
struct Source(HANDLE);

// SAFETY: an event source handle may be used from any thread (ReportEventW is
// thread-safe); it is only closed in Drop, when no writer holds it any more.
#[allow(unsafe_code)]
unsafe impl Send for Source {}
// SAFETY: as above: ReportEventW may be called on one handle from several threads.
#[allow(unsafe_code)]
unsafe impl Sync for Source {}

impl Drop for Source {
    fn drop(&mut self) {
        // SAFETY: the handle came from RegisterEventSourceW and is closed once, here.
        #[allow(unsafe_code)]
        unsafe {
            DeregisterEventSource(self.0);
        }
    }
}

/// Writes log events to the Application event log.
#[derive(Debug, Clone)]
pub struct EventLog {
    source: Arc<Source>,
}

impl EventLog {
    /// Opens the event source `name` on this machine.
    pub fn open(name: &str) -> io::Result<EventLog> {
        let name = wide(name);
        // SAFETY: `name` is a NUL-terminated wide string that outlives the call; a null
        // server name means this machine.
        #[allow(unsafe_code)]
        let handle = unsafe { RegisterEventSourceW(std::ptr::null(), name.as_ptr()) };
        if handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(EventLog {
            source: Arc::new(Source(handle)),
        })
    }
}

/// The entry type a level is written as.
fn entry_type(level: &Level) -> REPORT_EVENT_TYPE {
    match *level {
        Level::ERROR => EVENTLOG_ERROR_TYPE,
        Level::WARN => EVENTLOG_WARNING_TYPE,
        _ => EVENTLOG_INFORMATION_TYPE,
    }
}

/// `text` as a NUL-terminated UTF-16 string (a NUL inside would end it early, so each
/// becomes a space).
fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16()
        .map(|c| if c == 0 { u16::from(b' ') } else { c })
        .chain(std::iter::once(0))
        .collect()
}

/// One event's buffer; reported when dropped.
#[derive(Debug)]
pub struct Entry {
    source: Arc<Source>,
    kind: REPORT_EVENT_TYPE,
    buf: Vec<u8>,
}

impl Write for Entry {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let text = wide(text.trim());
        let strings = [text.as_ptr()];
        // SAFETY: the handle is open while `source` lives; `strings` holds one pointer
        // to a NUL-terminated wide string, both alive for the call; no user SID and no
        // raw data are passed.
        #[allow(unsafe_code)]
        unsafe {
            ReportEventW(
                self.source.0,
                self.kind,
                0,
                EVENT_ID,
                std::ptr::null_mut(),
                1,
                0,
                strings.as_ptr(),
                std::ptr::null(),
            );
        }
    }
}

impl<'a> MakeWriter<'a> for EventLog {
    type Writer = Entry;

    fn make_writer(&'a self) -> Entry {
        self.entry(&Level::INFO)
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Entry {
        self.entry(meta.level())
    }
}

impl EventLog {
    fn entry(&self, level: &Level) -> Entry {
        Entry {
            source: self.source.clone(),
            kind: entry_type(level),
            buf: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_become_entry_types_and_text_wide_strings() {
        assert_eq!(entry_type(&Level::ERROR), EVENTLOG_ERROR_TYPE);
        assert_eq!(entry_type(&Level::WARN), EVENTLOG_WARNING_TYPE);
        assert_eq!(entry_type(&Level::DEBUG), EVENTLOG_INFORMATION_TYPE);
        assert_eq!(wide("a\0b"), vec![97, 32, 98, 0]);
    }
}
