#!/usr/bin/env bash
# Builds the WebAssembly plugins in plugins-wasm/ (Rust for wasm32-wasip2, Python with
# componentize-py, JavaScript with componentize-js) into the shared target dir:
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
# JavaScript, with componentize-js from npm (scripts/install-deps.sh).
NPM_DIR=${HBD_NPM_DIR:-$HOME/.cache/hbd-npm}
JS=plugins-wasm/js-uptime
if [ ! -f "$OUT/uptime_js.wasm" ] || [ "$JS/uptime.js" -nt "$OUT/uptime_js.wasm" ] || [ plugin-sdk/wit/plugin.wit -nt "$OUT/uptime_js.wasm" ]; then
    ln -sfn "$NPM_DIR/node_modules" "$JS/node_modules"
    node "$JS/build.mjs" "$OUT/uptime_js.wasm"
fi
ls -l "$CARGO_TARGET_DIR"/wasm32-wasip2/release/*.wasm
