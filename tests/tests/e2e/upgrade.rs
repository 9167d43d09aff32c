//! Agent self-upgrade end to end: the operator's release directory (`releases_dir`,
//! files and `SHA256SUMS`), an upgrade queued through the API, the signed `UPD`, and a
//! real `hbc` that downloads the release from the daemon, checks it, swaps its own
//! binary (and its plugin compiler, when the release has one), executes the new one in
//! its place and reports from it; and every way it must not install: a file changed
//! after it was announced, a binary that does not start, an agent whose config does not
//! allow upgrades, a host without a key.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::time::Duration;

use hbd_e2e::{Agent, Daemon, Reply, bin, wait_until};
use serde_json::Value;
use sha2::{Digest, Sha256};

const KEY: &str = "the upgrade test key";

fn sha256(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn platform() -> String {
    format!("{}-linux", std::env::consts::ARCH)
}

/// The built agent's version, as `hbc --version` prints it.
fn hbc_version() -> String {
    let out = std::process::Command::new(bin("hbc"))
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace().nth(1).unwrap().to_owned()
}

/// Writes release `version` with `bytes` into `dir` and lists every release there in
/// `SHA256SUMS`, as `hb_install.sh release` does.
fn publish(dir: &Path, version: &str, bytes: &[u8]) -> PathBuf {
    publish_program(dir, "hbc", version, bytes)
}

/// Publishes the built agent with bytes appended, so it runs the same but is a
/// different file (a different SHA-256) from the one installed.
fn publish_changed_agent(dir: &Path, version: &str) -> PathBuf {
    let mut bytes = std::fs::read(bin("hbc")).unwrap();
    bytes.extend_from_slice(b"\n-- hbd upgrade test release --\n");
    publish(dir, version, &bytes)
}

/// As [`publish`], for `program` (`hbc` or `hbc-compile`).
fn publish_program(dir: &Path, program: &str, version: &str, bytes: &[u8]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join(format!("{program}-{version}-{}", platform()));
    std::fs::write(&file, bytes).unwrap();
    let mut sums = String::new();
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("hbc-"))
        .collect();
    names.sort();
    for name in names {
        sums.push_str(&format!("{}  {name}\n", sha256(&dir.join(&name))));
    }
    std::fs::write(dir.join("SHA256SUMS"), sums).unwrap();
    file
}

/// A copy of the built agent in `dir/bin`, where it may replace itself.
fn install_agent(dir: &Path) -> PathBuf {
    let bin_dir = dir.join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let installed = bin_dir.join("hbc");
    std::fs::copy(bin("hbc"), &installed).unwrap();
    installed
}

fn daemon_config(releases: &Path) -> String {
    format!(
        "interval: 1\nreleases_dir: {}\nhosts:\n  web1: {{key: '{KEY}'}}\n  web2: {{key: '{KEY}'}}\n  plain: {{}}\n",
        releases.display()
    )
}

fn agent_config(dir: &Path, upgrade: bool) -> String {
    format!(
        "interval: 0.3\nkey: '{KEY}'\nplugins: {{}}\ncommands:\n  upgrade: {upgrade}\n  ledger: {}\n",
        dir.join("state/commands.json").display()
    )
}

fn upgrade(daemon: &Daemon, host: &str, body: &str) -> Reply {
    daemon.call(
        "POST",
        &format!("/api/0/hosts/{host}/upgrade"),
        &[("Content-Type", "application/json")],
        Some(body),
    )
}

/// Waits until `host` is UP and has reported its platform.
fn wait_reported(daemon: &Daemon, host: &str, agent: &Agent) {
    assert!(
        wait_until(Duration::from_secs(15), || {
            let h = daemon.get_json(&format!("/api/0/hosts/{host}"));
            h["state"] == "UP" && h["arch"] == platform()
        }),
        "{host} never came up with its platform: {}",
        agent.log()
    );
}

