//! Reading `oidc`: the OpenID Connect provider, the client hbd is registered as, and
//! how the provider's groups map to administrators and roles on host groups.

use std::collections::BTreeMap;

use serde_norway::Value;

use hb_problems::keys::{Reload, read_map};

use super::Reader;
use super::keys::KeySpec;
use crate::config::oidc::{
    DEFAULT_GROUPS_CLAIM, DEFAULT_SCOPES, DEFAULT_USERNAME_CLAIM, GroupRole, OidcConfig,
};

/// Keys of `oidc` (applied at a reload: the next sign-in uses them).
pub(in crate::config) static OIDC: &[KeySpec<OidcConfig>] = &[
    KeySpec {
        name: "issuer",
        reload: Reload::Live,
        read: |r, c, p, v| {
            if let Some(url) = r.http_url(p, v) {
                c.issuer = url.trim_end_matches('/').to_owned();
            }
        },
    },
    KeySpec {
        name: "client_id",
        reload: Reload::Live,
        read: |r, c, p, v| {
            if let Some(id) = r.string(p, v) {
                c.client_id = id;
            }
        },
    },
    KeySpec {
        name: "client_secret",
        reload: Reload::Live,
        read: |r, c, p, v| c.client_secret = r.secret(p, v, Reader::string),
    },
    KeySpec {
        name: "scopes",
        reload: Reload::Live,
        read: |r, c, p, v| {
            if let Some(mut scopes) = r.string_list(p, v) {
                if !scopes.iter().any(|s| s == "openid") {
                    scopes.insert(0, "openid".into());
                }
                c.scopes = scopes;
            }
        },
    },
    KeySpec {
        name: "username_claim",
        reload: Reload::Live,
        read: |r, c, p, v| {
            if let Some(claim) = r.string(p, v) {
                c.username_claim = claim;
            }
        },
    },
    KeySpec {
        name: "groups_claim",
        reload: Reload::Live,
        read: |r, c, p, v| {
            if let Some(claim) = r.string(p, v) {
                c.groups_claim = claim;
            }
        },
    },
    KeySpec {
        name: "admin_groups",
        reload: Reload::Live,
        read: |r, c, p, v| c.admin_groups = r.string_list(p, v).unwrap_or_default(),
    },
    KeySpec {
        name: "allowed_groups",
        reload: Reload::Live,
        read: |r, c, p, v| c.allowed_groups = r.string_list(p, v).unwrap_or_default(),
    },
    KeySpec {
        name: "group_roles",
        reload: Reload::Live,
        read: |r, c, p, v| c.group_roles = r.group_roles(p, v),
    },
    KeySpec {
        name: "password_sign_in",
        reload: Reload::Live,
        read: |r, c, p, v| {
            if let Some(b) = r.boolean(p, v) {
                c.password_sign_in = b;
            }
        },
    },
    KeySpec {
        name: "label",
        reload: Reload::Live,
        read: |r, c, p, v| {
            if let Some(label) = r.string(p, v) {
                c.label = label;
            }
        },
    },
];

impl Reader {
    /// `oidc: {issuer, client_id, ...}`.
    pub(super) fn oidc(&mut self, v: &Value) -> Option<OidcConfig> {
        let map = self.section("oidc", v, &["issuer", "client_id"])?;
        let mut oidc = OidcConfig {
            issuer: String::new(),
            client_id: String::new(),
            client_secret: None,
            scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
            username_claim: DEFAULT_USERNAME_CLAIM.into(),
            groups_claim: DEFAULT_GROUPS_CLAIM.into(),
            admin_groups: Vec::new(),
            group_roles: BTreeMap::new(),
            allowed_groups: Vec::new(),
            password_sign_in: true,
            label: "Sign in with single sign-on".into(),
        };
        read_map(self, OIDC, &mut oidc, &["oidc"], map).then_some(oidc)
    }

    /// `group_roles: {PROVIDER_GROUP: {HOST_GROUP: manager|monitor}}`.
    fn group_roles(
        &mut self,
        path: &[&str],
        v: &Value,
    ) -> BTreeMap<String, BTreeMap<String, GroupRole>> {
        let mut out = BTreeMap::new();
        let Some(map) = self.mapping(path, v) else {
            return out;
        };
        for (group, roles) in map {
            let Some(group) = group.as_str() else {
                self.error(path, "expected provider group names as keys");
                continue;
            };
            let at: Vec<&str> = path.iter().copied().chain([group]).collect();
            let Some(roles) = self.mapping(&at, roles) else {
                continue;
            };
            let mut held = BTreeMap::new();
            for (host_group, role) in roles {
                let (Some(host_group), Some(role)) = (host_group.as_str(), role.as_str()) else {
                    self.error(&at, "expected HOST_GROUP: manager or monitor");
                    continue;
                };
                match role {
                    "manager" => {
                        held.insert(host_group.to_owned(), GroupRole::Manager);
                    }
                    "monitor" => {
                        held.insert(host_group.to_owned(), GroupRole::Monitor);
                    }
                    other => self.error(
                        &at,
                        format!(
                            "`{other}` is not a role a group gives; expected manager or monitor (administrators come from admin_groups)"
                        ),
                    ),
                }
            }
            out.insert(group.to_owned(), held);
        }
        out
    }
}
