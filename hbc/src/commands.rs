//! Commands from the daemon (`CMD`), and whether to run them: only with a key (so they
//! arrived signed), only recent ones (so a recorded one cannot be replayed later), only
//! programs the config's `commands.allow` lists, and each `cmd_id` at most once, across
//! restarts: the ledger records a command before it runs and its result after, and a
//! `CMD` the daemon sends again (because the result was lost) gets the recorded result
//! again instead of a second run.
//!
//! [`decide`] is pure; [`Ledger`] is the record, kept in a small JSON file.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hb_proto::limits::MAX_COMMAND_OUTPUT_BYTES;
use serde::{Deserialize, Serialize};

use crate::process::{Exit, Finished};

/// Commands remembered in the ledger (the newest).
pub const LEDGER_LEN: usize = 512;
/// Default largest difference between a command's `ts` and the agent's clock.
pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(300);
/// Commands running at once at most; more wait for the daemon to send them again.
pub const MAX_RUNNING: usize = 4;
/// The exit code of a command the agent did not run (refused or not startable); the
/// reason is the output.
pub const NOT_RUN: i32 = hb_proto::EXIT_NOT_RUN;

/// What a restarted agent answers for a command or upgrade that was running when it
/// stopped.
pub const INTERRUPTED_TEXT: &str = "interrupted: the agent stopped while this ran (killed, crashed, or the machine lost power); it is not run again: queue it anew if it should run";

/// What the agent's config allows.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Programs (absolute paths) that may run; empty: commands are off.
    pub allow: Vec<PathBuf>,
    /// Largest difference between a command's `ts` and the agent's clock.
    pub max_skew: Duration,
    /// Where the ledger lives.
    pub ledger: PathBuf,
    /// Whether the daemon may upgrade this agent (`UPD`).
    pub upgrade: bool,
}

impl Policy {
    /// Commands off, ledger at the default place.
    pub fn off() -> Policy {
        Policy {
            allow: Vec::new(),
            max_skew: DEFAULT_MAX_SKEW,
            ledger: default_ledger(),
            upgrade: false,
        }
    }
}

/// `$XDG_STATE_HOME/hbc/commands.json`, else `~/.local/state/hbc/commands.json`, else
/// `/var/lib/hbc/commands.json`.
pub fn default_ledger() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("hbc/commands.json");
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/state/hbc/commands.json"),
        None => PathBuf::from("/var/lib/hbc/commands.json"),
    }
}

/// A result: exit code and output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// `>= 0`: the exit code; `-N`: killed by signal N (a timeout is `-9`, with a note);
    /// [`NOT_RUN`]: not run, the reason in `output`.
    pub exit_code: i32,
    /// Standard output then standard error, at most 16 KiB.
    pub output: String,
}

/// What to do with a `CMD`.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Run it (it is now recorded as started).
    Run,
    /// Do not run it; answer with this result (recorded).
    Answer(Outcome),
    /// Drop it without an answer, for this reason.
    Ignore(String),
}

/// One recorded command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    cmd_id: String,
    /// `None` while it runs (or if the agent stopped while it ran).
    outcome: Option<Outcome>,
}

/// The commands seen, newest last.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    entries: VecDeque<Entry>,
}

/// Why the ledger could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("command ledger {path}: {reason}")]
pub struct LedgerError {
    path: PathBuf,
    reason: String,
}