/// Starts the agent installed at `installed` as `host` (upgrades allowed or not) and
/// waits until it has reported its platform.
fn start_agent(daemon: &Daemon, dir: &Path, installed: &Path, host: &str, upgrades: bool) -> Agent {
    let agent = Agent::start_binary(
        installed,
        dir,
        host,
        daemon.udp_addr(),
        &agent_config(dir, upgrades),
    );
    wait_reported(daemon, host, &agent);
    agent
}

/// Queues an upgrade of `host` to the newest release and waits for its end: the job as
/// queued, and as finished.
fn upgrade_to_the_end(daemon: &Daemon, host: &str, agent: &Agent) -> (Value, Value) {
    let queued = upgrade(daemon, host, "{}");
    assert_eq!(queued.status, 201, "{}", queued.body);
    let queued = queued.json();
    let done = finished(daemon, host, queued["id"].as_str().unwrap(), agent);
    (queued, done)
}

/// Publishes the built `hbc-compile`, made a different file, as release `version`'s
/// compiler; returns its SHA-256.
fn publish_compiler(releases: &Path, version: &str) -> String {
    let mut bytes = std::fs::read(bin("hbc-compile")).unwrap();
    bytes.extend_from_slice(b"\n-- hbd upgrade test compiler --\n");
    sha256(&publish_program(releases, "hbc-compile", version, &bytes))
}

/// Puts the built `hbc-compile` beside the agent at `installed`; returns where, and its
/// SHA-256.
fn compiler_beside(installed: &Path) -> (PathBuf, String) {
    let compiler = installed.with_file_name("hbc-compile");
    std::fs::copy(bin("hbc-compile"), &compiler).unwrap();
    let sha = sha256(&compiler);
    (compiler, sha)
}

/// Waits until job `id` of `host` is finished; returns it.
fn finished(daemon: &Daemon, host: &str, id: &str, agent: &Agent) -> Value {
    let mut last = Value::Null;
    let done = wait_until(Duration::from_secs(60), || {
        last = daemon.get_json(&format!("/api/0/hosts/{host}/commands/{id}"));
        last["state"] == "done" || last["state"] == "expired"
    });
    assert!(
        done,
        "upgrade {id} still {last}\nagent log:\n{}",
        agent.log()
    );
    last
}

#[test]
fn an_upgrade_swaps_the_binary_runs_the_new_one_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let releases = dir.path().join("releases");
    let version = hbc_version();
    let release_sha = sha256(&publish_changed_agent(&releases, &version));

    let daemon = Daemon::start(dir.path(), &daemon_config(&releases));
    let installed = install_agent(dir.path());
    let original_sha = sha256(&installed);
    let mut agent = start_agent(&daemon, dir.path(), &installed, "web1", true);
    let pid = agent.pid();

    let listed = daemon.get_json("/api/0/releases");
    assert_eq!(listed["enabled"], true);
    assert_eq!(
        listed["releases"][0]["sha256"],
        release_sha.as_str(),
        "{listed}"
    );

    let (queued, done) = upgrade_to_the_end(&daemon, "web1", &agent);
    assert_eq!(queued["upgrade"]["version"], version.as_str());
    assert_eq!(queued["upgrade"]["sha256"], release_sha.as_str());
    assert_eq!(queued["argv"], serde_json::json!([]));
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["exit_code"], 0, "{done}\n{}", agent.log());
    assert_eq!(
        done["output"],
        format!("upgraded from hbc {version} to hbc {version} (sha256 {release_sha})"),
        "reported by the new binary, which hashed itself"
    );
    assert_eq!(sha256(&installed), release_sha, "the release is installed");
    assert_eq!(
        sha256(&installed.with_file_name("hbc.previous")),
        original_sha,
        "the old binary is kept beside it"
    );
    assert!(
        !dir.path().join("state/upgrade.json").exists(),
        "the upgrade record is gone once reported"
    );
    // The same process (execution in place, as a service manager wants it), started
    // again, and heartbeating.
    assert!(agent.running(), "{}", agent.log());
    assert_eq!(agent.pid(), pid);
    let log = agent.log();
    assert_eq!(log.matches("hbc started").count(), 2, "{log}");
    assert!(log.contains("starting the new binary"), "{log}");
    let seen = daemon.get_json("/api/0/hosts/web1")["last_seen"].clone();
    assert!(
        wait_until(Duration::from_secs(10), || daemon
            .get_json("/api/0/hosts/web1")["last_seen"]
            != seen),
        "no heartbeat from the new binary: {}",
        agent.log()
    );
    assert_eq!(daemon.host_state("web1").as_deref(), Some("UP"));
    // Reported once: the upgrade ran once although sent after several heartbeats.
    assert_eq!(agent.log().matches("downloading upgrade").count(), 1);
}

