"""Running handler code under a fault plan, for tests.

:func:`simulate` sets up one isolated, recorded run: a seeded
:class:`fake_net.FakeNetwork` carrying a :class:`fake_net.FaultPlan`, made
current, with the default socket map emptied for the run (and restored
afterwards), so ordinary asyncore programs that never pass ``map=`` run on
it unchanged::

    from asyncore_sim.testing import simulate
    from fake_net import FaultPlan, Match

    def test_echo():
        with simulate(FaultPlan(sends=(1,), match=Match(side="server"))) as sim:
            server = EchoServer(("localhost", 0))
            client = EchoClient(*server.address, message=b"hello")
            sim.run()                       # until the map empties or it goes quiet
        assert client.received == b"hello"

Every channel still open is closed when the block ends.  If the block fails
inside a pytest run with the asyncore-sim plugin, the run's trace is written
to a file and the failure report names the seed, the plan, the trace file
and the command that reproduces it (see :mod:`asyncore_sim.testing.pytest_plugin`).
Outside pytest, ``simulate(..., trace_on_failure="run.trace")`` does the same.

Faults that never fired: ``sim.unfired`` lists the faults of the run (the
plan's entries and any rule added to ``sim.net``) that never acted, each
with its reason (``fake_net.FakeNetwork.unfired_faults``); the pytest
plugin warns about them (:class:`UnfiredFaultWarning`).

A determinism check: a ``with`` block runs once, so the check takes the
block as a function.  ``simulate(plan, check_determinism=True)(body)`` runs
``body(sim)`` on a fresh network, then again on another fresh network with
the same seed and plan, compares the two traces, and raises
:class:`NonDeterministicRun` with the first difference (or if the second
run raises where the first did not); it returns what the first run
returned::

    def body(sim):
        server = EchoServer(("localhost", 0))
        client = EchoClient(*server.address, message=b"hello")
        sim.run()
        return client.received

    assert simulate(plan, check_determinism=True)(body) == b"hello"
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

from asyncore_sim.trace import Recorder, Trace, first_difference, format_difference

__all__ = [
    "NonDeterministicRun",
    "Sim",
    "SimulationDidNotSettle",
    "UnfiredFaultWarning",
    "compare_runs",
    "simulate",
]


class SimulationDidNotSettle(AssertionError):
    """:meth:`Sim.run` used up its iterations before the run settled."""


class NonDeterministicRun(AssertionError):
    """Two runs with the same seed and plan, on fresh networks, differ."""


class UnfiredFaultWarning(UserWarning):
    """A simulated test's faults never fired: it tested less than it says
    (pytest: ``--sim-strict-faults`` makes it a failure)."""


# Real time, for runs on real sockets: taken at import, before any simulated
# world can replace time.monotonic.
_real_clock = time.monotonic

#: Iterations without I/O (nothing scheduled) after which a run that keeps
#: finding something ready counts as settled: it is a busy loop.
SPIN_ITERATIONS = 100

#: Set by the pytest plugin around each test: told of every Sim entered
#: (``"start"``) and of every Sim whose block raised (``"fail"``), so the
#: failure report can write the failing run's trace.  None outside pytest.
_observer: Optional[Callable[[str, "Sim"], None]] = None


class Sim:
    """One run on a simulated network (made by :func:`simulate`)."""

    def __init__(
        self,
        plan: Any = None,
        *,
        seed: int = 0,
        network: Any = None,
        record: bool = True,
        trace_on_failure: Optional[str] = None,
        header: Optional[Dict[str, str]] = None,
        check_determinism: bool = False,
        drawn: bool = False,
    ) -> None:
        from fake_net import FaultPlan

        if plan is None:
            plan = FaultPlan()
        elif not isinstance(plan, FaultPlan):
            raise TypeError("plan must be a fake_net.FaultPlan, not %r" % (plan,))
        if check_determinism and network is not None:
            raise ValueError(
                "simulate(check_determinism=True) makes a fresh network for each "
                "run: it cannot be given network="
            )
        self.plan = plan
        self.seed = seed
        #: Checked by calling the Sim with the body (see the module doc).
        self.check_determinism = check_determinism
        #: The plan was drawn (from a seed), not written by the test: the
        #: plugin does not warn about its unfired entries (see ``unfired``).
        self.drawn = drawn
        #: Made inside a Hypothesis example (whose plans are drawn too).
        self.in_example = _in_hypothesis_example()
        if network is None:
            # One run, one network: its seed fixes its random source, so it
            # is not registered with Hypothesis (that costs a gc.collect()).
            network = plan.network(seed=seed, register_random=False)
            first_rule = 0
        else:
            first_rule = len(getattr(network, "faults", ()))
            if plan:
                plan.install(network)
        self.net = network
        #: The indexes in ``net.faults`` of the rules the plan installed.
        self.plan_rules = range(first_rule, len(getattr(network, "faults", ())))
        #: The other run of a determinism check (the first run's ``second``,
        #: the second run's ``first``), else None.
        self.first: Optional[Sim] = None
        self.second: Optional[Sim] = None
        self._header = dict(header or {})
        record = record or check_determinism
        head = {"seed": str(seed), "plan": plan.to_json()}
        head.update(header or {})
        self.recorder: Optional[Recorder] = (
            Recorder(network, header=head) if record else None
        )
        self.trace_on_failure = trace_on_failure
        self.error: Optional[BaseException] = None
        self.trace_path: Optional[str] = None
        self._saved: Optional[Dict[Any, Any]] = None
        self._calling = False

    def __repr__(self) -> str:
        return "<Sim seed=%d %r>" % (self.seed, self.plan)

    # -- the run ------------------------------------------------------------

    @property
    def map(self) -> Dict[Any, Any]:
        """The socket map of the run: the default one, emptied for it."""
        from asyncore_sim import asyncore as core

        return core.socket_map

    @property
    def trace(self) -> Trace:
        if self.recorder is None:
            raise RuntimeError("this run is not recorded (simulate(record=False))")
        return self.recorder.trace

    def run(
        self,
        *,
        until: Optional[Callable[[], bool]] = None,
        timeout: float = 1.0,
        use_poll: Any = False,
        max_iterations: int = 20_000,
        max_seconds: float = 60.0,
    ) -> int:
        """Run the loop until the map is empty, ``until()`` is true, or the
        network settles: quiet (nothing ready, nothing scheduled), or
        spinning (``SPIN_ITERATIONS`` iterations in a row without any I/O
        while nothing is scheduled: a busy loop that can change nothing).
        On real sockets (``any_net``'s real arm) quiet means one iteration
        whose wait found nothing ready in ``timeout`` seconds and did no I/O,
        and ``max_seconds`` of real time bound the whole run.
        Return the number of iterations; :class:`SimulationDidNotSettle`
        after ``max_iterations`` (or ``max_seconds`` on real sockets)."""
        from asyncore_sim import asyncore as core

        m = core.socket_map
        net = self.net
        simulated = hasattr(net, "activity")
        started = _real_clock()
        still = 0
        for i in range(max_iterations):
            if not m or (until is not None and until()):
                return i
            before = net.activity if simulated else len(self._events())
            began = _real_clock()
            core.loop(timeout=timeout, use_poll=use_poll, map=m, count=1)
            if not simulated:
                if self._real_iteration_was_quiet(before, began, timeout):
                    return i + 1
                if _real_clock() - started > max_seconds:
                    raise SimulationDidNotSettle(
                        "the run on real sockets did not settle within %g s "
                        "(max_seconds): something stays ready, or a peer keeps "
                        "sending" % max_seconds
                    )
                continue
            if net.idle > 0:
                return i + 1
            if net.activity == before and not net.scheduled:
                still += 1
                if still >= SPIN_ITERATIONS:
                    return i + 1
            else:
                still = 0
        raise SimulationDidNotSettle(
            "the run did not settle within %d iterations (plan %r, seed %d)\n%s"
            % (max_iterations, self.plan, self.seed, _netstat(net))
        )

    def _events(self) -> List[Any]:
        return self.recorder.events if self.recorder is not None else []

    def _real_iteration_was_quiet(
        self, before: int, began: float, timeout: float
    ) -> bool:
        """On real sockets: did the last iteration wait out its timeout with
        nothing ready and no I/O?"""
        if self.recorder is not None:
            new = self._events()[before:]
            waits = [e for e in new if e.kind == "wait"]
            others = [e for e in new if e.kind not in ("wait", "readable", "writable")]
            return bool(waits) and not others and all(
                e.result == ("0",) for e in waits
            )
        # Unrecorded: only the clock can tell that the wait ran its course.
        return _real_clock() - began >= 0.9 * timeout

    # -- activation ---------------------------------------------------------

    def __enter__(self) -> "Sim":
        from asyncore_sim import asyncore as core

        if self.check_determinism and not self._calling:
            raise TypeError(
                "simulate(check_determinism=True) runs its body twice, and a with "
                "block runs once: pass the body as a function, "
                "simulate(plan, check_determinism=True)(body) calls body(sim)"
            )
        self._saved = dict(core.socket_map)
        core.socket_map.clear()
        if self.recorder is not None:
            self.recorder.__enter__()
        else:
            self.net.__enter__()
        if _observer is not None:
            _observer("start", self)
        return self

    def __exit__(self, etype: Any, exc: Any, tb: Any) -> None:
        from asyncore_sim import asyncore as core

        try:
            core.close_all(ignore_all=True)
        finally:
            if self.recorder is not None:
                self.recorder.__exit__(etype, exc, tb)
            else:
                self.net.__exit__(etype, exc, tb)
            core.socket_map.clear()
            core.socket_map.update(self._saved or {})
        if exc is not None and not isinstance(exc, (GeneratorExit, KeyboardInterrupt)):
            self.failed(exc)

    def __call__(self, body: Callable[["Sim"], Any]) -> Any:
        """Run ``body(sim)`` as the block of ``with sim:`` and return what it
        returns; with ``check_determinism``, then run it again on a fresh
        network with the same seed and plan and compare the traces
        (:class:`NonDeterministicRun` at the first difference)."""
        self._calling = True
        try:
            with self:
                result = body(self)
        finally:
            self._calling = False
        if self.check_determinism:
            self._run_again(body)
        return result

    def _run_again(self, body: Callable[["Sim"], Any]) -> None:
        again = Sim(self.plan, seed=self.seed, header=self._header, drawn=self.drawn)
        again.first, self.second = self, again
        try:
            again(body)
        except Exception as e:
            err = NonDeterministicRun(
                "not deterministic: the first run (seed %d, plan %r) passed, the "
                "second, on a fresh network, raised %s: %s"
                % (self.seed, self.plan, type(e).__name__, e)
            )
            self.failed(err)
            raise err from e
        text = compare_runs(self.trace, again.trace) or compare_event_lines(
            network_events(self), network_events(again)
        )
        if text is not None:
            err = NonDeterministicRun(
                "not deterministic: two runs with seed %d and plan %r, each on a "
                "fresh network, differ\n%s" % (self.seed, self.plan, text)
            )
            self.failed(err)
            raise err

    @property
    def unfired(self) -> List[Any]:
        """The faults of this run that never fired (so far), with their
        reasons: ``fake_net.UnfiredFault`` values from the network's
        ``unfired_faults()`` (empty on a network without fault rules)."""
        fn = getattr(self.net, "unfired_faults", None)
        return list(fn()) if fn is not None else []

    def failed(self, exc: BaseException) -> None:
        """Note that the run failed with ``exc`` (done by ``with``)."""
        self.error = exc
        if self.trace_on_failure and self.recorder is not None:
            self.save_trace(self.trace_on_failure)
        if _observer is not None:
            _observer("fail", self)

    def save_trace(self, path: str) -> str:
        """Write the run's trace to ``path`` (directories are created)."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.trace.save(path)
        self.trace_path = path
        return path

    def describe(self) -> List[str]:
        """Lines for a failure report: the seed and the plan, in words."""
        lines = ["seed: %d" % self.seed, "plan: %r" % (self.plan,)]
        lines.extend("  - " + line for line in self.plan.describe())
        return lines


def simulate(
    plan: Any = None,
    *,
    seed: int = 0,
    network: Any = None,
    record: bool = True,
    trace_on_failure: Optional[str] = None,
    check_determinism: bool = False,
    drawn: bool = False,
) -> Sim:
    """One isolated run under ``plan`` (a :class:`fake_net.FaultPlan`; None
    for no faults) on ``network`` (default: ``plan.network(seed=seed)``).
    Use it with ``with``, or call it with the body as a function (needed for
    ``check_determinism``, which also records); see the module docstring.
    ``drawn=True`` says the plan was drawn (``FaultPlan.random``, a
    strategy), not written: the pytest plugin does not warn when its entries
    never fire (``sim.unfired`` still lists them)."""
    return Sim(
        plan,
        seed=seed,
        network=network,
        record=record,
        trace_on_failure=trace_on_failure,
        check_determinism=check_determinism,
        drawn=drawn,
    )


def compare_runs(
    first: Trace,
    second: Trace,
    names: Sequence[str] = ("first run", "second run"),
) -> Optional[str]:
    """None if the two traces have the same events (times included), else
    the first difference, readable (``asyncore_sim.trace.format_difference``)."""
    diff = first_difference(first.events, second.events)
    if diff is None:
        return None
    return format_difference(diff, first.events, second.events, 3, *names)


def network_events(sim: Sim) -> Optional[List[str]]:
    """Every event the run's simulated network logged, one line each (the
    calls no recorder sees too: a world's stdlib clients, direct calls on
    ``sim.net``); None on a network without a log."""
    lines = getattr(sim.net, "event_lines", None)
    if lines is None or not getattr(sim.net, "record", False):
        return None
    return list(lines())


def compare_event_lines(
    first: Optional[Sequence[str]],
    second: Optional[Sequence[str]],
    names: Sequence[str] = ("first run", "second run"),
    context: int = 3,
) -> Optional[str]:
    """None if the two networks' event logs are the same (or either has
    none), else where they first differ, with ``context`` lines around."""
    if first is None or second is None:
        return None
    n = min(len(first), len(second))
    i = next((k for k in range(n) if first[k] != second[k]), n)
    if i == n and len(first) == len(second):
        return None
    if i < n:
        head = "network event %d differs" % i
    else:
        longer = names[1] if len(second) > len(first) else names[0]
        head = "network event %d: the %s has more events" % (i, longer)
    out = [head, "--- %s (the network's own log)" % names[0], "+++ %s" % names[1]]
    out += ["  %5d  %s" % (k, first[k]) for k in range(max(0, i - context), i)]
    out += ["- %5d  %s" % (k, first[k]) for k in range(i, min(len(first), i + 1))]
    out += ["+ %5d  %s" % (k, second[k]) for k in range(i, min(len(second), i + 1))]
    return "\n".join(out) + "\n"


def _in_hypothesis_example() -> bool:
    hypothesis = sys.modules.get("hypothesis")
    check = getattr(hypothesis, "currently_in_test_context", None)
    return bool(check is not None and check())


def _netstat(net: Any) -> str:
    fn = getattr(net, "netstat", None)
    return fn() if fn is not None else ""
