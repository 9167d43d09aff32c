//! The audit log against a real daemon: the test walks the served OpenAPI document and
//! calls every operation that changes something, as an administrator, with whatever
//! it takes (most are refused for an empty body: refusals are recorded too), and
//! checks each left exactly one entry naming its method and documented path, who asked
//! and from where; a sign-in's password is masked, through the API and the pages' form;
//! a reload by SIGHUP is recorded; a host's managers read the entries about it, its
//! monitors do not; the journal has each as `"ID":"AUDIT"`.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use hbd_e2e::needs::Need;
use hbd_e2e::{Daemon, password_hash};
use serde_json::Value;

const PASSWORD: &str = "audit log password";

fn config() -> String {
    format!(
        "users:
  ada: {{admin: true, password: '{hash}'}}
  mia: {{password: '{hash}'}}
  moe: {{password: '{hash}'}}
hosts:
  web1: {{owner: ada, managers: [mia], monitors: [moe]}}
groups:
  web: {{hosts: ['web*']}}
thresholds:
  cpu_monitor:
    cpu_percent: {{warning: 80, critical: 90}}
",
        hash = password_hash(PASSWORD)
    )
}

fn auth(token: &str) -> String {
    format!("Bearer {token}")
}

/// The newest entries, as `token` may read them at `path`.
fn newest(daemon: &Daemon, token: &str, path: &str) -> Vec<Value> {
    let page = daemon.call("GET", path, &[("Authorization", &auth(token))], None);
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    page.json()["entries"].as_array().unwrap().clone()
}

/// `path` with its parameters filled in.
fn concrete(path: &str) -> String {
    let mut out = path.to_owned();
    for (param, value) in [
        ("{id}", "0"),
        ("{host}", "web1"),
        ("{action}", "pause"),
        ("{group}", "web"),
    ] {
        out = out.replace(param, value);
    }
    if out.starts_with("/api/0/users/") {
        out = out.replace("{name}", "nobody");
    }
    out.replace("{name}", "web1")
}

