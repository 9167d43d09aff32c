//! Users: administrators list, create, change and delete them; everyone reads and
//! changes their own name, password and notification settings. Users the config
//! declares are read-only here (409 `config_managed`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::Changed;
use super::caller::{Caller, Via};
use super::error::ErrorBody;
use super::extract::{Body, Segments};
use super::{ApiError, ApiState};
use crate::auth::directory::{Source, UserEntry};
use crate::auth::password::{self, PasswordHash};
use crate::auth::roles::Action;
use crate::config::{NOTIFICATION_CHANNELS, UserConfig};

/// A user as the API shows it (never the password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    name: String,
    full_name: Option<String>,
    avatar: Option<String>,
    admin: bool,
    email: Option<String>,
    pushover_user: Option<String>,
    signal_number: Option<String>,
    mattermost_channel: Option<String>,
    /// Channels that reach this user: any of email, pushover, mattermost, signal.
    notification_channels: Vec<String>,
    /// Whether the user can sign in (has a password).
    has_password: bool,
    /// `config`: declared in the config file, read-only here; `store`: made through
    /// the API.
    source: Source,
}

impl UserView {
    /// The view of one directory entry.
    pub fn new(name: &str, entry: &UserEntry) -> UserView {
        let u = &entry.user;
        UserView {
            name: name.to_owned(),
            full_name: u.full_name.clone(),
            avatar: u.avatar.clone(),
            admin: u.admin,
            email: u.email.clone(),
            pushover_user: u.pushover_user.clone(),
            signal_number: u.signal_number.clone(),
            mattermost_channel: u.mattermost_channel.clone(),
            notification_channels: u.notification_channels.clone(),
            has_password: u.password.is_some(),
            source: entry.source,
        }
    }
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Letters, digits and `._@-`, 1 to 64, starting with a letter or digit.
    #[schema(pattern = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")]
    name: String,
    /// At least 8 characters; absent: the user cannot sign in (notifications only).
    #[schema(min_length = 8, max_length = 1024)]
    password: Option<String>,
    full_name: Option<String>,
    avatar: Option<String>,
    #[serde(default)]
    admin: bool,
    email: Option<String>,
    pushover_user: Option<String>,
    signal_number: Option<String>,
    mattermost_channel: Option<String>,
    /// Any of email, pushover, mattermost, signal.
    #[serde(default)]
    #[schema(inline, value_type = Vec<ChannelName>)]
    notification_channels: Vec<String>,
}

/// A notification channel.
#[derive(Debug, ToSchema)]
#[schema(as = ChannelName)]
#[allow(dead_code)] // documents the accepted values only
pub enum ChannelName {
    /// Email.
    #[schema(rename = "email")]
    Email,
    /// Pushover.
    #[schema(rename = "pushover")]
    Pushover,
    /// Mattermost.
    #[schema(rename = "mattermost")]
    Mattermost,
    /// Signal.
    #[schema(rename = "signal")]
    Signal,
}

/// Changes to a user; absent fields stay, an empty string clears a text field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// The new password (at least 8 characters). Changing it ends the user's other
    /// sessions and tokens.
    #[schema(min_length = 8, max_length = 1024)]
    password: Option<String>,
    /// Required when changing your own password.
    current_password: Option<String>,
    full_name: Option<String>,
    avatar: Option<String>,
    /// Administrators only.
    admin: Option<bool>,
    email: Option<String>,
    pushover_user: Option<String>,
    signal_number: Option<String>,
    mattermost_channel: Option<String>,
    /// Any of email, pushover, mattermost, signal.
    #[schema(value_type = Option<Vec<ChannelName>>)]
    notification_channels: Option<Vec<String>>,
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ApiError::Unprocessable(format!(
            "user name {name:?}: use 1 to 64 letters, digits and ._@-, starting with a letter or digit"
        )))
    }
}

fn check_channels(channels: &[String]) -> Result<(), ApiError> {
    match channels
        .iter()
        .find(|c| !NOTIFICATION_CHANNELS.contains(&c.as_str()))
    {
        Some(c) => Err(ApiError::Unprocessable(format!(
            "unknown notification channel {c:?}; expected any of {}",
            NOTIFICATION_CHANNELS.join(", ")
        ))),
        None => Ok(()),
    }
}

async fn hash(password: String) -> Result<String, ApiError> {
    let n = password.chars().count();
    if !(8..=1024).contains(&n) {
        return Err(ApiError::Unprocessable(
            "a password needs 8 to 1024 characters".into(),
        ));
    }
    tokio::task::spawn_blocking(move || password::hash_scrypt(&password))
        .await
        .map_err(|e| ApiError::Store(e.to_string()))?
        .map_err(|e| ApiError::Store(format!("no random salt: {e}")))
}

