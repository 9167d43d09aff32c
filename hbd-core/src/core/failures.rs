//! What the daemon did for a host that failed, as host events that notify like any
//! other (through the policy: silences apply, the HA leader tells): a command that
//! exited non-zero or expired without a result, and a DNS record that cannot be written
//! (told once after [`DNS_TELL_AFTER`] failed tries in a row, and again when it is
//! written).

use super::{Action, Core, Step};
use crate::clock::Now;
use crate::dns::plan::Status;
use crate::model::{DNS_TELL_AFTER, Event, EventKind, Job, JobState};

/// Longest command or output line a message carries.
const SHOWN: usize = 200;

fn cut(text: &str) -> String {
    let mut cut: String = text.chars().take(SHOWN).collect();
    if text.chars().count() > SHOWN {
        cut.push('…');
    }
    cut
}

/// The event of a finished command that failed, or `None` when it succeeded (or has
/// not finished).
pub(super) fn command_failed(job: &Job, now: Now) -> Option<Event> {
    let (exit_code, output) = match &job.state {
        JobState::Done {
            exit_code, output, ..
        } if *exit_code != 0 => (Some(*exit_code), output.as_str()),
        JobState::Expired { .. } => (None, ""),
        _ => return None,
    };
    let command = match &job.upgrade {
        Some(u) => format!("self-upgrade to {}", u.version),
        None => job.argv.join(" "),
    };
    let first = output
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    Some(Event {
        host: job.host.clone(),
        at: now.wall,
        kind: EventKind::CommandFailed {
            cmd_id: job.id.clone(),
            command: cut(&command),
            exit_code,
            output: cut(first),
        },
    })
}

impl Core {
    /// Takes what the DNS worker says of `host`'s record: its failure is told once it
    /// has failed [`DNS_TELL_AFTER`] times in a row, and its being written again after
    /// that.
    pub fn dns_status(&mut self, host: &str, status: &Status, now: Now, out: &mut Vec<Action>) {
        let told = self.dns_failing.contains(host);
        let kind = match status.state {
            "failing" if !told && status.failures >= DNS_TELL_AFTER => {
                self.dns_failing.insert(host.to_owned());
                EventKind::DnsFailed {
                    record: status.name.clone(),
                    tries: status.failures,
                    error: cut(status.last_error.as_deref().unwrap_or("unknown error")),
                }
            }
            "ok" if told => {
                self.dns_failing.remove(host);
                EventKind::DnsWritten {
                    record: status.name.clone(),
                }
            }
            _ => return,
        };
        let mut step = Step::default();
        step.events.push(Event {
            host: host.to_owned(),
            at: now.wall,
            kind,
        });
        self.finish(step, now, out);
    }
}
