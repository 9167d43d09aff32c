#!/usr/bin/env bash
# Fails when the pure core (hbd-core) depends, however indirectly, on an async runtime,
# an HTTP stack, a database or the API schema crate: the wall between the core and the
# daemon's shells is Cargo's to keep, not a comment's.
set -euo pipefail
cd "$(dirname "$0")/.."
banned='^(tokio|axum|hyper|rusqlite|tokio-postgres|reqwest|lettre|utoipa|wasmtime)$'
found=$(cargo tree -p hbd-core -e normal,build --prefix none --locked \
    | awk '{print $1}' | sort -u | grep -E "$banned" || true)
if [ -n "$found" ]; then
    echo "check-floors: hbd-core depends on: $(echo "$found" | tr '\n' ' ')(cargo tree -p hbd-core -i NAME says through what)" >&2
    exit 1
fi
echo "check-floors: hbd-core's tree has no runtime, HTTP, database or schema crate"
