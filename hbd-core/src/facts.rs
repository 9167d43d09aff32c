//! A notification as structured facts, for the targets that take data rather than a
//! line of text (a webhook's JSON body, PagerDuty, Alertmanager): what happened, to
//! which host and path, how bad, since when, a key that stays the same from a problem
//! to its recovery, and the text the other channels send. Pure: made from the typed
//! [`Notification`] and its rendered text.

use serde::Serialize;

use crate::model::{Event, EventKind, Level, Notice, NoticeKind, Notification};
use crate::render;

/// What a notification is, for a target deciding what to do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A problem began or got worse or better without ending (an alert raised or
    /// lowered, a host DOWN).
    Problem,
    /// A problem ended (an alert back to OK, a host UP again).
    Recovery,
    /// A problem still open, told again.
    Reminder,
    /// A host or path started or stopped flapping.
    Flapping,
    /// News that is no problem (a new host, a boot, an operator's message, a new
    /// address).
    Info,
    /// Several notifications of a storm, as one message (`items` has them).
    Group,
    /// A problem told again to an escalation step's people.
    Escalation,
}

/// One notification as facts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Facts {
    /// What it is.
    pub kind: Kind,
    /// What the text leads with: `CRITICAL`, `RECOVERED`, `DOWN`, `UP`, `NEW HOST`,
    /// `FLAPPING START`, `STORM`, ...
    pub event: String,
    /// The host (a check from several vantage points: `check:NAME`; a group: the first
    /// item's host).
    pub host: String,
    /// The alert path, for an alert or a path's flapping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// How bad it is now: `CRITICAL`, `WARNING`, `UNKNOWN`, `OK`, `DOWN`, `UP`, `INFO`.
    pub severity: String,
    /// How bad it was, for a change of an alert.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The value that caused it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The threshold of the level now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// How the value is compared with `threshold` (`>`, `<=`, ...): the level holds
    /// while `value OPERATOR threshold`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// A check's own text (Nagios, a plugin's message, a check's vantage points).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When the state it reports began (RFC 3339).
    pub since: String,
    /// When it was made (RFC 3339).
    pub at: String,
    /// The same for a problem, its reminders and its recovery: `HOST` for the host's
    /// own state, `HOST/PATH` for an alert (a deduplication key).
    pub key: String,
    /// Whether this ends the problem `key` names.
    pub resolved: bool,
    /// The text the other channels send.
    pub text: String,
    /// A group's notifications.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Facts>,
    /// An escalation's people (user names): only they are told.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub escalated_to: Vec<String>,
}

/// The facts of `notification`, or `None` for what does not notify.
pub fn of(notification: &Notification) -> Option<Facts> {
    let text = render::text(notification)?;
    Some(match notification {
        Notification::Host(e) => host_facts(e, text)?,
        Notification::Alert(n) => alert_facts(n, text),
        Notification::Escalated(e) => {
            let mut f = of(&e.latest)?;
            f.kind = Kind::Escalation;
            f.event = "ESCALATED".into();
            f.at = e.at.rfc3339();
            f.text = text;
            f.escalated_to = e.users.clone();
            f
        }
        Notification::Flapping(f) => Facts {
            kind: Kind::Flapping,
            event: if f.started {
                "FLAPPING START"
            } else {
                "FLAPPING STOP"
            }
            .into(),
            host: f.host.clone(),
            path: f.path.clone(),
            severity: "INFO".into(),
            from: None,
            value: Some(f.percent),
            threshold: None,
            operator: None,
            detail: None,
            since: f.at.rfc3339(),
            at: f.at.rfc3339(),
            key: key(&f.host, f.path.as_deref()),
            resolved: false,
            text,
            items: Vec::new(),
            escalated_to: Vec::new(),
        },
    })
}

