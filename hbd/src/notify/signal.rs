//! Signal through signal-cli-rest-api: `POST {url}/v2/send` with
//! `{"message", "number", "recipients": [...]}`.

use super::delivery::{Outgoing, SendError};
use crate::config::SignalConfig;

/// The Signal channel.
#[derive(Debug, Clone)]
pub struct Signal {
    config: SignalConfig,
    client: reqwest::Client,
}

impl Signal {
    /// A channel using `client`.
    pub fn new(config: SignalConfig, client: reqwest::Client) -> Signal {
        Signal { config, client }
    }

    /// One request for the message's one recipient.
    pub async fn send(&self, message: &Outgoing) -> Result<super::delivery::Answer, SendError> {
        let body = serde_json::json!({
            "message": message.text,
            "number": self.config.number,
            "recipients": [message.recipient],
        });
        SendError::deliver(
            "signal",
            self.client
                .post(format!("{}/v2/send", self.config.url))
                .json(&body),
        )
        .await
    }
}