#[test]
fn a_release_with_its_compiler_installs_both_beside_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let releases = dir.path().join("releases");
    let version = hbc_version();
    let release_sha = sha256(&publish_changed_agent(&releases, &version));
    let compiler_sha = publish_compiler(&releases, &version);

    let daemon = Daemon::start(dir.path(), &daemon_config(&releases));
    let installed = install_agent(dir.path());
    let (compiler, original_compiler_sha) = compiler_beside(&installed);
    let agent = start_agent(&daemon, dir.path(), &installed, "web1", true);

    let listed = daemon.get_json("/api/0/releases");
    assert_eq!(
        listed["releases"][0]["compiler"]["sha256"],
        compiler_sha.as_str(),
        "the compiler goes with its release: {listed}"
    );
    assert_eq!(listed["releases"].as_array().unwrap().len(), 1, "{listed}");
    let (queued, done) = upgrade_to_the_end(&daemon, "web1", &agent);
    assert_eq!(
        queued["upgrade"]["compiler"]["sha256"],
        compiler_sha.as_str()
    );
    assert_eq!(done["exit_code"], 0, "{done}\n{}", agent.log());
    assert_eq!(
        done["output"],
        format!(
            "upgraded from hbc {version} to hbc {version} (sha256 {release_sha}), and hbc-compile {version} beside it (sha256 {compiler_sha})"
        ),
    );
    assert_eq!(sha256(&installed), release_sha);
    assert_eq!(
        sha256(&compiler),
        compiler_sha,
        "the new compiler is beside it"
    );
    assert_eq!(
        sha256(&compiler.with_file_name("hbc-compile.previous")),
        original_compiler_sha,
        "the old compiler is kept"
    );
    let runs = std::process::Command::new(&compiler)
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&runs.stdout).trim(),
        format!("hbc-compile {version}")
    );
}

#[test]
fn an_upgrade_that_fails_leaves_the_compiler_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let releases = dir.path().join("releases");
    let version = hbc_version();
    // The release's agent does not start; its compiler is fine, and goes in first (the
    // new agent's check compiles with it), so it must come out again.
    publish(&releases, &version, b"#!/bin/sh\nexit 3\n");
    publish_compiler(&releases, &version);
    let daemon = Daemon::start(dir.path(), &daemon_config(&releases));
    let installed = install_agent(dir.path());
    let original_sha = sha256(&installed);
    let (compiler, original_compiler_sha) = compiler_beside(&installed);
    let mut agent = start_agent(&daemon, dir.path(), &installed, "web1", true);
    let (_, done) = upgrade_to_the_end(&daemon, "web1", &agent);
    assert_eq!(done["exit_code"], 1, "{done}");
    assert!(
        done["output"]
            .as_str()
            .unwrap()
            .contains("the new binary does not start"),
        "{done}"
    );
    assert_eq!(sha256(&installed), original_sha, "the agent is untouched");
    assert_eq!(
        sha256(&compiler),
        original_compiler_sha,
        "the old compiler is back"
    );
    let left: Vec<String> = std::fs::read_dir(installed.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "hbc" && n != "hbc-compile")
        .collect();
    assert!(
        left.is_empty(),
        "nothing else is left beside them: {left:?}"
    );
    assert!(agent.running(), "{}", agent.log());
}

