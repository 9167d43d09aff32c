#!/usr/bin/env bash
# Builds the WebAssembly plugins in plugins-wasm/ (Rust, wasm32-wasip2) into the shared
# target dir: $CARGO_TARGET_DIR/wasm32-wasip2/release/*.wasm (default ./target).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --locked --target wasm32-wasip2 --manifest-path plugins-wasm/Cargo.toml
ls -l "$CARGO_TARGET_DIR"/wasm32-wasip2/release/*.wasm
