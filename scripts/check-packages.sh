#!/usr/bin/env bash
# The Debian packages' and release archives' life cycle, as an administrator lives it, on
# this machine (CI runs it as root on a machine it throws away: it installs into /usr):
#   1. scripts/package.sh makes revision 1 and revision 2 of every package (the same
#      binaries; an upgrade is what is tested), and the archives are checked against
#      SHA256SUMS;
#   2. dpkg -i hbd and hbc: users made, config root:GROUP 0640 and valid (check-config),
#      units verified by systemd-analyze, man pages and completions in place;
#   3. the installed binaries started as their users from their installed configs (with
#      systemd where it runs the machine, else by hand), and the agent heard by the daemon;
#   4. dpkg -i revision 2 over them: the edited configs and the daemon's state kept (the
#      host known again from the store before its agent speaks);
#   5. hbc swapped for hbc-mini, the static small agent, heard too;
#   6. dpkg --purge: nothing left but the system users (Debian policy keeps them);
#   7. hb_install.sh from inside an archive, outside any source tree, into a scratch root.
#
#   scripts/check-packages.sh [--profile P] [--no-build]   (as for scripts/package.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
[ "$(id -u)" = 0 ] || { echo "check-packages: run as root (it installs packages)" >&2; exit 1; }
WORK=$(mktemp -d)
HBD= HBC=
cleanup() {
    [ -z "$HBD" ] || kill "$HBD" 2>/dev/null || true
    [ -z "$HBC" ] || kill "$HBC" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "check-packages: $*" >&2; exit 1; }
say() { echo "check-packages: $*"; }
for pkg in hbd hbc hbc-mini; do
    dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q installed \
        && fail "$pkg is installed on this machine already; this check would replace it"
done

# 1. Two revisions of each package.
PROFILE=()
[ "${1:-}" = --profile ] && PROFILE=(--profile "${2:?--profile needs a profile}") && shift 2
scripts/package.sh --out "$WORK/r1" --revision 1 "${PROFILE[@]}" "$@"
scripts/package.sh --out "$WORK/r2" --revision 2 "${PROFILE[@]}" --no-build
(cd "$WORK/r1" && sha256sum --quiet -c SHA256SUMS) || fail "r1: SHA256SUMS does not match"
deb() { ls "$WORK/$1/$2"_*_*.deb; } # deb REV NAME

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
UDP=$(free_port) API=$(free_port)
hosts_json() { curl -fsS --max-time 5 "http://127.0.0.1:$API/api/0/hosts" 2>/dev/null; }
systemd_runs() { [ -d /run/systemd/system ]; }
start_daemon() {
    if systemd_runs; then systemctl restart hbd; else
        runuser -u hbd -- /usr/bin/hbd -f -c /etc/hbd/hbd.yaml >>"$WORK/hbd.log" 2>&1 &
        HBD=$!
    fi
    for _ in $(seq 300); do hosts_json >/dev/null && return 0; sleep 0.1; done
    cat "$WORK/hbd.log" >&2 || true
    fail "the installed hbd did not answer on 127.0.0.1:$API within 30 s"
}
start_agent() {
    if systemd_runs; then systemctl restart hbc; else
        runuser -u hbc -- env XDG_STATE_HOME=/var/lib/hbc /usr/bin/hbc -c /etc/hbc/hbc.yaml \
            >>"$WORK/hbc.log" 2>&1 &
        HBC=$!
    fi
}
stop_all() {
    if systemd_runs; then systemctl stop hbc hbd 2>/dev/null || true; else
        [ -z "$HBC" ] || { kill "$HBC" 2>/dev/null || true; wait "$HBC" 2>/dev/null || true; }
        [ -z "$HBD" ] || { kill "$HBD" 2>/dev/null || true; wait "$HBD" 2>/dev/null || true; }
        HBC= HBD=
    fi
}
THIS_HOST=$(python3 -c 'import socket; print(socket.gethostname())')
last_seen() { # this host's last_seen on the daemon, or nothing
    hosts_json | python3 -c 'import json, sys
for h in json.load(sys.stdin)["hosts"]:
    if h["name"] == sys.argv[1]: print(h["last_seen"] if h["state"] == "UP" else "")' "$THIS_HOST" || true
}
heard() { # heard WHAT [AFTER]: wait until the daemon lists this host UP, seen after AFTER
    local seen
    for _ in $(seq 300); do
        seen=$(last_seen)
        if [ -n "$seen" ] && [[ $seen > ${2:-} ]]; then
            say "$1: $THIS_HOST is UP on the installed daemon (last seen $seen)"
            return 0
        fi
        sleep 0.1
    done
    cat "$WORK/hbc.log" >&2 || true
    fail "$1: the daemon never listed $THIS_HOST as UP: $(hosts_json)"
}

