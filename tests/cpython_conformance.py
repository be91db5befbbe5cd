"""Run CPython's own asyncore tests and print each test's outcome.

The suites are test_asyncore and test_asynchat, plus the tests of the
stdlib's own asyncore users (test_smtpd, test_ftplib, test_poplib).

    python tests/cpython_conformance.py sim      # asyncore/asynchat -> asyncore_sim
    python tests/cpython_conformance.py stdlib   # the interpreter's own modules

The test modules are imported, unmodified, from the interpreter's ``test``
package; nothing of them is copied here.  Prints one JSON object mapping each
test id to "passed", "skipped: <reason>", "failed" or "error", or exits 3
with a message when the interpreter has no such tests (Python 3.12+, or a
build without the ``test`` package).
"""

from __future__ import annotations

import json
import sys
import unittest
import warnings

MODULES = ("test.test_asyncore", "test.test_asynchat")
# Stdlib users of asyncore/asynchat in 3.11, whose tests monkeypatch
# asyncore.socket (test_smtpd) or run asyncore servers in threads (ftplib,
# poplib): legacy code running unchanged on the package.
LEGACY_MODULES = ("test.test_smtpd", "test.test_ftplib", "test.test_poplib")


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


def main(argv: list) -> int:
    if len(argv) != 2 or argv[1] not in ("sim", "stdlib"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "sim":
        import asyncore_sim.compat

        asyncore_sim.compat.install()
    import importlib

    modules = []
    for name in MODULES + LEGACY_MODULES:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                modules.append(importlib.import_module(name))
        except ImportError as exc:
            print("no %s in this interpreter: %s" % (name, exc), file=sys.stderr)
            return 3
    if argv[1] == "sim":
        import asyncore_sim

        users = [sys.modules[name] for name in ("smtpd",) if name in sys.modules]
        for mod in modules + users:
            for attr in ("asyncore", "asynchat"):
                got = getattr(mod, attr, None)
                want = getattr(asyncore_sim, attr)
                if got is not None and got is not want:
                    print("%s.%s is %r, not asyncore_sim's" % (mod.__name__, attr, got),
                          file=sys.stderr)
                    return 4
    suite = unittest.TestSuite()
    for mod in modules:
        suite.addTests(unittest.defaultTestLoader.loadTestsFromModule(mod))
    runner = unittest.TextTestRunner(stream=sys.stderr, resultclass=_Recorder,
                                     verbosity=0)
    result = runner.run(suite)
    print(json.dumps(result.outcomes, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
