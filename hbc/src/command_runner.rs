//! Runs the daemon's commands and upgrades for the heartbeat loop: asks
//! [`commands::decide`] (or [`commands::decide_update`]), saves the ledger before
//! anything runs (a command whose start cannot be recorded does not run: at most once
//! must hold across a crash), runs allowed commands on blocking threads with
//! [`process::run`] and upgrades with [`upgrade::prepare`], and hands back results to be
//! sent as `RES`, or a swapped binary to be executed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use crate::commands::{self, Ledger, LedgerError, NOT_RUN, Outcome, Policy, Verdict};
use crate::process;
use crate::upgrade::{self, marker::Marker};

/// What a finished command or upgrade hands back; the queue is bounded by
/// [`commands::MAX_RUNNING`], as many as run at once.
#[derive(Debug)]
pub enum Done {
    /// A result to record and send.
    Result(String, Outcome),
    /// An upgrade's new binary is in place: execute it ([`Runner::restart`]).
    Restart(Box<Marker>),
}

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
    /// What upgrading needs; `None`: upgrades are refused.
    upgrade: Option<upgrade::Context>,
    /// An upgrade's result to report after the first heartbeat (from the marker).
    report: Option<(String, Outcome)>,
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Runner {
    /// A runner with `policy`, its ledger read from disk. `upgrade`: what upgrading
    /// needs; `report`: an upgrade's result that [`upgrade::at_start`] found.
    pub fn new(
        policy: Policy,
        upgrade: Option<upgrade::Context>,
        report: Option<(String, Outcome)>,
    ) -> Runner {
        let (ledger, broken) = if policy.allow.is_empty() && !policy.upgrade {
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
        let mut runner = Runner {
            policy,
            ledger,
            broken,
            running: 0,
            done_tx,
            done_rx,
            upgrade,
            report,
        };
        // Nothing runs yet: whatever the ledger says is running was cut short.
        let reported = runner.report.as_ref().map(|(id, _)| id.clone());
        let cut = runner.ledger.interrupt_unfinished(reported.as_deref());
        if !cut.is_empty() {
            for cmd_id in &cut {
                tracing::warn!(%cmd_id, "command interrupted by the agent's stop; answered as interrupted, not run again");
            }
            // Unsaved, the answers still go out; the next save records them.
            let _ = runner.save();
        }
        runner
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
                let _ = self.save(); // logged; the answer goes out all the same
                Some(outcome)
            }
            Verdict::Run => {
                if let Some(why) = self
                    .broken
                    .clone()
                    .or_else(|| self.save().err().map(|e| e.to_string()))
                {
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
                    let _ = tx.blocking_send(Done::Result(id, commands::outcome(&run, timeout)));
                });
                None
            }
        }
    }

    /// Downloads of the next upgrade go to `server` (the daemon that sent the `UPD`)
    /// unless the `UPD` names a URL.
    pub fn download_from(&mut self, server: &str) {
        if let Some(ctx) = &mut self.upgrade {
            server.clone_into(&mut ctx.server);
        }
    }

    /// Takes a `UPD` (signed when `signed`): an answer to send now, if any; an allowed
    /// upgrade starts, and its end comes from [`Runner::next_done`] later.
    pub fn on_update(&mut self, upd: &hb_proto::Update, signed: bool) -> Option<Outcome> {
        let verdict = commands::decide_update(
            &self.policy,
            &mut self.ledger,
            upd,
            signed,
            now_unix(),
            self.running,
        );
        match verdict {
            Verdict::Ignore(why) => {
                tracing::warn!(cmd_id = %upd.cmd_id, reason = %why, "upgrade ignored");
                None
            }
            Verdict::Answer(outcome) => {
                let _ = self.save(); // logged; the answer goes out all the same
                Some(outcome)
            }
            Verdict::Run => {
                let refused = |why: String| Outcome {
                    exit_code: NOT_RUN,
                    output: format!("refused by the agent: {why}"),
                };
                let start = match (self.broken.clone(), self.upgrade.clone()) {
                    (Some(why), _) => Err(format!("its start cannot be recorded ({why})")),
                    (None, None) => Err("it cannot find its own binary".to_owned()),
                    (None, Some(ctx)) => self
                        .save()
                        .map(|()| ctx)
                        .map_err(|why| format!("its start cannot be recorded ({why})")),
                };
                let ctx = match start {
                    Ok(ctx) => ctx,
                    Err(why) => {
                        self.ledger.finish(&upd.cmd_id, refused(why.clone()));
                        let _ = self.save(); // logged; the answer goes out all the same
                        return Some(refused(why));
                    }
                };
                tracing::info!(cmd_id = %upd.cmd_id, version = ?upd.version, sha256 = %upd.file.sha256, "upgrading");
                self.running += 1;
                let (upd, tx) = (upd.clone(), self.done_tx.clone());
                tokio::spawn(async move {
                    let done = match upgrade::prepare(&ctx, &upd).await {
                        Ok(marker) => Done::Restart(Box::new(marker)),
                        Err(why) => {
                            tracing::error!(cmd_id = %upd.cmd_id, reason = %why, "upgrade failed");
                            Done::Result(
                                upd.cmd_id.clone(),
                                Outcome {
                                    exit_code: upgrade::FAILED,
                                    output: why.to_string(),
                                },
                            )
                        }
                    };
                    let _ = tx.send(done).await;
                });
                None
            }
        }
    }

    /// Executes the new binary an upgrade put in place; returns only if that failed,
    /// with the result to report (the old binary is back).
    pub fn restart(&mut self, marker: &Marker) -> Outcome {
        match &self.upgrade {
            Some(ctx) => upgrade::restart(ctx, marker),
            None => Outcome {
                exit_code: upgrade::FAILED,
                output: "no upgrade context".into(),
            },
        }
    }

    /// After a heartbeat went out: the result of the upgrade that brought this binary
    /// (or was rolled back), once, recorded and its record removed; send it as `RES`.
    pub fn after_heartbeat(&mut self) -> Option<(String, Outcome)> {
        let (cmd_id, outcome) = self.report.take()?;
        tracing::info!(%cmd_id, exit_code = outcome.exit_code, output = %outcome.output, "upgrade finished");
        self.ledger.finish(&cmd_id, outcome.clone());
        let _ = self.save(); // logged; the result goes out all the same
        if let Some(ctx) = &self.upgrade {
            Marker::remove(&ctx.marker);
        }
        Some((cmd_id, outcome))
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
        let _ = self.save(); // logged; the result goes out all the same
    }

    /// Writes the ledger; a failure is logged (and returned: a command is not started
    /// unless its start is on disk).
    fn save(&mut self) -> Result<(), LedgerError> {
        if self.policy.allow.is_empty() && !self.policy.upgrade {
            return Ok(()); // nothing runs: refusals need no record on disk
        }
        self.ledger.save(&self.policy.ledger).inspect_err(|e| {
            tracing::error!(error = %e, "command ledger not saved");
        })
    }
}
