//! PagerDuty's Events API v2: a problem triggers an incident keyed by the problem
//! (`dedup_key`, so its reminders fold into the same incident) and its recovery
//! resolves it. News that is no problem (a new host, a boot, flapping) does not page.

use super::delivery::{Outgoing, SendError};
use crate::config::Secret;
use hbd_core::facts::{Facts, Kind};

/// Characters of a PagerDuty summary.
pub const SUMMARY_LIMIT: usize = 1024;

/// The event for `f`, or `None` for what does not page.
pub fn event(routing_key: &str, f: &Facts) -> Option<serde_json::Value> {
    let dedup_key = format!("hbd/{}", f.key);
    match f.kind {
        Kind::Recovery => Some(serde_json::json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": dedup_key,
        })),
        Kind::Problem | Kind::Reminder => Some(serde_json::json!({
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {
                "summary": super::chat::cut(&f.text, SUMMARY_LIMIT),
                "source": f.host,
                "severity": severity(&f.severity),
                "timestamp": f.at,
                "component": f.path,
                "group": "hbd",
                "class": f.event,
                "custom_details": f,
            },
        })),
        Kind::Flapping | Kind::Info | Kind::Group | Kind::Escalation => None,
    }
}

/// PagerDuty's four severities.
pub fn severity(s: &str) -> &'static str {
    match s {
        "DOWN" | "UNREACHABLE" | "CRITICAL" => "critical",
        "WARNING" => "warning",
        "UNKNOWN" => "error",
        _ => "info",
    }
}

/// Sends the event for `m`; nothing for what does not page.
pub async fn send(
    client: &reqwest::Client,
    url: &str,
    routing_key: &Secret,
    m: &Outgoing,
) -> Result<super::delivery::Answer, SendError> {
    let Some(body) = event(routing_key.expose(), &m.facts) else {
        return Ok("not sent: PagerDuty takes problems and recoveries only".into());
    };
    SendError::deliver("pagerduty", client.post(url).json(&body)).await
}
