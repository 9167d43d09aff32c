//! A generic webhook: `method` to `url` with the configured headers and a JSON body,
//! from the target's Handlebars template (`body`, checked when the config was read) or,
//! without one, the notification's facts as they are. Any JSON-over-HTTP service works
//! without new code. Header values and the URL may be secrets: no error names them.

use super::delivery::{Outgoing, SendError};
use crate::body::BodyTemplate;
use crate::config::Secret;

/// A webhook target.
#[derive(Debug, Clone)]
pub struct Webhook {
    client: reqwest::Client,
    url: Secret,
    method: reqwest::Method,
    headers: reqwest::header::HeaderMap,
    body: Option<BodyTemplate>,
}

/// Why a webhook cannot be made (the config reader checks each of these first).
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The method is not one a webhook takes.
    #[error("method {0:?}: expected POST, PUT or PATCH")]
    Method(String),
    /// A header is not a header.
    #[error("header {0:?} is not a header name and value")]
    Header(String),
    /// The body template.
    #[error(transparent)]
    Body(#[from] crate::body::BodyError),
}

impl Webhook {
    /// A webhook from its settings.
    pub fn new(
        client: reqwest::Client,
        url: Secret,
        method: &str,
        headers: &[(String, Secret)],
        body: Option<&str>,
    ) -> Result<Webhook, WebhookError> {
        let method = match method {
            "POST" => reqwest::Method::POST,
            "PUT" => reqwest::Method::PUT,
            "PATCH" => reqwest::Method::PATCH,
            other => return Err(WebhookError::Method(other.to_owned())),
        };
        let mut map = reqwest::header::HeaderMap::new();
        for (name, value) in headers {
            let (Ok(n), Ok(mut v)) = (
                reqwest::header::HeaderName::from_bytes(name.as_bytes()),
                reqwest::header::HeaderValue::from_str(value.expose()),
            ) else {
                return Err(WebhookError::Header(name.clone()));
            };
            v.set_sensitive(true);
            map.insert(n, v);
        }
        let body = body.map(BodyTemplate::new).transpose()?;
        Ok(Webhook {
            client,
            url: url.clone(),
            method,
            headers: map,
            body,
        })
    }

    /// Sends `m`.
    pub async fn send(&self, m: &Outgoing) -> Result<super::delivery::Answer, SendError> {
        let body = match &self.body {
            Some(t) => t
                .render(&m.facts)
                .map_err(|e| SendError::permanent(format!("webhook: {e}")))?,
            None => serde_json::to_string(&*m.facts)
                .map_err(|e| SendError::permanent(format!("webhook: {e}")))?,
        };
        let request = self
            .client
            .request(self.method.clone(), self.url.expose())
            .headers(self.headers.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        SendError::deliver("webhook", request)
            .await
            .map_err(|e| SendError {
                reason: e.reason.replace(self.url.expose(), "(the webhook's URL)"),
                ..e
            })
    }
}
