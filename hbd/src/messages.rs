//! Notification messages for people: a subject, a body and a short text for each kind
//! of notification, from Handlebars templates. The defaults are embedded
//! (`templates/messages/KIND.body.hbs`; subject and text are the one-line headline the
//! journal and history use too); an operator overrides any of them, for every channel
//! (`KIND.PART`) or for one channel or target (`CHANNEL/KIND.PART`), in the config's
//! `messages` or as `templates_dir/messages/NAME.hbs`. Every template is rendered
//! against a sample of its kind when the config is read, so a template that does not
//! render refuses the config (and a reload) with its name and line.

use std::collections::BTreeMap;
use std::sync::Arc;

use handlebars::Handlebars;
use serde::Serialize;

use hbd_core::facts::{Facts, Kind};
use hbd_core::quantity;

/// The kinds of message, each with its own templates.
pub const KINDS: &[&str] = &[
    "problem",
    "recovery",
    "reminder",
    "down",
    "up",
    "info",
    "flapping",
    "escalation",
    "group",
    "command",
    "dns",
];

/// The parts of a message: `subject` (email's subject), `body`
/// (email's body) and `text` (what the chat and push channels send).
pub const PARTS: &[&str] = &["subject", "body", "text"];

/// Lines a group message lists; `GET /api/0/storms` has them all.
pub const GROUP_LINES: usize = hbd_core::render::GROUP_LINES;

/// The embedded default bodies, and the partial they end with.
const DEFAULT_BODIES: &[(&str, &str)] = &[
    (
        "problem",
        include_str!("../../templates/messages/problem.body.hbs"),
    ),
    (
        "recovery",
        include_str!("../../templates/messages/recovery.body.hbs"),
    ),
    (
        "reminder",
        include_str!("../../templates/messages/reminder.body.hbs"),
    ),
    (
        "down",
        include_str!("../../templates/messages/down.body.hbs"),
    ),
    ("up", include_str!("../../templates/messages/up.body.hbs")),
    (
        "info",
        include_str!("../../templates/messages/info.body.hbs"),
    ),
    (
        "flapping",
        include_str!("../../templates/messages/flapping.body.hbs"),
    ),
    (
        "escalation",
        include_str!("../../templates/messages/escalation.body.hbs"),
    ),
    (
        "group",
        include_str!("../../templates/messages/group.body.hbs"),
    ),
    (
        "command",
        include_str!("../../templates/messages/command.body.hbs"),
    ),
    ("dns", include_str!("../../templates/messages/dns.body.hbs")),
];
const FOOTER: &str = include_str!("../../templates/messages/footer.hbs");

/// Why a message template cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MessageError {
    /// The name is not `KIND.PART` or `CHANNEL/KIND.PART`.
    #[error(
        "{name:?} is not a message template name: expected KIND.PART or CHANNEL/KIND.PART, KIND one of {kinds}, PART one of {parts}",
        kinds = KINDS.join(", "),
        parts = PARTS.join(", ")
    )]
    Name {
        /// The name given.
        name: String,
    },
    /// It does not parse, or fails to render a sample of its kind.
    #[error("message template {name}{}: {message}", at_line(*line))]
    Template {
        /// Its name.
        name: String,
        /// The line of the template, when the error names one.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

fn at_line(line: Option<usize>) -> String {
    line.map(|l| format!(", line {l}")).unwrap_or_default()
}

/// One message, ready for a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// One line (email's subject).
    pub subject: String,
    /// The details (email body).
    pub body: String,
    /// What chat and push channels send.
    pub text: String,
}

/// What a message knows beyond the notification: the host's description and where
/// hbd's pages are.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    /// The host's `description` from the config.
    pub description: Option<&'a str>,
    /// `public_url`: links to the host page when set.
    pub public_url: Option<&'a str>,
}

/// The templates in force.
#[derive(Debug, Clone)]
pub struct Messages {
    registry: Arc<Handlebars<'static>>,
}

impl Default for Messages {
    fn default() -> Messages {
        // The embedded defaults are checked by the tests; an error here is a bug.
        Messages::new(&BTreeMap::new()).unwrap_or_else(|e| panic!("default messages: {e}"))
    }
}

/// `(channel, kind, part)` of a template name.
fn split(name: &str) -> Option<(Option<&str>, &str, &str)> {
    let (channel, rest) = match name.split_once('/') {
        Some((c, rest)) if !c.is_empty() => (Some(c), rest),
        Some(_) => return None,
        None => (None, name),
    };
    let (kind, part) = rest.split_once('.')?;
    (KINDS.contains(&kind) && PARTS.contains(&part)).then_some((channel, kind, part))
}

