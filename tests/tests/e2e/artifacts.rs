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

fn ok(cmd: &mut Command) -> String {
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
fn keypair(dir: &Path, name: &str) -> String {
    ok(Command::new("minisign")
        .args(["-G", "-W", "-f", "-p"])
        .arg(dir.join(format!("{name}.pub")))
        .arg("-s")
        .arg(dir.join(format!("{name}.key"))));
    let text = std::fs::read_to_string(dir.join(format!("{name}.pub"))).unwrap();
    text.lines().nth(1).unwrap().to_owned()
}

fn sign(dir: &Path, key: &str, manifest: &Path) {
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
            "plugin_trust:\n  publishers: [{publisher}]\n  grants: [/var/log]\n  min_interval: 30\n"
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
