//! Notifications: host events and alert notices, typed until [`render`] turns them into
//! text (and [`facts`] into data), become one message per recipient on every configured
//! channel (email, Pushover, Mattermost, Signal), addressed per the routing rules, and
//! one per target (`targets`: webhooks, chat services, PagerDuty, Alertmanager) that
//! wants its host.
//!
//! The engine calls [`Notifier::notify`], which never blocks: each channel has its own
//! bounded queue (full: the message is dropped, counted and journaled) and its own
//! worker that retries with backoff. At shutdown the workers get a short drain; what is
//! left is counted and journaled.

pub mod alertmanager;
pub mod channel;
pub mod chat;
pub mod delivery;
pub mod email;
pub mod mattermost;
pub mod pagerduty;
pub mod pushover;
pub mod routing;
pub mod signal;
pub mod target;
pub mod test_send;
pub mod threads;
pub mod webhook;
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
use crate::messages::{Context, Messages};
use crate::metrics::Metrics;
pub use crate::model::{FlapNotice, Notification};
use crate::render;
use hbd_core::facts::{self, Facts};
use target::Target;

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
    /// A message template is unusable (the config reader checks them first).
    #[error(transparent)]
    Messages(#[from] crate::messages::MessageError),
    /// A target's settings are unusable.
    #[error("target {name}: {error}")]
    Target {
        /// The target.
        name: String,
        /// What is wrong.
        error: webhook::WebhookError,
    },
}

/// One channel's or target's queue, and how to address it.
#[derive(Debug, Clone)]
struct Queue {
    /// For metrics and the journal.
    name: &'static str,
    /// One of the four channels (addressed by the routing rules) ...
    kind: Option<ChannelKind>,
    /// ... or a target (one message when it wants the host).
    target: Option<Target>,
    tx: mpsc::Sender<Outgoing>,
}

