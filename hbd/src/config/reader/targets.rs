//! The `targets` section: more places to tell, each named and of one `kind` (webhook,
//! slack, teams, discord, telegram, ntfy, pagerduty, alertmanager). Secrets (URLs with
//! tokens, keys, header values) may come from a file or the environment instead of the
//! YAML: `{file: /etc/hbd/key}` or `{env: NAME}`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_norway::Value;

use hb_problems::keys::{Reload, read_map};

use super::Reader;
use super::keys::KeySpec;
use crate::config::{Secret, Service, TargetConfig};

/// `targets.NAME` as read, before its kind says which keys it needs.
#[derive(Debug, Default)]
pub(in crate::config) struct TargetDraft {
    kind: Option<String>,
    hosts: Vec<String>,
    url: Option<Secret>,
    method: Option<String>,
    headers: Vec<(String, Secret)>,
    body: Option<String>,
    token: Option<Secret>,
    chat_id: Option<String>,
    topic: Option<String>,
    routing_key: Option<Secret>,
    resend: Option<Duration>,
    labels: BTreeMap<String, String>,
}

/// The kinds of target.
pub const KINDS: &[&str] = &[
    "webhook",
    "slack",
    "teams",
    "discord",
    "telegram",
    "ntfy",
    "pagerduty",
    "alertmanager",
];

/// Keys of one target; a reload puts each in force (the notifier is made anew).
pub(in crate::config) static TARGET: &[KeySpec<TargetDraft>] = &[
    KeySpec {
        name: "kind",
        reload: Reload::Live,
        read: |r, t, p, v| {
            let kind = r.string(p, v);
            match kind.as_deref() {
                Some(k) if KINDS.contains(&k) => t.kind = kind,
                Some(other) => r.error(
                    p,
                    format!("{other:?} is not a kind of target: {}", KINDS.join(", ")),
                ),
                None => {}
            }
        },
    },
    KeySpec {
        name: "hosts",
        reload: Reload::Live,
        read: |r, t, p, v| t.hosts = r.string_list(p, v).unwrap_or_default(),
    },
    KeySpec {
        name: "url",
        reload: Reload::Live,
        read: |r, t, p, v| {
            if let Some(url) = r.secret_text(p, v) {
                let u = url.expose();
                if u.starts_with("http://") || u.starts_with("https://") {
                    t.url = Some(url);
                } else {
                    r.error(p, "expected an http:// or https:// URL");
                }
            }
        },
    },
    KeySpec {
        name: "method",
        reload: Reload::Live,
        read: |r, t, p, v| match r.string(p, v).map(|m| m.to_ascii_uppercase()) {
            Some(m) if ["POST", "PUT", "PATCH"].contains(&m.as_str()) => t.method = Some(m),
            Some(m) => r.error(p, format!("expected POST, PUT or PATCH, found {m:?}")),
            None => {}
        },
    },
    KeySpec {
        name: "headers",
        reload: Reload::Live,
        read: |r, t, p, v| {
            let Some(map) = r.mapping(p, v) else {
                return;
            };
            for (name, value) in map {
                let Some(name) = r.key_name(p, name) else {
                    continue;
                };
                let mut at = p.to_vec();
                at.push(&name);
                if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    r.error(&at, "is not a header name");
                    continue;
                }
                if let Some(secret) = r.secret_text(&at, value) {
                    if reqwest::header::HeaderValue::from_str(secret.expose()).is_err() {
                        r.error(&at, "is not a header value (one line of visible text)");
                        continue;
                    }
                    t.headers.push((name.clone(), secret));
                }
            }
        },
    },
    KeySpec {
        name: "body",
        reload: Reload::Live,
        read: |r, t, p, v| {
            if let Some(text) = r.string(p, v) {
                match crate::body::BodyTemplate::new(&text) {
                    Ok(_) => t.body = Some(text),
                    Err(e) => r.error(p, e.to_string()),
                }
            }
        },
    },
    KeySpec {
        name: "token",
        reload: Reload::Live,
        read: |r, t, p, v| {
            t.token = r.secret_text(p, v);
        },
    },
    KeySpec {
        name: "chat_id",
        reload: Reload::Live,
        read: |r, t, p, v| {
            t.chat_id = match v {
                Value::Number(n) => Some(n.to_string()),
                _ => r.string(p, v),
            };
        },
    },
    KeySpec {
        name: "topic",
        reload: Reload::Live,
        read: |r, t, p, v| match r.string(p, v) {
            Some(topic)
                if !topic.is_empty()
                    && topic.len() <= 64
                    && topic
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                t.topic = Some(topic);
            }
            Some(_) => r.error(p, "expected a topic name (a-z A-Z 0-9 - _, 1 to 64)"),
            None => {}
        },
    },
    KeySpec {
        name: "routing_key",
        reload: Reload::Live,
        read: |r, t, p, v| {
            t.routing_key = r.secret_text(p, v);
        },
    },
    KeySpec {
        name: "resend",
        reload: Reload::Live,
        read: |r, t, p, v| {
            t.resend = r.span_at_least(p, v, Duration::from_secs(1));
        },
    },
    KeySpec {
        name: "labels",
        reload: Reload::Live,
        read: |r, t, p, v| {
            let Some(map) = r.mapping(p, v) else {
                return;
            };
            for (k, value) in map {
                match (k.as_str(), r.string(p, value)) {
                    (Some(k), Some(value)) => {
                        t.labels.insert(k.to_owned(), value);
                    }
                    _ => r.error(p, "expected label names with string values (team: ops)"),
                }
            }
        },
    },
];