/// One message for a storm group: the only item's facts, or a group of them.
pub fn group(items: Vec<Facts>, text: String) -> Option<Facts> {
    match items.len() {
        0 => None,
        1 => items.into_iter().next(),
        _ => {
            let first = &items[0];
            Some(Facts {
                kind: Kind::Group,
                event: "STORM".into(),
                host: first.host.clone(),
                path: None,
                severity: items
                    .iter()
                    .map(|f| f.severity.as_str())
                    .max_by_key(|s| severity_rank(s))
                    .unwrap_or("INFO")
                    .to_owned(),
                from: None,
                value: None,
                threshold: None,
                operator: None,
                detail: None,
                since: first.since.clone(),
                at: first.at.clone(),
                key: format!("storm/{}", first.at),
                resolved: false,
                text,
                items,
                escalated_to: Vec::new(),
            })
        }
    }
}

/// Orders severities: INFO and OK/UP lowest, DOWN highest.
pub fn severity_rank(severity: &str) -> u8 {
    match severity {
        "DOWN" | "UNREACHABLE" => 5,
        "CRITICAL" => 4,
        "UNKNOWN" => 3,
        "WARNING" => 2,
        "INFO" => 1,
        _ => 0,
    }
}

fn key(host: &str, path: Option<&str>) -> String {
    match path {
        Some(path) => format!("{host}/{path}"),
        None => host.to_owned(),
    }
}

fn alert_facts(n: &Notice, text: String) -> Facts {
    let (kind, event) = match n.kind {
        NoticeKind::Recovered => (Kind::Recovery, "RECOVERED".to_owned()),
        NoticeKind::Reminder => (Kind::Reminder, "REMINDER".to_owned()),
        NoticeKind::Raised | NoticeKind::Lowered => (Kind::Problem, n.to.as_str().to_owned()),
    };
    Facts {
        kind,
        event,
        host: n.host.clone(),
        path: Some(n.path.clone()),
        severity: n.to.as_str().into(),
        from: (n.kind != NoticeKind::Reminder).then(|| n.from.as_str().to_owned()),
        value: n.value,
        threshold: n.threshold,
        operator: n.operator.map(|o| o.as_str().to_owned()),
        detail: n.detail.clone(),
        since: n.since.rfc3339(),
        at: n.at.rfc3339(),
        key: key(&n.host, Some(&n.path)),
        resolved: n.to == Level::Ok,
        text,
        items: Vec::new(),
        escalated_to: Vec::new(),
    }
}

