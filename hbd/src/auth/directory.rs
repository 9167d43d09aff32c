//! Who exists and who holds which role on which host: the users and host access the
//! config declares, merged with those made through the API (kept in the store). Pure.
//!
//! The one rule between the two: **what the config declares is read-only through the
//! API; what the API makes lives in the store.** A user named under `users:` cannot be
//! changed or deleted through the API, and a host whose config entry names an `owner`,
//! `managers` or `monitors` has its access edited only in the file. A store entry of
//! the same name as a config entry is ignored (and reported by [`Directory::shadowed`]),
//! so nothing an operator wrote is silently overridden. Hosts with no access of their
//! own belong to `default_owner`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::password::PasswordHash;
use super::roles::{Action, Decision, HostAccess, Role, Subject, can};
use crate::config::oidc::GroupRole;
use crate::config::{Config, UserConfig};

/// Where an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The config file: read-only through the API.
    Config,
    /// Made through the API, kept in the store.
    Store,
    /// Nobody declared it: `default_owner` owns the host.
    Default,
}

/// Who holds which role on one host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessList {
    /// The owner.
    pub owner: Option<String>,
    /// Managers.
    #[serde(default)]
    pub managers: Vec<String>,
    /// Monitors.
    #[serde(default)]
    pub monitors: Vec<String>,
}

/// What the store holds: users and host access made through the API.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stored {
    /// Users by name.
    pub users: BTreeMap<String, UserConfig>,
    /// Access by host name.
    pub access: BTreeMap<String, AccessList>,
}

/// One user and where it is declared.
#[derive(Debug, Clone, PartialEq)]
pub struct UserEntry {
    /// The settings (the password is a hash).
    pub user: UserConfig,
    /// Config or store.
    pub source: Source,
}

/// Where the notifier and the live stream get the directory in force: the auth
/// service's, or (tests, tools) one built from the config alone.
#[derive(Clone)]
pub struct Directories(std::sync::Arc<dyn Fn() -> std::sync::Arc<Directory> + Send + Sync>);

impl Directories {
    /// From a function that returns the directory in force.
    pub fn new(f: impl Fn() -> std::sync::Arc<Directory> + Send + Sync + 'static) -> Directories {
        Directories(std::sync::Arc::new(f))
    }

    /// The config's users and access only (no store).
    pub fn config_only(config: crate::config::SharedConfig) -> Directories {
        Directories::new(move || {
            std::sync::Arc::new(Directory::build(&config.get(), &Stored::default()))
        })
    }

    /// The directory in force now.
    pub fn get(&self) -> std::sync::Arc<Directory> {
        (self.0)()
    }
}

impl std::fmt::Debug for Directories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Directories")
    }
}

/// Users and access in force: config first, then the store.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    users: BTreeMap<String, UserEntry>,
    access: BTreeMap<String, (AccessList, Source)>,
    /// Groups that give their members roles, in name order: hosts without access of
    /// their own take the first that holds them.
    groups: Vec<(hbd_core::groups::Group, AccessList)>,
    /// Every group by name, roles or not (an API token may be limited to some).
    every_group: BTreeMap<String, hbd_core::groups::Group>,
    /// The labels hosts declare (label-defined groups).
    labels: super::labels::HostLabels,
    default_owner: Option<String>,
    shadowed: Vec<String>,
    /// Sign-in through an OpenID Connect provider is configured: the daemon is not
    /// open even before its first user signs in.
    sso: bool,
}

/// Whether a config host entry declares its access.
fn declares_access(h: &crate::config::HostConfig) -> bool {
    h.owner.is_some() || !h.managers.is_empty() || !h.monitors.is_empty()
}

impl Directory {
    /// Whether `other` gives every user the same access as this one (the labels hosts
    /// declare are shared by both): a reload that changed something else keeps the
    /// directory in force, so live clients need not take a new snapshot.
    pub fn same_access(&self, other: &Directory) -> bool {
        self.users == other.users
            && self.access == other.access
            && self.groups == other.groups
            && self.every_group == other.every_group
            && self.default_owner == other.default_owner
            && self.shadowed == other.shadowed
            && self.sso == other.sso
    }

