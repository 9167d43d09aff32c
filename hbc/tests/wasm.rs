//! The WebAssembly host against real components: the fixture plugin proves each limit of
//! the sandbox, the log_freshness example does real work, and `hbc plugin check` is the
//! author's tool. The components are built by scripts/test.sh
//! (`plugins-wasm`, target wasm32-wasip2) against contract 0.2.0; the same examples
//! built against 0.1.0 (tests/fixtures/plugin-0.1, kept as built) run next to them.
#![cfg(feature = "wasm")]
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use hbd_e2e::needs::Need;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hb_proto::Status;
use hbc::plugins::Plugin;
use hbc::wasm::{Runtime, WasmPlugin, WasmSettings};

mod support;
use support::{runtime, wasm};

/// The example `name` as built against contract 0.1.0, kept as built.
fn wasm_0_1(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/plugin-0.1/{name}.wasm"))
}

fn fixture(mode: &str, extra: &[(&str, &str)], grants: Vec<PathBuf>) -> WasmPlugin {
    fixture_from(&wasm("hbd_fixture_plugin"), mode, extra, grants)
}

fn fixture_from(
    file: &Path,
    mode: &str,
    extra: &[(&str, &str)],
    grants: Vec<PathBuf>,
) -> WasmPlugin {
    let mut config = vec![("mode".to_owned(), mode.to_owned())];
    config.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let settings = WasmSettings {
        config,
        grants,
        timeout: Duration::from_millis(500),
        memory_bytes: 16 * 1024 * 1024,
        ..WasmSettings::default()
    };
    WasmPlugin::load(&runtime(), file, settings).unwrap()
}

#[test]
fn every_import_answers_inside_the_grants_in_both_contracts() {
    hbd_e2e::require!(
        Need::Wasm("hbd_fixture_plugin"),
        Need::Wasm("hbd_log_freshness")
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.txt"), "hello\nworld\n").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/x"), "").unwrap();
    let file = dir.path().join("data.txt").display().to_string();
    let sub = dir.path().join("sub").display().to_string();
    for (build, contract) in [
        (wasm_0_1("hbd_fixture_plugin"), "0.1.0"),
        (wasm("hbd_fixture_plugin"), "0.2.0"),
    ] {
        let mut p = fixture_from(
            &build,
            "ok",
            &[("file", &file), ("dir", &sub)],
            vec![dir.path().to_owned()],
        );
        assert_eq!(p.name(), "fixture");
        assert_eq!(p.contract(), contract);
        let c = p.collect().unwrap();
        assert_eq!(c.status, Some(Status::Ok), "{contract}");
        assert_eq!(c.data["file"]["bytes"], 12);
        assert_eq!(c.data["file"]["first_line"], "hello");
        assert_eq!(c.data["dir"]["entries"], 1);
        assert_eq!(c.data["dir"]["first"], "x");
        assert_eq!(c.data["healthy"], true);
        assert_eq!(c.data["ratio"], 0.5);
        assert_eq!(c.data["message"], "all imports answered");
        let now = c.data["now_ms"].as_i64().unwrap();
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        assert!((wall - now).abs() < 5_000);
        if contract == "0.2.0" {
            // What 0.2 adds: stat, and entries with their kind.
            assert_eq!(c.data["file"]["size"], 12);
            assert_eq!(c.data["dir"]["first_kind"], "file");
        } else {
            assert!(
                c.data["file"].get("size").is_none(),
                "0.1 reports as it always did"
            );
        }
    }
}

