//! One configured target (`targets.NAME`): which notifications it takes (the hosts it
//! is for; PagerDuty and Alertmanager take problems and recoveries, one by one) and
//! the service it posts to. A failure's reason never carries the target's secrets.

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::alertmanager::Alertmanager;
use super::chat;
use super::delivery::{Outgoing, SendError};
use super::pagerduty;
use super::webhook::{Webhook, WebhookError};
use crate::config::{Secret, Service, TargetConfig};
use hbd_core::facts::{Facts, Kind};

/// A ready target.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its name (metrics label, journal, logs).
    pub name: &'static str,
    hosts: Option<GlobSet>,
    service: Ready,
    /// What must never appear in a logged reason.
    secrets: Vec<String>,
}

#[derive(Debug, Clone)]
enum Ready {
    Webhook(Webhook),
    Slack(reqwest::Client, Secret),
    Teams(reqwest::Client, Secret),
    Discord(reqwest::Client, Secret),
    Telegram {
        client: reqwest::Client,
        url: String,
        token: Secret,
        chat_id: String,
    },
    Ntfy {
        client: reqwest::Client,
        url: String,
        topic: String,
        token: Option<Secret>,
    },
    PagerDuty {
        client: reqwest::Client,
        url: String,
        routing_key: Secret,
    },
    Alertmanager(Alertmanager),
}

impl Target {
    /// A target from its settings; `shard` labels Alertmanager's alerts.
    pub fn new(
        config: &TargetConfig,
        client: &reqwest::Client,
        shard: Option<String>,
    ) -> Result<Target, WebhookError> {
        let c = client.clone();
        let mut secrets = Vec::new();
        let mut keep = |s: &Secret| {
            if !s.expose().is_empty() {
                secrets.push(s.expose().to_owned());
            }
        };
        let service = match &config.service {
            Service::Webhook {
                url,
                method,
                headers,
                body,
            } => {
                keep(url);
                headers.iter().for_each(|(_, v)| keep(v));
                Ready::Webhook(Webhook::new(
                    c,
                    url.clone(),
                    method,
                    headers,
                    body.as_deref(),
                )?)
            }
            Service::Slack { url } => {
                keep(url);
                Ready::Slack(c, url.clone())
            }
            Service::Teams { url } => {
                keep(url);
                Ready::Teams(c, url.clone())
            }
            Service::Discord { url } => {
                keep(url);
                Ready::Discord(c, url.clone())
            }
            Service::Telegram {
                url,
                token,
                chat_id,
            } => {
                keep(token);
                Ready::Telegram {
                    client: c,
                    url: url.clone(),
                    token: token.clone(),
                    chat_id: chat_id.clone(),
                }
            }
            Service::Ntfy { url, topic, token } => {
                token.iter().for_each(&mut keep);
                Ready::Ntfy {
                    client: c,
                    url: url.clone(),
                    topic: topic.clone(),
                    token: token.clone(),
                }
            }
            Service::PagerDuty { url, routing_key } => {
                keep(routing_key);
                Ready::PagerDuty {
                    client: c,
                    url: url.clone(),
                    routing_key: routing_key.clone(),
                }
            }
            Service::Alertmanager {
                url,
                resend,
                labels,
            } => Ready::Alertmanager(Alertmanager::new(
                c,
                url.clone(),
                *resend,
                labels.clone(),
                shard,
            )),
        };
        let hosts = if config.hosts.is_empty() {
            None
        } else {
            let mut set = GlobSetBuilder::new();
            for pattern in &config.hosts {
                // The config reader refused patterns that are not globs.
                if let Ok(glob) = Glob::new(pattern) {
                    set.add(glob);
                }
            }
            set.build().ok()
        };
        Ok(Target {
            name: crate::metrics::Metrics::label(&config.name),
            hosts,
            service,
            secrets,
        })
    }

    /// Whether a notification about `host` goes here.
    pub fn wants_host(&self, host: &str) -> bool {
        self.hosts.as_ref().is_none_or(|set| set.is_match(host))
    }

    /// Whether this target takes a storm group's items one by one (they open and close
    /// incidents or alerts each) rather than as one message.
    pub fn one_by_one(&self) -> bool {
        matches!(
            self.service,
            Ready::PagerDuty { .. } | Ready::Alertmanager(_)
        )
    }

    /// Whether this target has anything to do with `facts`.
    pub fn takes(&self, facts: &Facts) -> bool {
        !self.one_by_one() || matches!(facts.kind, Kind::Problem | Kind::Recovery | Kind::Reminder)
    }

    /// What keeps Alertmanager's open alerts open, when this is one.
    pub fn keeper(&self) -> Option<Alertmanager> {
        match &self.service {
            Ready::Alertmanager(a) => Some(a.clone()),
            _ => None,
        }
    }

    /// One delivery attempt.
    pub async fn send(&self, m: &Outgoing) -> Result<super::delivery::Answer, SendError> {
        let sent = match &self.service {
            Ready::Webhook(w) => w.send(m).await,
            Ready::Slack(c, url) => chat::slack(c, url, m).await,
            Ready::Teams(c, url) => chat::teams(c, url, m).await,
            Ready::Discord(c, url) => chat::discord(c, url, m).await,
            Ready::Telegram {
                client,
                url,
                token,
                chat_id,
            } => chat::telegram(client, url, token, chat_id, m).await,
            Ready::Ntfy {
                client,
                url,
                topic,
                token,
            } => chat::ntfy(client, url, topic, token.as_ref(), m).await,
            Ready::PagerDuty {
                client,
                url,
                routing_key,
            } => pagerduty::send(client, url, routing_key, m).await,
            Ready::Alertmanager(a) => a.send(m).await,
        };
        sent.map_err(|mut e| {
            for secret in &self.secrets {
                e.reason = e.reason.replace(secret.as_str(), "***");
            }
            e
        })
    }
}
