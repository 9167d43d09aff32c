//! End to end: `hbd backup` copies the state database while the daemon takes
//! heartbeats (none is lost), `hbd restore` refuses to run under a live daemon, and a
//! stopped daemon restored from the backup knows every host again.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::process::{Command, Output};
use std::time::Duration;

use hbd_e2e::{Daemon, send_datagram, wait_until};

const HOSTS: usize = 300;
const ROUNDS: usize = 8;

fn hbd(daemon: &Daemon, args: &[&str]) -> Output {
    Command::new(hbd_e2e::bin("hbd"))
        .args(args)
        .arg("-c")
        .arg(daemon.config_path())
        .output()
        .unwrap()
}

fn heartbeats(daemon: &Daemon) -> f64 {
    daemon.metric("hbd_datagrams_total{type=\"HTB\"}")
}

/// One heartbeat from each host; waits until the daemon has counted them all.
fn round(daemon: &Daemon, expected: f64) {
    for i in 0..HOSTS {
        let json = format!(r#"{{"ID":"HTB","name":"host{i:03}","interval":60}}"#);
        send_datagram(daemon.udp_addr(), json.as_bytes());
    }
    assert!(
        wait_until(Duration::from_secs(20), || heartbeats(daemon) >= expected),
        "{} of {expected} heartbeats counted",
        heartbeats(daemon)
    );
}

#[test]
fn a_backup_taken_under_load_restores_every_host() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(dir.path(), "");
    round(&daemon, HOSTS as f64);
    let state = daemon.dir.join("state.db");
    let file = dir.path().join("hbd-backup.db");

    // Heartbeats keep coming while the backup runs; none is lost.
    let backup = std::thread::scope(|s| {
        let taken = s.spawn(|| {
            // Once every host is in the store (it writes in batches, about every
            // second).
            assert!(wait_until(Duration::from_secs(10), || daemon
                .metric("hbd_store_host_rows_total")
                >= HOSTS as f64));
            hbd(&daemon, &["backup", file.to_str().unwrap()])
        });
        for r in 2..=ROUNDS {
            round(&daemon, (HOSTS * r) as f64);
        }
        taken.join().unwrap()
    });
    let said = String::from_utf8_lossy(&backup.stdout);
    assert!(
        backup.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    assert!(
        said.contains("hbd backup: ") && said.contains("written"),
        "{said}"
    );
    assert_eq!(heartbeats(&daemon), (HOSTS * ROUNDS) as f64, "none lost");
    assert_eq!(daemon.metric("hbd_datagrams_rejected_total"), 0.0);

    // A restore under a running daemon is refused, and changes nothing.
    let refused = hbd(&daemon, &["restore", file.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("stop the daemon"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // Stopped, its state lost, restored: every host is known again.
    let (status, _) = daemon.stop(nix::sys::signal::Signal::SIGTERM);
    assert!(status.success());
    std::fs::remove_file(&state).unwrap();
    let restored = hbd(&daemon, &["restore", file.to_str().unwrap()]);
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    daemon.start_again();
    let hosts = daemon.get_json("/api/0/hosts?limit=1000");
    assert_eq!(
        hosts["hosts"].as_array().map(Vec::len),
        Some(HOSTS),
        "{hosts}"
    );
}
