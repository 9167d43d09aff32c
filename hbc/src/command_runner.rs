//! Runs the daemon's commands for the heartbeat loop: asks [`commands::decide`],
//! saves the ledger before anything runs (a command whose start cannot be recorded does
//! not run: at most once must hold across a crash), runs allowed ones on blocking
//! threads with [`process::run`], and hands their results back to be sent as `RES`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use crate::commands::{self, Ledger, NOT_RUN, Outcome, Policy, Verdict};
use crate::process;

/// Finished commands waiting to be reported: bounded by [`commands::MAX_RUNNING`].
type Done = (String, Outcome);

/// The agent's command runner.
#[derive(Debug)]
pub struct Runner {
    policy: Policy,
    ledger: Ledger,
    /// Why no command can run (the ledger could not be read), if so.
    broken: Option<String>,
    running: usize,
    done_tx: mpsc::Sender<Done>,
    done_rx: mpsc::Receiver<Done>,
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Runner {
    /// A runner with `policy`, its ledger read from disk.
    pub fn new(policy: Policy) -> Runner {
        let (ledger, broken) = if policy.allow.is_empty() {
            (Ledger::default(), None)
        } else {
            match Ledger::load(&policy.ledger) {
                Ok(l) => (l, None),
                Err(e) => {
                    tracing::error!(error = %e, "commands refused until the ledger can be read");
                    (Ledger::default(), Some(e.to_string()))
                }
            }
        };
        let (done_tx, done_rx) = mpsc::channel(commands::MAX_RUNNING);
        Runner {
            policy,
            ledger,
            broken,
            running: 0,
            done_tx,
            done_rx,
        }
    }

    /// Takes a `CMD` (signed when `signed`): an answer to send now, if any; an allowed
    /// command starts and its answer comes from [`Runner::finished`] later.
    pub fn on_command(&mut self, cmd: &hb_proto::Command, signed: bool) -> Option<Outcome> {
        let verdict = commands::decide(
            &self.policy,
            &mut self.ledger,
            cmd,
            signed,
            now_unix(),
            self.running,
        );
        match verdict {
            Verdict::Ignore(why) => {
                tracing::warn!(cmd_id = %cmd.cmd_id, reason = %why, "command ignored");
                None
            }
            Verdict::Answer(outcome) => {
                if outcome.exit_code == NOT_RUN {
                    tracing::warn!(cmd_id = %cmd.cmd_id, argv = ?cmd.argv, output = %outcome.output, "command not run");
                }
                // A refusal that is not saved is only answered again, never run: logged.
                let _ = self.save();
                Some(outcome)
            }
            Verdict::Run => {
                if let Some(why) = self.broken.clone().or_else(|| self.save().err()) {
                    let refused = Outcome {
                        exit_code: NOT_RUN,
                        output: format!(
                            "refused by the agent: its start cannot be recorded ({why})"
                        ),
                    };
                    self.ledger.finish(&cmd.cmd_id, refused.clone());
                    return Some(refused);
                }
                tracing::info!(cmd_id = %cmd.cmd_id, argv = ?cmd.argv, timeout_s = cmd.timeout, "running command");
                self.running += 1;
                let (id, argv, tx) = (cmd.cmd_id.clone(), cmd.argv.clone(), self.done_tx.clone());
                let timeout = Duration::from_secs(cmd.timeout.max(1));
                tokio::task::spawn_blocking(move || {
                    let run =
                        process::run(&argv, timeout, hb_proto::limits::MAX_COMMAND_OUTPUT_BYTES);
                    let _ = tx.blocking_send((id, commands::outcome(&run, timeout)));
                });
                None
            }
        }
    }

    /// Waits for the next finished command.
    pub async fn next_done(&mut self) -> Option<Done> {
        self.done_rx.recv().await
    }

    /// Records a finished command; its answer is `outcome`.
    pub fn finished(&mut self, cmd_id: &str, outcome: &Outcome) {
        self.running = self.running.saturating_sub(1);
        tracing::info!(cmd_id, exit_code = outcome.exit_code, "command finished");
        self.ledger.finish(cmd_id, outcome.clone());
        let _ = self.save();
    }

    fn save(&mut self) -> Result<(), String> {
        if self.policy.allow.is_empty() {
            return Ok(()); // nothing runs: refusals need no record on disk
        }
        self.ledger.save(&self.policy.ledger).map_err(|e| {
            tracing::error!(error = %e, "command ledger not saved");
            e.to_string()
        })
    }
}
