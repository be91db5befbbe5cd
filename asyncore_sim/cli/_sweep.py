"""``asyncore-sim sweep``: run tests under many seeds of random fault plans.

It runs pytest on the given tests with ``--sim-sweep=N`` (every test that
uses the ``sim_net`` fixture runs once per seed, each seed with its own
random fault plan), spread over the machine's cores by pytest-xdist when it
is installed, with a progress line while it runs.  Every failing seed's run
is written as a trace (``OUT/<module>/<test>/seed-<S>.trace``, OUT defaulting
to ``traces/regressions``): commit one and it becomes a regression case that
every ordinary pytest run replays.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from typing import Any, List

__all__ = ["add_sweep_command", "sweep_argv"]


def add_sweep_command(sub: Any) -> None:
    p = sub.add_parser(
        "sweep",
        help="run tests under N seeds of random fault plans (pytest-xdist)",
        description="Run the sim_net tests in TESTS once per seed S..S+N-1, "
        "each under the random fault plan drawn from its seed, spread over "
        "the cores with pytest-xdist. Each failing seed's trace is written "
        "to OUT/<module>/<test>/seed-<S>.trace; committed under "
        "traces/regressions/ it is replayed by every pytest run. Exit status "
        "is pytest's (0: no seed failed, 1: some failed).",
        epilog="example: asyncore-sim sweep tests/test_echo.py --seeds 200 -n auto "
        "-- -x  (arguments after -- go to pytest)",
    )
    p.add_argument("tests", nargs="+", help="test files, directories or node ids")
    p.add_argument(
        "--seeds", type=int, default=100, metavar="N", help="how many (default 100)"
    )
    p.add_argument(
        "--start", type=int, default=0, metavar="S", help="first seed (default 0)"
    )
    p.add_argument(
        "-n",
        "--jobs",
        default="auto",
        metavar="N|auto",
        help="pytest-xdist workers (default auto: one per core; 0: no xdist)",
    )
    p.add_argument(
        "--out",
        default=os.path.join("traces", "regressions"),
        metavar="DIR",
        help="where failing runs' traces go (default traces/regressions)",
    )
    # Arguments after "--" go to pytest untouched (split off in __main__).
    p.set_defaults(func=cmd_sweep, pytest_args=[])


def _have_xdist() -> bool:
    return importlib.util.find_spec("xdist") is not None


def _check_arguments(ns: argparse.Namespace) -> None:
    from asyncore_sim.cli._errors import InputError

    if ns.seeds < 1:
        raise InputError("sweep: --seeds must be >= 1, got %d" % ns.seeds)
    if ns.start < 0:
        raise InputError("sweep: --start must be >= 0, got %d" % ns.start)
    if not (ns.jobs == "auto" or str(ns.jobs).isdigit()):
        raise InputError("sweep: -n must be a number >= 0 or auto, got %r" % ns.jobs)
    for test in ns.tests:
        path = test.split("::", 1)[0]
        if not os.path.exists(path):
            raise InputError("%s: no such test file or folder" % path)


def sweep_argv(ns: argparse.Namespace) -> List[str]:
    """The pytest command line the sweep runs."""
    _check_arguments(ns)
    argv = [sys.executable, "-m", "pytest", *ns.tests]
    argv += [
        "--sim-sweep=%d" % ns.seeds,
        "--sim-sweep-start=%d" % ns.start,
        "--sim-trace-dir=%s" % os.path.abspath(ns.out),
        "-q",
        "--no-header",
        # The sweep's own summary lists each failure with its trace and
        # command; pytest's tracebacks for hundreds of seeds would bury it.
        "--tb=no",
    ]
    if ns.jobs not in ("0", 0) and _have_xdist():
        argv += ["-n", str(ns.jobs)]
    return argv + list(ns.pytest_args)


def cmd_sweep(ns: argparse.Namespace) -> int:
    argv = sweep_argv(ns)
    if ns.jobs not in ("0", 0) and not _have_xdist():
        print(
            "asyncore-sim sweep: pytest-xdist is not installed, running on one "
            "core (pip install 'asyncore-sim[sweep]')",
            file=sys.stderr,
        )
    print("running: %s" % " ".join(argv[1:]), flush=True)
    return subprocess.call(argv)
