//! Commands queued for agents (`CMD`, answered by `RES`): each waits for its host's
//! next signed heartbeat, goes out right after the `ACK` and again after every later
//! one until its result arrives, and expires if none arrives in time. Pure: the core
//! passes the time.
//!
//! Commands travel only signed: the core queues one only for a host that has a key and
//! sends it only in answer to a heartbeat signed with it (the reply is signed with the
//! same key); a result counts only when it came signed too.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use hb_proto::CommandResult;

use crate::clock::{Mono, Now, Timestamp};
pub use crate::model::{Job, JobState, UpgradeFile, UpgradeJob};

/// Commands sent after one heartbeat at most; the rest follow the next ones.
pub const PER_HEARTBEAT: usize = 4;
/// Finished (done or expired) commands remembered per host.
pub const KEPT_PER_HOST: usize = 50;

/// Every host's commands.
#[derive(Debug, Default)]
pub struct Outbox {
    by_host: HashMap<String, BTreeMap<String, Job>>,
    /// Unfinished commands by when they expire (monotonic).
    deadlines: BTreeMap<(Mono, String), String>,
    changed: Vec<Job>,
}

fn mono_at(now: Now, wall: Timestamp) -> Mono {
    Mono(now.mono.0.saturating_add(wall.0.saturating_sub(now.wall.0)))
}

impl Outbox {
    /// Queues `job` (its state is taken as queued).
    pub fn queue(&mut self, mut job: Job, now: Now) {
        job.state = JobState::Queued;
        self.insert(job, now);
    }

    /// Puts back commands read from the store.
    pub fn restore(&mut self, jobs: Vec<Job>, now: Now) {
        for job in jobs {
            self.insert(job, now);
        }
        self.changed.clear();
    }

    fn insert(&mut self, job: Job, now: Now) {
        if !job.state.finished() {
            self.deadlines.insert(
                (mono_at(now, job.expires), job.id.clone()),
                job.host.clone(),
            );
        }
        self.changed.push(job.clone());
        self.by_host
            .entry(job.host.clone())
            .or_default()
            .insert(job.id.clone(), job);
    }

    /// The commands to send `host` after the `ACK` of its signed heartbeat, oldest
    /// first (at most [`PER_HEARTBEAT`]), each marked sent ([`Job::command`] is what
    /// goes out).
    pub fn due(&mut self, host: &str, now: Now) -> Vec<Job> {
        let Some(jobs) = self.by_host.get_mut(host) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut pending: Vec<&mut Job> =
            jobs.values_mut().filter(|j| !j.state.finished()).collect();
        pending.sort_by_key(|j| j.queued);
        for job in pending.into_iter().take(PER_HEARTBEAT) {
            let times = match job.state {
                JobState::Sent { times, .. } => times + 1,
                _ => 1,
            };
            job.state = JobState::Sent {
                times,
                last: now.wall,
            };
            self.changed.push(job.clone());
            out.push(job.clone());
        }
        out
    }

    /// Takes `host`'s result; the command, now done, unless it is unknown, another
    /// host's, or already finished.
    pub fn result(&mut self, host: &str, result: &CommandResult, now: Now) -> Option<Job> {
        let job = self.by_host.get_mut(host)?.get_mut(&result.cmd_id)?;
        if job.state.finished() {
            return None;
        }
        self.deadlines.retain(|(_, id), _| id != &job.id);
        let (sent_times, last_sent) = job.state.sent();
        job.state = JobState::Done {
            at: now.wall,
            exit_code: result.exit_code,
            output: result.output.clone(),
            sent_times,
            last_sent,
        };
        let done = job.clone();
        self.changed.push(done.clone());
        self.trim(host);
        Some(done)
    }

    /// Expires the commands whose time is up; returns them.
    pub fn expire(&mut self, now: Now) -> Vec<Job> {
        let mut expired = Vec::new();
        while let Some(entry) = self.deadlines.first_entry() {
            if entry.key().0 > now.mono {
                break;
            }
            let ((_, id), host) = entry.remove_entry();
            if let Some(job) = self.by_host.get_mut(&host).and_then(|j| j.get_mut(&id))
                && !job.state.finished()
            {
                let (sent_times, last_sent) = job.state.sent();
                job.state = JobState::Expired {
                    at: now.wall,
                    sent_times,
                    last_sent,
                };
                expired.push(job.clone());
                self.changed.push(job.clone());
                self.trim(&host);
            }
        }
        expired
    }

