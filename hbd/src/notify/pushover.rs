//! Pushover: a form-encoded POST per recipient to the messages API
//! (`token`, `user`, `message`, `title`, `priority`).

use super::delivery::{Outgoing, SendError};
use crate::config::PushoverConfig;

/// The longest message Pushover accepts, in characters; longer ones are refused (400).
pub const MAX_MESSAGE: usize = 1024;

/// The text cut to [`MAX_MESSAGE`] characters, ending in `…` when cut.
pub fn fit(text: &str) -> String {
    if text.chars().count() <= MAX_MESSAGE {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_MESSAGE - 1).collect();
    cut.push('…');
    cut
}

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
    pub async fn send(&self, message: &Outgoing) -> Result<super::delivery::Answer, SendError> {
        let priority = self.config.priority.to_string();
        let text = fit(&message.text);
        let form = [
            ("token", self.config.token.as_str()),
            ("user", message.recipient.as_str()),
            ("title", "hbd"),
            ("message", text.as_str()),
            ("priority", priority.as_str()),
        ];
        SendError::deliver("pushover", self.client.post(&self.config.url).form(&form)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_to_what_pushover_accepts() {
        assert_eq!(fit("DOWN: web1"), "DOWN: web1");
        let long = "é".repeat(2000);
        let cut = fit(&long);
        assert_eq!(cut.chars().count(), MAX_MESSAGE);
        assert!(cut.ends_with('…'));
    }
}
