//! Round-trip bookkeeping: remembers when recent heartbeats were sent and turns a
//! matching ACK into a round trip in milliseconds. Pure; the caller passes the time.

use std::collections::VecDeque;
use std::time::Instant;

/// Heartbeats remembered while waiting for their ACK.
pub const PENDING: usize = 16;

/// Heartbeats in a row without an ACK before the agent warns; then again at ten times
/// as many each time (3, 30, 300, ...), so a daemon that stays away does not flood the
/// log.
pub const WARN_AFTER_UNANSWERED: u32 = 3;

/// Sent heartbeats awaiting their ACK.
#[derive(Debug, Default)]
pub struct RttTracker {
    pending: VecDeque<(u64, Instant)>,
    last_rtt_ms: Option<f64>,
    unanswered: u32,
    /// A warning about this streak of unanswered heartbeats was given.
    warned: bool,
}

impl RttTracker {
    /// Records that heartbeat `seq` left at `at`.
    pub fn sent(&mut self, seq: u64, at: Instant) {
        if self.pending.len() == PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back((seq, at));
        self.unanswered = self.unanswered.saturating_add(1);
    }

    /// Matches an ACK for `seq` arriving at `at`; returns the round trip in ms. An ACK
    /// for an unknown or already answered `seq` is ignored.
    pub fn acked(&mut self, seq: u64, at: Instant) -> Option<f64> {
        let i = self.pending.iter().position(|(s, _)| *s == seq)?;
        let (_, sent) = self.pending.remove(i)?;
        // Whole microseconds: finer digits are noise (and a float's tail, 6.949478999999999).
        let micros = at.saturating_duration_since(sent).as_micros();
        let rtt = micros as f64 / 1000.0;
        self.last_rtt_ms = Some(rtt);
        self.unanswered = 0;
        Some(rtt)
    }

    /// The round trip to report in the next heartbeat.
    pub fn last_rtt_ms(&self) -> Option<f64> {
        self.last_rtt_ms
    }

    /// Heartbeats sent since the last ACK.
    pub fn unanswered(&self) -> u32 {
        self.unanswered
    }

    /// After a heartbeat is sent: whether the streak of unanswered ones now calls for a
    /// warning (at [`WARN_AFTER_UNANSWERED`], then at ten times as many each time).
    pub fn warning_due(&mut self) -> bool {
        let mut at = WARN_AFTER_UNANSWERED;
        while at < self.unanswered {
            at = at.saturating_mul(10);
        }
        let due = self.unanswered == at;
        self.warned |= due;
        due
    }

    /// After an ACK: whether it ends a streak that was warned about (the log says the
    /// daemon answers again), once.
    pub fn answered_after_warning(&mut self) -> bool {
        let was = self.warned && self.unanswered == 0;
        if was {
            self.warned = false;
        }
        was
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_streak_of_unanswered_heartbeats_warns_at_3_30_300_and_an_ack_ends_it() {
        let t0 = Instant::now();
        let mut r = RttTracker::default();
        let mut warned = Vec::new();
        for seq in 1..=400 {
            r.sent(seq, t0);
            if r.warning_due() {
                warned.push(seq);
            }
        }
        assert_eq!(warned, [3, 30, 300]);
        assert!(!r.answered_after_warning(), "no ACK yet");
        r.sent(401, t0);
        assert!(r.acked(401, t0).is_some());
        assert!(r.answered_after_warning());
        assert!(!r.answered_after_warning(), "said once");
        // A short gap (two lost) warns about nothing.
        r.sent(402, t0);
        r.sent(403, t0);
        assert!(!r.warning_due());
        assert!(r.acked(403, t0).is_some());
        assert!(!r.answered_after_warning());
    }

    #[test]
    fn matches_acks_to_heartbeats() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut r = RttTracker::default();
        assert_eq!(r.last_rtt_ms(), None);
        r.sent(1, t0);
        r.sent(2, t0 + ms(1000));
        assert_eq!(r.unanswered(), 2);
        assert_eq!(r.acked(2, t0 + ms(1003)), Some(3.0));
        assert_eq!(r.unanswered(), 0);
        assert_eq!(r.acked(2, t0 + ms(1010)), None, "duplicate ACK");
        assert_eq!(r.acked(9, t0 + ms(1010)), None, "unknown seq");
        assert_eq!(
            r.acked(1, t0 + ms(1500)),
            Some(1500.0),
            "late ACK still counts"
        );
        assert_eq!(r.last_rtt_ms(), Some(1500.0));
    }

    #[test]
    fn remembers_only_recent_heartbeats() {
        let t0 = Instant::now();
        let mut r = RttTracker::default();
        for seq in 0..(PENDING as u64 + 4) {
            r.sent(seq, t0);
        }
        assert_eq!(r.acked(0, t0), None);
        assert!(r.acked(PENDING as u64 + 3, t0).is_some());
    }
}
