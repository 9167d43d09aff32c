//! Operator commands the core applies (the write path): what they are, how the core
//! applies them ([`Core::apply`]), what they did, and why one was refused.

use serde::Serialize;

use super::step::Step;
use super::{Action, Core, Event, EventKind, Job};
use crate::alerting::Level;
use crate::clock::Now;
use crate::policy::silence::Silence;

/// A change an operator asks for through the API.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Forget a host: its state, samples and alerts. It comes back as new if it sends
    /// again (a configured host stays listed, as never heard from).
    DropHost {
        /// The host.
        host: String,
    },
    /// Forget one alert path's state; the next report evaluates it afresh from OK.
    ClearAlert {
        /// The host.
        host: String,
        /// The shown metric path.
        path: String,
    },
    /// Queue a command for a host's agent.
    QueueJob {
        /// The command.
        job: Box<Job>,
    },
    /// Add a silence (or replace one with the same id).
    PutSilence {
        /// The silence.
        silence: Box<Silence>,
    },
    /// End a silence now.
    ExpireSilence {
        /// Its id.
        id: String,
    },
    /// Acknowledge a problem: an alert path that is not OK (`path`), or the host DOWN or
    /// UNREACHABLE (`path: None`). Its reminders stop until its state changes.
    Acknowledge {
        /// The host.
        host: String,
        /// The alert path; `None`: the host itself.
        path: Option<String>,
        /// Who, when, why, until when.
        ack: Box<crate::model::Ack>,
    },
    /// Take an acknowledgement back.
    Withdraw {
        /// The host.
        host: String,
        /// The alert path; `None`: the host itself.
        path: Option<String>,
    },
    /// Tell the people responsible for a host something about it, as an operator
    /// message from its agent would be told (a rollout stopped on it).
    Tell {
        /// The host.
        host: String,
        /// What to tell.
        text: String,
    },
}

/// What an applied command did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The host is forgotten.
    HostDropped,
    /// The alert path is forgotten.
    AlertCleared {
        /// Its level before.
        was: Level,
    },
    /// The command is queued for the host's agent.
    Queued {
        /// The command.
        job: Box<Job>,
    },
    /// The silence is in force (or ended, when expired).
    Silence {
        /// The silence now.
        silence: Box<Silence>,
    },
    /// The message is on its way, as a host event.
    Told,
    /// The problem is acknowledged.
    Acknowledged {
        /// The acknowledgement.
        ack: Box<crate::model::Ack>,
    },
    /// The acknowledgement is taken back.
    Withdrawn,
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No such host.
    #[error("no host named {0:?}")]
    UnknownHost(String),
    /// Commands travel only signed, and the host has no key.
    #[error(
        "host {0:?} has no key: commands travel only signed; give it one (hosts.NAME.key, or hb_key for all hosts) and run its agent with the same key"
    )]
    Unsigned(String),
    /// No such silence.
    #[error("no silence with id {0:?}")]
    UnknownSilence(String),
    /// A silence whose matcher does not compile.
    #[error("{0}")]
    BadSilence(String),
    /// Nothing to acknowledge: the alert is OK or the host is not DOWN.
    #[error("{what} is no problem now: nothing to acknowledge")]
    NoProblem {
        /// The host or `host path`.
        what: String,
    },
    /// No acknowledgement to take back.
    #[error("{what} is not acknowledged")]
    NotAcknowledged {
        /// The host or `host path`.
        what: String,
    },
    /// No such alert path.
    #[error("host {host:?} has no alert {path:?}")]
    UnknownAlert {
        /// The host.
        host: String,
        /// The path.
        path: String,
    },
}

