//! The agent for Windows, cross-built by `scripts/build-windows.sh` and run under Wine:
//! its signed heartbeats, its native plugins' reports (measured through the Windows
//! API, not /proc) and a Nagios-style check it runs by argv reach a Linux daemon, which
//! knows the host as Windows; the same signed WebAssembly plugin artifact run by a Linux
//! and a Windows agent; and the agent as a Windows service, started and stopped by the
//! service control manager, logging to the event log.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::process::Command;
use std::time::Duration;

use hbd_e2e::needs::{Need, WINE, built_windows};

use super::artifacts::{Publishing, offer_granting, publishing, report_of};
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
    let prefix = exe.parent().unwrap().parent().unwrap().join("wine");
    let _session = Session(prefix.clone());
    let mut wine = Command::new(WINE);
    wine.env("WINEPREFIX", &prefix)
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
    // The network through sysinfo: a report, not a failure, without the drop counts
    // Windows does not give. (Wine lists no interface to sysinfo, so their counters
    // are checked only where there are some.)
    let net = daemon.latest_sample("win1", "network_monitor", Duration::from_secs(90));
    assert!(net["status"].is_null(), "{net}");
    assert!(
        net["data"]["errors_total"].is_u64() && net["data"].get("dropped_total").is_none(),
        "{net}"
    );
    let checks = daemon.latest_sample("win1", "nagios_runner", Duration::from_secs(90));
    assert_eq!(checks["data"]["warns"]["exit_code"], 1, "{checks}");
    assert_eq!(checks["data"]["warns"]["status"], "WARNING", "{checks}");
    assert_eq!(checks["data"]["passes"]["status"], "OK", "{checks}");
    assert_eq!(checks["data"]["passes"]["text"], "fine", "{checks}");
}