#[test]
fn every_operation_that_changes_something_leaves_exactly_one_entry() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), &config());
    daemon.heartbeat_and_cpu("web1", 10.0);
    let mut ada = daemon.login("ada", PASSWORD);
    let doc = daemon.get_json("/api/0/openapi.json");
    let mut operations: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                operations.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    // Signing out ends the session the walk uses: last.
    operations.sort_by_key(|(_, p)| p == "/api/0/auth/logout");
    assert!(operations.len() >= 20, "{operations:?}");
    let mut last_id = newest(&daemon, &ada, "/api/0/audit?limit=1")[0]["id"]
        .as_i64()
        .unwrap();
    for (method, path) in &operations {
        let target = concrete(path);
        let answer = daemon.call(
            method,
            &target,
            &[
                ("Authorization", &auth(&ada)),
                ("Content-Type", "application/json"),
            ],
            (method != "DELETE").then_some("{}"),
        );
        if path == "/api/0/auth/logout" {
            assert_eq!(answer.status, 204, "{}", answer.body);
            ada = daemon.login("ada", PASSWORD);
        }
        let entries = newest(&daemon, &ada, "/api/0/audit?limit=3");
        // After signing out the walk signs in again: that sign-in is not this one's.
        let signed_in_again = path == "/api/0/auth/logout";
        let new: Vec<&Value> = entries
            .iter()
            .filter(|e| e["id"].as_i64().unwrap() > last_id)
            .filter(|e| !(signed_in_again && e["kind"] == "login"))
            .collect();
        assert_eq!(
            new.len(),
            1,
            "{method} {path} (answered {}) left {} entries: {entries:#?}",
            answer.status,
            new.len()
        );
        let entry = new[0];
        assert_eq!(entry["method"], method.as_str(), "{entry}");
        assert_eq!(entry["operation"], path.as_str(), "{entry}");
        assert_eq!(entry["path"], target.as_str(), "{entry}");
        assert_eq!(entry["user"], "ada", "{entry}");
        assert_eq!(entry["address"], "127.0.0.1", "{entry}");
        assert_eq!(entry["status"], answer.status, "{entry}");
        if path.starts_with("/api/0/hosts/{name}") {
            assert_eq!(entry["host"], "web1", "{entry}");
        }
        // Dropping a host keeps what it was.
        if path == "/api/0/hosts/{name}" {
            assert_eq!(answer.status, 200, "{}", answer.body);
            assert_eq!(entry["before"]["name"], "web1", "{entry}");
        }
        last_id = entries[0]["id"].as_i64().unwrap();
    }

    // A sign-in, with the password masked, and a refused one naming the name given.
    let refused = daemon.call(
        "POST",
        "/api/0/auth/login",
        &[],
        Some(r#"{"username": "moe", "password": "not it"}"#),
    );
    assert_eq!(refused.status, 401);
    let login = &newest(&daemon, &ada, "/api/0/audit?kind=login&limit=1")[0];
    assert_eq!(login["user"], "moe", "{login}");
    assert_eq!(login["status"], 401, "{login}");
    assert_eq!(login["request"]["password"], "***", "{login}");

    // A change that says what it changed: db1's access (no config declares it), before
    // and after.
    daemon.heartbeat_and_cpu("db1", 10.0);
    assert!(hbd_e2e::wait_until(
        std::time::Duration::from_secs(10),
        || {
            daemon
                .call(
                    "GET",
                    "/api/0/hosts/db1",
                    &[("Authorization", &auth(&ada))],
                    None,
                )
                .status
                == 200
        }
    ));
    let put = daemon.call(
        "PUT",
        "/api/0/hosts/db1/access",
        &[("Authorization", &auth(&ada))],
        Some(r#"{"managers": ["mia"]}"#),
    );
    assert_eq!(put.status, 200, "{}", put.body);
    let change = &newest(&daemon, &ada, "/api/0/audit?host=db1&kind=access&limit=1")[0];
    assert_eq!(
        change["before"]["managers"],
        serde_json::json!([]),
        "{change}"
    );
    assert_eq!(
        change["after"]["managers"],
        serde_json::json!(["mia"]),
        "{change}"
    );
    assert_eq!(
        change["before"]["owner"], change["after"]["owner"],
        "{change}"
    );

    // An acknowledgement, put and taken back: nothing before, then it, then nothing.
    daemon.heartbeat_and_cpu("db1", 95.0);
    let ack_path = "/api/0/hosts/db1/ack";
    let body = r#"{"path": "cpu_monitor.cpu_percent", "comment": "replacing the fan"}"#;
    // The alert is raised as the report arrives.
    let mut said = String::new();
    let acknowledged = hbd_e2e::wait_until(std::time::Duration::from_secs(10), || {
        let put = daemon.call(
            "POST",
            ack_path,
            &[("Authorization", &auth(&ada))],
            Some(body),
        );
        said = put.body;
        put.status == 200
    });
    assert!(acknowledged, "{said}");
    let acked = &newest(&daemon, &ada, "/api/0/audit?host=db1&kind=ack&limit=1")[0];
    assert_eq!(acked["before"], Value::Null, "{acked}");
    assert_eq!(acked["after"]["comment"], "replacing the fan", "{acked}");
    let taken = daemon.call(
        "DELETE",
        &format!("{ack_path}?path=cpu_monitor.cpu_percent"),
        &[("Authorization", &auth(&ada))],
        None,
    );
    assert_eq!(taken.status, 200, "{}", taken.body);
    let back = &newest(&daemon, &ada, "/api/0/audit?host=db1&kind=ack&limit=1")[0];
    assert_eq!(back["method"], "DELETE", "{back}");
    assert_eq!(back["before"]["comment"], "replacing the fan", "{back}");
    assert_eq!(back["after"], Value::Null, "{back}");

    // The pages' sign-in form, the same.
    let form = daemon.call(
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some("username=mia&password=wrong+one&next=%2Flive"),
    );
    assert!(form.status < 500, "{}", form.body);
    let login = &newest(&daemon, &ada, "/api/0/audit?kind=login&limit=1")[0];
    assert_eq!(login["operation"], "/login", "{login}");
    assert_eq!(login["user"], "mia", "{login}");
    assert_eq!(login["request"]["password"], "***", "{login}");
    assert_eq!(login["request"]["next"], "/live", "{login}");

    // What an API token, a user and an enrolment token were, made and taken away (a
    // token's secret never).
    let call = |method: &str, path: &str, body: Option<&str>| {
        let answer = daemon.call(
            method,
            path,
            &[
                ("Authorization", &auth(&ada)),
                ("Content-Type", "application/json"),
            ],
            body,
        );
        assert!(answer.status < 300, "{method} {path}: {}", answer.body);
        (
            answer,
            newest(&daemon, &ada, "/api/0/audit?limit=1")[0].clone(),
        )
    };
    let (made, entry) = call(
        "POST",
        "/api/0/auth/tokens",
        Some(r#"{"name": "deploy", "read_only": true}"#),
    );
    let secret = made.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(entry["after"]["name"], "deploy", "{entry}");
    assert_eq!(entry["after"]["read_only"], true, "{entry}");
    assert_eq!(entry["before"], Value::Null, "{entry}");
    assert!(!entry.to_string().contains(&secret), "{entry}");
    let id = entry["after"]["id"].as_str().unwrap().to_owned();
    let (_, entry) = call("DELETE", &format!("/api/0/auth/tokens/{id}"), None);
    assert_eq!(entry["before"]["name"], "deploy", "{entry}");
    assert_eq!(entry["after"], Value::Null, "{entry}");
    let (_, entry) = call(
        "POST",
        "/api/0/users",
        Some(r#"{"name": "sam", "email": "sam@example.org"}"#),
    );
    assert_eq!(entry["after"]["email"], "sam@example.org", "{entry}");
    let (_, entry) = call("DELETE", "/api/0/users/sam", None);
    assert_eq!(entry["before"]["email"], "sam@example.org", "{entry}");
    let (made, entry) = call("POST", "/api/0/enrolment/tokens", Some(r#"{"uses": 2}"#));
    let secret = made.json()["token"].as_str().unwrap().to_owned();
    assert!(!entry.to_string().contains(&secret), "{entry}");
    let id = entry["after"]["id"].as_str().unwrap().to_owned();
    let (_, entry) = call("DELETE", &format!("/api/0/enrolment/tokens/{id}"), None);
    assert_eq!(entry["before"]["id"], id.as_str(), "{entry}");

    // A reload by SIGHUP, as the signal's change.
    daemon.reload().unwrap();
    let mut reload = Value::Null;
    assert!(hbd_e2e::wait_until(
        std::time::Duration::from_secs(10),
        || {
            reload = newest(&daemon, &ada, "/api/0/audit?user=SIGHUP&limit=1")
                .first()
                .cloned()
                .unwrap_or(Value::Null);
            reload["kind"] == "reload"
        }
    ));
    assert_eq!(reload["status"], 200, "{reload}");
    // What it did is its after: here, nothing that waits for a restart.
    assert_eq!(
        reload["after"]["restart_needed"],
        serde_json::json!([]),
        "{reload}"
    );
    assert!(reload["after"]["source"].is_string(), "{reload}");

    // A host's manager reads the entries about it; its monitor may not.
    let mia = daemon.login("mia", PASSWORD);
    let about = newest(&daemon, &mia, "/api/0/hosts/web1/audit?limit=1000");
    assert!(!about.is_empty());
    assert!(about.iter().all(|e| e["host"] == "web1"), "{about:#?}");
    let moe = daemon.login("moe", PASSWORD);
    let denied = daemon.call(
        "GET",
        "/api/0/hosts/web1/audit",
        &[("Authorization", &auth(&moe))],
        None,
    );
    assert_eq!(denied.status, 403, "{}", denied.body);
    let not_admin = daemon.call(
        "GET",
        "/api/0/audit",
        &[("Authorization", &auth(&mia))],
        None,
    );
    assert_eq!(not_admin.status, 403, "{}", not_admin.body);
    // Filters: by user and by time.
    let mine = newest(&daemon, &ada, "/api/0/audit?user=moe&limit=1000");
    assert!(!mine.is_empty() && mine.iter().all(|e| e["user"] == "moe"));
    let future = newest(&daemon, &ada, "/api/0/audit?since=2999-01-01T00:00:00Z");
    assert!(future.is_empty(), "{future:#?}");

    // And the journal has each one (it is written in batches).
    let mut journaled = 0;
    let all = hbd_e2e::wait_until(std::time::Duration::from_secs(10), || {
        journaled = daemon.journal("AUDIT").len();
        journaled > operations.len()
    });
    assert!(
        all,
        "{journaled} AUDIT lines for {} operations",
        operations.len()
    );
}

/// The page: every change asked, filtered by host through its form (into the address),
/// and a host's own part on its page; what a request said shown as text.
#[test]
fn the_audit_page_and_a_hosts_part_of_it_in_a_browser() {
    hbd_e2e::require!(Need::Browser);
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), "");
    daemon.heartbeat_and_cpu("web1", 10.0);
    daemon.heartbeat_and_cpu("db1", 10.0);
    assert!(hbd_e2e::wait_until(
        std::time::Duration::from_secs(10),
        || { daemon.host("db1").is_some() && daemon.host("web1").is_some() }
    ));
    let silence = |host: &str, comment: &str| {
        let body = serde_json::json!({"hosts": host, "duration": "1h", "comment": comment});
        let answer = daemon.call("POST", "/api/0/silences", &[], Some(&body.to_string()));
        assert_eq!(answer.status, 201, "{}", answer.body);
    };
    silence("db1", "db maintenance");
    silence("web1", "<img src=x onerror=\"window.hbdInjected=true\">");
    let reload = daemon.call("POST", "/api/0/config/reload", &[], None);
    assert_eq!(reload.status, 200, "{}", reload.body);
    let cleared = daemon.call("DELETE", "/api/0/hosts/web1/alerts", &[], None);
    // A silence made keeps what it is as its after.
    let made = &daemon.get_json("/api/0/audit?kind=silences&limit=2")["entries"][1];
    assert_eq!(made["after"]["comment"], "db maintenance", "{made}");
    assert_eq!(made["before"], Value::Null, "{made}");

    let base = format!("http://{}", daemon.http_addr());
    let seen = hbd_e2e::browser("audit.mjs", &[&base, "web1"], &[]);
    assert_eq!(seen["problems"], serde_json::json!([]), "{seen:#}");
    let rows = seen["rows"].as_array().unwrap();
    // Newest first: the alerts cleared, the reload, the two silences.
    let what: Vec<&str> = rows.iter().map(|r| r[3].as_str().unwrap()).collect();
    assert_eq!(
        what,
        [
            "DELETE /api/0/hosts/web1/alerts",
            "POST /api/0/config/reload",
            "POST /api/0/silences",
            "POST /api/0/silences"
        ],
        "{seen:#}"
    );
    assert_eq!(rows[0][1], "(open)");
    assert_eq!(rows[0][2], "127.0.0.1");
    assert_eq!(rows[0][4], "web1");
    assert_eq!(rows[0][5], cleared.status.to_string());
    assert!(
        rows[2][6].as_str().unwrap().contains("<img src=x onerror="),
        "the request is shown as text: {seen:#}"
    );
    assert_eq!(seen["injected"], false, "a request's text ran as script");
    // Filtered by host through the form, into the address.
    let filtered: Vec<&str> = seen["filtered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[3].as_str().unwrap())
        .collect();
    assert_eq!(filtered, ["DELETE /api/0/hosts/web1/alerts"], "{seen:#}");
    assert_eq!(seen["filtered_url"], "?host=web1");
    // The host's page: its part, linking to the whole log filtered for it.
    let host_rows = seen["host_rows"].as_array().unwrap();
    assert_eq!(host_rows.len(), 1, "{seen:#}");
    assert_eq!(host_rows[0][3], "DELETE /api/0/hosts/web1/alerts");
    assert_eq!(seen["host_all"], "/audit?host=web1");

    // A silence ended keeps it as it was and as it ended.
    let id = made["after"]["id"].as_str().unwrap().to_owned();
    let ended = daemon.call("DELETE", &format!("/api/0/silences/{id}"), &[], None);
    assert_eq!(ended.status, 200, "{}", ended.body);
    let entry = &daemon.get_json("/api/0/audit?kind=silences&limit=1")["entries"][0];
    assert_eq!(entry["method"], "DELETE", "{entry}");
    assert_eq!(entry["before"]["comment"], "db maintenance", "{entry}");
    assert_eq!(entry["after"]["id"], id.as_str(), "{entry}");
    assert_ne!(entry["before"]["state"], entry["after"]["state"], "{entry}");
}
