//! What a test needs that `cargo` does not build (services, tools, a browser, built
//! WebAssembly plugins), and what happens when it is missing.
//!
//! `cargo test --workspace` on a machine with only Rust runs every test that needs
//! nothing more; a test that needs something missing says so on the terminal, loudly,
//! naming it and how to install it, and passes without running. Where everything must
//! run (CI, which sets `CI`, and `scripts/test.sh`, which installs everything first and
//! sets `HBD_REQUIRE_ALL`), a missing need fails the test instead: nothing is ever
//! skipped there.
//!
//! A test states its needs first: `hbd_e2e::require!(Need::Bind, Need::TestPython);`.

use std::io::Write;
use std::path::PathBuf;

/// Something a test needs beyond a Rust toolchain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The test venv's Python with aiosmtpd and Werkzeug: the SMTP capture, the HTTP
    /// stand-ins (Pushover, Mattermost, Signal, webhooks) and Werkzeug's hashes.
    TestPython,
    /// Schemathesis, in the test venv.
    Schemathesis,
    /// BIND 9 (`named`, `tsig-keygen`) and `dig`.
    Bind,
    /// PostgreSQL's server binaries, and root to run a cluster as user `postgres`.
    Postgres,
    /// VictoriaMetrics.
    VictoriaMetrics,
    /// Prometheus.
    Prometheus,
    /// Prometheus Alertmanager (Debian's `prometheus-alertmanager`).
    Alertmanager,
    /// Node.js with the test npm packages (playwright-core, swagger-parser) and
    /// Debian's headless Chromium.
    Browser,
    /// Node.js with the test npm packages (swagger-parser).
    Node,
    /// npm's `oidc-provider` (a certified OpenID Provider) in the test npm packages,
    /// with Node.js, and the browser that signs in through it.
    OidcProvider,
    /// `jq`, which the documentation's curl examples pipe into.
    Jq,
    /// `minisign`, which publishers sign plugin artifacts with.
    Minisign,
    /// Debian's monitoring-plugins (`check_dummy` and friends).
    MonitoringPlugins,
    /// `systemd-analyze`, which checks the shipped service units.
    SystemdAnalyze,
    /// The agent built for arm64 Linux by `scripts/build-arm64.sh`, and `qemu-aarch64`
    /// with the arm64 C library to run it.
    Arm64,
    /// The agent and its plugin compiler built for Windows by `scripts/build-windows.sh`,
    /// and Wine to run them.
    Windows,
    /// A WebAssembly plugin built by `scripts/build-plugins.sh` (its file name without
    /// `.wasm`).
    Wasm(&'static str),
}

impl Need {
    /// What is missing, if anything.
    pub fn missing(self) -> Option<String> {
        let file = |p: PathBuf| (!p.exists()).then(|| p.display().to_string());
        let tool = |name: &str| (!on_path(name)).then(|| format!("`{name}` on PATH"));
        match self {
            Need::TestPython => file(venv().join("bin/python")),
            Need::Schemathesis => file(venv().join("bin/schemathesis")),
            Need::Bind => file(PathBuf::from("/usr/sbin/named")).or_else(|| tool("dig")),
            Need::Postgres => {
                let initdb = std::fs::read_dir("/usr/lib/postgresql")
                    .into_iter()
                    .flatten()
                    .filter_map(Result::ok)
                    .any(|e| e.path().join("bin/initdb").exists());
                if !initdb {
                    Some("initdb under /usr/lib/postgresql".into())
                } else if !nix::unistd::geteuid().is_root() {
                    Some("root (the test cluster runs as user postgres)".into())
                } else {
                    None
                }
            }
            Need::VictoriaMetrics => tool("victoria-metrics"),
            Need::Prometheus => tool("prometheus"),
            Need::Alertmanager => tool("prometheus-alertmanager"),
            Need::Browser => tool("node")
                .or_else(|| tool("chromium"))
                .or_else(|| file(npm().join("node_modules/playwright-core"))),
            Need::Node => tool("node")
                .or_else(|| file(npm().join("node_modules/@apidevtools/swagger-parser"))),
            Need::OidcProvider => Need::Browser
                .missing()
                .or_else(|| file(npm().join("node_modules/oidc-provider"))),
            Need::Jq => tool("jq"),
            Need::Minisign => tool("minisign"),
            Need::MonitoringPlugins => file(PathBuf::from("/usr/lib/nagios/plugins/check_dummy")),
            Need::SystemdAnalyze => tool("systemd-analyze"),
            Need::Arm64 => tool("qemu-aarch64")
                .or_else(|| file(PathBuf::from(ARM64_LIBC)))
                .or_else(|| {
                    let (full, mini) = built_arm64()?;
                    file(full).or_else(|| file(mini))
                }),
            Need::Windows => file(PathBuf::from(WINE)).or_else(|| {
                let exe = built_windows()?;
                file(exe.clone())
                    .or_else(|| file(exe.with_file_name("hbc-compile.exe")))
                    .or_else(|| file(exe.with_file_name("bcryptprimitives.dll")))
            }),
            Need::Wasm(name) => match built_wasm(name) {
                Some(_) => None,
                None => Some(format!("{name}.wasm (built WebAssembly plugins)")),
            },
        }
    }