    /// Merges the config's users and access with the store's.
    pub fn build(config: &Config, stored: &Stored) -> Directory {
        let mut shadowed = Vec::new();
        let mut users: BTreeMap<String, UserEntry> = config
            .users
            .iter()
            .map(|(name, user)| {
                let entry = UserEntry {
                    user: user.clone(),
                    source: Source::Config,
                };
                (name.clone(), entry)
            })
            .collect();
        // What the provider's groups give users it signed in: administrators, and
        // roles on host groups (added to those groups' lists below).
        let mut sso_roles: BTreeMap<&str, AccessList> = BTreeMap::new();
        for (name, user) in &stored.users {
            if users.contains_key(name) {
                shadowed.push(format!("users.{name}"));
                continue;
            }
            let mut user = user.clone();
            if let Some(sso) = &user.sso {
                let oidc = config.oidc.as_ref();
                user.admin = oidc.is_some_and(|o| o.is_admin(&sso.groups));
                for (group, role) in oidc.map(|o| o.roles(&sso.groups)).unwrap_or_default() {
                    let list = sso_roles.entry(group).or_default();
                    match role {
                        GroupRole::Manager => list.managers.push(name.clone()),
                        GroupRole::Monitor => list.monitors.push(name.clone()),
                    }
                }
            }
            let entry = UserEntry {
                user,
                source: Source::Store,
            };
            users.insert(name.clone(), entry);
        }
        let mut access: BTreeMap<String, (AccessList, Source)> = config
            .hosts
            .iter()
            .filter(|(_, h)| declares_access(h))
            .map(|(name, h)| {
                let list = AccessList {
                    owner: h.owner.clone(),
                    managers: h.managers.clone(),
                    monitors: h.monitors.clone(),
                };
                (name.clone(), (list, Source::Config))
            })
            .collect();
        for (host, list) in &stored.access {
            if access.contains_key(host) {
                shadowed.push(format!("hosts.{host} (access)"));
                continue;
            }
            access.insert(host.clone(), (list.clone(), Source::Store));
        }
        // The owner of undeclared hosts: default_owner, else the first administrator,
        // config or store.
        let default_owner = config.default_owner.clone().or_else(|| {
            users
                .iter()
                .find(|(_, u)| u.user.admin)
                .map(|(n, _)| n.clone())
        });
        let every_group = config
            .groups
            .iter()
            .filter_map(|(name, g)| Some((name.clone(), g.group(name).ok()?)))
            .collect();
        let groups = config
            .groups
            .iter()
            .filter(|(name, g)| {
                g.owner.is_some()
                    || !g.managers.is_empty()
                    || !g.monitors.is_empty()
                    || sso_roles.contains_key(name.as_str())
            })
            .filter_map(|(name, g)| {
                let group = g.group(name).ok()?;
                let sso = sso_roles.get(name.as_str());
                let list = AccessList {
                    owner: g.owner.clone(),
                    managers: g
                        .managers
                        .iter()
                        .chain(sso.into_iter().flat_map(|l| &l.managers))
                        .cloned()
                        .collect(),
                    monitors: g
                        .monitors
                        .iter()
                        .chain(sso.into_iter().flat_map(|l| &l.monitors))
                        .cloned()
                        .collect(),
                };
                Some((group, list))
            })
            .collect();
        Directory {
            users,
            access,
            groups,
            every_group,
            labels: Default::default(),
            default_owner,
            shadowed,
            sso: config.oidc.is_some(),
        }
    }

    /// The same, reading hosts' labels from `labels`.
    pub fn with_labels(mut self, labels: super::labels::HostLabels) -> Directory {
        self.labels = labels;
        self
    }

    /// No users at all: the daemon is open, everyone acts as an administrator.
    pub fn is_open(&self) -> bool {
        self.users.is_empty() && !self.sso
    }

    /// Store entries ignored because the config declares the same name.
    pub fn shadowed(&self) -> &[String] {
        &self.shadowed
    }

    /// One user.
    pub fn user(&self, name: &str) -> Option<&UserEntry> {
        self.users.get(name)
    }

    /// Every user, by name.
    pub fn users(&self) -> impl Iterator<Item = (&String, &UserEntry)> {
        self.users.iter()
    }

