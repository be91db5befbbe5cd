"""CPython 3.11's own test_asyncore and test_asynchat, run against asyncore_sim.

The interpreter's tests run unmodified in a subprocess, once with the stdlib
modules and once with ``asyncore``/``asynchat`` resolved to this package; every
test that passes against the stdlib must pass here, and skips must match.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

RUNNER = Path(__file__).with_name("cpython_conformance.py")
pytestmark = pytest.mark.network


def _run(which: str) -> Dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, str(RUNNER), which],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=os.environ.get("TMPDIR", "/tmp"),
    )
    if proc.returncode == 3:
        pytest.skip("the interpreter has no CPython asyncore tests: "
                    + proc.stderr.strip())
    assert proc.returncode == 0, "%s run failed:\n%s" % (which, proc.stderr[-4000:])
    last = proc.stdout.strip().splitlines()[-1]
    return json.loads(last)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def outcomes() -> Dict[str, Dict[str, str]]:
    return {"stdlib": _run("stdlib"), "sim": _run("sim")}


def test_every_stdlib_pass_passes_here(outcomes: Dict[str, Dict[str, str]]) -> None:
    stdlib, sim = outcomes["stdlib"], outcomes["sim"]
    passed = sorted(t for t, o in stdlib.items() if o == "passed")
    assert len(passed) > 100, "suspiciously few CPython tests ran: %d" % len(passed)
    missing = [t for t in passed if sim.get(t) != "passed"]
    assert not missing, "pass on the stdlib but not here:\n" + "\n".join(
        "%s: %s" % (t, sim.get(t, "not run")) for t in missing
    )


def test_same_tests_and_same_skips(outcomes: Dict[str, Dict[str, str]]) -> None:
    stdlib, sim = outcomes["stdlib"], outcomes["sim"]
    assert sorted(stdlib) == sorted(sim)
    skips = {t: o for t, o in stdlib.items() if o.startswith("skipped")}
    assert {t: sim[t] for t in skips} == skips
