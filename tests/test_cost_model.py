"""The cost model for virtual time (fake_net.Cost) and the HideReady fault.

Issue 16, items 1 and 3: with ``FakeNetwork(cost=Cost(...))`` each
readiness wait (and each send and recv that moves bytes) advances the clock,
so a delayed segment lands between two busy loop passes; ``HideReady``
hides chosen readiness bits for chosen waits.  Off, nothing changes.
"""

from __future__ import annotations

import math
import select
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple

import pytest

import asyncore_sim as asyncore
import fake_net
from asyncore_sim.trace.scenario import ScenarioError, load_scenario, run_scenario
from fake_net import Cost, Delay, FakeNetwork, HideReady, Match, conformance

ROOT = Path(__file__).resolve().parent.parent
IN, OUT = select.POLLIN, select.POLLOUT


# -- Cost, the value ----------------------------------------------------------


def test_cost_defaults_to_nothing_and_keeps_its_values() -> None:
    assert Cost() == Cost(wait=0.0, send=0.0, recv=0.0)
    c = Cost(wait=20e-6, send=5e-6, recv=1)
    assert (c.wait, c.send, c.recv) == (20e-6, 5e-6, 1)


@pytest.mark.parametrize("bad", [-1e-6, math.inf, math.nan, -math.inf])
@pytest.mark.parametrize("key", ["wait", "send", "recv"])
def test_cost_refuses_negative_or_infinite_seconds(key: str, bad: float) -> None:
    with pytest.raises(ValueError, match=key):
        Cost(**{key: bad})


@pytest.mark.parametrize("bad", ["1ms", None, True])
def test_cost_refuses_what_is_not_a_number(bad: Any) -> None:
    with pytest.raises(TypeError, match="wait"):
        Cost(wait=bad)


def test_network_refuses_a_cost_that_is_not_a_cost() -> None:
    with pytest.raises(TypeError, match="cost"):
        FakeNetwork(cost=20e-6)  # type: ignore[arg-type]


# -- the clock moves at waits, sends and recvs ---------------------------------


def _pair(net: FakeNetwork) -> Tuple[Any, Any]:
    a, b = net.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


def _passes(
    cost: Optional[Cost], faults: Sequence[Any] = (), n: int = 8, method: str = "poll"
) -> List[Tuple[float, Any]]:
    """``n`` zero-timeout waits on a writable end and a reading end, after a
    segment sent with a 50 us delay: (time, answer) of each."""
    net = FakeNetwork(cost=cost, faults=[Delay(seconds=50e-6), *faults], world=False)
    a, b = _pair(net)
    poller = net.poller(method)
    fds = [a.fileno(), b.fileno()]
    a.send(b"x")
    out = []
    for i in range(n):
        answer = poller.wait(fds, [OUT, IN], i == 0, (), 0.0)
        if method == "select":
            answer = tuple(sorted(x) for x in answer)
        else:
            answer = sorted(answer)
        out.append((round(net.now * 1e6, 6), answer))
    return out


def test_without_cost_a_delayed_segment_never_lands_between_busy_passes() -> None:
    passes = _passes(None)
    # One end stays writable: time stands still and the segment never comes.
    assert all(t == 0 for t, _ in passes)
    assert all(answer == [(3, OUT)] for _, answer in passes)


@pytest.mark.parametrize("method", ["poll", "epoll"])
def test_with_cost_each_wait_moves_the_clock_and_the_segment_lands(method: str) -> None:
    passes = _passes(Cost(wait=20e-6), method=method)
    assert [t for t, _ in passes] == [20 * (i + 1) for i in range(8)]
    # 50 us after the send: after the 3rd wait's 20 us (60 us), not before.
    assert [answer for _, answer in passes[:2]] == [[(3, OUT)]] * 2
    assert all(answer == [(3, OUT), (4, IN)] for _, answer in passes[2:])


def test_with_cost_select_sees_it_too() -> None:
    passes = _passes(Cost(wait=30e-6), method="select")
    assert [answer for _, answer in passes[:1]] == [([], [3], [])]
    assert all(answer == ([4], [3], []) for _, answer in passes[1:])