impl Ledger {
    /// Reads the ledger at `path` (none there yet: an empty one).
    pub fn load(path: &Path) -> Result<Ledger, LedgerError> {
        let err = |reason: String| LedgerError {
            path: path.to_owned(),
            reason,
        };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| err(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ledger::default()),
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Writes the ledger to `path` atomically (a new file renamed over the old).
    pub fn save(&self, path: &Path) -> Result<(), LedgerError> {
        let err = |reason: String| LedgerError {
            path: path.to_owned(),
            reason,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        let tmp = path.with_extension("json.new");
        let bytes = serde_json::to_vec(self).map_err(|e| err(e.to_string()))?;
        std::fs::write(&tmp, bytes).map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
    }

    fn find(&self, cmd_id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.cmd_id == cmd_id)
    }

    fn record(&mut self, cmd_id: &str, outcome: Option<Outcome>) {
        match self.entries.iter_mut().find(|e| e.cmd_id == cmd_id) {
            Some(e) => e.outcome = outcome,
            None => {
                if self.entries.len() == LEDGER_LEN {
                    self.entries.pop_front();
                }
                self.entries.push_back(Entry {
                    cmd_id: cmd_id.to_owned(),
                    outcome,
                });
            }
        }
    }

    /// Records what a command gave.
    pub fn finish(&mut self, cmd_id: &str, outcome: Outcome) {
        self.record(cmd_id, Some(outcome));
    }

    /// At an agent's start: every command recorded as started and never finished was
    /// cut short when the agent before stopped. Each gets the answer "interrupted"
    /// ([`hb_proto::EXIT_INTERRUPTED`]), so it is answered and never run again, except
    /// `except` (an upgrade that brought this very binary, reported on its own).
    /// Returns the ids it answered.
    pub fn interrupt_unfinished(&mut self, except: Option<&str>) -> Vec<String> {
        let mut ids = Vec::new();
        for e in &mut self.entries {
            if e.outcome.is_none() && Some(e.cmd_id.as_str()) != except {
                e.outcome = Some(Outcome {
                    exit_code: hb_proto::EXIT_INTERRUPTED,
                    output: INTERRUPTED_TEXT.to_owned(),
                });
                ids.push(e.cmd_id.clone());
            }
        }
        ids
    }
}

/// Decides about `cmd`, which arrived signed when `signed`, at agent time `now_unix`
/// (seconds), recording in `ledger` what is run or answered. `running`: commands
/// running now.
pub fn decide(
    policy: &Policy,
    ledger: &mut Ledger,
    cmd: &hb_proto::Command,
    signed: bool,
    now_unix: f64,
    running: usize,
) -> Verdict {
    if let Some(verdict) = admit(policy, ledger, &cmd.cmd_id, cmd.ts, signed, now_unix) {
        return verdict;
    }
    let program = cmd.argv.first().map(String::as_str).unwrap_or_default();
    let why = if policy.allow.is_empty() {
        Some("commands are off here (commands.allow lists no program)".to_owned())
    } else if !policy.allow.iter().any(|p| p.as_os_str() == program) {
        Some(format!("{program} is not in commands.allow"))
    } else {
        None
    };
    settle(ledger, &cmd.cmd_id, why, running)
}

/// Decides about `upd`, a self-upgrade, as [`decide`] does about a command: signed,
/// recent, once, and only where `commands.upgrade` is on.
pub fn decide_update(
    policy: &Policy,
    ledger: &mut Ledger,
    upd: &hb_proto::Update,
    signed: bool,
    now_unix: f64,
    running: usize,
) -> Verdict {
    if let Some(verdict) = admit(policy, ledger, &upd.cmd_id, upd.ts, signed, now_unix) {
        return verdict;
    }
    let why = (!policy.upgrade)
        .then(|| "upgrades are off here (commands.upgrade is not true)".to_owned());
    settle(ledger, &upd.cmd_id, why, running)
}

/// Records a refusal (`why`) or the start of a run, unless too many run already.
fn settle(ledger: &mut Ledger, cmd_id: &str, why: Option<String>, running: usize) -> Verdict {
    if why.is_none() && running >= MAX_RUNNING {
        return Verdict::Ignore(format!("{running} commands running; it comes again"));
    }
    let outcome = why.map(|why| Outcome {
        exit_code: NOT_RUN,
        output: format!("refused by the agent: {why}"),
    });
    ledger.record(cmd_id, outcome.clone());
    match outcome {
        Some(outcome) => Verdict::Answer(outcome),
        None => Verdict::Run,
    }
}

/// What every daemon request must pass before its own checks: it came signed, it is
/// recent, and it is new (one seen before gets its recorded answer, or nothing while it
/// runs). `None`: admitted.
fn admit(
    policy: &Policy,
    ledger: &Ledger,
    cmd_id: &str,
    ts: Option<f64>,
    signed: bool,
    now_unix: f64,
) -> Option<Verdict> {
    if !signed {
        return Some(Verdict::Ignore("commands need a key: this agent has none, so it cannot tell the daemon's commands from anyone's".into()));
    }
    match ts {
        Some(ts) if (now_unix - ts).abs() <= policy.max_skew.as_secs_f64() => {}
        Some(ts) => {
            return Some(Verdict::Ignore(format!(
                "sent at {ts:.0}, {:.0} s from this agent's clock (at most {} s): a replay, or clocks apart",
                (now_unix - ts).abs(),
                policy.max_skew.as_secs()
            )));
        }
        None => {
            return Some(Verdict::Ignore(
                "undated (no ts): it could be a replay".into(),
            ));
        }
    }
    ledger.find(cmd_id).map(|seen| match &seen.outcome {
        Some(outcome) => Verdict::Answer(outcome.clone()),
        None => Verdict::Ignore("already started; its result follows when it ends".into()),
    })
}

/// The result of a finished run, in the protocol's terms.
pub fn outcome(run: &Finished, timeout: Duration) -> Outcome {
    let mut output = run.stdout.clone();
    output.extend_from_slice(&run.stderr);
    let (exit_code, note) = match &run.exit {
        Exit::Code(code) => (*code, None),
        Exit::Signal(signal) => (-signal, None),
        Exit::TimedOut => (
            -9,
            Some(format!(
                "[timed out after {} s; its process group was killed]",
                timeout.as_secs_f64()
            )),
        ),
        Exit::Failed(why) => (NOT_RUN, Some(why.clone())),
    };
    let mut text = String::from_utf8_lossy(&output).into_owned();
    if let Some(note) = note {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&note);
    }
    Outcome {
        exit_code,
        output: truncate(text, MAX_COMMAND_OUTPUT_BYTES),
    }
}

