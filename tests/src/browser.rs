//! The pages in a real browser: the scripts under `tests/browser/` drive Debian's
//! headless Chromium through playwright-core (the test npm packages) and print what a
//! person sees as one JSON line.

use std::path::Path;
use std::process::Command;

use crate::needs;

/// Runs `tests/browser/SCRIPT` in node with playwright-core (from the test npm
/// packages) and `args`, and `env` besides: the JSON object its last line prints.
pub fn browser(script: &str, args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("browser")
        .join(script);
    let out = Command::new("node")
        .arg(&path)
        .args(args)
        .env(
            "PLAYWRIGHT",
            needs::npm().join("node_modules/playwright-core/index.mjs"),
        )
        .envs(env.iter().copied())
        .output()
        .expect("node; run scripts/install-deps.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)))
}
