//! API rate limits, pure: a token bucket per key (a token or session, a proxy's user,
//! a client address) that fills at `per_second` up to `burst` requests. A request takes
//! one; an empty bucket answers how long until the next one is there (the
//! `Retry-After`). Memory is bounded: past [`MAX_KEYS`] buckets, those full again
//! (idle long enough to have forgotten them) go first, then the longest unused.

use std::collections::HashMap;
use std::time::Duration;

use crate::clock::Mono;

/// Buckets kept at most per kind of key.
pub const MAX_KEYS: usize = 10_000;

/// The rate of one kind of key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests per second, sustained.
    pub per_second: f64,
    /// Requests at once, after a quiet spell.
    pub burst: f64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Requests it holds now (at `at`).
    tokens: f64,
    at: Mono,
}

/// The buckets of one kind of key.
#[derive(Debug)]
pub struct Buckets {
    rate: Rate,
    buckets: HashMap<String, Bucket>,
}

impl Buckets {
    /// Buckets at `rate`.
    pub fn new(rate: Rate) -> Buckets {
        Buckets {
            rate,
            buckets: HashMap::new(),
        }
    }

    /// A new rate (a reload); the buckets keep what they hold, up to the new burst.
    pub fn set_rate(&mut self, rate: Rate) {
        self.rate = rate;
    }

    fn level(&self, b: Bucket, now: Mono) -> f64 {
        (b.tokens + now.since(b.at).as_secs_f64() * self.rate.per_second).min(self.rate.burst)
    }

    /// Takes one request from `key`'s bucket; `Err(wait)` when it is empty, with the
    /// time until it holds one again.
    pub fn take(&mut self, key: &str, now: Mono) -> Result<(), Duration> {
        let level = match self.buckets.get(key) {
            Some(b) => self.level(*b, now),
            None => {
                self.make_room(now);
                self.rate.burst
            }
        };
        if level >= 1.0 {
            self.buckets.insert(
                key.to_owned(),
                Bucket {
                    tokens: level - 1.0,
                    at: now,
                },
            );
            Ok(())
        } else {
            self.buckets.insert(
                key.to_owned(),
                Bucket {
                    tokens: level,
                    at: now,
                },
            );
            let missing = 1.0 - level;
            Err(Duration::from_secs_f64(
                missing / self.rate.per_second.max(f64::MIN_POSITIVE),
            ))
        }
    }

    /// Drops buckets that are full again, then the longest unused, to stay within
    /// [`MAX_KEYS`].
    fn make_room(&mut self, now: Mono) {
        if self.buckets.len() < MAX_KEYS {
            return;
        }
        let rate = self.rate;
        self.buckets.retain(|_, b| {
            (b.tokens + now.since(b.at).as_secs_f64() * rate.per_second) < rate.burst
        });
        while self.buckets.len() >= MAX_KEYS {
            let Some(oldest) = self
                .buckets
                .iter()
                .min_by_key(|(_, b)| b.at)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.buckets.remove(&oldest);
        }
    }

    /// Buckets kept now.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether none are kept.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: Rate = Rate {
        per_second: 2.0,
        burst: 4.0,
    };

    #[test]
    fn a_burst_then_the_sustained_rate_then_a_wait_that_says_how_long() {
        let mut b = Buckets::new(RATE);
        let t0 = Mono(1_000);
        for _ in 0..4 {
            assert_eq!(b.take("k", t0), Ok(()));
        }
        // Empty: the next request is there in half a second (2 per second).
        assert_eq!(b.take("k", t0), Err(Duration::from_millis(500)));
        // A refused request costs nothing: still half a second from t0.
        assert_eq!(b.take("k", Mono(1_250)), Err(Duration::from_millis(250)));
        assert_eq!(b.take("k", Mono(1_500)), Ok(()));
        // Other keys have their own.
        assert_eq!(b.take("other", Mono(1_500)), Ok(()));
        // After a quiet spell, a whole burst again, never more.
        let later = Mono(60_000);
        for _ in 0..4 {
            assert_eq!(b.take("k", later), Ok(()));
        }
        assert!(b.take("k", later).is_err());
    }

    #[test]
    fn memory_stays_bounded_dropping_full_buckets_first() {
        let mut b = Buckets::new(RATE);
        // Keys that took one each (full again at 500 ms), and one emptied at 400 ms.
        for i in 0..MAX_KEYS - 1 {
            b.take(&format!("k{i}"), Mono(0)).unwrap();
        }
        for _ in 0..4 {
            b.take("busy", Mono(400)).unwrap();
        }
        assert_eq!(b.len(), MAX_KEYS);
        // At 600 ms a new key: the full ones make room, the busy one stays limited.
        b.take("new", Mono(600)).unwrap();
        assert_eq!(b.len(), 2);
        assert!(b.take("busy", Mono(600)).is_err());
        // None full: the longest unused goes.
        for i in 0..MAX_KEYS {
            b.take(&format!("m{i}"), Mono(700 + i as u64 % 3)).unwrap();
        }
        assert_eq!(b.len(), MAX_KEYS);
    }
}
