"""pytest plugin (loaded automatically once asyncore-sim is installed).

Fixtures
    ``sim_net``: a :class:`asyncore_sim.testing.Sim` on a seeded
    ``fake_net.FakeNetwork``, already active: dispatchers created on the
    default map use it, ``sim_net.run()`` runs the loop until the run
    settles, ``sim_net.net`` is the network, ``sim_net.trace`` the run's
    trace.  Its seed is ``--sim-seed`` (default 0).  Its fault plan is
    empty, unless ``--sim-faults`` (or a sweep) asks for a random plan drawn
    from the seed; ``@pytest.mark.sim_faults(closes=False, ...)`` says which
    faults the test tolerates (keywords of ``fake_net.FaultPlan.random``).

    ``any_net``: the same, run once on the simulated network and once on the
    operating system's loopback (``real_net``), so one test body checks
    that the simulator predicts the kernel.  Select the arms with the
    markers: ``-m fake_net`` or ``-m real_net`` (``sim_net`` tests carry
    ``fake_net`` too).

    ``golden_trace``: record a test's run and compare it with its golden
    trace ``traces/<test file>/<test name>.trace`` (``--sim-rewrite-goldens``
    writes them instead).

On failure
    A test that fails while using ``sim_net``/``any_net`` or inside
    ``asyncore_sim.testing.simulate()`` gets an "asyncore-sim" report
    section: the seed, the fault plan (in words), the trace file written for
    the failing run (under ``--sim-trace-dir``, default
    ``.asyncore-sim/failures``) and the one command that reproduces it.

Sweeps (``asyncore-sim sweep``, or by hand)
    ``--sim-sweep=N [--sim-sweep-start=S]`` runs every ``sim_net`` test once
    per seed S..S+N-1, each with the random fault plan of its seed; spread
    it with pytest-xdist (``-n auto``).  Each failing seed's trace is written
    to ``--sim-trace-dir/<module>/<test>/seed-<S>.trace``.  Committed under
    ``traces/regressions/``, such a file is a regression case: every normal
    run re-runs the test with that seed and plan (``[regression-seed-S]``).

Faults that never fired, and determinism (:mod:`._pytest_checks`)
    A simulated test whose faults never fired gets an ``UnfiredFaultWarning``
    (``--sim-strict-faults`` or ini ``sim_strict_faults``: a failure); a
    sweep lists, per passing seed, the drawn plan's entries that never fired.
    ``--sim-check-determinism`` (ini ``sim_check_determinism``) runs each
    simulated test twice and fails it at the first difference of the traces.
"""

from __future__ import annotations

import os
import random
import re
from typing import Any, Iterator, List, Optional, Tuple

import attrs
import pytest

from asyncore_sim.testing import _pytest_checks as checks
from asyncore_sim.testing import _simulate as testing
from asyncore_sim.testing._sweep_progress import REGRESSIONS_DIR, _SweepProgress
from asyncore_sim.trace import Recorder, Trace, first_difference, format_difference

__all__ = ["GoldenTrace", "SimCase", "UnfiredFaultWarning"]

UnfiredFaultWarning = testing.UnfiredFaultWarning

#: Where committed regression cases live, under the rootdir.
DEFAULT_TRACE_DIR = os.path.join(".asyncore-sim", "failures")


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("asyncore-sim")
    group.addoption(
        "--sim-rewrite-goldens",
        action="store_true",
        default=False,
        help="asyncore-sim: write golden traces from this run instead of comparing",
    )
    group.addoption(
        "--sim-seed",
        default=None,
        metavar="N",
        help="asyncore-sim: seed of the sim_net/any_net networks (default 0; "
        "'random' draws one and reports it)",
    )
    group.addoption(
        "--sim-faults",
        action="store_true",
        default=False,
        help="asyncore-sim: give sim_net the random fault plan drawn from its seed",
    )
    group.addoption(
        "--sim-sweep",
        type=int,
        default=None,
        metavar="N",
        help="asyncore-sim: run each sim_net test under N seeds of random "
        "fault plans (see also --sim-sweep-start; spread with -n auto)",
    )
    group.addoption(
        "--sim-sweep-start",
        type=int,
        default=0,
        metavar="S",
        help="asyncore-sim: first seed of a sweep (default 0)",
    )
    group.addoption(
        "--sim-sweep-summary",
        default=None,
        metavar="FILE",
        help="asyncore-sim: write the sweep's results to FILE (JSON), for "
        "asyncore-sim sweep --merge",
    )
    group.addoption(
        "--sim-sweep-shard",
        default=None,
        metavar="K/M",
        help="asyncore-sim: the sweep is shard K of M (recorded in the summary)",
    )
    group.addoption(
        "--sim-trace-dir",
        default=None,
        metavar="DIR",
        help="asyncore-sim: where failing runs' traces are written "
        "(default .asyncore-sim/failures under the rootdir)",
    )
    for name, text in (
        (
            "sim_strict_faults",
            "fail a simulated test whose faults (plan entries, rules) never fired "
            "(default: an UnfiredFaultWarning)",
        ),
        (
            "sim_check_determinism",
            "run each simulated test twice and fail it where the two runs' "
            "traces differ",
        ),
    ):
        group.addoption(
            "--" + name.replace("_", "-"),
            action="store_true",
            default=None,
            help="asyncore-sim: " + text,
        )
        parser.addini(name, "asyncore-sim: " + text, type="bool", default=False)