    /// Keeps the newest [`KEPT_PER_HOST`] finished commands of `host`.
    fn trim(&mut self, host: &str) {
        let Some(jobs) = self.by_host.get_mut(host) else {
            return;
        };
        let mut finished: Vec<(Timestamp, String)> = jobs
            .values()
            .filter(|j| j.state.finished())
            .map(|j| (j.queued, j.id.clone()))
            .collect();
        if finished.len() > KEPT_PER_HOST {
            finished.sort();
            for (_, id) in &finished[..finished.len() - KEPT_PER_HOST] {
                jobs.remove(id);
            }
        }
    }

    /// When the next command expires.
    pub fn next_deadline(&self) -> Option<Mono> {
        self.deadlines.keys().next().map(|(at, _)| *at)
    }

    /// Takes in commands another daemon of an HA pair queued (read from the pair's
    /// shared queue): each one not known here and not yet expired is queued, and
    /// returned. The agent runs a command once by its id and answers a repeat with the
    /// result it kept, so a command both daemons send is still run once.
    pub fn adopt(&mut self, jobs: Vec<Job>, now: Now) -> Vec<Job> {
        let mut adopted = Vec::new();
        for job in jobs {
            let known = self
                .by_host
                .get(&job.host)
                .is_some_and(|h| h.contains_key(&job.id));
            if known || job.expires <= now.wall {
                continue;
            }
            adopted.push(job.clone());
            self.queue(job, now);
        }
        adopted
    }

    /// `host`'s commands, newest first.
    pub fn for_host(&self, host: &str) -> Vec<Job> {
        let mut jobs: Vec<Job> = self
            .by_host
            .get(host)
            .map(|j| j.values().cloned().collect())
            .unwrap_or_default();
        jobs.sort_by(|a, b| b.queued.cmp(&a.queued).then_with(|| b.id.cmp(&a.id)));
        jobs
    }

    /// Forgets a dropped host's commands.
    pub fn forget_host(&mut self, host: &str) {
        self.by_host.remove(host);
        self.deadlines.retain(|_, h| h != host);
        self.changed.retain(|j| j.host != host);
    }

    /// Commands changed since the last call (for the store and the live stream).
    pub fn take_changed(&mut self) -> Vec<Job> {
        std::mem::take(&mut self.changed)
    }
}

/// How long a queued command waits for its result unless the request says otherwise.
pub const DEFAULT_EXPIRY: Duration = Duration::from_secs(3600);

#[cfg(test)]
mod tests {
    use super::*;
    use hb_proto::Message;

    fn at(s: u64) -> Now {
        Now {
            wall: Timestamp(1_000_000 + s * 1000),
            mono: Mono(s * 1000),
        }
    }

    fn job(id: &str, host: &str, queued: u64, expires_in: u64) -> Job {
        Job {
            id: id.into(),
            host: host.into(),
            argv: vec!["/bin/true".into()],
            timeout_s: 10,
            by: Some("ann".into()),
            queued: at(queued).wall,
            expires: at(queued + expires_in).wall,
            state: JobState::Queued,
            upgrade: None,
        }
    }

