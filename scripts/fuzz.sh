#!/usr/bin/env bash
# Fuzzes the protocol decoder with cargo-fuzz (libFuzzer) on stable Rust, no sanitizer.
#   scripts/fuzz.sh smoke        30 s run from the seed corpus (what CI runs)
#   scripts/fuzz.sh SECONDS      a longer run, e.g. scripts/fuzz.sh 3600
# A crash fails the run and leaves its input in proto/fuzz/artifacts/decode/.
set -euo pipefail
cd "$(dirname "$0")/../proto/fuzz"
secs=${1:-smoke}
[ "$secs" = smoke ] && secs=30
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
# Own target dir: fuzz builds use other RUSTFLAGS and would evict the normal build.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}-fuzz
mkdir -p corpus/decode
cargo +stable fuzz run -s none decode corpus/decode seeds -- \
    -max_total_time="$secs" -max_len=8192 -rss_limit_mb=2048 -print_final_stats=1 2>&1 | tail -15
