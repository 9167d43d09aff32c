//! The test-send: a sample notification through one channel or target, now, once (no
//! retry), with each delivery's answer from the service, so an administrator sees that
//! a channel works, or why not, without waiting for a real problem. A target that opens
//! and closes incidents (PagerDuty, Alertmanager) gets the sample problem and then its
//! recovery, so nothing is left open.

use std::sync::Arc;

use serde::Serialize;

use super::channel::Channel;
use super::delivery::Outgoing;
use super::{NotifyError, channels};
use crate::clock::Timestamp;
use crate::config::Config;
use crate::messages::{Context, Messages};
use hbd_core::facts;
use hbd_core::model::{Level, Notice, NoticeKind, Notification};

/// The host a sample is about.
pub const SAMPLE_HOST: &str = "hbd-test";

/// One delivery of the test, as the service answered it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Tried {
    /// To whom (an address; empty: the channel's own target).
    pub recipient: String,
    /// The text sent.
    pub text: String,
    /// Whether the service took it.
    pub ok: bool,
    /// What the service answered, or why it failed.
    pub answer: String,
}

/// Why the test could not be sent at all.
#[derive(Debug, thiserror::Error)]
pub enum TestSendError {
    /// No channel or target by that name is configured.
    #[error("no channel or target named {0:?} is configured")]
    Unknown(String),
    /// It has no recipient of its own to send to.
    #[error("{0} has no recipient of its own (e.g. email.to) to send a test to")]
    NoRecipient(String),
    /// The channels could not be made.
    #[error(transparent)]
    Setup(#[from] NotifyError),
}

/// The names of every configured channel and target, as the test-send takes them.
pub fn names(config: &Config) -> Vec<(String, &'static str)> {
    let n = &config.notify;
    let mut out = Vec::new();
    for (set, name) in [
        (n.email.is_some(), "email"),
        (n.pushover.is_some(), "pushover"),
        (n.mattermost.is_some(), "mattermost"),
        (n.signal.is_some(), "signal"),
    ] {
        if set {
            out.push((name.to_owned(), name));
        }
    }
    out.extend(n.targets.iter().map(|t| (t.name.clone(), t.service.kind())));
    out
}

fn sample(kind: NoticeKind, from: Level, to: Level, by: &str) -> Notification {
    let now = Timestamp::now();
    Notification::Alert(Notice {
        host: SAMPLE_HOST.into(),
        path: "test.notification".into(),
        kind,
        from,
        to,
        value: None,
        detail: Some(format!("a test sent by {by}")),
        threshold: None,
        operator: None,
        since: now,
        at: now,
    })
}

/// Sends a sample through `name` (a channel or a target) once, to its own recipients,
/// and says what the service answered each.
pub async fn send(config: &Config, name: &str, by: &str) -> Result<Vec<Tried>, TestSendError> {
    let channel = channels(config)?
        .into_iter()
        .find(|c| c.name() == name)
        .ok_or_else(|| TestSendError::Unknown(name.to_owned()))?;
    let recipients = match channel.kind() {
        Some(kind) => kind.base(config),
        None => vec![String::new()],
    };
    if recipients.is_empty() {
        return Err(TestSendError::NoRecipient(name.to_owned()));
    }
    let mut samples = vec![sample(NoticeKind::Raised, Level::Ok, Level::Warning, by)];
    if let Channel::Target(t) = &channel
        && t.one_by_one()
    {
        samples.push(sample(NoticeKind::Recovered, Level::Warning, Level::Ok, by));
    }
    let messages = Messages::new(&config.notify.messages).map_err(NotifyError::from)?;
    let context = Context {
        description: Some("a sample host of hbd's test-send"),
        public_url: config.public_url.as_deref(),
    };
    let mut tried = Vec::new();
    for n in &samples {
        let Some(f) = facts::of(n) else { continue };
        let f = Arc::new(f);
        let m = messages.render(name, &f, &context);
        for recipient in &recipients {
            let message = Outgoing {
                host: SAMPLE_HOST.into(),
                text: m.text.clone(),
                subject: m.subject.clone(),
                body: m.body.clone(),
                thread: None,
                recipient: recipient.clone(),
                facts: f.clone(),
            };
            let (ok, answer) = match channel.send(&message).await {
                Ok(answer) => (true, answer),
                Err(e) => (false, e.reason),
            };
            tried.push(Tried {
                recipient: recipient.clone(),
                text: message.text,
                ok,
                answer,
            });
        }
    }
    Ok(tried)
}
