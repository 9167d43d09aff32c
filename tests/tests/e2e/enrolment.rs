//! Enrolment against a real daemon and real agents: an administrator makes tokens,
//! `hbc enrol` makes each host's key, and from then on that key alone speaks for the
//! host; a group-bound token refuses other names, a pending key waits for approval, a
//! revoked key is silenced, `hbc rekey` replaces a key, and all of it survives a
//! restart of the daemon.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use hbd_e2e::{Agent, Daemon, Reply, bin, password_hash, wait_until};

const PASSWORD: &str = "correct horse battery";
const SHARED: &str = "the shared key of the fleet, long enough";

fn as_admin(daemon: &Daemon, token: &str, method: &str, path: &str, body: Option<&str>) -> Reply {
    let auth = format!("Bearer {token}");
    daemon.call(method, path, &[("Authorization", &auth)], body)
}

fn make_token(daemon: &Daemon, admin: &str, body: &str) -> String {
    let made = as_admin(daemon, admin, "POST", "/api/0/enrolment/tokens", Some(body));
    assert_eq!(made.status, 201, "{}", made.body);
    made.json()["token"].as_str().unwrap().to_owned()
}

fn hbc(args: &[&str]) -> Output {
    Command::new(bin("hbc")).args(args).output().unwrap()
}

