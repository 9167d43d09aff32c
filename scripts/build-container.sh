#!/usr/bin/env bash
# Builds hbd's container image with buildah (Debian's): the static hbd for the musl
# target, on an empty base (dist/container/Containerfile), and writes it as an image
# archive, TARGET/container/hbd-VERSION-PLATFORM.image.tar (`podman load -i FILE`, or
# `docker load`), and prints the image's name. Needs buildah and musl-tools (scripts/install-deps.sh).
#
#   scripts/build-container.sh [--profile release|dev] [--no-build]
#
# CI builds it from the dev profile (scripts/check-container.sh): a second optimized
# build does not fit its time, and what is checked (the image's files, metadata and
# binary) is the same.
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=release BUILD=1
while [ $# -gt 0 ]; do
    case $1 in
        --profile) PROFILE=${2:?--profile needs a profile}; shift ;;
        --no-build) BUILD= ;;
        *) echo "build-container: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done
die() { echo "build-container: $*" >&2; exit 1; }
command -v buildah >/dev/null || die "buildah not found (Debian: buildah)"
MUSL=$(uname -m)-unknown-linux-musl
case $PROFILE in dev) PDIR=debug ;; *) PDIR=$PROFILE ;; esac
TARGET=$(mkdir -p "${CARGO_TARGET_DIR:-target}" && cd "${CARGO_TARGET_DIR:-target}" && pwd)
if [ -n "$BUILD" ]; then
    rustup target list --installed 2>/dev/null | grep -q "^$MUSL\$" || rustup target add "$MUSL"
    command -v musl-gcc >/dev/null || die "musl-gcc not found (Debian: musl-tools): SQLite and mimalloc are C"
    CC_x86_64_unknown_linux_musl=musl-gcc CC_aarch64_unknown_linux_musl=musl-gcc \
        cargo build --locked --profile "$PROFILE" -p hbd --target "$MUSL"
fi
BIN=$TARGET/$MUSL/$PDIR/hbd
[ -x "$BIN" ] || die "$BIN is not built"
readelf -d "$BIN" | grep -q NEEDED && die "$BIN is not static"
VERSION=$("$BIN" --version | awk '{print $2}')
PLATFORM=$(uname -m)-linux

# The build context: what the Containerfile copies, nothing else.
CONTEXT=$(mktemp -d)
trap 'rm -rf "$CONTEXT"' EXIT
strip -o "$CONTEXT/hbd" "$BIN"
cp dist/container/hbd.yaml "$CONTEXT/"
cp /etc/ssl/certs/ca-certificates.crt "$CONTEXT/" || die "no CA certificates (Debian: ca-certificates)"
printf 'root:x:0:0:root:/:/sbin/nologin\nhbd:x:65532:65532:hbd:/var/lib/hbd:/sbin/nologin\n' > "$CONTEXT/passwd"
printf 'root:x:0:\nhbd:x:65532:\n' > "$CONTEXT/group"
mkdir "$CONTEXT/empty"
IMAGE=localhost/hbd:$VERSION
# The Docker format: OCI's has no HEALTHCHECK.
buildah bud --quiet --format docker --timestamp 0 -f dist/container/Containerfile -t "$IMAGE" "$CONTEXT" >/dev/null
mkdir -p "$TARGET/container"
ARCHIVE=$TARGET/container/hbd-$VERSION-$PLATFORM.image.tar
rm -f "$ARCHIVE"
# Docker's archive format, which keeps the health check (OCI's drops it).
buildah push --quiet "$IMAGE" "docker-archive:$ARCHIVE:localhost/hbd:$VERSION" >/dev/null
echo "build-container: $IMAGE, $ARCHIVE ($(stat -c %s "$ARCHIVE") bytes)"
