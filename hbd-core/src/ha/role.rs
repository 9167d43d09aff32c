//! Which part this daemon plays in an HA pair, decided from each lease renewal's outcome
//! and the time: a pure function of (state, outcome, now), table-tested.
//!
//! The lease lives in PostgreSQL and the database's clock decides when it expires, so
//! this side never extends it on its own: a failed renewal makes a leader stop telling
//! at once (its messages are held, not lost), and only a coordinator unreachable for
//! `fail_open_after` makes the daemon tell on its own, tagged.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::model::Level;

/// What this daemon may do now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    /// Holds the lease: notifies, writes DNS and sends commands.
    Leader {
        /// The lease's epoch (fencing token): writes of an older epoch are refused.
        epoch: i64,
    },
    /// Another daemon holds the lease, or coordination is unreachable (`leader: None`)
    /// and has not been for `fail_open_after` yet: its messages are held.
    Standby {
        /// The daemon holding the lease, when known.
        leader: Option<String>,
    },
    /// Coordination unreachable for longer than `fail_open_after`: notifies on its own,
    /// tagged (both daemons may; duplicates are acceptable then, silence is not).
    FailOpen,
}

/// One attempt to take or renew the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewal {
    /// This daemon holds it, with this epoch.
    Held {
        /// The epoch.
        epoch: i64,
    },
    /// Another daemon holds it.
    HeldBy {
        /// Its node name.
        holder: String,
    },
    /// PostgreSQL did not answer, or refused.
    Failed,
}

/// The tracker's state.
#[derive(Debug, Clone)]
pub struct Tracker {
    role: Role,
    /// When PostgreSQL last answered (the start, before it ever did).
    contact: Instant,
    fail_open_after: Duration,
}

impl Role {
    /// Whether this daemon tells anyone in this role, and its lease's epoch (0: none):
    /// what `/metrics` shows.
    pub fn gauges(&self) -> (bool, i64) {
        match self {
            Role::Leader { epoch } => (true, *epoch),
            Role::FailOpen => (true, 0),
            Role::Standby { .. } => (false, 0),
        }
    }
}

impl Tracker {
    /// A daemon starting at `now`: standby until the first renewal says otherwise.
    pub fn new(fail_open_after: Duration, now: Instant) -> Tracker {
        Tracker {
            role: Role::Standby { leader: None },
            contact: now,
            fail_open_after,
        }
    }

    /// The role now.
    pub fn role(&self) -> &Role {
        &self.role
    }

    /// Takes one renewal's outcome at `now`; the new role if it changed.
    pub fn step(&mut self, outcome: Renewal, now: Instant) -> Option<Role> {
        let role = match outcome {
            Renewal::Held { epoch } => {
                self.contact = now;
                Role::Leader { epoch }
            }
            Renewal::HeldBy { holder } => {
                self.contact = now;
                Role::Standby {
                    leader: Some(holder),
                }
            }
            Renewal::Failed
                if now.saturating_duration_since(self.contact) >= self.fail_open_after =>
            {
                Role::FailOpen
            }
            Renewal::Failed => match &self.role {
                Role::FailOpen => Role::FailOpen,
                _ => Role::Standby { leader: None },
            },
        };
        (role != self.role).then(|| {
            self.role = role.clone();
            role
        })
    }
}

/// A role change for the engine: with what counts as told from now on, when that
/// changes.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleChange {
    /// The role now.
    pub role: Role,
    /// Taking over: what the pair last told, read as this daemon took the lease.
    /// Failing open without having led: empty (nothing counts as told, so every open
    /// problem is told again). `None`: this daemon's own record stands.
    pub told: Option<Vec<(String, String, Level)>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_the_lease_and_fail_open_only_after_the_set_time() {
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        let held = |epoch| Renewal::Held { epoch };
        let by = |h: &str| Renewal::HeldBy { holder: h.into() };
        let leader = |epoch| Some(Role::Leader { epoch });
        let standby = |h: Option<&str>| {
            Some(Role::Standby {
                leader: h.map(str::to_owned),
            })
        };
        // (outcome, at second, role change expected)
        let table: Vec<(Renewal, u64, Option<Role>)> = vec![
            (by("hbd-a"), 1, standby(Some("hbd-a"))),
            (by("hbd-a"), 2, None),
            // The leader died; its lease expired at the database: ours, epoch 2.
            (held(2), 5, leader(2)),
            (held(2), 6, None),
            // PostgreSQL stops answering: stop telling at once, not after a grace.
            (Renewal::Failed, 7, standby(None)),
            (Renewal::Failed, 30, None),
            // 60 s after the last answer (6 s): tell on our own.
            (Renewal::Failed, 66, Some(Role::FailOpen)),
            (Renewal::Failed, 70, None),
            // It answers again; the other daemon got the lease meanwhile.
            (by("hbd-a"), 71, standby(Some("hbd-a"))),
            // A new epoch is a new leadership, even for the same daemon.
            (held(3), 80, leader(3)),
            (held(4), 81, leader(4)),
        ];
        let mut t = Tracker::new(Duration::from_secs(60), t0);
        assert_eq!(t.role(), &Role::Standby { leader: None });
        for (i, (outcome, at, want)) in table.into_iter().enumerate() {
            assert_eq!(t.step(outcome, s(at)), want, "row {i}");
        }
        // Never answered since the start: fails open after the set time from the start.
        let mut t = Tracker::new(Duration::from_secs(60), t0);
        assert_eq!(t.step(Renewal::Failed, s(59)), None);
        assert_eq!(t.step(Renewal::Failed, s(60)), Some(Role::FailOpen));
    }
}
