//! A configured channel and one delivery attempt on it. Each kind of channel lives in
//! its own file; this enum is the narrow waist the delivery worker sees.

use super::email::Email;
use super::mattermost::Mattermost;
use super::pushover::Pushover;
use super::routing::ChannelKind;
use super::signal::Signal;

/// One message for one recipient on one channel: each is delivered and retried on its
/// own, so a retry repeats only the delivery that failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// The host it is about.
    pub host: String,
    /// The text (also the email subject, after `[hbd] `).
    pub text: String,
    /// A channel-specific address (email, user key, number, Mattermost channel; an
    /// empty string means the channel's default target).
    pub recipient: String,
}

/// Why an attempt failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason}")]
pub struct SendError {
    /// What happened.
    pub reason: String,
    /// The service refused the request itself (4xx, SMTP 5xx): do not retry.
    pub permanent: bool,
}

impl SendError {
    /// A failure worth retrying (network, timeout, 5xx, SMTP 4xx).
    pub fn transient(reason: impl Into<String>) -> SendError {
        SendError {
            reason: reason.into(),
            permanent: false,
        }
    }

    /// A refusal that will not change on retry.
    pub fn permanent(reason: impl Into<String>) -> SendError {
        SendError {
            reason: reason.into(),
            permanent: true,
        }
    }

    /// Sends one HTTP request and classifies its answer; `service` names the channel in
    /// the reason. The one place the HTTP channels turn a response into a result.
    pub async fn deliver(service: &str, request: reqwest::RequestBuilder) -> Result<(), SendError> {
        let response = request
            .send()
            .await
            .map_err(|e| SendError::transient(format!("{service}: {e}")))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        SendError::from_status(status, &body)
    }

    /// Classifies an HTTP status: 2xx ok, 429 and 5xx transient, other 4xx permanent.
    pub fn from_status(status: reqwest::StatusCode, body: &str) -> Result<(), SendError> {
        let reason = || {
            format!(
                "HTTP {status}: {}",
                body.chars().take(300).collect::<String>()
            )
        };
        if status.is_success() {
            Ok(())
        } else if status.as_u16() == 429 || status.is_server_error() {
            Err(SendError::transient(reason()))
        } else {
            Err(SendError::permanent(reason()))
        }
    }
}

/// A ready channel.
#[derive(Debug, Clone)]
pub enum Channel {
    /// SMTP.
    Email(Email),
    /// Pushover.
    Pushover(Pushover),
    /// Mattermost.
    Mattermost(Mattermost),
    /// Signal.
    Signal(Signal),
}

impl Channel {
    /// Which channel this is.
    pub fn kind(&self) -> ChannelKind {
        match self {
            Channel::Email(_) => ChannelKind::Email,
            Channel::Pushover(_) => ChannelKind::Pushover,
            Channel::Mattermost(_) => ChannelKind::Mattermost,
            Channel::Signal(_) => ChannelKind::Signal,
        }
    }

    /// One delivery attempt.
    pub async fn send(&self, message: &Outgoing) -> Result<(), SendError> {
        match self {
            Channel::Email(c) => c.send(message).await,
            Channel::Pushover(c) => c.send(message).await,
            Channel::Mattermost(c) => c.send(message).await,
            Channel::Signal(c) => c.send(message).await,
        }
    }
}
