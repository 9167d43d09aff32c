#!/usr/bin/env bash
# Builds the WebAssembly plugins in plugins-wasm/ (Rust for wasm32-wasip2, Python with
# componentize-py, JavaScript with componentize-js, C with clang-19, Zig) into the
# shared target dir:
# $CARGO_TARGET_DIR/wasm32-wasip2/release/*.wasm (default ./target).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --locked --target wasm32-wasip2 --manifest-path plugins-wasm/Cargo.toml
# Contract 0.3.0 (the network): a workspace of its own, so the SDK's `net` feature
# reaches no other plugin.
cargo build --release --locked --target wasm32-wasip2 --manifest-path plugins-wasm/net/Cargo.toml
OUT=$CARGO_TARGET_DIR/wasm32-wasip2/release
# Python, with componentize-py from the test venv (scripts/install-deps.sh).
VENV=${HBD_TEST_VENV:-$HOME/.cache/hbd-test-venv}
SRC=plugins-wasm/python-loadavg/app.py
if [ ! -f "$OUT/loadavg_py.wasm" ] || [ "$SRC" -nt "$OUT/loadavg_py.wasm" ] || [ plugin-sdk/wit/plugin.wit -nt "$OUT/loadavg_py.wasm" ]; then
    "$VENV/bin/componentize-py" -d plugin-sdk/wit -w plugin componentize -p plugins-wasm/python-loadavg app -o "$OUT/loadavg_py.wasm"
fi
# Python against contract 0.3.0 (the network).
SRC=plugins-wasm/python-http/app.py
if [ ! -f "$OUT/http_py.wasm" ] || [ "$SRC" -nt "$OUT/http_py.wasm" ] || [ plugin-sdk/wit-0.3/plugin.wit -nt "$OUT/http_py.wasm" ]; then
    "$VENV/bin/componentize-py" -d plugin-sdk/wit-0.3 -w plugin componentize -p plugins-wasm/python-http app -o "$OUT/http_py.wasm"
fi
# JavaScript, with componentize-js from npm (scripts/install-deps.sh).
NPM_DIR=${HBD_NPM_DIR:-$HOME/.cache/hbd-npm}
JS=plugins-wasm/js-uptime
if [ ! -f "$OUT/uptime_js.wasm" ] || [ "$JS/uptime.js" -nt "$OUT/uptime_js.wasm" ] || [ plugin-sdk/wit/plugin.wit -nt "$OUT/uptime_js.wasm" ]; then
    ln -sfn "$NPM_DIR/node_modules" "$JS/node_modules"
    node "$JS/build.mjs" "$OUT/uptime_js.wasm"
fi
# JavaScript against contract 0.3.0 (the network).
JS=plugins-wasm/js-tls
if [ ! -f "$OUT/tls_js.wasm" ] || [ "$JS/tls.js" -nt "$OUT/tls_js.wasm" ] || [ plugin-sdk/wit-0.3/plugin.wit -nt "$OUT/tls_js.wasm" ]; then
    ln -sfn "$NPM_DIR/node_modules" "$JS/node_modules"
    node "$JS/build.mjs" "$OUT/tls_js.wasm"
fi
# C and Zig share the C bindings in plugins-wasm/c-fdusage/gen (committed; regenerate
# with `wit-bindgen c plugin-sdk/wit --world plugin --out-dir plugins-wasm/c-fdusage/gen`
# when the WIT changes) and the WASI preview1 adapter, which ships in a crates.io crate.
C=plugins-wasm/c-fdusage
adapter() {
    cargo fetch --manifest-path "$C/adapter/Cargo.toml" -q
    cargo metadata --format-version 1 --manifest-path "$C/adapter/Cargo.toml" | python3 -c '
import json, os, sys
m = json.load(sys.stdin)
p = next(p for p in m["packages"] if p["name"] == "wasi-preview1-component-adapter-provider")
print(os.path.join(os.path.dirname(p["manifest_path"]), "artefacts", "wasi_snapshot_preview1.reactor.wasm"))'
}
# C, with Debian's clang-19 and wasi-libc.
if [ ! -f "$OUT/fd_usage_c.wasm" ] || [ "$C/fdusage.c" -nt "$OUT/fd_usage_c.wasm" ] || [ "$C/gen/plugin.c" -nt "$OUT/fd_usage_c.wasm" ]; then
    ADAPTER=$(adapter)
    clang-19 --target=wasm32-wasi --sysroot=/usr -I/usr/include/wasm32-wasi -O2 -mexec-model=reactor \
        -fuse-ld=lld -Wl,-L/usr/lib/wasm32-wasi -Wl,--strip-debug -o "$OUT/fd_usage_c.core.wasm" \
        "$C/fdusage.c" "$C/gen/plugin.c" "$C/gen/plugin_component_type.o"
    "$VENV/bin/wasm-tools" component new "$OUT/fd_usage_c.core.wasm" \
        --adapt "wasi_snapshot_preview1=$ADAPTER" -o "$OUT/fd_usage_c.wasm"
    rm -f "$OUT/fd_usage_c.core.wasm"
fi
# Zig (ziglang from PyPI), through the same C bindings via translate-c.
Z=plugins-wasm/zig-threads
if [ ! -f "$OUT/threads_zig.wasm" ] || [ "$Z/threads.zig" -nt "$OUT/threads_zig.wasm" ] || [ "$C/gen/plugin.h" -nt "$OUT/threads_zig.wasm" ]; then
    ADAPTER=$(adapter)
    BUILD=$OUT/zig-build
    mkdir -p "$BUILD"
    cp "$Z/threads.zig" "$BUILD/"
    "$VENV/bin/python" -m ziglang translate-c "$C/gen/plugin.h" -target wasm32-wasi -lc > "$BUILD/plugin_h.zig"
    "$VENV/bin/python" -m ziglang build-exe "$BUILD/threads.zig" "$C/gen/plugin.c" "$C/gen/plugin_component_type.o" \
        -I"$C/gen" -target wasm32-wasi -fno-entry -mexec-model=reactor -rdynamic -lc -O ReleaseSmall \
        --cache-dir "$BUILD/cache" --global-cache-dir "$BUILD/global-cache" -femit-bin="$BUILD/threads.core.wasm"
    "$VENV/bin/wasm-tools" component new "$BUILD/threads.core.wasm" \
        --adapt "wasi_snapshot_preview1=$ADAPTER" -o "$OUT/threads_zig.wasm"
fi
ls -l "$CARGO_TARGET_DIR"/wasm32-wasip2/release/*.wasm