/// The channel (`email`, `mattermost`, ...) or target names a template name is for.
pub fn channel_of(name: &str) -> Option<&str> {
    split(name).and_then(|(c, _, _)| c)
}

impl Messages {
    /// The defaults with `overrides` (template name -> source) in their place, each
    /// checked against a sample of its kind.
    pub fn new(overrides: &BTreeMap<String, String>) -> Result<Messages, MessageError> {
        let mut hb = Handlebars::new();
        hb.register_escape_fn(handlebars::no_escape);
        let register = |hb: &mut Handlebars<'static>, name: &str, source: &str| {
            hb.register_template_string(name, source)
                .map_err(|e| MessageError::Template {
                    name: name.to_owned(),
                    line: e.pos().map(|(line, _)| line),
                    message: e.reason().to_string(),
                })
        };
        register(&mut hb, "footer", FOOTER)?;
        for kind in KINDS {
            let body = DEFAULT_BODIES
                .iter()
                .find(|(k, _)| k == kind)
                .map_or("{{headline}}\n", |(_, b)| b);
            register(&mut hb, &format!("{kind}.body"), body)?;
            register(&mut hb, &format!("{kind}.subject"), "{{headline}}")?;
            register(&mut hb, &format!("{kind}.text"), "{{headline}}")?;
        }
        for (name, source) in overrides {
            if split(name).is_none() {
                return Err(MessageError::Name { name: name.clone() });
            }
            register(&mut hb, name, source)?;
        }
        let messages = Messages {
            registry: Arc::new(hb),
        };
        let samples = crate::body::samples();
        for name in overrides.keys() {
            let Some((_, kind, _)) = split(name) else {
                continue;
            };
            for (_, sample) in samples.iter().filter(|(_, f)| kind_of(f) == kind) {
                let view = View::new(sample, &Context::default(), "sample");
                messages
                    .registry
                    .render(name, &view)
                    .map_err(|e| MessageError::Template {
                        name: name.clone(),
                        line: e.line_no,
                        message: e.reason().to_string(),
                    })?;
            }
        }
        Ok(messages)
    }

    /// Renders every part of a sample of every kind as each of `channels` would send
    /// it (`hbd check-config`): how many messages rendered, or the first failure.
    pub fn check(&self, channels: &[&str]) -> Result<usize, MessageError> {
        let mut rendered = 0;
        for channel in channels {
            for (_, sample) in crate::body::samples() {
                let view = View::new(&sample, &Context::default(), channel);
                let kind = kind_of(&sample);
                for part in PARTS {
                    let own = format!("{channel}/{kind}.{part}");
                    let name = if self.registry.has_template(&own) {
                        own
                    } else {
                        format!("{kind}.{part}")
                    };
                    self.registry
                        .render(&name, &view)
                        .map_err(|e| MessageError::Template {
                            name: name.clone(),
                            line: e.line_no,
                            message: e.reason().to_string(),
                        })?;
                }
                rendered += 1;
            }
        }
        Ok(rendered)
    }

    /// The message `channel` (a channel's or target's name) sends for `facts`.
    pub fn render(&self, channel: &str, facts: &Facts, context: &Context<'_>) -> Message {
        let view = View::new(facts, context, channel);
        let kind = kind_of(facts);
        let part = |part: &str| {
            let own = format!("{channel}/{kind}.{part}");
            let name = if self.registry.has_template(&own) {
                own
            } else {
                format!("{kind}.{part}")
            };
            // Every template rendered a sample of its kind when it was read; a failure
            // now (a value of an unexpected shape) falls back to the headline.
            self.registry.render(&name, &view).unwrap_or_else(|e| {
                tracing::warn!(template = name, error = %e, "message template failed; headline sent");
                facts.text.clone()
            })
        };
        Message {
            subject: one_line(&part("subject")),
            body: part("body"),
            text: part("text"),
        }
    }
}

/// The first line, at most 200 characters (a subject is one line).
fn one_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

/// Which templates a notification uses.
pub fn kind_of(facts: &Facts) -> &'static str {
    match (facts.kind, facts.event.as_str()) {
        (_, "COMMAND FAILED") => "command",
        (_, "DNS FAILED" | "DNS OK") => "dns",
        (Kind::Problem, "DOWN") => "down",
        (Kind::Recovery, "UP") => "up",
        (Kind::Problem, _) => "problem",
        (Kind::Recovery, _) => "recovery",
        (Kind::Reminder, _) => "reminder",
        (Kind::Flapping, _) => "flapping",
        (Kind::Info, _) => "info",
        (Kind::Group, _) => "group",
        (Kind::Escalation, _) => "escalation",
    }
}

