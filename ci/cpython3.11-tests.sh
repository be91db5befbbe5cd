#!/usr/bin/env bash
# Find CPython 3.11's test_asyncore.py and test_asynchat.py on this machine,
# or fetch them from Debian, and print the directory that holds them.
#
# The conformance check (tests/test_conformance.py) runs these two files,
# unmodified, against asyncore_sim on every interpreter, 3.13 included.  They
# are looked for where tests/cpython_conformance.py looks ($ASYNCORE_SIM_CPYTHON_TESTS,
# a 3.11's Lib/test under pyenv or /usr/lib/python3.11/test, the cache); when
# none has them, Debian's libpython3.11-testsuite package is downloaded with
# `apt-get download` (no install) and the two files are extracted into
# ${ASYNCORE_SIM_CACHE:-~/.cache/asyncore-sim}/cpython3.11-tests, outside the
# clone, where later runs find them.
#
# Usage:  export ASYNCORE_SIM_CPYTHON_TESTS="$(bash ci/cpython3.11-tests.sh [PYTHON])"
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${1:-python3}"
CACHE="${ASYNCORE_SIM_CACHE:-$HOME/.cache/asyncore-sim}"
DEST="$CACHE/cpython3.11-tests"
LOG="$CACHE/apt-cpython3.11-tests.log"
say() { echo "cpython3.11-tests.sh: $*" >&2; }

if where="$("$PY" tests/cpython_conformance.py where 2>/dev/null)"; then
    say "found in $where"
    echo "$where"
    exit 0
fi

mkdir -p "$CACHE"
WORK="$(mktemp -d "$CACHE/fetch-3.11-tests.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
say "not on this machine: apt-get download libpython3.11-testsuite (log: $LOG)"
if ! apt-get download -q libpython3.11-testsuite >"$LOG" 2>&1; then
    say "apt-get update, then again"
    apt-get update -qq >>"$LOG" 2>&1 || true
    apt-get download -q libpython3.11-testsuite >>"$LOG" 2>&1 \
        || { tail -20 "$LOG" >&2; say "could not download libpython3.11-testsuite"; exit 1; }
fi
dpkg-deb -x libpython3.11-testsuite_*.deb root
mkdir -p "$DEST"
for f in test_asyncore.py test_asynchat.py; do
    cp "root/usr/lib/python3.11/test/$f" "$DEST/$f"
done
say "extracted from $(ls libpython3.11-testsuite_*.deb) into $DEST"
echo "$DEST"
