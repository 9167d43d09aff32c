#!/usr/bin/env bash
# Installs (or upgrades) the hbd daemon or the hbc agent: the binary, its system user,
# its directories, a commented config (never overwriting one that exists), the docs and
# a hardened systemd unit. An upgrade is the same command: the binary is replaced
# atomically and the config kept. docs/INSTALL.md explains every step.
#
#   scripts/hb_install.sh daemon|agent [--from-source | --binary FILE | --archive FILE.tar.gz]
#                         [--root DIR] [--prefix /usr/local] [--enable]
#
#   --from-source   build with cargo (default when run from a source tree)
#   --binary FILE   install this hbd/hbc binary
#   --archive FILE  a release archive holding the binary at its top level or in bin/
#   --root DIR      install into DIR as if it were / (a scratch root, a chroot, an image);
#                   the system user is made there with systemd-sysusers --root
#   --prefix DIR    where the binary and docs go (default /usr/local)
#   --enable        on the live system: reload systemd, enable and (re)start the unit
set -euo pipefail

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "hb_install: $*" >&2; exit 1; }

[ $# -ge 1 ] || usage
case $1 in
    daemon) NAME=hbd ;;
    agent) NAME=hbc ;;
    -h | --help) usage ;;
    *) die "first argument: daemon or agent, not '$1'" ;;
esac
shift

SRC=$(cd "$(dirname "$0")/.." && pwd)
ROOT= PREFIX=/usr/local BINARY= ARCHIVE= FROM_SOURCE= ENABLE=
while [ $# -gt 0 ]; do
    case $1 in
        --root) ROOT=${2:?--root needs a directory}; shift ;;
        --prefix) PREFIX=${2:?--prefix needs a directory}; shift ;;
        --binary) BINARY=${2:?--binary needs a file}; shift ;;
        --archive) ARCHIVE=${2:?--archive needs a file}; shift ;;
        --from-source) FROM_SOURCE=1 ;;
        --enable) ENABLE=1 ;;
        -h | --help) usage ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
done
[ -z "$ROOT" ] || { mkdir -p "$ROOT"; ROOT=$(cd "$ROOT" && pwd); }
[ -z "$ROOT" ] && [ "$(id -u)" != 0 ] && die "run as root (or give --root DIR for a scratch root)"
[ -n "$ENABLE" ] && [ -n "$ROOT" ] && die "--enable acts on the live system; not with --root"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# 1. The binary.
if [ -n "$ARCHIVE" ]; then
    tar -xzf "$ARCHIVE" -C "$WORK" || die "cannot unpack $ARCHIVE"
    BINARY=$(find "$WORK" -type f -name "$NAME" -perm -u+x | head -1)
    [ -n "$BINARY" ] || die "$ARCHIVE holds no executable $NAME"
elif [ -z "$BINARY" ] || [ -n "$FROM_SOURCE" ]; then
    [ -f "$SRC/Cargo.toml" ] || die "not a source tree: give --binary or --archive"
    command -v cargo >/dev/null || die "cargo not found: install Rust, or give --binary or --archive"
    echo "hb_install: building $NAME (release)"
    cargo build --release --locked -p "$NAME" --manifest-path "$SRC/Cargo.toml" >&2
    BINARY=${CARGO_TARGET_DIR:-$SRC/target}/release/$NAME
fi
[ -x "$BINARY" ] || die "$BINARY is not an executable"
"$BINARY" --version >/dev/null 2>&1 || die "$BINARY does not run here (wrong architecture?)"

BIN_DIR=$ROOT$PREFIX/bin
install -d -m 0755 "$BIN_DIR"
# Atomic: a new file next to the old, then renamed over it (a running service keeps
# its old inode until it restarts).
install -m 0755 "$BINARY" "$BIN_DIR/.$NAME.new"
mv -f "$BIN_DIR/.$NAME.new" "$BIN_DIR/$NAME"
echo "hb_install: $BIN_DIR/$NAME ($("$BIN_DIR/$NAME" --version))"