    /// What a login under an unknown name (or a user without a password) is checked
    /// against: a decoy of the method and cost most users' hashes have, so such a login
    /// costs what a typical known one does and the time does not tell the names.
    pub fn decoy(&self) -> PasswordHash {
        let mut by_cost: BTreeMap<String, (usize, PasswordHash)> = BTreeMap::new();
        for (_, u) in self.users() {
            if let Some(h) = u
                .user
                .password
                .as_deref()
                .and_then(|h| PasswordHash::parse(h).ok())
            {
                by_cost.entry(h.cost()).or_insert((0, h)).0 += 1;
            }
        }
        by_cost
            .into_values()
            .max_by_key(|(n, _)| *n)
            .map_or_else(PasswordHash::default_decoy, |(_, h)| h.decoy())
    }

    /// Who owns hosts without access of their own.
    pub fn default_owner(&self) -> Option<&str> {
        self.default_owner.as_deref()
    }

    /// Whether the config defines the group `name`.
    pub fn has_group(&self, name: &str) -> bool {
        self.every_group.contains_key(name)
    }

    /// Whether `host` (with the labels it declares) is a member of the group `name`.
    pub fn in_group(&self, name: &str, host: &str) -> bool {
        self.every_group
            .get(name)
            .is_some_and(|g| g.contains(host, self.labels.get(host).as_deref()))
    }

    /// The access in force on `host` and where it comes from: its own, else the first
    /// group that holds it and gives roles, else `default_owner`.
    pub fn access(&self, host: &str) -> (HostAccess<'_>, Source) {
        let found: Option<(&AccessList, Source)> = match self.access.get(host) {
            Some((list, source)) => Some((list, *source)),
            None if self.groups.is_empty() => None,
            None => {
                let labels = self.labels.get(host);
                self.groups
                    .iter()
                    .find(|(g, _)| g.contains(host, labels.as_deref()))
                    .map(|(_, list)| (list, Source::Config))
            }
        };
        match found {
            Some((list, source)) => (
                HostAccess {
                    owner: list.owner.as_deref(),
                    managers: &list.managers,
                    monitors: &list.monitors,
                },
                source,
            ),
            None => (
                HostAccess {
                    owner: self.default_owner.as_deref(),
                    managers: &[],
                    monitors: &[],
                },
                Source::Default,
            ),
        }
    }

    /// The subject a request acts as: `user` is the signed-in name, if any.
    pub fn subject<'a>(&'a self, user: Option<&'a str>) -> Subject<'a> {
        if self.is_open() {
            return Subject::Open;
        }
        match user.and_then(|n| self.users.get_key_value(n)) {
            Some((name, entry)) => Subject::User {
                name,
                admin: entry.user.admin,
            },
            None => Subject::Anonymous,
        }
    }

    /// Whether `user` (signed in or not) may do `action`, on `host` when it is about
    /// one: [`can`] with the access in force.
    pub fn decide(&self, user: Option<&str>, action: Action, host: Option<&str>) -> Decision {
        let access = host.map(|h| self.access(h).0);
        can(self.subject(user), action, access.as_ref())
    }

    /// The role `user` holds on `host` (administrators: owner).
    pub fn role(&self, user: &str, host: &str) -> Option<Role> {
        let entry = self.users.get(user)?;
        if entry.user.admin {
            return Some(Role::Owner);
        }
        self.access(host).0.role_of(user)
    }

