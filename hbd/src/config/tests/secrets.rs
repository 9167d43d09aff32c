//! Secrets from files and the environment: every key that holds a password, a key, a
//! token or a URL with one in it takes `{file: PATH}` or `{env: NAME}` instead of the
//! value, so the config can live in version control.

use super::*;

const HASH: &str = "pbkdf2:sha256:600000$c2FsdHNhbHQ$0c8d0b1b3b1e4cb2aa9f24e0a5b1d5e0a1d4a8d41c3b0b1c0c1e5b2f3f0a9b8c";

/// Each secret key read from a file beside the config (a relative path) and from an
/// environment variable every process has, landing as if written in place.
#[test]
fn every_secret_key_takes_a_file_or_an_environment_variable() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    let put = |name: &str, value: &str| {
        std::fs::write(secrets.join(name), format!("{value}\n")).unwrap();
    };
    put("hb_key", "the shared key, from a file");
    put("db1", "db1's own key, from a file");
    put("smtp", "smtp password");
    put("pushover", "pushover-app-token");
    put("mattermost", "https://chat.example/hooks/s3cret");
    put("postgres", "host=127.0.0.1 user=hbd password=s3cret");
    put(
        "remote_write",
        "https://vm.example/api/v1/write?token=s3cret",
    );
    put("ada", HASH);
    let path_var = std::env::var("PATH").unwrap();
    let text = "hb_key: {file: secrets/hb_key}
hosts:
  db1: {key: {file: secrets/db1}}
  web1: {key: {env: PATH}}
users:
  ada: {password: {file: secrets/ada}, admin: true}
email: {host: smtp.example, from: hbd@example.org, to: [ops@example.org], username: hbd, password: {file: secrets/smtp}}
pushover: {token: {file: secrets/pushover}, user: {env: PATH}}
mattermost: {webhook_url: {file: secrets/mattermost}}
ha: {postgres: {file: secrets/postgres}}
remote_write: {url: {file: secrets/remote_write}}
";
    std::fs::write(dir.path().join("hbd.yaml"), text).unwrap();
    let loaded =
        load(Some(&dir.path().join("hbd.yaml"))).unwrap_or_else(|refused| panic!("{refused}"));
    let c = loaded.config;
    let key = |k: &hb_proto::signing::Key, text: &str| {
        *k == hb_proto::signing::Key::new(text.as_bytes().to_vec())
    };
    assert!(key(
        c.hb_key.as_ref().unwrap(),
        "the shared key, from a file"
    ));
    assert!(key(
        c.hosts["db1"].key.as_ref().unwrap(),
        "db1's own key, from a file"
    ));
    assert!(key(c.hosts["web1"].key.as_ref().unwrap(), &path_var));
    assert_eq!(c.users["ada"].password.as_deref(), Some(HASH));
    let email = c.notify.email.as_ref().unwrap();
    assert_eq!(email.password.as_deref(), Some("smtp password"));
    let pushover = c.notify.pushover.as_ref().unwrap();
    assert_eq!(pushover.token, "pushover-app-token");
    assert_eq!(pushover.user.as_deref(), Some(path_var.as_str()));
    assert_eq!(
        c.notify.mattermost.as_ref().unwrap().webhook_url,
        "https://chat.example/hooks/s3cret"
    );
    assert_eq!(
        c.ha.as_ref().unwrap().postgres,
        "host=127.0.0.1 user=hbd password=s3cret"
    );
    assert_eq!(
        c.remote_write.as_ref().unwrap().url,
        "https://vm.example/api/v1/write?token=s3cret"
    );
}

/// A secret that cannot be had is an error at its key, file and line, naming where it
/// was to come from; a secret's value is checked as if written in place.
#[test]
fn a_missing_or_unfit_secret_names_its_key_and_where_it_was_to_come_from() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("short"), "too short\n").unwrap();
    std::fs::write(dir.path().join("plain"), "hunter2\n").unwrap();
    let text = "interval: 30
hb_key: {file: missing-key}
hosts:
  db1: {key: {file: short}}
users:
  ada: {password: {file: plain}}
pushover: {token: {env: HBD_TEST_SURELY_UNSET_VARIABLE}}
";
    let file = dir.path().join("hbd.yaml");
    std::fs::write(&file, text).unwrap();
    let Err(refused) = load(Some(&file)) else {
        panic!("a config with missing secrets loaded");
    };
    let all = refused.to_string();
    for want in [
        format!(
            "hbd.yaml:2: error: hb_key: cannot read the secret's file {}",
            dir.path().join("missing-key").display()
        ),
        "hbd.yaml:4: error: hosts.db1.key: a key must be at least 16 characters, this one has 9"
            .to_owned(),
        "hbd.yaml:6: error: users.ada.password:".to_owned(),
        "hbd.yaml:7: error: pushover.token: the environment variable HBD_TEST_SURELY_UNSET_VARIABLE is not set".to_owned(),
    ] {
        assert!(all.contains(&want), "wanted {want:?} in:\n{all}");
    }
    assert!(!all.contains("hunter2"), "a secret in a message:\n{all}");
}
