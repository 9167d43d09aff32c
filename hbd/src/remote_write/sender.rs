//! The remote_write task: a queue of its own, batches, retries.
//!
//! The engine hands samples over with [`RemoteWrite::push`], which never waits: when the
//! hand-over channel is full the samples are dropped and counted. The task keeps at most
//! `max_samples` queued (past that the oldest go, counted), sends up to `batch` at a
//! time every `flush_interval` or as soon as a batch is full, retries 5xx, 429 and
//! failed connections with doubling backoff up to `max_backoff` (taking new samples in
//! meanwhile), and drops a batch refused with any other 4xx (the spec: "MUST NOT retry").

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::series::Sample;
use super::wire::encode;
use crate::metrics::Metrics;

/// Sample batches waiting for the task; when full, [`RemoteWrite::push`] drops.
pub const HANDOVER: usize = 1024;

/// First retry delay; it doubles up to `max_backoff`.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// The `remote_write` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The receiver (`http://vm:8428/api/v1/write`).
    pub url: String,
    /// Labels added to every series (`hbd_shard: eu-1`), sorted by name.
    pub external_labels: Vec<(String, String)>,
    /// Most samples queued.
    pub max_samples: usize,
    /// Most samples per request.
    pub batch: usize,
    /// Longest a sample waits before its request goes.
    pub flush_interval: Duration,
    /// Longest wait between retries.
    pub max_backoff: Duration,
    /// Per request.
    pub timeout: Duration,
    /// The TSDB's Prometheus query API (`http://vm:8428`): the `/plugins` charts read
    /// from it instead of SQLite when set.
    pub query_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            url: String::new(),
            external_labels: Vec::new(),
            max_samples: 200_000,
            batch: 5_000,
            flush_interval: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            query_url: None,
        }
    }
}

/// The engine's handle.
#[derive(Debug, Clone)]
pub struct RemoteWrite {
    tx: mpsc::Sender<Vec<Sample>>,
    metrics: Arc<Metrics>,
    /// The external labels, for building samples.
    pub external: Arc<[(String, String)]>,
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// 2xx.
    Accepted,
    /// 5xx, 429 or no answer: try again later.
    Retry(String),
    /// Any other 4xx (or a 3xx): never retried.
    Refused(String),
}

/// What a status code means for a batch.
pub fn classify(status: u16, body: &str) -> Answer {
    let why = || {
        format!(
            "HTTP {status}: {}",
            body.chars().take(200).collect::<String>()
        )
    };
    match status {
        200..=299 => Answer::Accepted,
        429 | 500..=599 => Answer::Retry(why()),
        _ => Answer::Refused(why()),
    }
}

impl RemoteWrite {
    /// Starts the task.
    pub fn start(
        settings: Settings,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) -> Result<(RemoteWrite, JoinHandle<()>), reqwest::Error> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(concat!("hbd/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let (tx, rx) = mpsc::channel(HANDOVER);
        let handle = RemoteWrite {
            tx,
            metrics: metrics.clone(),
            external: settings.external_labels.clone().into(),
        };
        tracing::info!(url = %settings.url, "remote_write on");
        let task = tokio::spawn(run(settings, client, rx, metrics, shutdown));
        Ok((handle, task))
    }

    /// How many more pushes the hand-over channel takes now, of [`HANDOVER`]; a
    /// producer that may wait (a benchmark, not the engine) paces itself by it.
    pub fn room(&self) -> usize {
        self.tx.capacity()
    }

    /// Hands samples to the task without waiting; dropped (and counted) when it is
    /// this far behind.
    pub fn push(&self, samples: Vec<Sample>) {
        if samples.is_empty() {
            return;
        }
        let n = samples.len() as u64;
        self.metrics.rw_produced.inc_by(n);
        if let Err(e) = self.tx.try_send(samples) {
            let lost = match e {
                mpsc::error::TrySendError::Full(s) | mpsc::error::TrySendError::Closed(s) => s,
            };
            self.metrics.rw_dropped.inc_by(lost.len() as u64);
        }
    }
}

struct Queue {
    samples: VecDeque<Sample>,
    max: usize,
    metrics: Arc<Metrics>,
}

impl Queue {
    fn add(&mut self, batch: Vec<Sample>) {
        self.samples.extend(batch);
        let excess = self.samples.len().saturating_sub(self.max);
        if excess > 0 {
            self.samples.drain(..excess);
            self.metrics.rw_dropped.inc_by(excess as u64);
            tracing::warn!(
                dropped = excess,
                "remote_write queue full: oldest samples dropped"
            );
        }
    }

