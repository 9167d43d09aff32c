//! Mattermost: a JSON POST `{"text", "channel"?, "username"?}` to an incoming webhook.

use super::delivery::{Outgoing, SendError};
use crate::config::MattermostConfig;

/// The Mattermost channel.
#[derive(Debug, Clone)]
pub struct Mattermost {
    config: MattermostConfig,
    client: reqwest::Client,
}

impl Mattermost {
    /// A channel using `client`.
    pub fn new(config: MattermostConfig, client: reqwest::Client) -> Mattermost {
        Mattermost { config, client }
    }

    /// Posts once per target channel (an empty recipient: the webhook's own channel, or
    /// One post to the message's channel (empty: the webhook's default or `channel`).
    pub async fn send(&self, message: &Outgoing) -> Result<super::delivery::Answer, SendError> {
        let mut body = serde_json::json!({ "text": message.text });
        let channel = if message.recipient.is_empty() {
            self.config.channel.as_ref()
        } else {
            Some(&message.recipient)
        };
        if let Some(channel) = channel {
            body["channel"] = channel.clone().into();
        }
        if let Some(username) = &self.config.username {
            body["username"] = username.clone().into();
        }
        SendError::deliver(
            "mattermost",
            self.client.post(&self.config.webhook_url).json(&body),
        )
        .await
    }
}
