"""pytest plugin (loaded automatically once asyncore-sim is installed).

Fixture ``golden_trace``: record a test's run and compare it with its golden
trace file, ``traces/<test file>/<test name>.trace`` under the rootdir::

    def test_echo(golden_trace):
        net = FakeNetwork(seed=1)
        with golden_trace.record(net) as rec:
            EchoServer(map=rec.map()); ...
            asyncore_sim.loop(map=rec.map(), timeout=1)
        golden_trace.check()          # also done at teardown if forgotten

``pytest --sim-rewrite-goldens`` writes the golden files from this run
instead of comparing (review the diff before committing).  A mismatch
fails with the first differing event, its byte offset and a diff; a
missing golden fails and says how to create it.
"""

from __future__ import annotations

import os
import re
from typing import Any, Iterator, Optional

import pytest

from asyncore_sim.trace import Recorder, Trace, first_difference, format_difference

__all__ = ["GoldenTrace"]


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("asyncore-sim")
    group.addoption(
        "--sim-rewrite-goldens",
        action="store_true",
        default=False,
        help="asyncore-sim: write golden traces from this run instead of comparing",
    )


class GoldenTrace:
    """What the ``golden_trace`` fixture gives a test."""

    def __init__(self, path: str, rewrite: bool, nodeid: str) -> None:
        self.path = path
        self.rewrite = rewrite
        self.nodeid = nodeid
        self.recorder: Optional[Recorder] = None
        self.checked = False

    def record(self, network: Any = None) -> Recorder:
        """A :class:`Recorder` on ``network`` (use it with ``with``)."""
        if self.recorder is not None:
            raise RuntimeError("golden_trace.record() was already called in this test")
        self.recorder = Recorder(network, header={"test": self.nodeid})
        return self.recorder

    @property
    def trace(self) -> Trace:
        if self.recorder is None:
            raise RuntimeError("nothing recorded: call golden_trace.record(net) first")
        return self.recorder.trace

    def check(self) -> None:
        """Compare the recording with the golden file (or write it)."""
        self.checked = True
        trace = self.trace
        if self.rewrite:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            trace.save(self.path)
            return
        if not os.path.exists(self.path):
            pytest.fail(
                "no golden trace at %s\ncreate it on purpose with:\n"
                "    pytest --sim-rewrite-goldens '%s'\nthen review and commit it"
                % (self.path, self.nodeid),
                pytrace=False,
            )
        golden = Trace.load(self.path)
        diff = first_difference(golden.events, trace.events)
        if diff is not None:
            pytest.fail(
                "the run differs from its golden trace %s\n%s"
                "if the change is intended: pytest --sim-rewrite-goldens '%s'"
                % (
                    self.path,
                    format_difference(
                        diff, golden.events, trace.events, 3, "golden", "this run"
                    ),
                    self.nodeid,
                ),
                pytrace=False,
            )


def _golden_path(request: Any) -> str:
    root = str(request.config.rootpath)
    module = os.path.splitext(os.path.basename(str(request.node.path)))[0]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")
    return os.path.join(root, "traces", module, name + ".trace")


@pytest.fixture
def golden_trace(request: Any) -> Iterator[GoldenTrace]:
    """Record this test's run and compare it with its golden trace."""
    g = GoldenTrace(
        _golden_path(request),
        bool(request.config.getoption("sim_rewrite_goldens")),
        request.node.nodeid,
    )
    yield g
    if g.recorder is not None and not g.checked:
        g.check()
