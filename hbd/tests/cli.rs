//! The `hbd` command line: check-config, --version, and refusing a bad config at start.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::process::Command;

fn hbd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hbd"))
}

#[test]
fn check_config_lists_every_problem_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbd.yaml");
    std::fs::write(
        &path,
        "hb_port: 50003\nintervall: 30\ngrace: -5\nhosts:\n  web1:\n    interval: fast\npickfile: /var/lib/hbd.pickle\n",
    )
    .unwrap();
    let out = hbd()
        .arg("check-config")
        .arg("-c")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let file = path.display();
    for want in [
        format!("{file}:2: warning: intervall: unknown key, ignored; did you mean `interval`?"),
        format!("{file}:3: error: grace: expected a number of seconds >= 0, found -5"),
        format!(
            "{file}:6: error: hosts.web1.interval: expected a number of seconds > 0, found \"fast\""
        ),
        format!("{file}:7: error: pickfile: is replaced by state_db"),
        "3 error(s): configuration refused".to_owned(),
    ] {
        assert!(stdout.contains(&want), "missing {want:?} in:\n{stdout}");
    }
}

#[test]
fn check_config_accepts_a_good_file_and_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbd.yaml");
    std::fs::write(&path, "interval: 30\ngrace: 10\njournal_max_size: 10MB\n").unwrap();
    let out = hbd()
        .arg("check-config")
        .arg("-c")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("configuration OK (0 warning(s))"));
    // Without -c: ~/.hb.yaml when it exists, else the defaults.
    let home = tempfile::tempdir().unwrap();
    let out = hbd()
        .arg("check-config")
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("built-in defaults: configuration OK"));
    std::fs::write(home.path().join(".hb.yaml"), "intervall: 30\n").unwrap();
    let out = hbd()
        .arg("check-config")
        .env("HOME", home.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(".hb.yaml:1: warning: intervall"),
        "~/.hb.yaml was read: {stdout}"
    );
}

#[test]
fn the_original_daemons_minimal_config_is_accepted() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/original-minimal.yaml");
    let out = hbd()
        .arg("check-config")
        .arg("-c")
        .arg(&fixture)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("configuration OK"), "{stdout}");
}

#[test]
fn a_bad_config_stops_the_daemon_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbd.yaml");
    std::fs::write(&path, "hb_port: lots\n").unwrap();
    let out = hbd().arg("-f").arg("-c").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:1: error: hb_port", path.display())),
        "{stderr}"
    );
}

#[test]
fn version_is_printed() {
    let out = hbd().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("hbd {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn passwd_prints_a_hash_that_verifies() {
    use std::io::Write;
    let run = |input: &str| {
        let mut child = hbd()
            .args(["passwd", "alice", "--iterations", "1000"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run("s3cret pass\ns3cret pass\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let hash = printed.trim();
    assert!(hash.starts_with("pbkdf2:sha256:1000$"), "{hash}");
    let parsed = hbd::auth::password::PasswordHash::parse(hash).unwrap();
    assert!(parsed.verify("s3cret pass"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("users.alice.password"));
    // Two different entries, or none: nothing printed, exit 1.
    for input in ["a\nb\n", ""] {
        let out = run(input);
        assert_eq!(out.status.code(), Some(1), "{input:?}");
        assert!(out.stdout.is_empty());
    }
}
