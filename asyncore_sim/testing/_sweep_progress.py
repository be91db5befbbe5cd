"""The progress of a fault sweep (``--sim-sweep``): a line every few seconds
while it runs, and at the end the failing seeds with their trace files,
diagrams and repro commands, the passing runs whose faults never fired, and
the summary file (``--sim-sweep-summary``) that ``sweep --merge`` combines.

A plugin object of its own, registered by ``pytest_plugin`` for a sweep; it
runs on the controller, with or without xdist.  Its clock is the runner's
(real) one: see ``fake_net/_world/_state.py``.

Rules: failures and unfired runs are listed sorted by test and seed, never
in the order workers finished them.
"""

from __future__ import annotations

import os
import re
import sys
import time
from typing import Any, List, Tuple

from asyncore_sim.testing import _pytest_checks as checks

__all__ = ["REGRESSIONS_DIR", "_SweepProgress"]

#: Where ``asyncore-sim promote`` keeps regression cases.
REGRESSIONS_DIR = os.path.join("traces", "regressions")


class _SweepProgress:
    """Prints how far a sweep has got (on the controller, with or without
    xdist), and lists the failing seeds with their trace files at the end."""

    def __init__(self, config: Any, seeds: int) -> None:
        self.config = config
        self.seeds = seeds
        self.total = 0
        self.done = 0
        self.failed: List[Tuple[str, ...]] = []
        self.unfired: List[Tuple[str, Any, str]] = []  # (nodeid, faults, "")
        self.start = time.monotonic()
        self.last_shown = -1.0
        self.tty = sys.stdout.isatty()

    def pytest_collection_finish(self, session: Any) -> None:
        self.total = len(session.items)

    def pytest_xdist_node_collection_finished(self, node: Any, ids: List[str]) -> None:
        self.total = max(self.total, len(ids))

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.passed and report.when == "call":
            for key, value in report.user_properties:
                if key == checks.UNFIRED_PROPERTY:
                    self.unfired.append((report.nodeid, value, ""))
        if report.failed and report.when in ("setup", "call"):
            found = {"trace": "", "diagram": "", "reproduce": ""}
            for title, text in report.sections:
                if title.endswith("asyncore-sim"):
                    for line in text.splitlines():
                        key, _, value = line.partition(": ")
                        if key in found and not found[key]:
                            found[key] = value
            self.failed.append(
                (report.nodeid, found["trace"], found["diagram"], found["reproduce"])
            )
        if report.when != "teardown":
            return
        self.done += 1
        now = time.monotonic()
        if self.done == self.total or now - self.last_shown >= (
            0.5 if self.tty else 5.0
        ):
            self.last_shown = now
            self._show(now)

    def _show(self, now: float) -> None:
        tr = self.config.pluginmanager.getplugin("terminalreporter")
        if tr is None:
            return
        text = "sweep: %d/%d runs, %d failing, %.1fs" % (
            self.done,
            self.total or self.done,
            len(self.failed),
            now - self.start,
        )
        tr.write_line(text)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        tr = terminalreporter
        tr.section("asyncore-sim sweep")
        tr.write_line(
            "%d runs, %d failing, %.1fs"
            % (self.done, len(self.failed), time.monotonic() - self.start)
        )
        for nodeid, trace, diagram, command in sorted(self.failed, key=_seed_order):
            tr.write_line("FAILED %s" % nodeid)
            if trace:
                tr.write_line("    trace: %s" % trace)
            if diagram:
                tr.write_line("    diagram: %s" % diagram)
            if command:
                tr.write_line("    reproduce: %s" % command)
        if self.failed:
            tr.write_line(
                "to keep one as a regression case: asyncore-sim promote TRACE "
                "(it goes under %s/; review and commit it)" % REGRESSIONS_DIR
            )
        if self.unfired:
            tr.write_line(
                "%d passing run%s had faults that never fired (they tested less "
                "than their plans say):"
                % (len(self.unfired), "" if len(self.unfired) == 1 else "s")
            )
        for nodeid, faults, _ in sorted(self.unfired, key=_seed_order):
            tr.write_line(checks.sweep_line(nodeid, faults))
        summary = self.config.getoption("sim_sweep_summary")
        if summary:
            self._write_summary(tr, summary)

    def _write_summary(self, tr: Any, path: str) -> None:
        from asyncore_sim.testing._sweep_summary import write_summary

        spec = self.config.getoption("sim_sweep_shard")
        shard = None
        if spec:
            k, _, m = spec.partition("/")
            shard = (int(k), int(m))
        try:
            write_summary(
                path,
                shard=shard,
                start=self.config.getoption("sim_sweep_start"),
                seeds=self.seeds,
                runs=self.done,
                failed=[(f[0], f[1], f[2], f[3]) for f in self.failed],
                unfired=[
                    (nodeid, checks.sweep_line(nodeid, faults))
                    for nodeid, faults, _ in self.unfired
                ],
            )
        except OSError as e:
            tr.write_line("sweep summary not written: %s: %s" % (path, e))
            return
        tr.write_line("sweep summary: %s" % os.path.relpath(path))


def _seed_order(failure: Tuple[str, ...]) -> Tuple[str, int]:
    m = re.search(r"^(.*)\[(?:.*-)?sim-seed-(\d+)(?:-.*)?\]$", failure[0])
    return (m.group(1), int(m.group(2))) if m else (failure[0], -1)
