//! The agent for arm64 Linux, cross-built by `scripts/build-arm64.sh` and run under
//! qemu-user: its heartbeats and its native plugins' reports (keeping to the
//! conformance invariants) reach a daemon, and the
//! daemon knows the host as arm64. For hbc as shipped and for its static small form.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::process::Command;
use std::time::Duration;

use hbd_e2e::needs::{ARM64_LIBC, Need, built_arm64};

use super::conformance::{self, COLLECTORS};

#[test]
fn arm64_agents_under_qemu_send_heartbeats_and_native_plugin_reports() {
    hbd_e2e::require!(Need::Arm64);
    let (full, mini) = built_arm64().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = "the arm64 agents' shared key";
    let daemon = hbd_e2e::Daemon::start(
        dir.path(),
        &format!("hb_key: \"{key}\"\nrequire_signed: true\n"),
    );
    // Signed, as production runs; the native collectors every second.
    let config = format!("interval: 0.5\nkey: \"{key}\"\n{COLLECTORS}");
    let mut qemu_full = Command::new("qemu-aarch64");
    qemu_full.arg("-L").arg(ARM64_LIBC).arg(&full);
    let mut qemu_mini = Command::new("qemu-aarch64");
    qemu_mini.arg(&mini);
    let _agents = [
        hbd_e2e::Agent::start_via(qemu_full, dir.path(), "pi-full", daemon.udp_addr(), &config),
        hbd_e2e::Agent::start_via(qemu_mini, dir.path(), "pi-mini", daemon.udp_addr(), &config),
    ];
    for host in ["pi-full", "pi-mini"] {
        let mut seen = serde_json::Value::Null;
        let up = hbd_e2e::wait_until(Duration::from_secs(60), || {
            seen = daemon.host(host).unwrap_or_default();
            // A round trip is measured from the heartbeat after the first ACK.
            seen["state"] == "UP" && seen["last_rtt_ms"].as_f64().is_some()
        });
        assert!(
            up,
            "{host} never came UP with a round trip measured: {seen}"
        );
        assert_eq!(seen["arch"], "aarch64-linux", "{host}: {seen}");
        assert_eq!(seen["signed"], true, "{host}: {seen}");
        conformance::check(&daemon, host);
    }
}
