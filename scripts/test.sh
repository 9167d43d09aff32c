#!/usr/bin/env bash
# Runs the whole test suite: installs what tests need, then every unit, property,
# CLI and end-to-end test of the workspace (the e2e tests start real hbd/hbc binaries).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The WASM plugins the host's tests load, into the same target dir (wasm32-wasip2/).
scripts/build-plugins.sh
# The agent for arm64 Linux, which the tests run under qemu-user.
scripts/build-arm64.sh
# The agent for Windows, which the tests run under Wine.
scripts/build-windows.sh
# Everything is installed above, so no test may skip for want of something
# (hbd_e2e::needs).
HBD_REQUIRE_ALL=1 cargo test --workspace --locked "$@"
# The example plugins' own unit tests (pure code, run natively).
cargo test --locked --manifest-path plugins-wasm/Cargo.toml -p hbd-log-freshness
