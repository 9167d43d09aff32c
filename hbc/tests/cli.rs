//! The `hbc` command line: clear errors for a missing server or a bad config, and a
//! one-off `-m` message that really arrives.
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