/// The first `max` bytes of `text`, cut at a character boundary.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            allow: vec!["/bin/echo".into()],
            max_skew: Duration::from_secs(300),
            ledger: PathBuf::from("unused"),
            upgrade: false,
        }
    }

    fn cmd(id: &str, program: &str, ts: Option<f64>) -> hb_proto::Command {
        hb_proto::Command {
            cmd_id: id.into(),
            argv: vec![program.into(), "hi".into()],
            timeout: 5,
            ts,
        }
    }

    #[test]
    fn only_signed_recent_allowed_and_new_commands_run() {
        let now = 1_800_000_000.0;
        let (on, off) = (policy(), policy_off());
        let mut l = Ledger::default();
        // (policy, id, program, ts, signed, running) -> what happens, and why.
        type Case<'a> = (
            &'a Policy,
            &'a str,
            &'a str,
            Option<f64>,
            bool,
            usize,
            &'a str,
            &'a str,
        );
        let cases: [Case; 8] = [
            (
                &on,
                "a",
                "/bin/echo",
                Some(now),
                false,
                0,
                "ignore",
                "unsigned",
            ),
            (&on, "b", "/bin/echo", None, true, 0, "ignore", "undated"),
            (
                &on,
                "c",
                "/bin/echo",
                Some(now - 301.0),
                true,
                0,
                "ignore",
                "old: a replay",
            ),
            (
                &on,
                "d",
                "/bin/echo",
                Some(now + 301.0),
                true,
                0,
                "ignore",
                "from the future",
            ),
            (
                &on,
                "e",
                "/bin/echo",
                Some(now),
                true,
                MAX_RUNNING,
                "ignore",
                "busy: later",
            ),
            (
                &on,
                "f",
                "/bin/rm",
                Some(now),
                true,
                0,
                "refuse",
                "not allowed",
            ),
            (
                &off,
                "g",
                "/bin/echo",
                Some(now),
                true,
                0,
                "refuse",
                "commands off",
            ),
            // Ignored ones were not recorded: they may come again properly.
            (
                &on,
                "e",
                "/bin/echo",
                Some(now),
                true,
                0,
                "run",
                "allowed, new",
            ),
        ];
        for (policy, id, program, ts, signed, running, want, why) in cases {
            let got = match decide(policy, &mut l, &cmd(id, program, ts), signed, now, running) {
                Verdict::Run => "run",
                Verdict::Answer(o) if o.exit_code == NOT_RUN => "refuse",
                Verdict::Answer(_) => "answer",
                Verdict::Ignore(_) => "ignore",
            };
            assert_eq!(got, want, "{id}: {why}");
        }
        // The same id again: not a second run, and once done, the recorded result.
        let again = || cmd("e", "/bin/echo", Some(now));
        assert!(matches!(
            decide(&on, &mut l, &again(), true, now, 0),
            Verdict::Ignore(_)
        ));
        let done = Outcome {
            exit_code: 0,
            output: "hi\n".into(),
        };
        l.finish("e", done.clone());
        assert_eq!(
            decide(&on, &mut l, &again(), true, now, 0),
            Verdict::Answer(done)
        );
    }

    fn policy_off() -> Policy {
        Policy {
            allow: Vec::new(),
            ..policy()
        }
    }

    #[test]
    fn the_ledger_survives_a_restart_and_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/commands.json");
        let mut l = Ledger::load(&path).unwrap();
        for i in 0..LEDGER_LEN + 3 {
            l.record(&format!("c{i}"), None);
        }
        l.finish(
            "c5",
            Outcome {
                exit_code: 1,
                output: "x".into(),
            },
        );
        l.save(&path).unwrap();
        let back = Ledger::load(&path).unwrap();
        assert_eq!(back.entries.len(), LEDGER_LEN);
        assert!(back.find("c0").is_none(), "the oldest went");
        assert_eq!(
            back.find("c5").unwrap().outcome.as_ref().unwrap().exit_code,
            1
        );
        std::fs::write(&path, "not json").unwrap();
        assert!(
            Ledger::load(&path)
                .unwrap_err()
                .to_string()
                .contains("commands.json")
        );
    }

    #[test]
    fn a_command_cut_short_by_a_stop_is_answered_as_interrupted_and_never_run_again() {
        let now = 1_800_000_000.0;
        let on = policy();
        let mut l = Ledger::default();
        // Two commands and an upgrade start; the agent dies; one finished before.
        for id in ["cut", "done", "upgrade"] {
            assert_eq!(
                decide(&on, &mut l, &cmd(id, "/bin/echo", Some(now)), true, now, 0),
                Verdict::Run
            );
        }
        let done = Outcome {
            exit_code: 0,
            output: "hi\n".into(),
        };
        l.finish("done", done.clone());
        // The restarted agent: the upgrade that brought it reports on its own.
        let cut = l.interrupt_unfinished(Some("upgrade"));
        assert_eq!(cut, ["cut"]);
        match decide(
            &on,
            &mut l,
            &cmd("cut", "/bin/echo", Some(now)),
            true,
            now,
            0,
        ) {
            Verdict::Answer(o) => {
                assert_eq!(o.exit_code, hb_proto::EXIT_INTERRUPTED);
                assert!(o.output.starts_with("interrupted: "), "{}", o.output);
            }
            other => panic!("not answered: {other:?}"),
        }
        assert_eq!(
            decide(
                &on,
                &mut l,
                &cmd("done", "/bin/echo", Some(now)),
                true,
                now,
                0
            ),
            Verdict::Answer(done)
        );
        assert!(l.find("upgrade").unwrap().outcome.is_none());
        assert!(l.interrupt_unfinished(Some("upgrade")).is_empty(), "once");
    }

    #[test]
    fn results_say_how_the_run_ended_within_16_kib() {
        let run = |exit, stdout: &[u8]| Finished {
            exit,
            stdout: stdout.to_vec(),
            stderr: b"warn\n".to_vec(),
            duration: Duration::ZERO,
        };
        let t = Duration::from_secs(5);
        assert_eq!(
            outcome(&run(Exit::Code(2), b"out\n"), t),
            Outcome {
                exit_code: 2,
                output: "out\nwarn\n".into()
            }
        );
        assert_eq!(outcome(&run(Exit::Signal(15), b""), t).exit_code, -15);
        let timed = outcome(&run(Exit::TimedOut, b"partial"), t);
        assert_eq!(timed.exit_code, -9);
        assert!(
            timed
                .output
                .ends_with("[timed out after 5 s; its process group was killed]"),
            "{}",
            timed.output
        );
        assert_eq!(
            outcome(
                &run(Exit::Failed("cannot run /x: No such file".into()), b""),
                t
            )
            .exit_code,
            NOT_RUN
        );
        let big = outcome(&run(Exit::Code(0), "é".repeat(20_000).as_bytes()), t);
        assert!(big.output.len() <= MAX_COMMAND_OUTPUT_BYTES && big.output.starts_with('é'));
    }
}
