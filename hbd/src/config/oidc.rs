//! `oidc`: sign-in through an OpenID Connect provider (Keycloak, Authentik, Dex,
//! Entra ID, Google, any certified one) with the authorization code flow and PKCE.
//! Who signs in is named by a claim; what they may do comes from the groups the
//! provider says they are in: administrators by `admin_groups`, roles on host groups
//! by `group_roles`. Decided again at every reload, not frozen at sign-in.

use std::collections::BTreeMap;

/// The scopes asked for when none are configured.
pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// The claim that names the user when none is configured.
pub const DEFAULT_USERNAME_CLAIM: &str = "preferred_username";

/// The claim that lists the user's groups when none is configured.
pub const DEFAULT_GROUPS_CLAIM: &str = "groups";

/// A role a provider group gives on a host group's hosts (the config's word; the
/// directory turns it into the role it decides with).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupRole {
    /// Sees the hosts.
    Monitor,
    /// Also acts on them.
    Manager,
}

/// The provider and how its claims map to users and roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The issuer (`https://id.example.org/realms/ops`): its discovery document is at
    /// `ISSUER/.well-known/openid-configuration`, and ID tokens must name it exactly.
    pub issuer: String,
    /// The client ID registered with the provider (the ID token's audience).
    pub client_id: String,
    /// The client secret; without one hbd is a public client (PKCE only).
    pub client_secret: Option<String>,
    /// Scopes asked for (`openid` always among them).
    pub scopes: Vec<String>,
    /// The claim that names the user (`preferred_username`, `email`, `sub`).
    pub username_claim: String,
    /// The claim listing the user's groups (a list of strings, or one string).
    pub groups_claim: String,
    /// Members of any of these groups are administrators.
    pub admin_groups: Vec<String>,
    /// Provider group -> (host group -> role): members hold the role on the host
    /// group's hosts (manager or monitor).
    pub group_roles: BTreeMap<String, BTreeMap<String, GroupRole>>,
    /// Only members of one of these groups may sign in (empty: anyone the provider
    /// signs in; without roles they see no hosts).
    pub allowed_groups: Vec<String>,
    /// Whether local users may still sign in with a password (`false`: single
    /// sign-on only; API tokens keep working).
    pub password_sign_in: bool,
    /// The sign-in button's text.
    pub label: String,
}

impl OidcConfig {
    /// Whether someone in `groups` is an administrator.
    pub fn is_admin(&self, groups: &[String]) -> bool {
        groups.iter().any(|g| self.admin_groups.contains(g))
    }

    /// Whether someone in `groups` may sign in at all.
    pub fn may_sign_in(&self, groups: &[String]) -> bool {
        self.allowed_groups.is_empty() || groups.iter().any(|g| self.allowed_groups.contains(g))
    }

    /// The roles on host groups someone in `groups` holds (the strongest when several
    /// provider groups name one host group).
    pub fn roles(&self, groups: &[String]) -> BTreeMap<&str, GroupRole> {
        let mut roles: BTreeMap<&str, GroupRole> = BTreeMap::new();
        for group in groups {
            for (host_group, role) in self.group_roles.get(group).into_iter().flatten() {
                let held = roles.entry(host_group).or_insert(*role);
                *held = (*held).max(*role);
            }
        }
        roles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_make_administrators_and_roles_on_host_groups() {
        let config = OidcConfig {
            issuer: "http://127.0.0.1:1".into(),
            client_id: "hbd".into(),
            client_secret: None,
            scopes: vec!["openid".into()],
            username_claim: DEFAULT_USERNAME_CLAIM.into(),
            groups_claim: DEFAULT_GROUPS_CLAIM.into(),
            admin_groups: vec!["hbd-admins".into()],
            group_roles: BTreeMap::from([
                (
                    "ops".into(),
                    BTreeMap::from([("web".into(), GroupRole::Manager)]),
                ),
                (
                    "helpdesk".into(),
                    BTreeMap::from([
                        ("web".into(), GroupRole::Monitor),
                        ("db".into(), GroupRole::Monitor),
                    ]),
                ),
            ]),
            allowed_groups: vec!["staff".into()],
            password_sign_in: true,
            label: "Sign in".into(),
        };
        let g = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // (groups, admin, may sign in, roles)
        type Case<'a> = (&'a [&'a str], bool, bool, &'a [(&'a str, GroupRole)]);
        let cases: [Case; 4] = [
            (&["staff", "hbd-admins"], true, true, &[]),
            (
                &["staff", "helpdesk"],
                false,
                true,
                &[("db", GroupRole::Monitor), ("web", GroupRole::Monitor)],
            ),
            (
                &["staff", "helpdesk", "ops"],
                false,
                true,
                &[("db", GroupRole::Monitor), ("web", GroupRole::Manager)],
            ),
            (&["ops"], false, false, &[("web", GroupRole::Manager)]),
        ];
        for (groups, admin, may, roles) in cases {
            let groups = g(groups);
            assert_eq!(config.is_admin(&groups), admin, "{groups:?}");
            assert_eq!(config.may_sign_in(&groups), may, "{groups:?}");
            let want: BTreeMap<&str, GroupRole> = roles.iter().copied().collect();
            assert_eq!(config.roles(&groups), want, "{groups:?}");
        }
    }
}