def _flag(config: Any, name: str) -> bool:
    """An on/off setting: the command line's, else the ini file's."""
    value = config.getoption(name)
    return bool(config.getini(name) if value is None else value)


def pytest_configure(config: Any) -> None:
    for line in (
        "fake_net: the test runs on asyncore-sim's simulated network",
        "real_net: the test runs on the operating system's loopback",
        "sim_faults(**options): the random fault plans this sim_net test "
        "tolerates (keywords of fake_net.FaultPlan.random)",
    ):
        config.addinivalue_line("markers", line)
    raw = config.getoption("sim_seed")
    if raw is None:
        seed = 0
    elif raw == "random":
        seed = random.SystemRandom().randrange(2**32)
    else:
        try:
            seed = int(raw)
        except ValueError:
            raise pytest.UsageError(
                "--sim-seed: expected an integer or 'random', got %r" % (raw,)
            ) from None
    config._sim_seed = seed
    sweep = config.getoption("sim_sweep")
    if sweep is not None and sweep < 1:
        raise pytest.UsageError("--sim-sweep: expected N >= 1, got %d" % sweep)
    shard = config.getoption("sim_sweep_shard")
    if shard is not None and not re.fullmatch(r"[1-9][0-9]*/[1-9][0-9]*", shard):
        raise pytest.UsageError("--sim-sweep-shard: expected K/M, got %r" % shard)
    if sweep is not None and not hasattr(config, "workerinput"):
        config.pluginmanager.register(_SweepProgress(config, sweep), "sim-sweep")


def pytest_report_header(config: Any) -> Optional[str]:
    if config.getoption("sim_seed") is None and not config.getoption("sim_sweep"):
        return None
    if config.getoption("sim_sweep"):
        start = config.getoption("sim_sweep_start")
        return "asyncore-sim: sweep of seeds %d..%d" % (
            start,
            start + config.getoption("sim_sweep") - 1,
        )
    return "asyncore-sim: --sim-seed=%d" % config._sim_seed


# -- which run each sim_net test gets ------------------------------------------


@attrs.frozen
class SimCase:
    """The seed and the fault plan source of one ``sim_net`` run."""

    seed: int
    faults: bool = False  # a random plan drawn from the seed
    plan_json: Optional[str] = None  # a committed regression's plan
    source: Optional[str] = None  # the regression file
    kind: str = "plain"  # plain | sweep | regression
    id: Optional[str] = None  # its parameter id, when parametrized


def _regression_cases(config: Any, path: Any, name: str) -> List[Any]:
    from fake_net import FaultPlan

    folder = os.path.join(
        str(config.rootpath),
        REGRESSIONS_DIR,
        _module_stem(path),
        name,
    )
    if not os.path.isdir(folder):
        return []
    params = []
    for fname in sorted(os.listdir(folder)):
        if not fname.endswith(".trace"):
            continue
        full = os.path.join(folder, fname)
        try:
            header = Trace.load(full).header
            seed = int(header.get("seed", "0"))
            plan = header.get("plan", "{}")
            FaultPlan.from_json(plan)
        except Exception as e:  # noqa: BLE001 - reported as a collection error
            raise pytest.UsageError(
                "asyncore-sim: unusable regression trace %s: %s" % (full, e)
            ) from None
        pid = "regression-" + os.path.splitext(fname)[0]
        case = SimCase(seed, plan_json=plan, source=full, kind="regression", id=pid)
        params.append(pytest.param(case, id=pid))
    return params


