#!/usr/bin/env python3
"""Record what CPython 3.11's asyncore/asynchat do, for the tests on Python 3.12+.

    python tests/record_stdlib.py          # with a Python 3.11 that has them

Writes, for review like code:

``tests/data/stdlib311.json``
    every answer the tests ask of the stdlib (``stdlib_ref.expect``/``value``):
    the whole test suite runs once with ``ASYNCORE_SIM_RECORD_STDLIB`` set and
    each answer computed on the live stdlib is collected, one per line.
``tests/data/cpython311_conformance.json``
    the outcome of every test of CPython 3.11's own test_asyncore and
    test_asynchat on the stdlib modules (``tests/cpython_conformance.py``).

On 3.11 the suite checks every answer against these files, so a test that
changes what it asks fails there until this script is run again.
"""

from __future__ import annotations

import glob
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS))

import cpython_conformance  # noqa: E402
import stdlib_ref  # noqa: E402

HEADER = ("What CPython %s's stdlib asyncore/asynchat answered to the tests "
          "(key: test file::test id#n). Written by %s; do not edit by hand.")


def write_lines(path: Path, about: str, name: str, entries: dict) -> None:
    """JSON with one entry per line, sorted, so that diffs stay readable."""
    lines = ["{", '  "about": %s,' % json.dumps(about),
             '  "python": %s,' % json.dumps(platform.python_version()),
             '  "%s": {' % name]
    body = ["    %s: %s" % (json.dumps(k), json.dumps(v, sort_keys=True))
            for k, v in sorted(entries.items())]
    lines.append(",\n".join(body))
    lines += ["  }", "}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    print("wrote %s (%d entries, %d bytes)" % (path.relative_to(ROOT), len(entries),
                                               path.stat().st_size))


def record_answers() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "answers.json")
        env = dict(os.environ, **{stdlib_ref.RECORD_ENV: prefix})
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "-n", "auto", str(TESTS)]
        print("$", " ".join(cmd))
        proc = subprocess.run(cmd, cwd=str(ROOT), env=env)
        if proc.returncode != 0:
            sys.exit("the test run failed (exit %d): nothing written"
                     % proc.returncode)
        answers: dict = {}
        for path in sorted(glob.glob(prefix + ".*")):
            with open(path, encoding="utf-8") as f:
                for key, data in json.load(f).items():
                    if key in answers and answers[key] != data:
                        sys.exit("two workers recorded different answers for %s"
                                 % key)
                    answers[key] = data
    if not answers:
        sys.exit("no answers were recorded")
    write_lines(stdlib_ref.DATA, HEADER % (platform.python_version(),
                                           "tests/record_stdlib.py"),
                "answers", answers)


def record_conformance() -> None:
    where, looked = cpython_conformance.find_tests()
    if where is None:
        sys.exit("CPython 3.11's test_asyncore.py/test_asynchat.py not found; "
                 "looked in:\n  " + "\n  ".join(looked))
    outcomes = {test: outcome for test, outcome
                in cpython_conformance.run_subprocess("stdlib", where).items()
                if test.split(".")[0] in cpython_conformance.MODULES}
    about = ("The outcome of each test of CPython %s's test_asyncore.py and "
             "test_asynchat.py on its stdlib modules. Written by "
             "tests/record_stdlib.py; do not edit by hand."
             % platform.python_version())
    write_lines(cpython_conformance.RECORDED, about, "outcomes", outcomes)


def main() -> int:
    if sys.version_info[:2] != (3, 11) or not stdlib_ref.LIVE:
        sys.exit("run this with a Python 3.11 that has asyncore and asynchat "
                 "(this is %s)" % platform.python_version())
    record_conformance()
    record_answers()
    return 0


if __name__ == "__main__":
    sys.exit(main())