#[test]
fn contract_0_2_stat_reads_tails_and_types_its_errors() {
    hbd_e2e::require!(
        Need::Wasm("hbd_fixture_plugin"),
        Need::Wasm("hbd_log_freshness")
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log: String = (0..10_000).map(|i| format!("line {i}\n")).collect();
    std::fs::write(d.join("big.log"), &log).unwrap();
    std::fs::write(d.join("bin"), [0xffu8, 0xfe, 0, 1]).unwrap();
    std::fs::write(d.join("huge"), vec![b'a'; 1024 * 1024 + 10]).unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    let at = |name: &str| d.join(name).display().to_string();
    let grants = vec![d.to_owned()];

    let c = fixture("stat", &[("file", &at("big.log"))], grants.clone())
        .collect()
        .unwrap();
    assert_eq!(c.data["kind"], "file");
    assert_eq!(c.data["size"], log.len());
    let mtime = std::fs::metadata(d.join("big.log"))
        .unwrap()
        .modified()
        .unwrap();
    let mtime_ms = mtime
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert_eq!(c.data["modified_ms"], mtime_ms);
    assert_eq!(c.data["mode"].as_u64().unwrap() & 0o600, 0o600);
    let c = fixture("stat", &[("file", &at("sub"))], grants.clone())
        .collect()
        .unwrap();
    assert_eq!(c.data["kind"], "directory");

    // The tail of a log larger than read-file could ever return in one piece.
    let c = fixture(
        "tail",
        &[("file", &at("big.log")), ("bytes", "20")],
        grants.clone(),
    )
    .collect()
    .unwrap();
    assert_eq!(c.data["bytes"], 20);
    assert_eq!(c.data["text"], "line 9998\nline 9999\n");
    assert_eq!(c.data["size"], log.len());

    // Integers of every width arrive as the numbers they are.
    let c = fixture("widths", &[], vec![]).collect().unwrap();
    assert_eq!(c.data["i8"], -128);
    assert_eq!(c.data["i64"], i64::MIN);
    assert_eq!(c.data["u32"], u32::MAX);
    assert_eq!(c.data["u64"], u64::MAX);
    assert_eq!(c.data["f32"], 0.5);

    // Errors are values the plugin branches on (the fixture names the WIT case).
    let cases = [
        ("read", "file", at("bin"), "read-file: not-utf8"),
        ("read", "file", at("huge"), "read-file: too-large 1048586"),
        ("read", "file", at("sub"), "read-file: not-a-file"),
        ("read", "file", at("missing"), "read-file: not-found"),
        (
            "read",
            "file",
            "/etc/hostname".into(),
            "read-file: not-granted",
        ),
        ("read", "file", "relative".into(), "read-file: not-granted"),
        ("stat", "file", at("missing"), "stat: not-found"),
        ("list", "dir", at("big.log"), "list-dir: not-a-directory"),
        ("tail", "file", at("sub"), "read-bytes: not-a-file"),
    ];
    for (mode, key, value, want) in cases {
        let err = fixture(mode, &[(key, &value)], grants.clone())
            .collect()
            .unwrap_err()
            .to_string();
        assert!(err.ends_with(want), "{mode} {value}: {err}");
    }
}

/// (fixture mode, extra settings, expected error text)
type Case = (&'static str, Vec<(&'static str, String)>, &'static str);

#[test]
fn each_limit_turns_into_an_error_and_the_host_carries_on() {
    hbd_e2e::require!(
        Need::Wasm("hbd_fixture_plugin"),
        Need::Wasm("hbd_log_freshness")
    );
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "s3cret").unwrap();
    let granted = tempfile::tempdir().unwrap();
    let link = granted.path().join("escape");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    let cases: Vec<Case> = vec![
        ("panic", vec![], "trapped: the plugin panicked"),
        ("loop", vec![], "timed out after 500 ms"),
        ("alloc", vec![], "memory limit of 16 MiB exceeded"),
        (
            "read_ungranted",
            vec![("file", secret.display().to_string())],
            "not granted to this plugin",
        ),
        (
            "read_ungranted",
            vec![("file", link.display().to_string())],
            "not granted to this plugin",
        ),
        (
            "read_ungranted",
            vec![("file", "relative.txt".into())],
            "paths must be absolute",
        ),
        ("malformed", vec![], "malformed report"),
        ("noisy", vec![], "wrote more than 64 KiB"),
        ("bogus", vec![], "plugin error: unknown mode"),
    ];
    // The same limits for plugins of both contracts; 0.1 keeps its old error texts
    // (0.2 has no separate case for a relative path: it is not granted).
    for build in [wasm_0_1("hbd_fixture_plugin"), wasm("hbd_fixture_plugin")] {
        for (mode, extra, want) in &cases {
            let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let mut p = fixture_from(&build, mode, &extra, vec![granted.path().to_owned()]);
            let want = match (*want, p.contract()) {
                ("paths must be absolute", "0.2.0") => "not granted to this plugin",
                (want, _) => want,
            };
            let started = Instant::now();
            let err = p.collect().unwrap_err().to_string();
            assert!(err.contains(want), "{mode} ({}): {err}", p.contract());
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{mode} took {:?}",
                started.elapsed()
            );
        }
    }
    // After all that, a healthy plugin in the same process still works.
    let f = granted.path().join("f");
    std::fs::write(&f, "ok").unwrap();
    let (fs, gs) = (
        f.display().to_string(),
        granted.path().display().to_string(),
    );
    let mut ok = fixture(
        "ok",
        &[("file", &fs), ("dir", &gs)],
        vec![granted.path().to_owned()],
    );
    assert!(ok.collect().is_ok());
}