# 2. The system user, from a sysusers.d file (as distributions do).
install -d -m 0755 "$ROOT/usr/lib/sysusers.d"
install -m 0644 "$SRC/dist/sysusers.d/$NAME.conf" "$ROOT/usr/lib/sysusers.d/$NAME.conf"
if [ -n "$ROOT" ]; then
    install -d -m 0755 "$ROOT/etc"
    touch "$ROOT/etc/passwd" "$ROOT/etc/group"
    systemd-sysusers --root="$ROOT" "$ROOT/usr/lib/sysusers.d/$NAME.conf"
elif command -v systemd-sysusers >/dev/null; then
    systemd-sysusers "/usr/lib/sysusers.d/$NAME.conf"
elif ! id "$NAME" >/dev/null 2>&1; then
    useradd --system --home-dir "/var/lib/$NAME" --no-create-home --shell /usr/sbin/nologin "$NAME"
fi

# 3. Directories: config (root-owned, readable by the service), state and logs (the
#    unit's StateDirectory/LogsDirectory make them too; made here for a first check).
install -d -m 0750 "$ROOT/etc/$NAME"
install -d -m 0750 "$ROOT/var/lib/$NAME"
[ "$NAME" = hbd ] && install -d -m 0750 "$ROOT/var/log/hbd"
if [ -z "$ROOT" ]; then
    chgrp "$NAME" "/etc/$NAME"
    chown "$NAME:$NAME" "/var/lib/$NAME"
    [ "$NAME" = hbd ] && chown hbd:hbd /var/log/hbd
fi

# 4. A commented config, unless one is there.
CONFIG=$ROOT/etc/$NAME/$NAME.yaml
if [ -e "$CONFIG" ]; then
    echo "hb_install: keeping $CONFIG"
else
    install -m 0640 "$SRC/dist/$NAME.yaml" "$CONFIG"
    [ -z "$ROOT" ] && chgrp "$NAME" "$CONFIG"
    echo "hb_install: wrote $CONFIG (commented; edit it, then check it with $NAME check-config -c /etc/$NAME/$NAME.yaml)"
fi

# 5. The docs the config and unit point to.
DOC=$ROOT$PREFIX/share/doc/hbd
install -d -m 0755 "$DOC"
for f in README.md LICENSE LICENSE-MIT LICENSE-APACHE; do install -m 0644 "$SRC/$f" "$DOC/"; done
for f in "$SRC"/docs/*.md; do install -m 0644 "$f" "$DOC/"; done

# 6. The man page and shell completions, generated by the binary itself.
SHARE=$ROOT$PREFIX/share
install -d -m 0755 "$SHARE/man/man8" "$SHARE/bash-completion/completions" \
    "$SHARE/zsh/site-functions" "$SHARE/fish/vendor_completions.d"
"$BIN_DIR/$NAME" manpage > "$SHARE/man/man8/$NAME.8"
"$BIN_DIR/$NAME" completions bash > "$SHARE/bash-completion/completions/$NAME"
"$BIN_DIR/$NAME" completions zsh > "$SHARE/zsh/site-functions/_$NAME"
"$BIN_DIR/$NAME" completions fish > "$SHARE/fish/vendor_completions.d/$NAME.fish"

# 7. The unit, with the binary's real path.
UNIT_DIR=$ROOT/etc/systemd/system
install -d -m 0755 "$UNIT_DIR"
sed "s|/usr/local/bin/$NAME|$PREFIX/bin/$NAME|; s|/usr/local/share/doc|$PREFIX/share/doc|" \
    "$SRC/dist/systemd/$NAME.service" > "$UNIT_DIR/$NAME.service"
chmod 0644 "$UNIT_DIR/$NAME.service"
echo "hb_install: $UNIT_DIR/$NAME.service"

if [ -n "$ENABLE" ]; then
    systemctl daemon-reload
    systemctl enable "$NAME.service"
    systemctl restart "$NAME.service"
    echo "hb_install: $NAME.service enabled and (re)started"
elif [ -z "$ROOT" ]; then
    echo "hb_install: start it with: systemctl daemon-reload && systemctl enable --now $NAME"
fi
