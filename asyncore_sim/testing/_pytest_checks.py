"""The pytest plugin's two checks on simulated tests (issue 14, items 11-12).

Fault coverage
    After a test's call, every fault of its simulated runs (``sim_net``,
    ``any_net``'s fake arm, ``simulate()`` blocks) that never fired is an
    :class:`~asyncore_sim.testing.UnfiredFaultWarning`, one per test, placed
    at the test's ``def`` line; ``--sim-strict-faults`` (ini
    ``sim_strict_faults = true``) makes it a failure that names the faults.
    Not reported: the entries of a plan drawn from a seed (``--sim-faults``,
    sweeps, regression cases: nobody wrote them, and a drawn script often
    outlasts the run), which a sweep lists instead, one line per passing
    seed; and runs inside a Hypothesis example, whose plans are drawn too.
    A test that failed is not warned about (its run may have stopped early);
    its failure report lists the unfired faults.

Determinism
    ``--sim-check-determinism`` (ini ``sim_check_determinism = true``) runs
    each test that made a simulated run a second time, setup to teardown
    (function-scoped fixtures afresh; wider ones as pytest keeps them), and
    compares each simulated run's trace with the same run's of the first
    time.  A difference, or a second run that fails where the first passed,
    fails the test with the first differing event, both traces written out
    and the command that reproduces it.  Tests on real sockets (``any_net``'s
    real arm) and Hypothesis tests (which replay their own examples and
    report a flaky one) are run once.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable, List, Optional, Sequence, Tuple

import pytest

from asyncore_sim.testing import _simulate as testing
from asyncore_sim.trace import Trace

__all__ = [
    "check_unfired",
    "run_twice",
    "simulated_runs",
    "sweep_line",
    "unfired_texts",
]

#: A pass's simulated runs: (what each is, in words; its trace, if recorded;
#: its network's own event log, if it keeps one).
Runs = List[Tuple[str, Optional[Trace], Optional[List[str]]]]

#: The user property a sweep's summary reads (it travels from xdist workers).
UNFIRED_PROPERTY = "asyncore_sim_unfired"


def unfired_texts(sims: Sequence[testing.Sim]) -> Tuple[List[str], List[str]]:
    """(faults the tests wrote, entries of drawn plans) that never fired, as
    lines; runs inside Hypothesis examples and second runs are left out."""
    written: List[str] = []
    drawn: List[str] = []
    runs = [s for s in sims if not s.in_example and s.first is None]
    for k, sim in enumerate(runs):
        for u in sim.unfired:
            text = str(u) if len(runs) == 1 else "run %d: %s" % (k + 1, u)
            (drawn if sim.drawn and u.rule in sim.plan_rules else written).append(text)
    return written, drawn


def check_unfired(
    item: Any, sims: Sequence[testing.Sim], strict: bool, sweeping: bool
) -> None:
    """Warn (or, ``strict``, fail) about the faults of ``item``'s passing
    call that never fired; in a sweep, keep every unfired fault for its
    summary line."""
    written, drawn = unfired_texts(sims)
    if sweeping and (written or drawn):
        item.user_properties.append((UNFIRED_PROPERTY, written + drawn))
    if not written:
        return
    listing = "".join("\n    %s" % t for t in written)
    if strict:
        pytest.fail(
            "--sim-strict-faults: %d fault%s never fired (the test tested less "
            "than it says):%s" % (len(written), _s(len(written)), listing),
            pytrace=False,
        )
    line = item.location[1] if item.location[1] is not None else 0
    warnings.warn_explicit(
        testing.UnfiredFaultWarning(
            "%d fault%s never fired in %s (it tested less than it says; "
            "--sim-strict-faults makes this a failure):%s"
            % (len(written), _s(len(written)), item.nodeid, listing)
        ),
        testing.UnfiredFaultWarning,
        str(item.path),
        line + 1,
    )


def sweep_line(nodeid: str, faults: Sequence[str], shown: int = 3) -> str:
    """The sweep summary's line for one passing seed: how many of its faults
    never fired, and the first ``shown`` of them."""
    more = len(faults) - shown
    return "UNFIRED %s: %d fault%s never fired: %s%s" % (
        nodeid,
        len(faults),
        _s(len(faults)),
        "; ".join(faults[:shown]),
        "; and %d more" % more if more > 0 else "",
    )


# -- determinism ------------------------------------------------------------------


def simulated_runs(sims: Sequence[testing.Sim], golden: Any) -> Optional[Runs]:
    """The recorded simulated runs of one pass of a test, in order, or None
    when the test is not to be run twice (no simulated run, a run on real
    sockets or inside a Hypothesis example)."""
    runs: Runs = []
    recorders = []
    for sim in sims:
        if sim.in_example or getattr(sim.net, "name", "") == "real":
            return None
        trace = sim.trace if sim.recorder is not None else None
        recorders.append(sim.recorder)
        what = "seed %d, plan %r" % (sim.seed, sim.plan)
        runs.append((what, trace, testing.network_events(sim)))
    recorder = getattr(golden, "recorder", None)
    if recorder is not None and all(r is not recorder for r in recorders):
        if getattr(recorder.inner, "name", "") == "real":
            return None
        runs.append(("the golden_trace recording", recorder.trace, None))
    return runs or None


def run_twice(
    item: Any,
    nextitem: Any,
    collect: Callable[[Any], Optional[Runs]],
    forget: Callable[[Any], None],
    trace_path: Callable[[Any], str],
) -> None:
    """pytest's runtest protocol for ``item``, run a second time when the
    first pass passed and made simulated runs (``collect``); ``forget``
    clears what a pass left on the item; the reports are logged once."""
    from _pytest.runner import runtestprotocol

    ihook = item.ihook
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    properties = list(item.user_properties)
    reports = runtestprotocol(item, nextitem=nextitem, log=False)
    first = collect(item)
    if first is not None and all(
        r.passed and not hasattr(r, "wasxfail") for r in reports
    ):
        forget(item)
        item.user_properties[:] = properties
        item._asyncore_sim_second_run = True
        try:
            again = runtestprotocol(item, nextitem=nextitem, log=False)
            second = collect(item) or []
        finally:
            del item._asyncore_sim_second_run
        reports = _judge(item, reports, again, first, second, trace_path)
    for report in reports:
        ihook.pytest_runtest_logreport(report=report)
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)


def _judge(
    item: Any,
    first_reports: List[Any],
    second_reports: List[Any],
    first: Runs,
    second: Runs,
    trace_path: Callable[[Any], str],
) -> List[Any]:
    command = "reproduce: python -m pytest %s --sim-check-determinism" % item.nodeid
    if any(r.failed for r in second_reports):
        for r in second_reports:
            if r.failed:
                r.sections.append(
                    (
                        "asyncore-sim determinism",
                        "not deterministic: the first run of this test passed; "
                        "this second run (same seeds and plans, fresh networks) "
                        "failed\n" + command,
                    )
                )
        return second_reports
    text = _difference(item, first, second, trace_path)
    if text is None:
        return first_reports
    for r in first_reports:
        if r.when == "call":
            r.outcome = "failed"
            r.longrepr = text + "\n" + command
    return first_reports


def _difference(
    item: Any, first: Runs, second: Runs, trace_path: Callable[[Any], str]
) -> Optional[str]:
    head = (
        "not deterministic: a second run of this test (same seeds and plans, "
        "fresh networks) differs from the first"
    )
    if len(first) != len(second):
        return "%s\nthe first made %d simulated run%s, the second %d" % (
            head,
            len(first),
            _s(len(first)),
            len(second),
        )
    for k, ((what, a, a_log), (_, b, b_log)) in enumerate(zip(first, second)):
        text = None
        if a is not None and b is not None:
            text = testing.compare_runs(a, b)
        files: Tuple[Any, Any, str, str] = (a, b, ".trace", "asyncore-sim diff")
        if text is None:
            text = testing.compare_event_lines(a_log, b_log)
            files = (a_log, b_log, ".events", "diff -u")
        if text is None:
            continue
        lines = [
            head,
            "simulated run %d of %d (%s):" % (k + 1, len(first), what),
            text.rstrip("\n"),
        ]
        base = os.path.splitext(trace_path(item))[0]
        if len(first) > 1:
            base += "-run%d" % (k + 1)
        lines.extend(_write_both(base, *files))
        return "\n".join(lines)
    return None


def _write_both(base: str, a: Any, b: Any, ext: str, tool: str) -> List[str]:
    """Write the two runs' traces (or event logs) next to each other; the
    lines that say where."""
    paths = []
    for which, run in (("first", a), ("second", b)):
        path = "%s.%s%s" % (base, which, ext)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if isinstance(run, Trace):
                run.save(path)
            else:
                with open(path, "w", encoding="utf-8") as f:
                    f.write("".join(line + "\n" for line in run))
            paths.append(os.path.relpath(path))
        except OSError as e:
            return ["traces: not written (%s)" % e]
    return [
        "%s: %s %s" % ("traces" if ext == ".trace" else "logs", paths[0], paths[1]),
        "compare: %s %s %s" % (tool, paths[0], paths[1]),
    ]


def _s(n: int) -> str:
    return "" if n == 1 else "s"
