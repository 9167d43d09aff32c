//! Which DNS updates to run and when. Pure: the caller passes the time.
//!
//! Per host: the address wanted, the address last applied, whether an update runs,
//! and when to try again after a failure (1 s, 2 s, 4 s, ... up to
//! [`MAX_BACKOFF`]). Addresses that arrive while an update runs are coalesced: the
//! next update sends the latest. At most [`MAX_RUNNING`] updates run at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use super::zones::Record;
use crate::clock::{Mono, Now, Timestamp};

/// Updates running at once at most.
pub const MAX_RUNNING: usize = 4;
/// Longest wait between two tries.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// One update to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The host.
    pub host: String,
    /// Its record.
    pub record: Record,
    /// The address to write.
    pub address: IpAddr,
}

/// A host's DNS record as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// The zone.
    pub zone: String,
    /// The record's name.
    pub name: String,
    /// The address it should hold.
    pub address: IpAddr,
    /// The address last written successfully (this daemon run).
    pub applied: Option<IpAddr>,
    /// `pending`, `running`, `ok` or `failing`.
    pub state: &'static str,
    /// Failed tries since the last success.
    pub failures: u32,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// When the record was last written (Unix ms).
    pub last_ok: Option<Timestamp>,
}

#[derive(Debug, Clone)]
struct Entry {
    record: Record,
    want: IpAddr,
    applied: Option<IpAddr>,
    running: bool,
    forced: bool,
    failures: u32,
    next_try: Option<Mono>,
    last_error: Option<String>,
    last_ok: Option<Timestamp>,
}

/// The wait after `failures` failed tries.
pub fn backoff(failures: u32) -> Duration {
    let secs = 1u64 << failures.saturating_sub(1).min(16);
    Duration::from_secs(secs).min(MAX_BACKOFF)
}

/// Every host's record.
#[derive(Debug, Default)]
pub struct Plan {
    hosts: HashMap<String, Entry>,
    running: usize,
}

impl Plan {
    /// `host`'s record should hold `address`.
    pub fn address(&mut self, host: &str, record: Record, address: IpAddr, now: Mono) {
        let entry = self.hosts.entry(host.to_owned()).or_insert_with(|| Entry {
            record: record.clone(),
            want: address,
            applied: None,
            running: false,
            forced: false,
            failures: 0,
            next_try: None,
            last_error: None,
            last_ok: None,
        });
        let changed = entry.want != address || entry.record != record;
        entry.want = address;
        if entry.record != record {
            entry.record = record;
            entry.applied = None;
        }
        if entry.applied != Some(address) && (changed || entry.next_try.is_none()) {
            // A new address is worth a try now, even during a backoff.
            entry.next_try = Some(now);
        }
    }

    /// Write `host`'s record again now, even if it seems current (`false`: unknown).
    pub fn force(&mut self, host: &str, now: Mono) -> bool {
        let Some(entry) = self.hosts.get_mut(host) else {
            return false;
        };
        entry.forced = true;
        entry.next_try = Some(now);
        true
    }

    /// The updates to start now; each is marked running.
    pub fn due(&mut self, now: Mono) -> Vec<Job> {
        let mut ready: Vec<(&String, &mut Entry)> = self
            .hosts
            .iter_mut()
            .filter(|(_, e)| {
                !e.running
                    && e.next_try.is_some_and(|t| t <= now)
                    && (e.forced || e.applied != Some(e.want))
            })
            .collect();
        ready.sort_by_key(|(_, e)| e.next_try);
        let mut jobs = Vec::new();
        for (host, entry) in ready
            .into_iter()
            .take(MAX_RUNNING.saturating_sub(self.running))
        {
            entry.running = true;
            entry.forced = false;
            entry.next_try = None;
            jobs.push(Job {
                host: host.clone(),
                record: entry.record.clone(),
                address: entry.want,
            });
        }
        self.running += jobs.len();
        jobs
    }

    /// An update of `job` ended: `Ok`, or why not.
    pub fn done(&mut self, job: &Job, result: Result<(), impl std::fmt::Display>, now: Now) {
        self.running = self.running.saturating_sub(1);
        let Some(entry) = self.hosts.get_mut(&job.host) else {
            return;
        };
        entry.running = false;
        match result {
            Ok(()) => {
                entry.applied = Some(job.address);
                entry.failures = 0;
                entry.last_error = None;
                entry.last_ok = Some(now.wall);
                // An address that came in meanwhile goes out next, and so does a
                // write forced meanwhile (it asked for one after this had started).
                entry.next_try = (entry.forced || entry.want != job.address).then_some(now.mono);
            }
            Err(why) => {
                entry.failures += 1;
                entry.last_error = Some(why.to_string());
                entry.next_try = Some(now.mono.plus(backoff(entry.failures)));
            }
        }
    }

    /// Forgets a dropped host (its record stays in DNS).
    pub fn forget(&mut self, host: &str) {
        self.hosts.remove(host);
    }

    /// When the next try is due.
    pub fn next_deadline(&self) -> Option<Mono> {
        self.hosts
            .values()
            .filter(|e| !e.running)
            .filter_map(|e| e.next_try)
            .min()
    }