def pytest_generate_tests(metafunc: Any) -> None:
    if "sim_net" not in metafunc.fixturenames:
        return
    config = metafunc.config
    sweep = config.getoption("sim_sweep")
    if sweep is not None:
        start = config.getoption("sim_sweep_start")
        params = [
            pytest.param(
                SimCase(s, faults=True, kind="sweep", id="sim-seed-%d" % s),
                id="sim-seed-%d" % s,
            )
            for s in range(start, start + sweep)
        ]
    else:
        params = _regression_cases(
            config, metafunc.definition.path, metafunc.definition.name
        )
        if not params:
            return
        params.insert(0, pytest.param(None, id="sim-default"))
    metafunc.parametrize("_sim_case", params, indirect=True)


def pytest_collection_modifyitems(config: Any, items: List[Any]) -> None:
    sweeping = config.getoption("sim_sweep") is not None
    keep, dropped = [], []
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "sim_net" in names:
            item.add_marker(pytest.mark.fake_net)
        elif sweeping:
            dropped.append(item)  # nothing in it depends on the seed
            continue
        keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture
def _sim_case(request: Any) -> SimCase:
    case = getattr(request, "param", None)
    if case is None:
        case = SimCase(
            request.config._sim_seed,
            request.config.getoption("sim_faults"),
            id="sim-default" if hasattr(request, "param") else None,
        )
    return case  # type: ignore[no-any-return]


def _plan_for(request: Any, case: SimCase) -> Any:
    from fake_net import FaultPlan

    if case.plan_json is not None:
        return FaultPlan.from_json(case.plan_json)
    if not case.faults:
        return FaultPlan()
    marker = request.node.get_closest_marker("sim_faults")
    options = dict(marker.kwargs) if marker is not None else {}
    try:
        return FaultPlan.random(case.seed, **options)
    except TypeError as e:
        raise pytest.UsageError(
            "%s: bad @pytest.mark.sim_faults options %r: %s"
            % (request.node.nodeid, options, e)
        ) from None


@pytest.fixture
def sim_net(request: Any, _sim_case: SimCase) -> Iterator[testing.Sim]:
    """A seeded simulated network, active for the test (see the module doc)."""
    plan = _plan_for(request, _sim_case)
    sim = testing.Sim(
        plan,
        seed=_sim_case.seed,
        header={"test": _base_nodeid(request.node.nodeid, _sim_case.id)},
        drawn=_sim_case.faults or _sim_case.kind == "regression",
    )
    sim.case = _sim_case  # type: ignore[attr-defined]
    _sims(request.node).append(sim)
    with sim:
        yield sim


@pytest.fixture(
    params=[
        pytest.param("fake", marks=pytest.mark.fake_net),
        pytest.param("real", marks=pytest.mark.real_net),
    ]
)
def any_net(request: Any) -> Iterator[testing.Sim]:
    """The simulated network, then the real one (loopback), for one test body."""
    seed = request.config._sim_seed
    if request.param == "fake":
        sim = testing.Sim(seed=seed, header={"test": request.node.nodeid})
    else:
        from real_net import RealNetwork

        sim = testing.Sim(
            seed=seed, network=RealNetwork(), header={"test": request.node.nodeid}
        )
    sim.case = SimCase(seed)  # type: ignore[attr-defined]
    _sims(request.node).append(sim)
    with sim:
        yield sim


def _sims(item: Any) -> List[testing.Sim]:
    sims = getattr(item, "_asyncore_sim_runs", None)
    if sims is None:
        sims = item._asyncore_sim_runs = []
    return sims  # type: ignore[no-any-return]


# -- failure reports -------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: Any) -> Iterator[None]:
    seen: List[Tuple[str, testing.Sim]] = []

    def observe(what: str, sim: testing.Sim) -> None:
        seen.append((what, sim))

    previous = testing._observer
    testing._observer = observe
    try:
        result = yield
    finally:
        testing._observer = previous
        # The run to report: the last simulate() block that raised, else the
        # last one entered (Hypothesis replays the minimal failing example
        # last, and tests often assert after the block).
        failed = [sim for what, sim in seen if what == "fail"]
        chosen = failed[-1] if failed else (seen[-1][1] if seen else None)
        if chosen is not None and chosen not in _sims(item):
            item._asyncore_sim_failed = chosen
        # Kept for the checks below and a determinism check's comparison
        # (until the item's protocol ends): the runs entered, except those
        # of Hypothesis examples, which are many and never compared.
        started = [sim for what, sim in seen if what == "start"]
        item._asyncore_sim_seen = [sim for sim in started if not sim.in_example]
        item._asyncore_sim_examples = len(started) - len(item._asyncore_sim_seen)
    if not getattr(item, "_asyncore_sim_second_run", False):
        config = item.config
        checks.check_unfired(
            item,
            _test_sims(item),
            _flag(config, "sim_strict_faults"),
            config.getoption("sim_sweep") is not None,
        )
    return result


