//! The `hbc` command line: clear errors for a missing server or a bad config, a one-off
//! `-m` message that really arrives, `hbc check-config` naming every problem with file
//! and line, and `--help` listing the subcommands.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::net::UdpSocket;
use std::process::Command;
use std::time::Duration;

fn hbc() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hbc"));
    cmd.env("HOME", "/nonexistent"); // never pick up the developer's ~/.hbc.yaml
    cmd
}

#[test]
fn no_server_is_a_clear_error() {
    let out = hbc().output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no server"));
}

#[test]
fn a_bad_config_names_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbc.yaml");
    std::fs::write(&path, "interval: -1\n").unwrap();
    let out = hbc()
        .arg("-c")
        .arg(&path)
        .arg("127.0.0.1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&path.display().to_string()) && stderr.contains("interval"),
        "{stderr}"
    );
}

#[test]
fn message_option_sends_one_msg_and_exits() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbc.yaml");
    std::fs::write(&path, "name: web7\n").unwrap();
    let status = hbc()
        .arg("-c")
        .arg(&path)
        .arg("-m")
        .arg("disk replaced")
        .arg(server.local_addr().unwrap().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let mut buf = [0u8; 2048];
    let (len, _) = server.recv_from(&mut buf).unwrap();
    let msg: serde_json::Value = serde_json::from_slice(&buf[..len]).unwrap();
    assert_eq!(msg["ID"], "MSG");
    assert_eq!(msg["name"], "web7");
    assert_eq!(msg["text"], "disk replaced");
    assert!(msg["run"].is_u64() && msg["seq"] == 1 && msg["ts"].is_f64());
}

/// `hbc check-config -c FILE`.
fn check_config(file: &std::path::Path) -> std::process::Output {
    hbc()
        .arg("check-config")
        .arg("-c")
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn check_config_reports_every_problem_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hbc.yaml");
    std::fs::write(
        &file,
        "server: hbd.example.org\nintervall: 5\nkey: short\nplugins:\n  cpu_monitor: {interval: 0}\n",
    )
    .unwrap();
    let out = check_config(&file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let f = file.display();
    for want in [
        format!("{f}:3: error: key: must be at least 16 characters"),
        format!("{f}:5: error: plugins.cpu_monitor.interval: expected a number of seconds > 0"),
        format!("{f}:2: warning: intervall: unknown key, ignored; did you mean `interval`?"),
    ] {
        assert!(stderr.contains(&want), "missing {want:?} in:\n{stderr}");
    }
    // The agent itself refuses to start on it, with the same report.
    let out = hbc()
        .arg("-c")
        .arg(&file)
        .arg("127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("configuration refused"));

    std::fs::write(&file, "server: hbd.example.org\ninterval: 5\n").unwrap();
    let out = check_config(&file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("configuration OK"));
}

#[test]
fn a_missing_plugin_directory_and_unknown_plugin_settings_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hbc.yaml");
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::write(
        &file,
        format!(
            "wasm_plugins:\n  dirs: [{}]\n  plugins:\n    log_freshnes: {{interval: 5}}\n",
            plugins.display()
        ),
    )
    .unwrap();
    let out = check_config(&file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("wasm_plugins.plugins.log_freshnes: no plugin of that name"),
        "{stderr}"
    );
    std::fs::write(&file, "wasm_plugins:\n  dirs: [/nonexistent-plugins]\n").unwrap();
    let out = check_config(&file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains(":2: error: wasm_plugins.dirs: /nonexistent-plugins: not a directory"),
        "{stderr}"
    );
}

#[test]
fn help_lists_the_subcommands() {
    let out = hbc().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(help.contains("check-config"), "{help}");
    #[cfg(feature = "wasm")]
    assert!(help.contains("plugin"), "{help}");
}

#[test]
fn without_c_the_agent_reads_hbc_yaml_else_the_originals_hbc_json() {
    let home = tempfile::tempdir().unwrap();
    let check = || {
        let out = hbc()
            .arg("check-config")
            .env("HOME", home.path())
            .output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    // hbc_mini's JSON, with a typo to show it was read.
    std::fs::write(
        home.path().join(".hbc.json"),
        r#"{"server": "hbd.example.org", "intervall": 30}"#,
    )
    .unwrap();
    let json = check();
    assert!(
        json.contains(".hbc.json") && json.contains("warning: intervall"),
        "{json}"
    );
    // ~/.hbc.yaml wins when both exist.
    std::fs::write(
        home.path().join(".hbc.yaml"),
        "server: hbd.example.org\nportt: 1\n",
    )
    .unwrap();
    let yaml = check();
    assert!(yaml.contains(".hbc.yaml:2: warning: portt"), "{yaml}");
}
