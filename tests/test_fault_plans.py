"""Fault plans: the scripted rules they install, their text forms, the
Hypothesis strategies that draw them, and simulate()'s runs."""

from __future__ import annotations

import socket

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import asyncore_sim
from asyncore_sim.testing.strategies import cuts, fault_plans
from asyncore_sim.testing import SimulationDidNotSettle, simulate
from fake_net import (
    CutReads,
    CutSends,
    DelaySegments,
    FakeNetwork,
    FaultPlan,
    Match,
    StreamEnd,
)
from fake_net._network import SPIN_WAITS

QUICK = settings(max_examples=60, deadline=None, derandomize=True, database=None)


def pair(net):
    a, b = net.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


# -- the scripted rules -----------------------------------------------------------


def test_cut_sends_follow_the_script_call_by_call():
    net = FakeNetwork(faults=[CutSends(sizes=(3, None, 0, 5))])
    a, b = pair(net)
    assert a.send(b"abcdefgh") == 3
    assert a.send(b"abcdefgh") == 8  # None: whole
    with pytest.raises(BlockingIOError):
        a.send(b"abcdefgh")  # 0: EWOULDBLOCK
    assert a.send(b"abcdefgh") == 5
    assert a.send(b"abcdefgh") == 8  # past the script
    assert a.send(b"xy") == 2  # a cut larger than the send leaves it whole
    a.close()
    b.close()


def test_cut_reads_count_only_matching_sockets():
    net = FakeNetwork(faults=[CutReads(sizes=(2, 1), match=Match(side="server"))])
    a, b = pair(net)
    a.send(b"hello")
    b.send(b"world")
    assert a.recv(100) == b"world"  # the client side is not in the script
    assert b.recv(100) == b"he"
    assert b.recv(100) == b"l"
    assert b.recv(100) == b"lo"
    a.close()
    b.close()


def test_delay_segments_keep_order():
    net = FakeNetwork(faults=[DelaySegments(seconds=(0.5, 0.0))])
    a, b = pair(net)
    a.send(b"first")
    a.send(b"second")  # not delayed, but may not overtake the first
    with pytest.raises(BlockingIOError):
        b.recv(100)
    net.sleep(0.5)
    assert b.recv(100) == b"firstsecond"
    a.close()
    b.close()


@pytest.mark.parametrize(
    "rule",
    [
        lambda: CutSends(sizes=(-1,)),
        lambda: CutReads(sizes=(0,)),
        lambda: DelaySegments(seconds=(-0.1,)),
        lambda: FaultPlan(reads=(0,)),
        lambda: FaultPlan(sends=(True,)),
        lambda: FaultPlan(oob=(-3,)),
        lambda: FaultPlan(end=("explode", 3)),
        lambda: FaultPlan(connect="maybe"),
    ],
)
def test_bad_scripts_are_refused(rule):
    with pytest.raises((ValueError, TypeError)):
        rule()


# -- plans as values and as text ---------------------------------------------------

PLANS = [
    FaultPlan(),
    FaultPlan(sends=(None, 1), match=Match(side="server")),
    FaultPlan(reads=(7,), oob=(3, 9), end=StreamEnd("reset", 40), delays=(0.25,)),
    FaultPlan(connect="refuse", connect_delay=0.5, match=Match(port=80)),
]


@pytest.mark.parametrize("plan", PLANS, ids=repr)
def test_a_plan_prints_as_python_and_travels_as_json(plan):
    namespace = {"FaultPlan": FaultPlan, "Match": Match, "StreamEnd": StreamEnd}
    assert eval(repr(plan), namespace) == plan
    assert FaultPlan.from_json(plan.to_json()) == plan
    assert "\n" not in plan.to_json()
    assert len(plan.describe()) == plan.size
    assert bool(plan) == (plan.size > 0)


def test_from_json_names_what_is_wrong():
    with pytest.raises(ValueError, match="unknown fault plan field.*sned"):
        FaultPlan.from_json('{"sned": [1]}')
    with pytest.raises(ValueError, match="bad JSON"):
        FaultPlan.from_json("{nope")


def test_plan_rules_and_words():
    plan = PLANS[2]
    kinds = [type(r).__name__ for r in plan.rules()]
    assert kinds == ["InjectOOB", "InjectOOB", "PeerReset", "CutReads", "DelaySegments"]
    assert plan.describe() == [
        "recv #1 returns at most 7",
        "an urgent byte arrives after byte 3",
        "an urgent byte arrives after byte 9",
        "a reset after byte 40",
        "segment #1 is delayed 0.25s",
    ]
    assert FaultPlan().rules() == []


def test_random_plans_depend_on_the_seed_alone():
    assert [FaultPlan.random(s) for s in range(30)] == [
        FaultPlan.random(s) for s in range(30)
    ]
    assert len({repr(FaultPlan.random(s)) for s in range(30)}) > 25
    assert all(FaultPlan.random(s, closes=False).end is None for s in range(50))
    assert any(FaultPlan.random(s).end is not None for s in range(50))


# -- the strategies ----------------------------------------------------------------


def test_plans_shrink_to_no_faults():
    assert find(fault_plans(), lambda p: True, settings=QUICK) == FaultPlan()


