#!/usr/bin/env bash
# A C compiler for another system's target: `zig cc -target $ZIG_TARGET`, with the
# libc headers Zig carries for it (Zig from PyPI's ziglang, in the test venv). It lets
# scripts/check-platforms.sh run clippy on the full agent for macOS, whose ring
# compiles C against Apple's headers, which Debian lacks. The cc crate adds the flags
# Apple's clang takes for the target (`-arch`, `-mmacosx-version-min`, `--target`);
# Zig is given the target instead, so they are left out.
set -euo pipefail
VENV=${HBD_TEST_VENV:-$HOME/.cache/hbd-test-venv}
: "${ZIG_TARGET:?ZIG_TARGET names the target, e.g. aarch64-macos}"
args=()
skip=false
for arg in "$@"; do
    if $skip; then
        skip=false
        continue
    fi
    case "$arg" in
        -arch) skip=true ;;
        -mmacosx-version-min=* | --target=*) ;;
        *) args+=("$arg") ;;
    esac
done
exec "$VENV/bin/python" -m ziglang cc -target "$ZIG_TARGET" "${args[@]}"
