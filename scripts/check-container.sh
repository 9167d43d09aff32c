#!/usr/bin/env bash
# hbd's container image, as CI can check it: the image builds (scripts/build-container.sh),
# its metadata is what an operator relies on (unprivileged user, volumes, ports, health
# check, entrypoint), it holds exactly the files it should, and its binary, taken out of
# the image, is static, passes check-config on the image's config, runs, answers its own
# health check and hears an agent. A container cannot start on these machines (the
# sandbox refuses setrlimit), so nothing here runs one; docs/INSTALL.md says so.
#
#   scripts/check-container.sh [--profile P] [--no-build]   (as scripts/build-container.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d)
HBD= HBC=
cleanup() {
    [ -z "$HBC" ] || kill "$HBC" 2>/dev/null || true
    [ -z "$HBD" ] || kill "$HBD" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "check-container: $*" >&2; exit 1; }
built=$(scripts/build-container.sh "$@" | tail -1)
echo "$built"
ARCHIVE=$(echo "$built" | sed 's/.*, \(.*\.image\.tar\) .*/\1/')
[ -f "$ARCHIVE" ] || fail "no image archive in: $built"

# The archive as `podman load` reads it: its config, and its layers unpacked in order.
python3 - "$ARCHIVE" "$WORK/rootfs" "$WORK/config.json" <<'PY'
import json, sys, tarfile
archive, rootfs, out = sys.argv[1:]
with tarfile.open(archive) as t:
    manifest = json.load(t.extractfile("manifest.json"))[0]
    json.dump(json.load(t.extractfile(manifest["Config"])), open(out, "w"))
    for layer in manifest["Layers"]:
        with tarfile.open(fileobj=t.extractfile(layer)) as l:
            l.extractall(rootfs, filter="tar")
PY
python3 - "$WORK/config.json" <<'PY' || fail "the image's metadata is not as it should be"
import json, sys
c = json.load(open(sys.argv[1]))["config"]
want = {
    "User": "65532:65532",
    "Entrypoint": ["/usr/bin/hbd"],
    "Cmd": ["-f", "-c", "/etc/hbd/hbd.yaml"],
    "Volumes": {"/etc/hbd": {}, "/var/lib/hbd": {}, "/var/log/hbd": {}},
    "ExposedPorts": {"50003/udp": {}, "50004/tcp": {}},
}
bad = {k: (c.get(k), v) for k, v in want.items() if c.get(k) != v}
health = (c.get("Healthcheck") or {}).get("Test")
if health != ["CMD", "/usr/bin/hbd", "health", "-c", "/etc/hbd/hbd.yaml"]:
    bad["Healthcheck"] = health
if (c.get("Labels") or {}).get("org.opencontainers.image.title") != "hbd":
    bad["Labels"] = c.get("Labels")
for k, (got, wanted) in bad.items():
    print(f"check-container: {k} is {got!r}, not {wanted!r}", file=sys.stderr)
sys.exit(1 if bad else 0)
PY

ROOTFS=$WORK/rootfs
files=$(cd "$ROOTFS" && find . -mindepth 1 \( -type f -o -type l \) | sort | tr '\n' ' ')
[ "$files" = "./etc/group ./etc/hbd/hbd.yaml ./etc/passwd ./etc/ssl/certs/ca-certificates.crt ./usr/bin/hbd " ] \
    || fail "the image holds other files than it should: $files"
for d in var/lib/hbd var/log/hbd; do
    [ "$(stat -c %u:%g "$ROOTFS/$d")" = 65532:65532 ] || fail "/$d in the image is not owned by 65532"
done
HBD_BIN=$ROOTFS/usr/bin/hbd
readelf -d "$HBD_BIN" | grep -q NEEDED && fail "/usr/bin/hbd in the image is not static"
"$HBD_BIN" check-config -c "$ROOTFS/etc/hbd/hbd.yaml" >/dev/null || fail "check-config refuses the image's config"

# The image's binary, with the image's config on free loopback ports and paths here.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
UDP=$(free_port) API=$(free_port)
mkdir -p "$WORK/state" "$WORK/log"
sed "s|^hb_port: .*|hb_port: $UDP\nhb_host: 127.0.0.1|; s|^hbd_host: .*|hbd_host: 127.0.0.1|; s|^hbd_port: .*|hbd_port: $API|; s|/var/lib/hbd|$WORK/state|; s|/var/log/hbd|$WORK/log|" \
    "$ROOTFS/etc/hbd/hbd.yaml" > "$WORK/hbd.yaml"
"$HBD_BIN" -f -c "$WORK/hbd.yaml" >"$WORK/hbd.log" 2>&1 &
HBD=$!
# The image's own health check, with this config in place of the image's.
healthy=
for _ in $(seq 100); do
    "$HBD_BIN" health -c "$WORK/hbd.yaml" >/dev/null 2>&1 && { healthy=1; break; }
    kill -0 "$HBD" 2>/dev/null || break
    sleep 0.1
done
[ -n "$healthy" ] || { cat "$WORK/hbd.log" >&2; fail "the image's hbd never passed its health check"; }
HBC_BIN=${CARGO_TARGET_DIR:-target}/debug/hbc
[ -x "$HBC_BIN" ] || HBC_BIN=${CARGO_TARGET_DIR:-target}/release/hbc
printf 'name: container-probe\ninterval: 0.5\n' > "$WORK/hbc.yaml"
"$HBC_BIN" -c "$WORK/hbc.yaml" "127.0.0.1:$UDP" >"$WORK/hbc.log" 2>&1 &
HBC=$!
heard=
for _ in $(seq 300); do
    curl -fsS --max-time 5 "http://127.0.0.1:$API/api/0/hosts/container-probe" 2>/dev/null | grep -q '"state":"UP"' \
        && { heard=1; break; }
    sleep 0.1
done
[ -n "$heard" ] || { cat "$WORK/hbd.log" "$WORK/hbc.log" >&2; fail "the image's hbd never heard the agent"; }
[ -s "$WORK/state/hbd.db" ] || fail "the image's hbd wrote no state database"
echo "check-container: metadata, files and static binary as they should be; its hbd ran, passed its health check and heard an agent"
