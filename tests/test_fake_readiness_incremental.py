"""The ready bits fake_net keeps incrementally equal what ``_revents()`` computes.

``FakeSocket.send``/``recv`` and segment delivery update ``net._ready`` and
``net._rready`` bit by bit on their fast paths instead of recomputing
readiness from scratch (``FakeSocket._revents``, Linux's ``tcp_poll``, stays
the reference).  These tests drive random sequences of socket operations,
with and without fault rules, and after every operation compare each open
socket's kept bits with ``_revents()``, and ``_rready`` with ``_ready``.

Rules: every sequence comes from a fixed seed (``random.Random(seed)``), so
a failure names the seed and the step that reproduce it.
"""

from __future__ import annotations

import random
import socket

import pytest

from fake_net import (
    Delay,
    FakeNetwork,
    InjectOOB,
    PartialSend,
    PeerClose,
    PeerReset,
    ShortRead,
)
from fake_net._socket import FakeSocket

OUT = 4


def _check(net: FakeNetwork, where: str) -> None:
    for fd, obj in net._objects.items():
        if not isinstance(obj, FakeSocket):
            continue
        want = obj._revents()
        got = net._ready.get(fd, 0)
        assert got == want, "%s: fd %d (%r) keeps %#x, _revents() says %#x" % (
            where, fd, obj, got, want)
        # The receive queue: bytes (b"" or one segment, kept uncopied) or a
        # bytearray holding something; an emptied queue is b"" again, so
        # the next segment is kept without a copy.
        assert type(obj.rbuf) in (bytes, bytearray), "%s: fd %d rbuf is %r" % (
            where, fd, type(obj.rbuf))
        assert type(obj.rbuf) is bytes or obj.rbuf, (
            "%s: fd %d: an empty bytearray queue" % (where, fd))
        want_r = want if want & ~OUT else 0
        assert net._rready.get(fd, 0) == want_r, "%s: fd %d _rready %#x, want %#x" % (
            where, fd, net._rready.get(fd, 0), want_r)
    for fd in list(net._ready) + list(net._rready):
        assert fd in net._objects, "%s: fd %d is closed but kept ready" % (where, fd)


def _pairs(net: FakeNetwork, rng: random.Random) -> list:
    """Connected pairs: socketpairs, and connect()/accept() ones."""
    socks = []
    for _ in range(2):
        a, b = net.socketpair()
        socks += [a, b]
    lst = net.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(4)
    port = lst.getsockname()[1]
    for _ in range(2):
        c = net.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        socks.append(c)
    poller = net.poller("poll")
    for _ in range(5):
        poller.wait([lst.fd], [1], True, [], 0)
        while lst.accept_q:
            s, _addr = lst.accept()
            socks.append(s)
    for s in socks:
        s.setblocking(False)
    return socks + [lst]


def _run(seed: int, faults: list, steps: int = 400) -> None:
    rng = random.Random(seed)
    net = FakeNetwork(seed=seed, faults=faults, capacity=rng.choice([64, 512, 4096]),
                      max_steps=1 << 30, idle_limit=1 << 30, register_random=False)
    socks = _pairs(net, rng)
    _check(net, "seed %d setup" % seed)
    poller = net.poller(rng.choice(["poll", "select", "epoll"]))
    for i in range(steps):
        s = rng.choice(socks)
        op = rng.choice(["send"] * 5 + ["recv"] * 5 + [
            "bytes", "oob", "peek", "oob_recv", "shutdown", "close", "wait",
            "wait", "error", "recv_all"])
        try:
            if op == "send":
                s.send(b"d" * rng.randint(1, 300))
            elif op == "bytes":
                s.send(bytearray(rng.randint(1, 50)))
            elif op == "recv":
                s.recv(rng.randint(1, 300))
            elif op == "recv_all":
                s.recv(1 << 20)
            elif op == "oob":
                s.send(b"!", socket.MSG_OOB)
            elif op == "peek":
                s.recv(rng.randint(1, 40), socket.MSG_PEEK)
            elif op == "oob_recv":
                s.recv(1, socket.MSG_OOB)
            elif op == "shutdown" and rng.random() < 0.3:
                s.shutdown(rng.choice([socket.SHUT_RD, socket.SHUT_WR,
                                       socket.SHUT_RDWR]))
            elif op == "close" and rng.random() < 0.15:
                s.close()
            elif op == "error":
                s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            elif op == "wait":
                fds = [x.fd for x in socks if x.fd is not None]
                if fds:
                    poller.wait(fds, [7] * len(fds), True, [], rng.choice([0, 0.5]))
        except (OSError, ValueError):
            pass
        _check(net, "seed %d step %d (%s on %r)" % (seed, i, op, s))


@pytest.mark.parametrize("seed", range(12))
def test_incremental_bits_match_revents_without_faults(seed: int) -> None:
    _run(seed, [])


FAULT_SETS = [
    [PartialSend(max_bytes=7), ShortRead(probability=0.5)],
    [Delay(seconds=0.01, jitter=0.02, probability=0.5)],
    [PeerReset(after_bytes=900), ShortRead(max_bytes=3)],
    [PeerClose(after_bytes=700), Delay(seconds=0.05)],
    [InjectOOB(after_bytes=200), PartialSend(probability=0.3)],
]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("plan", range(len(FAULT_SETS)))
def test_incremental_bits_match_revents_with_faults(plan: int, seed: int) -> None:
    _run(100 + seed, list(FAULT_SETS[plan]))


def test_the_check_sees_a_stale_bit() -> None:
    """The comparison itself catches a bit that was not kept up to date."""
    net = FakeNetwork(register_random=False)
    a, b = net.socketpair()
    a.send(b"x")
    _check(net, "before")
    net._ready[b.fd] &= ~1  # POLLIN lost behind the network's back
    with pytest.raises(AssertionError, match="_revents"):
        _check(net, "after")


@pytest.mark.parametrize("seed", range(4))
def test_the_stream_arrives_whole_and_in_order(seed: int) -> None:
    """recv() hands back delivered segments without copying them when it
    takes one whole: the bytes read are still the bytes sent, in order."""
    rng = random.Random(seed)
    net = FakeNetwork(seed=seed, capacity=rng.choice([16, 256, 65536]),
                      register_random=False)
    a, b = net.socketpair()
    for s in (a, b):
        s.setblocking(False)
    sent, got = bytearray(), bytearray()
    for i in range(300):
        if rng.random() < 0.5:
            chunk = bytes([i % 251]) * rng.randint(1, 100)
            if rng.random() < 0.3:
                chunk = chunk[:-1] + b"z"
            try:
                n = a.send(chunk if rng.random() < 0.7 else bytearray(chunk))
            except BlockingIOError:
                continue
            sent += chunk[:n]
        else:
            try:
                got += b.recv(rng.choice([1, 7, 100, 1 << 16]))
            except BlockingIOError:
                pass
        _check(net, "seed %d step %d" % (seed, i))
    while True:
        try:
            data = b.recv(1 << 16)
        except BlockingIOError:
            break
        got += data
    assert bytes(got) == bytes(sent)