def test_send_and_recv_cost_only_when_set() -> None:
    net = FakeNetwork(cost=Cost(send=5e-6, recv=7e-6), world=False)
    a, b = _pair(net)
    assert a.send(b"abc") == 3
    assert net.now == pytest.approx(5e-6)
    assert b.recv(1) == b"a"  # a part of the buffer
    assert net.now == pytest.approx(12e-6)
    assert b.recv(10) == b"bc"  # the whole buffer
    assert net.now == pytest.approx(19e-6)
    with pytest.raises(BlockingIOError):
        b.recv(10)  # nothing to read: costs nothing
    assert net.now == pytest.approx(19e-6)
    plain = FakeNetwork(world=False)
    c, d = _pair(plain)
    c.send(b"abc")
    d.recv(10)
    assert plain.now == 0.0


def test_send_cost_runs_what_falls_due() -> None:
    # The cost of a send moves the clock past the segment's delay: it is
    # readable as soon as the send returns.
    net = FakeNetwork(cost=Cost(send=10e-6), faults=[Delay(seconds=5e-6)], world=False)
    a, b = _pair(net)
    a.send(b"hi")
    assert b.recv(10) == b"hi"
    slow = FakeNetwork(cost=Cost(send=1e-6), faults=[Delay(seconds=5e-6)], world=False)
    c, d = _pair(slow)
    c.send(b"hi")
    with pytest.raises(BlockingIOError):
        d.recv(10)


# -- the interleaving of a busy asyncore loop ------------------------------------


class _Writer(asyncore.dispatcher):
    """Always writable: a byte a pass into a sink nobody reads."""

    def __init__(self, sock: Any, map: Any, log: List[str]) -> None:
        super().__init__(sock=sock, map=map)
        self.log = log

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def handle_write(self) -> None:
        self.send(b".")
        self.log.append("w")


class _Reader(asyncore.dispatcher):
    def __init__(self, sock: Any, map: Any, log: List[str]) -> None:
        super().__init__(sock=sock, map=map)
        self.log = log

    def writable(self) -> bool:
        return False

    def handle_read(self) -> None:
        self.log.append("r:" + self.recv(100).decode())


def _busy_loop(cost: Optional[Cost], passes: int = 10) -> Tuple[List[str], float]:
    net = FakeNetwork(cost=cost, faults=[Delay(seconds=50e-6)], world=False)
    m = net.map()
    log: List[str] = []
    sink_w, sink_r = _pair(net)
    src, dst = _pair(net)
    _Writer(sink_w, m, log)
    _Reader(dst, m, log)
    src.send(b"data")
    for _ in range(passes):
        asyncore.loop(timeout=0.0, map=m, count=1, use_poll=True)
        log.append("|")
    return log, net.now


def test_busy_loop_without_cost_never_reads_the_delayed_segment() -> None:
    log, now = _busy_loop(None)
    assert log == ["w", "|"] * 10
    assert now == 0.0


def test_busy_loop_with_cost_reads_it_between_busy_passes() -> None:
    log, now = _busy_loop(Cost(wait=20e-6, send=1e-6, recv=1e-6))
    # Passes 1 and 2 (21 us, 42 us) are before the segment is due (50 us);
    # the third wait (at 62 us) sees it, between busy writes (map order:
    # the writer, then the reader).
    assert log[:7] == ["w", "|", "w", "|", "w", "r:data", "|"]
    assert log[7:] == ["w", "|"] * 7
    assert now > 200e-6


def test_same_seed_same_trace_twice() -> None:
    from asyncore_sim.trace import Recorder

    def once(cost: Optional[Cost]) -> Tuple[List[str], List[str]]:
        net = FakeNetwork(
            seed=5,
            cost=cost,
            faults=[
                Delay(seconds=30e-6, jitter=40e-6),
                HideReady(events="r", passes=2, at_pass=4),
            ],
            world=False,
        )
        with Recorder(net) as rec:
            m = net.map()
            log: List[str] = []
            a, b = _pair(net)
            src, dst = _pair(net)
            _Writer(a, m, log)
            _Reader(dst, m, log)
            for _ in range(3):
                src.send(b"abc")
            for _ in range(12):
                asyncore.loop(timeout=0.0, map=m, count=1)
        return rec.trace.lines(), log

    cost = Cost(wait=20e-6, send=5e-6, recv=5e-6)
    first, second = once(cost), once(cost)
    assert first == second
    assert len(first[0]) > 20
    assert any(entry.startswith("r:") for entry in first[1])
    # Off, the same program reads nothing (time stands still): the cost
    # model is what changed the run.
    off = once(None)
    assert not any(entry.startswith("r:") for entry in off[1])
    assert off[0] != first[0]


# -- HideReady ------------------------------------------------------------------


