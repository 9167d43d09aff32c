//! Chat and push services that take one text: Slack (incoming webhook), Microsoft Teams
//! (a Workflows webhook taking an Adaptive Card), Discord (webhook), Telegram (Bot API
//! `sendMessage`) and ntfy (a topic). Each request is shaped as the service's public
//! API documents it; the text is sent as plain text (no markup the agent's words could
//! turn into mentions or links), cut to the service's limit.

use super::delivery::{Outgoing, SendError};
use crate::config::Secret;
use hbd_core::facts::Facts;

/// Characters a Discord message may have.
pub const DISCORD_LIMIT: usize = 2000;
/// Characters a Telegram message may have.
pub const TELEGRAM_LIMIT: usize = 4096;
/// Characters a Teams text block is given (the card's whole payload is at most 28 KB).
pub const TEAMS_LIMIT: usize = 20_000;
/// Characters a Slack message's `text` is given (Slack truncates at 40,000).
pub const SLACK_LIMIT: usize = 40_000;

/// `text` cut to `limit` characters, ending with an ellipsis when cut.
pub fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(limit.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Slack: `POST url {"text"}`; answers 200 `ok`.
pub async fn slack(
    client: &reqwest::Client,
    url: &Secret,
    m: &Outgoing,
) -> Result<super::delivery::Answer, SendError> {
    let body = serde_json::json!({ "text": cut(&m.text, SLACK_LIMIT) });
    SendError::deliver("slack", client.post(url.expose()).json(&body)).await
}

/// Teams (Workflows): a message with one Adaptive Card holding the text; answers 202.
pub async fn teams(
    client: &reqwest::Client,
    url: &Secret,
    m: &Outgoing,
) -> Result<super::delivery::Answer, SendError> {
    let body = serde_json::json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [{
                    "type": "TextBlock",
                    "text": cut(&m.text, TEAMS_LIMIT),
                    "wrap": true,
                }],
            },
        }],
    });
    SendError::deliver("teams", client.post(url.expose()).json(&body)).await
}

/// Discord: `POST url {"content"}`, mentions off (an agent's text cannot ping
/// `@everyone`); answers 204.
pub async fn discord(
    client: &reqwest::Client,
    url: &Secret,
    m: &Outgoing,
) -> Result<super::delivery::Answer, SendError> {
    let body = serde_json::json!({
        "content": cut(&m.text, DISCORD_LIMIT),
        "allowed_mentions": {"parse": []},
    });
    SendError::deliver("discord", client.post(url.expose()).json(&body)).await
}

/// Telegram: `POST {url}/bot{token}/sendMessage {"chat_id", "text"}`, plain text, no
/// link previews; answers 200 `{"ok": true, ...}`.
pub async fn telegram(
    client: &reqwest::Client,
    base: &str,
    token: &Secret,
    chat_id: &str,
    m: &Outgoing,
) -> Result<super::delivery::Answer, SendError> {
    let body = serde_json::json!({
        "chat_id": chat_id,
        "text": cut(&m.text, TELEGRAM_LIMIT),
        "link_preview_options": {"is_disabled": true},
    });
    let url = format!("{base}/bot{}/sendMessage", token.expose());
    // The URL holds the token: the reason names the service only.
    SendError::deliver("telegram", client.post(url).json(&body))
        .await
        .map_err(|e| SendError {
            reason: e.reason.replace(token.expose(), "***"),
            ..e
        })
}

/// ntfy: the text posted to `{url}/{topic}`, with a title, a priority and a tag from
/// the notification's severity; answers 200 with the message as JSON.
pub async fn ntfy(
    client: &reqwest::Client,
    base: &str,
    topic: &str,
    token: Option<&Secret>,
    m: &Outgoing,
) -> Result<super::delivery::Answer, SendError> {
    let (priority, tag) = ntfy_look(&m.facts);
    let title = format!("hbd: {} {}", m.facts.event, m.facts.host);
    let mut request = client
        .post(format!("{base}/{topic}"))
        .header("Title", cut(&title, 250))
        .header("Priority", priority)
        .header("Tags", tag)
        .body(m.text.clone());
    if let Some(token) = token {
        request = request.bearer_auth(token.expose());
    }
    SendError::deliver("ntfy", request).await
}

/// ntfy's priority (1 to 5) and tag (an emoji short code) for a notification.
pub fn ntfy_look(f: &Facts) -> (&'static str, &'static str) {
    if f.resolved {
        return ("3", "white_check_mark");
    }
    match f.severity.as_str() {
        "DOWN" | "UNREACHABLE" | "CRITICAL" => ("5", "rotating_light"),
        "WARNING" | "UNKNOWN" => ("4", "warning"),
        _ => ("3", "information_source"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_keeps_short_texts_and_marks_cut_ones() {
        assert_eq!(cut("short", 10), "short");
        let long = "é".repeat(2100);
        let c = cut(&long, DISCORD_LIMIT);
        assert_eq!(c.chars().count(), DISCORD_LIMIT);
        assert!(c.ends_with('…'));
    }
}