fn text(value: Option<String>) -> Option<String> {
    value.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn view(state: &ApiState, name: &str) -> Result<UserView, ApiError> {
    let directory = state.auth.directory();
    directory
        .user(name)
        .map(|e| UserView::new(name, e))
        .ok_or_else(|| ApiError::NotFound(format!("no user named {name:?}")))
}

/// Every user (administrators).
#[utoipa::path(get, path = "/api/0/users", tag = "users",
    responses(
        (status = 200, description = "Every user, by name", body = Vec<UserView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn list(caller: Caller) -> Result<Json<Vec<UserView>>, ApiError> {
    caller.may(Action::ManageUsers, None)?;
    Ok(Json(
        caller
            .directory
            .users()
            .map(|(name, e)| UserView::new(name, e))
            .collect(),
    ))
}

/// Creates a user in the store (administrators).
#[utoipa::path(post, path = "/api/0/users", tag = "users",
    request_body = NewUser,
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator, or a cookie request without its CSRF token", body = ErrorBody),
        (status = 409, description = "The name is taken (in the store or the config)", body = ErrorBody),
        (status = 422, description = "Bad name, password or channel", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    Body(new): Body<NewUser>,
) -> Result<(StatusCode, axum::Extension<Changed>, Json<UserView>), ApiError> {
    caller.may(Action::ManageUsers, None)?;
    check_name(&new.name)?;
    check_channels(&new.notification_channels)?;
    let password = match new.password {
        Some(p) => Some(hash(p).await?),
        None => None,
    };
    let user = UserConfig {
        full_name: text(new.full_name),
        avatar: text(new.avatar),
        password,
        admin: new.admin,
        email: text(new.email),
        pushover_user: text(new.pushover_user),
        signal_number: text(new.signal_number),
        mattermost_channel: text(new.mattermost_channel),
        notification_channels: new.notification_channels,
        sso: None,
    };
    state.auth.create_user(&new.name, user).await?;
    tracing::info!(user = new.name, by = caller.user.as_deref(), "user created");
    let after = view(&state, &new.name)?;
    Ok((StatusCode::CREATED, Changed::new(&(), &after), Json(after)))
}

/// The caller may see `name`: administrators see everyone, others themselves.
fn may_see(caller: &Caller, name: &str) -> Result<(), ApiError> {
    if caller.user.as_deref() == Some(name) {
        return Ok(());
    }
    caller.may(Action::ManageUsers, None)
}

/// One user (administrators, or the user themselves).
#[utoipa::path(get, path = "/api/0/users/{name}", tag = "users",
    params(("name" = String, Path, description = "The user name")),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Another user, and not an administrator", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn one(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<Json<UserView>, ApiError> {
    may_see(&caller, &name)?;
    Ok(Json(view(&state, &name)?))
}

/// Changes a user made through the API: administrators change anything; users change
/// their own name, avatar, password and notification settings.
#[utoipa::path(patch, path = "/api/0/users/{name}", tag = "users",
    params(("name" = String, Path, description = "The user name")),
    request_body = UserPatch,
    responses(
        (status = 200, description = "Changed", body = UserView),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Not signed in, or the current password is wrong", body = ErrorBody),
        (status = 403, description = "Not allowed (another user, or `admin` without being one)", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "The config declares this user: change the file", body = ErrorBody),
        (status = 422, description = "Bad password or channel", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn update(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
    Body(patch): Body<UserPatch>,
) -> Result<(axum::Extension<Changed>, Json<UserView>), ApiError> {
    may_see(&caller, &name)?;
    let own = caller.user.as_deref() == Some(name.as_str());
    if own {
        caller.unlimited()?;
    }
    if patch.admin.is_some() {
        caller.may(Action::ManageUsers, None)?;
    }
    let entry = caller
        .directory
        .user(&name)
        .ok_or_else(|| ApiError::NotFound(format!("no user named {name:?}")))?;
    if entry.source == Source::Config {
        return Err(ApiError::ConfigManaged(format!(
            "user `{name}` is declared in the config file; change it there"
        )));
    }
    // What the audit log keeps as before (the view shows no password).
    let before = UserView::new(&name, entry);
    let mut user = entry.user.clone();
    if let Some(channels) = &patch.notification_channels {
        check_channels(channels)?;
    }
    let new_password = match patch.password {
        None => None,
        Some(p) => {
            if own {
                let current = patch.current_password.unwrap_or_default();
                let stored = user.password.clone();
                let ok = tokio::task::spawn_blocking(move || {
                    stored
                        .and_then(|h| PasswordHash::parse(&h).ok())
                        .is_some_and(|h| h.verify(&current))
                })
                .await
                .unwrap_or(false);
                if !ok {
                    return Err(ApiError::Unauthenticated(
                        "current_password is wrong or missing".into(),
                    ));
                }
            }
            Some(hash(p).await?)
        }
    };
    let set = |field: &mut Option<String>, value: Option<String>| {
        if let Some(v) = value {
            *field = text(Some(v));
        }
    };
    set(&mut user.full_name, patch.full_name);
    set(&mut user.avatar, patch.avatar);
    set(&mut user.email, patch.email);
    set(&mut user.pushover_user, patch.pushover_user);
    set(&mut user.signal_number, patch.signal_number);
    set(&mut user.mattermost_channel, patch.mattermost_channel);
    if let Some(channels) = patch.notification_channels {
        user.notification_channels = channels;
    }
    if let Some(admin) = patch.admin {
        user.admin = admin;
    }
    let password_changed = new_password.is_some();
    if let Some(p) = new_password {
        user.password = Some(p);
    }
    state.auth.update_user(&name, user).await?;
    if password_changed {
        let keep = match &caller.via {
            Via::Bearer(s) | Via::Cookie(s) if own => Some(s.as_str()),
            _ => None,
        };
        state.auth.end_user_sessions(&name, keep).await?;
    }
    let after = view(&state, &name)?;
    Ok((Changed::new(&before, &after), Json(after)))
}

/// Deletes a user made through the API, with their sessions, tokens and roles
/// (administrators).
#[utoipa::path(delete, path = "/api/0/users/{name}", tag = "users",
    params(("name" = String, Path, description = "The user name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "The config declares this user: change the file", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []), ()))]
pub async fn delete(
    State(state): State<ApiState>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<(StatusCode, axum::Extension<Changed>), ApiError> {
    caller.may(Action::ManageUsers, None)?;
    let before = view(&state, &name).ok();
    state.auth.delete_user(&name).await?;
    tracing::info!(user = name, by = caller.user.as_deref(), "user deleted");
    Ok((StatusCode::NO_CONTENT, Changed::new(&before, &())))
}
