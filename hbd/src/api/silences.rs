//! Silences and storm groups: `GET/POST /api/0/silences` lists and creates silences,
//! `DELETE /api/0/silences/{id}` ends one early, `GET /api/0/storms` lists the latest
//! grouped messages with everything each held.
//!
//! Administrators silence any glob, including one that matches no host yet. Anyone
//! else's silence is limited to the known hosts its glob matches that they manage
//! (`only`), and is refused only when there is none: the answer never depends on hosts
//! hidden from them. They end silences limited to hosts they manage. While
//! it lasts alerts are evaluated and shown as held, and nobody is told; when it ends,
//! whatever differs from what was last told is told then.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::Changed;
use super::caller::Caller;
use super::error::ErrorBody;
use super::extract::{Body, Segments};
use super::{ApiError, ApiState, ask};
use crate::auth::roles::Action;
use crate::clock::Timestamp;
use crate::core::{Command, Outcome};
use crate::engine::Query;
use crate::policy::silence::{Silence, glob};

/// Longest silence: a year.
pub const MAX_SILENCE: Duration = Duration::from_secs(366 * 86_400);

/// A silence to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    /// Host names it covers: a glob (`web*`, `db[12]`, `*`); default `*` with `group`.
    #[serde(default)]
    hosts: Option<String>,
    /// A host group (config `groups`): the silence covers the group's known members
    /// now (by name pattern or label), listed in its `only`.
    #[serde(default)]
    group: Option<String>,
    /// Metric paths it covers (a glob, `cpu_monitor.*`); absent: the hosts themselves
    /// and all their alerts.
    #[serde(default)]
    paths: Option<String>,
    /// When it begins, RFC 3339 (`2026-11-28T02:00:00Z`); default now.
    #[serde(default)]
    starts: Option<String>,
    /// When it ends, RFC 3339; or give `duration`.
    #[serde(default)]
    ends: Option<String>,
    /// How long it lasts from `starts`: seconds, or `2h`, `30m`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    duration: Option<serde_json::Value>,
    /// Why (shown to everyone who sees it).
    comment: String,
}

/// A silence as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SilenceView {
    id: String,
    hosts: String,
    paths: Option<String>,
    /// The hosts it is limited to (a silence made by someone who is not an
    /// administrator: those its glob matched that they managed), as far as the caller
    /// sees them; absent: every host `hosts` matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    only: Option<Vec<String>>,
    starts: String,
    ends: String,
    comment: String,
    author: String,
    created: String,
    /// `pending` (not begun), `active` or `expired`.
    state: &'static str,
}

impl SilenceView {
    pub(super) fn new(s: Silence, now: Timestamp) -> SilenceView {
        let state = if now < s.starts {
            "pending"
        } else if now < s.ends {
            "active"
        } else {
            "expired"
        };
        SilenceView {
            id: s.id,
            hosts: s.hosts,
            paths: s.paths,
            only: s.only,
            starts: s.starts.rfc3339(),
            ends: s.ends.rfc3339(),
            comment: s.comment,
            author: s.author,
            created: s.created.rfc3339(),
            state,
        }
    }
}

/// Silences the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct Silences {
    /// Newest first: active, pending and recently ended.
    silences: Vec<SilenceView>,
}

/// Storm groups the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct Storms {
    /// Newest first, each with only the caller's hosts.
    storms: Vec<super::view::StormRecord>,
}

fn time(field: &str, text: &str) -> Result<Timestamp, ApiError> {
    let t: jiff::Timestamp = text.parse().map_err(|e| {
        ApiError::BadRequest(format!(
            "{field}: expected an RFC 3339 time such as 2026-11-28T02:00:00Z ({e})"
        ))
    })?;
    u64::try_from(t.as_millisecond())
        .map(Timestamp)
        .map_err(|_| ApiError::BadRequest(format!("{field}: before 1970")))
}

pub(super) fn duration(v: &serde_json::Value) -> Result<Duration, ApiError> {
    let d = match v {
        serde_json::Value::Number(n) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
            .map(Duration::from_secs_f64),
        serde_json::Value::String(s) => humantime::parse_duration(s.trim()).ok(),
        _ => None,
    };
    d.ok_or_else(|| {
        ApiError::BadRequest(format!(
            "duration: expected seconds or a duration such as 2h or 30m, found {v}"
        ))
    })
}

/// The known hosts a glob matches.
async fn matched(state: &ApiState, pattern: &str) -> Result<Vec<String>, ApiError> {
    let g = glob("hosts", pattern).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let names = ask(state, Query::HostNames).await?;
    Ok(names.into_iter().filter(|n| g.is_match(n)).collect())
}

