"""Run CPython 3.11's own asyncore tests and print each test's outcome.

    python tests/cpython_conformance.py sim [DIR]     # asyncore/asynchat: asyncore_sim
    python tests/cpython_conformance.py stdlib [DIR]  # the stdlib's own (3.11)
    python tests/cpython_conformance.py where         # where the tests are found

The suites are CPython 3.11's ``test_asyncore.py`` and ``test_asynchat.py``,
run unmodified with the running interpreter's ``test.support`` (3.11's, or
3.13's on 3.13).  They are copied, at run time, from a 3.11 ``Lib/test``
directory on this machine (``DIR``, or the first place :func:`find_tests`
finds) into a temporary directory and imported from there as the top-level
modules ``test_asyncore`` and ``test_asynchat``; nothing of them is kept in
this repository.  Where the interpreter's own ``test`` package still has the
tests of the stdlib's asyncore users (test_smtpd, test_ftplib, test_poplib:
Python 3.11), those run too: legacy code running unchanged on the package.

Prints one JSON object mapping each test id to "passed", "skipped: <reason>",
"failed", "error", "xfail" or "xpass"; exits 3 with a message on stderr when
the tests (or, for ``stdlib``, the stdlib modules) are not there.
"""

from __future__ import annotations

import glob
import importlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import unittest
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Tuple

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FILES = ("test_asyncore.py", "test_asynchat.py")
MODULES = tuple(f[:-3] for f in FILES)
# Stdlib users of asyncore/asynchat in 3.11, whose tests monkeypatch
# asyncore.socket (test_smtpd) or run asyncore servers in threads (ftplib,
# poplib).  3.12+ dropped smtpd and moved the others onto private copies.
LEGACY_MODULES = ("test.test_smtpd", "test.test_ftplib", "test.test_poplib")
#: A directory holding CPython 3.11's test_asyncore.py and test_asynchat.py.
ENV = "ASYNCORE_SIM_CPYTHON_TESTS"
#: Where .ci/run (ci/cpython3.11-tests.sh) puts them when the machine has none.
CACHE = Path(os.environ.get("ASYNCORE_SIM_CACHE",
                            os.path.expanduser("~/.cache/asyncore-sim")))
CACHED = CACHE / "cpython3.11-tests"
#: The outcomes on 3.11's stdlib, recorded by tests/record_stdlib.py.
RECORDED = TESTS / "data" / "cpython311_conformance.json"


def candidates() -> List[Tuple[str, str]]:
    """``(directory, how it was chosen)``, in the order they are tried."""
    out = []
    env = os.environ.get(ENV)
    out.append((env, "$%s" % ENV) if env else ("", "$%s (unset)" % ENV))
    if sys.version_info[:2] == (3, 11):
        out.append((os.path.join(sysconfig.get_paths()["stdlib"], "test"),
                    "this interpreter's Lib/test"))
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    pattern = os.path.join(pyenv, "versions", "3.11.*", "lib", "python3.11", "test")
    found = sorted(glob.glob(pattern), reverse=True)
    out += [(d, "pyenv") for d in found] or [(pattern, "pyenv")]
    for prefix in ("/usr/lib", "/usr/local/lib"):
        out.append((os.path.join(prefix, "python3.11", "test"), "system"))
    out.append((str(CACHED), "the cache filled by ci/cpython3.11-tests.sh"))
    return out


def find_tests() -> Tuple[Optional[str], List[str]]:
    """The first directory with both files, and every place looked at."""
    looked = []
    for where, how in candidates():
        if not where:
            looked.append(how)
            continue
        missing = [f for f in FILES if not os.path.isfile(os.path.join(where, f))]
        if not missing:
            return where, looked
        looked.append("%s (%s): no %s" % (where, how, " or ".join(missing)))
    return None, looked


