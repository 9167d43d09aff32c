//! End to end: a publisher's side of signed plugin artifacts, with the real tools. `hbc
//! plugin manifest` writes the manifest of a built plugin, Debian's `minisign` signs it
//! with a key made for the test, and `hbc plugin verify` runs every check an agent runs
//! before compiling: the signed artifact passes; a tampered manifest, a widened grant,
//! a stranger's key and a changed .wasm are each refused with their reason.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::Path;
use std::process::{Command, Output};

use hbd_e2e::needs::Need;
use hbd_e2e::{bin, wasm_plugin};

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.code().is_some(),
        "{cmd:?} was killed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub(crate) fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A minisign key pair without a password in `dir`; the public key's base64 line.
pub(crate) fn keypair(dir: &Path, name: &str) -> String {
    ok(Command::new("minisign")
        .args(["-G", "-W", "-f", "-p"])
        .arg(dir.join(format!("{name}.pub")))
        .arg("-s")
        .arg(dir.join(format!("{name}.key"))));
    let text = std::fs::read_to_string(dir.join(format!("{name}.pub"))).unwrap();
    text.lines().nth(1).unwrap().to_owned()
}

pub(crate) fn sign(dir: &Path, key: &str, manifest: &Path) {
    ok(Command::new("minisign")
        .arg("-S")
        .arg("-s")
        .arg(dir.join(format!("{key}.key")))
        .arg("-m")
        .arg(manifest));
}

/// `hbc plugin manifest` of the plugin, as `dir/log_freshness.json`, signed by `key`.
fn publish(dir: &Path, key: &str, grant: &str) {
    let text = ok(Command::new(bin("hbc"))
        .args(["plugin", "manifest"])
        .arg(dir.join("log_freshness.wasm"))
        .args([
            "--version",
            "1.2.0",
            "--grant",
            grant,
            "--min-interval",
            "30",
        ]));
    let manifest = dir.join("log_freshness.json");
    std::fs::write(&manifest, text).unwrap();
    sign(dir, key, &manifest);
}

/// `hbc plugin verify` against `agent.yaml`: the verdict's line and whether it passed.
fn verify(dir: &Path) -> (bool, String) {
    let out = run(Command::new(bin("hbc"))
        .args(["plugin", "verify"])
        .arg(dir.join("log_freshness.wasm"))
        .arg("-c")
        .arg(dir.join("agent.yaml")));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
            + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn a_signed_artifact_passes_the_agents_checks_and_each_attack_is_refused() {
    hbd_e2e::require!(Need::Minisign, Need::Wasm("hbd_log_freshness"));
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let wasm = std::fs::read(wasm_plugin("hbd_log_freshness")).unwrap();
    std::fs::write(dir.join("log_freshness.wasm"), &wasm).unwrap();
    let publisher = keypair(dir, "publisher");
    keypair(dir, "stranger");
    std::fs::write(
        dir.join("agent.yaml"),
        format!(
            "key: an agent key, 16 or more\nplugin_trust:\n  publishers: [{publisher}]\n  grants: [/var/log]\n  min_interval: 30\n"
        ),
    )
    .unwrap();

    // The manifest names the plugin as it describes itself, its contract and its bytes.
    publish(dir, "publisher", "/var/log");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("log_freshness.json")).unwrap()).unwrap();
    assert_eq!(manifest["name"], "log_freshness");
    assert_eq!(manifest["version"], "1.2.0");
    assert_eq!(manifest["contract"], "hbd:plugin@0.2.0");
    assert_eq!(manifest["size"], wasm.len());
    let sha = ok(Command::new("sha256sum").arg(dir.join("log_freshness.wasm")));
    assert_eq!(manifest["sha256"], sha.split(' ').next().unwrap());
    assert_eq!(
        manifest["capabilities"]["grants"],
        serde_json::json!(["/var/log"])
    );

    let (passed, said) = verify(dir);
    assert!(passed, "{said}");
    assert!(
        said.starts_with("OK: log_freshness 1.2.0 (hbd:plugin@0.2.0), signed by a trusted publisher; may read [/var/log]"),
        "{said}"
    );

    // Tampered after signing: the grant widened in the signed file.
    let signed = std::fs::read_to_string(dir.join("log_freshness.json")).unwrap();
    std::fs::write(
        dir.join("log_freshness.json"),
        signed.replace("\"/var/log\"", "\"/\""),
    )
    .unwrap();
    let (passed, said) = verify(dir);
    assert!(!passed);
    assert_eq!(
        said,
        "refused (bad_signature): the signature does not verify: the manifest is not what its publisher signed"
    );

    // Signed, but asking for more than this agent ever grants.
    publish(dir, "publisher", "/etc");
    let (passed, said) = verify(dir);
    assert!(!passed);
    assert_eq!(
        said,
        "refused (ceiling): asks for more than this agent allows: grant /etc is outside this agent's ceiling (/var/log)"
    );

    // Signed by a key this agent does not trust.
    publish(dir, "stranger", "/var/log");
    let (passed, said) = verify(dir);
    assert!(!passed);
    assert_eq!(
        said,
        "refused (unknown_publisher): signed by none of the 1 trusted publisher keys"
    );

    // The publisher's signature, and a .wasm that is not the one signed.
    publish(dir, "publisher", "/var/log");
    assert!(verify(dir).0);
    let mut changed = wasm.clone();
    let last = changed.len() - 1;
    changed[last] ^= 0xff;
    std::fs::write(dir.join("log_freshness.wasm"), &changed).unwrap();
    let (passed, said) = verify(dir);
    assert!(!passed);
    assert!(
        said.starts_with("refused (digest): the .wasm is not the one signed: SHA-256 "),
        "{said}"
    );
}

