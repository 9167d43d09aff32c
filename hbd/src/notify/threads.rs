//! Mail threads: each notification's `Message-ID`, and for what follows a problem (its
//! reminders, changes, escalations and its recovery) the problem's own ID as
//! `In-Reply-To` and `References`, so a mail reader shows a problem and its recovery as
//! one conversation. The open problems' IDs are kept in memory, by the facts' key
//! (`HOST` or `HOST/PATH`); after a restart a recovery starts its own thread.

use std::collections::HashMap;
use std::sync::Mutex;

use hbd_core::facts::{Facts, Kind};

/// Open problems remembered at most; past it the oldest is forgotten (its recovery
/// then starts its own thread).
pub const MAX_OPEN: usize = 100_000;

/// A message's place in a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    /// Its own `Message-ID` (`<...@domain>`).
    pub id: String,
    /// The problem it follows, for `In-Reply-To` and `References`.
    pub reply_to: Option<String>,
}

/// The problems with a thread open.
#[derive(Debug, Default)]
pub struct Threads {
    /// Key -> (the problem's Message-ID, order of opening).
    open: Mutex<HashMap<String, (String, u64)>>,
    /// Messages numbered so far (unique IDs within this daemon's life).
    counter: std::sync::atomic::AtomicU64,
}

impl Threads {
    /// The thread of one notification (the same for all its recipients), IDs on
    /// `domain`.
    pub fn place(&self, facts: &Facts, domain: &str) -> Thread {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!(
            "<hbd.{}.{n}.{}@{domain}>",
            facts.at.replace([':', '.'], ""),
            key_hash(&facts.key)
        );
        // The map holds plain data: a panic elsewhere cannot leave it half-changed.
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let reply_to = match facts.kind {
            Kind::Problem => match open.get(&facts.key) {
                Some((root, _)) => Some(root.clone()),
                None => {
                    if open.len() >= MAX_OPEN
                        && let Some(oldest) = open
                            .iter()
                            .min_by_key(|(_, (_, order))| *order)
                            .map(|(k, _)| k.clone())
                    {
                        open.remove(&oldest);
                    }
                    open.insert(facts.key.clone(), (id.clone(), n));
                    None
                }
            },
            Kind::Reminder | Kind::Escalation => open.get(&facts.key).map(|(r, _)| r.clone()),
            Kind::Recovery => open.remove(&facts.key).map(|(r, _)| r),
            Kind::Flapping | Kind::Info | Kind::Group => None,
        };
        Thread { id, reply_to }
    }
}

/// A short, stable hex name for a key (host names may hold what a Message-ID may not).
fn key_hash(key: &str) -> String {
    // FNV-1a: stable across runs and builds, unlike the std hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(kind: Kind, key: &str) -> Facts {
        let (_, mut f) = crate::body::samples().remove(0);
        f.kind = kind;
        f.key = key.into();
        f
    }

    #[test]
    fn a_problem_opens_a_thread_its_followers_and_recovery_join() {
        let t = Threads::default();
        let problem = t.place(&facts(Kind::Problem, "web1/cpu"), "example.org");
        assert!(problem.reply_to.is_none());
        assert!(problem.id.starts_with("<hbd.") && problem.id.ends_with("@example.org>"));
        let worse = t.place(&facts(Kind::Problem, "web1/cpu"), "example.org");
        let reminder = t.place(&facts(Kind::Reminder, "web1/cpu"), "example.org");
        let other = t.place(&facts(Kind::Problem, "web2/cpu"), "example.org");
        let recovery = t.place(&facts(Kind::Recovery, "web1/cpu"), "example.org");
        for follower in [&worse, &reminder, &recovery] {
            assert_eq!(follower.reply_to.as_ref(), Some(&problem.id));
            assert_ne!(follower.id, problem.id);
        }
        assert!(other.reply_to.is_none());
        // After the recovery, the next problem starts a new thread.
        let again = t.place(&facts(Kind::Problem, "web1/cpu"), "example.org");
        assert!(again.reply_to.is_none());
        let news = t.place(&facts(Kind::Info, "web1/boot"), "example.org");
        assert!(news.reply_to.is_none());
    }
}
