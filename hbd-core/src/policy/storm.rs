//! Storm grouping: when more than `threshold` notifications go out within `window`,
//! the rest of that window's are held and sent as one grouped message when it ends, so
//! 200 hosts behind a dead switch make a few messages, not 200.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;

use crate::clock::{Mono, Now, Timestamp};
use crate::model::Notification;

/// Grouping settings; `threshold: 0` turns grouping off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StormSettings {
    /// How far back sent notifications are counted, and how long a group collects.
    pub window: Duration,
    /// Notifications sent one by one within `window` before the rest are grouped.
    pub threshold: usize,
}

impl Default for StormSettings {
    fn default() -> StormSettings {
        StormSettings {
            window: Duration::from_secs(60),
            threshold: 10,
        }
    }
}

/// One grouped message, kept for the API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StormRecord {
    /// Its number, counting from 1 since the daemon started.
    pub id: u64,
    /// When it was sent.
    pub at: Timestamp,
    /// How many notifications it holds.
    pub count: usize,
    /// Each notification, oldest first.
    pub items: Vec<StormItem>,
    /// The hosts concerned, sorted, each once.
    pub hosts: Vec<String>,
}

/// One notification in a storm group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StormItem {
    /// The host it is about.
    pub host: String,
    /// Its text.
    pub text: String,
}

/// Grouped messages kept for the API.
pub const KEPT: usize = 50;

/// The grouping state.
#[derive(Debug, Default)]
pub struct Storm {
    settings: StormSettings,
    sent: VecDeque<Mono>,
    held: Vec<Notification>,
    flush_at: Option<Mono>,
    last_id: u64,
    recent: VecDeque<StormRecord>,
}

impl Storm {
    /// No storm yet.
    pub fn new(settings: StormSettings) -> Storm {
        Storm {
            settings,
            ..Storm::default()
        }
    }

    /// New settings (reload); a group being collected is kept.
    pub fn set(&mut self, settings: StormSettings) {
        self.settings = settings;
    }

    /// Takes one notification to send: `Ok` it to send now, or `Err(id)` the number of
    /// the group it will go out in.
    pub fn offer(&mut self, n: Notification, now: Now) -> Result<Notification, u64> {
        let s = self.settings;
        if s.threshold == 0 {
            return Ok(n);
        }
        while self
            .sent
            .front()
            .is_some_and(|&t| now.mono.since(t) >= s.window)
        {
            self.sent.pop_front();
        }
        if self.flush_at.is_none() && self.sent.len() < s.threshold {
            self.sent.push_back(now.mono);
            return Ok(n);
        }
        self.flush_at.get_or_insert(now.mono.plus(s.window));
        self.held.push(n);
        Err(self.last_id + 1)
    }

    /// When the group being collected is due.
    pub fn next_deadline(&self) -> Option<Mono> {
        self.flush_at
    }

    /// The group, once due: its notifications and its record.
    pub fn flush(&mut self, now: Now) -> Option<(Vec<Notification>, StormRecord)> {
        if self.flush_at.is_none_or(|t| t > now.mono) {
            return None;
        }
        self.flush_at = None;
        let items = std::mem::take(&mut self.held);
        if items.is_empty() {
            return None;
        }
        self.last_id += 1;
        // The group counts as one message sent.
        self.sent.push_back(now.mono);
        let mut hosts: Vec<String> = items.iter().map(|n| n.host().to_owned()).collect();
        hosts.sort();
        hosts.dedup();
        let record = StormRecord {
            id: self.last_id,
            at: now.wall,
            count: items.len(),
            items: items
                .iter()
                .filter_map(|n| {
                    Some(StormItem {
                        host: n.host().to_owned(),
                        text: crate::render::text(n)?,
                    })
                })
                .collect(),
            hosts,
        };
        if self.recent.len() == KEPT {
            self.recent.pop_front();
        }
        self.recent.push_back(record.clone());
        Some((items, record))
    }

    /// The latest groups, newest first.
    pub fn recent(&self) -> Vec<StormRecord> {
        self.recent.iter().rev().cloned().collect()
    }
}