    fn ids(jobs: &[Job]) -> Vec<String> {
        jobs.iter()
            .map(|j| match j.command(at(0)) {
                Message::Command(c) => c.cmd_id,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    fn result(id: &str, code: i32) -> CommandResult {
        CommandResult {
            name: "web1".into(),
            cmd_id: id.into(),
            exit_code: code,
            output: "ok\n".into(),
            ..CommandResult::default()
        }
    }

    #[test]
    fn a_command_goes_out_after_every_heartbeat_until_its_result_arrives() {
        let mut o = Outbox::default();
        o.queue(job("c1", "web1", 0, 60), at(0));
        assert!(o.due("web2", at(1)).is_empty(), "another host's heartbeat");
        assert_eq!(ids(&o.due("web1", at(1))), ["c1"]);
        assert_eq!(ids(&o.due("web1", at(2))), ["c1"], "no result yet: again");
        assert_eq!(
            o.for_host("web1")[0].state,
            JobState::Sent {
                times: 2,
                last: at(2).wall
            }
        );
        assert_eq!(
            o.result("web2", &result("c1", 0), at(3)),
            None,
            "not web2's"
        );
        let done = o.result("web1", &result("c1", 3), at(3)).unwrap();
        assert!(matches!(done.state, JobState::Done { exit_code: 3, .. }));
        assert_eq!(o.result("web1", &result("c1", 0), at(4)), None, "once");
        assert!(o.due("web1", at(5)).is_empty());
        assert!(o.expire(at(100)).is_empty(), "done never expires");
    }

    #[test]
    fn unanswered_commands_expire_and_few_go_out_at_once() {
        let mut o = Outbox::default();
        for i in 0..6 {
            o.queue(job(&format!("c{i}"), "web1", i, 60), at(i));
        }
        assert_eq!(ids(&o.due("web1", at(10))), ["c0", "c1", "c2", "c3"]);
        assert_eq!(o.next_deadline(), Some(at(60).mono));
        let expired = o.expire(at(62));
        assert_eq!(
            expired.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
            ["c0", "c1", "c2"]
        );
        assert_eq!(ids(&o.due("web1", at(63))), ["c3", "c4", "c5"]);
        assert_eq!(o.result("web1", &result("c0", 0), at(64)), None, "too late");
    }

    #[test]
    fn restored_commands_keep_their_state_and_expiry() {
        let mut o = Outbox::default();
        let mut sent = job("c1", "web1", 0, 60);
        sent.state = JobState::Sent {
            times: 1,
            last: at(1).wall,
        };
        let mut done = job("c0", "web1", 0, 60);
        done.state = JobState::Done {
            at: at(1).wall,
            exit_code: 0,
            output: String::new(),
            sent_times: 1,
            last_sent: Some(at(0).wall),
        };
        // After a restart, monotonic time starts again from zero.
        let restart = Now {
            wall: at(30).wall,
            mono: Mono(0),
        };
        o.restore(vec![sent, done], restart);
        assert!(o.take_changed().is_empty());
        assert_eq!(o.next_deadline(), Some(Mono(30_000)), "30 s left");
        assert_eq!(ids(&o.due("web1", restart)), ["c1"]);
        o.forget_host("web1");
        assert!(o.for_host("web1").is_empty());
        assert_eq!(o.next_deadline(), None);
    }

    #[test]
    fn only_the_newest_finished_commands_are_kept() {
        let mut o = Outbox::default();
        for i in 0..(KEPT_PER_HOST as u64 + 5) {
            o.queue(job(&format!("c{i:03}"), "web1", i, 1), at(i));
        }
        o.expire(at(1000));
        let kept = o.for_host("web1");
        assert_eq!(kept.len(), KEPT_PER_HOST);
        assert_eq!(
            kept[0].id,
            format!("c{:03}", KEPT_PER_HOST + 4),
            "newest first"
        );
    }

    #[test]
    fn adopting_takes_only_commands_unknown_here_and_unexpired() {
        let mut o = Outbox::default();
        o.queue(job("mine", "web1", 0, 60), at(0));
        let mut sent = job("done-there", "web1", 0, 60);
        sent.state = JobState::Sent {
            times: 1,
            last: at(1).wall,
        };
        let adopted = o.adopt(
            vec![
                job("mine", "web1", 0, 60),
                job("old", "web1", 0, 5),
                sent,
                job("new", "web2", 9, 60),
            ],
            at(10),
        );
        // Its own command is known, an expired one is skipped; the rest wait queued
        // here, whatever state they had on the other daemon.
        assert_eq!(
            adopted.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
            ["done-there", "new"]
        );
        assert_eq!(ids(&o.due("web1", at(11))), ["done-there", "mine"]);
        assert_eq!(ids(&o.due("web2", at(11))), ["new"]);
        // Adopting the same again changes nothing.
        assert!(o.adopt(vec![job("new", "web2", 9, 60)], at(12)).is_empty());
    }
}
