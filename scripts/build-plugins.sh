#!/usr/bin/env bash
# Builds the WebAssembly plugins in plugins-wasm/ (Rust for wasm32-wasip2, and Python
# with componentize-py) into the shared target dir:
# $CARGO_TARGET_DIR/wasm32-wasip2/release/*.wasm (default ./target).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --locked --target wasm32-wasip2 --manifest-path plugins-wasm/Cargo.toml
OUT=$CARGO_TARGET_DIR/wasm32-wasip2/release
# Python, with componentize-py from the test venv (scripts/install-deps.sh).
VENV=${HBD_TEST_VENV:-$HOME/.cache/hbd-test-venv}
SRC=plugins-wasm/python-loadavg/app.py
if [ ! -f "$OUT/loadavg_py.wasm" ] || [ "$SRC" -nt "$OUT/loadavg_py.wasm" ] || [ plugin-sdk/wit/plugin.wit -nt "$OUT/loadavg_py.wasm" ]; then
    "$VENV/bin/componentize-py" -d plugin-sdk/wit -w plugin componentize -p plugins-wasm/python-loadavg app -o "$OUT/loadavg_py.wasm"
fi
ls -l "$CARGO_TARGET_DIR"/wasm32-wasip2/release/*.wasm
