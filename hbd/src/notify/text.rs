//! The texts of host-event notifications (alert texts come from `alerting::message`).

use std::time::Duration;

use crate::core::{Event, EventKind};

/// `1h 2m 3s`-style duration, whole seconds.
pub fn duration(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

/// The notification text of a host event, or `None` for events that do not notify (the
/// first UP of a new host: NEW HOST says it).
pub fn event_text(event: &Event) -> Option<String> {
    let host = &event.host;
    Some(match &event.kind {
        EventKind::NewHost => format!("NEW HOST: {host} sent its first heartbeat"),
        EventKind::Up {
            down_for_s: Some(d),
        } => format!("UP: {host} is back (was DOWN for {})", duration(*d)),
        EventKind::Up { down_for_s: None } => return None,
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
    })
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
        ];
        for (kind, want) in cases {
            assert_eq!(event_text(&ev(kind.clone())).as_deref(), want, "{kind:?}");
        }
    }
}
