//! Replay protection for signed messages: a clock-skew window plus, per key id, a 64-entry
//! sliding window of accepted `seq` numbers for each of the most recent agent runs.
//!
//! Pure: the caller passes `now`. Check only after the signature verified, so a forger
//! cannot move the window.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::DecodeError;
use crate::message::Stamp;

/// How many runs per key id are remembered. An agent restarting more often than this
/// within `max_clock_skew` lets its oldest run's datagrams be replayed within the skew
/// window; the timestamp check bounds the rest.
pub const RUNS_PER_KEY: usize = 8;
/// Width of the per-run window of sequence numbers, as in IPsec and WireGuard.
pub const WINDOW: u64 = 64;

#[derive(Debug, Clone, Copy)]
struct RunWindow {
    run: u64,
    highest: u64,
    /// Bit `i` set: `highest - i` was accepted.
    seen: u64,
    last_accepted: f64,
}

/// Remembers what was accepted, per key id.
#[derive(Debug, Clone)]
pub struct ReplayGuard {
    max_skew_s: f64,
    /// By key id, kept as an `Arc` that [`ReplayGuard::check`] hands out: the key id
    /// of every accepted datagram, without a copy made per datagram. Hashed with
    /// foldhash (randomly seeded): only key ids whose signature verified come here, so
    /// nobody without a key chooses them, and SipHash had been a few per cent of a
    /// signed heartbeat's work.
    keys: HashMap<Arc<str>, (Arc<str>, Vec<RunWindow>), foldhash::fast::RandomState>,
}

impl ReplayGuard {
    /// A guard allowing `max_skew_s` seconds between sender and receiver clocks.
    pub fn new(max_skew_s: f64) -> ReplayGuard {
        ReplayGuard {
            max_skew_s,
            keys: HashMap::default(),
        }
    }

    /// Accepts a signed message's stamp at `now` (Unix seconds) and records it, or says
    /// why it is refused. Nothing is recorded for a refused stamp. Returns the key id,
    /// shared with the guard's own record of it.
    pub fn check(
        &mut self,
        key_id: &str,
        stamp: &Stamp<'_>,
        now: f64,
    ) -> Result<Arc<str>, DecodeError> {
        let ts = stamp
            .ts
            .ok_or(DecodeError::MissingReplayField { field: "ts" })?;
        let run = stamp
            .run
            .ok_or(DecodeError::MissingReplayField { field: "run" })?;
        let seq = stamp
            .seq
            .ok_or(DecodeError::MissingReplayField { field: "seq" })?;
        let skew = (ts - now).abs();
        if skew.is_nan() || skew > self.max_skew_s {
            return Err(DecodeError::ClockSkew {
                skew_s: skew,
                max_s: self.max_skew_s,
            });
        }
        // Looked up by `&str`, once: a key id is allocated only when first seen.
        let (id, runs) = match self.keys.get_mut(key_id) {
            Some(known) => known,
            None => {
                let id: Arc<str> = Arc::from(key_id);
                // Room for one run, which is what an agent has until it restarts: a
                // vector's first growth makes room for four (128 bytes a key id against
                // 32, which at 100,000 signing hosts is 10 MB).
                self.keys
                    .entry(id.clone())
                    .or_insert_with(|| (id, Vec::with_capacity(1)))
            }
        };
        match runs.iter_mut().find(|w| w.run == run) {
            Some(w) => {
                if seq > w.highest {
                    let shift = seq - w.highest;
                    w.seen = if shift >= WINDOW { 0 } else { w.seen << shift };
                    w.seen |= 1;
                    w.highest = seq;
                } else {
                    let age = w.highest - seq;
                    if age >= WINDOW || w.seen & (1 << age) != 0 {
                        return Err(DecodeError::Replay { run, seq });
                    }
                    w.seen |= 1 << age;
                }
                w.last_accepted = now;
            }
            None => {
                if runs.len() >= RUNS_PER_KEY
                    && let Some(oldest) = runs
                        .iter()
                        .enumerate()
                        .min_by(|a, b| a.1.last_accepted.total_cmp(&b.1.last_accepted))
                        .map(|(i, _)| i)
                {
                    runs.swap_remove(oldest);
                }
                runs.push(RunWindow {
                    run,
                    highest: seq,
                    seen: 1,
                    last_accepted: now,
                });
            }
        }
        Ok(id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RejectReason;

    fn stamp(run: u64, seq: u64, ts: f64) -> Stamp<'static> {
        Stamp {
            name: "h",
            ts: Some(ts),
            run: Some(run),
            seq: Some(seq),
        }
    }

    #[test]
    fn window_accepts_each_datagram_once() {
        // (run, seq, ts, accepted?)
        let steps: &[(u64, u64, f64, bool)] = &[
            (1, 1, 1000.0, true),
            (1, 1, 1000.0, false), // exact replay
            (1, 3, 1000.0, true),
            (1, 2, 1000.0, true), // late but unseen
            (1, 2, 1000.0, false),
            (1, 100, 1000.0, true),
            (1, 30, 1000.0, false),  // left of the window
            (1, 37, 1000.0, true),   // inside the window (100 - 63)
            (2, 1, 1000.0, true),    // a new run starts over
            (1, 101, 1000.0, true),  // the old run is still tracked
            (1, 102, 1400.0, false), // clock skew
            (1, 102, 700.0, true),
        ];
        let mut guard = ReplayGuard::new(300.0);
        for (i, &(run, seq, ts, ok)) in steps.iter().enumerate() {
            let got = guard.check("h", &stamp(run, seq, ts), 1000.0);
            assert_eq!(got.is_ok(), ok, "step {i}: {got:?}");
        }
    }

    #[test]
    fn key_ids_have_separate_windows() {
        let mut guard = ReplayGuard::new(300.0);
        let a = guard.check("a", &stamp(1, 1, 0.0), 0.0).unwrap();
        assert!(guard.check("b", &stamp(1, 1, 0.0), 0.0).is_ok());
        // The key id handed back is the guard's own, not a copy per datagram.
        let again = guard.check("a", &stamp(1, 2, 0.0), 0.0).unwrap();
        assert_eq!(&*a, "a");
        assert!(Arc::ptr_eq(&a, &again));
        assert!(guard.check("a", &stamp(1, 1, 0.0), 0.0).is_err());
    }

    #[test]
    fn missing_fields_and_skew_are_refused() {
        let mut guard = ReplayGuard::new(300.0);
        let no_seq = Stamp {
            name: "h",
            ts: Some(0.0),
            run: Some(1),
            seq: None,
        };
        let err = guard.check("h", &no_seq, 0.0).unwrap_err();
        assert_eq!(err.reason(), RejectReason::Replay);
        let err = guard.check("h", &stamp(1, 1, 1000.0), 0.0).unwrap_err();
        assert_eq!(err.reason(), RejectReason::ClockSkew);
    }

    #[test]
    fn oldest_run_is_forgotten_beyond_the_limit() {
        let mut guard = ReplayGuard::new(1e9);
        for run in 0..(RUNS_PER_KEY as u64 + 1) {
            guard.check("h", &stamp(run, 5, 0.0), run as f64).unwrap();
        }
        // Run 0 was evicted, so its seq 5 is new again; run 1 is still known.
        assert!(guard.check("h", &stamp(1, 5, 0.0), 100.0).is_err());
        assert!(guard.check("h", &stamp(0, 5, 0.0), 100.0).is_ok());
    }
}
