//! Agent self-upgrade: `POST /api/0/hosts/{name}/upgrade` queues one (managers, owners,
//! administrators), `GET /api/0/releases` lists what `releases_dir` offers, and
//! `GET /releases/{file}` serves a release file to agents (and to `hb_install.sh
//! --from-daemon`), without sign-in: release files are not secret, and what makes a
//! download safe is the SHA-256 in the signed `UPD`, which the agent checks.
//!
//! An upgrade is a command of its own kind: it waits for the host's signed heartbeat,
//! goes out as `UPD` after the `ACK`, and its `RES` (or expiry) ends it, in the same
//! list as the host's commands.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::commands::{CommandView, new_job, submit};
use super::error::ErrorBody;
use super::extract::{Body, Segments};
use super::hosts::find;
use super::{ApiError, ApiState};
use crate::auth::roles::Action;
use crate::core::{Job, UpgradeFile, UpgradeJob};
use crate::releases::{self, Release, ReleaseError};

/// The time an agent gets to download, check and start a release.
pub const UPGRADE_TIMEOUT_S: u64 = 600;
/// Default wait for the result of an upgrade.
pub const DEFAULT_EXPIRY_S: u64 = 3600;

/// An upgrade to queue.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpgrade {
    /// The version to install; default the newest release for the host's platform.
    #[serde(default)]
    version: Option<String>,
    /// Seconds to wait for the result before the upgrade counts as expired (60 to
    /// 604800; default 3600).
    #[serde(default)]
    expires_in: Option<u64>,
}

/// What `releases_dir` offers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Releases {
    /// Whether upgrades are on (`releases_dir` set).
    enabled: bool,
    /// Every release file `SHA256SUMS` lists, newest version first.
    releases: Vec<Release>,
    /// Why none can be offered, if so.
    problem: Option<String>,
}

impl From<ReleaseError> for ApiError {
    fn from(e: ReleaseError) -> ApiError {
        ApiError::NoRelease(e.to_string())
    }
}

async fn scan(dir: std::path::PathBuf) -> Result<Vec<Release>, ApiError> {
    tokio::task::spawn_blocking(move || releases::scan(&dir))
        .await
        .map_err(|e| ApiError::Unavailable(format!("release scan failed: {e}")))?
        .map_err(ApiError::from)
}