/// The hosts a new silence over `pattern` is limited to: none for an administrator
/// (the glob reaches every host it matches, now or later, including hosts not yet
/// known); for anyone else the known hosts it matches that they manage, of which there
/// must be one. The answer depends only on hosts the caller may silence, so it reads
/// the same whether or not the glob also matches hosts hidden from them.
async fn scope(
    state: &ApiState,
    caller: &Caller,
    pattern: &str,
) -> Result<Option<Vec<String>>, ApiError> {
    let hosts = matched(state, pattern).await?;
    if caller.sees_all() {
        caller.may(Action::Silence, hosts.first().map(String::as_str))?;
        return Ok(None);
    }
    caller.signed_in()?;
    let mine: Vec<String> = hosts
        .into_iter()
        .filter(|h| caller.may(Action::Silence, Some(h)).is_ok())
        .collect();
    if mine.is_empty() {
        return Err(ApiError::Forbidden(format!(
            "{pattern:?} matches no host you manage (only administrators silence hosts \
             they do not manage, or not yet known)"
        )));
    }
    Ok(Some(mine))
}

/// The hosts a silence over the group `group` (and the glob `pattern`) covers: the
/// group's known members now that the glob matches and the caller may silence, of
/// which there must be one.
async fn group_scope(
    state: &ApiState,
    caller: &Caller,
    pattern: &str,
    group: &str,
) -> Result<Vec<String>, ApiError> {
    if !caller.sees_all() {
        caller.signed_in()?;
    }
    let config = state.config.get();
    let Some(entry) = config.groups.get(group) else {
        return Err(ApiError::BadRequest(format!(
            "group: {group:?} is not a group of the config"
        )));
    };
    let group = entry
        .group(group)
        .map_err(|e| ApiError::BadRequest(format!("group: {e}")))?;
    let labels = state.auth.host_labels();
    let members: Vec<String> = matched(state, pattern)
        .await?
        .into_iter()
        .filter(|h| group.contains(h, labels.get(h).as_deref()))
        .filter(|h| caller.may(Action::Silence, Some(h)).is_ok())
        .collect();
    if members.is_empty() {
        return Err(ApiError::Forbidden(format!(
            "group {:?} has no known member you may silence",
            group.name
        )));
    }
    Ok(members)
}

/// Whether the caller may end `silence`: an administrator may end any; anyone else one
/// limited to hosts they all manage, or (a silence made before silences were limited)
/// one whose glob matches only known hosts they manage. One answer for every refusal.
async fn may_end(state: &ApiState, caller: &Caller, silence: &Silence) -> Result<(), ApiError> {
    if caller.sees_all() {
        return caller.may(Action::Silence, None);
    }
    caller.signed_in()?;
    let hosts = match &silence.only {
        Some(only) => only.clone(),
        None => matched(state, &silence.hosts).await?,
    };
    if hosts.is_empty()
        || hosts
            .iter()
            .any(|h| caller.may(Action::Silence, Some(h)).is_err())
    {
        return Err(ApiError::Forbidden(
            "this silence covers hosts you do not manage; ask an administrator to end it".into(),
        ));
    }
    Ok(())
}

