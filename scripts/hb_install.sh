#!/usr/bin/env bash
# Installs (or upgrades) the hbd daemon or the hbc agent: the binary, its system user,
# its directories, a commented config (never overwriting one that exists), the user
# docs and a hardened systemd unit. An upgrade is the same command: the binary is
# replaced atomically and the config kept. `release` publishes an agent binary (and its
# plugin compiler, hbc-compile) into the daemon's releases_dir, with this script and
# the agent's files (hb-agent-files-VERSION.tar.gz: unit, sysusers entry, config, docs),
# from where agents upgrade themselves and `--from-daemon` installs: this script alone,
# fetched from URL/releases/hb_install.sh, installs an agent on a bare host. Everything
# an install needs is found and checked before anything is installed.
# docs/INSTALL.md explains every step.
#
#   scripts/hb_install.sh daemon|agent [--from-source | --binary FILE | --archive FILE.tar.gz
#                                       | --from-daemon URL [--version V]]
#                         [--root DIR] [--prefix /usr/local] [--self-upgrade] [--enable]
#                         [--token TOKEN [--enrol-url URL]]
#   scripts/hb_install.sh release --dir DIR [--from-source | --binary FILE | --archive FILE]
#                         [--arch ARCH-OS]
#
#   --from-source   build with cargo (default when run from a source tree)
#   --binary FILE   install this hbd/hbc binary (for the agent, hbc-compile beside it too)
#   --archive FILE  a release archive holding the binary at its top level or in bin/
#                   (and hbc-compile, the agent's plugin compiler, if it has one)
#   --from-daemon URL  (agent) the newest hbc for this machine from a daemon's releases
#                   (URL/releases/SHA256SUMS), its hbc-compile and the agent's files if
#                   listed, each checked against its SHA-256; --version V for another
#   --root DIR      install into DIR as if it were / (a scratch root, a chroot, an image);
#                   the system user is made there with systemd-sysusers --root
#   --prefix DIR    where the binary and docs go (default /usr/local)
#   --self-upgrade  (agent) keep the binary and hbc-compile in /var/lib/hbc/bin, owned
#                   by hbc, so the daemon can upgrade them (commands.upgrade: true in its
#                   config); PREFIX/bin/hbc and PREFIX/bin/hbc-compile link to them
#   --enable        on the live system: reload systemd, enable and (re)start the unit
#   --token TOKEN   (agent) enrol: this host makes its own key with an enrolment token
#                   an administrator made (hbc enrol; the key goes to /etc/hbc/key and
#                   the config gets key_file); the daemon is --from-daemon's URL or
#                   --enrol-url URL. A host with a key file already keeps it
#   --dir DIR       (release) the daemon's releases_dir: the binary goes in as
#                   hbc-VERSION-ARCH-OS, hbc-compile (beside --binary, in the archive,
#                   or built) as hbc-compile-VERSION-ARCH-OS, the agent's files as
#                   hb-agent-files-VERSION.tar.gz, this script as hb_install.sh, and
#                   SHA256SUMS is rewritten
#   --arch ARCH-OS  (release) the binary's platform, default this machine's (x86_64-linux)
set -euo pipefail

usage() { sed -n '2,/^set -e/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "hb_install: $*" >&2; exit 1; }

[ $# -ge 1 ] || usage
MODE=install
case $1 in
    daemon) NAME=hbd ;;
    agent) NAME=hbc ;;
    release) NAME=hbc MODE=release ;;
    -h | --help) usage ;;
    *) die "first argument: daemon, agent or release, not '$1'" ;;
esac
shift

SRC=$(cd "$(dirname "$0")/.." && pwd)
# The user docs each installs (developer docs stay in the source tree).
case $NAME in
    hbd) DOCS="CONFIG HTTP_API INSTALL MESSAGE_JOURNAL NAGIOS_INTEGRATION PLUGINS PROTOCOL SCALING THRESHOLD_ALERTING USERS WEBSOCKET" ;;
    hbc) DOCS="CONFIG INSTALL NAGIOS_INTEGRATION PLUGINS PROTOCOL" ;;
