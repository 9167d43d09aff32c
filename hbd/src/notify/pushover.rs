//! Pushover: a form-encoded POST per recipient to the messages API
//! (`token`, `user`, `message`, `title`, `priority`).

use super::channel::{Outgoing, SendError};
use crate::config::PushoverConfig;

/// The Pushover channel.
#[derive(Debug, Clone)]
pub struct Pushover {
    config: PushoverConfig,
    client: reqwest::Client,
}

impl Pushover {
    /// A channel using `client` (which carries the timeout).
    pub fn new(config: PushoverConfig, client: reqwest::Client) -> Pushover {
        Pushover { config, client }
    }

    /// One request for the message's one user key.
    pub async fn send(&self, message: &Outgoing) -> Result<(), SendError> {
        let priority = self.config.priority.to_string();
        let form = [
            ("token", self.config.token.as_str()),
            ("user", message.recipient.as_str()),
            ("title", "hbd"),
            ("message", message.text.as_str()),
            ("priority", priority.as_str()),
        ];
        SendError::deliver("pushover", self.client.post(&self.config.url).form(&form)).await
    }
}
