//! What holds notifications now: `GET /api/0/hosts/{name}/holds` (the active silences
//! and the maintenance windows that cover one host: who, why, until when) and
//! `GET /api/0/maintenance` (every window, and which are open now; administrators, as
//! the windows' patterns name any host).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::ErrorBody;
use super::extract::Segments;
use super::hosts::find;
use super::silences::SilenceView;
use super::{ApiError, ApiState, ask};
use crate::auth::roles::Action;
use crate::clock::Timestamp;
use crate::config::Config;
use crate::engine::Query;
use crate::policy::silence::Compiled;
use crate::policy::window::{Window, WindowConfig};

/// One maintenance window and whether it is open now.
#[derive(Debug, Serialize, ToSchema)]
pub struct WindowView {
    /// Its name in the config.
    name: String,
    /// Host name patterns it covers.
    hosts: Vec<String>,
    /// Threshold profiles whose hosts it covers.
    profiles: Vec<String>,
    /// Host groups whose members it covers.
    groups: Vec<String>,
    /// The alerts it covers (a glob); absent: the hosts and all their alerts.
    paths: Option<String>,
    /// Days it opens on (`mon` .. `sun`); empty: every day.
    days: Vec<&'static str>,
    /// When it opens, `HH:MM` in `time_zone`.
    start: String,
    /// How long it stays open, seconds.
    duration_s: u64,
    /// Its time zone (absent: the daemon's).
    time_zone: Option<String>,
    /// When the occurrence open now ends (RFC 3339); absent: closed now.
    open_until: Option<String>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl WindowView {
    fn new(name: &str, c: &WindowConfig, now: Timestamp) -> WindowView {
        let open_until = Window::new(name, c)
            .ok()
            .and_then(|w| w.open_until(now))
            .map(Timestamp::rfc3339);
        WindowView {
            name: name.to_owned(),
            hosts: c.hosts.clone(),
            profiles: c.profiles.clone(),
            groups: c.groups.clone(),
            paths: c.paths.clone(),
            days: c
                .days
                .iter()
                .filter_map(|d| DAYS.get(usize::try_from(*d - 1).ok()?).copied())
                .collect(),
            start: format!("{:02}:{:02}", c.start_minute / 60, c.start_minute % 60),
            duration_s: c.duration.as_secs(),
            time_zone: c.time_zone.clone(),
            open_until,
        }
    }
}

/// The windows of `config` that cover `host` (any of its alerts or itself), which
/// declares `labels`.
fn windows_of<'a>(
    config: &'a Config,
    host: &'a str,
    labels: Option<&'a crate::model::Labels>,
) -> impl Iterator<Item = (&'a String, &'a WindowConfig)> {
    let profiles = config
        .hosts
        .get(host)
        .map(|h| h.threshold_config.clone())
        .unwrap_or_default();
    config.maintenance.iter().filter(move |(name, c)| {
        config
            .window(name, c)
            .is_ok_and(|w| w.covers_host(host, &profiles, labels))
    })
}

/// What holds one host's notifications.
#[derive(Debug, Serialize, ToSchema)]
pub struct Holds {
    /// Silences active now that cover the host (or some of its alerts).
    silences: Vec<SilenceView>,
    /// Maintenance windows that cover it, open now or not.
    windows: Vec<WindowView>,
}

/// The active silences and the maintenance windows that cover one host.
#[utoipa::path(get, path = "/api/0/hosts/{name}/holds", tag = "silences",
    params(("name" = String, Path, description = "The host")),
    responses(
        (status = 200, description = "What holds its notifications", body = Holds),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such host, or the caller holds no role on it", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn for_host(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<Json<Holds>, ApiError> {
    find(&state, &caller, &name, Action::View).await?;
    let (silences, _) = ask(&state, Query::Policy).await?;
    let now = Timestamp::now();
    let silences = silences
        .into_iter()
        .filter(|s| s.starts <= now && now < s.ends)
        .filter(|s| Compiled::new(s.clone()).is_ok_and(|c| c.covers_host(&name)))
        .map(|mut s| {
            // As in the silences' list: only the hosts the caller sees are named.
            if !caller.sees_all()
                && let Some(only) = &mut s.only
            {
                only.retain(|h| caller.sees(h));
            }
            SilenceView::new(s, now)
        })
        .collect();
    let config = state.config.get();
    let labels = state.auth.host_labels().get(&name);
    let windows = windows_of(&config, &name, labels.as_deref())
        .map(|(n, c)| WindowView::new(n, c, now))
        .collect();
    Ok(Json(Holds { silences, windows }))
}

/// Every maintenance window, and which are open now (administrators).
#[utoipa::path(get, path = "/api/0/maintenance", tag = "silences",
    responses(
        (status = 200, description = "The windows", body = Vec<WindowView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn windows(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<WindowView>>, ApiError> {
    caller.may(Action::ReadMetrics, None)?;
    let config = state.config.get();
    let now = Timestamp::now();
    Ok(Json(
        config
            .maintenance
            .iter()
            .map(|(n, c)| WindowView::new(n, c, now))
            .collect(),
    ))
}
