//! This daemon's side of one of the pair's shared queues in PostgreSQL: what its API
//! took that the other daemon must know too (commands to send, acknowledgements made
//! or taken back). What waits is written at once and at every renewal, kept (bounded)
//! while PostgreSQL does not answer; what the queue gained is read at every renewal.
//! This daemon's own items come back too; the engine knows them and they change
//! nothing.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::MAX_WAITING;
use super::pg::{self, Db};
use crate::model::{AckChange, Job};

/// Items read per renewal, at most.
const PER_READ: i64 = 500;

/// What a shared queue holds.
pub trait Item: Serialize + DeserializeOwned {
    /// Its table.
    const QUEUE: &'static pg::Queue;
    /// What it is, for the log.
    const WHAT: &'static str;
    /// Its id in the queue: the same item written twice is kept once.
    fn id(&self) -> String;
}

impl Item for Job {
    const QUEUE: &'static pg::Queue = &pg::JOBS;
    const WHAT: &'static str = "command";
    fn id(&self) -> String {
        self.id.clone()
    }
}

impl Item for AckChange {
    const QUEUE: &'static pg::Queue = &pg::ACKS;
    const WHAT: &'static str = "acknowledgement";
    fn id(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}",
            self.host,
            self.path.as_deref().unwrap_or(""),
            self.ack.by,
            self.ack.at.0,
            if self.withdrawn { "withdrawn" } else { "made" }
        )
    }
}

/// Items taken here not yet written, and how far the queue has been read.
#[derive(Debug)]
pub struct Shared<T> {
    unwritten: Vec<T>,
    read_to: i64,
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Shared {
            unwritten: Vec::new(),
            read_to: 0,
        }
    }
}

impl<T: Item> Shared<T> {
    /// Keeps `item` to be written; past [`MAX_WAITING`] the oldest is given up, logged.
    pub fn add(&mut self, item: T) {
        if self.unwritten.len() == MAX_WAITING {
            let old = self.unwritten.remove(0);
            tracing::error!(
                id = %old.id(),
                what = T::WHAT,
                "coordination down too long: not shared with the pair"
            );
        }
        self.unwritten.push(item);
    }

    /// Writes what waits; kept for the next try if PostgreSQL does not answer.
    pub async fn write(&mut self, d: &Db, shard: &str) {
        if self.unwritten.is_empty() {
            return;
        }
        let rows: Vec<(String, String)> = self
            .unwritten
            .iter()
            .filter_map(|item| Some((item.id(), serde_json::to_string(item).ok()?)))
            .collect();
        match d.share(T::QUEUE, shard, &rows).await {
            Ok(()) => self.unwritten.clear(),
            Err(error) => tracing::warn!(
                %error,
                what = T::WHAT,
                "not shared yet; kept until coordination answers"
            ),
        }
    }

    /// Reads what the queue gained since the last read.
    pub async fn read(&mut self, d: &Db, shard: &str) -> Vec<T> {
        match d.after(T::QUEUE, shard, self.read_to, PER_READ).await {
            Ok(rows) => rows
                .into_iter()
                .filter_map(|(seq, json)| {
                    self.read_to = self.read_to.max(seq);
                    serde_json::from_str(&json)
                        .map_err(|error| {
                            tracing::warn!(%error, seq, what = T::WHAT, "unreadable shared item skipped");
                        })
                        .ok()
                })
                .collect(),
            Err(error) => {
                tracing::warn!(%error, what = T::WHAT, "shared queue not read");
                Vec::new()
            }
        }
    }
}
