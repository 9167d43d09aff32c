//! The shell's clock: reads [`Now`] (wall and monotonic time, the core's types) for the
//! pure core, with monotonic time from tokio so paused-time tests move deadlines.
//!
//! Why there are two clocks is said in `hbd_core::clock`.

use std::time::Duration;

pub use hbd_core::clock::{Mono, Now, Timestamp};

/// Reads [`Now`]. Monotonic time comes from tokio's clock, so tests that pause tokio
/// time move the core's deadlines with it.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: tokio::time::Instant,
}

impl Clock {
    /// A clock whose monotonic time starts at zero now.
    pub fn start() -> Clock {
        Clock {
            origin: tokio::time::Instant::now(),
        }
    }

    /// Both clocks, now.
    pub fn now(&self) -> Now {
        Now {
            wall: Timestamp::now(),
            mono: self.mono(),
        }
    }

    /// Monotonic time only.
    pub fn mono(&self) -> Mono {
        Mono(u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// The tokio instant of a monotonic time, for sleeping until a deadline.
    pub fn instant(&self, at: Mono) -> tokio::time::Instant {
        self.origin + Duration::from_millis(at.0)
    }
}
