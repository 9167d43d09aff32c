//! The one renderer of notification texts: host events and alert notices, typed until
//! here, become the documented one-line texts used by every channel and the journal.

use std::time::Duration;

use crate::model::{Event, EventKind, FlapNotice, Level, Notice, NoticeKind, Notification};

/// The text of any notification, or `None` for what does not notify.
pub fn text(notification: &Notification) -> Option<String> {
    match notification {
        Notification::Host(event) => event_text(event),
        Notification::Alert(notice) => Some(notice_text(notice)),
        Notification::Flapping(f) => Some(flap_text(f)),
        Notification::Escalated(e) => Some(format!(
            "ESCALATED (step {}, open {} without acknowledgement): {}",
            e.step,
            duration(e.after),
            text(&e.latest)?
        )),
    }
}

/// `FLAPPING START: web1 - cpu.percent (34.5% state changes in the last 21 checks)`;
/// the host's own UP/DOWN has no path.
pub fn flap_text(f: &FlapNotice) -> String {
    let what = if f.started { "START" } else { "STOP" };
    let subject = match &f.path {
        Some(path) => format!("{} - {path}", f.host),
        None => format!("{} (UP/DOWN)", f.host),
    };
    let note = if f.started {
        "; single changes are not notified until it settles"
    } else {
        ""
    };
    format!(
        "FLAPPING {what}: {subject} ({:.1}% state changes in the last 21 checks{note})",
        f.percent
    )
}

/// Lines a grouped message lists; `GET /api/0/storms` has them all.
pub const GROUP_LINES: usize = 50;

/// One message for a storm group: its only text, or a count and the texts, one per
/// line, at most [`GROUP_LINES`] of them.
pub fn group_text(texts: &[String]) -> String {
    match texts {
        [one] => one.clone(),
        _ => {
            let mut s = format!("STORM: {} notifications grouped", texts.len());
            for t in texts.iter().take(GROUP_LINES) {
                s.push_str("\n- ");
                s.push_str(t);
            }
            if texts.len() > GROUP_LINES {
                s.push_str(&format!(
                    "\n- ... and {} more (GET /api/0/storms lists every one)",
                    texts.len() - GROUP_LINES
                ));
            }
            s
        }
    }
}

