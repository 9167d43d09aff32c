//! What every channel speaks: one message for one recipient ([`Outgoing`]), and why an
//! attempt to deliver it failed ([`SendError`]), with whether a retry can help.

/// One message for one recipient on one channel: each is delivered and retried on its
/// own, so a retry repeats only the delivery that failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// The host it is about.
    pub host: String,
    /// What chat and push channels send (the `text` template; the headline by default).
    pub text: String,
    /// Email's subject after `[hbd] `, Pushover's title (the `subject` template).
    pub subject: String,
    /// Email's body (the `body` template).
    pub body: String,
    /// Its mail thread (`Message-ID`, `In-Reply-To`), when email is configured.
    pub thread: Option<super::threads::Thread>,
    /// A channel-specific address (email, user key, number, Mattermost channel; an
    /// empty string means the channel's default target).
    pub recipient: String,
    /// The same notification as facts, for the targets that post data.
    pub facts: std::sync::Arc<hbd_core::facts::Facts>,
}

/// What the service answered a delivery: `HTTP 202 Accepted: {...}`, `250 2.0.0 Ok`
/// (at most 300 characters of its body), shown by the test-send.
pub type Answer = String;

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
    pub async fn deliver(
        service: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, SendError> {
        let response = request
            .send()
            .await
            .map_err(|e| SendError::transient(format!("{service}: {e}")))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        SendError::from_status(status, &body)
    }

    /// Classifies an HTTP status: 2xx ok, 429 and 5xx transient, other 4xx permanent.
    pub fn from_status(status: reqwest::StatusCode, body: &str) -> Result<Answer, SendError> {
        let reason = || {
            format!(
                "HTTP {status}: {}",
                body.chars().take(300).collect::<String>()
            )
        };
        if status.is_success() {
            Ok(reason())
        } else if status.as_u16() == 429 || status.is_server_error() {
            Err(SendError::transient(reason()))
        } else {
            Err(SendError::permanent(reason()))
        }
    }
}
