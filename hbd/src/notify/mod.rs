//! Notifications: host events and alert notices, typed until [`render`] turns them into
//! text, become one message per recipient on every configured channel (email, Pushover,
//! Mattermost, Signal), addressed per the routing rules.
//!
//! The engine calls [`Notifier::notify`], which never blocks: each channel has its own
//! bounded queue (full: the message is dropped, counted and journaled) and its own
//! worker that retries with backoff. At shutdown the workers get a short drain; what is
//! left is counted and journaled.

pub mod channel;
pub mod delivery;
pub mod email;
pub mod mattermost;
pub mod pushover;
pub mod routing;
pub mod signal;
pub mod worker;

use std::sync::Arc;

use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use channel::Channel;
use delivery::Outgoing;
use routing::ChannelKind;

use crate::auth::directory::Directories;
use crate::clock::Timestamp;
use crate::config::Config;
use crate::journal::{Entry, Journal};
use crate::metrics::Metrics;
pub use crate::model::{FlapNotice, Notification};
use crate::render;

/// Messages waiting per channel.
pub const QUEUE_LEN: usize = 1024;

/// Why the notifier could not start.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// A channel's settings are unusable.
    #[error(transparent)]
    Email(#[from] email::EmailSetupError),
    /// The HTTP client could not be built.
    #[error("http client: {0}")]
    Http(String),
}

/// The engine's handle.
#[derive(Debug, Clone)]
pub struct Notifier {
    config: Arc<Config>,
    directories: Directories,
    queues: Vec<(ChannelKind, mpsc::Sender<Outgoing>)>,
    journal: Journal,
    metrics: Arc<Metrics>,
}

/// The HA pair delivers what it approves straight to the notifier in force.
impl crate::ha::Deliver for Notifier {
    fn deliver(&self, group: &[Notification], tag: Option<&str>) {
        match group {
            [one] => {
                self.notify_tagged(one, tag);
            }
            _ => self.notify_group_tagged(group, tag),
        }
    }
}

impl Notifier {
    /// Starts a worker for every configured channel.
    pub fn start(
        config: Arc<Config>,
        directories: Directories,
        journal: Journal,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) -> Result<(Notifier, Vec<JoinHandle<()>>), NotifyError> {
        // One TLS provider for every client (reqwest, lettre): ring, no OpenSSL, no
        // aws-lc. Installing it again (a reload) is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let n = &config.notify;
        let client = reqwest::Client::builder()
            .timeout(n.timeout)
            .user_agent(concat!("hbd/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| NotifyError::Http(e.to_string()))?;
        let mut channels = Vec::new();
        if let Some(c) = &n.email {
            channels.push(Channel::Email(email::Email::new(c.clone(), n.timeout)?));
        }
        if let Some(c) = &n.pushover {
            channels.push(Channel::Pushover(pushover::Pushover::new(
                c.clone(),
                client.clone(),
            )));
        }
        if let Some(c) = &n.mattermost {
            channels.push(Channel::Mattermost(mattermost::Mattermost::new(
                c.clone(),
                client.clone(),
            )));
        }
        if let Some(c) = &n.signal {
            channels.push(Channel::Signal(signal::Signal::new(
                c.clone(),
                client.clone(),
            )));
        }
        let mut queues = Vec::new();
        let mut handles = Vec::new();
        for channel in channels {
            let (tx, rx) = mpsc::channel(QUEUE_LEN);
            queues.push((channel.kind(), tx));
            handles.push(tokio::spawn(worker::run(
                channel,
                rx,
                n.retries,
                n.retry_base,
                journal.clone(),
                metrics.clone(),
                shutdown.clone(),
            )));
        }
        if !queues.is_empty() {
            let names: Vec<&str> = queues.iter().map(|(k, _)| k.as_str()).collect();
            tracing::info!(channels = ?names, "notifications on");
        }
        Ok((
            Notifier {
                config,
                directories,
                queues,
                journal,
                metrics,
            },
            handles,
        ))
    }

    /// Whether any channel is configured.
    pub fn has_channels(&self) -> bool {
        !self.queues.is_empty()
    }

    /// Queues the notification on every channel, one message per recipient. Returns
    /// its text, or `None` when this kind of notification sends nothing.
    pub fn notify(&self, notification: &Notification) -> Option<String> {
        self.notify_tagged(notification, None)
    }

    /// [`Notifier::notify`], the text led by `[tag]` when given (an HA pair's daemon
    /// telling while coordination is down says so).
    pub fn notify_tagged(&self, notification: &Notification, tag: Option<&str>) -> Option<String> {
        let text = render::text(notification)?;
        let text = match tag {
            Some(tag) => format!("[{tag}] {text}"),
            None => text,
        };
        let host = notification.host();
        let directory = self.directories.get();
        for (kind, queue) in &self.queues {
            for recipient in routing::recipients(&self.config, &directory, *kind, host) {
                self.enqueue(*kind, queue, host, text.clone(), recipient);
            }
        }
        Some(text)
    }

    /// Queues a storm group: each recipient on each channel gets one message listing the
    /// group's notifications routed to them (or that one notification's own text, when
    /// only one is theirs).
    pub fn notify_group(&self, group: &[Notification]) {
        self.notify_group_tagged(group, None);
    }

    /// [`Notifier::notify_group`], each message led by `[tag]` when given.
    pub fn notify_group_tagged(&self, group: &[Notification], tag: Option<&str>) {
        let directory = self.directories.get();
        for (kind, queue) in &self.queues {
            let mut per_recipient: Vec<(String, Vec<String>, Vec<&str>)> = Vec::new();
            for n in group {
                let Some(text) = render::text(n) else {
                    continue;
                };
                for recipient in routing::recipients(&self.config, &directory, *kind, n.host()) {
                    match per_recipient.iter_mut().find(|(r, _, _)| *r == recipient) {
                        Some((_, texts, hosts)) => {
                            texts.push(text.clone());
                            hosts.push(n.host());
                        }
                        None => per_recipient.push((recipient, vec![text.clone()], vec![n.host()])),
                    }
                }
            }
            for (recipient, texts, hosts) in per_recipient {
                let text = render::group_text(&texts);
                let text = match tag {
                    Some(tag) => format!("[{tag}] {text}"),
                    None => text,
                };
                let host = if texts.len() == 1 {
                    hosts[0]
                } else {
                    "(several hosts)"
                };
                self.enqueue(*kind, queue, host, text, recipient);
            }
        }
    }

    fn enqueue(
        &self,
        kind: ChannelKind,
        queue: &mpsc::Sender<Outgoing>,
        host: &str,
        text: String,
        recipient: String,
    ) {
        let message = Outgoing {
            host: host.to_owned(),
            text,
            recipient,
        };
        if let Err(TrySendError::Full(m) | TrySendError::Closed(m)) = queue.try_send(message) {
            self.metrics.notification_dropped(kind.as_str());
            tracing::error!(
                channel = kind.as_str(),
                host,
                "notification queue full; message dropped"
            );
            self.journal.record(vec![Entry::Dropped {
                at: Timestamp::now(),
                channel: kind.as_str(),
                text: m.text,
                reason: "queue full".into(),
            }]);
        }
    }
}
