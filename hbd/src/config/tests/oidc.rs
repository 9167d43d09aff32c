//! `oidc`: what it needs, what it maps, and each mistake named by key, file and line.

use super::*;

#[test]
fn oidc_is_read_with_its_defaults_and_its_secret_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("client-secret"), "s3cret\n").unwrap();
    let path = dir.path().join("hbd.yaml");
    std::fs::write(
        &path,
        "public_url: https://hbd.example.org
groups:
  web: {hosts: ['web*']}
oidc:
  issuer: https://id.example.org/realms/ops/
  client_id: hbd
  client_secret: {file: client-secret}
  scopes: [profile, groups]
  group_roles:
    ops: {web: manager}
",
    )
    .unwrap();
    let c = crate::config::load(Some(&path)).unwrap().config;
    let o = c.oidc.unwrap();
    assert_eq!(
        o.issuer, "https://id.example.org/realms/ops",
        "no trailing /"
    );
    assert_eq!(o.client_secret.as_deref(), Some("s3cret"));
    assert_eq!(
        o.scopes,
        ["openid", "profile", "groups"],
        "openid always asked"
    );
    assert_eq!(o.username_claim, "preferred_username");
    assert_eq!(o.groups_claim, "groups");
    assert!(o.password_sign_in);
    assert_eq!(
        o.roles(&["ops".into()]).get("web"),
        Some(&crate::config::oidc::GroupRole::Manager)
    );
}

#[test]
fn oidc_mistakes_name_the_key() {
    let base = "public_url: https://hbd.example.org\ngroups:\n  web: {hosts: ['web*']}\n";
    let cases = [
        (
            "oidc: {issuer: https://id.example.org, client_id: hbd}\n".to_owned(),
            "hbd.yaml:1: error: oidc: needs public_url",
        ),
        (
            format!("{base}oidc: {{client_id: hbd}}\n"),
            "oidc: needs `issuer`",
        ),
        (
            format!("{base}oidc: {{issuer: id.example.org, client_id: hbd}}\n"),
            "oidc.issuer: expected an http:// or https:// URL",
        ),
        (
            format!(
                "{base}oidc: {{issuer: https://id.example.org, client_id: hbd, group_roles: {{ops: {{db: manager}}}}}}\n"
            ),
            "oidc.group_roles.ops: names group `db`, which groups does not define",
        ),
        (
            format!(
                "{base}oidc: {{issuer: https://id.example.org, client_id: hbd, group_roles: {{ops: {{web: owner}}}}}}\n"
            ),
            "`owner` is not a role a group gives; expected manager or monitor",
        ),
        (
            format!("{base}oidc: {{issuer: https://id.example.org, client_id: hbd, scope: [x]}}\n"),
            "oidc.scope",
        ),
    ];
    let cases: Vec<(&str, &str)> = cases.iter().map(|(t, w)| (t.as_str(), *w)).collect();
    assert_each_reported(&cases);
}