/// The keys each kind takes besides `kind` and `hosts`, the required ones first.
fn keys_of(kind: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        "webhook" => (&["url"], &["method", "headers", "body"]),
        "slack" | "teams" | "discord" => (&["url"], &[]),
        "telegram" => (&["token", "chat_id"], &["url"]),
        "ntfy" => (&["topic"], &["url", "token"]),
        "pagerduty" => (&["routing_key"], &["url"]),
        "alertmanager" => (&["url"], &["resend", "labels"]),
        _ => (&[], &[]),
    }
}

impl Reader {
    /// A secret: a string, `{file: PATH}` (its first line) or `{env: NAME}`.
    pub(super) fn secret_text(&mut self, path: &[&str], v: &Value) -> Option<Secret> {
        self.secret(path, v, Reader::string).map(Secret)
    }

    /// `targets: {NAME: {kind: slack, url: ...}}`.
    pub(super) fn targets(&mut self, v: &Value) -> Vec<TargetConfig> {
        let mut targets = Vec::new();
        let Some(map) = self.mapping(&["targets"], v) else {
            return targets;
        };
        for (name, entry) in map {
            let Some(name) = self.key_name(&["targets"], name) else {
                continue;
            };
            let at = ["targets", name.as_str()];
            if let Err(e) = hb_proto::validate_name(&name) {
                self.error(&at, format!("is not a target name: {e}"));
            }
            let Some(keys) = self.mapping(&at, entry) else {
                self.error(&at, format!("needs `kind` ({})", KINDS.join(", ")));
                continue;
            };
            let mut draft = TargetDraft::default();
            read_map(self, TARGET, &mut draft, &at, keys);
            let Some(kind) = draft.kind.clone() else {
                if !keys.contains_key("kind") {
                    self.error(&at, format!("needs `kind` ({})", KINDS.join(", ")));
                }
                continue;
            };
            let (required, optional) = keys_of(&kind);
            let mut complete = true;
            for key in required {
                if !keys.contains_key(*key) {
                    self.error(&at, format!("a {kind} target needs `{key}`"));
                    complete = false;
                }
            }
            // The keys the file set that only some kinds take (unknown ones were
            // reported by `read_map`).
            let set = keys
                .keys()
                .filter_map(Value::as_str)
                .filter(|k| !matches!(*k, "kind" | "hosts"))
                .filter(|k| TARGET.iter().any(|spec| spec.name == *k));
            for key in set {
                if !required.contains(&key) && !optional.contains(&key) {
                    self.error(&at, format!("`{key}` is not a key of a {kind} target"));
                    complete = false;
                }
            }
            for pattern in &draft.hosts {
                if let Err(e) = globset::Glob::new(pattern) {
                    self.error(
                        &at,
                        format!("hosts: {pattern:?} is not a name pattern: {e}"),
                    );
                    complete = false;
                }
            }
            if !complete {
                continue;
            }
            if let Some(service) = service(&kind, draft.clone_parts()) {
                targets.push(TargetConfig {
                    name,
                    hosts: draft.hosts,
                    service,
                });
            }
        }
        targets
    }
}

/// The parts of a draft a service is made of.
struct Parts {
    url: Option<Secret>,
    method: Option<String>,
    headers: Vec<(String, Secret)>,
    body: Option<String>,
    token: Option<Secret>,
    chat_id: Option<String>,
    topic: Option<String>,
    routing_key: Option<Secret>,
    resend: Option<Duration>,
    labels: BTreeMap<String, String>,
}

impl TargetDraft {
    fn clone_parts(&self) -> Parts {
        Parts {
            url: self.url.clone(),
            method: self.method.clone(),
            headers: self.headers.clone(),
            body: self.body.clone(),
            token: self.token.clone(),
            chat_id: self.chat_id.clone(),
            topic: self.topic.clone(),
            routing_key: self.routing_key.clone(),
            resend: self.resend,
            labels: self.labels.clone(),
        }
    }
}

/// The service of `kind` (its required keys were checked; one that failed to read
/// leaves the target out, its error already reported).
fn service(kind: &str, p: Parts) -> Option<Service> {
    let base = |url: Option<Secret>, default: &str| {
        url.map_or_else(
            || default.to_owned(),
            |u| u.expose().trim_end_matches('/').to_owned(),
        )
    };
    Some(match kind {
        "webhook" => Service::Webhook {
            url: p.url?,
            method: p.method.unwrap_or_else(|| "POST".into()),
            headers: p.headers,
            body: p.body,
        },
        "slack" => Service::Slack { url: p.url? },
        "teams" => Service::Teams { url: p.url? },
        "discord" => Service::Discord { url: p.url? },
        "telegram" => Service::Telegram {
            url: base(p.url, "https://api.telegram.org"),
            token: p.token?,
            chat_id: p.chat_id?,
        },
        "ntfy" => Service::Ntfy {
            url: base(p.url, "https://ntfy.sh"),
            topic: p.topic?,
            token: p.token,
        },
        "pagerduty" => Service::PagerDuty {
            url: p.url.map_or_else(
                || "https://events.pagerduty.com/v2/enqueue".to_owned(),
                |u| u.expose().to_owned(),
            ),
            routing_key: p.routing_key?,
        },
        "alertmanager" => Service::Alertmanager {
            url: base(p.url, ""),
            resend: p.resend.unwrap_or(Duration::from_secs(60)),
            labels: p.labels,
        },
        _ => return None,
    })
}
