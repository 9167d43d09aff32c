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
            retries: 5,
            retry_base: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
        }
    }
}