def _test_sims(item: Any) -> List[testing.Sim]:
    """The simulated runs of ``item``'s last pass: its fixtures' (sim_net,
    any_net), then the simulate() blocks its call entered, in order."""
    own = _sims(item)
    return own + [s for s in getattr(item, "_asyncore_sim_seen", ()) if s not in own]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: Any, nextitem: Any) -> Optional[bool]:
    if not _flag(item.config, "sim_check_determinism"):
        return None
    checks.run_twice(item, nextitem, _runs_of, _forget_runs, _determinism_path)
    return True


@pytest.hookimpl(wrapper=True, specname="pytest_runtest_protocol")
def pytest_runtest_protocol_forget(item: Any, nextitem: Any) -> Iterator[None]:
    """Let go of the item's runs (their networks and traces) once its
    reports are made: items live as long as the session."""
    try:
        return (yield)  # type: ignore[no-any-return]
    finally:
        _forget_runs(item)


def _runs_of(item: Any) -> Optional[checks.Runs]:
    if getattr(item, "_asyncore_sim_examples", 0):
        return None  # Hypothesis replays its own examples
    return checks.simulated_runs(
        _test_sims(item), getattr(item, "_asyncore_sim_golden", None)
    )


def _forget_runs(item: Any) -> None:
    for name in (
        "_asyncore_sim_runs",
        "_asyncore_sim_failed",
        "_asyncore_sim_seen",
        "_asyncore_sim_examples",
        "_asyncore_sim_golden",
    ):
        item.__dict__.pop(name, None)


def _determinism_path(item: Any) -> str:
    case = getattr(getattr(item, "callspec", None), "params", {}).get("_sim_case")
    if not isinstance(case, SimCase):
        case = SimCase(item.config._sim_seed)
    return _trace_path(item.config, item, case)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    outcome: Any = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    sims = list(getattr(item, "_asyncore_sim_runs", ()))
    last = getattr(item, "_asyncore_sim_failed", None)
    if last is not None:
        sims.append(last)
    if not sims:
        return
    lines: List[str] = []
    for sim in sims:
        lines.extend(_failure_lines(item, sim, hypothesis=sim is last))
    report.sections.append(("asyncore-sim", "\n".join(lines)))


#: A failing test's diagram is drawn up to this many events (about 10 us an
#: event: 50 ms at most); a longer trace gets the command that draws it.
DIAGRAM_EVENTS = 5_000


def _diagram_line(trace: Any, path: str) -> str:
    """Draw the failing run's sequence diagram next to its trace."""
    page = os.path.splitext(path)[0] + ".html"
    if len(trace.events) > DIAGRAM_EVENTS:
        return "diagram: asyncore-sim show %s -o %s  (not drawn: %d events)" % (
            os.path.relpath(path),
            os.path.relpath(page),
            len(trace.events),
        )
    from asyncore_sim.diagram import page_of_trace

    try:
        text = page_of_trace(trace, path)
        with open(page, "w", encoding="utf-8") as f:
            f.write(text)
    except Exception as e:  # the report must not fail for its drawing
        return "diagram: not drawn (%s: %s)" % (type(e).__name__, e)
    return "diagram: %s" % os.path.relpath(page)


def _failure_lines(item: Any, sim: testing.Sim, hypothesis: bool) -> List[str]:
    config = item.config
    case: SimCase = getattr(sim, "case", SimCase(sim.seed))
    lines = ["network: %s" % getattr(sim.net, "name", type(sim.net).__name__)]
    lines.extend(sim.describe())
    command = _repro_command(item, case, hypothesis)
    if sim.recorder is not None:
        path = _trace_path(config, item, case)
        sim.trace.header["reproduce"] = command
        try:
            sim.save_trace(path)
            lines.append("trace: %s" % os.path.relpath(path))
            lines.append(_diagram_line(sim.trace, path))
        except OSError as e:
            lines.append("trace: not written (%s)" % e)
    lines.append("reproduce: %s" % command)
    lines.extend("unfired: %s" % u for u in sim.unfired)
    if hypothesis:
        lines.append(
            "  (Hypothesis replays its failing example from its database; to pin "
            "it in the test: @example(plan=%r))" % (sim.plan,)
        )
    return lines


def _base_nodeid(nodeid: str, param_id: Optional[str]) -> str:
    """``nodeid`` without the sweep/regression parameter ``param_id``."""
    m = re.match(r"^(.*)\[(.*)\]$", nodeid)
    if not m or not param_id:
        return nodeid
    base, ids = m.group(1), m.group(2)
    if ids == param_id:
        return base
    for old, new in (
        ("-" + param_id + "-", "-"),
        ("-" + param_id, ""),
        (param_id + "-", ""),
    ):
        if old in ids:
            return "%s[%s]" % (base, ids.replace(old, new, 1))
    return nodeid


