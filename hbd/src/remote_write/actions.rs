//! Which of the core's actions become series: a host going DOWN or UNREACHABLE writes
//! `hbd_host_up 0` at the event's time, and an alert path's new state its level at the
//! time the engine carries it out. (Heartbeats and plugin reports become series where
//! the engine takes them in, with the agent's own report time.)

use super::series::{self, Sample};
use crate::clock::Timestamp;
use crate::core::Action;
use crate::model::EventKind;

/// The samples `action` writes, carried out at `now`, with the `external` labels.
pub fn samples_for(action: &Action, now: Timestamp, external: &[(String, String)]) -> Vec<Sample> {
    let ms = |t: Timestamp| i64::try_from(t.0).unwrap_or(i64::MAX);
    match action {
        Action::Event(event)
            if matches!(
                event.kind,
                EventKind::Down { .. } | EventKind::Unreachable { .. }
            ) =>
        {
            series::host(&event.host, false, None, ms(event.at), external)
        }
        Action::AlertChanged {
            host,
            path,
            state: Some(state),
        } => vec![series::alert(host, path, state.level, ms(now), external)],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::{AlertState, Level};
    use crate::model::Event;

    fn event(kind: EventKind) -> Action {
        Action::Event(Event {
            host: "web1".into(),
            at: Timestamp(5_000),
            kind,
        })
    }

    /// (metric name, value, time) of each sample.
    type Seen = Vec<(String, f64, i64)>;

    fn names(samples: &[Sample]) -> Seen {
        samples
            .iter()
            .map(|s| {
                let name = s
                    .labels
                    .iter()
                    .find(|(k, _)| k == "__name__")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                (name, s.value, s.ts_ms)
            })
            .collect()
    }

    #[test]
    fn down_hosts_and_alert_levels_become_series_and_nothing_else_does() {
        let now = Timestamp(9_000);
        let state = AlertState {
            host: "web1".into(),
            path: "cpu.load".into(),
            level: Level::Critical,
            since: Timestamp(1),
            value: Some(3.0),
            detail: None,
            threshold: Some(2.0),
            operator: None,
            last_notified: None,
            reminders: 0,
            held: None,
            ack: None,
        };
        let cases: Vec<(Action, Seen)> = vec![
            (
                event(EventKind::Down {
                    silent_for_s: std::time::Duration::from_secs(70),
                }),
                vec![("hbd_host_up".into(), 0.0, 5_000)],
            ),
            (event(EventKind::NewHost), vec![]),
            (
                Action::AlertChanged {
                    host: "web1".into(),
                    path: "cpu.load".into(),
                    state: Some(state),
                },
                vec![("hbd_alert_level".into(), 2.0, 9_000)],
            ),
            (
                Action::AlertChanged {
                    host: "web1".into(),
                    path: "cpu.load".into(),
                    state: None,
                },
                vec![],
            ),
        ];
        for (action, want) in cases {
            assert_eq!(names(&samples_for(&action, now, &[])), want, "{action:?}");
        }
    }
}
