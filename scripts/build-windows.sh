#!/usr/bin/env bash
# Builds the agent for Windows (x86_64-pc-windows-gnu, with Debian's MinGW-w64 linker)
# for the end-to-end tests that run it under Wine (tests/tests/e2e/windows.rs): hbc.exe
# and its plugin compiler hbc-compile.exe (profile dev: the tests are about the
# platform), Wine prefixes to run them in, and, for Wine 8 (Debian 12) only, a stand-in
# bcryptprimitives.dll beside them
# (tests/windows/bcryptprimitives.c says why). Needs gcc-mingw-w64-x86-64 and wine64
# (scripts/install-deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=x86_64-pc-windows-gnu
rustup target list --installed 2>/dev/null | grep -q "^$TARGET\$" || rustup target add "$TARGET"
command -v x86_64-w64-mingw32-gcc >/dev/null \
    || { echo "build-windows: x86_64-w64-mingw32-gcc not found (Debian: gcc-mingw-w64-x86-64)" >&2; exit 1; }
cargo build --locked -p hbc -p hbc-compile --target "$TARGET"
OUT=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/$TARGET
x86_64-w64-mingw32-gcc -O2 -shared -o "$OUT/debug/bcryptprimitives.dll" \
    tests/windows/bcryptprimitives.c -ladvapi32
WINE=/usr/lib/wine/wine64
# A prefix for each test that runs Windows programs (tests run in parallel, and each
# ends its prefix's Wine session when done): the agent's, the plugin test's, and the
# one the service test registers a service in.
for prefix in wine wine-plugins wine-service; do
    if [ -x "$WINE" ] && [ ! -d "$OUT/$prefix/drive_c/windows" ]; then
        WINEPREFIX=$OUT/$prefix WINEDEBUG=-all "$WINE" wineboot --init >/dev/null 2>&1 || true
    fi
done
echo "build-windows: $OUT/debug/hbc.exe ($(stat -c %s "$OUT/debug/hbc.exe") bytes)"
