//! Commands for a host's agent: `POST /api/0/hosts/{name}/commands` queues one
//! (managers, owners, administrators), `GET .../commands` lists them and
//! `GET .../commands/{id}` shows one. The agent runs a command only if its own config
//! allows that program; the daemon sends it only signed (a host without a key is
//! refused with 409 `unsigned_host`), after the ACK of each heartbeat until the result
//! arrives, and marks it expired if none does in time.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::ErrorBody;
use super::extract::{Body, Segments};
use super::hosts::find;
use super::view;
use super::{ApiError, ApiState, ask};
use crate::auth::roles::Action;
use crate::clock::Timestamp;
use crate::core::outbox::DEFAULT_EXPIRY;
use crate::core::{Command, Job, JobState, Outcome};
use crate::engine::Query;

/// Longest run time a command may ask for.
pub const MAX_TIMEOUT_S: u64 = 24 * 3600;
/// Longest a command may wait for its result.
pub const MAX_EXPIRY_S: u64 = 7 * 24 * 3600;
/// Largest `CMD` datagram a command may make (well inside any path's MTU budget for
/// fragments, and the protocol's limit).
pub const MAX_COMMAND_BYTES: usize = 16 * 1024;

/// A command to queue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCommand {
    /// The program (an absolute path the agent's `commands.allow` lists) and its
    /// arguments; run without a shell, so no quoting, globbing or pipes.
    argv: Vec<String>,
    /// The agent kills the command's process group after this many seconds (1 to
    /// 86400; default 60).
    #[serde(default)]
    timeout: Option<u64>,
    /// Seconds to wait for the result before the command counts as expired (10 to
    /// 604800; default 3600).
    #[serde(default)]
    expires_in: Option<u64>,
}

/// A command and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommandView {
    /// The `cmd_id`.
    id: String,
    host: String,
    argv: Vec<String>,
    timeout: u64,
    /// Who queued it.
    by: Option<String>,
    queued: String,
    expires: String,
    /// `queued`, `sent`, `done`, `interrupted` (the agent stopped while it ran, and
    /// did not run it again: `exit_code` -254, the reason in `output`) or `expired`.
    state: &'static str,
    /// How often it was sent (after each heartbeat until the result came).
    sent_times: u32,
    last_sent: Option<String>,
    /// When the result arrived (done) or the command expired.
    finished: Option<String>,
    /// The command's exit code (done and interrupted only; negative: killed by a signal,
    /// timed out, refused by the agent (-255) or interrupted (-254), with the reason in
    /// `output`).
    exit_code: Option<i32>,
    /// Standard output and error, at most 16 KiB (done only).
    output: Option<String>,
    /// A self-upgrade (`argv` empty): the release it installs.
    #[serde(skip_serializing_if = "Option::is_none")]
    upgrade: Option<view::UpgradeJob>,
}

impl From<Job> for CommandView {
    fn from(job: Job) -> CommandView {
        let (sent_times, last_sent) = job.state.sent();
        let last_sent = last_sent.map(Timestamp::rfc3339);
        let (state, finished, exit_code, output) = match job.state {
            JobState::Queued => ("queued", None, None, None),
            JobState::Sent { .. } => ("sent", None, None, None),
            JobState::Done {
                at,
                exit_code,
                output,
                ..
            } => (
                if exit_code == hb_proto::EXIT_INTERRUPTED {
                    "interrupted"
                } else {
                    "done"
                },
                Some(at.rfc3339()),
                Some(exit_code),
                Some(output),
            ),
            JobState::Expired { at, .. } => ("expired", Some(at.rfc3339()), None, None),
        };
        CommandView {
            id: job.id,
            host: job.host,
            argv: job.argv,
            timeout: job.timeout_s,
            by: job.by,
            queued: job.queued.rfc3339(),
            expires: job.expires.rfc3339(),
            state,
            sent_times,
            last_sent,
            finished,
            exit_code,
            output,
            upgrade: job.upgrade.map(|u| view::UpgradeJob::from(*u)),
        }
    }
}

/// A host's commands.
#[derive(Debug, Serialize, ToSchema)]
pub struct HostCommands {
    host: String,
    /// Newest first: the unfinished ones and the last 50 finished.
    commands: Vec<CommandView>,
}

pub(super) fn new_id() -> Result<String, ApiError> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random)
        .map_err(|e| ApiError::Unavailable(format!("no randomness for an id: {e}")))?;
    Ok(random.iter().map(|b| format!("{b:02x}")).collect())
}

