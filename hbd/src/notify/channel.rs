//! A configured channel and one delivery attempt on it. Each kind of channel lives in
//! its own file; this enum is the narrow waist the delivery worker sees.

pub use super::delivery::{Outgoing, SendError};
use super::email::Email;
use super::mattermost::Mattermost;
use super::pushover::Pushover;
use super::routing::ChannelKind;
use super::signal::Signal;
use super::target::Target;

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
    /// A target (`targets.NAME`): a webhook, a chat service, PagerDuty, Alertmanager.
    Target(Target),
}

impl Channel {
    /// Which of the four channels this is; `None` for a target.
    pub fn kind(&self) -> Option<ChannelKind> {
        match self {
            Channel::Email(_) => Some(ChannelKind::Email),
            Channel::Pushover(_) => Some(ChannelKind::Pushover),
            Channel::Mattermost(_) => Some(ChannelKind::Mattermost),
            Channel::Signal(_) => Some(ChannelKind::Signal),
            Channel::Target(_) => None,
        }
    }

    /// Its name in metrics, logs and the journal: the channel's, or the target's.
    pub fn name(&self) -> &'static str {
        match (self.kind(), self) {
            (_, Channel::Target(t)) => t.name,
            (Some(kind), _) => kind.as_str(),
            (None, _) => "target",
        }
    }

    /// One delivery attempt.
    pub async fn send(&self, message: &Outgoing) -> Result<super::delivery::Answer, SendError> {
        match self {
            Channel::Email(c) => c.send(message).await,
            Channel::Pushover(c) => c.send(message).await,
            Channel::Mattermost(c) => c.send(message).await,
            Channel::Signal(c) => c.send(message).await,
            Channel::Target(t) => t.send(message).await,
        }
    }
}
