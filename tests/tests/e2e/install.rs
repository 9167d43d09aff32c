//! `scripts/hb_install.sh` into a scratch root: binaries, system users, directories,
//! commented configs that pass `check-config`, and systemd units that
//! `systemd-analyze verify` accepts and `systemd-analyze security` rates as hardened;
//! a second run (an upgrade) replaces the binary and keeps the edited config.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use hbd_e2e::needs::Need;
use std::path::Path;
use std::process::Command;

use hbd_e2e::bin;

fn install(root: &Path, what: &str, binary: &Path) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/hb_install.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg(what)
        .arg("--root")
        .arg(root)
        .arg("--binary")
        .arg(binary)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "hb_install.sh {what}: {text}");
    text
}

/// Exposure score of `systemd-analyze security` (0 best, 10 worst).
fn exposure(unit: &Path) -> f64 {
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(unit)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure in: {text}"));
    line.split(": ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap()
}

#[test]
fn the_installer_sets_up_daemon_and_agent_and_an_upgrade_keeps_the_config() {
    hbd_e2e::require!(Need::SystemdAnalyze);
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    for (what, name) in [("daemon", "hbd"), ("agent", "hbc")] {
        install(r, what, &bin(name));
        // Binary, user, directories, config, unit.
        let installed = r.join(format!("usr/local/bin/{name}"));
        let version = Command::new(&installed).arg("--version").output().unwrap();
        assert!(String::from_utf8_lossy(&version.stdout).starts_with(name));
        if name == "hbc" {
            // The plugin compiler beside the agent's binary goes in with it.
            let compiler = r.join("usr/local/bin/hbc-compile");
            let version = Command::new(&compiler).arg("--version").output().unwrap();
            assert!(String::from_utf8_lossy(&version.stdout).starts_with("hbc-compile "));
        }
        let passwd = std::fs::read_to_string(r.join("etc/passwd")).unwrap();
        assert!(
            passwd.lines().any(|l| l.starts_with(&format!("{name}:"))
                && l.ends_with(&format!(":/var/lib/{name}:/usr/sbin/nologin"))),
            "{passwd}"
        );
        assert!(r.join(format!("var/lib/{name}")).is_dir());
        // Its man page and completions, generated from the binary's own options.
        let man =
            std::fs::read_to_string(r.join(format!("usr/local/share/man/man8/{name}.8"))).unwrap();
        assert!(
            man.contains(&format!(".TH {name} 8")) && man.contains("check\\-config"),
            "{man}"
        );
        let bash = std::fs::read_to_string(r.join(format!(
            "usr/local/share/bash-completion/completions/{name}"
        )))
        .unwrap();
        assert!(bash.contains(&format!("complete -F _{name}")) && bash.contains("check-config"));
        assert!(
            r.join(format!("usr/local/share/zsh/site-functions/_{name}"))
                .is_file()
        );
        assert!(
            r.join(format!(
                "usr/local/share/fish/vendor_completions.d/{name}.fish"
            ))
            .is_file()
        );
        let config = r.join(format!("etc/{name}/{name}.yaml"));
        let check = Command::new(&installed)
            .arg("check-config")
            .arg("-c")
            .arg(&config)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "the commented config does not pass: {}",
            String::from_utf8_lossy(&check.stdout)
        );
        // The unit, pointed at the installed binary on this machine, verifies clean.
        let unit =
            std::fs::read_to_string(r.join(format!("etc/systemd/system/{name}.service"))).unwrap();
        assert!(unit.contains("NoNewPrivileges=yes") && unit.contains("ProtectSystem=strict"));
        let here = r.join(format!("{name}.service"));
        std::fs::write(
            &here,
            unit.replace(
                &format!("/usr/local/bin/{name}"),
                &installed.display().to_string(),
            ),
        )
        .unwrap();
        let verify = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&here)
            .output()
            .unwrap();
        assert!(
            verify.status.success() && verify.stderr.is_empty(),
            "systemd-analyze verify {name}.service: {}",
            String::from_utf8_lossy(&verify.stderr)
        );
        let score = exposure(&here);
        assert!(
            score <= 2.5,
            "{name}.service exposure {score} (2.5 at most)"
        );
    }
    assert!(
        std::fs::read_to_string(r.join("etc/systemd/system/hbc.service"))
            .unwrap()
            .contains("AmbientCapabilities=CAP_NET_RAW"),
        "the agent may ping"
    );
    assert!(
        std::fs::read_to_string(r.join("etc/systemd/system/hbd.service"))
            .unwrap()
            .contains("CapabilityBoundingSet=\n"),
        "the daemon holds no capability"
    );

    // Upgrade: the edited config stays, the binary is the new one.
    let config = r.join("etc/hbd/hbd.yaml");
    std::fs::write(&config, "interval: 30\n").unwrap();
    let before = std::fs::metadata(r.join("usr/local/bin/hbd")).unwrap();
    let out = install(r, "daemon", &bin("hbd"));
    assert!(out.contains("keeping"), "{out}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "interval: 30\n");
    let after = std::fs::metadata(r.join("usr/local/bin/hbd")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_ne!(
        before.ino(),
        after.ino(),
        "replaced by rename, not rewritten in place"
    );
}

#[test]
fn the_installer_refuses_what_it_cannot_do() {
    let root = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/hb_install.sh");
    let run = |args: &[&str]| {
        let out = Command::new("bash")
            .arg(&script)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let r = root.path().to_str().unwrap();
    let (code, err) = run(&["server", "--root", r]);
    assert_eq!(code, Some(1));
    assert!(err.contains("daemon, agent or release"), "{err}");
    let text = root.path().join("hbd.txt");
    std::fs::write(&text, "not a program").unwrap();
    let (code, err) = run(&["daemon", "--root", r, "--binary", text.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(err.contains("is not an executable"), "{err}");
    let (code, err) = run(&["agent", "--root", r, "--archive", "/nonexistent.tar.gz"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("cannot unpack"), "{err}");
}

fn script(args: &[&str]) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/hb_install.sh");
    run_in(Path::new("."), &script, args)
}

/// Runs `bash SCRIPT ARGS` in `dir`: whether it succeeded, and what it printed.
fn run_in(dir: &Path, script: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("bash")
        .arg(script)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn sha256(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_release_published_for_the_daemon_installs_an_agent_that_can_upgrade_itself() {
    let dir = tempfile::tempdir().unwrap();
    let releases = dir.path().join("releases");
    let hbc = bin("hbc");
    let d = releases.to_str().unwrap();
    // Publish: the binary under its release name, listed in SHA256SUMS.
    let (ok, out) = script(&["release", "--dir", d, "--binary", hbc.to_str().unwrap()]);
    assert!(ok, "{out}");
    let version = String::from_utf8(Command::new(&hbc).arg("--version").output().unwrap().stdout)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    let file = format!("hbc-{version}-{}-linux", std::env::consts::ARCH);
    assert_eq!(sha256(&releases.join(&file)), sha256(&hbc));
    // The plugin compiler beside the binary goes with it, under its own release name.
    let compiler_file = format!("hbc-compile-{version}-{}-linux", std::env::consts::ARCH);
    assert_eq!(
        sha256(&releases.join(&compiler_file)),
        sha256(&bin("hbc-compile")),
        "{out}"
    );
    assert!(
        out.contains(&format!("{file} and {compiler_file}")),
        "{out}"
    );
    let check = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&releases)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");

    // Install from the daemon's releases, set up for self-upgrade.
    let daemon = hbd_e2e::Daemon::start(dir.path(), &format!("releases_dir: {d}\n"));
    let url = format!("http://{}", daemon.http_addr());
    let root = dir.path().join("root");
    let r = root.to_str().unwrap();
    let (ok, out) = script(&[
        "agent",
        "--root",
        r,
        "--from-daemon",
        &url,
        "--self-upgrade",
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("SHA-256 checked"), "{out}");
    let own = root.join("var/lib/hbc/bin/hbc");
    assert_eq!(sha256(&own), sha256(&hbc));
    assert_eq!(
        std::fs::read_link(root.join("usr/local/bin/hbc")).unwrap(),
        Path::new("/var/lib/hbc/bin/hbc")
    );
    // Its compiler too, beside it, where an upgrade replaces it.
    assert!(out.contains(&format!("fetched {compiler_file}")), "{out}");
    assert_eq!(
        sha256(&root.join("var/lib/hbc/bin/hbc-compile")),
        sha256(&bin("hbc-compile"))
    );
    assert_eq!(
        std::fs::read_link(root.join("usr/local/bin/hbc-compile")).unwrap(),
        Path::new("/var/lib/hbc/bin/hbc-compile")
    );
    let unit = std::fs::read_to_string(root.join("etc/systemd/system/hbc.service")).unwrap();
    assert!(unit.contains("ExecStart=/var/lib/hbc/bin/hbc -c"), "{unit}");
    let config = root.join("etc/hbc/hbc.yaml");
    assert!(
        std::fs::read_to_string(&config)
            .unwrap()
            .contains("upgrade: true")
    );
    let check = Command::new(&own)
        .arg("check-config")
        .arg("-c")
        .arg(&config)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");

    // A release that no longer matches its SHA-256 is not installed.
    let mut bytes = std::fs::read(releases.join(&file)).unwrap();
    bytes[100] ^= 1;
    std::fs::write(releases.join(&file), bytes).unwrap();
    let other = dir.path().join("other");
    let (ok, out) = script(&[
        "agent",
        "--root",
        other.to_str().unwrap(),
        "--from-daemon",
        &url,
    ]);
    assert!(!ok && out.contains("does not match its SHA-256"), "{out}");
    assert!(!other.join("usr/local/bin/hbc").exists());
    let (ok, out) = script(&[
        "agent",
        "--root",
        r,
        "--from-daemon",
        &url,
        "--version",
        "0.0.0-none",
    ]);
    assert!(!ok && out.contains("lists no hbc 0.0.0-none"), "{out}");
}

#[test]
fn the_script_alone_fetched_from_the_daemon_installs_an_agent_on_a_bare_host() {
    let dir = tempfile::tempdir().unwrap();
    let releases = dir.path().join("releases");
    let d = releases.to_str().unwrap();
    let (ok, out) = script(&[
        "release",
        "--dir",
        d,
        "--binary",
        bin("hbc").to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("hb_install.sh"), "{out}");
    let daemon = hbd_e2e::Daemon::start(dir.path(), &format!("releases_dir: {d}\n"));
    let url = format!("http://{}", daemon.http_addr());

    // A bare host: an empty directory, and the script the daemon serves, nothing else.
    let bare = dir.path().join("bare");
    std::fs::create_dir(&bare).unwrap();
    let fetched = Command::new("curl")
        .args([
            "-fsS",
            "-o",
            "hb_install.sh",
            &format!("{url}/releases/hb_install.sh"),
        ])
        .current_dir(&bare)
        .status()
        .unwrap();
    assert!(fetched.success());
    let alone = |args: &[&str]| run_in(&bare, Path::new("hb_install.sh"), args);

    // Without a daemon to fetch from, it needs the agent's files: it says so and
    // installs nothing.
    let half = dir.path().join("half");
    let (ok, out) = alone(&[
        "agent",
        "--root",
        half.to_str().unwrap(),
        "--binary",
        bin("hbc").to_str().unwrap(),
    ]);
    assert!(!ok && out.contains("nothing was installed"), "{out}");
    assert!(!half.join("usr/local/bin/hbc").exists(), "a half install");

    // An enrolment token (the daemon has no users: its API is open on loopback).
    let made = daemon.call(
        "POST",
        "/api/0/enrolment/tokens",
        &[],
        Some(r#"{"auto_approve": true}"#),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let token = made.json()["token"].as_str().unwrap().to_owned();

    let root = dir.path().join("root");
    let (ok, out) = alone(&[
        "agent",
        "--root",
        root.to_str().unwrap(),
        "--from-daemon",
        &url,
        "--token",
        &token,
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("fetched hb-agent-files-"), "{out}");
    // Enrolled at install: the key is there, the config reads it, the daemon knows it.
    assert!(out.contains("hb_install: enrolled"), "{out}");
    use std::os::unix::fs::PermissionsExt;
    let key = root.join("etc/hbc/key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let written = std::fs::read_to_string(root.join("etc/hbc/hbc.yaml")).unwrap();
    assert!(written.contains("\nkey_file: /etc/hbc/key\n"), "{written}");
    let keys = daemon.get_json("/api/0/enrolment/keys");
    assert_eq!(keys["keys"][0]["standing"], "active", "{keys}");
    // Binary, compiler, user, config, plugins directory, unit, user docs.
    assert_eq!(sha256(&root.join("usr/local/bin/hbc")), sha256(&bin("hbc")));
    assert!(root.join("usr/local/bin/hbc-compile").exists());
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert!(passwd.lines().any(|l| l.starts_with("hbc:")), "{passwd}");
    assert!(root.join("etc/hbc/plugins").is_dir());
    let config = root.join("etc/hbc/hbc.yaml");
    let check = Command::new(root.join("usr/local/bin/hbc"))
        .arg("check-config")
        .arg("-c")
        .arg(&config)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    let unit = std::fs::read_to_string(root.join("etc/systemd/system/hbc.service")).unwrap();
    assert!(
        unit.contains("ExecStart=/usr/local/bin/hbc -c /etc/hbc/hbc.yaml"),
        "{unit}"
    );
    let docs: Vec<String> = std::fs::read_dir(root.join("usr/local/share/doc/hbd"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for want in ["README.md", "PLUGINS.md", "CONFIG.md", "LICENSE"] {
        assert!(docs.iter().any(|d| d == want), "{want} missing: {docs:?}");
    }
    for developers in [
        "STYLE.md",
        "DEVELOPMENT.md",
        "ARCHITECTURE.md",
        "PERFORMANCE.md",
    ] {
        assert!(
            !docs.iter().any(|d| d == developers),
            "{developers} installed: {docs:?}"
        );
    }
}
