//! Users, roles, sessions and tokens against a real daemon: the endpoint × role matrix
//! (the same as docs/USERS.md), cookies and CSRF, login throttling, tokens, API-made
//! users and access, and what survives a restart.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use hbd_e2e::{Daemon, Reply, password_hash, wait_until};

const PASSWORD: &str = "correct horse battery";

/// Six hosts with the same access (one per subject, so each may drop its own), one
/// host of another owner, and one nobody declared (it belongs to the first admin).
fn config(hash: &str) -> String {
    let mut c = format!(
        "
users:
  ada: {{admin: true, password: '{hash}'}}
  olga: {{password: '{hash}', full_name: Olga}}
  mia: {{password: '{hash}'}}
  moe: {{password: '{hash}'}}
  otto: {{password: '{hash}'}}
thresholds:
  cpu_monitor:
    cpu_percent: {{warning: 80, critical: 90}}
hosts:
  other: {{owner: otto}}
"
    );
    for i in 0..6 {
        c.push_str(&format!(
            "  w{i}: {{owner: olga, managers: [mia], monitors: [moe]}}\n"
        ));
    }
    c
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// As `token` (`None`: anonymous).
fn call(
    daemon: &Daemon,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Reply {
    let auth = token.map(bearer);
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("Authorization", a)])
        .unwrap_or_default();
    daemon.call(method, path, &headers, body)
}

fn start() -> (tempfile::TempDir, Daemon) {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), &config(&password_hash(PASSWORD)));
    for host in ["w0", "w1", "w2", "w3", "w4", "w5", "other", "free"] {
        daemon.heartbeat_and_cpu(host, 95.0);
    }
    let admin = daemon.login("ada", PASSWORD);
    let ready = wait_until(Duration::from_secs(10), || {
        let alerts = call(&daemon, Some(&admin), "GET", "/api/0/alerts", None).json();
        alerts.as_array().is_some_and(|a| a.len() == 8)
    });
    assert!(
        ready,
        "hosts and alerts did not appear; log:\n{}",
        daemon.log()
    );
    (dir, daemon)
}

