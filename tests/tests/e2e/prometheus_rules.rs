//! The Prometheus alerting rules for hbd itself (`dist/prometheus/hbd.rules.yml`): valid
//! (`promtool check rules`), doing what their tests say (`promtool test rules`), and
//! naming only series a real daemon's /metrics has.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use hbd_e2e::Daemon;
use hbd_e2e::needs::Need;

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist/prometheus")
}

fn promtool(args: &[&str]) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(rules_dir())
        .output()
        .expect("promtool (Debian prometheus; scripts/install-deps.sh installs it)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_rules_for_hbd_itself_check_pass_their_tests_and_name_real_series() {
    hbd_e2e::require!(Need::Prometheus);
    let (ok, said) = promtool(&["check", "rules", "hbd.rules.yml"]);
    assert!(ok, "{said}");
    let (ok, said) = promtool(&["test", "rules", "hbd.rules.test.yml"]);
    assert!(ok, "{said}");

    // Every hbd series a rule reads is one a daemon exposes.
    let rules = std::fs::read_to_string(rules_dir().join("hbd.rules.yml")).unwrap();
    let named: BTreeSet<String> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("hbd_"))
        .map(str::to_owned)
        .collect();
    assert!(named.len() >= 8, "{named:?}");
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), "");
    let (_, metrics) = daemon.get("/metrics").unwrap();
    for name in &named {
        assert!(
            metrics.contains(&format!("# TYPE {name} ")),
            "{name} is not on /metrics:\n{metrics}"
        );
    }
}