def test_a_needed_cut_shrinks_to_one_cut():
    plan = find(
        fault_plans(closes=True, resets=True, oob=True),
        lambda p: any(k is not None and k < 100 for k in p.sends),
        settings=QUICK,
    )
    assert plan.size == 1 and len(plan.sends) == 1


def test_an_early_end_shrinks_to_the_start_of_the_stream():
    plan = find(fault_plans(closes=True), lambda p: p.end is not None, settings=QUICK)
    assert plan == FaultPlan(end=StreamEnd("close", 0))


@QUICK
@given(plan=fault_plans(sends=False, reads=False, delays=False))
def test_disabled_kinds_never_appear(plan):
    assert plan == FaultPlan()


@QUICK
@given(script=cuts(max_calls=4, max_size=10))
def test_cut_scripts_are_bounded_and_trimmed(script):
    assert len(script) <= 4
    assert not script or script[-1] is not None
    assert all(k is None or 1 <= k <= 10 for k in script)


def test_strategy_arguments_are_checked():
    with pytest.raises(TypeError, match="match must be a fake_net.Match"):
        fault_plans(match="server")
    with pytest.raises(ValueError, match="max_size"):
        cuts(max_size=0)


# -- simulate() ----------------------------------------------------------------------


class Echo(asyncore_sim.dispatcher_with_send):
    def handle_read(self):
        data = self.recv(64)
        if data:
            self.send(data)


class Server(asyncore_sim.dispatcher):
    def __init__(self):
        super().__init__()
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.bind(("127.0.0.1", 7000))
        self.listen(1)

    def handle_accepted(self, sock, addr):
        Echo(sock)


class Client(asyncore_sim.dispatcher_with_send):
    def __init__(self, message):
        super().__init__()
        self.got = b""
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.connect(("127.0.0.1", 7000))
        self.send(message)

    def handle_connect(self):
        pass

    def handle_read(self):
        self.got += self.recv(64)


@QUICK
@given(plan=fault_plans(), message=st.binary(min_size=1, max_size=300))
def test_a_correct_echo_survives_every_plan_of_cuts_and_delays(plan, message):
    with simulate(plan) as sim:
        Server()
        client = Client(message)
        sim.run()
        assert client.got == message
        assert len(sim.map) == 3  # settled with everything still open


def test_simulate_isolates_and_restores_the_default_map():
    outside = object()
    asyncore_sim.socket_map[99999] = outside
    try:
        with simulate() as sim:
            assert dict(sim.map) == {}
            Server()
            assert len(asyncore_sim.socket_map) == 1
        assert asyncore_sim.socket_map == {99999: outside}
    finally:
        del asyncore_sim.socket_map[99999]


def test_the_same_plan_gives_the_same_trace():
    plan = FaultPlan(sends=(1, None, 1), reads=(2,), delays=(0.1, 0.0, 0.2))

    def once():
        with simulate(plan, seed=5) as sim:
            Server()
            Client(b"x" * 200)
            sim.run()
        return sim.trace.dumps()

    first = once()
    assert first == once()
    assert '"sends":[1,null,1]' in first  # the plan is in the header


class Spinner(asyncore_sim.dispatcher):
    """A handler whose writable() is always true: the loop never waits."""

    def handle_write(self):
        pass


def test_a_busy_loop_lets_delayed_segments_arrive_and_then_settles():
    with simulate(FaultPlan(delays=(2.0,))) as sim:
        a, b = sim.net.socketpair()
        spinner = Spinner(a)
        b.send(b"late")
        got = []
        spinner.handle_read = lambda: got.append(spinner.recv(10))
        iterations = sim.run()
        b.close()
    assert got == [b"late"]
    assert sim.net.now == pytest.approx(2.0)
    # SPIN_WAITS waits before the jump, then at most SPIN_ITERATIONS idle ones.
    assert SPIN_WAITS <= iterations <= SPIN_WAITS + 110


def test_run_says_when_a_run_does_not_settle():
    class Chatty(asyncore_sim.dispatcher):
        def writable(self):
            return True

        def handle_write(self):
            self.send(b"x")

    class Drain(asyncore_sim.dispatcher):
        def writable(self):
            return False

        def handle_read(self):
            self.recv(1000)

    with simulate() as sim:
        a, b = sim.net.socketpair()
        Chatty(a)
        Drain(b)
        with pytest.raises(SimulationDidNotSettle, match="within 50 iterations"):
            sim.run(max_iterations=50)


def test_random_plans_take_closes_and_resets_apart():
    # Both allowed (the default) draws exactly what it always drew.
    both = [FaultPlan.random(s) for s in range(200)]
    assert both == [FaultPlan.random(s, closes=True, resets=True) for s in range(200)]
    kinds = {p.end.kind for p in both if p.end is not None}
    assert kinds == {"close", "reset"}
    only_close = [FaultPlan.random(s, resets=False) for s in range(200)]
    only_reset = [FaultPlan.random(s, closes=False, resets=True) for s in range(200)]
    assert {p.end.kind for p in only_close if p.end} == {"close"}
    assert {p.end.kind for p in only_reset if p.end} == {"reset"}
    assert all(p.end is None for p in (FaultPlan.random(s, closes=False)
                                       for s in range(200)))
