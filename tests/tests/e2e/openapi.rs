//! The API against its own OpenAPI document, checked by a real OpenAPI client:
//! Schemathesis (PyPI) generates requests for every operation of a live daemon with
//! users and fails on any server error or any answer the document does not describe,
//! a field the document does not name included (every object the document describes
//! is closed for the run: `additionalProperties: false`).
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use hbd_e2e::needs::Need;
use std::process::Command;
use std::time::Duration;

use hbd_e2e::services::test_python;
use hbd_e2e::{Daemon, password_hash, wait_until};

/// The committed document (`docs/openapi.json`, kept equal to the generated one by a
/// unit test in hbd) is valid OpenAPI 3.1 to @apidevtools/swagger-parser (npm).
#[test]
fn swagger_parser_validates_the_document() {
    hbd_e2e::require!(Need::Node);
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
    hbd_e2e::require!(Need::Schemathesis);
    let dir = tempfile::tempdir().unwrap();
    let hash = password_hash("schemathesis password");
    let config = format!(
        "users:\n  ada: {{admin: true, password: '{hash}'}}\n  bob: {{password: '{hash}'}}\n\
         hosts:\n  web1: {{owner: bob}}\n\
         thresholds:\n  cpu_monitor:\n    cpu_percent: {{warning: 80, critical: 90}}\n\
         rate_limit: {{per_token: 0}}\n"
    );
    // The run's token is not rate-limited: it fuzzes the schema, not the limits
    // (rate_limits.rs tests those; every operation documents the 429 they answer).
    let daemon = Daemon::start(dir.path(), &config);
    for host in ["web1", "web2"] {
        daemon.heartbeat_and_cpu(host, 95.0);
    }
    assert!(wait_until(Duration::from_secs(5), || {
        daemon.call("GET", "/api/0/openapi.json", &[], None).status == 200
    }));
    let token = daemon.login("ada", "schemathesis password");
    // The served document, with every object it describes closed: a field served and
    // not documented fails the run.
    let mut doc = daemon.get_json("/api/0/openapi.json");
    close_objects(&mut doc, false);
    reopen_all_of_refs(&mut doc);
    let strict = dir.path().join("strict-openapi.json");
    std::fs::write(&strict, doc.to_string()).unwrap();
    let schemathesis = test_python().with_file_name("schemathesis");
    let out = Command::new(&schemathesis)
        .arg("run")
        .arg(&strict)
        .args(["--url", &format!("http://{}", daemon.http_addr())])
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

/// Sets `additionalProperties: false` on every object schema with `properties` that says
/// nothing of other fields, except the direct parts of an `allOf` (each part names only
/// some of the fields; closing one would refuse the others').
fn close_objects(v: &mut serde_json::Value, part_of_all_of: bool) {
    match v {
        serde_json::Value::Object(m) => {
            if !part_of_all_of
                && m.contains_key("properties")
                && !m.contains_key("additionalProperties")
            {
                m.insert("additionalProperties".into(), false.into());
            }
            for (key, child) in m.iter_mut() {
                close_objects(child, key == "allOf");
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                close_objects(item, part_of_all_of);
            }
        }
        _ => {}
    }
}

/// Opens again the component schemas that some `allOf` uses as a part by reference
/// (`NewToken` is `TokenView` and a `token`).
fn reopen_all_of_refs(doc: &mut serde_json::Value) {
    fn refs(v: &serde_json::Value, in_all_of: bool, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if in_all_of && let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                    out.push(r.trim_start_matches("#/components/schemas/").to_owned());
                }
                for (key, child) in m {
                    refs(child, key == "allOf", out);
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    refs(item, in_all_of, out);
                }
            }
            _ => {}
        }
    }
    let mut names = Vec::new();
    refs(doc, false, &mut names);
    for name in names {
        if let Some(schema) = doc["components"]["schemas"]
            .get_mut(&name)
            .and_then(|s| s.as_object_mut())
        {
            schema.remove("additionalProperties");
        }
    }
}

#[test]
fn closing_objects_leaves_all_of_parts_open() {
    let mut doc = serde_json::json!({
        "A": {"type": "object", "properties": {"x": {"type": "object", "properties": {}}}},
        "B": {"allOf": [{"type": "object", "properties": {"id": {}}}]},
        "C": {"type": "object", "properties": {}, "additionalProperties": true},
    });
    close_objects(&mut doc, false);
    reopen_all_of_refs(&mut doc);
    assert_eq!(doc["A"]["additionalProperties"], false);
    assert_eq!(doc["A"]["properties"]["x"]["additionalProperties"], false);
    assert!(doc["B"]["allOf"][0].get("additionalProperties").is_none());
    assert_eq!(doc["C"]["additionalProperties"], true);
}

