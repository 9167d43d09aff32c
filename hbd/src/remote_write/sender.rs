//! The remote_write task: queues of its own, batches, retries.
//!
//! The engine hands samples over with [`RemoteWrite::push`], which never waits: when the
//! hand-over channel is full the samples are dropped and counted. The task splits them
//! by series over `shards` senders, each with one request out at a time, so a series'
//! samples always leave in order (a Prometheus receiver refuses a sample older than its
//! series' newest) while several requests travel at once. Each shard keeps at most its
//! share of `max_samples` queued (past that the oldest go, counted), sends up to `batch`
//! at a time every `flush_interval` or as soon as a batch is full, retries 5xx, 429 and
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
    /// Senders, each with one request out at a time; a series always takes the same.
    pub shards: usize,
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
            shards: 4,
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
    /// What this shard last put into the queued gauge.
    shown: i64,
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

    /// Puts this shard's queued and in-flight samples into the gauge every shard adds
    /// to.
    fn show(&mut self, in_flight: usize) {
        let n = i64::try_from(self.samples.len() + in_flight).unwrap_or(i64::MAX);
        let delta = n - self.shown;
        self.shown = n;
        if delta > 0 {
            self.metrics.rw_queued.inc_by(delta);
        } else if delta < 0 {
            self.metrics.rw_queued.dec_by(-delta);
        }
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

/// The shard a series goes to: by its host (every series of one host together, so
/// each series stays in order), the same every time. FNV-1a over the host's name:
/// cheap, and the names are not an attacker's lever here (a skewed spread only slows
/// one shard).
fn shard_of(labels: &[(String, String)], shards: usize) -> usize {
    let host = labels
        .iter()
        .find(|(name, _)| name == "host")
        .map_or("", |(_, value)| value.as_str());
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in host.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    // The remainder is below `shards`, a usize.
    (h % shards as u64) as usize
}

/// Splits what the engine hands over by series over the shards, in order; at
/// shutdown, hands on what already arrived and lets the shards finish.
async fn run(
    settings: Settings,
    client: reqwest::Client,
    mut rx: mpsc::Receiver<Vec<Sample>>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let n = settings.shards.max(1);
    let per_shard = Settings {
        max_samples: (settings.max_samples / n).max(1),
        ..settings
    };
    let (mut senders, mut tasks) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let (tx, shard_rx) = mpsc::channel((HANDOVER / n).max(16));
        senders.push(tx);
        tasks.push(tokio::spawn(shard(
            per_shard.clone(),
            client.clone(),
            shard_rx,
            metrics.clone(),
            shutdown.clone(),
        )));
    }
    // A shard that is behind makes this wait, and the engine's hand-over channel fill
    // (then drop, counted): samples never overtake each other within a series.
    let hand_on = |batch: Vec<Sample>| {
        let mut parts: Vec<Vec<Sample>> = vec![Vec::new(); n];
        for sample in batch {
            parts[shard_of(&sample.labels, n)].push(sample);
        }
        parts
    };
    let mut stopping = false;
    while !stopping {
        let batches = tokio::select! {
            biased;
            got = rx.recv() => match got {
                Some(b) => vec![b],
                None => break,
            },
            () = shutdown.cancelled() => {
                // What already arrived goes on; nothing more is taken.
                stopping = true;
                let mut rest = Vec::new();
                while let Ok(b) = rx.try_recv() {
                    rest.push(b);
                }
                rest
            }
        };
        for batch in batches {
            for (i, part) in hand_on(batch).into_iter().enumerate() {
                // A shard ends only when its channel closes, below: it takes this.
                if !part.is_empty() {
                    let _ = senders[i].send(part).await;
                }
            }
        }
    }
    drop(senders);
    for task in tasks {
        let _ = task.await;
    }
}

/// One shard: its queue, its batches, one request out at a time, retries. It ends once
/// its channel closes (the dispatcher closes it at shutdown, after handing on what had
/// arrived) and its queue is sent, or counted as dropped.
async fn shard(
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
        shown: 0,
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
    fn a_series_always_takes_the_same_shard_and_series_spread_over_all() {
        let labels = |i: usize| {
            vec![
                (
                    "__name__".to_owned(),
                    "hbd_cpu_monitor_cpu_percent".to_owned(),
                ),
                ("host".to_owned(), format!("h{i:04}")),
            ]
        };
        let mut per_shard = [0usize; 4];
        for i in 0..1000 {
            let shard = shard_of(&labels(i), 4);
            assert_eq!(shard, shard_of(&labels(i), 4), "the same every time");
            per_shard[shard] += 1;
        }
        assert!(per_shard.iter().all(|&n| n > 150), "{per_shard:?}");
        assert_eq!(shard_of(&labels(7), 1), 0);
    }

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