    /// How to get it.
    pub fn how(self) -> &'static str {
        match self {
            Need::Wasm(_) => "scripts/build-plugins.sh (needs the wasm32-wasip2 target)",
            Need::Windows => {
                "scripts/install-deps.sh (gcc-mingw-w64-x86-64, wine64), then scripts/build-windows.sh"
            }
            Need::Arm64 => {
                "scripts/install-deps.sh (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user), then scripts/build-arm64.sh"
            }
            Need::Postgres => "scripts/install-deps.sh (postgresql), and run the tests as root",
            _ => "scripts/install-deps.sh (Debian packages, the test venv and npm packages)",
        }
    }
}

/// Whether every need is met. When one is not: in CI (`CI` set) or under
/// `scripts/test.sh` (`HBD_REQUIRE_ALL` set) this panics, failing the test; elsewhere it
/// writes a banner straight to the terminal (not to the captured output a passing test
/// hides) and returns `false`, and the test returns without running.
pub fn ready(needs: &[Need]) -> bool {
    let missing: Vec<String> = needs
        .iter()
        .filter_map(|n| n.missing().map(|what| format!("{what}: {}", n.how())))
        .collect();
    if missing.is_empty() {
        return true;
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned();
    let list = missing.join("; ");
    if strict() {
        panic!(
            "{test} needs what is missing: {list}. Everything must run here, nothing is skipped"
        );
    }
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED {test}: missing {list}\n");
    false
}

/// Whether every test must run: in CI, or under `scripts/test.sh`.
pub fn strict() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
        || std::env::var_os("HBD_REQUIRE_ALL").is_some_and(|v| !v.is_empty())
}

/// Returns from the calling test unless every need is met (see [`ready`]).
#[macro_export]
macro_rules! require {
    ($($need:expr),+ $(,)?) => {
        if !$crate::needs::ready(&[$($need),+]) {
            return;
        }
    };
}

/// Where a WebAssembly plugin built by `scripts/build-plugins.sh` is: beside the
/// running test's build (`target/wasm32-wasip2/release`), or in the plugins'
/// workspace.
pub fn built_wasm(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    // target/debug/deps/x (a test) or target/release/x (hb-load) -> target
    exe.ancestors()
        .skip(2)
        .take(2)
        .map(|target| target.join("wasm32-wasip2/release"))
        .chain([PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../plugins-wasm/target/wasm32-wasip2/release")])
        .map(|d| d.join(format!("{name}.wasm")))
        .find(|p| p.exists())
}

/// Where Debian's arm64 C library is (`qemu-aarch64 -L`).
pub const ARM64_LIBC: &str = "/usr/aarch64-linux-gnu";

/// The agents `scripts/build-arm64.sh` builds, beside the running test's build: hbc
/// (`aarch64-unknown-linux-gnu/debug`) and the static small one
/// (`aarch64-unknown-linux-musl/release`).
pub fn built_arm64() -> Option<(PathBuf, PathBuf)> {
    let exe = std::env::current_exe().ok()?;
    // target/debug/deps/x -> target
    let target = exe.ancestors().nth(3)?;
    Some((
        target.join("aarch64-unknown-linux-gnu/debug/hbc"),
        target.join("aarch64-unknown-linux-musl/release/hbc"),
    ))
}

/// Debian's Wine for 64-bit programs.
pub const WINE: &str = "/usr/lib/wine/wine64";

/// The agent `scripts/build-windows.sh` builds, beside the running test's build:
/// `x86_64-pc-windows-gnu/debug/hbc.exe`, with its Wine prefix in
/// `x86_64-pc-windows-gnu/wine`.
pub fn built_windows() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let target = exe.ancestors().nth(3)?;
    Some(target.join("x86_64-pc-windows-gnu/debug/hbc.exe"))
}

/// The test venv (`HBD_TEST_VENV`, else `~/.cache/hbd-test-venv`).
pub fn venv() -> PathBuf {
    std::env::var_os("HBD_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache/hbd-test-venv"))
}

/// The test npm packages (`HBD_NPM_DIR`, else `~/.cache/hbd-npm`).
pub fn npm() -> PathBuf {
    std::env::var_os("HBD_NPM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache/hbd-npm"))
}

fn home() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_is_found_on_path_and_a_made_up_one_is_missing() {
        assert!(on_path("sh"), "every machine has sh");
        assert!(!on_path("no-such-tool-hbd"));
        assert!(
            Need::Wasm("no-such-plugin")
                .missing()
                .is_some_and(|m| m.contains("no-such-plugin.wasm"))
        );
    }
}
