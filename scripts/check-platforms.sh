#!/usr/bin/env bash
# The agent on the systems it cannot run on here: clippy for FreeBSD and macOS, the
# agent as shipped and the small agent. ring's C for macOS is compiled by zig cc
# (scripts/zig-cc.sh: Zig carries the macOS libc headers Debian lacks; clippy links
# nothing). Windows is built and run under Wine by the tests (scripts/build-windows.sh);
# its clippy is here too. CI runs it.
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
check x86_64-unknown-freebsd --no-default-features
export CC_aarch64_apple_darwin=$PWD/scripts/zig-cc.sh CC_x86_64_apple_darwin=$PWD/scripts/zig-cc.sh
ZIG_TARGET=aarch64-macos check aarch64-apple-darwin
ZIG_TARGET=aarch64-macos check aarch64-apple-darwin --no-default-features
ZIG_TARGET=x86_64-macos check x86_64-apple-darwin
ZIG_TARGET=x86_64-macos check x86_64-apple-darwin --no-default-features
echo "check-platforms: hbc, full and small, passes clippy for Windows, FreeBSD and macOS"
