//! HTTPS on the API port (`hbd_tls`): a real TLS client, the `Secure` `__Host-` cookie,
//! and a renewed certificate taken up by a reload without a restart.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::Path;
use std::time::Duration;

use hbd_e2e::{Daemon, password_hash, wait_until};

/// Writes a new self-signed certificate for 127.0.0.1 and returns its PEM.
fn new_certificate(dir: &Path) -> String {
    let made =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let pem = made.cert.pem();
    std::fs::write(dir.join("fullchain.pem"), &pem).unwrap();
    std::fs::write(dir.join("privkey.pem"), made.signing_key.serialize_pem()).unwrap();
    pem
}

/// A client that trusts only `pem`.
fn client(pem: &str) -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()])
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[test]
fn the_api_speaks_tls_and_a_renewed_certificate_needs_only_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let first = new_certificate(dir.path());
    let config = format!(
        "hbd_tls: true\nwss_port: 0\ncert_path: {}\nwss_pem: fullchain.pem\nwss_key: privkey.pem\n\
         users:\n  ada: {{admin: true, password: '{}'}}\n",
        dir.path().display(),
        password_hash("tls test password")
    );
    let daemon = Daemon::start(dir.path(), &config);
    assert!(daemon.log().contains("tls=true"), "{}", daemon.log());
    let base = format!("https://127.0.0.1:{}", daemon.http_port);
    let login = client(&first)
        .post(format!("{base}/api/0/auth/login"))
        .json(&serde_json::json!({"username": "ada", "password": "tls test password"}))
        .send()
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-hbd_session="), "{cookie}");
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // Plain HTTP on the TLS port gets nowhere.
    assert_ne!(daemon.get("/api/0/hosts").map(|r| r.0), Some(401));

    let second = new_certificate(dir.path());
    assert!(
        client(&second)
            .get(format!("{base}/api/0/openapi.json"))
            .send()
            .is_err(),
        "the daemon still serves the first certificate"
    );
    daemon.reload().unwrap();
    let renewed = wait_until(Duration::from_secs(10), || {
        client(&second)
            .get(format!("{base}/api/0/openapi.json"))
            .send()
            .is_ok_and(|r| r.status() == 200)
    });
    assert!(
        renewed,
        "the renewed certificate is served; log:\n{}",
        daemon.log()
    );
    assert!(
        client(&first)
            .get(format!("{base}/api/0/openapi.json"))
            .send()
            .is_err()
    );
}