#[test]
fn every_endpoint_answers_each_role_as_documented() {
    let (_dir, daemon) = start();
    // Subjects, in column order; each acts on its own host w0..w5.
    let who = [
        None,
        Some("moe"),
        Some("mia"),
        Some("olga"),
        Some("otto"),
        Some("ada"),
    ];
    let names = [
        "anonymous",
        "monitor",
        "manager",
        "owner",
        "other owner",
        "admin",
    ];
    let tokens: Vec<Option<String>> = who
        .iter()
        .map(|w| w.map(|name| daemon.login(name, PASSWORD)))
        .collect();
    let new_user = format!(r#"{{"name":"temp","password":"{PASSWORD}"}}"#);
    #[rustfmt::skip]
    let rows: &[(&str, &str, Option<&str>, [u16; 6])] = &[
        // method, path ({h}: the subject's host, {me}: the subject), body,
        // [anonymous, monitor, manager, owner, other owner, admin]
        ("GET", "/api/0/openapi.json", None, [200, 200, 200, 200, 200, 200]),
        ("GET", "/api/0/auth/me", None, [401, 200, 200, 200, 200, 200]),
        ("GET", "/api/0/hosts", None, [401, 200, 200, 200, 200, 200]),
        ("GET", "/api/0/hosts/{h}", None, [401, 200, 200, 200, 404, 200]),
        ("GET", "/api/0/hosts/{h}/plugins", None, [401, 200, 200, 200, 404, 200]),
        ("GET", "/api/0/hosts/{h}/plugins/cpu_monitor", None, [401, 200, 200, 200, 404, 200]),
        ("GET", "/api/0/hosts/{h}/plugins/cpu_monitor/series", None, [401, 200, 200, 200, 404, 200]),
        ("GET", "/api/0/hosts/{h}/history", None, [401, 200, 200, 200, 404, 200]),
        ("GET", "/api/0/events", None, [401, 200, 200, 200, 200, 200]),
        ("GET", "/api/0/hosts/{h}/alerts", None, [401, 200, 200, 200, 404, 200]),
        ("GET", "/api/0/alerts", None, [401, 200, 200, 200, 200, 200]),
        ("GET", "/api/0/hosts/{h}/access", None, [401, 200, 200, 200, 404, 200]),
        ("PUT", "/api/0/hosts/{h}/access", Some(r#"{"managers":["mia"],"monitors":["moe"]}"#), [401, 403, 403, 409, 404, 409]),
        ("POST", "/api/0/hosts/{h}/transfer", Some(r#"{"owner":"otto"}"#), [401, 403, 403, 409, 404, 409]),
        ("DELETE", "/api/0/hosts/{h}/alerts?path=cpu_monitor.cpu_percent", None, [401, 403, 200, 200, 404, 200]),
        // The hosts have no key: whoever may queue is told commands travel only signed.
        ("POST", "/api/0/hosts/{h}/commands", Some(r#"{"argv":["/bin/true"]}"#), [401, 403, 409, 409, 404, 409]),
        ("GET", "/api/0/hosts/{h}/commands", None, [401, 200, 200, 200, 404, 200]),
        // No dyndomains: whoever may trigger is told the host has no record.
        ("POST", "/api/0/hosts/{h}/dns", None, [401, 403, 409, 409, 404, 409]),
        ("GET", "/api/0/hosts/{h}/dns", None, [401, 404, 404, 404, 404, 404]),
        ("DELETE", "/api/0/hosts/{h}", None, [401, 403, 403, 200, 404, 200]),
        ("GET", "/api/0/users", None, [401, 403, 403, 403, 403, 200]),
        ("POST", "/api/0/users", Some(&new_user), [401, 403, 403, 403, 403, 201]),
        ("GET", "/api/0/users/{me}", None, [401, 200, 200, 200, 200, 200]),
        ("GET", "/api/0/users/otto", None, [401, 403, 403, 403, 200, 200]),
        ("PATCH", "/api/0/users/{me}", Some(r#"{"full_name":"X"}"#), [401, 409, 409, 409, 409, 409]),
        ("PATCH", "/api/0/users/temp", Some(r#"{"full_name":"Tempo"}"#), [401, 403, 403, 403, 403, 200]),
        ("DELETE", "/api/0/users/temp", None, [401, 403, 403, 403, 403, 204]),
        ("POST", "/api/0/config/reload", None, [401, 403, 403, 403, 403, 200]),
        ("GET", "/api/0/hosts/{h}/plugins/own", None, [401, 200, 200, 200, 404, 200]),
        ("PUT", "/api/0/hosts/{h}/plugins/own", Some("{}"), [401, 403, 200, 200, 404, 200]),
        ("GET", "/api/0/rollouts", None, [401, 200, 200, 200, 200, 200]),
        ("POST", "/api/0/rollouts/web/pause", None, [401, 403, 403, 403, 403, 404]),
        ("GET", "/api/0/managed/changes", None, [401, 200, 200, 200, 200, 200]),
        ("GET", "/api/0/hosts/{h}/audit", None, [401, 403, 200, 200, 404, 200]),
        ("GET", "/api/0/audit", None, [401, 403, 403, 403, 403, 200]),
        ("GET", "/api/0/enrolment/tokens", None, [401, 403, 403, 403, 403, 200]),
        ("POST", "/api/0/enrolment/tokens", Some("{}"), [401, 403, 403, 403, 403, 201]),
        ("GET", "/api/0/enrolment/keys", None, [401, 403, 403, 403, 403, 200]),
        ("POST", "/api/0/enrolment/keys/{h}/revoke", None, [401, 403, 403, 403, 403, 404]),
        ("GET", "/metrics", None, [401, 403, 403, 403, 403, 200]),
        ("GET", "/api/0/auth/tokens", None, [401, 200, 200, 200, 200, 200]),
        ("POST", "/api/0/auth/tokens", Some(r#"{"name":"ci"}"#), [401, 201, 201, 201, 201, 201]),
        ("DELETE", "/api/0/auth/tokens/0123456789abcdef", None, [401, 404, 404, 404, 404, 404]),
        ("POST", "/api/0/auth/logout", None, [401, 204, 204, 204, 204, 204]),
        ("GET", "/api/0/auth/me", None, [401, 401, 401, 401, 401, 401]),
    ];
    let mut wrong = Vec::new();
    for (method, path, body, want) in rows {
        for (i, token) in tokens.iter().enumerate() {
            let path = path
                .replace("{h}", &format!("w{i}"))
                .replace("{me}", who[i].unwrap_or("nobody"));
            let reply = call(&daemon, token.as_deref(), method, &path, *body);
            if reply.status != want[i] {
                wrong.push(format!(
                    "{method} {path} as {}: {} (want {}): {}",
                    names[i], reply.status, want[i], reply.body
                ));
            }
            // Every error is JSON with a code and a message.
            if reply.status >= 400 {
                let e = reply.json();
                assert!(
                    e["error"]["code"].is_string() && e["error"]["message"].is_string(),
                    "{method} {path}: {}",
                    reply.body
                );
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn lists_show_only_what_the_user_may_see_and_hidden_hosts_look_absent() {
    let (_dir, daemon) = start();
    let otto = daemon.login("otto", PASSWORD);
    let olga = daemon.login("olga", PASSWORD);
    let ada = daemon.login("ada", PASSWORD);
    let names = |token: &str, query: &str| -> Vec<String> {
        let page = call(
            &daemon,
            Some(token),
            "GET",
            &format!("/api/0/hosts{query}"),
            None,
        )
        .json();
        page["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&otto, ""), ["other"]);
    assert_eq!(names(&olga, "").len(), 6);
    assert_eq!(
        names(&ada, "").len(),
        8,
        "the admin sees all, free included"
    );
    // Filters and paging.
    assert_eq!(names(&ada, "?name=W1"), ["w1"]);
    assert_eq!(names(&ada, "?limit=2&offset=1"), ["other", "w0"]);
    let page = call(&daemon, Some(&ada), "GET", "/api/0/hosts?limit=2", None).json();
    assert_eq!(
        (page["total"].as_u64(), page["limit"].as_u64()),
        (Some(8), Some(2))
    );
    assert_eq!(names(&ada, "?state=down").len(), 0);
    assert_eq!(names(&ada, "?state=up,down").len(), 8);
    assert_eq!(
        call(
            &daemon,
            Some(&ada),
            "GET",
            "/api/0/hosts?state=sideways",
            None
        )
        .status,
        400
    );
    // Alerts of hidden hosts are left out.
    let alerts = call(&daemon, Some(&otto), "GET", "/api/0/alerts", None).json();
    let hosts: Vec<&str> = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["other"]);
    // A host otto cannot see and one that does not exist answer alike.
    let hidden = call(&daemon, Some(&otto), "GET", "/api/0/hosts/w0", None);
    let absent = call(&daemon, Some(&otto), "GET", "/api/0/hosts/zz", None);
    assert_eq!((hidden.status, absent.status), (404, 404));
    assert_eq!(
        hidden.body.replace("w0", "X"),
        absent.body.replace("zz", "X"),
        "no difference leaks"
    );
    // "me" lists roles.
    let me = call(&daemon, Some(&olga), "GET", "/api/0/auth/me", None).json();
    assert_eq!(me["name"], "olga");
    assert_eq!(me["roles"]["w0"], "owner");
    assert!(me["roles"].get("other").is_none());
    assert_eq!(me["account"]["full_name"], "Olga");
    assert_eq!(me["account"]["source"], "config");
}

#[test]
fn cookie_sessions_need_the_csrf_token_and_the_same_origin() {
    let (_dir, daemon) = start();
    let body = serde_json::json!({"username": "ada", "password": PASSWORD}).to_string();
    let login = daemon.call("POST", "/api/0/auth/login", &[], Some(&body));
    assert_eq!(login.status, 200, "{}", login.body);
    let cookie = login.header("set-cookie").unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP: no Secure (browsers would drop it)"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    assert!(pair.starts_with("hbd_session="));
    let answer = login.json();
    let csrf = answer["csrf_token"].as_str().unwrap().to_owned();
    assert_eq!(answer["user"]["name"], "ada");
    assert!(answer["expires_at"].is_string());

    // Reads need only the cookie.
    let read = daemon.call("GET", "/api/0/auth/me", &[("Cookie", &pair)], None);
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["csrf_token"], csrf.as_str());
    // Writes need the token ...
    let path = "/api/0/hosts/w0/alerts?path=cpu_monitor.cpu_percent";
    let bare = daemon.call("DELETE", path, &[("Cookie", &pair)], None);
    assert_eq!(
        (bare.status, bare.json()["error"]["code"].as_str()),
        (403, Some("csrf"))
    );
    // ... and a same-origin page: a cross-site one is refused even with the token.
    let cross = daemon.call(
        "DELETE",
        path,
        &[
            ("Cookie", &pair),
            ("X-CSRF-Token", &csrf),
            ("Sec-Fetch-Site", "cross-site"),
        ],
        None,
    );
    assert_eq!(
        (cross.status, cross.json()["error"]["code"].as_str()),
        (403, Some("csrf"))
    );
    let foreign = daemon.call(
        "DELETE",
        path,
        &[
            ("Cookie", &pair),
            ("X-CSRF-Token", &csrf),
            ("Origin", "http://evil.example"),
        ],
        None,
    );
    assert_eq!(foreign.status, 403);
    let same = daemon.call(
        "DELETE",
        path,
        &[
            ("Cookie", &pair),
            ("X-CSRF-Token", &csrf),
            ("Sec-Fetch-Site", "same-origin"),
        ],
        None,
    );
    assert_eq!(same.status, 200, "{}", same.body);
    // Bearer requests need neither.
    let token = answer["token"].as_str().unwrap();
    let bearer = call(
        &daemon,
        Some(token),
        "DELETE",
        "/api/0/hosts/w1/alerts?path=cpu_monitor.cpu_percent",
        None,
    );
    assert_eq!(bearer.status, 200, "{}", bearer.body);
    // Logout ends the session and clears the cookie.
    let out = daemon.call(
        "POST",
        "/api/0/auth/logout",
        &[("Cookie", &pair), ("X-CSRF-Token", &csrf)],
        None,
    );
    assert_eq!(out.status, 204, "{}", out.body);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        daemon
            .call("GET", "/api/0/auth/me", &[("Cookie", &pair)], None)
            .status,
        401
    );
}

#[test]
fn failed_logins_are_throttled_counted_and_journaled() {
    let (_dir, daemon) = start();
    let attempt = |user: &str, password: &str| {
        let body = serde_json::json!({"username": user, "password": password}).to_string();
        daemon.call("POST", "/api/0/auth/login", &[], Some(&body))
    };
    let wrong = attempt("moe", "nope");
    let unknown = attempt("nobody", "nope");
    assert_eq!((wrong.status, unknown.status), (401, 401));
    assert_eq!(
        wrong.body, unknown.body,
        "an unknown user looks like a wrong password"
    );
    for _ in 0..4 {
        assert_eq!(attempt("moe", "nope").status, 401);
    }
    // Five failures for moe: even the right password is refused, unheard.
    let throttled = attempt("moe", PASSWORD);
    assert_eq!(throttled.status, 429, "{}", throttled.body);
    assert!(
        throttled
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    // Other names from the same address still sign in.
    let admin = daemon.login("ada", PASSWORD);
    let metrics = call(&daemon, Some(&admin), "GET", "/metrics", None).body;
    let value = |series: &str| hbd_e2e::metric_value(&metrics, series).unwrap_or(-1.0);
    assert_eq!(value("hbd_login_failures_total"), 6.0);
    assert_eq!(value("hbd_logins_throttled_total"), 1.0);
    let journaled = wait_until(Duration::from_secs(5), || {
        let journal = std::fs::read_to_string(daemon.dir.join("journal/hbd_journal.jsonl"))
            .unwrap_or_default();
        journal
            .lines()
            .filter(|l| l.contains(r#""ID":"AUTH""#) && l.contains("login_failed"))
            .count()
            == 6
    });
    assert!(journaled, "six login_failed entries in the journal");
}

/// The names of the hosts `token` sees.
fn sees(daemon: &Daemon, token: &str) -> Vec<String> {
    call(daemon, Some(token), "GET", "/api/0/hosts", None).json()["hosts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| h["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn api_made_users_tokens_and_access_survive_a_restart() {
    let (_dir, mut daemon) = start();
    let ada = daemon.login("ada", PASSWORD);
    let created = call(
        &daemon,
        Some(&ada),
        "POST",
        "/api/0/users",
        Some(
            r#"{"name":"sam","password":"sams password","email":"sam@example.org","notification_channels":["email"]}"#,
        ),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["source"], "store");
    assert!(created.body.find("scrypt").is_none(), "no hash in answers");
    // Config names cannot be taken, config users cannot be changed.
    let clash = call(
        &daemon,
        Some(&ada),
        "POST",
        "/api/0/users",
        Some(r#"{"name":"olga"}"#),
    );
    assert_eq!(clash.status, 409);
    let managed = call(&daemon, Some(&ada), "DELETE", "/api/0/users/olga", None);
    assert_eq!(
        (managed.status, managed.json()["error"]["code"].as_str()),
        (409, Some("config_managed"))
    );

    // `free` was declared by nobody: the first admin owns it, and its access is editable.
    let access = call(&daemon, Some(&ada), "GET", "/api/0/hosts/free/access", None).json();
    assert_eq!(
        (access["owner"].as_str(), access["source"].as_str()),
        (Some("ada"), Some("default"))
    );
    let unknown = call(
        &daemon,
        Some(&ada),
        "PUT",
        "/api/0/hosts/free/access",
        Some(r#"{"monitors":["ghost"]}"#),
    );
    assert_eq!(unknown.status, 422);
    let set = call(
        &daemon,
        Some(&ada),
        "PUT",
        "/api/0/hosts/free/access",
        Some(r#"{"monitors":["sam"]}"#),
    );
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.json()["source"], "store");

    let sam = daemon.login("sam", "sams password");
    let made = call(
        &daemon,
        Some(&sam),
        "POST",
        "/api/0/auth/tokens",
        Some(r#"{"name":"backup","expires_in_days":30}"#),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let script = made.json()["token"].as_str().unwrap().to_owned();
    let id = made.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(sees(&daemon, &script), ["free"]);
    // Sam (a monitor) may not change access.
    assert_eq!(
        call(
            &daemon,
            Some(&sam),
            "PUT",
            "/api/0/hosts/free/access",
            Some("{}")
        )
        .status,
        403
    );

    daemon.restart();
    // The user, the access, the session and the token are all still there.
    assert_eq!(sees(&daemon, &sam), ["free"]);
    assert_eq!(sees(&daemon, &script), ["free"]);
    let tokens = call(&daemon, Some(&sam), "GET", "/api/0/auth/tokens", None).json();
    assert_eq!(tokens[0]["name"], "backup");
    assert!(tokens[0]["expires_at"].is_string());
    assert!(
        !tokens.to_string().contains(&script),
        "the secret is never shown again"
    );

    // A password change needs the current one and ends the other sessions.
    let other_session = daemon.login("sam", "sams password");
    let bad = call(
        &daemon,
        Some(&sam),
        "PATCH",
        "/api/0/users/sam",
        Some(r#"{"password":"new password 1"}"#),
    );
    assert_eq!(bad.status, 401);
    let changed = call(
        &daemon,
        Some(&sam),
        "PATCH",
        "/api/0/users/sam",
        Some(r#"{"password":"new password 1","current_password":"sams password"}"#),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        sees(&daemon, &sam),
        ["free"],
        "the session that changed it stays"
    );
    assert_eq!(
        call(&daemon, Some(&other_session), "GET", "/api/0/auth/me", None).status,
        401
    );
    assert_eq!(
        call(&daemon, Some(&script), "GET", "/api/0/auth/me", None).status,
        401
    );
    let sam = daemon.login("sam", "new password 1");

    // Tokens are revoked by their owner; transfer hands the host over.
    let again = call(
        &daemon,
        Some(&sam),
        "POST",
        "/api/0/auth/tokens",
        Some(r#"{"name":"x"}"#),
    )
    .json();
    let (t2, id2) = (
        again["token"].as_str().unwrap(),
        again["id"].as_str().unwrap(),
    );
    assert_eq!(
        call(
            &daemon,
            Some(&ada),
            "DELETE",
            &format!("/api/0/auth/tokens/{id2}"),
            None
        )
        .status,
        404
    );
    assert_eq!(
        call(
            &daemon,
            Some(&sam),
            "DELETE",
            &format!("/api/0/auth/tokens/{id}"),
            None
        )
        .status,
        404,
        "already ended by the password change"
    );
    assert_eq!(
        call(
            &daemon,
            Some(&sam),
            "DELETE",
            &format!("/api/0/auth/tokens/{id2}"),
            None
        )
        .status,
        204
    );
    assert_eq!(
        call(&daemon, Some(t2), "GET", "/api/0/auth/me", None).status,
        401
    );
    let moved = call(
        &daemon,
        Some(&ada),
        "POST",
        "/api/0/hosts/free/transfer",
        Some(r#"{"owner":"sam"}"#),
    );
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.json()["owner"], "sam");
    assert_eq!(moved.json()["monitors"], serde_json::json!([]));
    assert_eq!(
        call(&daemon, Some(&sam), "GET", "/api/0/hosts/free/access", None).json()["owner"],
        "sam"
    );

    // Deleting the user ends their sessions.
    assert_eq!(
        call(&daemon, Some(&ada), "DELETE", "/api/0/users/sam", None).status,
        204
    );
    assert_eq!(
        call(&daemon, Some(&sam), "GET", "/api/0/auth/me", None).status,
        401
    );
    let access = call(&daemon, Some(&ada), "GET", "/api/0/hosts/free/access", None).json();
    assert_eq!(access["source"], "default", "sam's roles went with sam");
}

#[test]
fn removing_a_user_from_the_config_ends_their_sessions_at_reload() {
    let dir = tempfile::tempdir().unwrap();
    let hash = password_hash(PASSWORD);
    let mut daemon = Daemon::start(dir.path(), &config(&hash));
    let moe = daemon.login("moe", PASSWORD);
    assert_eq!(
        call(&daemon, Some(&moe), "GET", "/api/0/auth/me", None).status,
        200
    );
    let without_moe = config(&hash)
        .replace(&format!("  moe: {{password: '{hash}'}}\n"), "")
        .replace(", monitors: [moe]", "");
    let text = std::fs::read_to_string(daemon.config_path()).unwrap();
    let base = text.split("\nusers:").next().unwrap().to_owned();
    std::fs::write(daemon.config_path(), format!("{base}\n{without_moe}")).unwrap();
    daemon.reload().unwrap();
    assert_eq!(
        call(&daemon, Some(&moe), "GET", "/api/0/auth/me", None).status,
        401
    );
    // And a restart (config unchanged since) keeps that.
    daemon.restart();
    assert_eq!(
        call(&daemon, Some(&moe), "GET", "/api/0/auth/me", None).status,
        401
    );
}

#[test]
fn with_no_users_nothing_needs_signing_in() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), "");
    daemon.heartbeat_and_cpu("web1", 95.0);
    assert!(wait_until(Duration::from_secs(5), || daemon
        .host("web1")
        .is_some()));
    for (method, path) in [
        ("GET", "/api/0/hosts"),
        ("GET", "/api/0/hosts/web1"),
        ("GET", "/api/0/hosts/web1/access"),
        ("GET", "/api/0/auth/me"),
        ("GET", "/api/0/users"),
        ("GET", "/metrics"),
        ("POST", "/api/0/config/reload"),
        ("DELETE", "/api/0/hosts/web1"),
    ] {
        let reply = daemon.call(method, path, &[], None);
        assert_eq!(reply.status, 200, "{method} {path}: {}", reply.body);
    }
    let login = daemon.call(
        "POST",
        "/api/0/auth/login",
        &[],
        Some(r#"{"username":"a","password":"b"}"#),
    );
    assert_eq!(login.status, 422, "nobody signs in to an open daemon");

    // Open is not open to the web pages its operator visits: a cross-site write is
    // refused, by the same rule as cookie requests with users...
    daemon.heartbeat_and_cpu("web1", 95.0);
    assert!(wait_until(Duration::from_secs(5), || daemon
        .host("web1")
        .is_some()));
    for (method, path) in [
        ("POST", "/api/0/config/reload"),
        ("DELETE", "/api/0/hosts/web1"),
    ] {
        for site in [
            &[("Sec-Fetch-Site", "cross-site")][..],
            &[("Sec-Fetch-Site", "same-site")][..],
            &[("Origin", "http://evil.example")][..],
        ] {
            let reply = daemon.call(method, path, site, None);
            assert_eq!(
                reply.status, 403,
                "{method} {path} {site:?}: {}",
                reply.body
            );
            assert_eq!(reply.json()["error"]["code"], "csrf");
        }
    }
    assert!(
        daemon.host("web1").is_some(),
        "the refused DELETE changed nothing"
    );
    let same = daemon.call(
        "POST",
        "/api/0/config/reload",
        &[("Sec-Fetch-Site", "same-origin")],
        None,
    );
    assert_eq!(same.status, 200, "{}", same.body);
    // ...and a page that rebinds its own name to the daemon's address reads nothing.
    for host in [
        "evil.example",
        "evil.example:50004",
        "localhost.evil.example",
    ] {
        let reply = daemon.call("GET", "/api/0/hosts", &[("Host", host)], None);
        assert_eq!(reply.status, 421, "Host {host}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], "misdirected");
        assert!(!reply.body.contains("web1"), "{}", reply.body);
        let page = daemon.call("GET", "/live", &[("Host", host)], None);
        assert_eq!(page.status, 421, "Host {host}: the pages too");
    }
    for host in ["localhost:50004", "127.0.0.1", "[::1]:50004"] {
        let reply = daemon.call("GET", "/api/0/hosts", &[("Host", host)], None);
        assert_eq!(reply.status, 200, "Host {host}: {}", reply.body);
    }
}

#[test]
fn with_no_users_the_daemon_answers_to_the_names_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), "allowed_hosts: [hbd.example.org]\n");
    let listed = daemon.call(
        "GET",
        "/api/0/hosts",
        &[("Host", "hbd.example.org:50004")],
        None,
    );
    assert_eq!(listed.status, 200, "{}", listed.body);
    let other = daemon.call(
        "GET",
        "/api/0/hosts",
        &[("Host", "other.example.org")],
        None,
    );
    assert_eq!(other.status, 421, "{}", other.body);
    assert!(
        other.body.contains("allowed_hosts"),
        "the answer says what to add: {}",
        other.body
    );
}