esac
# The files besides the binaries, as paths in a source tree (and in the agent's files
# archive, laid out the same way).
support_files() {
    echo "dist/sysusers.d/$NAME.conf dist/$NAME.yaml dist/systemd/$NAME.service README.md LICENSE LICENSE-MIT LICENSE-APACHE"
    for d in $DOCS; do echo "docs/$d.md"; done
}
ROOT= PREFIX=/usr/local BINARY= ARCHIVE= FROM_SOURCE= ENABLE= FROM_DAEMON= VERSION= SELF_UPGRADE=
RELEASES= ARCH= COMPILER= TOKEN= ENROL_URL=
while [ $# -gt 0 ]; do
    case $1 in
        --root) ROOT=${2:?--root needs a directory}; shift ;;
        --prefix) PREFIX=${2:?--prefix needs a directory}; shift ;;
        --binary) BINARY=${2:?--binary needs a file}; shift ;;
        --archive) ARCHIVE=${2:?--archive needs a file}; shift ;;
        --from-source) FROM_SOURCE=1 ;;
        --from-daemon) FROM_DAEMON=${2:?--from-daemon needs a URL}; shift ;;
        --version) VERSION=${2:?--version needs a version}; shift ;;
        --self-upgrade) SELF_UPGRADE=1 ;;
        --enable) ENABLE=1 ;;
        --dir) RELEASES=${2:?--dir needs a directory}; shift ;;
        --arch) ARCH=${2:?--arch needs ARCH-OS}; shift ;;
        --token) TOKEN=${2:?--token needs a token}; shift ;;
        --enrol-url) ENROL_URL=${2:?--enrol-url needs a URL}; shift ;;
        -h | --help) usage ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
done

# This machine's platform as the agent reports it (Rust's ARCH-OS).
platform() {
    local m
    m=$(uname -m)
    case $m in
        armv6l | armv7l) m=arm ;;
        i386 | i486 | i586 | i686) m=x86 ;;
        arm64) m=aarch64 ;;
    esac
    echo "$m-$(uname -s | tr '[:upper:]' '[:lower:]')"
}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ "$MODE" = install ]; then
    [ -z "$ROOT" ] || { mkdir -p "$ROOT"; ROOT=$(cd "$ROOT" && pwd); }
    [ -z "$ROOT" ] && [ "$(id -u)" != 0 ] && die "run as root (or give --root DIR for a scratch root)"
    [ -n "$ENABLE" ] && [ -n "$ROOT" ] && die "--enable acts on the live system; not with --root"
    [ -n "$FROM_DAEMON$SELF_UPGRADE$TOKEN" ] && [ "$NAME" != hbc ] && die "--from-daemon, --self-upgrade and --token are for the agent"
    ENROL_URL=${ENROL_URL:-$FROM_DAEMON}
    [ -n "$TOKEN" ] && [ -z "$ENROL_URL" ] && die "--token needs the daemon: --from-daemon URL or --enrol-url URL"
else
    [ -n "$RELEASES" ] || die "release needs --dir DIR (the daemon's releases_dir)"
fi

