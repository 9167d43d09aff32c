//! The agent for Windows, cross-built by `scripts/build-windows.sh` and run under Wine:
//! its signed heartbeats, its native plugins' reports (measured through the Windows
//! API, not /proc) and a Nagios-style check it runs by argv reach a Linux daemon, which
//! knows the host as Windows.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::process::Command;
use std::time::Duration;

use hbd_e2e::needs::{Need, WINE, built_windows};

use super::conformance::{self, COLLECTORS};

#[test]
fn a_windows_agent_under_wine_sends_signed_heartbeats_plugin_reports_and_check_results() {
    hbd_e2e::require!(Need::Windows);
    let exe = built_windows().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = "the windows agent's shared key";
    let daemon = hbd_e2e::Daemon::start(
        dir.path(),
        &format!("hb_key: \"{key}\"\nrequire_signed: true\n"),
    );
    let mut wine = Command::new(WINE);
    wine.env(
        "WINEPREFIX",
        exe.parent().unwrap().parent().unwrap().join("wine"),
    )
    .env("WINEDEBUG", "-all")
    .arg(&exe);
    // The Windows program reads its config at the Linux path: Wine maps the root (Z:).
    let _agent = hbd_e2e::Agent::start_via(
        wine,
        dir.path(),
        "win1",
        daemon.udp_addr(),
        &format!(
            "interval: 0.5
key: \"{key}\"
{COLLECTORS}  nagios_runner:
    interval: 1
    commands:
      - {{name: warns, command: \"'C:\\\\windows\\\\system32\\\\cmd.exe' /c exit 1\"}}
      - {{name: passes, command: \"'C:\\\\windows\\\\system32\\\\cmd.exe' /c echo fine\"}}
"
        ),
    );
    let mut seen = serde_json::Value::Null;
    let up = hbd_e2e::wait_until(Duration::from_secs(90), || {
        seen = daemon.host("win1").unwrap_or_default();
        seen["state"] == "UP" && seen["last_rtt_ms"].as_f64().is_some()
    });
    assert!(up, "win1 never came UP with a round trip measured: {seen}");
    assert_eq!(seen["arch"], "x86_64-windows", "{seen}");
    assert_eq!(seen["signed"], true, "{seen}");

    let os = &daemon.latest_sample("win1", "os_info", Duration::from_secs(90))["data"];
    assert_eq!(os["os"], "windows", "{os}");
    assert!(
        os["pretty_name"].as_str().unwrap_or("").contains("Windows"),
        "{os}"
    );
    let cpu = &daemon.latest_sample("win1", "cpu_monitor", Duration::from_secs(90))["data"];
    let busy = cpu["cpu_percent"].as_f64().unwrap_or(-1.0);
    assert!((0.0..=100.0).contains(&busy), "{cpu}");
    assert!(cpu["cpu_count"].as_u64().unwrap_or(0) >= 1, "{cpu}");
    // Windows keeps no load average: left out, not made up.
    assert!(cpu.get("load_1min").is_none(), "{cpu}");
    let memory = &daemon.latest_sample("win1", "memory_monitor", Duration::from_secs(90))["data"];
    assert!(memory["total_mb"].as_f64().unwrap_or(0.0) > 0.0, "{memory}");
    let disks = &daemon.latest_sample("win1", "disk_monitor", Duration::from_secs(90))["data"]["partitions"];
    let c = &disks["C:\\"];
    assert!(
        c["total_gb"].as_f64().unwrap_or(0.0) > 0.0
            && (0.0..=100.0).contains(&c["percent"].as_f64().unwrap_or(-1.0)),
        "{disks}"
    );
    conformance::check(&daemon, "win1");
    let checks = daemon.latest_sample("win1", "nagios_runner", Duration::from_secs(90));
    assert_eq!(checks["data"]["warns"]["exit_code"], 1, "{checks}");
    assert_eq!(checks["data"]["warns"]["status"], "WARNING", "{checks}");
    assert_eq!(checks["data"]["passes"]["status"], "OK", "{checks}");
    assert_eq!(checks["data"]["passes"]["text"], "fine", "{checks}");
}
