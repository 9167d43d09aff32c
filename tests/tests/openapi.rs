//! The API against its own OpenAPI document, checked by a real OpenAPI client:
//! Schemathesis (PyPI) generates requests for every operation of a live daemon with
//! users and fails on any server error or any answer the document does not describe.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::process::Command;
use std::time::Duration;

use hbd_e2e::services::test_python;
use hbd_e2e::{Daemon, password_hash, wait_until};

/// The committed document (`docs/openapi.json`, kept equal to the generated one by a
/// unit test in hbd) is valid OpenAPI 3.1 to @apidevtools/swagger-parser (npm).
#[test]
fn swagger_parser_validates_the_document() {
    let npm = std::env::var_os("HBD_NPM_DIR").map_or_else(
        || std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/hbd-npm"),
        std::path::PathBuf::from,
    );
    let doc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let script = format!(
        "require('@apidevtools/swagger-parser').validate({:?}).then(\
         api => console.log('valid', api.openapi, Object.keys(api.paths).length), \
         e => {{ console.error(e.message); process.exit(1); }})",
        doc.display().to_string()
    );
    let out = Command::new("node")
        .args(["-e", &script])
        .current_dir(&npm)
        .output()
        .expect("node; run scripts/install-deps.sh");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.starts_with("valid 3.1.0"), "{said}");
}

#[test]
fn schemathesis_finds_no_server_error_and_no_answer_off_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let hash = password_hash("schemathesis password");
    let config = format!(
        "users:\n  ada: {{admin: true, password: '{hash}'}}\n  bob: {{password: '{hash}'}}\n\
         hosts:\n  web1: {{owner: bob}}\n\
         thresholds:\n  cpu_monitor:\n    cpu_percent: {{warning: 80, critical: 90}}\n"
    );
    let daemon = Daemon::start(dir.path(), &config);
    for host in ["web1", "web2"] {
        daemon.heartbeat_and_cpu(host, 95.0);
    }
    assert!(wait_until(Duration::from_secs(5), || {
        daemon.call("GET", "/api/0/openapi.json", &[], None).status == 200
    }));
    let token = daemon.login("ada", "schemathesis password");
    let schemathesis = test_python().with_file_name("schemathesis");
    let out = Command::new(&schemathesis)
        .arg("run")
        .arg(format!("http://{}/api/0/openapi.json", daemon.http_addr()))
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--max-examples", "25", "--workers", "2", "--no-color"])
        // Logging out would end the token the run uses; users.rs tests logout.
        .args(["--exclude-path", "/api/0/auth/logout"])
        .args(["--request-timeout", "10"])
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/install-deps.sh", schemathesis.display()));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis failed:\n{report}\n{}\ndaemon log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        daemon.log()
    );
    assert!(report.contains("passed"), "{report}");
    assert!(!report.contains(" 0 generated"), "{report}");
}
