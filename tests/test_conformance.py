"""CPython 3.11's own test_asyncore and test_asynchat, run against asyncore_sim.

The two test files, found on this machine (``cpython_conformance.find_tests``)
and copied at run time, run unmodified in a subprocess with the running
interpreter's ``test.support``, with ``asyncore``/``asynchat`` resolved to this
package.  Every test that passes against the stdlib must pass here, and the
skips must match.  The stdlib's outcomes are a live run where the interpreter
has the stdlib modules (3.11, which also runs the tests of the stdlib's
asyncore users), and on Python 3.12+ the outcomes recorded on 3.11 by
``tests/record_stdlib.py`` (``tests/data/cpython311_conformance.json``).
"""

from __future__ import annotations

import json
import os
from typing import Dict

import pytest
from cpython_conformance import ENV, MODULES, RECORDED, find_tests, run_subprocess
from stdlib_ref import LIVE

pytestmark = pytest.mark.network
#: Set by .ci/run: fail, rather than skip, when the tests cannot be found.
REQUIRE_ENV = "ASYNCORE_SIM_REQUIRE_CPYTHON_TESTS"


def _recorded() -> Dict[str, str]:
    with open(RECORDED, encoding="utf-8") as f:
        return json.load(f)["outcomes"]  # type: ignore[no-any-return]


def _core(outcomes: Dict[str, str]) -> Dict[str, str]:
    return {t: o for t, o in outcomes.items() if t.split(".")[0] in MODULES}


@pytest.fixture(scope="module")
def outcomes() -> Dict[str, Dict[str, str]]:
    where, looked = find_tests()
    if where is None:
        message = ("CPython 3.11's test_asyncore.py and test_asynchat.py not "
                   "found; looked in: %s. Set %s to a directory holding them, "
                   "or run `bash ci/cpython3.11-tests.sh`." % ("; ".join(looked), ENV))
        if os.environ.get(REQUIRE_ENV):  # .ci/run: a skip would hide the check
            pytest.fail(message)
        pytest.skip(message)
    stdlib = run_subprocess("stdlib", where) if LIVE else _recorded()
    return {"stdlib": stdlib, "sim": run_subprocess("sim", where)}


def test_every_stdlib_pass_passes_here(outcomes: Dict[str, Dict[str, str]]) -> None:
    stdlib, sim = outcomes["stdlib"], outcomes["sim"]
    passed = sorted(t for t, o in _core(stdlib).items() if o == "passed")
    assert len(passed) > 100, "suspiciously few CPython tests ran: %d" % len(passed)
    passed += sorted(t for t, o in stdlib.items() if o == "passed" and t not in passed)
    missing = [t for t in passed if sim.get(t) != "passed"]
    assert not missing, "pass on the stdlib but not here:\n" + "\n".join(
        "%s: %s" % (t, sim.get(t, "not run")) for t in missing
    )


def test_same_tests_and_same_skips(outcomes: Dict[str, Dict[str, str]]) -> None:
    stdlib, sim = outcomes["stdlib"], outcomes["sim"]
    assert sorted(stdlib) == sorted(sim)
    skips = {t: o for t, o in stdlib.items() if o.startswith("skipped")}
    assert {t: sim[t] for t in skips} == skips
    if LIVE:  # what 3.12+ compares with is what the stdlib does here
        assert _core(stdlib) == _recorded(), (
            "%s differs from a live run on the stdlib: re-record with "
            "`python tests/record_stdlib.py` on Python 3.11" % RECORDED.name)