/// One signed artifact, whose manifest grants the log directory as Linux and as Windows
/// write it, rolled out by one daemon to a Linux agent and a Windows agent: each checks
/// the same signature, compiles the same `.wasm` with its own hbc-compile and runs it
/// on its own OS's path to the same log.
#[test]
fn one_signed_plugin_artifact_runs_on_a_linux_and_a_windows_agent() {
    hbd_e2e::require!(
        Need::Windows,
        Need::Minisign,
        Need::Wasm("hbd_log_freshness")
    );
    let exe = built_windows().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let Publishing {
        keys,
        offered,
        publisher,
        grant,
    } = publishing(dir.path());
    let win_grant = windows_path(std::path::Path::new(&grant));
    offer_granting(
        &keys,
        &offered,
        "publisher",
        "1.2.0",
        &[&grant, &win_grant],
        "1",
    );
    let daemon = hbd_e2e::Daemon::start(
        dir.path(),
        &format!(
            "artifacts_dir: {offered}
hosts:
  lin1: {{key: \"lin1's own key, long enough\"}}
  win1: {{key: \"win1's own key, long enough\"}}
groups:
  linux:
    hosts: [lin1]
    plugins:
      log_freshness:
        version: 1.2.0
        interval: 1
        grants: ['{grant}']
        config: {{path: '{grant}/app.log'}}
  windows:
    hosts: [win1]
    plugins:
      log_freshness:
        version: 1.2.0
        interval: 1
        grants: ['{win_grant}']
        config: {{path: '{win_grant}\\app.log'}}
",
            offered = offered.display()
        ),
    );
    let agent_config = |name: &str, grant: &str| {
        let own = dir.path().join(name);
        format!(
            "interval: 0.5
key: \"{name}'s own key, long enough\"
plugins: {{cpu_monitor: {{enabled: false}}, memory_monitor: {{enabled: false}}}}
wasm_plugins: {{cache_dir: '{cache}'}}
plugin_trust:
  publishers: [{publisher}]
  grants: ['{grant}']
  min_interval: 1
managed_plugins:
  url: http://{http}
  dir: '{managed}'
  check_every: 3600
",
            cache = own.join("cache").display(),
            managed = own.join("managed").display(),
            http = daemon.http_addr(),
        )
    };
    let _linux = hbd_e2e::Agent::start(
        dir.path(),
        "lin1",
        daemon.udp_addr(),
        &agent_config("lin1", &grant),
    );
    let prefix = exe.parent().unwrap().parent().unwrap().join("wine-plugins");
    let _session = Session(prefix.clone());
    let mut wine = Command::new(WINE);
    wine.env("WINEPREFIX", &prefix)
        .env("WINEDEBUG", "-all")
        .arg(&exe);
    let windows = hbd_e2e::Agent::start_via(
        wine,
        dir.path(),
        "win1",
        daemon.udp_addr(),
        &agent_config("win1", &win_grant),
    );

    for (host, path) in [
        ("lin1", format!("{grant}/app.log")),
        ("win1", format!("{win_grant}\\app.log")),
    ] {
        let fresh = report_of(
            &daemon,
            host,
            "log_freshness",
            Duration::from_secs(120),
            |s| s["status"] == "OK",
        )
        .unwrap_or_else(|| {
            let applied = daemon.get(&format!(
                "/api/0/hosts/{host}/plugins/managed_plugins?limit=1"
            ));
            panic!(
                "{host}'s agent never ran the plugin: {applied:?}\nthe Windows agent's log:\n{}",
                windows.log()
            )
        });
        assert!(
            fresh["data"]["message"]
                .as_str()
                .unwrap_or("")
                .starts_with(&path),
            "{host} read its own OS's path {path}: {fresh}"
        );
        // What hbc-compile wrote was loaded, not compiled again by the agent.
        assert!(
            !windows.log().contains("compiled plugin unusable"),
            "{}",
            windows.log()
        );
        // Each agent says it applied the set, with the artifact's contract.
        let applied = report_of(
            &daemon,
            host,
            "managed_plugins",
            Duration::from_secs(30),
            |s| s["data"]["plugins"]["log_freshness"]["version"] == "1.2.0",
        )
        .unwrap_or_else(|| panic!("{host} never reported the set applied"));
        assert_eq!(applied["status"], "OK", "{applied}");
        assert_eq!(
            applied["data"]["plugins"]["log_freshness"]["contract"], "hbd:plugin@0.2.0",
            "{applied}"
        );
    }
}

/// `wine64 PROGRAM ARGS` in `prefix`: whether it succeeded, and what it printed. The
/// output goes through a file, not a pipe: the Wine session's own processes, started by
/// the first command, inherit it and would hold a pipe open.
fn wine(prefix: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = tempfile::NamedTempFile::new().unwrap();
    let ok = wine_into(prefix, args, "-all", out.path());
    (ok, std::fs::read_to_string(out.path()).unwrap_or_default())
}

/// [`wine`] with Wine's debug channels `debug` (`WINEDEBUG`), its output into `file`.
/// The session's first program passes both on to the services it starts.
fn wine_into(prefix: &std::path::Path, args: &[&str], debug: &str, file: &std::path::Path) -> bool {
    let out = std::fs::File::create(file).unwrap();
    Command::new(WINE)
        .env("WINEPREFIX", prefix)
        .env("WINEDEBUG", debug)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .status()
        .unwrap()
        .success()
}

/// The Windows path of a Linux file, as Wine maps the root (`Z:`).
fn windows_path(path: &std::path::Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

/// Ends a prefix's Wine session when dropped (its service processes outlive the
/// programs a test ran), also when the test fails.
struct Session(std::path::PathBuf);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("/usr/lib/wine/wineserver64")
            .env("WINEPREFIX", &self.0)
            .arg("-k")
            .status();
    }
}

/// Removes the test's service, then ends its Wine session.
struct Registered(Session);

impl Drop for Registered {
    fn drop(&mut self) {
        let _ = wine(&self.0.0, &["sc", "stop", "hbctest"]);
        let _ = wine(&self.0.0, &["sc", "delete", "hbctest"]);
    }
}

#[test]
fn the_windows_agent_runs_as_a_service_the_service_manager_starts_and_stops() {
    hbd_e2e::require!(Need::Windows);
    let exe = built_windows().unwrap();
    let prefix = exe.parent().unwrap().parent().unwrap().join("wine-service");
    let dir = tempfile::tempdir().unwrap();
    let key = "the windows service's shared key";
    let daemon = hbd_e2e::Daemon::start(
        dir.path(),
        &format!("hb_key: \"{key}\"\nrequire_signed: true\n"),
    );
    let config = dir.path().join("svc.yaml");
    std::fs::write(
        &config,
        format!("name: winsvc\ninterval: 0.5\nkey: \"{key}\"\n"),
    )
    .unwrap();
    // Services live as long as their Wine session: it is kept up until the guard ends it.
    let kept = Command::new("/usr/lib/wine/wineserver64")
        .env("WINEPREFIX", &prefix)
        .arg("-p")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(kept.success());
    let _registered = Registered(Session(prefix.clone()));
    let command_line = format!(
        "{} --service -c {} {}",
        windows_path(&exe),
        windows_path(&config),
        daemon.udp_addr()
    );
    // The command that starts the session starts the service manager: its output is
    // where the service's Wine writes, and with the eventlog channel on, Wine's event
    // log (which keeps nothing) echoes each entry reported to it.
    let session_log = dir.path().join("session.log");
    let created = wine_into(
        &prefix,
        &["sc", "create", "hbctest", "binPath=", &command_line],
        "-all,+eventlog",
        &session_log,
    );
    let events = || std::fs::read_to_string(&session_log).unwrap_or_default();
    assert!(created, "sc create: {}", events());
    let started = wine(&prefix, &["sc", "start", "hbctest"]);
    assert!(started.0, "sc start: {started:?}");

    let mut seen = serde_json::Value::Null;
    let up = hbd_e2e::wait_until(Duration::from_secs(60), || {
        seen = daemon.host("winsvc").unwrap_or_default();
        seen["state"] == "UP" && seen["last_rtt_ms"].as_f64().is_some()
    });
    assert!(up, "the service's agent never came UP: {seen}");
    let (_, query) = wine(&prefix, &["sc", "query", "hbctest"]);
    assert!(query.contains("RUNNING"), "{query}");

    // Stop: the agent stops cleanly and tells the service manager so (exit code 0).
    let stopped = wine(&prefix, &["sc", "stop", "hbctest"]);
    assert!(stopped.0, "sc stop: {stopped:?}");
    let mut query = String::new();
    let down = hbd_e2e::wait_until(Duration::from_secs(30), || {
        query = wine(&prefix, &["sc", "query", "hbctest"]).1;
        query.contains("STOPPED")
    });
    assert!(down, "{query}");
    let exit = query
        .lines()
        .find(|l| l.contains("WIN32_EXIT_CODE"))
        .unwrap_or_default();
    assert!(exit.contains(": 0 "), "{query}");
    // Its log went to the Application event log: an information entry for the start,
    // naming the host, and one for the stop.
    let reported = |text: &str| {
        events()
            .lines()
            .any(|l| l.contains("ReportEventW") && l.contains(text))
    };
    assert!(
        hbd_e2e::wait_until(Duration::from_secs(10), || reported(
            "INFO hbc::app: hbc stopped"
        )),
        "no stop in the event log: {}",
        events()
    );
    assert!(
        reported("INFO hbc::app: hbc started") && reported("name=winsvc"),
        "{}",
        events()
    );
}