/// What a template sees: every fact ([`Facts`]: `kind`, `event`, `host`, `path`,
/// `severity`, `from`, `value`, `threshold`, `operator`, `detail`, `since`, `at`,
/// `key`, `items`, `escalated_to`) and these, made for people.
#[derive(Debug, Serialize)]
struct View<'a> {
    #[serde(flatten)]
    facts: &'a Facts,
    /// The one line the journal and history use too.
    headline: &'a str,
    /// The channel or target rendering it.
    channel: &'a str,
    /// The value by its unit (`4.8 %`, `1.50 GiB`).
    value_shown: Option<String>,
    /// The threshold with its operator (`> 90.0 %`).
    threshold_shown: Option<String>,
    /// `2026-11-18 11:06:40 UTC`.
    since_shown: String,
    /// `2026-11-18 11:07:40 UTC`.
    at_shown: String,
    /// From `since` to `at` (`1m`), or `0s`.
    duration: String,
    /// The host's description.
    description: Option<&'a str>,
    /// The host page (or the checks page), with `public_url`.
    link: Option<String>,
    /// How to stop hearing about it.
    silence: Option<String>,
    /// A group's item headlines, at most [`GROUP_LINES`].
    lines: Vec<&'a str>,
    /// A group's items: how many, and how many are not listed.
    count: usize,
    more: usize,
}

/// `2026-11-18T11:06:40.000Z` as `2026-11-18 11:06:40 UTC`.
fn shown_time(rfc3339: &str) -> String {
    match humantime::parse_rfc3339(rfc3339) {
        Ok(t) => format!(
            "{} UTC",
            humantime::format_rfc3339_seconds(t)
                .to_string()
                .trim_end_matches('Z')
                .replace('T', " ")
        ),
        Err(_) => rfc3339.to_owned(),
    }
}

impl<'a> View<'a> {
    fn new(facts: &'a Facts, context: &Context<'a>, channel: &'a str) -> View<'a> {
        let path = facts.path.as_deref().unwrap_or_default();
        let time = |t: &str| humantime::parse_rfc3339(t).ok();
        let duration = match (time(&facts.since), time(&facts.at)) {
            (Some(since), Some(at)) => at.duration_since(since).unwrap_or_default(),
            _ => std::time::Duration::ZERO,
        };
        let base = context.public_url.map(|u| u.trim_end_matches('/'));
        let link = base.map(|base| {
            if facts.host.starts_with("check:") {
                format!("{base}/checks")
            } else if facts.kind == Kind::Group {
                format!("{base}/alerts")
            } else {
                format!("{base}/hosts/{}", urlencoding(&facts.host))
            }
        });
        // A problem someone can acknowledge (a DNS record's failure is hbd's own).
        let open_problem = matches!(
            facts.kind,
            Kind::Problem | Kind::Reminder | Kind::Escalation
        ) && facts.event != "DNS FAILED";
        let silence = if facts.kind == Kind::Group {
            None
        } else if open_problem {
            Some(match &link {
                Some(_) => {
                    "Acknowledge it to stop reminders, or silence the host, on the page above."
                        .to_owned()
                }
                None => format!(
                    "Acknowledge it to stop reminders (POST /api/0/hosts/{}/ack), or silence the host (POST /api/0/silences).",
                    urlencoding(&facts.host)
                ),
            })
        } else {
            Some(
                "Silence the host to stop such messages (POST /api/0/silences, or the host page)."
                    .to_owned(),
            )
        };
        View {
            facts,
            headline: &facts.text,
            channel,
            value_shown: facts.value.map(|v| quantity::shown(path, v)),
            threshold_shown: match (facts.threshold, &facts.operator) {
                (Some(t), Some(op)) => Some(quantity::threshold(path, op, t)),
                (Some(t), None) => Some(quantity::shown(path, t)),
                _ => None,
            },
            since_shown: shown_time(&facts.since),
            at_shown: shown_time(&facts.at),
            duration: hbd_core::render::duration(duration),
            description: context.description,
            link,
            silence,
            lines: facts
                .items
                .iter()
                .take(GROUP_LINES)
                .map(|f| f.text.as_str())
                .collect(),
            count: facts.items.len(),
            more: facts.items.len().saturating_sub(GROUP_LINES),
        }
    }
}

/// A host name as one URL path segment.
fn urlencoding(host: &str) -> String {
    url::form_urlencoded::byte_serialize(host.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests;
