#!/usr/bin/env bash
# Fails when docs/ARCHITECTURE.md names a path that does not exist, so the map of the
# code cannot drift from the code. A path is a backticked word with a slash or a file
# ending (hbd/src/engine/mod.rs, proto/, `scripts/run.sh`).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=0
while read -r path; do
    [ -e "$path" ] || { echo "docs/ARCHITECTURE.md names $path, which does not exist" >&2; missing=1; }
done < <(grep -o '`[A-Za-z0-9_./-]*`' docs/ARCHITECTURE.md | tr -d '`' \
    | grep -E '^(proto|hbd|hbd-core|hbc|tests|templates|static|plugin-sdk|plugins-wasm|scripts|docs|\.ci)/' | sort -u)
[ "$missing" = 0 ] && echo "check-docs: every path in docs/ARCHITECTURE.md exists"
exit "$missing"
