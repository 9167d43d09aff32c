//! A configured channel and one delivery attempt on it. Each kind of channel lives in
//! its own file; this enum is the narrow waist the delivery worker sees.

pub use super::delivery::{Outgoing, SendError};
use super::email::Email;
use super::mattermost::Mattermost;
use super::pushover::Pushover;
use super::routing::ChannelKind;
use super::signal::Signal;

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
