//! Acknowledgements shared with the HA pair's other daemon: what one made or took back
//! through its API, as an [`AckChange`] naming the problem it was about, and the other
//! doing the same when it has that problem too, so reminders and escalation stop on
//! whichever daemon tells. A change about an earlier episode (the state changed since,
//! or recovered and came back) is not taken.

use std::time::Duration;

use super::{Action, Command, Core};
use crate::clock::{Now, Timestamp};
use crate::model::{AckChange, HostState, Level};

/// How far apart the two daemons may date the start of the same problem: each decides
/// a level or a DOWN from the datagrams it got and its own clock.
pub const SAME_EPISODE: Duration = Duration::from_secs(60);

impl Core {
    /// The open problem of a host (`path: None`) or alert path: its state and since
    /// when, or `None` when there is none.
    fn problem(&self, host: &str, path: Option<&str>) -> Option<(&'static str, Timestamp)> {
        match path {
            Some(p) => {
                let s = self.alerts.get(host, p)?;
                (s.level != Level::Ok).then(|| (s.level.as_str(), s.since))
            }
            None => {
                let h = self.hosts.get(host)?;
                matches!(h.state, HostState::Down | HostState::Unreachable)
                    .then(|| (h.state.as_str(), h.state_since))
            }
        }
    }

    /// The acknowledgement on a problem now, as a change for the pair (after an
    /// acknowledgement is made; before it is taken back, then marked `withdrawn`).
    pub fn ack_change(&self, host: &str, path: Option<&str>) -> Option<AckChange> {
        let ack = self.acks.get(host, path)?.clone();
        let (state, since) = self.problem(host, path)?;
        Some(AckChange {
            host: host.to_owned(),
            path: path.map(str::to_owned),
            state: state.to_owned(),
            since,
            ack,
            withdrawn: false,
        })
    }

    /// Does what the other daemon did: puts an acknowledgement on the same problem
    /// (same state, begun within [`SAME_EPISODE`] of when the other saw it begin), or
    /// takes back the very acknowledgement it took back. One this daemon has already
    /// (its own, read back) changes nothing.
    pub fn adopt_acks(&mut self, changes: Vec<AckChange>, now: Now, out: &mut Vec<Action>) {
        for c in changes {
            let current = self.acks.get(&c.host, c.path.as_deref()).cloned();
            let command = if c.withdrawn {
                if current.as_ref() != Some(&c.ack) {
                    continue;
                }
                Command::Withdraw {
                    host: c.host,
                    path: c.path,
                }
            } else {
                if current.as_ref() == Some(&c.ack) || c.ack.until.is_some_and(|u| u <= now.wall) {
                    continue;
                }
                let same =
                    self.problem(&c.host, c.path.as_deref())
                        .is_some_and(|(state, since)| {
                            state == c.state
                                && since.0.abs_diff(c.since.0) <= SAME_EPISODE.as_millis() as u64
                        });
                if !same {
                    continue;
                }
                Command::Acknowledge {
                    host: c.host,
                    path: c.path,
                    ack: Box::new(c.ack),
                }
            };
            // Checked above: the problem is open (or the acknowledgement is there).
            let _ = self.apply(&command, now, out);
        }
    }
}
