#!/usr/bin/env bash
# Builds hbd and hbc, starts the daemon on its built-in defaults (UDP 50003, HTTP
# 127.0.0.1:50004) with state and journal in ./.hbd-local, and an agent on this host
# reporting to it. Ctrl-C stops both. Stops with a clear message if either fails to start.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p hbd -p hbc
# Absolute, so it still holds after changing into the work directory.
BIN=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release
WORK=${HBD_HOME:-$PWD/.hbd-local}
API=127.0.0.1:50004
mkdir -p "$WORK"
cd "$WORK"

# GET over bash's /dev/tcp: no curl needed. Prints the body, fails unless 200.
http_get() {
    local reply
    exec 3<>"/dev/tcp/${API%:*}/${API#*:}" 2>/dev/null || return 1
    printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&3
    reply=$(cat <&3)
    exec 3<&-
    [[ ${reply%%$'\r'*} == *" 200 "* ]] || return 1
    printf '%s\n' "${reply#*$'\r\n\r\n'}"
}

HBD= HBC=
trap 'kill $HBD $HBC 2>/dev/null; wait 2>/dev/null' EXIT
trap 'exit 130' INT TERM
# HOME points at the work directory, so a personal ~/.hb.yaml or ~/.hbc.yaml (which both
# programs read when no -c is given) cannot replace the built-in defaults here.
HOME="$WORK" "$BIN/hbd" -f &
HBD=$!
for _ in $(seq 100); do
    http_get /api/0/hosts >/dev/null && break
    kill -0 "$HBD" 2>/dev/null || { echo "run.sh: hbd failed to start (see its message above)" >&2; exit 1; }
    sleep 0.1
done
http_get /api/0/hosts >/dev/null || { echo "run.sh: hbd did not answer on http://$API within 10 s" >&2; exit 1; }

HOME="$WORK" "$BIN/hbc" 127.0.0.1 &
HBC=$!
agent_up() { [[ $(http_get /api/0/hosts) == *'"state":"UP"'* ]]; }
for _ in $(seq 100); do
    agent_up && break
    kill -0 "$HBC" 2>/dev/null || { echo "run.sh: hbc failed to start (see its message above)" >&2; exit 1; }
    sleep 0.1
done
agent_up || { echo "run.sh: hbd has not heard from hbc within 10 s" >&2; exit 1; }
cat <<MSG

hbd is running, and hbc on this host reports to it (state and journal in $WORK).
  hosts:   curl -s http://$API/api/0/hosts
  metrics: curl -s http://$API/metrics
  journal: tail -f $WORK/journal/hbd_journal.jsonl
Press Ctrl-C to stop.
MSG
wait -n "$HBD" "$HBC" || true
echo "run.sh: a process ended; stopping" >&2