#[test]
fn a_plugin_that_keeps_failing_backs_off() {
    hbd_e2e::require!(
        Need::Wasm("hbd_fixture_plugin"),
        Need::Wasm("hbd_log_freshness")
    );
    let mut p = fixture("panic", &[], vec![]);
    for _ in 0..3 {
        assert!(p.collect().unwrap_err().to_string().contains("trapped"));
    }
    let started = Instant::now();
    let err = p.collect().unwrap_err().to_string();
    assert!(
        err.contains("backing off after 3 failures in a row"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(50),
        "did not even run"
    );
}

#[test]
fn a_changed_file_is_picked_up_without_restarting() {
    hbd_e2e::require!(
        Need::Wasm("hbd_fixture_plugin"),
        Need::Wasm("hbd_log_freshness")
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.wasm");
    std::fs::copy(wasm("hbd_fixture_plugin"), &path).unwrap();
    let settings = WasmSettings {
        config: vec![("mode".into(), "bogus".into())],
        ..WasmSettings::default()
    };
    let mut p = WasmPlugin::load(&runtime(), &path, settings).unwrap();
    assert!(p.collect().is_err());
    // Replace the file with another plugin: the change is noticed at the next collection.
    // Its modification time is set a second later, whatever the clock's granularity.
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    std::fs::copy(wasm("hbd_log_freshness"), &path).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(before + Duration::from_secs(1))
        .unwrap();
    let err = p.collect().unwrap_err().to_string();
    assert!(
        err.contains("changed its name from fixture to log_freshness"),
        "{err}"
    );
}

#[test]
fn compiled_components_are_cached_on_disk() {
    hbd_e2e::require!(
        Need::Wasm("hbd_fixture_plugin"),
        Need::Wasm("hbd_log_freshness")
    );
    let cache = tempfile::tempdir().unwrap();
    let rt = Runtime::new(Some(cache.path().to_owned())).unwrap();
    let first = Instant::now();
    WasmPlugin::load(&rt, &wasm("hbd_log_freshness"), WasmSettings::default()).unwrap();
    let cold = first.elapsed();
    let files: Vec<_> = std::fs::read_dir(cache.path()).unwrap().collect();
    assert_eq!(files.len(), 1, "one .cwasm per component");
    let again = Instant::now();
    WasmPlugin::load(
        &Runtime::new(Some(cache.path().to_owned())).unwrap(),
        &wasm("hbd_log_freshness"),
        WasmSettings::default(),
    )
    .unwrap();
    println!("load: cold {cold:?}, from cache {:?}", again.elapsed());
}

#[test]
fn log_freshness_reports_the_age_of_the_last_line() {
    hbd_e2e::require!(
        Need::Wasm("hbd_fixture_plugin"),
        Need::Wasm("hbd_log_freshness")
    );
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let now = time_text(0);
    let old = time_text(7200);
    let text = format!("{old} starting\n{now} still alive\nno timestamp here\n");
    std::fs::write(&log, &text).unwrap();
    let settings = WasmSettings {
        config: vec![
            ("path".into(), log.display().to_string()),
            ("warning_s".into(), "60".into()),
        ],
        grants: vec![dir.path().to_owned()],
        ..WasmSettings::default()
    };
    // Built against 0.1: reads the whole file, reports as it always did.
    let mut p =
        WasmPlugin::load(&runtime(), &wasm_0_1("hbd_log_freshness"), settings.clone()).unwrap();
    assert_eq!(p.contract(), "0.1.0");
    let c = p.collect().unwrap();
    assert_eq!(c.status, Some(Status::Ok), "{:?}", c.data);
    assert!(c.data["age_s"].as_f64().unwrap() < 30.0);
    assert_eq!(c.data["lines"], 3);
    // Built against 0.2: the tail only, and the file's age from stat.
    let mut p = WasmPlugin::load(&runtime(), &wasm("hbd_log_freshness"), settings.clone()).unwrap();
    assert_eq!(p.contract(), "0.2.0");
    let c = p.collect().unwrap();
    assert_eq!(c.status, Some(Status::Ok), "{:?}", c.data);
    assert!(c.data["age_s"].as_f64().unwrap() < 30.0);
    assert_eq!(c.data["bytes"], text.len());
    assert!(c.data["modified_age_s"].as_f64().unwrap() < 30.0);
    // A log far over read-file's 1 MiB: the tail still finds the newest line.
    let mut big = format!("{old} starting\n");
    while big.len() < 3 * 1024 * 1024 {
        big.push_str(&format!(
            "{old} an old line, padded to make the log large\n"
        ));
    }
    big.push_str(&format!("{now} still alive\n"));
    std::fs::write(&log, &big).unwrap();
    let c = p.collect().unwrap();
    assert_eq!(c.status, Some(Status::Ok), "{:?}", c.data);
    assert_eq!(c.data["bytes"], big.len());
    std::fs::write(&log, format!("{old} starting\n")).unwrap();
    let c = p.collect().unwrap();
    assert_eq!(c.status, Some(Status::Critical));
    assert!(c.data["message"].as_str().unwrap().contains("stale"));
}

#[test]
fn plugins_of_both_contracts_run_side_by_side() {
    hbd_e2e::require!(
        Need::Wasm("hbd_fixture_plugin"),
        Need::Wasm("hbd_log_freshness"),
        Need::Wasm("fd_usage_c"),
        Need::Wasm("threads_zig")
    );
    // One agent runtime, the four examples built against 0.1 and the same four rebuilt
    // against 0.2, each reporting.
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, format!("{} up\n", time_text(0))).unwrap();
    let fresh = WasmSettings {
        config: vec![("path".into(), log.display().to_string())],
        grants: vec![dir.path().to_owned()],
        ..WasmSettings::default()
    };
    let trivial = WasmSettings {
        config: vec![("mode".into(), "trivial".into())],
        ..WasmSettings::default()
    };
    let plugins = [
        (
            wasm_0_1("hbd_fixture_plugin"),
            trivial.clone(),
            "0.1.0",
            "answer",
        ),
        (wasm("hbd_fixture_plugin"), trivial, "0.2.0", "answer"),
        (
            wasm_0_1("hbd_log_freshness"),
            fresh.clone(),
            "0.1.0",
            "age_s",
        ),
        (wasm("hbd_log_freshness"), fresh, "0.2.0", "age_s"),
        (
            wasm_0_1("fd_usage_c"),
            WasmSettings {
                grants: vec!["/proc/sys/fs/file-nr".into()],
                ..WasmSettings::default()
            },
            "0.1.0",
            "percent",
        ),
        (
            wasm_0_1("threads_zig"),
            WasmSettings {
                grants: vec!["/proc/loadavg".into()],
                ..WasmSettings::default()
            },
            "0.1.0",
            "running",
        ),
        (
            wasm("fd_usage_c"),
            WasmSettings {
                grants: vec!["/proc/sys/fs/file-nr".into()],
                ..WasmSettings::default()
            },
            "0.2.0",
            "percent",
        ),
        (
            wasm("threads_zig"),
            WasmSettings {
                grants: vec!["/proc/loadavg".into()],
                ..WasmSettings::default()
            },
            "0.2.0",
            "running",
        ),
    ];
    for (file, settings, contract, metric) in plugins {
        let mut p = WasmPlugin::load(&rt, &file, settings).unwrap();
        assert_eq!(p.contract(), contract, "{}", file.display());
        let c = p.collect().unwrap();
        assert!(
            c.data.contains_key(metric),
            "{}: {:?}",
            file.display(),
            c.data
        );
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for `ago` seconds before now (via `date`, to stay independent
/// of the plugin's own date arithmetic).
fn time_text(ago: u64) -> String {
    let out = Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("{ago} seconds ago"),
            "+%Y-%m-%dT%H:%M:%SZ",
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn the_agent_compiles_through_hbc_compile_beside_its_binary() {
    hbd_e2e::require!(
        Need::Wasm("hbd_fixture_plugin"),
        Need::Wasm("hbd_log_freshness")
    );
    // The agent's binary, copied into a directory of its own with a stand-in
    // `hbc-compile` beside it that records how it was called and fails: the agent runs
    // it with the plugin and the cache file to write, says that it failed, and (built
    // with the compiler, as here) compiles in process instead.
    let dir = tempfile::tempdir().unwrap();
    let hbc = dir.path().join("hbc");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_hbc"), &hbc).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_hbc"), &hbc).unwrap();
    }
    let calls = dir.path().join("calls");
    let compiler = dir.path().join("hbc-compile");
    std::fs::write(
        &compiler,
        format!(
            "#!/bin/sh\necho \"$@\" >> {}\necho 'out of memory' >&2\nexit 3\n",
            calls.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&compiler, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(&hbc)
        .args(["plugin", "check", "-v"])
        .arg(wasm("hbd_fixture_plugin"))
        .args(["--config", r#"{"mode": "trivial"}"#])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let called = std::fs::read_to_string(&calls).unwrap();
    let args: Vec<&str> = called.split_whitespace().collect();
    assert_eq!(args.len(), 2, "{called}");
    assert!(
        args[0].ends_with(".wasm") && args[1].ends_with(".cwasm"),
        "{called}"
    );
    assert!(
        stderr.contains("plugin compiler failed") && stderr.contains("out of memory"),
        "{stderr}"
    );
}

#[test]
fn plugin_check_is_the_authors_tool() {
    hbd_e2e::require!(
        Need::Wasm("hbd_fixture_plugin"),
        Need::Wasm("hbd_log_freshness")
    );
    let hbc = env!("CARGO_BIN_EXE_hbc");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f.txt");
    std::fs::write(&f, "line one\n").unwrap();
    let config = format!(
        r#"{{"file": "{}", "dir": "{}"}}"#,
        f.display(),
        dir.path().display()
    );
    let out = Command::new(hbc)
        .args(["plugin", "check"])
        .arg(wasm("hbd_fixture_plugin"))
        .args(["--config", &config, "--grant"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("fixture 0.1.0 (monitor, every 60 s): exercises every host import"),
        "{stdout}"
    );
    assert!(stdout.contains("\"first_line\": \"line one\""), "{stdout}");
    assert!(
        stdout.contains("\ncontract: hbd:plugin@0.2.0\n"),
        "{stdout}"
    );
    // Numbers and booleans are passed as their JSON text, and it says so; with -v the
    // plugin's own log lines show, tagged with its name.
    let out = Command::new(hbc)
        .args(["plugin", "check", "-v"])
        .arg(wasm_0_1("hbd_fixture_plugin"))
        .args([
            "--config",
            &config.replace('{', r#"{"n": 30, "strict": true, "#),
            "--grant",
        ])
        .arg(dir.path())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("\ncontract: hbd:plugin@0.1.0\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("config: n = \"30\"\nconfig: strict = \"true\"\n"),
        "{stdout}"
    );
    assert!(
        stderr.contains("fixture collecting") && stderr.contains("plugin=\"fixture\""),
        "{stderr}"
    );
    let out = Command::new(hbc)
        .args(["plugin", "check"])
        .arg(wasm("hbd_fixture_plugin"))
        .args(["--config", r#"{"mode": "loop"}"#, "--timeout-ms", "200"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("UNKNOWN: timed out after 200 ms"));
    let out = Command::new(hbc)
        .args(["plugin", "check", "/nonexistent.wasm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.wasm"));
}

#[test]
fn a_plugin_cannot_flood_the_log_or_block_the_agent() {
    hbd_e2e::require!(
        Need::Wasm("hbd_fixture_plugin"),
        Need::Wasm("hbd_log_freshness")
    );
    let hbc = env!("CARGO_BIN_EXE_hbc");
    // 20,000 log lines of 10 KB each through the `log` import: the agent's log takes
    // at most 100 lines per call, each cut to 4096 characters, and says what it dropped.
    let out = Command::new(hbc)
        .args(["plugin", "check"])
        .arg(wasm("hbd_fixture_plugin"))
        .args([
            "--config",
            r#"{"mode": "log_flood"}"#,
            "--timeout-ms",
            "10000",
        ])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.len() < 1024 * 1024, "log grew to {} bytes", log.len());
    assert!(log.contains("more bytes cut]"), "long lines are cut");
    assert!(
        log.contains("dropped=19900"),
        "drops are counted: {}",
        &log[log.len().saturating_sub(500)..]
    );
    // A 16 MiB error text is cut, saying how much.
    let out = Command::new(hbc)
        .args(["plugin", "check"])
        .arg(wasm("hbd_fixture_plugin"))
        .args([
            "--config",
            r#"{"mode": "huge_error"}"#,
            "--memory-mb",
            "128",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.len() < 16 * 1024, "printed {} bytes", stdout.len());
    assert!(
        stdout.contains("more bytes cut]"),
        "{}",
        &stdout[..200.min(stdout.len())]
    );

    // A FIFO inside a grant: read-file refuses it at once instead of blocking forever;
    // a directory with more entries than list-dir returns says so. Both contracts, each
    // in its own terms.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    for i in 0..=10_000 {
        std::fs::write(dir.path().join(format!("f{i}")), "").unwrap();
    }
    for (build, not_a_file, too_many) in [
        (
            wasm_0_1("hbd_fixture_plugin"),
            "not a regular file",
            "more than 10000 entries",
        ),
        (
            wasm("hbd_fixture_plugin"),
            "read-file: not-a-file",
            "list-dir: too-large 10001",
        ),
    ] {
        let mut p = fixture_from(
            &build,
            "read",
            &[("file", fifo.to_str().unwrap())],
            vec![dir.path().to_owned()],
        );
        let err = p.collect().unwrap_err().to_string();
        assert!(err.contains(not_a_file), "{err}");
        let mut p = fixture_from(
            &build,
            "list",
            &[("dir", dir.path().to_str().unwrap())],
            vec![dir.path().to_owned()],
        );
        let err = p.collect().unwrap_err().to_string();
        assert!(err.contains(too_many), "{err}");
    }
}
