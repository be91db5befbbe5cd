"""The TCP socket's fast paths give what the general paths give.

send() and recv() test one flag, ``net._plain`` (no send, recv, delivery or
stream rule, no cost model, no world owning the sockets), where they would
otherwise test each of those: these tests check that every way of turning
one of those on turns the flag off, at once, so that the rule, the cost or
the thread check applies to the very next call.
"""

from __future__ import annotations

import random
import socket
import struct
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
from readiness_oracle import normal, oracle, wait_answer


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


# -- the poller's common case (its answers from tables) ----------------------


def _tcp_step(rng, net, socks):
    a = rng.choice(socks)
    if a.fd is None:
        return
    what = rng.random()
    try:
        if what < 0.35:
            a.send(b"x" * rng.choice([1, 10, 4096, 70000]))
        elif what < 0.65:
            a.recv(rng.choice([1, 100, 100000]))
        elif what < 0.72:
            a.send(b"!", socket.MSG_OOB)
        elif what < 0.75:
            a.shutdown(socket.SHUT_WR)
        elif what < 0.77:
            a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            a.close()
        elif what < 0.79:
            a.close()
    except OSError:
        pass


@pytest.mark.parametrize("method", ["select", "poll", "epoll"])
@pytest.mark.parametrize("seed", range(6))
def test_the_common_case_answers_as_the_readiness_says(method, seed):
    # Interest kept from one wait to the next (changed=False: the tables'
    # path) against each socket's own _revents(), after random TCP traffic
    # (data, urgent bytes, FINs, RSTs, closes) between four pairs.
    rng = random.Random(seed)
    net = FakeNetwork(seed=seed, record=False)
    socks = []
    for _ in range(4):
        socks.extend(_pair(net))
    fds = [s.fd for s in socks]
    kept = net.poller(method)
    choices = [[3] * 8, [1, 2, 3, 1, 2, 3, 1, 2], [3, 3, 0, 3, 1, 3, 3, 3],
               [7, 3, 3, 3, 3, 3, 3, 7], [6, 2, 0, 3, 7, 3, 5, 1]]
    masks = choices[0]
    assert normal(wait_answer(kept, fds, masks, True)) is not None
    fast = 0
    for _ in range(300):
        _tcp_step(rng, net, socks)
        live = [s.fd for s in socks if s.fd is not None]
        if live != fds or rng.random() < 0.05:
            # A close (its descriptor leaves the interest, as del_channel
            # takes it out of the map) or another interest.
            fds = live
            masks = rng.choice(choices)[: len(fds)]
            got = normal(wait_answer(kept, fds, masks, True))
        else:
            fast += not kept._slow and kept._generation == net._generation
            got = normal(wait_answer(kept, fds, masks, False))
        want = oracle(net, method, fds, masks)
        if want in ([], ([], [], [])):
            continue  # nothing ready: the wait's answer is empty too
        assert got == want, masks
    assert fast > 50, "the common case was hardly ever taken (%d)" % fast


def test_the_tables_are_the_bit_rules():
    from fake_net import _poller

    for m in range(8):
        for rev in range(32):
            case = _poller._SELECT_CASE[m][rev]
            assert bool(case & 4) == bool(m & 4 and rev & 8)
            if not case & 4:
                assert bool(case & 1) == bool(m & 1 and rev & (1 | 8 | 16))
                assert bool(case & 2) == bool(m & 2 and rev & 2)
            assert _poller._POLL_EVENTS[m][rev] == rev & (m | 8 | 16)


def test_masks_beyond_in_pri_out_take_the_full_wait():
    # A program's own poll() may ask for POLLRDNORM (64) and such: the
    # tables stop at IN|PRI|OUT, so such an interest is answered in full.
    net = FakeNetwork(record=False)
    a, b = _pair(net)
    poller = net.poller("poll")
    a.send(b"hi")
    assert poller.wait([b.fd], [1 | 64], True, [], 0.0) == [(b.fd, 1)]
    assert poller._slow
    assert poller.wait([b.fd], [1 | 64], False, [], 0.0) == [(b.fd, 1)]