    /// The users who hear about `host`: everyone who may view it.
    pub fn hears_about(&self, host: &str) -> impl Iterator<Item = &UserConfig> {
        self.users
            .iter()
            .filter(move |(name, _)| self.role(name, host).is_some())
            .map(|(_, e)| &e.user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        crate::config::parse(
            "
users:
  ada: {admin: true}
  olga: {}
  moe: {}
hosts:
  web1: {owner: olga, monitors: [moe]}
  db1: {key: '0123456789abcdef0123456789abcdef'}
",
            None,
        )
        .unwrap()
        .config
    }

    #[test]
    fn a_configuration_that_changes_no_ones_access_gives_the_same_access() {
        let base = "
users:
  ada: {admin: true}
  moe: {}
hosts:
  web1: {owner: ada, monitors: [moe]}
groups:
  web: {hosts: ['web*'], monitors: [moe]}
";
        let build = |extra: &str| {
            let config = crate::config::parse(&format!("{base}{extra}"), None)
                .unwrap()
                .config;
            Directory::build(&config, &Stored::default())
        };
        let before = build("");
        // (what the new configuration adds, whether anyone's access is the same)
        let cases = [
            ("grace: 99\n", true),
            ("threshold_renotify_max: 5\n", true),
            ("default_owner: moe\n", false),
        ];
        for (extra, same) in cases {
            assert_eq!(before.same_access(&build(extra)), same, "{extra}");
        }
        let other = crate::config::parse(
            &base.replace("monitors: [moe]}\ngroups", "managers: [moe]}\ngroups"),
            None,
        )
        .unwrap()
        .config;
        assert!(!before.same_access(&Directory::build(&other, &Stored::default())));
        let other = crate::config::parse(&base.replace("'web*'", "'web1*'"), None)
            .unwrap()
            .config;
        assert!(
            !before.same_access(&Directory::build(&other, &Stored::default())),
            "another group pattern"
        );
    }

    #[test]
    fn the_config_wins_and_store_entries_of_its_names_are_reported() {
        let mut stored = Stored::default();
        stored.users.insert(
            "olga".into(),
            UserConfig {
                admin: true,
                ..UserConfig::default()
            },
        );
        stored.users.insert("sam".into(), UserConfig::default());
        stored.access.insert(
            "web1".into(),
            AccessList {
                owner: Some("sam".into()),
                ..AccessList::default()
            },
        );
        stored.access.insert(
            "db1".into(),
            AccessList {
                owner: Some("sam".into()),
                managers: vec!["olga".into()],
                monitors: vec![],
            },
        );
        let d = Directory::build(&config(), &stored);
        assert!(
            !d.user("olga").unwrap().user.admin,
            "the config's olga stands"
        );
        assert_eq!(d.user("sam").unwrap().source, Source::Store);
        assert_eq!(d.shadowed(), ["users.olga", "hosts.web1 (access)"]);
        assert_eq!(d.access("web1").1, Source::Config);
        assert_eq!(d.role("olga", "web1"), Some(Role::Owner));
        assert_eq!(d.role("sam", "db1"), Some(Role::Owner));
        assert_eq!(d.role("olga", "db1"), Some(Role::Manager));
        // Undeclared hosts belong to the first administrator.
        assert_eq!(d.access("new").1, Source::Default);
        assert_eq!(d.access("new").0.owner, Some("ada"));
        assert_eq!(d.role("moe", "new"), None);
        assert_eq!(d.role("ada", "anything"), Some(Role::Owner));
    }

    #[test]
    fn an_unknown_name_is_checked_at_the_cost_most_users_have() {
        let cheap = crate::auth::password::hash("pw", 10).unwrap();
        let dear = crate::auth::password::hash("pw", 1000).unwrap();
        let text = format!(
            "users:\n  a: {{password: '{cheap}'}}\n  b: {{password: '{dear}'}}\n  c: {{password: '{dear}'}}\n  d: {{}}\n"
        );
        let config = crate::config::parse(&text, None).unwrap().config;
        let d = Directory::build(&config, &Stored::default());
        assert_eq!(d.decoy().cost(), "pbkdf2:sha256:1000");
        let none = Directory::build(&self::config(), &Stored::default());
        assert_eq!(
            none.decoy().cost(),
            "scrypt:32768:8:1",
            "no hashes: Werkzeug's default"
        );
    }

    #[test]
    fn decisions_follow_the_merged_access() {
        let d = Directory::build(&config(), &Stored::default());
        assert_eq!(
            d.decide(Some("moe"), Action::View, Some("web1")),
            Decision::Allow
        );
        assert_eq!(
            d.decide(Some("moe"), Action::DropHost, Some("web1")),
            Decision::Forbidden
        );
        assert_eq!(
            d.decide(Some("moe"), Action::View, Some("db1")),
            Decision::Hidden
        );
        assert_eq!(
            d.decide(Some("ghost"), Action::View, Some("web1")),
            Decision::Unauthenticated,
            "a name that no longer exists signs nobody in"
        );
        assert_eq!(
            d.decide(None, Action::View, None),
            Decision::Unauthenticated
        );
        let open = Directory::build(&Config::default(), &Stored::default());
        assert!(open.is_open());
        assert_eq!(
            open.decide(None, Action::ManageUsers, None),
            Decision::Allow
        );
        let hear: Vec<_> = d.hears_about("web1").collect();
        assert_eq!(hear.len(), 3, "ada (admin), olga (owner), moe (monitor)");
    }

    /// A host without access of its own takes the first group (by name) that holds it
    /// and names roles: by name pattern at once, by label once the host declares it.
    #[test]
    fn groups_give_roles_to_hosts_without_their_own() {
        let config = crate::config::parse(
            "
users:
  ada: {admin: true}
  olga: {}
  moe: {}
groups:
  a-web: {labels: {role: web}, owner: olga}
  b-all: {hosts: ['*'], monitors: [moe]}
hosts:
  own1: {owner: ada}
",
            None,
        )
        .unwrap()
        .config;
        let labels = super::super::labels::HostLabels::default();
        let d = Directory::build(&config, &Stored::default()).with_labels(labels.clone());
        let role = |host: &str, user: &str| d.role(user, host);
        // (host, olga's role, moe's role) before lab1 declares its labels
        assert_eq!(role("lab1", "olga"), None);
        assert_eq!(role("lab1", "moe"), Some(Role::Monitor), "b-all by pattern");
        assert_eq!(role("own1", "moe"), None, "its own access wins");
        let web: crate::model::Labels = [("role".to_owned(), "web".to_owned())].into();
        labels.set("lab1", Some(&std::sync::Arc::new(web)));
        assert_eq!(
            role("lab1", "olga"),
            Some(Role::Owner),
            "a-web by label, first"
        );
        assert_eq!(
            role("lab1", "moe"),
            None,
            "the first group that holds it decides"
        );
        assert_eq!(
            d.decide(Some("olga"), Action::View, Some("lab2")),
            Decision::Hidden,
            "no labels, no role"
        );
        labels.set("lab1", None);
        assert_eq!(role("lab1", "olga"), None);
    }
    /// Users the OpenID Connect provider signed in take administrators and roles on
    /// host groups from their groups, as the config maps them now (a reload changes
    /// them without a new sign-in); with a provider configured the daemon is never open.
    #[test]
    fn the_providers_groups_give_administrators_and_roles_on_host_groups() {
        let text = |ops_role: &str| {
            format!(
                "
public_url: http://127.0.0.1:8080
groups:
  web: {{hosts: ['web*']}}
  db: {{hosts: ['db*']}}
oidc:
  issuer: http://127.0.0.1:9000
  client_id: hbd
  admin_groups: [admins]
  group_roles:
    ops: {{web: {ops_role}}}
    dba: {{db: manager}}
"
            )
        };
        let build = |config: &str, stored: &Stored| {
            let config = crate::config::parse(config, None).unwrap().config;
            Directory::build(&config, stored)
        };
        assert!(!build(&text("manager"), &Stored::default()).is_open());
        let sso = |groups: &[&str]| UserConfig {
            sso: Some(crate::config::SsoIdentity {
                issuer: "http://127.0.0.1:9000".into(),
                subject: "s".into(),
                groups: groups.iter().map(|g| g.to_string()).collect(),
            }),
            ..UserConfig::default()
        };
        let mut stored = Stored::default();
        stored.users.insert("olga".into(), sso(&["ops"]));
        stored.users.insert("dora".into(), sso(&["ops", "dba"]));
        stored.users.insert("ada".into(), sso(&["admins"]));
        let mut sneaky = sso(&[]);
        sneaky.admin = true;
        stored.users.insert("sam".into(), sneaky);
        let d = build(&text("manager"), &stored);
        // (user, host, role)
        let cases = [
            ("olga", "web1", Some(Role::Manager)),
            ("olga", "db1", None),
            ("dora", "web1", Some(Role::Manager)),
            ("dora", "db1", Some(Role::Manager)),
            ("ada", "db1", Some(Role::Owner)),
            ("sam", "web1", None),
        ];
        for (user, host, role) in cases {
            assert_eq!(d.role(user, host), role, "{user} on {host}");
        }
        assert!(d.user("ada").unwrap().user.admin);
        assert!(
            !d.user("sam").unwrap().user.admin,
            "a provider's user is an administrator by its groups only"
        );
        let d = build(&text("monitor"), &stored);
        assert_eq!(
            d.role("olga", "web1"),
            Some(Role::Monitor),
            "after a reload"
        );
    }
}
