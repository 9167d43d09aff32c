//! `nagios_runner`: runs Nagios-compatible check programs and reports their status, text
//! and performance data.
//!
//! Each command is split shell-like into argv and run directly, never through a shell,
//! in its own process group with a time limit (default 30 s; on expiry the whole group
//! is killed). Exit codes map 0 OK, 1 WARNING, 2 CRITICAL, anything else (or a signal)
//! UNKNOWN. Commands run in parallel; the plugin's status is the worst of them
//! (CRITICAL > WARNING > UNKNOWN > OK).

use std::time::Duration;

use hb_proto::{PluginKind, Status};
use serde_json::{Map, Value, json};

use super::perfdata::parse_output;
use super::{Collected, Options, Plugin, PluginError};
use crate::process::{self, Exit};

/// Default time limit of one check.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Output kept per check; the rest is read and discarded.
pub const MAX_OUTPUT: usize = 16 * 1024;

/// One configured check.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Name in the report.
    pub name: String,
    /// Program and arguments.
    pub argv: Vec<String>,
}

/// What one run of a check gave.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    /// Mapped status.
    pub status: Status,
    /// Exit code, if it exited.
    pub exit_code: Option<i32>,
    /// Combined output (stdout, then stderr if stdout was empty), bounded.
    pub output: String,
    /// Why it produced no normal result, if so.
    pub error: Option<String>,
    /// Wall time.
    pub duration: Duration,
}

/// Maps an exit code to a status.
pub fn status_of(code: Option<i32>) -> Status {
    match code {
        Some(0) => Status::Ok,
        Some(1) => Status::Warning,
        Some(2) => Status::Critical,
        _ => Status::Unknown,
    }
}

/// Severity order for "worst of": CRITICAL > WARNING > UNKNOWN > OK.
pub fn rank(status: Status) -> u8 {
    match status {
        Status::Ok => 0,
        Status::Unknown => 1,
        Status::Warning => 2,
        Status::Critical => 3,
    }
}

/// Reads the `commands` option: strings, or `{name, command}` mappings.
pub fn parse_checks(options: &Options) -> Result<Vec<Check>, PluginError> {
    let bad = |m: String| PluginError::Config(format!("plugins.nagios_runner.commands: {m}"));
    let items = match options.get("commands") {
        None | Some(Value::Null) => return Err(bad("is required: a list of commands".into())),
        Some(Value::Array(items)) => items.clone(),
        Some(other) => return Err(bad(format!("expected a list, found {other}"))),
    };
    let mut checks: Vec<Check> = Vec::new();
    for item in items {
        let (name, command) = match &item {
            Value::String(c) => (None, c.clone()),
            Value::Object(m) => {
                let command = m
                    .get("command")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(format!("{item} has no command")))?;
                (
                    m.get("name").and_then(Value::as_str).map(str::to_owned),
                    command.to_owned(),
                )
            }
            other => {
                return Err(bad(format!(
                    "expected a string or {{name, command}}, found {other}"
                )));
            }
        };
        let argv = shlex::split(&command)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                bad(format!(
                    "cannot split {command:?} into arguments (unbalanced quotes?)"
                ))
            })?;
        let mut name =
            name.unwrap_or_else(|| argv[0].rsplit('/').next().unwrap_or(&argv[0]).to_owned());
        let base = name.clone();
        let mut n = 2;
        while checks.iter().any(|c| c.name == name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        checks.push(Check { name, argv });
    }
    Ok(checks)
}

/// Runs one check with a time limit, killing its process group on expiry
/// ([`crate::process::run`]).
pub fn run_check(check: &Check, timeout: Duration) -> CheckResult {
    let run = process::run(&check.argv, timeout, MAX_OUTPUT);
    // Stdout, or stderr when stdout says nothing.
    let text = if run.stdout.iter().all(u8::is_ascii_whitespace) {
        run.stderr
    } else {
        run.stdout
    };
    let output = String::from_utf8_lossy(&text).into_owned();
    let (exit_code, error) = match run.exit {
        Exit::Code(code) => (Some(code), None),
        Exit::Signal(signal) => (None, Some(format!("killed by signal {signal}"))),
        Exit::TimedOut => (
            None,
            Some(format!(
                "timed out after {} s; process group killed",
                timeout.as_secs_f64()
            )),
        ),
        Exit::Failed(why) => (None, Some(why)),
    };
    CheckResult {
        status: status_of(exit_code),
        exit_code,
        output,
        error,
        duration: run.duration,
    }
}