# 2. Install.
DEBIAN_FRONTEND=noninteractive dpkg -i "$(deb r1 hbd)" "$(deb r1 hbc)" </dev/null
for n in hbd hbc; do
    id "$n" >/dev/null || fail "no user $n after installing"
    [ "$(stat -c '%U:%G %a' /etc/$n/$n.yaml)" = "root:$n 640" ] \
        || fail "/etc/$n/$n.yaml is $(stat -c '%U:%G %a' /etc/$n/$n.yaml), not root:$n 640"
    grep -qx "/etc/$n/$n.yaml" "/var/lib/dpkg/info/$n.conffiles" || fail "/etc/$n/$n.yaml is not a conffile"
    [ "$(stat -c '%U' /var/lib/$n)" = "$n" ] || fail "/var/lib/$n is not owned by $n"
    for f in /usr/share/man/man8/$n.8.gz /usr/share/bash-completion/completions/$n \
        /usr/share/zsh/vendor-completions/_$n /usr/share/fish/vendor_completions.d/$n.fish \
        /usr/share/doc/$n/copyright /usr/share/doc/$n/CONFIG.md; do
        [ -s "$f" ] || fail "$f is missing or empty"
    done
    zcat /usr/share/man/man8/$n.8.gz | grep -q '^\.TH' || fail "$n.8.gz is not a man page"
done
[ -x /usr/bin/hbc-compile ] || fail "the hbc package has no hbc-compile"
for f in /usr/share/hbd/prometheus/hbd.rules.yml /usr/share/hbd/grafana/hbd.json; do
    [ -s "$f" ] || fail "the hbd package has no $f"
done
/usr/bin/hbd check-config -c /etc/hbd/hbd.yaml >/dev/null || fail "hbd check-config refuses the packaged config"
/usr/bin/hbc check-config -c /etc/hbc/hbc.yaml >/dev/null || fail "hbc check-config refuses the packaged config"
verify=$(systemd-analyze verify /usr/lib/systemd/system/hbd.service /usr/lib/systemd/system/hbc.service 2>&1) \
    && [ -z "$verify" ] || fail "systemd-analyze verify: $verify"
[ -L /etc/systemd/system/multi-user.target.wants/hbd.service ] || fail "hbd.service is not enabled"
say "installed hbd $(dpkg-query -W -f '${Version}' hbd) and hbc: users, configs, units, man pages, completions"

