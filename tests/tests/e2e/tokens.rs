//! Scoped API tokens against a real daemon: read-only tokens, tokens limited to host
//! patterns or groups (on the API, `/api/0/auth/me` and the live stream), what limited
//! tokens may never do, their limits and last use listed and kept over a restart, and a
//! revoked token's open live stream closed at once.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::net::TcpStream;
use std::time::{Duration, Instant};

use hbd_e2e::{Daemon, Heard, password_hash, ws_hear as hear};
use serde_json::{Value, json};
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;

const PASSWORD: &str = "scoped tokens password";

fn config() -> String {
    format!(
        "users:
  ada: {{admin: true, password: '{hash}'}}
  olga: {{password: '{hash}'}}
hosts:
  web1: {{owner: olga}}
  web2: {{owner: olga}}
  db1: {{owner: olga}}
groups:
  databases: {{hosts: ['db*']}}
",
        hash = password_hash(PASSWORD)
    )
}

fn call(
    daemon: &Daemon,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> hbd_e2e::Reply {
    daemon.call(
        method,
        path,
        &[("Authorization", &format!("Bearer {token}"))],
        body,
    )
}

/// A token of the session's user, limited as `limits` says; its secret.
fn token(daemon: &Daemon, session: &str, name: &str, limits: Value) -> String {
    let mut body = json!({"name": name});
    body.as_object_mut()
        .unwrap()
        .extend(limits.as_object().unwrap().clone());
    let made = call(
        daemon,
        session,
        "POST",
        "/api/0/auth/tokens",
        Some(&body.to_string()),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    made.json()["token"].as_str().unwrap().to_owned()
}

/// The host names a token lists.
fn hosts(daemon: &Daemon, token: &str) -> Vec<String> {
    let page = call(daemon, token, "GET", "/api/0/hosts", None);
    assert_eq!(page.status, 200, "{}", page.body);
    page.json()["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn tokens_limited_to_reading_or_to_some_hosts_do_only_that() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(dir.path(), &config());
    let olga = daemon.login("olga", PASSWORD);

    // Read-only: everything olga sees, nothing changed.
    let reader = token(&daemon, &olga, "dashboard", json!({"read_only": true}));
    assert_eq!(hosts(&daemon, &reader), ["db1", "web1", "web2"]);
    let command = r#"{"argv":["/bin/true"]}"#;
    let refused = call(
        &daemon,
        &reader,
        "POST",
        "/api/0/hosts/web1/commands",
        Some(command),
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("read-only"), "{}", refused.body);
    let host = call(&daemon, &reader, "GET", "/api/0/hosts/web1", None).json();
    assert_eq!(
        host["may"],
        json!([]),
        "a read-only token is offered nothing: {host}"
    );

    // Limited to web*: the other hosts are as hidden as hosts olga has no role on.
    let web = token(&daemon, &olga, "web deploys", json!({"hosts": ["web*"]}));
    assert_eq!(hosts(&daemon, &web), ["web1", "web2"]);
    let hidden = call(&daemon, &web, "GET", "/api/0/hosts/db1", None);
    let missing = call(&daemon, &web, "GET", "/api/0/hosts/nosuch", None);
    assert_eq!(hidden.status, 404, "{}", hidden.body);
    assert_eq!(
        hidden.json()["error"]["message"]
            .as_str()
            .unwrap()
            .replace("db1", "X"),
        missing.json()["error"]["message"]
            .as_str()
            .unwrap()
            .replace("nosuch", "X"),
        "a hidden host and a missing one answer alike"
    );
    let me = call(&daemon, &web, "GET", "/api/0/auth/me", None).json();
    assert_eq!(
        me["roles"],
        json!({"web1": "owner", "web2": "owner"}),
        "{me}"
    );
    // A limited token makes no tokens (it could make itself an unlimited one).
    let more = call(
        &daemon,
        &web,
        "POST",
        "/api/0/auth/tokens",
        Some(r#"{"name":"x"}"#),
    );
    assert_eq!(more.status, 403, "{}", more.body);

    // Limited to a group.
    let dbs = token(
        &daemon,
        &olga,
        "db backups",
        json!({"groups": ["databases"]}),
    );
    assert_eq!(hosts(&daemon, &dbs), ["db1"]);

    // An administrator's token limited to hosts does nothing that is not about a host.
    let ada = daemon.login("ada", PASSWORD);
    let ada_web = token(&daemon, &ada, "ada web", json!({"hosts": ["web*"]}));
    let reload = call(&daemon, &ada_web, "POST", "/api/0/config/reload", None);
    assert_eq!(reload.status, 403, "{}", reload.body);
    let metrics = call(&daemon, &ada_web, "GET", "/metrics", None);
    assert_eq!(metrics.status, 403, "{}", metrics.body);

    // Asking for limits that cannot be: refused, saying why.
    for (limits, why) in [
        (json!({"groups": ["nosuch"]}), "no group named \"nosuch\""),
        (json!({"hosts": ["web["]}), "\"web[\""),
    ] {
        let mut body = json!({"name": "bad"});
        body.as_object_mut()
            .unwrap()
            .extend(limits.as_object().unwrap().clone());
        let answer = call(
            &daemon,
            &olga,
            "POST",
            "/api/0/auth/tokens",
            Some(&body.to_string()),
        );
        assert_eq!(answer.status, 422, "{limits}: {}", answer.body);
        let message = answer.json()["error"]["message"].clone();
        assert!(
            message.as_str().unwrap_or("").contains(why),
            "{limits}: {message}"
        );
    }

    // The list shows each token's limits and last use, and they outlive a restart.
    let listed = call(&daemon, &olga, "GET", "/api/0/auth/tokens", None).json();
    let by_name = |name: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_name("dashboard")["read_only"], true, "{listed}");
    assert_eq!(by_name("web deploys")["hosts"], json!(["web*"]), "{listed}");
    assert_eq!(
        by_name("db backups")["groups"],
        json!(["databases"]),
        "{listed}"
    );
    assert!(
        by_name("dashboard")["last_used"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    daemon.restart();
    assert_eq!(hosts(&daemon, &web), ["web1", "web2"]);
    let still = call(
        &daemon,
        &reader,
        "POST",
        "/api/0/hosts/web1/commands",
        Some(command),
    );
    assert_eq!(still.status, 403, "{}", still.body);
}

#[test]
fn a_limited_tokens_live_stream_shows_its_hosts_and_closes_when_the_token_is_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), &config());
    let olga = daemon.login("olga", PASSWORD);
    let web = token(
        &daemon,
        &olga,
        "wall screen",
        json!({"hosts": ["web*"], "read_only": true}),
    );
    let mut request = format!("ws://{}/ws", daemon.http_addr())
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {web}")).unwrap(),
    );
    let stream = TcpStream::connect(daemon.http_addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut ws = tungstenite::client(request, stream).unwrap().0;
    let mut snapshot = None;
    while let Some(Heard::Text(m)) = hear(&mut ws, Duration::from_secs(10)) {
        if m["type"] == "snapshot" {
            snapshot = Some(m);
            break;
        }
    }
    let snapshot = snapshot.expect("a snapshot");
    assert_eq!(
        snapshot["hosts"]["name"],
        json!(["web1", "web2"]),
        "{snapshot}"
    );

    // Revoked from olga's session: the stream ends now, not at the next ping.
    let listed = call(&daemon, &olga, "GET", "/api/0/auth/tokens", None).json();
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let revoked = call(
        &daemon,
        &olga,
        "DELETE",
        &format!("/api/0/auth/tokens/{id}"),
        None,
    );
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    let mut closed = None;
    let end = Instant::now() + Duration::from_secs(10);
    while closed.is_none() && Instant::now() < end {
        if let Some(Heard::Closed(code)) = hear(&mut ws, Duration::from_millis(500)) {
            closed = Some(code);
        }
    }
    assert_eq!(
        closed,
        Some(1008),
        "the revoked token's stream did not close"
    );
    let after = call(&daemon, &web, "GET", "/api/0/hosts", None);
    assert_eq!(after.status, 401, "{}", after.body);
}

/// The page `/tokens`: a token made there (its name as text), its limits, made, last
/// used and expiry shown, the secret working once shown, then revoked there.
#[test]
fn the_tokens_page_makes_lists_and_revokes_a_users_tokens() {
    hbd_e2e::require!(hbd_e2e::needs::Need::Browser);
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), &config());
    let base = format!("http://{}", daemon.http_addr());
    let out = hbd_e2e::browser::browser("tokens.mjs", &[&base, "olga", PASSWORD], &[]);
    assert_eq!(out["problems"], json!([]), "{out}");
    let secret = out["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 64, "{out}");
    let row = &out["rows"][0];
    assert_eq!(row[0], "deploy <b>script</b>", "{out}");
    assert_eq!(row[1], "read only; hosts web*, db1", "{out}");
    assert_eq!(out["me"], 200, "{out}");
    assert_ne!(row[3], "never", "{out}");
    assert_ne!(row[4], "never", "expires in 30 days: {out}");
    assert_eq!(out["after_revoke"], json!([]), "{out}");
    assert_eq!(out["error"], "", "{out}");
    let me = daemon.call(
        "GET",
        "/api/0/auth/me",
        &[("Authorization", &format!("Bearer {secret}"))],
        None,
    );
    assert_eq!(me.status, 401, "revoked: {}", me.body);
}