    /// `host`'s record.
    pub fn status(&self, host: &str) -> Option<Status> {
        let e = self.hosts.get(host)?;
        let state = if e.running {
            "running"
        } else if e.failures > 0 {
            "failing"
        } else if e.applied == Some(e.want) && !e.forced {
            "ok"
        } else {
            "pending"
        };
        Some(Status {
            zone: e.record.zone.clone(),
            name: e.record.name.clone(),
            address: e.want,
            applied: e.applied,
            state,
            failures: e.failures,
            last_error: e.last_error.clone(),
            last_ok: e.last_ok,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> Record {
        Record {
            zone: "example.test".into(),
            name: "web1.example.test".into(),
        }
    }

    fn at(s: u64) -> Now {
        Now {
            wall: Timestamp(1_000_000 + s * 1000),
            mono: Mono(s * 1000),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_coalesce_failures_back_off_and_success_settles() {
        let mut p = Plan::default();
        p.address("web1", rec(), ip("127.0.0.2"), at(0).mono);
        let jobs = p.due(at(0).mono);
        assert_eq!(jobs.len(), 1);
        assert_eq!(p.status("web1").unwrap().state, "running");
        // Two changes while it runs: only the latest goes out next, one at a time.
        p.address("web1", rec(), ip("127.0.0.3"), at(1).mono);
        p.address("web1", rec(), ip("127.0.0.4"), at(1).mono);
        assert!(
            p.due(at(1).mono).is_empty(),
            "one update per host at a time"
        );
        p.done(&jobs[0], Ok::<(), &str>(()), at(2));
        let next = p.due(at(2).mono);
        assert_eq!(next[0].address, ip("127.0.0.4"));
        // Failures: retried after 1 s, 2 s, 4 s ...
        p.done(&next[0], Err::<(), _>("REFUSED"), at(3));
        assert_eq!(p.status("web1").unwrap().state, "failing");
        assert!(p.due(at(3).mono).is_empty());
        assert_eq!(p.next_deadline(), Some(at(4).mono));
        let retry = p.due(at(4).mono);
        p.done(&retry[0], Err::<(), _>("timed out"), at(4));
        assert_eq!(
            p.next_deadline(),
            Some(at(6).mono),
            "2 s after the second failure"
        );
        let retry = p.due(at(6).mono);
        p.done(&retry[0], Ok::<(), &str>(()), at(6));
        let s = p.status("web1").unwrap();
        assert_eq!(
            (s.state, s.failures, s.applied),
            ("ok", 0, Some(ip("127.0.0.4")))
        );
        assert_eq!(p.next_deadline(), None, "nothing left to do");
        // The same address again: nothing to do; forced: once more.
        p.address("web1", rec(), ip("127.0.0.4"), at(7).mono);
        assert!(p.due(at(7).mono).is_empty());
        assert!(p.force("web1", at(8).mono));
        assert_eq!(p.due(at(8).mono).len(), 1);
        assert!(!p.force("nobody", at(8).mono));
    }

    #[test]
    fn a_write_forced_while_one_runs_goes_out_after_it() {
        let mut p = Plan::default();
        p.address("web1", rec(), ip("127.0.0.4"), at(0).mono);
        let running = p.due(at(0).mono).remove(0);
        assert!(p.force("web1", at(1).mono));
        assert!(
            p.due(at(1).mono).is_empty(),
            "one update per host at a time"
        );
        p.done(&running, Ok::<(), &str>(()), at(2));
        assert_eq!(p.status("web1").unwrap().state, "pending");
        assert_eq!(p.next_deadline(), Some(at(2).mono));
        let forced = p.due(at(2).mono);
        assert_eq!(forced.len(), 1, "the forced write is not lost");
        assert_eq!(forced[0].address, ip("127.0.0.4"));
        p.done(&forced[0], Ok::<(), &str>(()), at(3));
        assert_eq!(p.status("web1").unwrap().state, "ok");
        assert_eq!(p.next_deadline(), None, "and written once");
    }

    #[test]
    fn a_new_address_does_not_wait_out_a_backoff_and_few_run_at_once() {
        let mut p = Plan::default();
        p.address("web1", rec(), ip("127.0.0.2"), at(0).mono);
        let job = p.due(at(0).mono).remove(0);
        for _ in 0..10 {
            p.done(&job, Err::<(), _>("unreachable"), at(0));
            p.due(Mono(u64::MAX));
        }
        p.done(&job, Err::<(), _>("unreachable"), at(0));
        assert_eq!(backoff(11), MAX_BACKOFF);
        p.address("web1", rec(), ip("127.0.0.9"), at(1).mono);
        assert_eq!(p.due(at(1).mono)[0].address, ip("127.0.0.9"));
        for i in 0..10 {
            p.address(&format!("h{i}"), rec(), ip("127.0.0.2"), at(2).mono);
        }
        assert_eq!(p.due(at(2).mono).len(), MAX_RUNNING - 1, "one still runs");
    }
}
