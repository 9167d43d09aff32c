#!/usr/bin/env bash
# Builds hbd and hbc, starts the daemon on its built-in defaults (UDP 50003, HTTP
# 127.0.0.1:50004) with state and journal in ./.hbd-local, and an agent on this host
# reporting to it. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p hbd -p hbc
BIN=${CARGO_TARGET_DIR:-target}/release
WORK=${HBD_HOME:-$PWD/.hbd-local}
mkdir -p "$WORK"
cd "$WORK"
"$BIN/hbd" -f &
HBD=$!
trap 'kill $HBD $HBC 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
for _ in $(seq 50); do curl -fs -o /dev/null http://127.0.0.1:50004/api/0/hosts && break; sleep 0.1; done
"$BIN/hbc" 127.0.0.1 &
HBC=$!
sleep 1
cat <<MSG

hbd is running (state and journal in $WORK).
  hosts:   curl -s http://127.0.0.1:50004/api/0/hosts
  metrics: curl -s http://127.0.0.1:50004/metrics
  journal: tail -f $WORK/journal/hbd_journal.jsonl
Press Ctrl-C to stop.
MSG
wait $HBD
