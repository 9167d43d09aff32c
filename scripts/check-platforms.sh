#!/usr/bin/env bash
# The agent on the systems it cannot run on here: clippy for FreeBSD (the agent as
# shipped) and macOS (the small agent: the full one needs Apple's SDK headers for ring's
# C). Windows is built and run under Wine by the tests (scripts/build-windows.sh); its
# clippy is here too. CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
check() { # check TARGET [cargo options]
    local target=$1
    shift
    rustup target list --installed 2>/dev/null | grep -q "^$target\$" || rustup target add "$target"
    cargo clippy --locked -p hbc --target "$target" "$@" -- -D warnings
}
check x86_64-pc-windows-gnu
check x86_64-unknown-freebsd
check aarch64-apple-darwin --no-default-features
check x86_64-apple-darwin --no-default-features
echo "check-platforms: hbc passes clippy for Windows, FreeBSD and (small) macOS"
