//! One delivery worker per channel: takes messages from its own bounded queue and
//! retries failures with exponential backoff, so a slow or dead channel delays only
//! itself, and a message waiting for its retry delays no other message. A message
//! given up on is logged, counted and journaled.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::channel::Channel;
use super::delivery::Outgoing;
use crate::clock::Timestamp;
use crate::journal::{Entry, Journal};
use crate::metrics::Metrics;

/// Longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The delay before retry number `attempt` (1-based): `base * 2^(attempt-1)`, capped.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(MAX_BACKOFF)
}

/// Messages waiting for a retry, at most; past this a failed message is given up.
pub const MAX_RETRYING: usize = 1024;

/// A message waiting for its next attempt.
struct Retry {
    due: tokio::time::Instant,
    attempt: u32,
    message: Outgoing,
}

/// Delivers until the queue closes and every retry is settled, or `shutdown` is
/// cancelled: then what is still waiting is given up, each counted and journaled,
/// never dropped silently. A message waiting for a retry does not hold up the others:
/// new messages go out while it waits.
pub async fn run(
    channel: Channel,
    mut queue: mpsc::Receiver<Outgoing>,
    retries: u32,
    base: Duration,
    journal: Journal,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let name = channel.name();
    let give_up = |message: &Outgoing, reason: &str| {
        metrics.notification_dropped(name);
        journal.record(vec![Entry::Dropped {
            at: Timestamp::now(),
            channel: name,
            text: message.text.clone(),
            reason: reason.to_owned(),
        }]);
    };
    let mut waiting: Vec<Retry> = Vec::new();
    let mut open = true;
    while open || !waiting.is_empty() {
        let next_due = waiting.iter().map(|r| r.due).min();
        let (message, attempt) = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            () = sleep_until(next_due) => {
                // Invariant: next_due is Some, so `waiting` is not empty.
                let i = waiting
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, r)| r.due)
                    .map_or(0, |(i, _)| i);
                let r = waiting.swap_remove(i);
                (r.message, r.attempt)
            }
            m = queue.recv(), if open => match m {
                Some(m) => (m, 0),
                None => {
                    open = false;
                    continue;
                }
            },
        };
        let sent = tokio::select! {
            () = shutdown.cancelled() => {
                give_up(&message, "daemon stopping");
                break;
            }
            r = channel.send(&message) => r,
        };
        match sent {
            Ok(answer) => {
                metrics.notification_sent(name);
                tracing::info!(channel = name, host = %message.host, recipient = %message.recipient, %answer, "notification sent");
            }
            Err(error) => {
                metrics.notification_failed(name);
                let attempt = attempt + 1;
                if error.permanent || attempt > retries || waiting.len() >= MAX_RETRYING {
                    tracing::error!(channel = name, host = %message.host, recipient = %message.recipient, %error, attempts = attempt, "notification dropped");
                    give_up(&message, &error.reason);
                    continue;
                }
                let delay = backoff(base, attempt);
                tracing::warn!(channel = name, host = %message.host, recipient = %message.recipient, %error, retry_in_ms = delay.as_millis() as u64, "notification failed; will retry");
                waiting.push(Retry {
                    due: tokio::time::Instant::now() + delay,
                    attempt,
                    message,
                });
            }
        }
    }
    queue.close();
    let mut left = 0;
    for r in waiting.drain(..) {
        give_up(&r.message, "daemon stopping");
        left += 1;
    }
    while let Ok(message) = queue.try_recv() {
        give_up(&message, "daemon stopping");
        left += 1;
    }
    if left > 0 {
        tracing::warn!(
            channel = name,
            messages = left,
            "notifications still pending at shutdown were dropped"
        );
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let base = Duration::from_secs(2);
        let got: Vec<u64> = (1..=10).map(|a| backoff(base, a).as_secs()).collect();
        assert_eq!(got, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    }
}
