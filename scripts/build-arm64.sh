#!/usr/bin/env bash
# Builds the agent for arm64 Linux (servers, Raspberry Pi 3 and later with a 64-bit
# system) with Debian's cross toolchain, for the end-to-end test that runs it under
# qemu-user (tests/tests/e2e/arm64.rs): hbc as shipped (WebAssembly runtime, profile
# dev here: the test is about the platform, not the optimizer) and its static small
# form (release, musl, like scripts/build-mini.sh). The linkers and qemu runners are set
# in .cargo/config.toml. Needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and
# qemu-user (scripts/install-deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
for target in aarch64-unknown-linux-gnu aarch64-unknown-linux-musl; do
    rustup target list --installed 2>/dev/null | grep -q "^$target\$" || rustup target add "$target"
done
command -v aarch64-linux-gnu-gcc >/dev/null \
    || { echo "build-arm64: aarch64-linux-gnu-gcc not found (Debian: gcc-aarch64-linux-gnu)" >&2; exit 1; }
cargo build --locked -p hbc --target aarch64-unknown-linux-gnu
cargo build --locked --release -p hbc --no-default-features --target aarch64-unknown-linux-musl
T=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)
for bin in "$T/aarch64-unknown-linux-gnu/debug/hbc" "$T/aarch64-unknown-linux-musl/release/hbc"; do
    echo "build-arm64: $bin ($(stat -c %s "$bin") bytes)"
done