#[test]
fn nothing_is_installed_that_is_not_what_was_announced_or_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let releases = dir.path().join("releases");
    let good = std::fs::read(bin("hbc")).unwrap();
    publish(&releases, "98.0.0", &good);
    let daemon = Daemon::start(dir.path(), &daemon_config(&releases));
    let installed = install_agent(dir.path());
    let original_sha = sha256(&installed);
    let config = agent_config(dir.path(), true);
    let mut agent = Agent::start_binary(&installed, dir.path(), "web1", daemon.udp_addr(), &config);
    wait_reported(&daemon, "web1", &agent);

    // The daemon refuses what it cannot offer, and says why.
    let cases = [
        ("plain", "{}", "unsigned_host", "key"),
        (
            "web1",
            r#"{"version":"1.2.3"}"#,
            "no_release",
            "no release for",
        ),
        (
            "web1",
            r#"{"version":"../x"}"#,
            "bad_request",
            "not a version",
        ),
    ];
    for (host, body, code, words) in cases {
        let reply = upgrade(&daemon, host, body);
        let json = reply.json();
        assert_eq!(json["error"]["code"], code, "{host} {body}: {}", reply.body);
        assert!(
            json["error"]["message"].as_str().unwrap().contains(words),
            "{}",
            reply.body
        );
    }

    // A file changed after it was listed: the daemon will not sign its digest.
    let tampered = releases.join(format!("hbc-98.0.0-{}", platform()));
    let mut bytes = good.clone();
    bytes[1000] ^= 0xff;
    std::fs::write(&tampered, &bytes).unwrap();
    let reply = upgrade(&daemon, "web1", r#"{"version":"98.0.0"}"#);
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert!(
        reply.body.contains("changed or is damaged"),
        "{}",
        reply.body
    );

    // Changed after the upgrade was queued: the agent checks the signed digest and
    // installs nothing. The agent is stopped while the file changes under the daemon.
    std::fs::write(&tampered, &good).unwrap();
    agent.kill();
    let queued = upgrade(&daemon, "web1", r#"{"version":"98.0.0"}"#);
    assert_eq!(queued.status, 201, "{}", queued.body);
    std::fs::write(&tampered, &bytes).unwrap();
    let mut agent = Agent::start_binary(&installed, dir.path(), "web1", daemon.udp_addr(), &config);
    let done = finished(
        &daemon,
        "web1",
        queued.json()["id"].as_str().unwrap(),
        &agent,
    );
    assert_eq!(done["exit_code"], 1, "{done}");
    let output = done["output"].as_str().unwrap();
    assert!(
        output.contains("SHA-256") && output.contains("not installed"),
        "{output}"
    );

    // A binary that does not start: probed, refused, never swapped in.
    publish(&releases, "99.0.0", b"#!/bin/sh\necho broken >&2\nexit 3\n");
    let queued = upgrade(&daemon, "web1", r#"{"version":"99.0.0"}"#);
    assert_eq!(queued.status, 201, "{}", queued.body);
    let done = finished(
        &daemon,
        "web1",
        queued.json()["id"].as_str().unwrap(),
        &agent,
    );
    assert_eq!(done["exit_code"], 1, "{done}");
    let output = done["output"].as_str().unwrap();
    assert!(
        output.contains("the new binary does not start") && output.contains("exited with 3"),
        "{output}"
    );

    assert_eq!(sha256(&installed), original_sha, "nothing was installed");
    assert!(agent.running(), "{}", agent.log());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("bin"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["hbc"], "no download left behind");

    // Downloads: only what SHA256SUMS lists.
    for (path, status) in [
        ("/releases/SHA256SUMS", 200),
        (&format!("/releases/hbc-99.0.0-{}", platform()), 200),
        ("/releases/hbd.yaml", 404),
        ("/releases/..%2Fhbd.yaml", 404),
    ] {
        assert_eq!(daemon.call("GET", path, &[], None).status, status, "{path}");
    }
}

#[test]
fn an_agent_whose_config_does_not_allow_upgrades_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let releases = dir.path().join("releases");
    publish(
        &releases,
        &hbc_version(),
        &std::fs::read(bin("hbc")).unwrap(),
    );
    let daemon = Daemon::start(dir.path(), &daemon_config(&releases));
    let installed = install_agent(dir.path());
    let agent = start_agent(&daemon, dir.path(), &installed, "web2", false);
    let (_, done) = upgrade_to_the_end(&daemon, "web2", &agent);
    assert_eq!(done["exit_code"], -255, "{done}");
    assert!(
        done["output"]
            .as_str()
            .unwrap()
            .contains("upgrades are off here (commands.upgrade is not true)"),
        "{done}"
    );
    assert_eq!(sha256(&installed), sha256(&bin("hbc")));
}

#[test]
fn a_new_binary_that_died_before_its_first_heartbeat_is_rolled_back_at_the_next_start() {
    // The state a crash leaves: the new binary swapped in and started once (the
    // record says so), never confirmed. The next start must put the old one back,
    // execute it, and report the failure.
    let dir = tempfile::tempdir().unwrap();
    let releases = dir.path().join("releases");
    let daemon = Daemon::start(dir.path(), &daemon_config(&releases));
    let installed = install_agent(dir.path());
    let new_sha = sha256(&installed);
    let previous = installed.with_file_name("hbc.previous");
    let mut old = std::fs::read(bin("hbc")).unwrap();
    old.extend_from_slice(b"\n-- the old binary --\n");
    std::fs::write(&previous, &old).unwrap();
    let old_sha = sha256(&previous);
    // The upgrade put its compiler beside the agent too: that goes back with it.
    let compiler = installed.with_file_name("hbc-compile");
    std::fs::write(&compiler, b"the new compiler").unwrap();
    let old_compiler = installed.with_file_name("hbc-compile.previous");
    std::fs::write(&old_compiler, b"the old compiler").unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let record = serde_json::json!({
        "cmd_id": "u-crashed",
        "from_version": "0.0.9",
        "to_version": "0.1.0",
        "sha256": new_sha,
        "exe": installed,
        "previous": previous,
        "stage": {"stage": "started"},
        "compiler": {"path": compiler, "previous": old_compiler, "sha256": "ab".repeat(32)},
    });
    std::fs::write(state.join("upgrade.json"), record.to_string()).unwrap();

    let mut agent = Agent::start_binary(
        &installed,
        dir.path(),
        "web1",
        daemon.udp_addr(),
        &agent_config(dir.path(), true),
    );
    let ledger = state.join("commands.json");
    assert!(
        wait_until(Duration::from_secs(15), || std::fs::read_to_string(&ledger)
            .is_ok_and(
                |l| l.contains("u-crashed") && l.contains("stopped before its first heartbeat")
            )),
        "no failure recorded: {}",
        agent.log()
    );
    assert_eq!(sha256(&installed), old_sha, "the old binary is back");
    assert!(!previous.exists());
    assert_eq!(
        std::fs::read(&compiler).unwrap(),
        b"the old compiler",
        "and the old compiler"
    );
    assert!(!old_compiler.exists());
    assert!(
        !state.join("upgrade.json").exists(),
        "reported, so the record is gone"
    );
    let log = agent.log();
    assert!(log.contains("rolling back the upgrade"), "{log}");
    assert!(log.contains("upgrade finished"), "{log}");
    assert!(agent.running(), "the old binary runs on: {log}");
    assert!(
        wait_until(Duration::from_secs(10), || daemon
            .host_state("web1")
            .as_deref()
            == Some("UP")),
        "{log}"
    );
}