# 1. The binary: from a daemon's releases (checked against SHA256SUMS), an archive, a
#    file, or built from source; it must run here.
if [ -n "$FROM_DAEMON" ]; then
    command -v curl >/dev/null || die "curl not found: needed for --from-daemon"
    BASE=${FROM_DAEMON%/}/releases
    curl -fsS --max-time 60 -o "$WORK/SHA256SUMS" "$BASE/SHA256SUMS" \
        || die "cannot fetch $BASE/SHA256SUMS"
    PLATFORM=$(platform)
    FILE=$(awk '{print $2}' "$WORK/SHA256SUMS" | tr -d '*' \
        | grep -E "^hbc-${VERSION:-[0-9].*}-$PLATFORM\$" | sort -V | tail -1) || true
    [ -n "$FILE" ] || die "$BASE/SHA256SUMS lists no hbc${VERSION:+ $VERSION} for $PLATFORM"
    fetch() { # fetch FILE: download it and check it against SHA256SUMS
        curl -fsS --max-time 600 -o "$WORK/$1" "$BASE/$1" || die "cannot fetch $BASE/$1"
        (cd "$WORK" && grep -E "[ *]$1\$" SHA256SUMS | sha256sum -c --quiet -) \
            || die "$1 does not match its SHA-256 in SHA256SUMS: not installed"
        chmod 0755 "$WORK/$1"
        echo "hb_install: fetched $1 from $FROM_DAEMON (SHA-256 checked)"
    }
    fetch "$FILE"
    BINARY=$WORK/$FILE
    listed() { awk '{print $2}' "$WORK/SHA256SUMS" | tr -d '*' | grep -qxF "$1"; }
    # The plugin compiler of the same release, if it has one.
    COMPILER_FILE=hbc-compile-${FILE#hbc-}
    if listed "$COMPILER_FILE"; then
        fetch "$COMPILER_FILE"
        COMPILER=$WORK/$COMPILER_FILE
    fi
    # The agent's files of the same version (unit, sysusers entry, config, docs).
    REL_VERSION=${FILE#hbc-}
    REL_VERSION=${REL_VERSION%-"$PLATFORM"}
    FILES_ARCHIVE=hb-agent-files-$REL_VERSION.tar.gz
    if listed "$FILES_ARCHIVE"; then
        fetch "$FILES_ARCHIVE"
        mkdir -p "$WORK/files"
        tar -xzf "$WORK/$FILES_ARCHIVE" -C "$WORK/files" || die "cannot unpack $FILES_ARCHIVE"
        FILES=$WORK/files
    fi
elif [ -n "$ARCHIVE" ]; then
    tar -xzf "$ARCHIVE" -C "$WORK" || die "cannot unpack $ARCHIVE"
    BINARY=$(find "$WORK" -type f -name "$NAME" -perm -u+x | head -1)
    [ -n "$BINARY" ] || die "$ARCHIVE holds no executable $NAME"
    COMPILER=$(find "$WORK" -type f -name hbc-compile -perm -u+x | head -1)
    # A release archive (scripts/package.sh) carries the files that go with the binary.
    UNIT=$(find "$WORK" -path "*/dist/systemd/$NAME.service" | head -1)
    [ -z "$UNIT" ] || FILES=${UNIT%/dist/systemd/*}
elif [ -z "$BINARY" ] || [ -n "$FROM_SOURCE" ]; then
    [ -f "$SRC/Cargo.toml" ] || die "not a source tree: give --binary or --archive"
    command -v cargo >/dev/null || die "cargo not found: install Rust, or give --binary or --archive"
    echo "hb_install: building $NAME (release)"
    cargo build --release --locked -p "$NAME" --manifest-path "$SRC/Cargo.toml" >&2
    BINARY=${CARGO_TARGET_DIR:-$SRC/target}/release/$NAME
    if [ "$NAME" = hbc ]; then
        # A build of its own: built together, the agent would carry Cranelift too.
        echo "hb_install: building hbc-compile (release), the agent's plugin compiler"
        cargo build --release --locked -p hbc-compile --manifest-path "$SRC/Cargo.toml" >&2
        COMPILER=${CARGO_TARGET_DIR:-$SRC/target}/release/hbc-compile
    fi
elif [ -x "$(dirname "$BINARY")/hbc-compile" ]; then
    COMPILER=$(dirname "$BINARY")/hbc-compile
fi
[ -x "$BINARY" ] || die "$BINARY is not an executable"
"$BINARY" --version >/dev/null 2>&1 || die "$BINARY does not run here (wrong architecture?)"
[ -z "$COMPILER" ] || "$COMPILER" --version >/dev/null 2>&1 || die "$COMPILER does not run here"

# 1b. The files besides the binaries: from the daemon's release, else this source tree.
#     All of them, and the tools to install them, are checked before anything is
#     installed: a missing one stops the install with nothing changed.
if [ -z "${FILES:-}" ]; then
    if [ -f "$SRC/dist/systemd/$NAME.service" ]; then
        FILES=$SRC
    elif [ -n "$FROM_DAEMON" ]; then
        die "$BASE lists no hb-agent-files archive (a release published before it had one): publish the release again with hb_install.sh release, or run this script from a source checkout; nothing was installed"
    else
        die "not in a source tree, so the unit, user, config and docs that go with $NAME are not here: use --from-daemon URL, or run this script from a source checkout; nothing was installed"
    fi
fi
for f in $(support_files); do
    [ -f "$FILES/$f" ] || die "$FILES/$f is missing; nothing was installed"
done
for tool in install sed sha256sum; do
    command -v "$tool" >/dev/null || die "$tool not found; nothing was installed"
done
if [ "$MODE" = install ]; then
    if [ -n "$ROOT" ]; then
        command -v systemd-sysusers >/dev/null || die "systemd-sysusers not found (needed with --root); nothing was installed"
    elif ! command -v systemd-sysusers >/dev/null && ! command -v useradd >/dev/null && ! id "$NAME" >/dev/null 2>&1; then
        die "neither systemd-sysusers nor useradd found to make user $NAME; nothing was installed"
    fi
fi

# Atomic: a new file next to the old, then renamed over it (a running service keeps
# its old inode until it restarts). What an install, a release and the agent's own
# upgrade have in common.
place() { # place FILE DIR NAME [MODE]
    install -d -m 0755 "$2"
    install -m "${4:-0755}" "$1" "$2/.$3.new"
    mv -f "$2/.$3.new" "$2/$3"
}

if [ "$MODE" = release ]; then
    VER=$("$BINARY" --version | awk '$1 == "hbc" {print $2}')
    [ -n "$VER" ] || die "$BINARY is not hbc (its --version does not say so)"
    FILE=hbc-$VER-${ARCH:-$(platform)}
    place "$BINARY" "$RELEASES" "$FILE"
    PUBLISHED=$FILE
    # Its plugin compiler goes with it, of the same version: agents upgrade both.
    if [ -n "$COMPILER" ]; then
        CVER=$("$COMPILER" --version 2>/dev/null | awk '$1 == "hbc-compile" {print $2}')
        [ "$CVER" = "$VER" ] || die "$COMPILER is not hbc-compile $VER (its --version says '${CVER:-nothing}')"
        place "$COMPILER" "$RELEASES" "hbc-compile-${FILE#hbc-}"
        PUBLISHED="$PUBLISHED and hbc-compile-${FILE#hbc-}"
    else
        echo "hb_install: note: no hbc-compile beside $BINARY; agents upgraded to this release keep the compiler they have"
    fi
    # The agent's files of this version, and this script, so that the script alone,
    # fetched from the daemon, installs an agent on a bare host.
    mkdir -p "$WORK/files"
    (cd "$FILES" && tar -czf "$WORK/files.tar.gz" --owner=0 --group=0 $(support_files)) \
        || die "cannot pack the agent's files"
    place "$WORK/files.tar.gz" "$RELEASES" "hb-agent-files-$VER.tar.gz" 0644
    place "$0" "$RELEASES" hb_install.sh 0755
    PUBLISHED="$PUBLISHED, hb-agent-files-$VER.tar.gz and hb_install.sh"
    (cd "$RELEASES" && find . -maxdepth 1 -type f \( -name 'hbc-*' -o -name 'hb-agent-files-*' -o -name hb_install.sh \) \
        -printf '%f\n' | sort | xargs -r sha256sum > .SHA256SUMS.new && mv -f .SHA256SUMS.new SHA256SUMS)
    echo "hb_install: $RELEASES: $PUBLISHED, listed in SHA256SUMS"
    exit 0
fi

BIN_DIR=$ROOT$PREFIX/bin
if [ -n "$SELF_UPGRADE" ]; then
    # The agent replaces its own binary on upgrade: it lives where the agent may
    # write (its state directory), and PREFIX/bin/hbc points there.
    OWN_DIR=/var/lib/hbc/bin
    place "$BINARY" "$ROOT$OWN_DIR" hbc
    install -d -m 0755 "$BIN_DIR"
    ln -sfn "$OWN_DIR/hbc" "$BIN_DIR/hbc"
    INSTALLED=$ROOT$OWN_DIR/hbc
    echo "hb_install: $ROOT$OWN_DIR/hbc, linked from $BIN_DIR/hbc ($("$ROOT$OWN_DIR/hbc" --version))"
else
    place "$BINARY" "$BIN_DIR" "$NAME"
    INSTALLED=$BIN_DIR/$NAME
    echo "hb_install: $BIN_DIR/$NAME ($("$BIN_DIR/$NAME" --version))"
fi
# The agent compiles WebAssembly plugins with hbc-compile, run as a child process and
# found beside the agent or on PATH; the agent itself carries no compiler.
if [ "$NAME" = hbc ]; then
    if [ -n "$COMPILER" ]; then
        "$COMPILER" --version >/dev/null 2>&1 || die "$COMPILER does not run here"
        if [ -n "$SELF_UPGRADE" ]; then
            # Beside the agent, where it looks first and where an upgrade replaces it.
            place "$COMPILER" "$ROOT$OWN_DIR" hbc-compile
            ln -sfn "$OWN_DIR/hbc-compile" "$BIN_DIR/hbc-compile"
            echo "hb_install: $ROOT$OWN_DIR/hbc-compile, linked from $BIN_DIR/hbc-compile ($("$ROOT$OWN_DIR/hbc-compile" --version))"
        else
            place "$COMPILER" "$BIN_DIR" hbc-compile
            echo "hb_install: $BIN_DIR/hbc-compile ($("$BIN_DIR/hbc-compile" --version))"
        fi
    elif [ ! -x "$BIN_DIR/hbc-compile" ]; then
        echo "hb_install: note: no hbc-compile installed; WebAssembly plugins need it (cargo build --release -p hbc-compile)"
    fi
fi

# 2. The system user, from a sysusers.d file (as distributions do).
install -d -m 0755 "$ROOT/usr/lib/sysusers.d"
install -m 0644 "$FILES/dist/sysusers.d/$NAME.conf" "$ROOT/usr/lib/sysusers.d/$NAME.conf"
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
# The agent's WebAssembly plugins (wasm_plugins.dirs in its config, read-only to it).
[ "$NAME" = hbc ] && install -d -m 0750 "$ROOT/etc/hbc/plugins"
install -d -m 0750 "$ROOT/var/lib/$NAME"
[ "$NAME" = hbd ] && install -d -m 0750 "$ROOT/var/log/hbd"
if [ -z "$ROOT" ]; then
    chgrp "$NAME" "/etc/$NAME"
    [ "$NAME" = hbc ] && chgrp hbc /etc/hbc/plugins
    chown "$NAME:$NAME" "/var/lib/$NAME"
    [ "$NAME" = hbd ] && chown hbd:hbd /var/log/hbd
    [ -n "$SELF_UPGRADE" ] && chown -R hbc:hbc /var/lib/hbc/bin
fi

# 4. A commented config, unless one is there.
CONFIG=$ROOT/etc/$NAME/$NAME.yaml
if [ -e "$CONFIG" ]; then
    echo "hb_install: keeping $CONFIG"
else
    install -m 0640 "$FILES/dist/$NAME.yaml" "$CONFIG"
    if [ -n "$SELF_UPGRADE" ]; then
        printf '\n# Installed with --self-upgrade: the daemon may upgrade this agent (needs key).\ncommands:\n  upgrade: true\n' >> "$CONFIG"
    fi
    [ -z "$ROOT" ] && chgrp "$NAME" "$CONFIG"
    echo "hb_install: wrote $CONFIG (commented; edit it, then check it with $NAME check-config -c /etc/$NAME/$NAME.yaml)"
fi

# 4b. Enrolment: this host makes its own key with the token (nothing secret crosses the
#     network); the config reads it from key_file.
if [ -n "$TOKEN" ]; then
    KEY=$ROOT/etc/hbc/key
    if ! grep -q '^key_file:' "$CONFIG"; then
        printf '\n# This host'"'"'s own key, made by `hbc enrol` at install.\nkey_file: /etc/hbc/key\n' >> "$CONFIG"
    fi
    if [ -e "$KEY" ]; then
        echo "hb_install: keeping $KEY (this host is enrolled already)"
    else
        "$INSTALLED" enrol -c "$CONFIG" --token "$TOKEN" --url "$ENROL_URL" --key-file "$KEY" \
            || die "installed, but not enrolled (see above): enrol later with hbc enrol -c /etc/hbc/hbc.yaml --token TOKEN --url URL"
        chmod 0640 "$KEY"
        [ -z "$ROOT" ] && chgrp hbc "$KEY"
        echo "hb_install: enrolled; the key is in $KEY"
    fi
fi

# 5. The user docs the config and unit point to (not the developers' docs).
DOC=$ROOT$PREFIX/share/doc/hbd
install -d -m 0755 "$DOC"
for f in README.md LICENSE LICENSE-MIT LICENSE-APACHE; do install -m 0644 "$FILES/$f" "$DOC/"; done
for d in $DOCS; do install -m 0644 "$FILES/docs/$d.md" "$DOC/"; done

# 6. The man page and shell completions, generated by the binary itself.
SHARE=$ROOT$PREFIX/share
install -d -m 0755 "$SHARE/man/man8" "$SHARE/bash-completion/completions" \
    "$SHARE/zsh/site-functions" "$SHARE/fish/vendor_completions.d"
"$INSTALLED" manpage > "$SHARE/man/man8/$NAME.8"
"$INSTALLED" completions bash > "$SHARE/bash-completion/completions/$NAME"
"$INSTALLED" completions zsh > "$SHARE/zsh/site-functions/_$NAME"
"$INSTALLED" completions fish > "$SHARE/fish/vendor_completions.d/$NAME.fish"

# 7. The unit, with the binary's real path.
UNIT_DIR=$ROOT/etc/systemd/system
install -d -m 0755 "$UNIT_DIR"
EXEC=$PREFIX/bin/$NAME
[ -n "$SELF_UPGRADE" ] && EXEC=/var/lib/hbc/bin/hbc
# The unit in dist/ is the Debian package's (/usr/bin, /usr/share/doc/NAME).
sed "s|/usr/bin/$NAME|$EXEC|; s|/usr/share/doc/$NAME/|$PREFIX/share/doc/hbd/|" \
    "$FILES/dist/systemd/$NAME.service" > "$UNIT_DIR/$NAME.service"
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