/// `1h 2m 3s`-style duration, whole seconds.
pub fn duration(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

/// The notification text of a host event, or `None` for events that do not notify (the
/// first UP of a new host: NEW HOST says it; UNREACHABLE: its parent's DOWN says it).
pub fn event_text(event: &Event) -> Option<String> {
    match &event.kind {
        EventKind::Up { down_for_s: None } | EventKind::Unreachable { .. } => None,
        _ => event_line(event),
    }
}

/// The one line that tells a host event, in notifications, the journal and the host's
/// history alike (the same event is worded the same everywhere), or `None` for a
/// dropped host.
pub fn event_line(event: &Event) -> Option<String> {
    let host = &event.host;
    Some(match &event.kind {
        EventKind::NewHost => format!("NEW HOST: {host} sent its first heartbeat"),
        EventKind::Up {
            down_for_s: Some(d),
        } => format!("UP: {host} is back (was DOWN for {})", duration(*d)),
        EventKind::Up { down_for_s: None } => format!("UP: {host}"),
        EventKind::Unreachable { parent } => {
            format!("UNREACHABLE: {host} - no heartbeat while {parent} is DOWN")
        }
        EventKind::Down { silent_for_s } => format!(
            "DOWN: {host} - no heartbeat for {}",
            duration(*silent_for_s)
        ),
        EventKind::Boot { uptime_s: Some(u) } => format!(
            "BOOT: {host} booted (up {})",
            duration(Duration::from_secs_f64(u.max(0.0)))
        ),
        EventKind::Boot { uptime_s: None } => format!("BOOT: {host} booted"),
        EventKind::Message { text } => format!("MESSAGE from {host}: {text}"),
        EventKind::AddressChanged { from, to } => format!("IP CHANGE: {host} {from} -> {to}"),
        EventKind::CommandFailed {
            command,
            exit_code,
            output,
            ..
        } => {
            let how = match exit_code {
                Some(code) => format!("exited {code}"),
                None => "got no result before it expired".to_owned(),
            };
            match output.as_str() {
                "" => format!("COMMAND FAILED: {host} - {command} {how}"),
                said => format!("COMMAND FAILED: {host} - {command} {how}: {said}"),
            }
        }
        EventKind::DnsFailed {
            record,
            tries,
            error,
        } => format!("DNS FAILED: {host} - {record} not written after {tries} tries: {error}"),
        EventKind::DnsWritten { record } => {
            format!("DNS OK: {host} - {record} written again")
        }
        EventKind::Dropped => return None,
    })
}

/// A value as messages show it: at most three decimals, trailing zeros dropped but one
/// kept (`85.0`, `85.25`, `93.3` for a measured 93.30000000000001, `85.714` for
/// 85.71428571428571), and three significant digits below 1 (`0.00123`), so that a
/// ratio an agent computed reads as a number, not as the float behind it.
pub fn value(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let size = v.abs();
    let decimals = if size >= 1.0 || size == 0.0 {
        3
    } else {
        // Three significant digits: 0.5 -> 3 decimals, 0.0012345 -> 5.
        let leading_zeros = (-size.log10()).floor() as usize;
        (leading_zeros + 3).min(15)
    };
    let mut text = format!("{v:.decimals$}");
    let kept = text.trim_end_matches('0').len();
    text.truncate(kept);
    if text.ends_with('.') {
        text.push('0');
    }
    if text == "-0.0" {
        text.remove(0);
    }
    text
}

/// The text of an alert notice:
/// - `WARNING: webserver01 - cpu_monitor.cpu_percent = 85.0` (a raise),
/// - `WARNING: h - p = 82.0 (CRITICAL -> WARNING)` (a partial recovery),
/// - `RECOVERED: database01 - disk_monitor./.percent = 75.0 (WARNING -> OK)`,
/// - `REMINDER (CRITICAL): host - path = value (ongoing for 3600s)`.
///
/// UNKNOWN is no severity step: a change to or from it has no `(A -> B)` suffix.
pub fn notice_text(n: &Notice) -> String {
    let (host, path) = (&n.host, &n.path);
    let shown = n
        .value
        .map(value)
        .or_else(|| n.detail.clone().filter(|d| !d.is_empty()))
        .unwrap_or_else(|| n.to.as_str().to_owned());
    let to = n.to.as_str();
    match n.kind {
        NoticeKind::Recovered => format!(
            "RECOVERED: {host} - {path} = {shown} ({} -> OK)",
            n.from.as_str()
        ),
        NoticeKind::Reminder => format!(
            "REMINDER ({to}): {host} - {path} = {shown} (ongoing for {}s)",
            n.at.since(n.since).as_secs()
        ),
        NoticeKind::Lowered if n.from != Level::Unknown && n.to != Level::Unknown => format!(
            "{to}: {host} - {path} = {shown} ({} -> {to})",
            n.from.as_str()
        ),
        NoticeKind::Raised | NoticeKind::Lowered => format!("{to}: {host} - {path} = {shown}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;

    fn ev(kind: EventKind) -> Event {
        Event {
            host: "web1".into(),
            at: Timestamp(0),
            kind,
        }
    }

    #[test]
    fn values_read_as_numbers() {
        for (v, shown) in [
            (85.0, "85.0"),
            (0.0, "0.0"),
            (-0.0, "0.0"),
            (85.25, "85.25"),
            (93.300_000_000_000_01, "93.3"),
            (85.714_285_714_285_71, "85.714"),
            (90.004, "90.004"),
            (1234.5678, "1234.568"),
            (1e15, "1000000000000000.0"),
            (0.5, "0.5"),
            (0.1 + 0.2, "0.3"),
            (0.001_234_5, "0.00123"),
            (-0.25, "-0.25"),
            (-12.5, "-12.5"),
            (1e-20, "0.0"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(value(v), shown, "{v:?}");
        }
    }

    #[test]
    fn event_texts() {
        let cases = [
            (
                EventKind::NewHost,
                Some("NEW HOST: web1 sent its first heartbeat"),
            ),
            (
                EventKind::Up {
                    down_for_s: Some(Duration::from_secs(3725)),
                },
                Some("UP: web1 is back (was DOWN for 1h 2m 5s)"),
            ),
            (EventKind::Up { down_for_s: None }, None),
            (
                EventKind::Down {
                    silent_for_s: Duration::from_millis(70_400),
                },
                Some("DOWN: web1 - no heartbeat for 1m 10s"),
            ),
            (
                EventKind::Boot {
                    uptime_s: Some(12.5),
                },
                Some("BOOT: web1 booted (up 12s)"),
            ),
            (
                EventKind::Message {
                    text: "disk swapped".into(),
                },
                Some("MESSAGE from web1: disk swapped"),
            ),
            (
                EventKind::AddressChanged {
                    from: "192.0.2.1".parse().unwrap(),
                    to: "192.0.2.7".parse().unwrap(),
                },
                Some("IP CHANGE: web1 192.0.2.1 -> 192.0.2.7"),
            ),
            (EventKind::Dropped, None),
            (
                EventKind::Unreachable {
                    parent: "switch1".into(),
                },
                None,
            ),
        ];
        for (kind, want) in cases {
            assert_eq!(event_text(&ev(kind.clone())).as_deref(), want, "{kind:?}");
        }
        // The history tells what notifications do not.
        let unreachable = ev(EventKind::Unreachable {
            parent: "switch1".into(),
        });
        assert_eq!(
            event_line(&unreachable).as_deref(),
            Some("UNREACHABLE: web1 - no heartbeat while switch1 is DOWN")
        );
        let first_up = ev(EventKind::Up { down_for_s: None });
        assert_eq!(event_line(&first_up).as_deref(), Some("UP: web1"));
    }

    fn notice(kind: NoticeKind, from: Level, to: Level, value: Option<f64>) -> Notice {
        Notice {
            host: "webserver01".into(),
            path: "cpu_monitor.cpu_percent".into(),
            kind,
            from,
            to,
            value,
            detail: None,
            threshold: None,
            operator: None,
            since: Timestamp(1_000),
            at: Timestamp(3_601_000),
        }
    }

    #[test]
    fn documented_alert_texts() {
        use Level::*;
        use NoticeKind::*;
        let status = |kind, from, to, detail: &str| Notice {
            detail: Some(detail.into()),
            path: "nagios_runner.root".into(),
            ..notice(kind, from, to, None)
        };
        let cases = [
            (
                notice(Raised, Ok, Warning, Some(85.0)),
                "WARNING: webserver01 - cpu_monitor.cpu_percent = 85.0",
            ),
            (
                notice(Raised, Warning, Critical, Some(97.5)),
                "CRITICAL: webserver01 - cpu_monitor.cpu_percent = 97.5",
            ),
            (
                notice(Lowered, Critical, Warning, Some(82.0)),
                "WARNING: webserver01 - cpu_monitor.cpu_percent = 82.0 (CRITICAL -> WARNING)",
            ),
            (
                notice(Recovered, Warning, Ok, Some(75.0)),
                "RECOVERED: webserver01 - cpu_monitor.cpu_percent = 75.0 (WARNING -> OK)",
            ),
            (
                notice(Reminder, Critical, Critical, Some(96.0)),
                "REMINDER (CRITICAL): webserver01 - cpu_monitor.cpu_percent = 96.0 (ongoing for 3600s)",
            ),
            (
                status(Lowered, Unknown, Warning, "DISK WARNING"),
                "WARNING: webserver01 - nagios_runner.root = DISK WARNING",
            ),
            (
                status(Raised, Critical, Unknown, ""),
                "UNKNOWN: webserver01 - nagios_runner.root = UNKNOWN",
            ),
            (
                notice(Raised, Ok, Warning, Some(85.25)),
                "WARNING: webserver01 - cpu_monitor.cpu_percent = 85.25",
            ),
        ];
        for (n, want) in cases {
            assert_eq!(notice_text(&n), want);
        }
    }
}