/// Writes `NAME-VERSION.{wasm,json,json.minisig}` of the built plugin into `dir`,
/// signed by `key` (made by [`keypair`] in `keys`), as a publisher hands them over;
/// the manifest allows `grant` and runs every `min_interval` seconds at most.
pub(crate) fn offer(
    keys: &Path,
    dir: &Path,
    key: &str,
    version: &str,
    grant: &str,
    min_interval: &str,
) {
    offer_granting(keys, dir, key, version, &[grant], min_interval);
}

/// [`offer`] with a manifest that allows each of `grants`.
pub(crate) fn offer_granting(
    keys: &Path,
    dir: &Path,
    key: &str,
    version: &str,
    grants: &[&str],
    min_interval: &str,
) {
    let stem = dir
        .join(format!("log_freshness-{version}"))
        .display()
        .to_string();
    std::fs::copy(wasm_plugin("hbd_log_freshness"), format!("{stem}.wasm")).unwrap();
    let mut manifest = Command::new(bin("hbc"));
    manifest
        .args(["plugin", "manifest"])
        .arg(format!("{stem}.wasm"))
        .args(["--version", version, "--min-interval", min_interval]);
    for grant in grants {
        manifest.args(["--grant", grant]);
    }
    let text = ok(&mut manifest);
    std::fs::write(format!("{stem}.json"), text).unwrap();
    sign(keys, key, Path::new(&format!("{stem}.json")));
}

fn fetch(daemon: &hbd_e2e::Daemon, path: &str) -> (u16, Vec<u8>) {
    // Plain HTTP, as agents fetch; the client still wants a crypto provider chosen.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = format!("http://{}{path}", daemon.http_addr());
    let reply = reqwest::blocking::get(url).unwrap();
    (reply.status().as_u16(), reply.bytes().unwrap().to_vec())
}

