//! Who may do what: the one pure decision every handler, the live stream and the
//! notification routing ask. Roles are per host (monitor < manager < owner); an
//! administrator is owner of every host and may also manage users and reload the
//! config. With no users configured everything is open, as before users existed.
//!
//! A host the user holds no role on answers [`Decision::Hidden`] (404), not 403, so host
//! names do not leak.

use serde::Serialize;

/// A role on one host, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sees status, plugin data and alerts.
    Monitor,
    /// Monitor, plus queues commands, triggers DNS updates and queues upgrades.
    Manager,
    /// Manager, plus drops the host, transfers ownership and edits access.
    Owner,
}

/// Something a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read a host's state, plugins, alerts and access list.
    View,
    /// Queue a command to the host's agent.
    QueueCommand,
    /// Trigger the host's DNS update.
    TriggerDns,
    /// Queue an agent upgrade.
    QueueUpgrade,
    /// Clear one of the host's alerts.
    ClearAlert,
    /// Acknowledge one of the host's problems (an alert, the host DOWN), or take that
    /// back.
    Acknowledge,
    /// Silence the host's notifications for a while, or end such a silence.
    Silence,
    /// Forget the host.
    DropHost,
    /// Set which managed plugins the host runs of its own, and how its collectors run.
    ManagePlugins,
    /// Give the host to another owner.
    TransferOwnership,
    /// Change who holds which role on the host.
    EditAccess,
    /// Create, change or delete users (not on a host).
    ManageUsers,
    /// Reload the configuration (not on a host).
    ReloadConfig,
    /// Read `/metrics` and the rejected senders (`/api/0/rejects`), which name every
    /// host (not on a host).
    ReadMetrics,
    /// Make enrolment tokens, and approve or revoke the keys agents enrolled (not on a
    /// host: a key decides which agent speaks for a name at all).
    ManageKeys,
    /// List the notification channels and send a test through one (not on a host).
    TestNotify,
}

impl Action {
    /// What can be done to one host, each with the name the API shows it by (the host's
    /// `may` list, which pages use to offer only what the user may do).
    pub const ON_HOST: [(Action, &'static str); 10] = [
        (Action::ClearAlert, "clear_alert"),
        (Action::Acknowledge, "acknowledge"),
        (Action::Silence, "silence"),
        (Action::QueueCommand, "queue_command"),
        (Action::TriggerDns, "trigger_dns"),
        (Action::QueueUpgrade, "queue_upgrade"),
        (Action::ManagePlugins, "manage_plugins"),
        (Action::DropHost, "drop_host"),
        (Action::TransferOwnership, "transfer_ownership"),
        (Action::EditAccess, "edit_access"),
    ];

    /// The weakest role that may do this on a host; `None` for what only administrators
    /// may do.
    pub fn needs(self) -> Option<Role> {
        match self {
            Action::View => Some(Role::Monitor),
            Action::QueueCommand
            | Action::TriggerDns
            | Action::QueueUpgrade
            | Action::ClearAlert
            | Action::Acknowledge
            | Action::Silence
            | Action::ManagePlugins => Some(Role::Manager),
            Action::DropHost | Action::TransferOwnership | Action::EditAccess => Some(Role::Owner),
            Action::ManageUsers
            | Action::ReloadConfig
            | Action::ReadMetrics
            | Action::ManageKeys
            | Action::TestNotify => None,
        }
    }
}

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// No users are configured: the daemon is open.
    Open,
    /// Users exist, and this request carries no valid session or token.
    Anonymous,
    /// A signed-in user.
    User {
        /// The name.
        name: &'a str,
        /// Whether the user is an administrator.
        admin: bool,
    },
}

/// Who holds which role on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostAccess<'a> {
    /// The owner (the configured one, else `default_owner`, else the first admin).
    pub owner: Option<&'a str>,
    /// Managers.
    pub managers: &'a [String],
    /// Monitors.
    pub monitors: &'a [String],
}

impl HostAccess<'_> {
    /// The strongest role `user` holds on the host.
    pub fn role_of(&self, user: &str) -> Option<Role> {
        if self.owner == Some(user) {
            Some(Role::Owner)
        } else if self.managers.iter().any(|m| m == user) {
            Some(Role::Manager)
        } else if self.monitors.iter().any(|m| m == user) {
            Some(Role::Monitor)
        } else {
            None
        }
    }
}

/// What to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// 401: sign in first.
    Unauthenticated,
    /// 403: the user sees the host (or is signed in) but may not do this.
    Forbidden,
    /// 404: the user holds no role on the host; it must look like it does not exist.
    Hidden,
}

/// Whether `subject` may do `action`, on `host` when the action is about one.
pub fn can(subject: Subject<'_>, action: Action, host: Option<&HostAccess<'_>>) -> Decision {
    let (name, admin) = match subject {
        Subject::Open => return Decision::Allow,
        Subject::Anonymous => return Decision::Unauthenticated,
        Subject::User { name, admin } => (name, admin),
    };
    if admin {
        return Decision::Allow;
    }
    let Some(needed) = action.needs() else {
        return Decision::Forbidden;
    };
    let Some(host) = host else {
        // A host action without a host (a listing): each host is filtered on its own.
        return Decision::Allow;
    };
    match host.role_of(name) {
        None => Decision::Hidden,
        Some(role) if role >= needed => Decision::Allow,
        Some(_) => Decision::Forbidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_matrix() {
        let managers = vec!["mia".to_owned()];
        let monitors = vec!["moe".to_owned()];
        let web1 = HostAccess {
            owner: Some("olga"),
            managers: &managers,
            monitors: &monitors,
        };
        let user = |name| Subject::User { name, admin: false };
        let admin = Subject::User {
            name: "ada",
            admin: true,
        };
        use Action::*;
        use Decision::*;
        // (who, [View, QueueCommand, ClearAlert, DropHost, EditAccess, ManageUsers, ReloadConfig])
        let actions = [
            View,
            QueueCommand,
            ClearAlert,
            DropHost,
            EditAccess,
            ManageUsers,
            ReloadConfig,
        ];
        let cases: &[(&str, Subject<'_>, [Decision; 7])] = &[
            ("no users configured", Subject::Open, [Allow; 7]),
            ("anonymous", Subject::Anonymous, [Unauthenticated; 7]),
            (
                "monitor",
                user("moe"),
                [
                    Allow, Forbidden, Forbidden, Forbidden, Forbidden, Forbidden, Forbidden,
                ],
            ),
            (
                "manager",
                user("mia"),
                [
                    Allow, Allow, Allow, Forbidden, Forbidden, Forbidden, Forbidden,
                ],
            ),
            (
                "owner",
                user("olga"),
                [Allow, Allow, Allow, Allow, Allow, Forbidden, Forbidden],
            ),
            (
                "another host's owner",
                user("otto"),
                [Hidden, Hidden, Hidden, Hidden, Hidden, Forbidden, Forbidden],
            ),
            ("admin", admin, [Allow; 7]),
        ];
        for (who, subject, want) in cases {
            for (action, want) in actions.iter().zip(want) {
                let host = action.needs().map(|_| &web1);
                assert_eq!(can(*subject, *action, host), *want, "{who} {action:?}");
            }
        }
    }

    #[test]
    fn roles_are_ordered_and_the_strongest_counts() {
        assert!(Role::Monitor < Role::Manager && Role::Manager < Role::Owner);
        let both = vec!["x".to_owned()];
        let access = HostAccess {
            owner: None,
            managers: &both,
            monitors: &both,
        };
        assert_eq!(access.role_of("x"), Some(Role::Manager));
        assert_eq!(access.role_of("y"), None);
    }
}
