#!/usr/bin/env bash
# Builds the small agent: hbc without WebAssembly plugins (the original hbc_mini's
# counterpart), statically linked against musl so the one file runs on any Linux of the
# same architecture. Checks it has no dynamic dependencies and that it delivers a
# message over real UDP, then prints its path and size. CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=$(uname -m)-unknown-linux-musl
rustup target list --installed 2>/dev/null | grep -q "^$TARGET\$" || rustup target add "$TARGET"
cargo build --release --locked -p hbc --no-default-features --target "$TARGET"
BIN=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/$TARGET/release/hbc

if readelf -d "$BIN" 2>/dev/null | grep -q '(NEEDED)'; then
    echo "build-mini: $BIN links shared libraries:" >&2
    readelf -d "$BIN" | grep NEEDED >&2
    exit 1
fi

# A real delivery: one MSG to a UDP listener on loopback.
got=$(python3 - "$BIN" <<'PY'
import socket, subprocess, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); s.settimeout(10)
port = s.getsockname()[1]
subprocess.run([sys.argv[1], "-m", "the small agent works", f"127.0.0.1:{port}"], check=True,
               env={"HOME": "/nonexistent"})
print(s.recvfrom(65535)[0].decode())
PY
)
[[ $got == *'"ID":"MSG"'*'the small agent works'* ]] || { echo "build-mini: no message arrived: $got" >&2; exit 1; }
echo "build-mini: $BIN: static, $(stat -c %s "$BIN") bytes; delivered a message"