# 3. Run them as installed, with the configs edited as an administrator would.
sed -i "s/^hb_port: .*/hb_port: $UDP/; s/^hbd_port: .*/hbd_port: $API/" /etc/hbd/hbd.yaml
echo "hb_host: 127.0.0.1   # edited by check-packages" >> /etc/hbd/hbd.yaml
sed -i "s/^server: .*/server: 127.0.0.1/; s/^# port: .*/port: $UDP/; s/^interval: .*/interval: 1/" /etc/hbc/hbc.yaml
sha_hbd=$(sha256sum < /etc/hbd/hbd.yaml) sha_hbc=$(sha256sum < /etc/hbc/hbc.yaml)
start_daemon
start_agent
heard "revision 1"
stop_all
[ -s /var/lib/hbd/hbd.db ] || fail "no state database in /var/lib/hbd"
ls /var/log/hbd/* >/dev/null 2>&1 || fail "no journal in /var/log/hbd"

# 4. Upgrade to revision 2: configs and state kept.
DEBIAN_FRONTEND=noninteractive dpkg -i "$(deb r2 hbd)" "$(deb r2 hbc)" </dev/null
[ "$(dpkg-query -W -f '${Version}' hbd)" = "$(dpkg-deb -f "$(deb r2 hbd)" Version)" ] || fail "hbd was not upgraded"
[ "$(sha256sum < /etc/hbd/hbd.yaml)" = "$sha_hbd" ] || fail "the upgrade changed the edited /etc/hbd/hbd.yaml"
[ "$(sha256sum < /etc/hbc/hbc.yaml)" = "$sha_hbc" ] || fail "the upgrade changed the edited /etc/hbc/hbc.yaml"
[ "$(stat -c '%U:%G %a' /etc/hbd/hbd.yaml)" = "root:hbd 640" ] || fail "the upgrade changed /etc/hbd/hbd.yaml's owner"
start_daemon
hosts_json | grep -q "\"$THIS_HOST\"" || fail "after the upgrade the daemon does not know $THIS_HOST from its state"
say "upgraded to $(dpkg-query -W -f '${Version}' hbd): edited configs kept, $THIS_HOST known from the state"

# 5. The static small agent in place of hbc.
stop_all
DEBIAN_FRONTEND=noninteractive dpkg -i "$(deb r2 hbc-mini)" </dev/null 2>/dev/null \
    && fail "hbc-mini installed beside hbc (they conflict: both are /usr/bin/hbc)"
dpkg --purge hbc-mini >/dev/null 2>&1 || true
dpkg --purge hbc >/dev/null
[ ! -e /etc/hbc ] && [ ! -e /var/lib/hbc ] || fail "hbc purged, but /etc/hbc or /var/lib/hbc is left"
DEBIAN_FRONTEND=noninteractive dpkg -i "$(deb r2 hbc-mini)" </dev/null
readelf -d /usr/bin/hbc | grep -q NEEDED && fail "hbc-mini's /usr/bin/hbc is not static"
sed -i "s/^server: .*/server: 127.0.0.1/; s/^# port: .*/port: $UDP/; s/^interval: .*/interval: 1/" /etc/hbc/hbc.yaml
# A heartbeat from the new agent: seen after what the daemon knew from its state.
start_daemon
before=$(last_seen)
start_agent
heard "hbc-mini" "$before"
stop_all

# 6. Purge: nothing left but the users.
files=$(dpkg -L hbd hbc-mini | sort -u)
dpkg --purge hbd hbc-mini >/dev/null
for f in $files; do
    [ -d "$f" ] && continue
    [ -e "$f" ] && fail "$f is left after the purge"
done
for d in /etc/hbd /etc/hbc /var/lib/hbd /var/lib/hbc /var/log/hbd; do
    [ -e "$d" ] && fail "$d is left after the purge"
done
left=$(find /etc/systemd /var/lib/systemd -name 'hb[dc]*' 2>/dev/null || true)
[ -z "$left" ] || fail "left in systemd's directories after the purge: $left"
say "purged: no file, config, state, log or unit link left; users $(id -un hbd) and $(id -un hbc) kept (Debian policy)"

# 7. An archive installs from anywhere.
mkdir -p "$WORK/unpacked" "$WORK/root"
ARCHIVE=$(ls "$WORK"/r1/hbc-[0-9]*.tar.gz)
tar -xzf "$ARCHIVE" -C "$WORK/unpacked"
(cd "$WORK" && "$WORK"/unpacked/hbc-*/scripts/hb_install.sh agent --archive "$ARCHIVE" --root "$WORK/root") >/dev/null
[ -x "$WORK/root/usr/local/bin/hbc" ] && [ -x "$WORK/root/usr/local/bin/hbc-compile" ] \
    && grep -q "ExecStart=/usr/local/bin/hbc " "$WORK/root/etc/systemd/system/hbc.service" \
    || fail "hb_install.sh agent --archive from the archive did not install hbc, hbc-compile and the unit"
say "hb_install.sh agent --archive $(basename "$ARCHIVE"), run from the archive: installed into a scratch root"
say "all good"
