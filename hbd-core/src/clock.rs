//! Time as the pure core sees it, passed in by the shell so tests can use synthetic time.
//!
//! Two clocks, because they answer different questions. [`Timestamp`] is wall-clock time
//! (milliseconds since the Unix epoch): it goes into records, the journal, `since` fields
//! and the agents' clock-skew checks, and it may jump when the system clock is set.
//! [`Mono`] is monotonic time since the daemon started: every deadline (DOWN detection,
//! reminders) runs on it, so a clock step neither marks live hosts DOWN nor delays the
//! DOWN of a silent one. [`Now`] carries both; the daemon's `Clock` reads them in the shell.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The current wall-clock time. Only shells call this.
    pub fn now() -> Timestamp {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Timestamp(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }

    /// From Unix seconds (fractions kept to the millisecond).
    pub fn from_secs_f64(secs: f64) -> Timestamp {
        if secs.is_finite() && secs > 0.0 {
            Timestamp((secs * 1000.0) as u64)
        } else {
            Timestamp(0)
        }
    }

    /// As Unix seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// `self + d`, saturating.
    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(
            self.0
                .saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        )
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-24T04:26:33.123Z`.
    pub fn rfc3339(self) -> String {
        humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(self.0)).to_string()
    }
}

/// Monotonic milliseconds since the daemon's clock started. Never goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Mono(pub u64);

impl Mono {
    /// `self + d`, saturating.
    pub fn plus(self, d: Duration) -> Mono {
        Mono(
            self.0
                .saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        )
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Mono) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

/// One reading of both clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Now {
    /// Wall-clock time, for records.
    pub wall: Timestamp,
    /// Monotonic time, for deadlines.
    pub mono: Mono,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_trip() {
        let t = Timestamp::from_secs_f64(1_764_000_000.25);
        assert_eq!(t, Timestamp(1_764_000_000_250));
        assert_eq!(t.as_secs_f64(), 1_764_000_000.25);
        assert_eq!(
            t.plus(Duration::from_secs(2)).since(t),
            Duration::from_secs(2)
        );
        assert_eq!(t.since(t.plus(Duration::from_secs(1))), Duration::ZERO);
        assert_eq!(Timestamp(0).rfc3339(), "1970-01-01T00:00:00.000Z");
    }
}
