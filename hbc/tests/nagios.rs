//! The Nagios runner against Debian's real monitoring-plugins (installed by
//! scripts/install-deps.sh) and scripts of our own for the edge cases.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use hbd_e2e::needs::Need;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hb_proto::Status;
use hbc::plugins::{Options, build};
use serde_json::{Value, json};

const PLUGINS: &str = "/usr/lib/nagios/plugins";

fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scripts")
}

fn run(commands: Value, timeout: f64) -> (Option<Status>, serde_json::Map<String, Value>) {
    let options = Options::new(
        "nagios_runner",
        &json!({ "commands": commands, "timeout": timeout }),
    )
    .unwrap();
    let mut plugin = build("nagios_runner", &options).unwrap();
    let c = plugin.collect().unwrap();
    (c.status, c.data)
}

#[test]
fn check_dummy_maps_every_exit_code() {
    hbd_e2e::require!(Need::MonitoringPlugins);
    for (code, want) in [
        ("0", "OK"),
        ("1", "WARNING"),
        ("2", "CRITICAL"),
        ("3", "UNKNOWN"),
    ] {
        let (status, data) = run(
            json!([format!("{PLUGINS}/check_dummy {code} 'dummy text'")]),
            10.0,
        );
        let check = &data["check_dummy"];
        assert_eq!(check["status"], want);
        assert_eq!(check["exit_code"], code.parse::<i64>().unwrap());
        assert_eq!(check["text"], format!("{want}: dummy text"));
        assert_eq!(
            status.map(|s| serde_json::to_value(s).unwrap()),
            Some(json!(want))
        );
    }
}

#[test]
fn check_load_and_check_disk_report_perfdata() {
    hbd_e2e::require!(Need::MonitoringPlugins);
    let (status, data) = run(
        json!([
            format!("{PLUGINS}/check_load -w 1000,1000,1000 -c 2000,2000,2000"),
            // Thresholds no machine state can reach (under 0 % free): the test is about
            // perfdata, and a CI machine's disk was once 99 % full.
            { "name": "root_disk", "command": format!("{PLUGINS}/check_disk -w 0% -c 0% -p /") },
        ]),
        10.0,
    );
    assert_eq!(status, Some(Status::Ok), "{data:#?}");
    let load = &data["check_load"];
    assert_eq!(load["status"], "OK");
    let labels: Vec<&str> = load["perfdata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["load1", "load5", "load15"]);
    assert_eq!(load["perfdata"][0]["warn"]["end"], 1000.0);
    assert_eq!(load["perfdata"][0]["crit"]["end"], 2000.0);
    let disk = &data["root_disk"];
    assert_eq!(disk["status"], "OK", "{disk}");
    let p = &disk["perfdata"][0];
    assert_eq!(p["label"], "/");
    assert_eq!(p["uom"], "B"); // monitoring-plugins 2.3 reports bytes
    assert!(p["max"].as_f64().unwrap() > 0.0);
}

#[test]
fn check_tcp_against_a_local_port() {
    hbd_e2e::require!(Need::MonitoringPlugins);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap().port();
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (status, data) = run(
        json!([
            { "name": "open", "command": format!("{PLUGINS}/check_tcp -H 127.0.0.1 -p {open} -t 5") },
            { "name": "closed", "command": format!("{PLUGINS}/check_tcp -H 127.0.0.1 -p {closed} -t 5") },
        ]),
        10.0,
    );
    assert_eq!(data["open"]["status"], "OK", "{data:#?}");
    assert_eq!(data["open"]["perfdata"][0]["label"], "time");
    assert_eq!(data["open"]["perfdata"][0]["uom"], "s");
    assert_eq!(data["closed"]["status"], "CRITICAL", "{data:#?}");
    assert_eq!(status, Some(Status::Critical), "worst of OK and CRITICAL");
    drop(listener);
}

#[test]
fn check_procs_counts_processes() {
    hbd_e2e::require!(Need::MonitoringPlugins);
    let (_, data) = run(
        json!([format!("{PLUGINS}/check_procs -w 100000 -c 200000")]),
        10.0,
    );
    let procs = &data["check_procs"];
    assert_eq!(procs["status"], "OK", "{procs}");
    assert!(
        procs["text"].as_str().unwrap().starts_with("PROCS OK"),
        "{procs}"
    );
    assert_eq!(procs["perfdata"][0]["label"], "procs");
}

#[test]
fn a_hanging_check_is_killed_with_its_process_group() {
    let started = Instant::now();
    let (status, data) = run(json!([scripts().join("sleeper.sh").to_str().unwrap()]), 1.0);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(status, Some(Status::Unknown));
    let check = &data["sleeper.sh"];
    assert_eq!(check["status"], "UNKNOWN");
    assert!(
        check["error"]
            .as_str()
            .unwrap()
            .contains("timed out after 1 s"),
        "{check}"
    );
    // The forked `sleep 60` helper died with the group: nothing of ours is left running.
    let out = std::process::Command::new("pgrep")
        .args(["-f", "sleep 60"])
        .output()
        .unwrap();
    let leftovers = String::from_utf8_lossy(&out.stdout);
    assert!(
        leftovers.trim().is_empty() || !is_child_of_script(&leftovers),
        "left running: {leftovers}"
    );
}

fn is_child_of_script(pids: &str) -> bool {
    // Other `sleep 60` processes on the machine are not ours; ours had sleeper.sh as parent.
    pids.lines().any(|pid| {
        std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
            s.lines()
                .any(|l| l.starts_with("PPid:") && l.split_whitespace().nth(1) == Some("1"))
        })
    })
}