def test_hide_ready_validates() -> None:
    for bad in ["", "q", "rr", 1]:
        with pytest.raises(ValueError, match="events"):
            HideReady(events=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="passes"):
        HideReady(passes=0)
    with pytest.raises(ValueError, match="at_pass"):
        HideReady(at_pass=-1)
    assert HideReady(events="rw").bits == IN | OUT
    assert HideReady(events="x").bits == select.POLLPRI


def _plain_waits(
    faults: Sequence[Any], n: int = 6, method: str = "poll"
) -> Tuple[FakeNetwork, List[Any]]:
    """Both ends readable and writable; ``n`` waits on all of it."""
    net = FakeNetwork(faults=faults, world=False)
    a, b = _pair(net)
    a.send(b"to b")
    b.send(b"to a")
    poller = net.poller(method)
    fds = [a.fileno(), b.fileno()]
    out = []
    for i in range(n):
        answer = poller.wait(fds, [IN | OUT, IN | OUT], i == 0, (), 1.0)
        out.append(answer if method == "select" else sorted(answer))
    assert a.recv(10) == b"to a" and b.recv(10) == b"to b"  # state kept
    return net, out


def test_hide_ready_hides_exactly_the_chosen_passes() -> None:
    both = [(3, IN | OUT), (4, IN | OUT)]
    _, plain = _plain_waits([])
    assert plain == [both] * 6
    net, out = _plain_waits(
        [HideReady(events="r", passes=2, at_pass=3, match=Match(fd=4))]
    )
    assert out[:3] == [both] * 3
    assert out[3:5] == [[(3, IN | OUT), (4, OUT)]] * 2
    assert out[5] == both
    fired = [e for e in net.events if e.kind == "fault"]
    assert len(fired) == 2 and all(e.fd == 4 for e in fired)


def test_hide_ready_all_matching_sockets_and_all_bits() -> None:
    _, out = _plain_waits([HideReady(events="rw", at_pass=1)], n=3, method="select")
    # Pass 1 shows nothing, so the 1 s timeout runs out; 0 and 2 show all.
    assert out[0] == ([3, 4], [3, 4], [])
    assert out[1] == ([], [], [])
    assert out[2] == ([3, 4], [3, 4], [])


def test_hide_ready_write_only_in_select() -> None:
    _, out = _plain_waits(
        [HideReady(events="w", at_pass=0, match=Match(fd=3))], 2, "select"
    )
    assert out == [([3, 4], [4], []), ([3, 4], [3, 4], [])]


def test_hide_ready_respects_times() -> None:
    _, out = _plain_waits([HideReady(events="r", passes=5, at_pass=0, times=2)], n=3)
    assert out[0] == [(3, OUT), (4, OUT)]  # fired twice: both sockets
    assert out[1] == [(3, IN | OUT), (4, IN | OUT)]


def test_hide_ready_is_reported_when_it_never_fired() -> None:
    net, _ = _plain_waits([HideReady(at_pass=100)], n=2)
    assert [u.fault for u in net.unfired_faults()] == [HideReady(at_pass=100)]


# -- defaults change nothing, and the conformance suite passes with a cost ---------


