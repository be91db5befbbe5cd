"""``asyncore-sim sweep``: run tests under many seeds of random fault plans.

It runs pytest on the given tests with ``--sim-sweep=N`` (every test that
uses the ``sim_net`` fixture runs once per seed, each seed with its own
random fault plan), spread over the machine's cores by pytest-xdist when it
is installed, with a progress line while it runs.  Every failing seed's run
is written as a trace (``OUT/<module>/<test>/seed-<S>.trace``, OUT defaulting
to ``.asyncore-sim/sweeps``, which no test run reads).  ``asyncore-sim
promote TRACE`` copies a chosen one under ``traces/regressions/``: committed
there, it is a regression case that every ordinary pytest run replays.
The summary also lists every passing seed whose faults never fired (one
``UNFIRED`` line each: a seed whose plan outlasted the run tested less than
it says).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from typing import Any, List

__all__ = ["add_sweep_command", "add_promote_command", "sweep_argv", "SWEEP_DIR"]

#: Where a sweep writes its failing runs' traces by default: not collected.
SWEEP_DIR = os.path.join(".asyncore-sim", "sweeps")
REGRESSIONS_DIR = os.path.join("traces", "regressions")


def add_sweep_command(sub: Any) -> None:
    p = sub.add_parser(
        "sweep",
        help="run tests under N seeds of random fault plans (pytest-xdist)",
        description="Run the sim_net tests in TESTS once per seed S..S+N-1, "
        "each under the random fault plan drawn from its seed, spread over "
        "the cores with pytest-xdist. Each failing seed's trace is written "
        "to OUT/<module>/<test>/seed-<S>.trace (default OUT: "
        ".asyncore-sim/sweeps, which no test run reads); 'asyncore-sim promote "
        "TRACE' copies a chosen one under traces/regressions/, where every "
        "pytest run replays it. Each passing seed whose faults never fired gets "
        "an UNFIRED line in the summary. Exit status is pytest's (0: no seed "
        "failed, 1: some failed).",
        epilog="example: asyncore-sim sweep tests/test_echo.py --seeds 200 -n auto "
        "-- -x  (arguments after -- go to pytest); in a CI matrix of 4 jobs: "
        "sweep TESTS --seeds 1000 --shard K/4 --out OUT, then sweep --merge DIR "
        "over the gathered OUT folders",
    )
    p.add_argument(
        "tests", nargs="*", help="test files, directories or node ids"
    )
    p.add_argument(
        "--shard",
        metavar="K/M",
        help="run only the K-th of M equal parts of the seed range (a CI "
        "matrix of M jobs); writes OUT/shard-K-of-M.xml (JUnit) and .json",
    )
    p.add_argument(
        "--merge",
        metavar="DIR",
        help="instead of running, merge the shard summaries found under DIR "
        "into one report (exit 1 if any seed failed)",
    )
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
        default=SWEEP_DIR,
        metavar="DIR",
        help="where failing runs' traces go (default %s)" % SWEEP_DIR,
    )
    # Arguments after "--" go to pytest untouched (split off in __main__).
    p.set_defaults(func=cmd_sweep, pytest_args=[])


def _have_xdist() -> bool:
    return importlib.util.find_spec("xdist") is not None


def _check_arguments(ns: argparse.Namespace) -> None:
    from asyncore_sim.cli._errors import InputError

    if not ns.tests:
        raise InputError("sweep: give the tests to sweep (or --merge DIR)")
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
    start, seeds = ns.start, ns.seeds
    extra: List[str] = []
    if getattr(ns, "shard", None):
        from asyncore_sim.cli._errors import InputError
        from asyncore_sim.cli._shards import parse_shard, shard_files, shard_range

        k, total = parse_shard(ns.shard)
        start, seeds = shard_range(ns.start, ns.seeds, k, total)
        if seeds == 0:
            raise InputError(
                "sweep: shard %d/%d of %d seeds holds none: use at most %d shards"
                % (k, total, ns.seeds, ns.seeds)
            )
        junit, summary = shard_files(os.path.abspath(ns.out), k, total)
        extra = [
            "--junitxml=%s" % junit,
            "--sim-sweep-summary=%s" % summary,
            "--sim-sweep-shard=%d/%d" % (k, total),
        ]
    argv = [sys.executable, "-m", "pytest", *ns.tests]
    argv += [
        "--sim-sweep=%d" % seeds,
        "--sim-sweep-start=%d" % start,
        "--sim-trace-dir=%s" % os.path.abspath(ns.out),
        *extra,
        "-q",
        "--no-header",
        # The sweep's own summary lists each failure with its trace and
        # command; pytest's tracebacks for hundreds of seeds would bury it.
        "--tb=no",
        # ... and so would pytest's own list of the same failures.
        "-rN",
    ]
    if ns.jobs not in ("0", 0) and _have_xdist():
        argv += ["-n", str(ns.jobs)]
    return argv + list(ns.pytest_args)


def cmd_sweep(ns: argparse.Namespace) -> int:
    if getattr(ns, "merge", None):
        from asyncore_sim.cli._shards import cmd_merge

        return cmd_merge(ns.merge)
    argv = sweep_argv(ns)
    if ns.jobs not in ("0", 0) and not _have_xdist():
        print(
            "asyncore-sim sweep: pytest-xdist is not installed, running on one "
            "core (pip install 'asyncore-sim[sweep]')",
            file=sys.stderr,
        )
    print("running: %s" % " ".join(argv[1:]), flush=True)
    return subprocess.call(argv)


# -- promote: keep one failing run as a regression case --------------------------


def add_promote_command(sub: Any) -> None:
    p = sub.add_parser(
        "promote",
        help="keep a sweep's failing trace as a regression case",
        description="Copy TRACE (a sweep's OUT/<module>/<test>/seed-<S>.trace) "
        "to traces/regressions/<module>/<test>/seed-<S>.trace, where every "
        "ordinary pytest run replays it as test[regression-seed-S]. Review and "
        "commit it.",
    )
    p.add_argument("trace", help="a trace written by asyncore-sim sweep")
    p.add_argument(
        "--to",
        default=REGRESSIONS_DIR,
        metavar="DIR",
        help="the regressions folder (default %s)" % REGRESSIONS_DIR,
    )
    p.set_defaults(func=cmd_promote)


def cmd_promote(ns: argparse.Namespace) -> int:
    import shutil

    from asyncore_sim.cli._errors import InputError
    from asyncore_sim.trace import Trace

    path = os.path.abspath(ns.trace)
    trace = Trace.load(ns.trace)  # a corrupt trace is refused here
    parts = path.split(os.sep)
    if len(parts) < 3 or not parts[-1].startswith("seed-"):
        raise InputError(
            "%s: not a sweep trace (expected OUT/<module>/<test>/seed-<S>.trace)"
            % ns.trace
        )
    if "plan" not in trace.header:
        raise InputError("%s: no '# plan:' header: not a sweep trace" % ns.trace)
    dest = os.path.join(ns.to, parts[-3], parts[-2], parts[-1])
    if os.path.exists(dest):
        raise InputError("%s: already a regression case" % dest)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.copyfile(path, dest)
    print("promoted %s -> %s (review it, then commit it)" % (ns.trace, dest))
    return 0