#[test]
fn the_daemon_offers_signed_artifacts_and_tells_each_agent_signed_what_to_run() {
    hbd_e2e::require!(Need::Minisign, Need::Wasm("hbd_log_freshness"));
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let offered = dir.path().join("artifacts");
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::create_dir_all(&offered).unwrap();
    let publisher = keypair(&keys, "publisher");
    keypair(&keys, "stranger");
    offer(&keys, &offered, "publisher", "1.2.0", "/var/log", "30");
    offer(&keys, &offered, "publisher", "1.3.0", "/var/log", "30");
    // A stranger's artifact is not offered: the daemon knows its publishers.
    offer(&keys, &offered, "stranger", "6.6.6", "/", "30");
    let host_key = "web1's own key, long enough";
    let daemon = hbd_e2e::Daemon::start(
        dir.path(),
        &format!(
            "artifacts_dir: {}
plugin_publishers: [{publisher}]
hosts:
  web1: {{key: \"{host_key}\"}}
groups:
  canary:
    hosts: [web1]
    plugins:
      log_freshness: {{version: 1.3.0, interval: 60, grants: [/var/log/app], config: {{path: /var/log/app/app.log}}}}
  web:
    hosts: ['web*']
    plugins:
      log_freshness: {{version: 1.2.0}}
",
            offered.display()
        ),
    );

    let list = daemon.get_json("/api/0/artifacts");
    let versions: Vec<&str> = list["offered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["manifest"]["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.2.0", "1.3.0"], "{list}");
    assert_eq!(
        list["refused"][0],
        "log_freshness-6.6.6.json: signed by none of the 1 trusted publisher keys",
        "{list}"
    );

    // What web1's agent gets, checked as the agent checks it.
    let nonce = "n0nce-of-the-agent";
    let reply = daemon.call(
        "GET",
        &format!("/agent/web1/plugins?nonce={nonce}"),
        &[],
        None,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let key = hb_proto::Key::new(host_key);
    let desired = hb_artifact::desired::read_answer(
        &key,
        reply.body.as_bytes(),
        reply.header(hb_artifact::desired::TAG_HEADER),
        "web1",
        nonce,
    )
    .unwrap();
    assert_eq!(desired.set.plugins.len(), 1);
    let plugin = &desired.set.plugins[0];
    assert_eq!(
        plugin.version.to_string(),
        "1.3.0",
        "the canary group comes first"
    );
    assert_eq!(plugin.settings.interval, Some(60.0));
    // Replayed to a later request, the same answer is refused.
    let replay = hb_artifact::desired::read_answer(
        &key,
        reply.body.as_bytes(),
        reply.header(hb_artifact::desired::TAG_HEADER),
        "web1",
        "the-next-nonce",
    );
    assert!(replay.is_err());

    // The files it names pass every check an agent runs.
    let (status, wasm) = fetch(&daemon, &plugin.files.wasm);
    assert_eq!(status, 200);
    let (_, manifest) = fetch(&daemon, &plugin.files.manifest);
    let (_, signature) = fetch(&daemon, &plugin.files.signature);
    let trust = hb_artifact::Trust {
        publishers: vec![hb_artifact::Publisher::new(&publisher).unwrap()],
        ceiling: hb_artifact::Ceiling {
            grants: vec!["/var/log".into()],
            min_interval_s: 30.0,
            ..Default::default()
        },
        contracts: vec!["hbd:plugin@0.2.0".into()],
    };
    let checked = hb_artifact::verify(
        &manifest,
        &signature,
        &wasm,
        Some(("log_freshness", &plugin.version)),
        &trust,
        &Default::default(),
    )
    .unwrap();
    assert_eq!(checked.sha256, plugin.sha256);

    // Nothing else in the directory is served; a host without a key is told why.
    assert_eq!(fetch(&daemon, "/artifacts/log_freshness-6.6.6.wasm").0, 404);
    assert_eq!(
        fetch(&daemon, "/artifacts/..%2Fkeys%2Fpublisher.key").0,
        404
    );
    let keyless = daemon.call(
        "GET",
        "/agent/web2/plugins?nonce=n0nce-of-the-agent",
        &[],
        None,
    );
    assert_eq!(keyless.status, 409, "{}", keyless.body);
    assert_eq!(
        keyless.body,
        "web2 has no key: what to run only travels signed\n"
    );
    let bad = daemon.call("GET", "/agent/web1/plugins?nonce=x", &[], None);
    assert_eq!(bad.status, 400);

    // For people: what web2 should run, once it has been heard.
    hbd_e2e::send_datagram(
        daemon.udp_addr(),
        b"{\"ID\":\"HTB\",\"name\":\"web2\",\"interval\":30}",
    );
    let mut web2 = serde_json::Value::Null;
    assert!(
        hbd_e2e::wait_until(std::time::Duration::from_secs(5), || {
            match daemon.get("/api/0/hosts/web2/plugins/desired") {
                Some((200, body)) => {
                    web2 = serde_json::from_str(&body).unwrap();
                    true
                }
                _ => false,
            }
        }),
        "{web2}"
    );
    assert_eq!(web2["plugins"][0]["version"], "1.2.0", "{web2}");
    assert_eq!(web2["missing"], serde_json::json!([]));
    assert_eq!(web2["digest"].as_str().unwrap().len(), 64);
}

/// The report of `plugin` that web1's agent last sent, once one satisfies `ok`.
pub(crate) fn report_where(
    daemon: &hbd_e2e::Daemon,
    plugin: &str,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> Option<serde_json::Value> {
    report_of(
        daemon,
        "web1",
        plugin,
        std::time::Duration::from_secs(30),
        ok,
    )
}

/// The report of `plugin` that `host`'s agent last sent, once one satisfies `ok`
/// within `within`.
pub(crate) fn report_of(
    daemon: &hbd_e2e::Daemon,
    host: &str,
    plugin: &str,
    within: std::time::Duration,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> Option<serde_json::Value> {
    let mut found = None;
    hbd_e2e::wait_until(within, || {
        let Some((200, body)) =
            daemon.get(&format!("/api/0/hosts/{host}/plugins/{plugin}?limit=1"))
        else {
            return false;
        };
        let latest: serde_json::Value = serde_json::from_str(&body).unwrap();
        let sample = latest["samples"][0].clone();
        if ok(&sample) {
            found = Some(sample);
            true
        } else {
            false
        }
    });
    found
}

/// What a test that publishes artifacts needs, in `dir`: the publisher's key pair, the
/// daemon's `artifacts_dir`, and a log directory (the grant) holding a fresh `app.log`
/// for log_freshness to read.
pub(crate) struct Publishing {
    /// The key pairs' directory.
    pub keys: std::path::PathBuf,
    /// The daemon's `artifacts_dir`.
    pub offered: std::path::PathBuf,
    /// The publisher's public key line.
    pub publisher: String,
    /// The log directory, as a grant.
    pub grant: String,
}

pub(crate) fn publishing(dir: &Path) -> Publishing {
    let keys = dir.join("keys");
    let offered = dir.join("artifacts");
    let logs = dir.join("logs");
    for d in [&keys, &offered, &logs] {
        std::fs::create_dir_all(d).unwrap();
    }
    let now = Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    std::fs::write(
        logs.join("app.log"),
        format!(
            "{} app started\n",
            String::from_utf8_lossy(&now.stdout).trim()
        ),
    )
    .unwrap();
    let publisher = keypair(&keys, "publisher");
    Publishing {
        keys,
        offered,
        publisher,
        grant: logs.display().to_string(),
    }
}

#[test]
fn a_real_agent_runs_what_the_daemon_says_refuses_a_strangers_version_takes_the_next_and_rolls_back_one_step()
 {
    // Every change after the first reaches the agent through its heartbeats' ACKs.
    hbd_e2e::require!(Need::Minisign, Need::Wasm("hbd_log_freshness"));
    let dir = tempfile::tempdir().unwrap();
    let Publishing {
        keys,
        offered,
        publisher,
        grant,
    } = publishing(dir.path());
    keypair(&keys, "stranger");
    let host_key = "web1's own key, long enough";
    let daemon_config = |version: &str| {
        format!(
            "artifacts_dir: {}
hosts:
  web1: {{key: \"{host_key}\"}}
groups:
  web:
    hosts: [web1]
    plugins:
      log_freshness:
        version: {version}
        interval: 1
        grants: ['{grant}']
        config: {{path: '{grant}/app.log', warning_s: 3600, critical_s: 7200}}
",
            offered.display()
        )
    };
    offer(&keys, &offered, "publisher", "1.2.0", &grant, "1");
    let daemon = hbd_e2e::Daemon::start(dir.path(), &daemon_config("1.2.0"));
    let _agent = hbd_e2e::Agent::start(
        dir.path(),
        "web1",
        daemon.udp_addr(),
        &format!(
            "interval: 0.5
key: \"{host_key}\"
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
            cache = dir.path().join("cache").display(),
            http = daemon.http_addr(),
            managed = dir.path().join("managed").display(),
        ),
    );

    // The daemon's set arrives, is checked, compiled and runs: the plugin reports, and
    // the agent reports the digest it applied.
    let desired = daemon.get_json("/api/0/hosts/web1/plugins/desired");
    let applied = report_where(&daemon, "managed_plugins", |s| {
        s["data"]["digest"] == desired["digest"]
    })
    .unwrap_or_else(|| panic!("never applied; agent log:\n{}", _agent.log()));
    assert_eq!(applied["status"], "OK", "{applied}");
    assert_eq!(
        applied["data"]["plugins"]["log_freshness"]["version"],
        "1.2.0"
    );
    assert_eq!(
        applied["data"]["plugins"]["log_freshness"]["contract"], "hbd:plugin@0.2.0",
        "the contract its checked manifest names"
    );
    let fresh =
        report_where(&daemon, "log_freshness", |s| s["status"] == "OK").unwrap_or_else(|| {
            panic!(
                "the managed plugin never reported; agent log:\n{}",
                _agent.log()
            )
        });
    assert!(fresh["data"].is_object(), "{fresh}");
    let web1 = daemon.get_json("/api/0/hosts/web1/plugins/desired");
    assert_eq!(web1["in_sync"], true, "{web1}");
    assert_eq!(web1["applied"], desired["digest"]);
    let fleet = daemon.get_json("/api/0/managed");
    assert_eq!(
        fleet["versions"],
        serde_json::json!({"log_freshness": {"1.2.0": 1}})
    );
    assert_eq!(fleet["in_sync"], 1, "{fleet}");
    assert_eq!(fleet["behind"], serde_json::json!([]), "{fleet}");

    // 1.3.0, signed by a stranger: the daemon offers it (it checks no publishers here).
    // The agent asks the daemon only every hour, so it learns of the change from the
    // ACKs to its heartbeats; it refuses the artifact before compiling it and keeps
    // 1.2.0 running.
    offer(&keys, &offered, "stranger", "1.3.0", &grant, "1");
    std::fs::write(daemon.config_path(), daemon_config("1.3.0")).unwrap();
    daemon.reload().unwrap();
    // The change is logged with who made it.
    let log = daemon.log();
    let line = log
        .lines()
        .find(|l| l.contains("managed plugins changed"))
        .unwrap_or_else(|| panic!("no change logged:\n{log}"));
    assert!(
        line.contains("SIGHUP")
            && line.contains("groups.web.plugins.log_freshness: 1.2.0 -> 1.3.0"),
        "{line}"
    );
    // And kept, with when.
    let record = daemon.get_json("/api/0/managed/changes");
    let last = &record["changes"][0];
    assert_eq!(last["by"], "SIGHUP", "{record}");
    assert_eq!(
        last["change"], "groups.web.plugins.log_freshness: 1.2.0 -> 1.3.0",
        "{record}"
    );
    assert!(last["at"].as_str().unwrap().ends_with('Z'), "{record}");
    let refused = report_where(&daemon, "managed_plugins", |s| s["status"] == "WARNING")
        .unwrap_or_else(|| panic!("no refusal; agent log:\n{}", _agent.log()));
    assert_eq!(
        refused["data"]["refused"][0]["reason"], "unknown_publisher",
        "{refused}"
    );
    assert_eq!(
        refused["data"]["message"],
        "refused log_freshness 1.3.0: signed by none of the 1 trusted publisher keys (unknown_publisher); the previous set keeps running"
    );
    assert_eq!(
        refused["data"]["plugins"]["log_freshness"]["version"],
        "1.2.0"
    );
    // The fleet's view says who is behind and why.
    let fleet = daemon.get_json("/api/0/managed");
    assert_eq!(fleet["in_sync"], 0, "{fleet}");
    let behind = &fleet["behind"][0];
    assert_eq!(behind["host"], "web1");
    assert_eq!(behind["status"], "WARNING");
    assert_eq!(
        behind["refused"][0]["reason"], "unknown_publisher",
        "{fleet}"
    );
    assert_ne!(behind["applied"], behind["desired"]);
    assert!(
        !dir.path().join("managed/log_freshness-1.3.0.wasm").exists(),
        "refused code is not kept"
    );
    // Times are RFC 3339 in UTC, so later is greater as text too.
    let refused_at = refused["received"].as_str().unwrap().to_owned();
    assert!(
        report_where(&daemon, "log_freshness", |s| {
            s["received"].as_str().unwrap() > refused_at.as_str()
        })
        .is_some(),
        "1.2.0 stopped running"
    );

    // 1.4.0 from the publisher: applied.
    offer(&keys, &offered, "publisher", "1.4.0", &grant, "1");
    std::fs::write(daemon.config_path(), daemon_config("1.4.0")).unwrap();
    daemon.reload().unwrap();
    let next = report_where(&daemon, "managed_plugins", |s| {
        s["data"]["plugins"]["log_freshness"]["version"] == "1.4.0"
    })
    .unwrap_or_else(|| panic!("1.4.0 never applied; agent log:\n{}", _agent.log()));
    assert_eq!(next["status"], "OK", "{next}");
    let fleet = daemon.get_json("/api/0/managed");
    assert_eq!(
        fleet["versions"],
        serde_json::json!({"log_freshness": {"1.4.0": 1}})
    );
    assert_eq!(fleet["in_sync"], 1, "{fleet}");

    // Rolled back to 1.2.0, the version it ran just before 1.4.0: taken.
    std::fs::write(daemon.config_path(), daemon_config("1.2.0")).unwrap();
    daemon.reload().unwrap();
    let back = report_where(&daemon, "managed_plugins", |s| {
        s["data"]["plugins"]["log_freshness"]["version"] == "1.2.0"
    })
    .unwrap_or_else(|| panic!("the rollback never applied; agent log:\n{}", _agent.log()));
    assert_eq!(back["status"], "OK", "{back}");

    // An older version, properly signed, is refused: going further back than one step
    // is publishing the old code as a new version, not serving an old one.
    offer(&keys, &offered, "publisher", "1.1.0", &grant, "1");
    std::fs::write(daemon.config_path(), daemon_config("1.1.0")).unwrap();
    daemon.reload().unwrap();
    let older = report_where(&daemon, "managed_plugins", |s| s["status"] == "WARNING")
        .unwrap_or_else(|| panic!("no refusal of 1.1.0; agent log:\n{}", _agent.log()));
    assert_eq!(older["data"]["refused"][0]["reason"], "older", "{older}");
    assert_eq!(
        older["data"]["plugins"]["log_freshness"]["version"],
        "1.2.0"
    );
}

#[test]
fn an_artifact_that_does_not_compile_is_refused_before_any_agent_is_told() {
    // The daemon checks with the agents' own compiler (hbc-compile, beside hbd here).
    hbd_e2e::require!(Need::Minisign, Need::Wasm("hbd_log_freshness"));
    let dir = tempfile::tempdir().unwrap();
    let p = publishing(dir.path());
    // Signed and consistent, but not a WebAssembly component.
    let stem = p.offered.join("junk-1.0.0").display().to_string();
    let junk = b"\0asm\x0d\0\x01\0 and then nothing a compiler would take".to_vec();
    std::fs::write(format!("{stem}.wasm"), &junk).unwrap();
    let manifest = hb_artifact::Manifest {
        hbd_artifact: hb_artifact::manifest::FORMAT,
        name: "junk".into(),
        version: "1.0.0".parse().unwrap(),
        sha256: hb_proto::digest::hex(&<sha2::Sha256 as sha2::Digest>::digest(&junk)),
        size: junk.len() as u64,
        contract: "hbd:plugin@0.2.0".into(),
        capabilities: hb_artifact::Capabilities {
            grants: Vec::new(),
            memory_mb: 32,
            timeout_ms: 1000,
            min_interval_s: 60.0,
            net: Vec::new(),
            connections: None,
        },
        description: None,
    };
    std::fs::write(
        format!("{stem}.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    sign(&p.keys, "publisher", Path::new(&format!("{stem}.json")));
    offer(&p.keys, &p.offered, "publisher", "1.2.0", &p.grant, "1");
    let config = dir.path().join("hbd.yaml");
    let with = |plugin: &str, version: &str| {
        format!(
            "artifacts_dir: {}\nplugin_publishers: [{}]\ngroups:\n  web:\n    hosts: ['web*']\n    plugins:\n      {plugin}: {{version: {version}, grants: ['{}']}}\n",
            p.offered.display(),
            p.publisher,
            p.grant
        )
    };
    std::fs::write(
        &config,
        with("junk", "1.0.0").replace(&format!(", grants: ['{}']", p.grant), ""),
    )
    .unwrap();
    let out = run(Command::new(bin("hbd"))
        .arg("check-config")
        .arg("-c")
        .arg(&config));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("error: groups.web.plugins.junk.version: junk 1.0.0 does not compile: "),
        "{said}"
    );
    // A real one passes, compiled once.
    std::fs::write(&config, with("log_freshness", "1.2.0")).unwrap();
    let out = run(Command::new(bin("hbd"))
        .arg("check-config")
        .arg("-c")
        .arg(&config));
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
