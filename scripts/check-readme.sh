#!/usr/bin/env bash
# Runs README's first command exactly as written, `scripts/run.sh`, from a new clone in a
# new directory with no environment variables but PATH and HOME, and checks what a
# person would: hbd answers on its API, has heard from the agent on this host, and both
# stop when run.sh is stopped. (README's second command, scripts/test.sh, is what CI
# runs from its own fresh clone.) The first release build takes several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
DIR=$(mktemp -d)
RUN=
cleanup() {
    [ -n "$RUN" ] && kill -TERM -- "-$RUN" 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT
git clone -q "$SRC" "$DIR/hbd"
cd "$DIR/hbd"
# A session of its own, so the whole group (run.sh, hbd, hbc) can be signalled.
env -i PATH="$PATH" HOME="$HOME" setsid scripts/run.sh >"$DIR/run.log" 2>&1 &
RUN=$!
fail() {
    echo "check-readme: $*" >&2
    sed 's/^/  run.sh: /' "$DIR/run.log" | tail -40 >&2
    exit 1
}
# The first fat-LTO release build takes about 10 minutes on 2 idle cores and much longer
# on a busy machine, so wait while it makes progress (its log grows, or the link step
# runs, which can take minutes without a line); fail if run.sh exits, if nothing changes
# for 15 minutes, or after 75 minutes in all.
last_size=-1 still=0
for _ in $(seq 4500); do
    grep -q "hbd is running" "$DIR/run.log" && break
    kill -0 "$RUN" 2>/dev/null || fail "run.sh exited before hbd was running"
    size=$(stat -c %s "$DIR/run.log")
    if [ "$size" != "$last_size" ] || pgrep -f "rustc.*$DIR/hbd" >/dev/null; then
        last_size=$size still=0
    else
        still=$((still + 1))
        [ "$still" -lt 900 ] || fail "run.sh made no progress for 15 minutes"
    fi
    sleep 1
done
grep -q "hbd is running" "$DIR/run.log" || fail "hbd was not running after 75 minutes"
body=$(exec 3<>/dev/tcp/127.0.0.1/50004 && printf 'GET /api/0/hosts HTTP/1.0\r\n\r\n' >&3 && cat <&3)
[[ $body == *'"state":"UP"'* ]] || fail "the agent's host is not UP: $body"
[ -d "$DIR/hbd/.hbd-local/journal" ] || fail "no journal in .hbd-local"
# The release binary serves every page and asset from itself: with the clone's
# templates and static files moved away, each still answers 200.
mv "$DIR/hbd/templates" "$DIR/templates.away"
mv "$DIR/hbd/static" "$DIR/static.away"
for path in /live /plugins /alerts /hosts/any /static/js/live.js /static/js/plugins.js \
    /static/css/hbd.css /static/vendor/uplot/uPlot.iife.min.js; do
    status=$(exec 3<>/dev/tcp/127.0.0.1/50004 && printf 'GET %s HTTP/1.0\r\n\r\n' "$path" >&3 && head -1 <&3)
    [[ $status == *" 200 "* ]] || fail "GET $path from the release binary: $status"
done
kill -TERM "$RUN"
for _ in $(seq 100); do
    kill -0 "$RUN" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$RUN" 2>/dev/null && fail "run.sh did not stop within 10 s"
if pgrep -f "$DIR/hbd/target/release/hb[dc]" >/dev/null; then
    fail "hbd or hbc still running after run.sh stopped"
fi
RUN=
echo "check-readme: scripts/run.sh from a new clone: hbd up, agent UP, pages served from the binary, both stopped"