    fn show(&self, in_flight: usize) {
        let n = self.samples.len() + in_flight;
        self.metrics
            .rw_queued
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
}

async fn post(client: &reqwest::Client, url: &str, body: Vec<u8>) -> Answer {
    let sent = client
        .post(url)
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(body)
        .send()
        .await;
    match sent {
        Ok(r) => {
            let status = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            classify(status, &body)
        }
        Err(e) => Answer::Retry(e.to_string()),
    }
}

async fn run(
    settings: Settings,
    client: reqwest::Client,
    mut rx: mpsc::Receiver<Vec<Sample>>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let mut queue = Queue {
        samples: VecDeque::new(),
        max: settings.max_samples.max(1),
        metrics: metrics.clone(),
    };
    let mut open = true;
    while open || !queue.samples.is_empty() {
        // Wait for a full batch, or the flush interval, or the end.
        if queue.samples.len() < settings.batch && open {
            let deadline = tokio::time::sleep(settings.flush_interval);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    got = rx.recv() => match got {
                        Some(b) => {
                            queue.add(b);
                            if queue.samples.len() >= settings.batch {
                                break;
                            }
                        }
                        None => {
                            open = false;
                            break;
                        }
                    },
                    () = &mut deadline => break,
                    () = shutdown.cancelled() => {
                        open = false;
                        break;
                    }
                }
            }
        }
        queue.show(0);
        if queue.samples.is_empty() {
            continue;
        }
        let take = queue.samples.len().min(settings.batch);
        let batch: Vec<Sample> = queue.samples.drain(..take).collect();
        queue.show(batch.len());
        let body = encode(&batch);
        let n = batch.len() as u64;
        let mut backoff = FIRST_BACKOFF;
        loop {
            // Keep taking samples in while the request is out, so a burst waits in the
            // queue rather than overflowing the hand-over channel.
            let send = post(&client, &settings.url, body.clone());
            tokio::pin!(send);
            let answer = loop {
                tokio::select! {
                    answer = &mut send => break answer,
                    got = rx.recv(), if open => match got {
                        Some(b) => {
                            queue.add(b);
                            queue.show(batch.len());
                        }
                        None => open = false,
                    },
                }
            };
            match answer {
                Answer::Accepted => {
                    metrics.rw_sent.inc_by(n);
                    break;
                }
                Answer::Refused(why) => {
                    metrics.rw_dropped.inc_by(n);
                    tracing::error!(samples = n, %why, "remote_write refused a batch; dropped (not retried)");
                    break;
                }
                Answer::Retry(why) => {
                    if !open {
                        metrics.rw_dropped.inc_by(n);
                        tracing::warn!(samples = n, %why, "remote_write failed at shutdown; dropped");
                        break;
                    }
                    metrics.rw_retried.inc_by(n);
                    tracing::warn!(samples = n, %why, retry_in = ?backoff, "remote_write failed; retrying");
                    // Keep taking samples in while waiting, so the engine never blocks.
                    let wait = tokio::time::sleep(backoff);
                    tokio::pin!(wait);
                    loop {
                        tokio::select! {
                            got = rx.recv(), if open => match got {
                                Some(b) => {
                                    queue.add(b);
                                    queue.show(batch.len());
                                }
                                None => open = false,
                            },
                            () = &mut wait => break,
                            () = shutdown.cancelled(), if open => open = false,
                        }
                    }
                    backoff = (backoff * 2).min(settings.max_backoff);
                }
            }
        }
        queue.show(0);
        if !open {
            // At shutdown, one more try for what is queued, then count the rest.
            let rest = queue.samples.len() as u64;
            if rest > 0 && shutdown.is_cancelled() {
                let left: Vec<Sample> = queue.samples.drain(..).collect();
                let body = encode(&left);
                let counter = match post(&client, &settings.url, body).await {
                    Answer::Accepted => &metrics.rw_sent,
                    _ => &metrics.rw_dropped,
                };
                counter.inc_by(rest);
                queue.show(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_s_retry_rules() {
        assert_eq!(classify(204, ""), Answer::Accepted);
        assert_eq!(classify(200, ""), Answer::Accepted);
        assert!(matches!(classify(500, "down"), Answer::Retry(_)));
        assert!(matches!(classify(503, ""), Answer::Retry(_)));
        assert!(matches!(classify(429, "slow down"), Answer::Retry(_)));
        assert!(
            matches!(classify(400, "out of bounds"), Answer::Refused(w) if w.contains("out of bounds"))
        );
        assert!(matches!(classify(404, ""), Answer::Refused(_)));
    }
}