/// A check's report entry.
pub fn report_entry(result: &CheckResult) -> Value {
    let parsed = parse_output(&result.output);
    let mut m = Map::new();
    m.insert("status".into(), json!(result.status));
    m.insert("exit_code".into(), json!(result.exit_code));
    m.insert("text".into(), json!(parsed.text));
    if !parsed.long_output.is_empty() {
        m.insert("long_output".into(), json!(parsed.long_output));
    }
    m.insert("perfdata".into(), json!(parsed.perfdata));
    if !parsed.perfdata_errors.is_empty() {
        m.insert("perfdata_errors".into(), json!(parsed.perfdata_errors));
    }
    if let Some(e) = &result.error {
        m.insert("error".into(), json!(e));
    }
    m.insert(
        "duration_ms".into(),
        json!((result.duration.as_secs_f64() * 1e5).round() / 100.0),
    );
    Value::Object(m)
}

/// The plugin.
#[derive(Debug)]
pub struct NagiosRunner {
    checks: Vec<Check>,
    timeout: Duration,
}

impl NagiosRunner {
    /// From options (`commands`, `timeout`).
    pub fn new(options: &Options) -> Result<NagiosRunner, PluginError> {
        Ok(NagiosRunner {
            checks: parse_checks(options)?,
            timeout: options.seconds("timeout", DEFAULT_TIMEOUT)?,
        })
    }

    /// The longest a collection can take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

impl Plugin for NagiosRunner {
    fn name(&self) -> &'static str {
        "nagios_runner"
    }

    fn kind(&self) -> PluginKind {
        PluginKind::Monitor
    }

    fn collect(&mut self) -> Result<Collected, PluginError> {
        let timeout = self.timeout;
        let results: Vec<CheckResult> = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .checks
                .iter()
                .map(|c| s.spawn(move || run_check(c, timeout)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| CheckResult {
                        status: Status::Unknown,
                        exit_code: None,
                        output: String::new(),
                        error: Some("runner thread panicked".into()),
                        duration: Duration::ZERO,
                    })
                })
                .collect()
        });
        let mut data = Map::new();
        let mut worst = Status::Ok;
        for (check, result) in self.checks.iter().zip(&results) {
            if rank(result.status) > rank(worst) {
                worst = result.status;
            }
            data.insert(check.name.clone(), report_entry(result));
        }
        Ok(Collected {
            data,
            status: Some(worst),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(json: Value) -> Options {
        Options::new("nagios_runner", &json).unwrap()
    }

    #[test]
    fn commands_are_split_and_named() {
        let checks = parse_checks(&options(json!({"commands": [
            "/usr/lib/nagios/plugins/check_load -w 5,4,3 -c 10,8,6",
            {"name": "root disk", "command": "check_disk -w 20% -p '/my dir'"},
            "check_load",
        ]})))
        .unwrap();
        assert_eq!(checks[0].name, "check_load");
        assert_eq!(checks[0].argv.len(), 5);
        assert_eq!(checks[1].name, "root disk");
        assert_eq!(checks[1].argv, ["check_disk", "-w", "20%", "-p", "/my dir"]);
        assert_eq!(checks[2].name, "check_load_2");
        for bad in [
            json!({}),
            json!({"commands": "x"}),
            json!({"commands": ["'open"]}),
            json!({"commands": [{"name": "x"}]}),
        ] {
            assert!(parse_checks(&options(bad.clone())).is_err(), "{bad}");
        }
    }

    #[test]
    fn exit_codes_map_to_statuses() {
        let cases = [
            (Some(0), Status::Ok),
            (Some(1), Status::Warning),
            (Some(2), Status::Critical),
            (Some(3), Status::Unknown),
            (Some(42), Status::Unknown),
            (None, Status::Unknown),
        ];
        for (code, want) in cases {
            assert_eq!(status_of(code), want, "{code:?}");
        }
        assert!(
            rank(Status::Critical) > rank(Status::Warning)
                && rank(Status::Warning) > rank(Status::Unknown)
        );
    }

    #[test]
    fn no_shell_is_involved() {
        // With a shell this would print "injected"; run directly, `;` is just an argument.
        let check = Check {
            name: "echo".into(),
            argv: vec![
                "/bin/echo".into(),
                "a;".into(),
                "echo".into(),
                "injected".into(),
                "$(id)".into(),
            ],
        };
        let r = run_check(&check, Duration::from_secs(5));
        assert_eq!(r.output.trim(), "a; echo injected $(id)");
        assert_eq!(r.status, Status::Ok);
    }
}