def run_subprocess(which: str, where: str, timeout: float = 300) -> Dict[str, str]:
    """Run this script as ``which`` on the tests in ``where``; the outcomes."""
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), which, where],
        capture_output=True, text=True, timeout=timeout,
        cwd=tempfile.gettempdir(),
    )
    if proc.returncode != 0:
        raise RuntimeError("%s run failed (exit %d):\n%s"
                           % (which, proc.returncode, proc.stderr[-4000:]))
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


class _Recorder(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.outcomes: dict = {}

    def addSuccess(self, test):  # type: ignore[no-untyped-def]
        super().addSuccess(test)
        self.outcomes[test.id()] = "passed"

    def addSkip(self, test, reason):  # type: ignore[no-untyped-def]
        super().addSkip(test, reason)
        self.outcomes[test.id()] = "skipped: %s" % reason

    def addFailure(self, test, err):  # type: ignore[no-untyped-def]
        super().addFailure(test, err)
        self.outcomes[test.id()] = "failed"

    def addError(self, test, err):  # type: ignore[no-untyped-def]
        super().addError(test, err)
        self.outcomes[test.id()] = "error"

    def addExpectedFailure(self, test, err):  # type: ignore[no-untyped-def]
        super().addExpectedFailure(test, err)
        self.outcomes[test.id()] = "xfail"

    def addUnexpectedSuccess(self, test):  # type: ignore[no-untyped-def]
        super().addUnexpectedSuccess(test)
        self.outcomes[test.id()] = "xpass"


def _use_the_package() -> object:
    """Import asyncore_sim (this checkout's) and resolve asyncore/asynchat to it.

    The checkout is on sys.path only while the package is imported: its
    top-level asyncore.py must not stand in for the stdlib's afterwards.
    """
    sys.path.insert(0, str(ROOT))
    try:
        import asyncore_sim
        import asyncore_sim.compat
    finally:
        sys.path.remove(str(ROOT))
    asyncore_sim.compat.install()
    return asyncore_sim


def _import(name: str) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module(name)


def main(argv: list) -> int:
    if len(argv) not in (2, 3) or argv[1] not in ("sim", "stdlib", "where"):
        print(__doc__, file=sys.stderr)
        return 2
    where = argv[2] if len(argv) == 3 else find_tests()[0]
    if where is None:
        print("CPython 3.11's %s not found; looked in: %s"
              % (" and ".join(FILES), "; ".join(find_tests()[1])), file=sys.stderr)
        return 3
    if argv[1] == "where":
        print(where)
        return 0
    sim = argv[1] == "sim"
    package = _use_the_package() if sim else None
    if not sim:
        try:
            _import("asyncore")
        except ImportError as exc:
            print("no stdlib asyncore in this interpreter: %s" % exc, file=sys.stderr)
            return 3
    copy = tempfile.mkdtemp(prefix="cpython311-asyncore-tests-")
    try:
        for name in FILES:
            shutil.copyfile(os.path.join(where, name), os.path.join(copy, name))
        sys.path.insert(0, copy)
        modules = [_import(name) for name in MODULES]
        legacy_ok = sys.version_info < (3, 12)
        for name in LEGACY_MODULES if legacy_ok else ():
            try:
                modules.append(_import(name))
            except ImportError as exc:  # e.g. a Python without its test suite
                print("not run: %s (%s)" % (name, exc), file=sys.stderr)
        if package is not None:
            users = [sys.modules[n] for n in ("smtpd",) if n in sys.modules]
            for mod in modules + users:
                for attr in ("asyncore", "asynchat"):
                    got = getattr(mod, attr, None)
                    want = getattr(package, attr)
                    if got is not None and got is not want:
                        print("%s.%s is %r, not asyncore_sim's"
                              % (mod.__name__, attr, got), file=sys.stderr)  # type: ignore[attr-defined]
                        return 4
        suite = unittest.TestSuite()
        for mod in modules:
            suite.addTests(unittest.defaultTestLoader.loadTestsFromModule(mod))
        runner = unittest.TextTestRunner(stream=sys.stderr, resultclass=_Recorder,
                                         verbosity=0)
        result = runner.run(suite)
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    print(json.dumps(result.outcomes, sort_keys=True))  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
