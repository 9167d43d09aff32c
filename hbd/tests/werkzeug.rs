//! Password hashes made by Werkzeug itself (PyPI, in the test venv) verify in hbd, and
//! hashes made by hbd verify in Werkzeug: operators moving from the original daemon keep
//! their hashes, and `hbd passwd` output works in both.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use hbd::auth::password::{PasswordHash, hash};
use hbd_e2e::needs::Need;
use hbd_e2e::services::test_python;

fn werkzeug(script: &str, args: &[&str]) -> String {
    let out = Command::new(test_python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const MAKE: &str = r#"
import json, sys
from werkzeug.security import generate_password_hash
out = []
for method, password in json.loads(sys.argv[1]):
    out.append([method, password, generate_password_hash(password, method=method) if method else generate_password_hash(password)])
print(json.dumps(out))
"#;

#[test]
fn hashes_made_by_werkzeug_verify() {
    hbd_e2e::require!(Need::TestPython);
    // "" is Werkzeug's own default (scrypt:32768:8:1 in 3.x).
    let cases = serde_json::json!([
        ["", "correct horse"],
        ["scrypt:16384:8:1", "pässwörd ✓"],
        ["pbkdf2:sha256:1000", "s3cret"],
        ["pbkdf2:sha512:1000", "s3cret"],
        ["pbkdf2:sha256:600000", "hbd"],
    ]);
    let made: Vec<(String, String, String)> =
        serde_json::from_str(&werkzeug(MAKE, &[&cases.to_string()])).unwrap();
    assert_eq!(made.len(), 5);
    assert!(made[0].2.starts_with("scrypt:32768:8:1$"), "{}", made[0].2);
    for (method, password, stored) in made {
        let parsed = PasswordHash::parse(&stored).unwrap_or_else(|e| panic!("{method}: {e}"));
        assert!(parsed.verify(&password), "{method}: {stored}");
        assert!(
            !parsed.verify(&format!("{password}x")),
            "{method}: a wrong password"
        );
    }
}

#[test]
fn hashes_made_by_hbd_verify_in_werkzeug() {
    hbd_e2e::require!(Need::TestPython);
    let made = hash("pässwörd ✓", 1000).unwrap();
    let check = r#"
import sys
from werkzeug.security import check_password_hash
print(check_password_hash(sys.argv[1], sys.argv[2]), check_password_hash(sys.argv[1], "wrong"))
"#;
    assert_eq!(werkzeug(check, &[&made, "pässwörd ✓"]).trim(), "True False");
}