/// The engine's handle.
#[derive(Debug, Clone)]
pub struct Notifier {
    config: Arc<Config>,
    directories: Directories,
    messages: Messages,
    /// Mail threads, when email is configured.
    threads: Option<Arc<threads::Threads>>,
    queues: Vec<Queue>,
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

/// Every configured channel and target, ready to send.
pub fn channels(config: &Config) -> Result<Vec<Channel>, NotifyError> {
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
    let shard = config.ha.as_ref().map(|h| h.shard.clone());
    for t in &n.targets {
        let target =
            Target::new(t, &client, shard.clone()).map_err(|error| NotifyError::Target {
                name: t.name.clone(),
                error,
            })?;
        channels.push(Channel::Target(target));
    }
    Ok(channels)
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
        let channels = channels(&config)?;
        let messages = Messages::new(&config.notify.messages)?;
        let n = &config.notify;
        let threads = n
            .email
            .is_some()
            .then(|| Arc::new(threads::Threads::default()));
        let mut handles = Vec::new();
        for channel in &channels {
            if let Channel::Target(target) = channel
                && let Some(keeper) = target.keeper()
            {
                handles.push(tokio::spawn(keeper.keep_open(shutdown.clone())));
            }
        }
        let mut queues = Vec::new();
        for channel in channels {
            let (tx, rx) = mpsc::channel(QUEUE_LEN);
            queues.push(Queue {
                name: channel.name(),
                kind: channel.kind(),
                target: match &channel {
                    Channel::Target(t) => Some(t.clone()),
                    _ => None,
                },
                tx,
            });
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
            let names: Vec<&str> = queues.iter().map(|q| q.name).collect();
            tracing::info!(channels = ?names, "notifications on");
        }
        Ok((
            Notifier {
                config,
                directories,
                messages,
                threads,
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
        let text = tagged(text, tag);
        let host = notification.host();
        let directory = self.directories.get();
        let mut facts = facts::of(notification)?;
        facts.text = text.clone();
        let facts = Arc::new(facts);
        let thread = self.thread(&facts);
        for queue in &self.queues {
            let recipients = self.recipients(queue, &directory, host, &facts);
            if recipients.is_empty() {
                continue;
            }
            let message = self.message(queue, host, &facts, thread.clone());
            for recipient in recipients {
                self.enqueue(queue, message.clone(), recipient);
            }
        }
        Some(text)
    }

    /// Who gets a notification about `host` on `queue`: the routing rules' addresses on
    /// a channel; the target itself (the empty address) when it wants the host and has
    /// something to do with the facts.
    fn recipients(
        &self,
        queue: &Queue,
        directory: &crate::auth::directory::Directory,
        host: &str,
        facts: &Facts,
    ) -> Vec<String> {
        if !facts.escalated_to.is_empty() {
            // An escalation goes to its step's people only, on the channels they chose.
            return match &queue.kind {
                Some(kind) => {
                    routing::users_on(&self.config, directory, *kind, &facts.escalated_to)
                }
                None => Vec::new(),
            };
        }
        match (&queue.kind, &queue.target) {
            (Some(kind), _) => routing::recipients(&self.config, directory, *kind, host),
            (None, Some(t)) if t.wants_host(host) && t.takes(facts) => vec![String::new()],
            _ => Vec::new(),
        }
    }

    /// Queues a storm group: each recipient on each channel gets one message listing the
    /// group's notifications routed to them (or that one notification's own text, when
    /// only one is theirs).
    pub fn notify_group(&self, group: &[Notification]) {
        self.notify_group_tagged(group, None);
    }

    /// [`Notifier::notify_group`], each message led by `[tag]` when given. A target
    /// that opens and closes incidents (PagerDuty, Alertmanager) gets the items one by
    /// one instead.
    pub fn notify_group_tagged(&self, group: &[Notification], tag: Option<&str>) {
        let directory = self.directories.get();
        let items: Vec<(String, Arc<Facts>, &str)> = group
            .iter()
            .filter_map(|n| {
                let text = render::text(n)?;
                let mut f = facts::of(n)?;
                f.text = tagged(text.clone(), tag);
                Some((text, Arc::new(f), n.host()))
            })
            .collect();
        for queue in &self.queues {
            if queue.target.as_ref().is_some_and(Target::one_by_one) {
                for (_, f, host) in &items {
                    let recipients = self.recipients(queue, &directory, host, f);
                    if recipients.is_empty() {
                        continue;
                    }
                    let message = self.message(queue, host, f, None);
                    for recipient in recipients {
                        self.enqueue(queue, message.clone(), recipient);
                    }
                }
                continue;
            }
            type Theirs<'a> = Vec<(String, Vec<&'a (String, Arc<Facts>, &'a str)>)>;
            let mut per_recipient: Theirs = Vec::new();
            for item in &items {
                for recipient in self.recipients(queue, &directory, item.2, &item.1) {
                    match per_recipient.iter_mut().find(|(r, _)| *r == recipient) {
                        Some((_, theirs)) => theirs.push(item),
                        None => per_recipient.push((recipient, vec![item])),
                    }
                }
            }
            for (recipient, theirs) in per_recipient {
                let texts: Vec<String> = theirs.iter().map(|(t, _, _)| t.clone()).collect();
                let text = tagged(render::group_text(&texts), tag);
                let host = if theirs.len() == 1 {
                    theirs[0].2
                } else {
                    "(several hosts)"
                };
                let facts = theirs.iter().map(|(_, f, _)| (**f).clone()).collect();
                let Some(facts) = facts::group(facts, text) else {
                    continue;
                };
                let facts = Arc::new(facts);
                let thread = self.thread(&facts);
                let message = self.message(queue, host, &facts, thread);
                self.enqueue(queue, message, recipient);
            }
        }
    }

    /// The mail thread of one notification (all its recipients share it).
    fn thread(&self, facts: &Facts) -> Option<threads::Thread> {
        let threads = self.threads.as_ref()?;
        let from = self.config.notify.email.as_ref().map(|e| e.from.as_str());
        let domain = from
            .and_then(|f| f.rsplit_once('@'))
            .map(|(_, d)| d.trim_end_matches('>'))
            .filter(|d| !d.is_empty())
            .unwrap_or("hbd.invalid");
        Some(threads.place(facts, domain))
    }

    /// The message `queue` sends for `facts` (one render for all its recipients).
    fn message(
        &self,
        queue: &Queue,
        host: &str,
        facts: &Arc<Facts>,
        thread: Option<threads::Thread>,
    ) -> Outgoing {
        let context = Context {
            description: self
                .config
                .hosts
                .get(host)
                .and_then(|h| h.description.as_deref()),
            public_url: self.config.public_url.as_deref(),
        };
        let m = self.messages.render(queue.name, facts, &context);
        Outgoing {
            host: host.to_owned(),
            text: m.text,
            subject: m.subject,
            body: m.body,
            thread,
            recipient: String::new(),
            facts: facts.clone(),
        }
    }

    fn enqueue(&self, queue: &Queue, mut message: Outgoing, recipient: String) {
        message.recipient = recipient;
        let host = message.host.clone();
        let host = host.as_str();
        if let Err(TrySendError::Full(m) | TrySendError::Closed(m)) = queue.tx.try_send(message) {
            self.metrics.notification_dropped(queue.name);
            tracing::error!(
                channel = queue.name,
                host,
                "notification queue full; message dropped"
            );
            self.journal.record(vec![Entry::Dropped {
                at: Timestamp::now(),
                channel: queue.name,
                text: m.text,
                reason: "queue full".into(),
            }]);
        }
    }
}

/// `[tag] text` when tagged (an HA pair's daemon telling while coordination is down).
fn tagged(text: String, tag: Option<&str>) -> String {
    match tag {
        Some(tag) => format!("[{tag}] {text}"),
        None => text,
    }
}
