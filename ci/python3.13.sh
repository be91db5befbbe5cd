#!/usr/bin/env bash
# Build CPython 3.13 from Debian 13's (trixie) python3.13 source package, once,
# and print the path of its interpreter.
#
# Debian 12 has no python3.13 package, so this adds a *source-only* entry for
# the trixie suite that reuses the mirror URI of this machine's own apt
# sources, fetches the source with `apt-get source`, and builds it with
# ./configure && make.  The result is cached outside the clone
# (${ASYNCORE_SIM_CACHE:-~/.cache/asyncore-sim}/python3.13), so later runs reuse it.
#
# Usage:  PY313="$(bash ci/python3.13.sh)"     # progress goes to stderr
# Needs:  root (apt-get), a C compiler, and the -dev packages installed below.
set -euo pipefail

CACHE="${ASYNCORE_SIM_CACHE:-$HOME/.cache/asyncore-sim}"
PREFIX="$CACHE/python3.13"
PY="$PREFIX/bin/python3.13"

say() { echo "python3.13.sh: $*" >&2; }

if [ -x "$PY" ] && "$PY" -c 'import ssl, zlib, ctypes, sqlite3, venv' 2>/dev/null; then
    say "cached: $("$PY" --version) at $PY"
    echo "$PY"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    say "building needs root for apt-get (or put a Python 3.13 at $PY yourself)"
    exit 1
fi

# A source-only trixie entry on the machine's own mirror.  The mirror URI is
# read from the existing apt sources, never written into this repository.
SRC_LIST=/etc/apt/sources.list.d/asyncore-sim-trixie-src.sources
if [ ! -f "$SRC_LIST" ]; then
    URI=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        URI="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
    fi
    if [ -z "$URI" ] && [ -f /etc/apt/sources.list ]; then
        URI="$(awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)"
    fi
    if [ -z "$URI" ]; then
        say "cannot find this machine's Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
        exit 1
    fi
    KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
    {
        echo "Types: deb-src"
        echo "URIs: $URI"
        echo "Suites: trixie"
        echo "Components: main"
        [ -f "$KEYRING" ] && echo "Signed-By: $KEYRING"
    } > "$SRC_LIST"
    say "added $SRC_LIST (deb-src trixie on $URI)"
fi

export DEBIAN_FRONTEND=noninteractive
mkdir -p "$CACHE"
LOG="$CACHE/apt-python3.13.log"
: > "$LOG"
apt_quiet() {  # apt-get's output goes to $LOG; its tail to stderr on failure
    if ! apt-get "$@" >>"$LOG" 2>&1; then
        tail -30 "$LOG" >&2
        say "apt-get $* failed (log: $LOG)"
        exit 1
    fi
}
say "apt-get update (log: $LOG)"
apt_quiet update -qq
# Only what is missing: installed packages are left as they are (no upgrades).
BUILD_DEPS=(build-essential dpkg-dev pkg-config libssl-dev zlib1g-dev libffi-dev
            libbz2-dev liblzma-dev libsqlite3-dev libreadline-dev libncurses-dev
            uuid-dev libexpat1-dev)
MISSING=()
for pkg in "${BUILD_DEPS[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || MISSING+=("$pkg")
done
if [ "${#MISSING[@]}" -gt 0 ]; then
    say "installing build dependencies: ${MISSING[*]}"
    apt_quiet install -y -qq --no-install-recommends "${MISSING[@]}"
else
    say "build dependencies already installed"
fi

WORK="$CACHE/build-python3.13"
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
say "apt-get source python3.13 (into $WORK)"
apt_quiet source -qq --download-only python3.13
dpkg-source -x --skip-patches ./python3.13_*.dsc src >>"$LOG" 2>&1 \
    || { tail -30 "$LOG" >&2; exit 1; }
cd src
say "configure and make (about 5 minutes on 2 cores)"
./configure --prefix="$PREFIX" --with-ensurepip=install >"$WORK/configure.log" 2>&1 \
    || { tail -30 "$WORK/configure.log" >&2; exit 1; }
make -j"$(nproc)" >"$WORK/make.log" 2>&1 || { tail -40 "$WORK/make.log" >&2; exit 1; }
make install >"$WORK/install.log" 2>&1 || { tail -40 "$WORK/install.log" >&2; exit 1; }
cd "$CACHE"
rm -rf "$WORK"
"$PY" -c 'import ssl, zlib, ctypes, sqlite3, venv' >&2
say "built $("$PY" --version) at $PY"
echo "$PY"
