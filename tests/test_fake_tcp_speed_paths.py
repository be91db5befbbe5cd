"""The TCP socket's fast paths give what the general paths give.

send() and recv() test one flag, ``net._plain`` (no send, recv, delivery or
stream rule, no cost model, no world owning the sockets), where they would
otherwise test each of those: these tests check that every way of turning
one of those on turns the flag off, at once, so that the rule, the cost or
the thread check applies to the very next call.
"""

from __future__ import annotations

import threading

import pytest

from fake_net import (
    Cost,
    Delay,
    FakeNetwork,
    Host,
    InjectOOB,
    Link,
    PartialSend,
    ShortRead,
    SimulationError,
)


def _pair(net):
    a, b = net.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


def test_a_bare_network_is_plain():
    assert FakeNetwork()._plain is True
    assert FakeNetwork(record=False)._plain is True


@pytest.mark.parametrize(
    "kwargs",
    [
        {"faults": [PartialSend(max_bytes=3)]},
        {"faults": [ShortRead(max_bytes=3)]},
        {"faults": [Delay(seconds=0.001)]},
        {"faults": [InjectOOB(after_bytes=2)]},
        {"cost": Cost(send=1e-6)},
        {"links": [Link(latency=0.001)]},
        {"hosts": [Host("a", ["10.0.0.1"]), Host("b", ["10.0.0.2"])]},
    ],
    ids=["send-rule", "recv-rule", "deliver-rule", "stream-rule", "cost", "link",
         "hosts"],
)
def test_each_feature_turns_the_fast_path_off(kwargs):
    assert FakeNetwork(**kwargs)._plain is False


def test_a_send_rule_added_mid_run_applies_to_the_next_send():
    net = FakeNetwork(record=False)
    a, b = _pair(net)
    assert a.send(b"hello") == 5  # the fast path
    net.add_fault(PartialSend(max_bytes=2))
    assert net._plain is False
    assert a.send(b"world") == 2
    assert b.recv(100) == b"hellowo"


def test_a_recv_rule_added_mid_run_applies_to_the_next_recv():
    net = FakeNetwork(record=False)
    a, b = _pair(net)
    a.send(b"abcdef")
    net.add_fault(ShortRead(max_bytes=2))
    assert b.recv(100) == b"ab"


def test_a_delay_added_mid_run_holds_the_next_segment():
    net = FakeNetwork(record=False)
    a, b = _pair(net)
    net.add_fault(Delay(seconds=0.5))
    a.send(b"late")
    with pytest.raises(BlockingIOError):
        b.recv(10)
    net.sleep(0.6)
    assert b.recv(10) == b"late"


def test_the_cost_model_moves_the_clock_on_send_and_recv():
    net = FakeNetwork(record=False, cost=Cost(send=2e-6, recv=1e-6))
    a, b = _pair(net)
    t0 = net.now
    a.send(b"x")
    b.recv(1)
    assert net.now == pytest.approx(t0 + 3e-6)


def test_the_world_turns_the_fast_path_off_and_back_on():
    net = FakeNetwork(record=False)
    a, b = _pair(net)
    with net:
        assert net._plain is False
        errors = []

        def other():
            try:
                a.send(b"x")
            except SimulationError as e:
                errors.append(e)

        t = threading.Thread(target=other)
        t.start()
        t.join(5)
        assert errors, "a send from another thread went through in the world"
    assert net._plain is True
    assert a.send(b"y") == 1
    assert b.recv(10) == b"y"