fn check(new: &NewCommand) -> Result<(u64, u64), ApiError> {
    let bad = |m: String| Err(ApiError::BadRequest(m));
    match new.argv.first() {
        None => {
            return bad(
                "argv must name the program: [\"/usr/bin/systemctl\", \"restart\", \"nginx\"]"
                    .into(),
            );
        }
        Some(program) if !program.starts_with('/') => {
            return bad(format!(
                "argv[0] must be the program's absolute path (the agent runs no shell and searches no PATH), not {program:?}"
            ));
        }
        Some(_) => {}
    }
    if new.argv.len() > hb_proto::limits::MAX_ARGV_ITEMS {
        return bad(format!(
            "argv has {} items, at most {}",
            new.argv.len(),
            hb_proto::limits::MAX_ARGV_ITEMS
        ));
    }
    if new.argv.iter().any(|a| a.contains('\0')) {
        return bad("an argument contains a NUL byte".into());
    }
    let size: usize = new.argv.iter().map(|a| a.len() + 8).sum();
    if size > MAX_COMMAND_BYTES {
        return bad(format!(
            "argv takes {size} bytes, at most {MAX_COMMAND_BYTES}"
        ));
    }
    let timeout = new.timeout.unwrap_or(60);
    if !(1..=MAX_TIMEOUT_S).contains(&timeout) {
        return bad(format!(
            "timeout must be 1 to {MAX_TIMEOUT_S} seconds, not {timeout}"
        ));
    }
    let expires = new.expires_in.unwrap_or(DEFAULT_EXPIRY.as_secs());
    if !(10..=MAX_EXPIRY_S).contains(&expires) {
        return bad(format!(
            "expires_in must be 10 to {MAX_EXPIRY_S} seconds, not {expires}"
        ));
    }
    Ok((timeout, expires))
}

/// Queues a command for the host's agent (manager, owner or administrator).
#[utoipa::path(post, path = "/api/0/hosts/{name}/commands", tag = "commands",
    params(("name" = String, Path, description = "The host")),
    request_body = NewCommand,
    responses(
        (status = 201, description = "Queued", body = CommandView),
        (status = 400, description = "A bad argv, timeout or expiry", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only a monitor, or a cookie request without its CSRF token", body = ErrorBody),
        (status = 404, description = "No such host, or the caller holds no role on it", body = ErrorBody),
        (status = 409, description = "The host has no key: commands travel only signed (`unsigned_host`)", body = ErrorBody),
        (status = 422, description = "A body that is not a command (an unknown field, a wrong type)", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn queue(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
    Body(new): Body<NewCommand>,
) -> Result<Queued, ApiError> {
    caller.may(Action::QueueCommand, Some(&name))?;
    let (timeout, expires_in) = check(&new)?;
    let job = Job {
        argv: new.argv,
        timeout_s: timeout,
        ..new_job(name, &caller, expires_in)?
    };
    submit(&state, job).await
}

/// A job for `host` queued now by `caller`, expiring in `expires_in` seconds, with a
/// fresh id; no program yet (the caller sets `argv` and `timeout_s`, or `upgrade`).
pub(super) fn new_job(host: String, caller: &Caller, expires_in: u64) -> Result<Job, ApiError> {
    let now = Timestamp::now();
    Ok(Job {
        id: new_id()?,
        host,
        argv: Vec::new(),
        timeout_s: 0,
        by: caller.user.clone(),
        queued: now,
        expires: now.plus(Duration::from_secs(expires_in)),
        state: JobState::Queued,
        upgrade: None,
    })
}

/// A queued command's answer: 201, the audit log's after (the command), the command.
pub(super) type Queued = (
    StatusCode,
    axum::Extension<super::audit::Changed>,
    Json<CommandView>,
);

/// Queues `job` in the engine: 201 with it as queued.
pub(super) async fn submit(state: &ApiState, job: Job) -> Result<Queued, ApiError> {
    let command = Command::QueueJob { job: Box::new(job) };
    match ask(state, |tx| Query::Command(command, tx)).await?? {
        Outcome::Queued { job } => {
            let view = CommandView::from(*job);
            let changed = super::audit::Changed::new(&(), &view);
            Ok((StatusCode::CREATED, changed, Json(view)))
        }
        other => Err(ApiError::Store(format!("unexpected outcome {other:?}"))),
    }
}

/// A host's commands, newest first.
#[utoipa::path(get, path = "/api/0/hosts/{name}/commands", tag = "commands",
    params(("name" = String, Path, description = "The host")),
    responses(
        (status = 200, description = "The commands", body = HostCommands),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such host, or the caller holds no role on it", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<Json<HostCommands>, ApiError> {
    find(&state, &caller, &name, Action::View).await?;
    let jobs = ask(&state, |tx| Query::HostJobs(name.clone(), tx))
        .await?
        .ok_or_else(|| ApiError::no_host(&name))?;
    Ok(Json(HostCommands {
        host: name,
        commands: jobs.into_iter().map(CommandView::from).collect(),
    }))
}

/// One command.
#[utoipa::path(get, path = "/api/0/hosts/{name}/commands/{id}", tag = "commands",
    params(
        ("name" = String, Path, description = "The host"),
        ("id" = String, Path, description = "The command's id"),
    ),
    responses(
        (status = 200, description = "The command", body = CommandView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such host or command, or the caller holds no role on the host", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn one(
    State(state): State<ApiState>,
    caller: Caller,
    Segments((name, id)): Segments<(String, String)>,
) -> Result<Json<CommandView>, ApiError> {
    find(&state, &caller, &name, Action::View).await?;
    let jobs = ask(&state, |tx| Query::HostJobs(name.clone(), tx))
        .await?
        .ok_or_else(|| ApiError::no_host(&name))?;
    jobs.into_iter()
        .find(|j| j.id == id)
        .map(|j| Json(CommandView::from(j)))
        .ok_or_else(|| ApiError::NotFound(format!("host {name:?} has no command {id:?}")))
}
