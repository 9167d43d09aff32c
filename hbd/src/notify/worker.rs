//! One delivery worker per channel: takes messages from its own bounded queue and
//! retries failures with exponential backoff, so a slow or dead channel delays only
//! itself. A message given up on is logged, counted and journaled.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::channel::{Channel, Outgoing};
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

/// Delivers until the queue closes (after delivering what it holds) or `shutdown` is
/// cancelled: then the message in hand and every one still queued are given up, each
/// counted and journaled, never dropped silently.
pub async fn run(
    channel: Channel,
    mut queue: mpsc::Receiver<Outgoing>,
    retries: u32,
    base: Duration,
    journal: Journal,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let name = channel.kind().as_str();
    let give_up = |message: &Outgoing, reason: &str| {
        metrics.notification_dropped(name);
        journal.record(vec![Entry::Dropped {
            at: Timestamp::now(),
            channel: name,
            text: message.text.clone(),
            reason: reason.to_owned(),
        }]);
    };
    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => break,
            m = queue.recv() => match m { Some(m) => m, None => return },
        };
        let mut attempt = 0u32;
        loop {
            let sent = tokio::select! {
                () = shutdown.cancelled() => None,
                r = channel.send(&message) => Some(r),
            };
            let Some(sent) = sent else {
                give_up(&message, "daemon stopping");
                break;
            };
            match sent {
                Ok(()) => {
                    metrics.notification_sent(name);
                    tracing::info!(channel = name, host = %message.host, recipient = %message.recipient, "notification sent");
                    break;
                }
                Err(error) => {
                    metrics.notification_failed(name);
                    attempt += 1;
                    if error.permanent || attempt > retries {
                        tracing::error!(channel = name, host = %message.host, recipient = %message.recipient, %error, attempts = attempt, "notification dropped");
                        give_up(&message, &error.reason);
                        break;
                    }
                    let delay = backoff(base, attempt);
                    tracing::warn!(channel = name, host = %message.host, recipient = %message.recipient, %error, retry_in_ms = delay.as_millis() as u64, "notification failed; will retry");
                    tokio::select! {
                        () = shutdown.cancelled() => {}
                        () = tokio::time::sleep(delay) => continue,
                    }
                    give_up(&message, "daemon stopping");
                    break;
                }
            }
        }
        if shutdown.is_cancelled() {
            break;
        }
    }
    queue.close();
    let mut left = 0;
    while let Ok(message) = queue.try_recv() {
        give_up(&message, "daemon stopping");
        left += 1;
    }
    if left > 0 {
        tracing::warn!(
            channel = name,
            messages = left,
            "notifications still queued at shutdown were dropped"
        );
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
