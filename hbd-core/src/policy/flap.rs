//! Flap detection as Nagios does it: the last 21 states of a host or alert path, each
//! change weighted from 0.75 (oldest) to 1.25 (newest), as a percentage of the 20
//! possible changes. Flapping starts above a high percentage and ends below a low one.

use serde::{Deserialize, Serialize};

/// States remembered per subject (Nagios' `MAX_STATE_HISTORY_ENTRIES`).
pub const HISTORY: usize = 21;

/// Weight of the oldest change; the newest weighs [`NEWEST_WEIGHT`], linear between.
const OLDEST_WEIGHT: f64 = 0.75;
const NEWEST_WEIGHT: f64 = 1.25;

/// When flapping starts and ends, in percent of weighted state changes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FlapSettings {
    /// Flapping ends below this (Nagios' default 5.0).
    pub low: f64,
    /// Flapping starts above this (Nagios' default 20.0).
    pub high: f64,
}

impl Default for FlapSettings {
    fn default() -> FlapSettings {
        FlapSettings {
            low: 5.0,
            high: 20.0,
        }
    }
}

/// The recent states of one subject, oldest first, as small integers (a level's rank).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flap {
    states: std::collections::VecDeque<u8>,
    flapping: bool,
}

/// What one observation did to the flapping state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FlapChange {
    /// The percentage rose above `high`.
    Started(f64),
    /// The percentage fell below `low`.
    Stopped(f64),
}

impl Flap {
    /// Whether nothing has been recorded (flap detection off, or never observed).
    pub fn is_idle(&self) -> bool {
        self.states.is_empty() && !self.flapping
    }

    /// Records the state seen by one check; says whether flapping started or stopped.
    pub fn record(&mut self, state: u8, settings: &FlapSettings) -> Option<FlapChange> {
        if self.states.len() == HISTORY {
            self.states.pop_front();
        }
        self.states.push_back(state);
        let percent = self.percent();
        if !self.flapping && percent > settings.high {
            self.flapping = true;
            return Some(FlapChange::Started(percent));
        }
        if self.flapping && percent < settings.low {
            self.flapping = false;
            return Some(FlapChange::Stopped(percent));
        }
        None
    }

    /// Whether the subject is flapping now.
    pub fn flapping(&self) -> bool {
        self.flapping
    }

    /// The weighted percentage of state changes over the remembered states. A history not
    /// yet full counts as if it began with its first state repeated (no changes), as
    /// Nagios starts it.
    pub fn percent(&self) -> f64 {
        let pad = HISTORY - self.states.len();
        let mut changes = 0.0;
        let mut prev: Option<u8> = None;
        for (i, &s) in self.states.iter().enumerate() {
            let x = pad + i; // position in the full history, 0 = oldest
            if let Some(p) = prev
                && p != s
            {
                let step = (NEWEST_WEIGHT - OLDEST_WEIGHT) / (HISTORY - 2) as f64;
                changes += OLDEST_WEIGHT + (x - 1) as f64 * step;
            }
            prev = Some(s);
        }
        changes * 100.0 / (HISTORY - 1) as f64
    }
}
