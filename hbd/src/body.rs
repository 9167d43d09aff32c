//! A webhook's body: a Handlebars template over a notification's facts
//! ([`hbd_core::facts::Facts`]) that must make JSON. Values are escaped for a JSON
//! string (`"text": "{{text}}"` is safe whatever the agent wrote), `{{{json X}}}` puts
//! in any fact as a JSON value (`"items": {{{json items}}}`), and a template is checked
//! when the config is read: it must render every kind of notification into valid JSON,
//! or the config (and a reload) is refused with the template's error.

use handlebars::{Handlebars, handlebars_helper};

use hbd_core::clock::Timestamp;
use hbd_core::facts::{self, Facts};
use hbd_core::model::{
    EscalationNotice, Event, EventKind, FlapNotice, Level, Notice, NoticeKind, Notification,
};

/// Why a body template cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BodyError {
    /// It does not parse as a template.
    #[error("the template does not parse: {0}")]
    Parse(String),
    /// It failed to render.
    #[error("the template does not render: {0}")]
    Render(String),
    /// What it made is not JSON.
    #[error("the template makes no JSON for a {kind} notification: {message}")]
    NotJson {
        /// The kind of sample notification.
        kind: &'static str,
        /// The JSON parser's complaint.
        message: String,
    },
}

/// A checked body template.
#[derive(Debug, Clone)]
pub struct BodyTemplate {
    registry: std::sync::Arc<Handlebars<'static>>,
}

handlebars_helper!(json: |v: Json| serde_json::to_string(v).unwrap_or_default());

/// Escapes text for the inside of a JSON string.
fn json_string_content(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    // `to_string` of a str is always a quoted JSON string: strip the quotes.
    quoted[1..quoted.len().saturating_sub(1).max(1)].to_owned()
}

impl BodyTemplate {
    /// Compiles `text` and checks it makes JSON for every kind of notification.
    pub fn new(text: &str) -> Result<BodyTemplate, BodyError> {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(false);
        hb.register_escape_fn(json_string_content);
        hb.register_helper("json", Box::new(json));
        hb.register_template_string("body", text)
            .map_err(|e| BodyError::Parse(e.to_string()))?;
        let template = BodyTemplate {
            registry: std::sync::Arc::new(hb),
        };
        for (kind, sample) in samples() {
            let body = template.render(&sample)?;
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&body) {
                return Err(BodyError::NotJson {
                    kind,
                    message: e.to_string(),
                });
            }
        }
        Ok(template)
    }

    /// The body for `facts`.
    pub fn render(&self, facts: &Facts) -> Result<String, BodyError> {
        self.registry
            .render("body", facts)
            .map_err(|e| BodyError::Render(e.to_string()))
    }
}

/// One notification of each kind, as a template meets them.
pub fn samples() -> Vec<(&'static str, Facts)> {
    let at = Timestamp(1_795_000_000_000);
    let notice = |kind, from, to| {
        Notification::Alert(Notice {
            host: "web1".into(),
            path: "cpu_monitor.cpu_percent".into(),
            kind,
            from,
            to,
            value: Some(95.0),
            detail: Some("a \"quoted\" <b>text</b>\nwith a new line".into()),
            threshold: Some(90.0),
            operator: Some(hbd_core::model::Operator::Gt),
            since: at,
            at,
        })
    };
    let host = |kind| {
        Notification::Host(Event {
            host: "web1".into(),
            at,
            kind,
        })
    };
    let problem = notice(NoticeKind::Raised, Level::Ok, Level::Critical);
    let list: Vec<(&'static str, Notification)> = vec![
        ("problem", problem.clone()),
        (
            "recovery",
            notice(NoticeKind::Recovered, Level::Critical, Level::Ok),
        ),
        (
            "reminder",
            notice(NoticeKind::Reminder, Level::Critical, Level::Critical),
        ),
        (
            "down",
            host(EventKind::Down {
                silent_for_s: std::time::Duration::from_secs(70),
            }),
        ),
        (
            "up",
            host(EventKind::Up {
                down_for_s: Some(std::time::Duration::from_secs(300)),
            }),
        ),
        (
            "message",
            host(EventKind::Message {
                text: "disk \"swap\" \\ replaced".into(),
            }),
        ),
        (
            "command failed",
            host(EventKind::CommandFailed {
                cmd_id: "c1".into(),
                command: "/usr/bin/systemctl restart nginx".into(),
                exit_code: Some(1),
                output: "Job for nginx.service failed".into(),
            }),
        ),
        (
            "dns failed",
            host(EventKind::DnsFailed {
                record: "web1.dyn.example.org".into(),
                tries: 3,
                error: "update failed: REFUSED".into(),
            }),
        ),
        (
            "flapping",
            Notification::Flapping(FlapNotice {
                host: "web1".into(),
                path: Some("cpu_monitor.cpu_percent".into()),
                started: true,
                percent: 34.5,
                at,
            }),
        ),
        (
            "escalation",
            Notification::Escalated(EscalationNotice {
                host: "web1".into(),
                path: Some("cpu_monitor.cpu_percent".into()),
                step: 1,
                after: std::time::Duration::from_secs(900),
                users: vec!["oncall".into()],
                latest: Box::new(problem.clone()),
                at,
            }),
        ),
    ];
    let mut out: Vec<(&'static str, Facts)> = list
        .into_iter()
        .filter_map(|(kind, n)| Some((kind, facts::of(&n)?)))
        .collect();
    let items: Vec<Facts> = out.iter().take(2).map(|(_, f)| f.clone()).collect();
    if let Some(group) = facts::group(items, "STORM: 2 notifications grouped".into()) {
        out.push(("storm group", group));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_for_a_json_string_and_json_puts_in_values() {
        let t = BodyTemplate::new(
            r#"{"text": "{{text}}", "detail": "{{detail}}", "value": {{{json value}}}, "items": {{{json items}}}}"#,
        )
        .unwrap();
        for (kind, sample) in samples() {
            let body: serde_json::Value = serde_json::from_str(&t.render(&sample).unwrap())
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(body["text"], sample.text, "{kind}");
        }
        let (_, problem) = &samples()[0];
        let body: serde_json::Value = serde_json::from_str(&t.render(problem).unwrap()).unwrap();
        assert_eq!(body["detail"], "a \"quoted\" <b>text</b>\nwith a new line");
        assert_eq!(body["value"], 95.0);
        // A fact a notification does not have (a non-group's items) is null.
        assert_eq!(body["items"], serde_json::Value::Null);
    }

    #[test]
    fn a_template_that_makes_no_json_is_refused_with_its_reason() {
        let err = BodyTemplate::new(r#"{"text": {{text}}}"#).unwrap_err();
        assert!(
            matches!(
                err,
                BodyError::NotJson {
                    kind: "problem",
                    ..
                }
            ),
            "{err}"
        );
        let err = BodyTemplate::new(r#"{"text": "{{#if}}"}"#).unwrap_err();
        assert!(matches!(err, BodyError::Parse(_)), "{err}");
    }
}
