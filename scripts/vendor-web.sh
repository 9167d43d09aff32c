#!/usr/bin/env bash
# Vendors the browser libraries the pages use into static/vendor/, from their npm
# tarballs, checked against the registry's integrity hash: no CDN, and no build needs
# npm (the files are committed). static/vendor/VERSIONS records name, version,
# licence and each file's SHA-256; a test (web::assets) re-hashes the files against it.
#
# To upgrade: change VERSION and INTEGRITY (from `npm view uplot@X dist.integrity`),
# run this script, look at the diff, commit.
set -euo pipefail

NAME=uplot
VERSION=1.6.32
INTEGRITY=sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw==

root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/static/vendor/uplot
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack "$NAME@$VERSION" --silent >/dev/null
tarball=$NAME-$VERSION.tgz
got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$got" != "$INTEGRITY" ]; then
    echo "vendor-web: $tarball has integrity $got, expected $INTEGRITY" >&2
    exit 1
fi
tar -xzf "$tarball"
mkdir -p "$dest"
cp package/dist/uPlot.iife.min.js package/dist/uPlot.min.css package/LICENSE "$dest/"

cd "$root/static/vendor"
{
    echo "# name version licence: file sha256 (checked by the web::assets tests)"
    for f in uplot/uPlot.iife.min.js uplot/uPlot.min.css uplot/LICENSE; do
        echo "$NAME $VERSION MIT: $f $(sha256sum "$f" | cut -d' ' -f1)"
    done
} > VERSIONS
echo "vendor-web: $NAME $VERSION in static/vendor/uplot"