impl Core {
    /// Applies an operator's command at `now`.
    pub fn apply(
        &mut self,
        command: &Command,
        now: Now,
        out: &mut Vec<Action>,
    ) -> Result<Outcome, CommandError> {
        match command {
            Command::DropHost { host } => {
                if self.hosts.drop_host(host, &self.settings, now).is_none() {
                    return Err(CommandError::UnknownHost(host.clone()));
                }
                for s in self.alerts.remove_host(host) {
                    self.dropped_alerts.push((s.host, s.path));
                }
                self.outbox.forget_host(host);
                self.managed.forget(host);
                self.policy.set_labels(host, None);
                out.push(Action::Forget { host: host.clone() });
                let mut step = Step::default();
                step.events.push(Event {
                    host: host.clone(),
                    at: now.wall,
                    kind: EventKind::Dropped,
                });
                self.finish(step, now, out);
                Ok(Outcome::HostDropped)
            }
            Command::ClearAlert { host, path } => {
                let key = (host.clone(), path.clone());
                let Some(state) = self.alerts.remove(&key) else {
                    return Err(CommandError::UnknownAlert {
                        host: host.clone(),
                        path: path.clone(),
                    });
                };
                // Evaluated afresh from OK: as if nothing had been told either.
                self.policy.forget_path(host, path);
                self.end_ack(host, Some(path), super::acks::Ended::Gone, out);
                self.dropped_alerts.push(key);
                self.finish(Step::default(), now, out);
                Ok(Outcome::AlertCleared { was: state.level })
            }
            Command::PutSilence { silence } => {
                self.policy
                    .put_silence(silence.as_ref().clone(), now)
                    .map_err(|e| CommandError::BadSilence(e.to_string()))?;
                self.finish(Step::default(), now, out);
                Ok(Outcome::Silence {
                    silence: silence.clone(),
                })
            }
            Command::ExpireSilence { id } => {
                let silence = self
                    .policy
                    .expire_silence(id, now)
                    .ok_or_else(|| CommandError::UnknownSilence(id.clone()))?;
                self.finish(Step::default(), now, out);
                Ok(Outcome::Silence {
                    silence: Box::new(silence),
                })
            }
            Command::Acknowledge { host, path, ack } => {
                let what = match path {
                    Some(p) => format!("{host} {p}"),
                    None => host.clone(),
                };
                let Some(h) = self.hosts.get(host) else {
                    return Err(CommandError::UnknownHost(host.clone()));
                };
                let problem = match path {
                    Some(p) => match self.alerts.get(host, p) {
                        Some(state) => state.level != Level::Ok,
                        None => {
                            return Err(CommandError::UnknownAlert {
                                host: host.clone(),
                                path: p.clone(),
                            });
                        }
                    },
                    None => matches!(
                        h.state,
                        crate::model::HostState::Down | crate::model::HostState::Unreachable
                    ),
                };
                if !problem {
                    return Err(CommandError::NoProblem { what });
                }
                self.acks
                    .put((host.clone(), path.clone()), ack.as_ref().clone(), now);
                out.push(Action::Acknowledged {
                    host: host.clone(),
                    path: path.clone(),
                    ack: Some(ack.as_ref().clone()),
                    ended: None,
                });
                if let Some(p) = path {
                    self.alerts.touch(host, p);
                }
                self.finish(Step::default(), now, out);
                Ok(Outcome::Acknowledged { ack: ack.clone() })
            }
            Command::Withdraw { host, path } => {
                let what = match path {
                    Some(p) => format!("{host} {p}"),
                    None => host.clone(),
                };
                if self.acks.get(host, path.as_deref()).is_none() {
                    return Err(CommandError::NotAcknowledged { what });
                }
                self.end_ack(host, path.as_deref(), super::acks::Ended::Withdrawn, out);
                if let Some(p) = path {
                    self.alerts.touch(host, p);
                }
                self.finish(Step::default(), now, out);
                Ok(Outcome::Withdrawn)
            }
            Command::Tell { host, text } => {
                if !self.hosts.contains(host) {
                    return Err(CommandError::UnknownHost(host.clone()));
                }
                let mut step = Step::default();
                step.events.push(Event {
                    host: host.clone(),
                    at: now.wall,
                    kind: EventKind::Message { text: text.clone() },
                });
                self.finish(step, now, out);
                Ok(Outcome::Told)
            }
            Command::QueueJob { job } => {
                if !self.hosts.contains(&job.host) {
                    return Err(CommandError::UnknownHost(job.host.clone()));
                }
                if !self.settings.host_has_key(&job.host) {
                    return Err(CommandError::Unsigned(job.host.clone()));
                }
                self.outbox.queue(job.as_ref().clone(), now);
                let queued = self
                    .outbox
                    .for_host(&job.host)
                    .into_iter()
                    .find(|j| j.id == job.id);
                out.extend(queued.clone().map(Action::Job));
                Ok(Outcome::Queued {
                    job: Box::new(queued.unwrap_or_else(|| job.as_ref().clone())),
                })
            }
        }
    }
}