/// The fenced blocks of a Markdown file that call `curl`, as written, less the
/// commands that would change this machine (`sudo ...`, an install).
fn curl_examples(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut rest = markdown;
    while let Some((_, after)) = rest.split_once("```") {
        let Some((block, next)) = after.split_once("```") else {
            break;
        };
        rest = next;
        let body = block.split_once('\n').map_or("", |(_, b)| b);
        if !body.contains("curl ") {
            continue;
        }
        let mut kept = String::new();
        let mut command = String::new();
        for line in body.lines() {
            command.push_str(line);
            command.push('\n');
            if line.ends_with('\\') {
                continue;
            }
            let whole = std::mem::take(&mut command);
            if !whole.trim_start().starts_with("sudo ") {
                kept.push_str(&whole);
            }
        }
        blocks.push(kept);
    }
    blocks
}

#[test]
fn every_curl_example_in_the_docs_runs_as_written() {
    hbd_e2e::require!(Need::Jq);
    let dir = tempfile::tempdir().unwrap();
    // The daemon with users the token examples speak to (ada's password as the login
    // example gives it), and an open one (the default) for the rest, with a release.
    let password = "correct horse battery";
    let hash = password_hash(password);
    for sub in ["users", "open"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    let with_users = Daemon::start(
        &dir.path().join("users"),
        &format!(
            "users:\n  ada: {{admin: true, password: '{hash}'}}\n\
             thresholds:\n  cpu_monitor:\n    cpu_percent: {{warning: 80, critical: 90}}\n"
        ),
    );
    let releases = dir.path().join("releases");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/hb_install.sh");
    let published = Command::new("bash")
        .arg(&script)
        .args(["release", "--dir", releases.to_str().unwrap(), "--binary"])
        .arg(hbd_e2e::bin("hbc"))
        .output()
        .unwrap();
    assert!(published.status.success(), "{published:?}");
    let open = Daemon::start(
        &dir.path().join("open"),
        &format!("releases_dir: {}\n", releases.display()),
    );
    for host in ["web1", "db1"] {
        with_users.heartbeat_and_cpu(host, 95.0);
    }
    // The Nagios example asks for this machine's host.
    let me = nix::unistd::gethostname().unwrap().into_string().unwrap();
    hbd_e2e::send_datagram(
        open.udp_addr(),
        format!(
            r#"{{"ID":"PLG","name":"{me}","plugin":"nagios_runner","kind":"monitor","data":{{"load":{{"status":"OK","text":"OK - load average: 0.1"}}}}}}"#
        )
        .as_bytes(),
    );
    let token = with_users.login("ada", password);
    let bearer = format!("Bearer {token}");
    assert!(wait_until(Duration::from_secs(10), || open
        .host(&me)
        .is_some()
        && with_users
            .call(
                "GET",
                "/api/0/hosts/db1",
                &[("Authorization", &bearer)],
                None
            )
            .status
            == 200));

    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let mut files: Vec<_> = std::fs::read_dir(&docs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.push(docs.join("../README.md"));
    files.sort();
    let mut ran = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for example in curl_examples(&text) {
            let daemon = if example.contains("TOKEN") {
                &with_users
            } else {
                &open
            };
            let url = format!("http://{}", daemon.http_addr());
            let script = example
                .replace("http://127.0.0.1:50004", &url)
                .replace("http://hbd.example:8080", &url);
            // An HTTP error fails the example, as it would for a reader.
            let out = Command::new("bash")
                .args([
                    "-c",
                    &format!(
                        "set -euo pipefail\ncurl() {{ command curl --fail \"$@\"; }}\n{script}"
                    ),
                ])
                .env("TOKEN", &token)
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: this example fails:\n{example}\n{}{}",
                file.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            ran += 1;
        }
    }
    // The ones known today: login, two silence blocks, the Nagios report, the bootstrap.
    assert!(ran >= 5, "only {ran} curl examples found");
    // They did what they say: the silences exist (one ended), the script was fetched.
    let silences = with_users.call(
        "GET",
        "/api/0/silences",
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    );
    let states: Vec<String> = silences.json()["silences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap().to_owned())
        .collect();
    assert!(states.contains(&"expired".to_owned()), "{states:?}");
    assert!(states.contains(&"pending".to_owned()), "{states:?}");
    assert!(dir.path().join("hb_install.sh").is_file());
}

#[test]
fn curl_examples_are_found_with_their_variables_and_nothing_else() {
    let md = "text `curl x` inline\n```sh\n# a comment\nID=$(curl -X POST a \\\n  -d b | jq .id)\nsudo rm -rf / \\\n  --no-preserve-root\ncurl -X DELETE a/$ID\n```\n```\nls\n```\n";
    assert_eq!(
        curl_examples(md),
        ["# a comment\nID=$(curl -X POST a \\\n  -d b | jq .id)\ncurl -X DELETE a/$ID\n"]
    );
}