fn host_facts(e: &Event, text: String) -> Option<Facts> {
    let (kind, event, severity) = match &e.kind {
        EventKind::Down { .. } => (Kind::Problem, "DOWN", "DOWN"),
        EventKind::Up { .. } => (Kind::Recovery, "UP", "UP"),
        EventKind::NewHost => (Kind::Info, "NEW HOST", "INFO"),
        EventKind::Boot { .. } => (Kind::Info, "BOOT", "INFO"),
        EventKind::Message { .. } => (Kind::Info, "MESSAGE", "INFO"),
        EventKind::AddressChanged { .. } => (Kind::Info, "IP CHANGE", "INFO"),
        // A failed command is news, not a state: nothing resolves it.
        EventKind::CommandFailed { .. } => (Kind::Info, "COMMAND FAILED", "WARNING"),
        EventKind::DnsFailed { .. } => (Kind::Problem, "DNS FAILED", "WARNING"),
        EventKind::DnsWritten { .. } => (Kind::Recovery, "DNS OK", "OK"),
        EventKind::Unreachable { .. } | EventKind::Dropped => return None,
    };
    let detail = match &e.kind {
        EventKind::Message { text } => Some(text.clone()),
        EventKind::CommandFailed { output, .. } if !output.is_empty() => Some(output.clone()),
        EventKind::DnsFailed { error, .. } => Some(error.clone()),
        _ => None,
    };
    Some(Facts {
        kind,
        event: event.into(),
        host: e.host.clone(),
        path: None,
        severity: severity.into(),
        from: None,
        value: None,
        threshold: None,
        operator: None,
        detail,
        since: e.at.rfc3339(),
        at: e.at.rfc3339(),
        key: match &e.kind {
            // A record's failure and its end share a key (not the host's own).
            EventKind::DnsFailed { .. } | EventKind::DnsWritten { .. } => {
                format!("{}/dns", e.host)
            }
            EventKind::CommandFailed { cmd_id, .. } => format!("{}/command/{cmd_id}", e.host),
            _ if kind == Kind::Info => format!(
                "{}/{}",
                e.host,
                event.to_ascii_lowercase().replace(' ', "-")
            ),
            _ => key(&e.host, None),
        },
        resolved: kind == Kind::Recovery,
        text,
        items: Vec::new(),
        escalated_to: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use std::time::Duration;

    fn notice(kind: NoticeKind, from: Level, to: Level) -> Notification {
        Notification::Alert(Notice {
            host: "web1".into(),
            path: "cpu_monitor.cpu_percent".into(),
            kind,
            from,
            to,
            value: Some(95.0),
            detail: None,
            threshold: Some(90.0),
            operator: Some(crate::model::Operator::Gt),
            since: Timestamp(1_795_000_000_000),
            at: Timestamp(1_795_000_060_000),
        })
    }

    #[test]
    fn a_problem_and_its_recovery_share_a_key() {
        let raised = of(&notice(NoticeKind::Raised, Level::Ok, Level::Critical)).unwrap();
        let recovered = of(&notice(NoticeKind::Recovered, Level::Critical, Level::Ok)).unwrap();
        assert_eq!(raised.key, "web1/cpu_monitor.cpu_percent");
        assert_eq!(raised.key, recovered.key);
        assert_eq!(
            (raised.kind, raised.event.as_str(), raised.resolved),
            (Kind::Problem, "CRITICAL", false)
        );
        assert_eq!(
            (recovered.kind, recovered.event.as_str(), recovered.resolved),
            (Kind::Recovery, "RECOVERED", true)
        );
        assert_eq!(
            raised.text,
            "CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0"
        );
        assert_eq!(raised.since, "2026-11-18T11:06:40.000Z");
        let json = serde_json::to_value(&raised).unwrap();
        assert_eq!(json["kind"], "problem");
        assert_eq!(json["threshold"], 90.0);
        assert!(json.get("items").is_none());
    }

    #[test]
    fn host_events_are_problems_recoveries_or_news() {
        let event = |kind| {
            of(&Notification::Host(Event {
                host: "db1".into(),
                at: Timestamp(1_795_000_000_000),
                kind,
            }))
        };
        let down = event(EventKind::Down {
            silent_for_s: Duration::from_secs(70),
        })
        .unwrap();
        let up = event(EventKind::Up {
            down_for_s: Some(Duration::from_secs(300)),
        })
        .unwrap();
        assert_eq!((down.kind, down.key.as_str()), (Kind::Problem, "db1"));
        assert_eq!(
            (up.kind, up.key.as_str(), up.resolved),
            (Kind::Recovery, "db1", true)
        );
        let boot = event(EventKind::Boot { uptime_s: None }).unwrap();
        assert_eq!((boot.kind, boot.severity.as_str()), (Kind::Info, "INFO"));
        assert!(event(EventKind::Up { down_for_s: None }).is_none());
        assert!(event(EventKind::Dropped).is_none());
    }

    #[test]
    fn a_group_takes_its_worst_severity() {
        let a = of(&notice(NoticeKind::Raised, Level::Ok, Level::Warning)).unwrap();
        let b = of(&notice(NoticeKind::Raised, Level::Ok, Level::Critical)).unwrap();
        let g = group(vec![a.clone(), b], "STORM: 2".into()).unwrap();
        assert_eq!(
            (g.kind, g.severity.as_str(), g.items.len()),
            (Kind::Group, "CRITICAL", 2)
        );
        assert_eq!(group(vec![a.clone()], "x".into()), Some(a));
    }
}