def test_check_of_the_documented_runs_is_unchanged() -> None:
    exe = Path(sys.executable).parent / "asyncore-sim"
    proc = subprocess.run(
        [str(exe), "check"], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "8 checked: 8 ok, 0 differ, 0 unusable" in proc.stdout, proc.stdout
    diff = subprocess.run(
        ["git", "diff", "--stat", "--", "traces/"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert diff.stdout == "", diff.stdout


def _with_cost(seed: int) -> Callable[[], Any]:
    def make() -> Any:
        return FakeNetwork(seed=seed, cost=Cost(wait=20e-6, send=5e-6, recv=5e-6))

    return make


@pytest.mark.parametrize("make_net", [_with_cost(0), _with_cost(7)], ids=["s0", "s7"])
@pytest.mark.parametrize(
    "check", conformance.CHECKS, ids=[c.__name__ for c in conformance.CHECKS]
)
def test_conformance_with_cost(check: Callable[[Any], None], make_net: Any) -> None:
    net = make_net()
    check(net)
    assert net.open_fds() == [], net.netstat()


# -- the scenario directive and the fault line ------------------------------------

PROGRAM = """\
import asyncore_sim as asyncore
print("hello")
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Callable[[str], str]:
    (tmp_path / "prog.py").write_text(PROGRAM)
    (tmp_path / "out.expected").write_text("hello\n")

    def write(body: str) -> str:
        path = tmp_path / "s.scenario"
        path.write_text("program prog.py\nexpect out.expected\n" + body)
        return str(path)

    return write


def test_cost_directive_reads_units(scenario: Callable[[str], str]) -> None:
    scn = load_scenario(scenario("cost wait=20us send=0.5ms recv=1s\n"))
    assert scn.cost == Cost(wait=20e-6, send=0.5e-3, recv=1.0)
    assert load_scenario(scenario("cost wait=3us\n")).cost == Cost(wait=3e-6)
    assert load_scenario(scenario("")).cost is None


@pytest.mark.parametrize(
    "line, message",
    [
        ("cost\n", "usage: cost"),
        ("cost wait\n", "usage: cost"),
        ("cost idle=5us\n", "usage: cost"),
        ("cost wait=5\n", "bad time"),
        ("cost wait=-5us\n", "bad time"),
        ("cost wait=5us wait=6us\n", "wait given twice"),
        ("cost wait=5us\ncost send=1us\n", "a second 'cost' line"),
    ],
)
def test_cost_directive_errors_name_file_and_line(
    scenario: Callable[[str], str], line: str, message: str
) -> None:
    path = scenario(line)
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(path)
    assert str(info.value).startswith(path + ":3") or str(info.value).startswith(
        path + ":4"
    )


def test_cost_and_hide_ready_reach_the_network(scenario: Callable[[str], str]) -> None:
    path = scenario(
        "cost wait=20us\nfault HideReady events=rw passes=2 at_pass=3 fd=515\n"
    )
    scn = load_scenario(path)
    assert scn.faults == [
        HideReady(events="rw", passes=2, at_pass=3, match=Match(fd=515))
    ]
    from asyncore_sim.trace.scenario import build_network

    net = build_network(scn)
    assert net._cost == Cost(wait=20e-6)
    assert net.faults == scn.faults
    result = run_scenario(scn)
    assert result.output == "hello\n" and result.error is None


@pytest.mark.parametrize(
    "line, message",
    [
        ("fault HideReady events=q\n", "events must be"),
        ("fault HideReady passes=0\n", "passes must be"),
        ("fault HideReady at_pass=x\n", "at_pass must be a whole number"),
    ],
)
def test_hide_ready_fault_line_errors(
    scenario: Callable[[str], str], line: str, message: str
) -> None:
    path = scenario(line)
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(path)
    assert str(info.value).startswith(path + ":3:")


def test_cli_reports_a_bad_cost_line_cleanly(scenario: Callable[[str], str]) -> None:
    path = scenario("cost wait=fast\n")
    proc = subprocess.run(
        [sys.executable, "-m", "asyncore_sim", "check", path],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "asyncore-sim: error: %s:3: bad time" % path in proc.stderr
    assert "Traceback" not in proc.stderr


def test_exports() -> None:
    assert fake_net.Cost is Cost and "Cost" in fake_net.__all__
    assert fake_net.HideReady is HideReady and "HideReady" in fake_net.__all__


def test_documented_echo_run_with_cost_keeps_its_output(tmp_path: Path) -> None:
    """The echo run of PyMOTW 001 under a cost model: the same output (the
    run has no delays for the cost to interleave), time now passes."""
    from asyncore_sim.trace.scenario import compare_output

    here = ROOT / "traces" / "pymotw"
    lines = []
    for line in (here / "001-echo-server.scenario").read_text().splitlines():
        word = line.split(" ", 1)[0]
        if word in ("trace", "source"):
            continue
        if word == "program":
            line = "program " + str(here / line.split(" ", 1)[1])
        elif word == "file":
            name, rel = line.split(" ")[1:]
            line = "file %s %s" % (name, here / rel)
        elif word == "expect":
            line = "expect " + str(here / line.split(" ", 1)[1])
        lines.append(line)
    expected = (here / "001-echo-server.expected").read_text()
    ends = []
    for extra in ["", "cost wait=20us send=5us recv=5us"]:
        path = tmp_path / "echo.scenario"
        path.write_text("\n".join(lines + [extra]) + "\n")
        scn = load_scenario(str(path))
        result = run_scenario(scn)
        assert result.error is None
        mismatch, _ = compare_output(scn, expected, result.output)
        assert mismatch is None
        ends.append(float(result.trace.events[-1].line().split()[0]))
    assert ends[0] == 0.0 and ends[1] > 100e-6
