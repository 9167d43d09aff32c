//! Login throttling, pure: failed logins are counted per client address and per user
//! name in fixed windows on the monotonic clock; past the limit, further attempts are
//! refused *before* any password is hashed, with the time until the window ends. Memory
//! is bounded: past [`MAX_KEYS`] tracked keys, windows that have ended are dropped
//! first, then the oldest.

use std::collections::HashMap;
use std::time::Duration;

use crate::clock::Mono;

/// Keys (addresses and names) tracked at most.
pub const MAX_KEYS: usize = 10_000;

/// Limits of one kind of key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Failures allowed per window.
    pub failures: u32,
    /// Window length.
    pub window: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Mono,
    failures: u32,
}

/// Failure counts for one kind of key (client address or user name).
#[derive(Debug)]
pub struct Throttle {
    limit: Limit,
    windows: HashMap<String, Window>,
}

impl Throttle {
    /// A throttle with `limit`.
    pub fn new(limit: Limit) -> Throttle {
        Throttle {
            limit,
            windows: HashMap::new(),
        }
    }

    /// `Err(wait)` when `key` has used up its failures in the current window.
    pub fn check(&self, key: &str, now: Mono) -> Result<(), Duration> {
        match self.windows.get(key) {
            Some(w)
                if now < w.started.plus(self.limit.window) && w.failures >= self.limit.failures =>
            {
                Err(w.started.plus(self.limit.window).since(now))
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed attempt.
    pub fn failed(&mut self, key: &str, now: Mono) {
        let window = self.limit.window;
        if !self.windows.contains_key(key) && self.windows.len() >= MAX_KEYS {
            self.windows.retain(|_, w| now < w.started.plus(window));
            if self.windows.len() >= MAX_KEYS
                && let Some(oldest) = self
                    .windows
                    .iter()
                    .min_by_key(|(_, w)| w.started)
                    .map(|(k, _)| k.clone())
            {
                self.windows.remove(&oldest);
            }
        }
        let w = self.windows.entry(key.to_owned()).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now >= w.started.plus(window) {
            *w = Window {
                started: now,
                failures: 0,
            };
        }
        w.failures += 1;
    }

    /// A successful login clears the key's count.
    pub fn succeeded(&mut self, key: &str) {
        self.windows.remove(key);
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// Whether nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> Mono {
        Mono(s * 1000)
    }

    #[test]
    fn failures_past_the_limit_wait_for_the_window_to_end() {
        let mut t = Throttle::new(Limit {
            failures: 3,
            window: Duration::from_secs(60),
        });
        // (second, what happens, expected check result before it)
        enum Step {
            Fail(u64),
            Check(u64, Result<(), u64>),
            Succeed,
        }
        use Step::*;
        let steps = [
            Check(0, Ok(())),
            Fail(0),
            Fail(1),
            Check(2, Ok(())),
            Fail(2),
            Check(3, Err(57)), // three failures in the window started at 0
            Check(59, Err(1)),
            Check(60, Ok(())), // the window is over
            Fail(61),          // a new window
            Check(62, Ok(())),
            Fail(62),
            Fail(63),
            Check(64, Err(57)),
            Succeed, // a good login clears the count
            Check(65, Ok(())),
        ];
        for (i, step) in steps.into_iter().enumerate() {
            match step {
                Fail(s) => t.failed("10.0.0.1", at(s)),
                Check(s, want) => assert_eq!(
                    t.check("10.0.0.1", at(s)),
                    want.map_err(Duration::from_secs),
                    "step {i}"
                ),
                Succeed => t.succeeded("10.0.0.1"),
            }
        }
        assert_eq!(t.check("other", at(3)), Ok(()), "keys are independent");
    }

    #[test]
    fn memory_is_bounded() {
        let mut t = Throttle::new(Limit {
            failures: 1,
            window: Duration::from_secs(60),
        });
        for i in 0..MAX_KEYS + 50 {
            t.failed(&format!("k{i}"), at(0));
        }
        assert_eq!(t.len(), MAX_KEYS);
        // Ended windows go first.
        t.failed("late", at(61));
        assert_eq!(t.len(), 1);
    }
}
