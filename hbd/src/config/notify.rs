//! Notification channel settings: `email`, `pushover`, `mattermost`, `signal`, and the
//! delivery policy (`notify_retries`, `notify_retry_base`, `notify_timeout`).

use std::path::PathBuf;
use std::time::Duration;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain connection upgraded with STARTTLS (required).
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
    /// No encryption (a local relay only).
    None,
}

/// `email:` — SMTP delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailConfig {
    /// SMTP server.
    pub host: String,
    /// Port (default 587 for starttls, 465 for tls, 25 for none).
    pub port: u16,
    /// Transport security.
    pub security: Security,
    /// Login, when the server needs one.
    pub username: Option<String>,
    /// Password for `username`.
    pub password: Option<String>,
    /// Sender address.
    pub from: String,
    /// Recipients of every notification.
    pub to: Vec<String>,
    /// PEM file of an extra CA to trust (a private relay).
    pub ca_file: Option<PathBuf>,
}

/// `pushover:` — Pushover messages API.
#[derive(Debug, Clone, PartialEq)]
pub struct PushoverConfig {
    /// Application token.
    pub token: String,
    /// User or group key that gets every notification.
    pub user: Option<String>,
    /// Message priority, -2 to 1 (2 needs retry/expire and is not used).
    pub priority: i8,
    /// API URL.
    pub url: String,
}

/// `mattermost:` — incoming webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct MattermostConfig {
    /// The webhook URL (a secret).
    pub webhook_url: String,
    /// Channel override.
    pub channel: Option<String>,
    /// Username override.
    pub username: Option<String>,
}

/// `signal:` — signal-cli-rest-api.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalConfig {
    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// The registered sending number.
    pub number: String,
    /// Recipients of every notification (numbers or `group.ID`).
    pub recipients: Vec<String>,
}

/// A secret from the config, a file (`{file: PATH}`) or the environment (`{env:
/// NAME}`), read when the config is; shown as `***` in every debug output and log.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Secret {
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// `targets.NAME`: one more place to tell, by `kind`.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetConfig {
    /// Its name (metrics, journal, the test-send).
    pub name: String,
    /// Only notifications about hosts matching these globs (none: every host).
    pub hosts: Vec<String>,
    /// The service and its settings.
    pub service: Service,
}

/// What a target posts to.
#[derive(Debug, Clone, PartialEq)]
pub enum Service {
    /// Any JSON-over-HTTP service: `method` to `url` with `headers` and a body from
    /// the Handlebars template `body` (default: the notification's facts as JSON).
    Webhook {
        /// Where.
        url: Secret,
        /// `POST`, `PUT` or `PATCH`.
        method: String,
        /// Extra headers, values possibly secret.
        headers: Vec<(String, Secret)>,
        /// The body's template, rendered with the facts.
        body: Option<String>,
    },
    /// Slack incoming webhook: `{"text"}`.
    Slack {
        /// The webhook URL (a secret).
        url: Secret,
    },
    /// Microsoft Teams Workflows webhook: an Adaptive Card.
    Teams {
        /// The workflow's URL (a secret).
        url: Secret,
    },
    /// Discord webhook: `{"content"}`.
    Discord {
        /// The webhook URL (a secret).
        url: Secret,
    },
    /// Telegram Bot API `sendMessage`.
    Telegram {
        /// API base (`https://api.telegram.org`).
        url: String,
        /// The bot's token.
        token: Secret,
        /// The chat.
        chat_id: String,
    },
    /// ntfy: the text posted to a topic.
    Ntfy {
        /// Server base (`https://ntfy.sh`).
        url: String,
        /// The topic.
        topic: String,
        /// An access token, when the topic needs one.
        token: Option<Secret>,
    },
    /// PagerDuty Events API v2.
    PagerDuty {
        /// The endpoint (`https://events.pagerduty.com/v2/enqueue`).
        url: String,
        /// The integration's routing key.
        routing_key: Secret,
    },
    /// Alertmanager's v2 API: problems posted as alerts, re-posted every `resend`
    /// while open, resolved on recovery.
    Alertmanager {
        /// Its base URL (`http://127.0.0.1:9093`).
        url: String,
        /// How often open alerts are posted again.
        resend: Duration,
        /// Labels added to every alert.
        labels: std::collections::BTreeMap<String, String>,
    },
}

impl Service {
    /// The `kind` that names it in the config.
    pub fn kind(&self) -> &'static str {
        match self {
            Service::Webhook { .. } => "webhook",
            Service::Slack { .. } => "slack",
            Service::Teams { .. } => "teams",
            Service::Discord { .. } => "discord",
            Service::Telegram { .. } => "telegram",
            Service::Ntfy { .. } => "ntfy",
            Service::PagerDuty { .. } => "pagerduty",
            Service::Alertmanager { .. } => "alertmanager",
        }
    }
}

/// Every channel and the delivery policy.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyConfig {
    /// SMTP, when configured.
    pub email: Option<EmailConfig>,
    /// Pushover, when configured and selected by `pushsrv`.
    pub pushover: Option<PushoverConfig>,
    /// Mattermost, when configured and selected by `pushsrv`.
    pub mattermost: Option<MattermostConfig>,
    /// Signal, when configured and selected by `pushsrv`.
    pub signal: Option<SignalConfig>,
    /// More places to tell (`targets`), by name.
    pub targets: Vec<TargetConfig>,
    /// The operator's message templates (`messages`, `templates_dir/messages/`):
    /// template name (`problem.body`, `email/down.subject`) -> source, each checked.
    pub messages: std::collections::BTreeMap<String, String>,
    /// Retries after a failed delivery.
    pub retries: u32,
    /// First retry delay; it doubles each time (capped at 5 minutes).
    pub retry_base: Duration,
    /// Time limit of one delivery attempt.
    pub timeout: Duration,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            email: None,
            pushover: None,
            mattermost: None,
            signal: None,
            targets: Vec::new(),
            messages: Default::default(),
            retries: 5,
            retry_base: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
        }
    }
}