fn enrol(daemon: &Daemon, dir: &Path, name: &str, token: &str) -> Output {
    let url = format!("http://{}", daemon.http_addr());
    let key_file = dir.join(format!("{name}.key"));
    hbc(&[
        "enrol",
        "--token",
        token,
        "--url",
        &url,
        "--name",
        name,
        "--key-file",
        key_file.to_str().unwrap(),
    ])
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn agent(dir: &Path, daemon: &Daemon, name: &str) -> Agent {
    Agent::start(
        dir,
        name,
        daemon.udp_addr(),
        &format!(
            "interval: 0.5\nkey_file: '{}'\nplugins: {{cpu_monitor: {{enabled: false}}}}",
            dir.join(format!("{name}.key")).display()
        ),
    )
}

/// The host as the administrator sees it.
fn host(daemon: &Daemon, admin: &str, name: &str) -> Option<serde_json::Value> {
    let reply = as_admin(daemon, admin, "GET", &format!("/api/0/hosts/{name}"), None);
    (reply.status == 200).then(|| reply.json())
}

fn up(daemon: &Daemon, admin: &str, name: &str) -> bool {
    wait_until(Duration::from_secs(15), || {
        host(daemon, admin, name).is_some_and(|h| h["state"] == "UP")
    })
}

/// The reason the daemon last turned away a datagram with key id `key_id`.
fn rejected(daemon: &Daemon, admin: &str, key_id: &str) -> Option<String> {
    let mut reason = None;
    wait_until(Duration::from_secs(15), || {
        let list = as_admin(daemon, admin, "GET", "/api/0/rejects", None).json();
        reason = list.as_array().and_then(|l| {
            l.iter()
                .find(|s| s["key_id"] == key_id)
                .and_then(|s| s["reason"].as_str().map(str::to_owned))
        });
        reason.is_some()
    });
    reason
}

#[test]
fn an_agent_enrols_with_a_token_and_its_key_alone_speaks_for_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let hash = password_hash(PASSWORD);
    let mut daemon = Daemon::start(
        dir.path(),
        &format!(
            "hb_key: '{SHARED}'
require_signed: true
users:
  ada: {{admin: true, password: '{hash}'}}
groups:
  web:
    hosts: ['web*']
"
        ),
    );
    let admin = daemon.login("ada", PASSWORD);

    // A token for two web hosts, approved at once.
    let token = make_token(
        &daemon,
        &admin,
        r#"{"uses": 2, "group": "web", "auto_approve": true, "expires_in": 3600}"#,
    );
    assert!(token.starts_with("hbe1-"), "{token}");
    let listed = as_admin(&daemon, &admin, "GET", "/api/0/enrolment/tokens", None).json();
    assert_eq!(listed["tokens"][0]["uses_left"], 2, "{listed}");
    assert!(
        !listed.to_string().contains(&token[22..]),
        "the secret is never shown again: {listed}"
    );

    let out = enrol(&daemon, dir.path(), "web1", &token);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("speaks for web1 from now on"),
        "{}",
        text(&out)
    );
    let key_file = dir.path().join("web1.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Enrolling again over an existing key file is refused on the agent.
    let again = enrol(&daemon, dir.path(), "web1", &token);
    assert!(!again.status.success() && text(&again).contains("hbc rekey"));

    // A name outside the token's group is refused, and uses nothing.
    let db = enrol(&daemon, dir.path(), "db1", &token);
    assert!(!db.status.success());
    assert!(
        text(&db).contains("\"db1\" is not a host of group \"web\""),
        "{}",
        text(&db)
    );
    assert!(!dir.path().join("db1.key").exists());

    // The agent runs with the key it made.
    let mut web1 = agent(dir.path(), &daemon, "web1");
    assert!(
        up(&daemon, &admin, "web1"),
        "web1 never UP; agent log:\n{}",
        web1.log()
    );

    // The shared key no longer speaks for web1, under any key id.
    let impostor = {
        use hb_proto::{Heartbeat, Key, Message, Signer, frame};
        let message = Message::Heartbeat(Heartbeat {
            name: "web1".into(),
            ts: Some(hbd_e2e::unix_now()),
            run: Some(99),
            seq: Some(1),
            ..Heartbeat::default()
        });
        let signer = Signer {
            key_id: "impostor".into(),
            key: Key::new(SHARED),
        };
        frame::encode(&message, Some(&signer), frame::DEFAULT_COMPRESS_OVER).unwrap()
    };
    hbd_e2e::send_datagram(daemon.udp_addr(), &impostor);
    assert_eq!(
        rejected(&daemon, &admin, "impostor").as_deref(),
        Some("invalid")
    );

    // A token an administrator approves: the key waits, then speaks.
    let pending = make_token(&daemon, &admin, "{}");
    let out = enrol(&daemon, dir.path(), "web2", &pending);
    assert!(
        text(&out).contains("once an administrator approves it"),
        "{}",
        text(&out)
    );
    let used = enrol(&daemon, dir.path(), "web3", &pending);
    assert!(
        text(&used).contains("the token is unknown, expired or used up"),
        "a one-use token: {}",
        text(&used)
    );
    let mut web2 = agent(dir.path(), &daemon, "web2");
    assert_eq!(
        rejected(&daemon, &admin, "web2").as_deref(),
        Some("unknown_key")
    );
    assert!(host(&daemon, &admin, "web2").is_none_or(|h| h["state"] != "UP"));
    let approved = as_admin(
        &daemon,
        &admin,
        "POST",
        "/api/0/enrolment/keys/web2/approve",
        None,
    );
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.json()["standing"], "active");
    assert_eq!(approved.json()["by"], "ada");
    assert!(
        up(&daemon, &admin, "web2"),
        "web2 never UP; agent log:\n{}",
        web2.log()
    );

    // Rekey: a new key, proved with the old; the old no longer speaks, nor proves.
    web2.kill();
    let old = std::fs::read_to_string(dir.path().join("web2.key")).unwrap();
    let url = format!("http://{}", daemon.http_addr());
    let key2 = dir.path().join("web2.key");
    let rekey = |file: &Path| {
        hbc(&[
            "rekey",
            "--url",
            &url,
            "--name",
            "web2",
            "--key-file",
            file.to_str().unwrap(),
        ])
    };
    let out = rekey(&key2);
    assert!(out.status.success(), "{}", text(&out));
    let new = std::fs::read_to_string(&key2).unwrap();
    assert_ne!(new, old);
    let stale = dir.path().join("web2-old.key");
    std::fs::write(&stale, &old).unwrap();
    let out = rekey(&stale);
    assert!(
        !out.status.success() && text(&out).contains("refused (403)"),
        "{}",
        text(&out)
    );
    let keys = as_admin(&daemon, &admin, "GET", "/api/0/enrolment/keys", None).json();
    let web2_key = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["host"] == "web2")
        .unwrap()
        .clone();
    assert_eq!(web2_key["by"], "web2", "{keys}");
    assert!(
        !keys.to_string().contains(new.trim()),
        "the key is never shown"
    );

    // Revoked: web1 is silenced at once, and stays so across a restart.
    let revoked = as_admin(
        &daemon,
        &admin,
        "POST",
        "/api/0/enrolment/keys/web1/revoke",
        None,
    );
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    daemon.restart();
    let admin = daemon.login("ada", PASSWORD);
    assert_eq!(
        rejected(&daemon, &admin, "web1").as_deref(),
        Some("unknown_key")
    );
    let keys = as_admin(&daemon, &admin, "GET", "/api/0/enrolment/keys", None).json();
    let standing: Vec<(String, String)> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["host"].as_str().unwrap().to_owned(),
                k["standing"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        standing,
        [
            ("web1".to_owned(), "revoked".to_owned()),
            ("web2".to_owned(), "active".to_owned())
        ]
    );
    web1.kill();

    // After the restart web2's new key speaks: heard again after the restart.
    let restarted = hbd_e2e::unix_now();
    let web2 = agent(dir.path(), &daemon, "web2");
    assert!(
        wait_until(Duration::from_secs(15), || {
            host(&daemon, &admin, "web2").is_some_and(|h| {
                h["state"] == "UP"
                    && h["seconds_since_last_seen"]
                        .as_f64()
                        .is_some_and(|s| s < hbd_e2e::unix_now() - restarted)
            })
        }),
        "web2 never heard with its new key; agent log:\n{}",
        web2.log()
    );
}
