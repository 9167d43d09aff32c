//! Behind an authenticating proxy (`auth_proxy`): the user its header names is signed
//! in, on the API and the pages, only when the connection comes from the proxy's
//! addresses; the same header from anywhere else is ignored. A name that is no user is
//! refused, and a browser's cross-site request is refused as with the session cookie.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use hbd_e2e::{Daemon, password_hash};

fn config(proxy: &str) -> String {
    format!(
        "users:
  ada: {{admin: true, password: '{hash}'}}
  olga: {{password: '{hash}'}}
hosts:
  web1: {{owner: olga}}
auth_proxy:
  addresses: [{proxy}]
  header: X-Forwarded-User
",
        hash = password_hash("correct horse battery")
    )
}

#[test]
fn the_proxys_header_signs_in_only_from_the_proxys_addresses() {
    let dir = tempfile::tempdir().unwrap();
    // The proxy is at 127.0.0.2; this test connects from 127.0.0.1.
    let daemon = Daemon::start(dir.path(), &config("127.0.0.2"));
    fn as_user(user: &str) -> [(&'static str, &str); 1] {
        [("X-Forwarded-User", user)]
    }
    let me = daemon.call("GET", "/api/0/auth/me", &as_user("ada"), None);
    assert_eq!(
        me.status, 401,
        "a header from outside the proxy signed in: {}",
        me.body
    );
    let live = daemon.call("GET", "/live", &as_user("ada"), None);
    assert_eq!(live.status, 303, "{}", live.body);

    // Now the proxy is where this test connects from (a reload applies it).
    std::fs::write(daemon.config_path(), config("127.0.0.0/30")).unwrap();
    daemon.reload().unwrap();
    let me = daemon.call("GET", "/api/0/auth/me", &as_user("olga"), None);
    assert_eq!(me.status, 200, "{}", me.body);
    let me = me.json();
    assert_eq!(me["name"], "olga", "{me}");
    assert_eq!(me["admin"], false, "{me}");
    // Her role comes from the config as for a password sign-in.
    let hosts = daemon.call("GET", "/api/0/hosts", &as_user("olga"), None);
    assert!(hosts.body.contains("web1"), "{}", hosts.body);
    let page = daemon.call("GET", "/live", &as_user("ada"), None);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("ada"), "the page names its user");

    // No header from the proxy: nobody.
    let anonymous = daemon.call("GET", "/api/0/auth/me", &[], None);
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    // A name that is no user here.
    let stranger = daemon.call("GET", "/api/0/auth/me", &as_user("mallory"), None);
    assert_eq!(stranger.status, 403, "{}", stranger.body);
    assert!(
        stranger
            .body
            .contains("`mallory`, who is not a user of this daemon"),
        "{}",
        stranger.body
    );

    // A change from the daemon's own page goes through; one from another site does not.
    let same = [
        ("X-Forwarded-User", "ada"),
        ("Sec-Fetch-Site", "same-origin"),
    ];
    let reload = daemon.call("POST", "/api/0/config/reload", &same, None);
    assert_eq!(reload.status, 200, "{}", reload.body);
    let cross = [
        ("X-Forwarded-User", "ada"),
        ("Sec-Fetch-Site", "cross-site"),
    ];
    let refused = daemon.call("POST", "/api/0/config/reload", &cross, None);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("cross-site request refused"),
        "{}",
        refused.body
    );
    // And olga's role holds: no reloads for her.
    let hers = [
        ("X-Forwarded-User", "olga"),
        ("Sec-Fetch-Site", "same-origin"),
    ];
    let denied = daemon.call("POST", "/api/0/config/reload", &hers, None);
    assert_eq!(denied.status, 403, "{}", denied.body);
    // Signing out is the proxy's business.
    let logout = daemon.call("POST", "/api/0/auth/logout", &same, None);
    assert_eq!(logout.status, 409, "{}", logout.body);
}

#[test]
fn auth_proxy_needs_addresses_and_a_header_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hbd.yaml");
    std::fs::write(
        &config,
        "auth_proxy:\n  addresses: [proxy.example]\n  header: 'bad header'\n",
    )
    .unwrap();
    let out = std::process::Command::new(hbd_e2e::bin("hbd"))
        .arg("check-config")
        .arg("-c")
        .arg(&config)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(
            "hbd.yaml:2: error: auth_proxy.addresses: `proxy.example` is not an address or a block"
        ),
        "{text}"
    );
    assert!(
        text.contains("hbd.yaml:3: error: auth_proxy.header: `bad header` is not a header name"),
        "{text}"
    );
}