/// Lists the silences whose hosts the caller sees (or that the caller made).
#[utoipa::path(get, path = "/api/0/silences", tag = "silences",
    responses(
        (status = 200, description = "The silences", body = Silences),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Silences>, ApiError> {
    caller.may(Action::View, None)?;
    let (silences, _) = ask(&state, Query::Policy).await?;
    let names = if caller.sees_all() {
        Vec::new()
    } else {
        ask(&state, Query::HostNames).await?
    };
    let now = Timestamp::now();
    let visible = |s: &Silence| {
        if caller.sees_all() || caller.user.as_deref() == Some(s.author.as_str()) {
            return true;
        }
        match &s.only {
            Some(only) => only.iter().any(|h| caller.sees(h)),
            None => glob("hosts", &s.hosts)
                .map(|g| names.iter().any(|n| g.is_match(n) && caller.sees(n)))
                .unwrap_or(false),
        }
    };
    Ok(Json(Silences {
        silences: silences
            .into_iter()
            .filter(visible)
            .map(|mut s| {
                if !caller.sees_all()
                    && let Some(only) = &mut s.only
                {
                    only.retain(|h| caller.sees(h));
                }
                SilenceView::new(s, now)
            })
            .collect(),
    }))
}

/// Creates a silence (an administrator: over every host its glob matches; anyone else:
/// limited to the matched hosts they manage).
#[utoipa::path(post, path = "/api/0/silences", tag = "silences",
    request_body = NewSilence,
    responses(
        (status = 201, description = "In force (or pending until it starts)", body = SilenceView),
        (status = 400, description = "A bad glob, time or duration", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "It matches no host the caller manages, or a cookie request without its CSRF token", body = ErrorBody),
        (status = 422, description = "A body that is not a silence (an unknown field, a wrong type)", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    Body(new): Body<NewSilence>,
) -> Result<(StatusCode, axum::Extension<Changed>, Json<SilenceView>), ApiError> {
    if let Some(p) = &new.paths {
        glob("paths", p).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    }
    let hosts = match (&new.hosts, &new.group) {
        (Some(h), _) => h.clone(),
        (None, Some(_)) => "*".to_owned(),
        (None, None) => {
            return Err(ApiError::BadRequest(
                "hosts: give a glob (web*), or a group".into(),
            ));
        }
    };
    let only = match &new.group {
        Some(group) => Some(group_scope(&state, &caller, &hosts, group).await?),
        None => scope(&state, &caller, &hosts).await?,
    };
    let now = Timestamp::now();
    let starts = match &new.starts {
        Some(t) => time("starts", t)?,
        None => now,
    };
    let ends = match (&new.ends, &new.duration) {
        (Some(t), None) => time("ends", t)?,
        (None, Some(d)) => starts.plus(duration(d)?),
        _ => {
            return Err(ApiError::BadRequest(
                "give either ends (RFC 3339) or duration (seconds, or 2h)".into(),
            ));
        }
    };
    if ends <= starts || ends <= now {
        return Err(ApiError::BadRequest(
            "ends must be after starts and in the future".into(),
        ));
    }
    if ends.since(starts) > MAX_SILENCE {
        return Err(ApiError::BadRequest(
            "a silence lasts at most a year".into(),
        ));
    }
    if new.comment.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "comment: say why (it is shown to everyone who sees the silence)".into(),
        ));
    }
    let silence = Silence {
        id: super::commands::new_id()?,
        hosts,
        paths: new.paths,
        only,
        starts,
        ends,
        comment: new.comment,
        author: caller.user.clone().unwrap_or_else(|| "(open)".into()),
        created: now,
    };
    let command = Command::PutSilence {
        silence: Box::new(silence),
    };
    match ask(&state, |tx| Query::Command(command, tx)).await?? {
        Outcome::Silence { silence } => {
            let made = SilenceView::new(*silence, Timestamp::now());
            Ok((StatusCode::CREATED, Changed::new(&(), &made), Json(made)))
        }
        other => Err(ApiError::Store(format!("unexpected outcome {other:?}"))),
    }
}

/// Ends a silence now: what it held and differs from what was last told is told.
#[utoipa::path(delete, path = "/api/0/silences/{id}", tag = "silences",
    params(("id" = String, Path, description = "The silence's id")),
    responses(
        (status = 200, description = "Ended", body = SilenceView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "It covers hosts the caller does not manage, or a cookie request without its CSRF token", body = ErrorBody),
        (status = 404, description = "No such silence", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn expire(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(id): Segments<String>,
) -> Result<(axum::Extension<Changed>, Json<SilenceView>), ApiError> {
    let (silences, _) = ask(&state, Query::Policy).await?;
    let silence = silences
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("no silence with id {id:?}")))?;
    may_end(&state, &caller, &silence).await?;
    let before = SilenceView::new(silence, Timestamp::now());
    let command = Command::ExpireSilence { id };
    match ask(&state, |tx| Query::Command(command, tx)).await?? {
        Outcome::Silence { silence } => {
            let ended = SilenceView::new(*silence, Timestamp::now());
            Ok((Changed::new(&before, &ended), Json(ended)))
        }
        other => Err(ApiError::Store(format!("unexpected outcome {other:?}"))),
    }
}

/// The latest storm groups, each narrowed to the hosts the caller sees.
#[utoipa::path(get, path = "/api/0/storms", tag = "silences",
    responses(
        (status = 200, description = "The latest grouped messages", body = Storms),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 503, description = "The engine is busy", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn storms(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Storms>, ApiError> {
    caller.may(Action::View, None)?;
    let (_, storms) = ask(&state, Query::Policy).await?;
    let storms = storms
        .into_iter()
        .filter_map(|mut s| {
            if !caller.sees_all() {
                s.items.retain(|i| caller.sees(&i.host));
                s.hosts.retain(|h| caller.sees(h));
                s.count = s.items.len();
            }
            (s.count > 0).then(|| s.into())
        })
        .collect();
    Ok(Json(Storms { storms }))
}