#[test]
fn stray_exit_codes_huge_output_and_bad_perfdata() {
    let (status, data) = run(
        json!([
            scripts().join("stray_exit.sh").to_str().unwrap(),
            scripts().join("huge_output.sh").to_str().unwrap(),
            scripts().join("bad_perfdata.sh").to_str().unwrap(),
            "/nonexistent/check_nothing",
        ]),
        10.0,
    );
    assert_eq!(data["stray_exit.sh"]["status"], "UNKNOWN");
    assert_eq!(data["stray_exit.sh"]["exit_code"], 7);
    let huge = &data["huge_output.sh"];
    assert_eq!(huge["status"], "OK");
    assert_eq!(huge["perfdata"][0]["label"], "big");
    assert!(huge["long_output"].as_str().unwrap().len() <= 16 * 1024);
    let bad = &data["bad_perfdata.sh"];
    assert_eq!(bad["status"], "WARNING");
    assert_eq!(bad["perfdata"][0]["label"], "good");
    assert_eq!(bad["perfdata_errors"].as_array().unwrap().len(), 2, "{bad}");
    let missing = &data["check_nothing"];
    assert_eq!(missing["status"], "UNKNOWN");
    assert!(
        missing["error"]
            .as_str()
            .unwrap()
            .contains("cannot run /nonexistent/check_nothing")
    );
    assert_eq!(
        status,
        Some(Status::Warning),
        "WARNING outranks UNKNOWN and OK"
    );
}

#[test]
fn ping_monitor_pings_loopback() {
    assert!(
        PathBuf::from("/usr/bin/ping").exists() || PathBuf::from("/bin/ping").exists(),
        "iputils-ping not installed; run scripts/install-deps.sh"
    );
    let options =
        Options::new("ping_monitor", &json!({"hosts": ["127.0.0.1"], "count": 2})).unwrap();
    let mut plugin = build("ping_monitor", &options).unwrap();
    let d = plugin.collect().unwrap().data;
    let t = &d["targets"]["127.0.0.1"];
    assert_eq!(t["transmitted"], 2, "{t}");
    assert_eq!(t["received"], 2, "{t}");
    assert_eq!(t["loss_percent"], 0.0);
    assert!(t["rtt_avg_ms"].as_f64().unwrap() >= 0.0);
}
