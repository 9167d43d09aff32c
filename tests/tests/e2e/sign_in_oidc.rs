//! Single sign-on through a real OpenID Provider (npm's certified `oidc-provider`,
//! `tests/services/oidc_provider.mjs`) in headless Chromium: the provider's groups make
//! an administrator and a manager of one host group; someone outside `allowed_groups`
//! is refused; a tampered ID token, one for another audience, an expired one and a
//! replayed callback are all refused and sign nobody in; every callback is audited;
//! `password_sign_in: false` turns local passwords off.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use hbd_e2e::browser::browser;
use hbd_e2e::needs::Need;
use hbd_e2e::oidc_provider::OidcProvider;
use hbd_e2e::{Daemon, password_hash, wait_until};

const SECRET: &str = "hbd-client-secret-for-tests";

fn config(hash: &str, oidc: &str) -> String {
    format!(
        "users:
  root: {{admin: true, password: '{hash}'}}
groups:
  web: {{hosts: ['web*']}}
{oidc}"
    )
}

fn oidc(daemon: &Daemon, issuer: &str, passwords: bool) -> String {
    format!(
        "public_url: http://{addr}
oidc:
  issuer: {issuer}
  client_id: hbd
  client_secret: {{file: oidc-secret}}
  scopes: [openid, profile, email, groups]
  admin_groups: [hbd-admins]
  group_roles:
    ops: {{web: manager}}
  allowed_groups: [staff]
  password_sign_in: {passwords}
  label: Sign in with Test ID
",
        addr = daemon.http_addr()
    )
}

/// Signs in as `login` at the provider; the browser's report.
fn sign_in(daemon: &Daemon, login: &str, replay: bool) -> serde_json::Value {
    let hbd = format!("http://{}", daemon.http_addr());
    let mut args = vec![hbd.as_str(), login];
    if replay {
        args.push("replay");
    }
    let out = browser("oidc.mjs", &args, &[]);
    assert_eq!(out["problems"], serde_json::json!([]), "{out}");
    assert_eq!(out["button"], "Sign in with Test ID", "{out}");
    out
}

#[test]
fn the_providers_people_sign_in_with_the_roles_their_groups_give_and_bad_tokens_are_refused() {
    hbd_e2e::require!(Need::OidcProvider);
    let dir = tempfile::tempdir().unwrap();
    let hash = password_hash("correct horse battery");
    let daemon = Daemon::start(dir.path(), &config(&hash, ""));
    for host in ["web1", "db1"] {
        daemon.heartbeat_and_cpu(host, 5.0);
    }
    let root = format!("Bearer {}", daemon.login("root", "correct horse battery"));
    assert!(wait_until(Duration::from_secs(10), || {
        let hosts = daemon.call("GET", "/api/0/hosts", &[("Authorization", &root)], None);
        hosts.body.contains("web1") && hosts.body.contains("db1")
    }));
    let redirect = format!("http://{}/login/oidc/callback", daemon.http_addr());
    let provider = OidcProvider::start(dir.path(), &redirect, SECRET);
    // The client secret from a file beside the config, as in version control.
    std::fs::write(
        daemon.config_path().with_file_name("oidc-secret"),
        format!("{SECRET}\n"),
    )
    .unwrap();
    std::fs::write(
        daemon.config_path(),
        config(&hash, &oidc(&daemon, &provider.issuer, true)),
    )
    .unwrap();
    daemon.reload().unwrap();

    // Olga (ops, staff): a manager of the web group's hosts, nothing else; sent on to
    // where she was going.
    let olga = sign_in(&daemon, "olga", true);
    assert_eq!(olga["path"], "/alerts", "{olga}");
    assert_eq!(olga["me"]["name"], "olga", "{olga}");
    assert_eq!(olga["me"]["admin"], false, "{olga}");
    assert_eq!(
        olga["me"]["roles"],
        serde_json::json!({"web1": "manager"}),
        "{olga}"
    );
    // Her callback link opened again (same state, same code): refused.
    assert_eq!(olga["replay"]["status"], 403, "{olga}");
    assert!(
        olga["replay"]["error"]
            .as_str()
            .unwrap()
            .contains("not one hbd started in this browser, or it was used already"),
        "{olga}"
    );

    // Ada (hbd-admins): an administrator.
    let ada = sign_in(&daemon, "ada", false);
    assert_eq!(ada["me"]["name"], "ada", "{ada}");
    assert_eq!(ada["me"]["admin"], true, "{ada}");

    // Moe is in no allowed group.
    let moe = sign_in(&daemon, "moe", false);
    assert_eq!(moe["me"]["status"], 401, "{moe}");
    assert!(
        moe["error"]
            .as_str()
            .unwrap()
            .contains("moe is not in a group allowed to sign in"),
        "{moe}"
    );

    // Spoiled ID tokens, each for one sign-in: nobody is signed in.
    for (how, says) in [
        ("tamper", "signature does not verify"),
        (
            "audience",
            "is for another client (audience [\"another-client\"])",
        ),
        ("expired", "the ID token has expired"),
    ] {
        provider.spoil(how);
        let out = sign_in(&daemon, "olga", false);
        assert_eq!(out["me"]["status"], 401, "{how}: {out}");
        let error = out["error"].as_str().unwrap_or_default();
        assert!(error.contains(says), "{how}: {out}");
    }

    // Every callback is in the audit log: who, and signed in (200, a page that goes on) or refused (403).
    let audit = daemon.call(
        "GET",
        "/api/0/audit?kind=login",
        &[("Authorization", &root)],
        None,
    );
    assert_eq!(audit.status, 200, "{}", audit.body);
    let mut audited: Vec<(String, u64)> = audit.json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["operation"] == "/login/oidc/callback")
        .map(|e| {
            (
                e["user"].as_str().unwrap().to_owned(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    audited.reverse(); // newest first
    let want: Vec<(String, u64)> = [
        ("olga", 200),
        ("(anonymous)", 403),
        ("ada", 200),
        ("moe", 403),
        ("(anonymous)", 403),
        ("(anonymous)", 403),
        ("(anonymous)", 403),
    ]
    .iter()
    .map(|(u, s)| ((*u).to_owned(), *s))
    .collect();
    assert_eq!(audited, want);

    // Counted: two sign-ins (and root's below), five refusals.
    let metrics = daemon.call("GET", "/metrics", &[("Authorization", &root)], None);
    assert_eq!(
        hbd_e2e::metric_value(&metrics.body, "hbd_login_failures_total"),
        Some(5.0),
        "{}",
        metrics.body
    );

    // Local passwords still work alongside, until they are turned off.
    let token = daemon.login("root", "correct horse battery");
    assert!(!token.is_empty());
    std::fs::write(
        daemon.config_path(),
        config(&hash, &oidc(&daemon, &provider.issuer, false)),
    )
    .unwrap();
    daemon.reload().unwrap();
    let body = serde_json::json!({"username": "root", "password": "correct horse battery"});
    let refused = daemon.call("POST", "/api/0/auth/login", &[], Some(&body.to_string()));
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(
        refused.body.contains("sign-in with a password is off"),
        "{}",
        refused.body
    );
    let page = daemon.call("GET", "/login", &[], None);
    assert!(page.body.contains("Sign in with Test ID"), "{}", page.body);
    assert!(!page.body.contains("id=\"password\""), "{}", page.body);
}