/// Queues a self-upgrade of the host's agent (manager, owner or administrator).
#[utoipa::path(post, path = "/api/0/hosts/{name}/upgrade", tag = "commands",
    params(("name" = String, Path, description = "The host")),
    request_body = NewUpgrade,
    responses(
        (status = 201, description = "Queued; it shows among the host's commands", body = CommandView),
        (status = 400, description = "A bad version or expiry", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only a monitor, or a cookie request without its CSRF token", body = ErrorBody),
        (status = 404, description = "No such host, or the caller holds no role on it", body = ErrorBody),
        (status = 409, description = "The host has no key (`unsigned_host`), or no release fits it: upgrades off, platform not reported yet, no such version, a file that no longer matches its SHA-256 (`no_release`)", body = ErrorBody),
        (status = 422, description = "A body that is not an upgrade (an unknown field, a wrong type)", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn queue(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
    Body(new): Body<NewUpgrade>,
) -> Result<super::commands::Queued, ApiError> {
    let host = find(&state, &caller, &name, Action::QueueUpgrade).await?;
    let expires_in = new.expires_in.unwrap_or(DEFAULT_EXPIRY_S);
    if !(60..=super::commands::MAX_EXPIRY_S).contains(&expires_in) {
        return Err(ApiError::BadRequest(format!(
            "expires_in must be 60 to {} seconds, not {expires_in}",
            super::commands::MAX_EXPIRY_S
        )));
    }
    if let Some(v) = &new.version
        && (v.is_empty() || v.len() > 64 || !releases::safe_name(v))
    {
        return Err(ApiError::BadRequest(format!(
            "version {v:?} is not a version (0.2.0, 0.3.0-rc1)"
        )));
    }
    let config = state.config.get();
    if !config.host_has_key(&name) {
        return Err(crate::core::CommandError::Unsigned(name).into());
    }
    let dir = config.releases_dir.clone().ok_or(ReleaseError::Off)?;
    let Some(arch) = host.arch.clone() else {
        return Err(ApiError::NoRelease(format!(
            "{name} has not reported its platform since the daemon started: wait for its next heartbeat (agents older than this daemon never report it; upgrade those with hb_install.sh)"
        )));
    };
    if config.hbd_tls && config.releases_url.is_none() {
        return Err(ApiError::NoRelease(
            "the HTTP port speaks TLS and agents download over plain HTTP (the SHA-256 they check comes signed): set releases_url to a plain-HTTP address serving releases_dir".into(),
        ));
    }
    let all = scan(dir.clone()).await?;
    let release = releases::choose(&all, &arch, new.version.as_deref())?.clone();
    let checked = release.clone();
    tokio::task::spawn_blocking(move || releases::verify(&dir, &checked))
        .await
        .map_err(|e| ApiError::Unavailable(format!("release check failed: {e}")))??;
    let url_of = |file: &str| {
        config
            .releases_url
            .as_ref()
            .map(|base| format!("{}/{file}", base.trim_end_matches('/')))
    };
    let compiler = release.compiler.map(|c| UpgradeFile {
        url: url_of(&c.file),
        path: format!("/releases/{}", c.file),
        file: c.file,
        sha256: c.sha256,
        size: c.size,
    });
    let job = Job {
        timeout_s: UPGRADE_TIMEOUT_S,
        upgrade: Some(Box::new(UpgradeJob {
            url: url_of(&release.file),
            port: config.releases_url.is_none().then_some(state.http_port),
            path: format!("/releases/{}", release.file),
            version: release.version,
            arch: arch.to_string(),
            file: release.file,
            sha256: release.sha256,
            size: release.size,
            compiler,
        })),
        ..new_job(name, &caller, expires_in)?
    };
    submit(&state, job).await
}

/// The agent releases `releases_dir` offers (any signed-in user).
#[utoipa::path(get, path = "/api/0/releases", tag = "commands",
    responses(
        (status = 200, description = "The releases", body = Releases),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Releases>, ApiError> {
    caller.may(Action::View, None)?;
    let Some(dir) = state.config.get().releases_dir.clone() else {
        return Ok(Json(Releases {
            enabled: false,
            releases: Vec::new(),
            problem: Some(ReleaseError::Off.to_string()),
        }));
    };
    Ok(Json(match scan(dir).await {
        Ok(mut releases) => {
            releases.sort_by(|a, b| {
                releases::compare_versions(&b.version, &a.version).then(a.arch.cmp(&b.arch))
            });
            Releases {
                enabled: true,
                releases,
                problem: None,
            }
        }
        Err(e) => Releases {
            enabled: true,
            releases: Vec::new(),
            problem: Some(e.to_string()),
        },
    }))
}

/// `GET /releases/{file}`: a release file or `SHA256SUMS`, streamed. Only names
/// `SHA256SUMS` lists are served, so nothing else in the directory is reachable.
pub async fn download(State(state): State<ApiState>, Path(file): Path<String>) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "no such release file\n").into_response();
    let Some(dir) = state.config.get().releases_dir.clone() else {
        return not_found();
    };
    if !releases::safe_name(&file) {
        return not_found();
    }
    if file != releases::SUMS {
        let sums = tokio::fs::read_to_string(dir.join(releases::SUMS))
            .await
            .unwrap_or_default();
        if !releases::parse_sums(&sums).iter().any(|(_, f)| *f == file) {
            return not_found();
        }
    }
    super::download::stream(&dir.join(&file))
        .await
        .unwrap_or_else(not_found)
}