def _repro_command(item: Any, case: SimCase, hypothesis: bool) -> str:
    if case.kind == "regression":
        nodeid = item.nodeid
    else:
        nodeid = _base_nodeid(item.nodeid, case.id)
    words = ["python", "-m", "pytest", _quote(nodeid)]
    if case.kind != "regression" and not hypothesis:
        words.append("--sim-seed=%d" % case.seed)
        if case.faults:
            words.append("--sim-faults")
    return " ".join(words)


def _quote(text: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./:=-]+", text):
        return text
    return "'%s'" % text.replace("'", "'\"'\"'")


def _trace_path(config: Any, item: Any, case: SimCase) -> str:
    root = str(config.rootpath)
    base = config.getoption("sim_trace_dir") or os.path.join(root, DEFAULT_TRACE_DIR)
    module = _module_stem(item.path)
    name = _safe(getattr(item, "originalname", None) or item.name)
    if case.kind == "sweep":
        return os.path.join(base, module, name, "seed-%d.trace" % case.seed)
    return os.path.join(base, module, _safe(item.name) + ".trace")


def _module_stem(path: Any) -> str:
    """``tests/test_echo.py`` -> ``test_echo``: the traces' folder name."""
    return os.path.splitext(os.path.basename(str(path)))[0]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


# -- golden traces -----------------------------------------------------------------


class _Recording:
    """A recording already under way, for ``with golden_trace.record(...)``:
    entering and leaving it changes nothing; anything else is the recorder's."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder

    def __enter__(self) -> Recorder:
        return self._recorder

    def __exit__(self, *exc: Any) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._recorder, name)


class GoldenTrace:
    """What the ``golden_trace`` fixture gives a test."""

    def __init__(self, path: str, rewrite: bool, nodeid: str) -> None:
        self.path = path
        self.rewrite = rewrite
        self.nodeid = nodeid
        self.recorder: Optional[Recorder] = None
        self.checked = False

    def record(self, network: Any = None) -> Any:
        """A :class:`Recorder` on ``network`` (use it with ``with``).

        ``network`` may also be a run that already records: a
        :class:`~asyncore_sim.testing.Sim` (``sim_net``, ``any_net``'s fake
        arm, ``simulate()``), or a network that an active recorder wraps.
        Then that recording is the one compared, and the ``with`` block
        changes nothing.
        """
        from asyncore_sim import asyncore as core

        if self.recorder is not None:
            raise RuntimeError("golden_trace.record() was already called in this test")
        if isinstance(network, testing.Sim) and network.net.name == "real":
            raise RuntimeError(
                "golden traces are compared on simulated runs only (a real run "
                "differs by its ephemeral ports): on any_net's real arm, do not "
                "record one (if any_net.net.name == 'real': ...)"
            )
        existing = getattr(network, "recorder", None)
        if isinstance(network, testing.Sim) and existing is None:
            network = network.net  # simulate(record=False): wrap its network
        active = core._tracer
        if existing is None and active is not None and network in (
            None,
            active,
            active.inner,
        ):
            existing = active
        if existing is not None:
            self.recorder = existing
            return _Recording(existing)
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
    module = _module_stem(request.node.path)
    return os.path.join(root, "traces", module, _safe(request.node.name) + ".trace")


@pytest.fixture
def golden_trace(request: Any) -> Iterator[GoldenTrace]:
    """Record this test's run and compare it with its golden trace."""
    g = GoldenTrace(
        _golden_path(request),
        bool(request.config.getoption("sim_rewrite_goldens")),
        request.node.nodeid,
    )
    # Checked at the end of the test's own call (see pytest_runtest_call), so
    # a difference is one failed test, not a pass and a teardown error.
    request.node._asyncore_sim_golden = g
    yield g


@pytest.hookimpl(wrapper=True, specname="pytest_runtest_call")
def pytest_runtest_call_golden(item: Any) -> Iterator[None]:
    result = yield
    g = getattr(item, "_asyncore_sim_golden", None)
    if g is not None and not g.checked:
        if g.recorder is None:
            params = getattr(getattr(item, "callspec", None), "params", {})
            if params.get("any_net") == "real":
                # Golden traces are simulated runs' (a real one differs by
                # its ports): any_net's real arm need not record one.
                return result
            pytest.fail(
                "the test asked for golden_trace but recorded nothing: call "
                "golden_trace.record(net) (or record(sim_net)) in it",
                pytrace=False,
            )
        g.check()
    return result
