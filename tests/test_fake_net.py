"""Tests of fake_net at the network level: FakeSocket objects and the pollers.

Sockets come from ``net.socket()``/``net.socketpair()`` and readiness is
asked of ``net.poller("poll").wait(...)``, so these tests pin what the
simulated network itself promises (names, descriptors, ports, virtual time,
every fault rule, errors, stuck detection, netstat, files and pipes,
determinism and the recorded events) independently of the dispatcher core.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import os
import re
import select
import socket
import subprocess
import sys
import time

import attrs
import hypothesis
import pytest
from hypothesis import strategies as st

import asyncore_sim
import fake_net
import real_net
import asyncore_seam
from fake_net import (
    ConnectLatency,
    ConnectTimeout,
    Delay,
    Event,
    FakeNetwork,
    InjectOOB,
    InterruptWait,
    Match,
    PartialSend,
    PeerClose,
    PeerReset,
    PendingError,
    RealSocketForbidden,
    RefuseConnect,
    ShortRead,
    SimulationBudgetExceeded,
    SimulationError,
    SimulationStuck,
    SpuriousReady,
)

IN = select.POLLIN
PRI = select.POLLPRI
OUT = select.POLLOUT
ERR = select.POLLERR
HUP = select.POLLHUP

SO_ERROR = (socket.SOL_SOCKET, socket.SO_ERROR)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def wait(net, socks, masks, timeout, poller=None):
    """One readiness call on ``net``: ``{fd: revents}``."""
    poller = poller or net.poller("poll")
    fds = [s if isinstance(s, int) else s.fileno() for s in socks]
    return dict(poller.wait(fds, list(masks), True, [], timeout))


def listener(net, port, ip="127.0.0.1"):
    lst = net.socket()
    lst.setblocking(False)
    lst.bind((ip, port))
    lst.listen(5)
    return lst


def connecting(net, port, host="127.0.0.1"):
    c = net.socket()
    c.setblocking(False)
    assert c.connect_ex((host, port)) == errno.EINPROGRESS
    return c


def connected(net, port=8080):
    """``(client, server, listener)``: a connection made through a listener."""
    lst = listener(net, port)
    c = connecting(net, port)
    assert wait(net, [lst], [IN], 1.0) == {lst.fileno(): IN}
    s, _ = lst.accept()
    s.setblocking(False)
    return c, s, lst


def nb_pair(net):
    """A non-blocking ``socketpair()`` (a is the client side, b the server)."""
    a, b = net.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


def fault_events(net, name=None):
    return [
        e
        for e in net.events
        if e.kind == "fault" and (name is None or e.data[0] == name)
    ]


# ---------------------------------------------------------------------------
# names
# ---------------------------------------------------------------------------


def test_default_names_resolve():
    net = FakeNetwork()
    assert net.getaddrinfo("localhost", 80)[0][4] == ("127.0.0.1", 80)
    assert net.getaddrinfo("www.python.org", 443)[0][4] == (
        fake_net.DEFAULT_NAMES["www.python.org"],
        443,
    )
    family, type_, proto, _, _ = net.getaddrinfo("localhost", 80)[0]
    assert (family, type_, proto) == (socket.AF_INET, socket.SOCK_STREAM, 6)
    # A listener on localhost is reached by name.
    lst = listener(net, 8080)
    c = connecting(net, 8080, host="localhost")
    assert wait(net, [lst], [IN], 1.0) == {lst.fileno(): IN}
    assert c.getpeername() == ("127.0.0.1", 8080)


def test_add_name_and_names_argument():
    net = FakeNetwork(names={"db.test": "10.0.0.7"})
    net.add_name("cache.test", "10.0.0.8")
    assert net.getaddrinfo("db.test", 5432)[0][4] == ("10.0.0.7", 5432)
    assert net.getaddrinfo("cache.test", 11211)[0][4] == ("10.0.0.8", 11211)
    # The default table is still there; another network is unaffected.
    assert net.getaddrinfo("localhost", 1)[0][4] == ("127.0.0.1", 1)
    with pytest.raises(socket.gaierror):
        FakeNetwork().getaddrinfo("cache.test", 1)
    # A connect by the new name goes to that address.
    lst = listener(net, 6379, ip="10.0.0.8")
    c = connecting(net, 6379, host="cache.test")
    assert wait(net, [lst], [IN], 1.0) == {lst.fileno(): IN}
    assert c.getpeername() == ("10.0.0.8", 6379)


def test_unknown_name_raises_gaierror():
    net = FakeNetwork()
    s = net.socket()
    s.setblocking(False)
    with pytest.raises(socket.gaierror) as info:
        s.connect_ex(("no-such-host.invalid", 80))
    assert info.value.errno == socket.EAI_NONAME
    assert info.value.strerror == "Name or service not known"
    assert str(info.value) == "[Errno -2] Name or service not known"
    with pytest.raises(socket.gaierror) as info:
        net.getaddrinfo("no-such-host.invalid", 80)
    assert info.value.errno == socket.EAI_NONAME
    assert info.value.strerror == "Name or service not known"


# ---------------------------------------------------------------------------
# descriptors and ports
# ---------------------------------------------------------------------------


def test_fds_are_allocated_lowest_free():
    net = FakeNetwork()
    a, b, c = net.socket(), net.socket(), net.socket()
    assert [a.fileno(), b.fileno(), c.fileno()] == [3, 4, 5]
    b.close()
    assert b.fileno() == -1
    assert net.socket().fileno() == 4
    assert net.socket().fileno() == 6
    # Files and pipes share the one table.
    a.close()
    assert net.open_file(b"data") == 3
    assert net.pipe() == (7, 8)
    net.close_fd(4)
    net.close_fd(7)
    assert net.pipe() == (4, 7)
    assert net.open_fds() == [3, 4, 5, 6, 7, 8]
    # Accepted sockets take a descriptor from the same table too.
    lst = listener(net, 80)  # fd 9
    connecting(net, 80)  # fd 10
    net.close_fd(5)
    assert wait(net, [lst], [IN], 1.0)
    conn, _ = lst.accept()
    assert conn.fileno() == 5


def _ephemeral_ports(seed):
    net = FakeNetwork(seed=seed)
    ports = []
    for _ in range(3):
        a, b = net.socketpair()
        ports += [a.getsockname()[1], b.getsockname()[1]]
    c = connecting(net, 9, host="127.0.0.1")
    ports.append(c.getsockname()[1])
    return ports


def test_ephemeral_ports_follow_the_seed():
    ports = _ephemeral_ports(11)
    assert ports == _ephemeral_ports(11)
    assert all(32768 <= p <= 60999 for p in ports)
    assert len(set(ports)) == len(ports)
    assert ports != _ephemeral_ports(12)


def test_scripted_ephemeral_ports_are_used_in_order():
    net = FakeNetwork(ephemeral_ports=[40000, 40001])
    lst = listener(net, 80)
    c = connecting(net, 80)
    assert c.getsockname() == ("127.0.0.1", 40000)
    s = net.socket()
    s.bind(("127.0.0.1", 0))
    assert s.getsockname() == ("127.0.0.1", 40001)
    assert wait(net, [lst], [IN], 1.0)
    conn, addr = lst.accept()
    assert addr == ("127.0.0.1", 40000)
    with pytest.raises(SimulationError, match="ephemeral ports ran out"):
        net.socket().bind(("127.0.0.1", 0))


# ---------------------------------------------------------------------------
# virtual time
# ---------------------------------------------------------------------------


def test_virtual_clock_never_sleeps(monkeypatch):
    def no_sleep(seconds):
        raise AssertionError("fake_net slept for real (%r s)" % (seconds,))

    monkeypatch.setattr(time, "sleep", no_sleep)
    net = FakeNetwork()
    a, b = nb_pair(net)
    started = time.perf_counter()
    assert wait(net, [a], [IN], 5) == {}
    assert net.now == 5.0
    assert net.monotonic() == 5.0
    net.sleep(2)
    assert net.now == 7.0
    net.sleep(0)
    assert net.now == 7.0
    # An hour of virtual time costs no wall time.
    assert wait(net, [a], [IN], 3600) == {}
    assert net.now == 3607.0
    assert time.perf_counter() - started < 1.0
    with pytest.raises(TypeError):
        net.sleep(None)
    with pytest.raises(ValueError):
        net.sleep(-1)
    assert net.now == 3607.0


def test_wait_runs_scheduled_events_in_time_order():
    net = FakeNetwork(faults=[Delay(seconds=3.0)])
    a, b = nb_pair(net)
    a.send(b"x")
    # The timeout is longer than the delay: the wait returns when the data
    # arrives, at 3 s, not at the end of the timeout.
    assert wait(net, [b], [IN], 10) == {b.fileno(): IN}
    assert net.now == 3.0


# ---------------------------------------------------------------------------
# faults, one by one
# ---------------------------------------------------------------------------


def test_partial_send():
    net = FakeNetwork(faults=[PartialSend(max_bytes=3)])
    a, b = nb_pair(net)
    assert a.send(b"abcdefgh") == 3
    assert a.send(b"de") == 2  # no shorter than what was asked
    assert b.recv(100) == b"abcde"
    assert [e.data for e in fault_events(net)] == [("PartialSend", 3)]


def test_partial_send_zero_would_block():
    net = FakeNetwork(faults=[PartialSend(max_bytes=0, times=1)])
    a, b = nb_pair(net)
    with pytest.raises(BlockingIOError) as info:
        a.send(b"abc")
    assert info.value.errno == errno.EAGAIN
    assert a.send(b"abc") == 3
    assert b.recv(10) == b"abc"
    assert [e.data for e in fault_events(net)] == [("PartialSend", 0)]


def test_short_read():
    net = FakeNetwork(faults=[ShortRead(max_bytes=2)])
    a, b = nb_pair(net)
    assert a.send(b"abcde") == 5
    assert [b.recv(100), b.recv(100), b.recv(100)] == [b"ab", b"cd", b"e"]
    with pytest.raises(BlockingIOError):
        b.recv(100)
    assert [e.data for e in fault_events(net)] == [("ShortRead", 2)] * 2


def test_delay():
    net = FakeNetwork(faults=[Delay(seconds=1.5)])
    a, b = nb_pair(net)
    poller = net.poller("poll")
    assert a.send(b"hello") == 5
    assert wait(net, [b], [IN], 1, poller) == {}
    assert net.now == 1.0
    with pytest.raises(BlockingIOError):
        b.recv(10)
    assert wait(net, [b], [IN], 1, poller) == {b.fileno(): IN}
    assert net.now == 1.5
    assert b.recv(10) == b"hello"
    assert [e.data for e in fault_events(net)] == [("Delay", 1.5)]


def test_delay_with_jitter_keeps_segments_in_order():
    net = FakeNetwork(seed=3, faults=[Delay(seconds=0.1, jitter=1.0)])
    a, b = nb_pair(net)
    for i in range(30):
        a.send(b"%02d," % i)
    delays = [e.data[1] for e in fault_events(net, "Delay")]
    assert len(delays) == 30
    assert all(0.1 <= d <= 1.1 for d in delays)
    assert delays != sorted(delays)  # the jitter would reorder them...
    got = b""
    poller = net.poller("poll")
    while len(got) < 90:
        assert wait(net, [b], [IN], 5, poller) == {b.fileno(): IN}
        got += b.recv(1000)
    # ... but TCP does not.
    assert got == b"".join(b"%02d," % i for i in range(30))
    assert net.now <= 1.1


def test_inject_oob():
    net = FakeNetwork(faults=[InjectOOB(after_bytes=4, match=Match(side="server"))])
    a, b = nb_pair(net)
    a.send(b"abcdefgh")
    assert wait(net, [a, b], [IN | PRI, IN | PRI], 1) == {b.fileno(): IN | PRI}
    assert b.recv(1, socket.MSG_OOB) == b"!"
    assert wait(net, [b], [PRI], 0) == {}
    with pytest.raises(OSError) as info:
        b.recv(1, socket.MSG_OOB)
    assert info.value.errno == errno.EINVAL
    received = b""
    while True:
        try:
            received += b.recv(100)
        except BlockingIOError:
            break
    assert received == b"abcdefgh"
    [event] = fault_events(net)
    assert (event.fd, event.data) == (b.fileno(), ("InjectOOB", 4))


def test_inject_oob_custom_byte_at_time():
    net = FakeNetwork(faults=[InjectOOB(at_time=2.0, byte=b"U", match=Match(fd=4))])
    a, b = nb_pair(net)
    assert b.fileno() == 4
    assert wait(net, [a, b], [PRI, PRI], 10) == {b.fileno(): PRI}
    assert net.now == 2.0
    assert b.recv(1, socket.MSG_OOB) == b"U"


def test_peer_close_after_bytes():
    net = FakeNetwork(faults=[PeerClose(after_bytes=5, match=Match(side="server"))])
    a, b = nb_pair(net)
    assert a.send(b"0123456789") == 10
    assert b.recv(100) == b"01234"
    assert b.recv(100) == b""
    assert b.recv(100) == b""
    # The bytes after the cut never arrive, and the victim sees EOF, not HUP.
    assert wait(net, [b], [IN | OUT], 0) == {b.fileno(): IN | OUT}
    [event] = fault_events(net)
    assert (event.fd, event.data) == (b.fileno(), ("PeerClose", 5))
    # The other side's data goes nowhere and draws a reset.
    a.send(b"more")
    wait(net, [a], [IN], 1)
    with pytest.raises((ConnectionResetError, BrokenPipeError)):
        a.send(b"again")


def test_peer_close_at_time():
    net = FakeNetwork(faults=[PeerClose(at_time=2.0, match=Match(side="server"))])
    a, b = nb_pair(net)
    assert wait(net, [a, b], [IN, IN], 10) == {b.fileno(): IN}
    assert net.now == 2.0
    assert b.recv(100) == b""
    assert [e.data for e in fault_events(net)] == [("PeerClose", 2.0)]


def test_peer_reset_after_bytes():
    net = FakeNetwork(faults=[PeerReset(after_bytes=5, match=Match(side="server"))])
    a, b = nb_pair(net)
    assert a.send(b"0123456789") == 10
    assert b.recv(100) == b"01234"
    with pytest.raises(ConnectionResetError) as info:
        b.recv(100)
    assert info.value.errno == errno.ECONNRESET
    with pytest.raises(BrokenPipeError) as info:
        b.send(b"x")
    assert info.value.errno == errno.EPIPE
    # Both ends of a reset connection are reset.
    with pytest.raises(ConnectionResetError):
        a.recv(100)
    [event] = fault_events(net)
    assert (event.fd, event.data) == (b.fileno(), ("PeerReset", 5))


def test_peer_reset_at_time():
    net = FakeNetwork(faults=[PeerReset(at_time=1.0, match=Match(side="client"))])
    a, b = nb_pair(net)
    revents = wait(net, [a], [IN], 5)
    assert net.now == 1.0
    assert revents[a.fileno()] & ERR
    assert a.getsockopt(*SO_ERROR) == errno.ECONNRESET
    assert a.recv(10) == b""  # the error was collected by SO_ERROR
    with pytest.raises(BrokenPipeError):
        a.send(b"x")


def test_refuse_connect_by_port():
    net = FakeNetwork(faults=[RefuseConnect(match=Match(port=80))])
    l80, l81 = listener(net, 80), listener(net, 81)
    c80, c81 = connecting(net, 80), connecting(net, 81)
    revents = wait(net, [l80, l81, c80, c81], [IN, IN, IN | OUT, IN | OUT], 1)
    assert revents[c80.fileno()] & (ERR | HUP) == ERR | HUP
    assert revents[c81.fileno()] == OUT
    assert revents[l81.fileno()] == IN
    assert l80.fileno() not in revents
    assert c80.getsockopt(*SO_ERROR) == errno.ECONNREFUSED
    assert c80.getsockopt(*SO_ERROR) == 0
    assert c81.getsockopt(*SO_ERROR) == 0
    assert [e.data[0] for e in fault_events(net)] == ["RefuseConnect"]


def test_connect_to_nobody_is_refused():
    net = FakeNetwork()
    c = connecting(net, 4444)
    wait(net, [c], [OUT], 1)
    assert c.getsockopt(*SO_ERROR) == errno.ECONNREFUSED
    b = net.socket()
    assert b.connect_ex(("127.0.0.1", 4444)) == errno.ECONNREFUSED  # blocking


def test_connect_timeout():
    net = FakeNetwork(faults=[ConnectTimeout(after=127)])
    lst = listener(net, 80)
    c = connecting(net, 80)
    poller = net.poller("poll")
    assert wait(net, [c, lst], [OUT, IN], 100, poller) == {}
    assert net.now == 100.0
    assert wait(net, [c, lst], [OUT, IN], 100, poller)[c.fileno()] & ERR
    assert net.now == 127.0
    assert c.getsockopt(*SO_ERROR) == errno.ETIMEDOUT
    assert c.getsockopt(*SO_ERROR) == 0
    assert fake_net.LINUX_CONNECT_TIMEOUT == 127.0
    assert ConnectTimeout().after == 127.0


def test_connect_latency():
    net = FakeNetwork(faults=[ConnectLatency(seconds=0.5)])
    lst = listener(net, 80)
    c = connecting(net, 80)
    poller = net.poller("poll")
    assert wait(net, [c, lst], [OUT, IN], 0.25, poller) == {}
    assert wait(net, [c, lst], [OUT, IN], 1, poller) == {
        c.fileno(): OUT,
        lst.fileno(): IN,
    }
    assert net.now == 0.5
    assert c.getsockopt(*SO_ERROR) == 0


def test_spurious_ready():
    net = FakeNetwork(faults=[SpuriousReady(times=1)])
    a, b = nb_pair(net)
    poller = net.poller("poll")
    assert wait(net, [a], [IN], 1, poller) == {a.fileno(): IN}
    assert net.now == 0.0
    with pytest.raises(BlockingIOError):
        a.recv(10)
    assert wait(net, [a], [IN], 1, poller) == {}  # times=1: only once
    assert [e.data for e in fault_events(net)] == [("SpuriousReady", IN)]


def test_interrupt_wait():
    net = FakeNetwork(faults=[InterruptWait(at_step=0)])
    a, b = nb_pair(net)
    poller = net.poller("poll")
    with pytest.raises(InterruptedError) as info:
        wait(net, [a], [OUT], 1, poller)
    assert info.value.errno == errno.EINTR
    assert wait(net, [a], [OUT], 1, poller) == {a.fileno(): OUT}
    assert [(e.fd, e.data) for e in fault_events(net)] == [(-1, ("InterruptWait", 0))]


def test_pending_error_reported_once():
    net = FakeNetwork(
        faults=[
            PendingError(
                errno=errno.ECONNABORTED, after_bytes=2, match=Match(side="server")
            )
        ]
    )
    a, b = nb_pair(net)
    a.send(b"xyz")
    assert wait(net, [b], [IN], 0)[b.fileno()] & ERR
    assert b.getsockopt(*SO_ERROR) == errno.ECONNABORTED
    assert b.getsockopt(*SO_ERROR) == 0
    assert a.getsockopt(*SO_ERROR) == 0
    assert b.recv(10) == b"xyz"


def test_pending_error_at_time():
    net = FakeNetwork(
        faults=[PendingError(errno=errno.ETIMEDOUT, at_time=3.0, match=Match(conn=1))]
    )
    a0, b0 = nb_pair(net)
    a1, b1 = nb_pair(net)
    fds = [a0, b0, a1, b1]
    revents = wait(net, fds, [IN] * 4, 10)
    assert net.now == 3.0
    assert sorted(revents) == [a1.fileno(), b1.fileno()]
    assert all(r & ERR for r in revents.values())
    assert [s.getsockopt(*SO_ERROR) for s in fds] == [0, 0] + [errno.ETIMEDOUT] * 2
    assert [s.getsockopt(*SO_ERROR) for s in fds] == [0, 0, 0, 0]
    assert wait(net, fds, [IN] * 4, 0) == {}


def test_pending_error_at_offset_zero():
    net = FakeNetwork(faults=[PendingError(errno=errno.ECONNABORTED, after_bytes=0)])
    c, s, _ = connected(net)
    assert c.getsockopt(*SO_ERROR) == errno.ECONNABORTED
    assert c.getsockopt(*SO_ERROR) == 0


# ---------------------------------------------------------------------------
# matching, times, probability, rule order
# ---------------------------------------------------------------------------


def test_match_port():
    net = FakeNetwork(faults=[PartialSend(max_bytes=2, match=Match(port=8081))])
    c0, s0, _ = connected(net, 8080)
    c1, s1, _ = connected(net, 8081)
    assert c0.send(b"abcdef") == 6
    assert s0.send(b"abcdef") == 6
    assert c1.send(b"abcdef") == 2  # local or remote port: both ends match
    assert s1.send(b"abcdef") == 2


def test_match_side_and_conn_and_fd():
    net = FakeNetwork(
        faults=[
            ShortRead(max_bytes=1, match=Match(side="server")),
            PartialSend(max_bytes=2, match=Match(conn=1)),
        ]
    )
    a0, b0 = nb_pair(net)  # connection 0
    a1, b1 = nb_pair(net)  # connection 1
    assert (a0.conn, a1.conn) == (0, 1)
    assert a0.send(b"abcd") == 4
    assert b0.send(b"abcd") == 4
    assert a1.send(b"abcd") == 2
    assert b1.send(b"abcd") == 2
    assert a0.recv(10) == b"abcd"  # client side: whole
    assert b0.recv(10) == b"a"  # server side: short
    net2 = FakeNetwork(faults=[PartialSend(max_bytes=1, match=Match(fd=4))])
    a, b = nb_pair(net2)
    assert (a.send(b"xyz"), b.send(b"xyz")) == (3, 1)


def test_times_caps_the_firings():
    net = FakeNetwork(faults=[PartialSend(max_bytes=2, times=1)])
    a, b = nb_pair(net)
    assert [a.send(b"abcd"), a.send(b"abcd"), a.send(b"abcd")] == [2, 4, 4]
    assert len(fault_events(net)) == 1


def _probability_pattern(seed):
    net = FakeNetwork(seed=seed, faults=[PartialSend(max_bytes=1, probability=0.5)])
    a, b = nb_pair(net)
    pattern = []
    for _ in range(40):
        pattern.append(a.send(b"ab"))
        b.recv(10)
    return pattern


def test_probability_draws_from_the_seeded_source():
    pattern = _probability_pattern(5)
    assert set(pattern) == {1, 2}
    assert pattern == _probability_pattern(5)
    assert pattern != _probability_pattern(6)
    net = FakeNetwork(faults=[PartialSend(max_bytes=1, probability=0.0)])
    a, b = nb_pair(net)
    assert a.send(b"ab") == 2


def test_rule_order_first_verdict_wins():
    for first, second, expected in ((3, 5, 3), (5, 3, 5)):
        net = FakeNetwork(
            faults=[PartialSend(max_bytes=first), PartialSend(max_bytes=second)]
        )
        a, b = nb_pair(net)
        assert a.send(b"0123456789") == expected
        assert [e.data for e in fault_events(net)] == [("PartialSend", expected)]
    # A rule that passes (no verdict) leaves the decision to the next one:
    # it does not match, or its cap is no cap for this send.
    for skipped in (
        PartialSend(max_bytes=3, match=Match(side="server")),
        PartialSend(max_bytes=100),
        PartialSend(max_bytes=3, probability=0.0),
    ):
        net = FakeNetwork(faults=[skipped])
        net.add_fault(PartialSend(max_bytes=5))
        assert net.faults == [skipped, PartialSend(max_bytes=5)]
        a, b = nb_pair(net)
        assert a.send(b"0123456789") == 5


def test_every_firing_is_a_fault_event():
    net = FakeNetwork(
        faults=[PartialSend(max_bytes=4), ShortRead(max_bytes=3), Delay(seconds=0.5)]
    )
    a, b = nb_pair(net)
    assert a.send(b"0123456789") == 4
    assert a.send(b"456789") == 4
    wait(net, [b], [IN], 1)
    assert [b.recv(100), b.recv(100), b.recv(100)] == [b"012", b"345", b"67"]
    assert [(e.time, e.fd, e.data) for e in fault_events(net)] == [
        (0.0, 3, ("PartialSend", 4)),
        (0.0, 3, ("Delay", 0.5)),
        (0.0, 3, ("PartialSend", 4)),
        (0.0, 3, ("Delay", 0.5)),
        (0.5, 4, ("ShortRead", 3)),
        (0.5, 4, ("ShortRead", 3)),
    ]
    assert sum(line.split()[1] == "fault" for line in net.event_lines()) == 6


# ---------------------------------------------------------------------------
# fault values
# ---------------------------------------------------------------------------

ALL_FAULTS = [
    PartialSend(max_bytes=3),
    ShortRead(max_bytes=2, times=4),
    Delay(seconds=1.5, jitter=0.25),
    InjectOOB(after_bytes=4, byte=b"#"),
    PeerClose(after_bytes=5),
    PeerReset(at_time=2.0, match=Match(port=80)),
    RefuseConnect(match=Match(port=80)),
    ConnectTimeout(after=127),
    ConnectLatency(seconds=0.5, probability=0.5),
    SpuriousReady(events=IN | OUT),
    InterruptWait(at_step=0),
    PendingError(errno=errno.ECONNABORTED, after_bytes=0),
    Match(side="server", conn=1),
]


@pytest.mark.parametrize("value", ALL_FAULTS, ids=lambda v: type(v).__name__)
def test_fault_values_are_attrs_values(value):
    cls = type(value)
    assert attrs.has(cls)
    text = repr(value)
    assert text.startswith(cls.__name__ + "(")
    copy = attrs.evolve(value)
    assert copy == value and copy is not value
    assert hash(copy) == hash(value)
    assert len({value, copy}) == 1
    assert eval(text, vars(fake_net)) == value
    field = attrs.fields(cls)[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(value, field, getattr(value, field))
    assert value != attrs.evolve(value, **_different(value))


def _different(value):
    if isinstance(value, Match):
        return {"port": 9}
    return {"times": 99}


def test_fault_values_compare_by_value():
    assert PartialSend(max_bytes=3) == PartialSend(max_bytes=3)
    assert PartialSend(max_bytes=3) != PartialSend(max_bytes=4)
    assert PartialSend(max_bytes=3) != ShortRead(max_bytes=3)
    assert PeerClose(after_bytes=1) != PeerReset(after_bytes=1)
    assert Match() == fake_net.ANY
    assert "max_bytes=3" in repr(PartialSend(max_bytes=3))
    assert "side='server'" in repr(Match(side="server"))
    assert isinstance(PartialSend(), fake_net.Fault)


@pytest.mark.parametrize(
    "make, exc, message",
    [
        (
            lambda: PeerClose(),
            ValueError,
            "PeerClose needs exactly one of after_bytes= or at_time=",
        ),
        (lambda: PeerReset(after_bytes=1, at_time=1.0), ValueError, "exactly one of"),
        (lambda: InjectOOB(), ValueError, "InjectOOB needs exactly one"),
        (lambda: PendingError(), ValueError, "PendingError needs exactly one"),
        (
            lambda: PartialSend(probability=1.5),
            ValueError,
            r"probability must be within \[0, 1\], got 1.5",
        ),
        (lambda: ShortRead(probability=-0.1), ValueError, "probability must be within"),
        (
            lambda: PartialSend(max_bytes=-1),
            ValueError,
            "max_bytes must be >= 0, got -1",
        ),
        (lambda: ShortRead(max_bytes=-2), ValueError, "max_bytes must be >= 0"),
        (lambda: Delay(seconds=-1), ValueError, "seconds must be >= 0"),
        (lambda: Delay(jitter=-0.5), ValueError, "jitter must be >= 0"),
        (lambda: PeerClose(after_bytes=-5), ValueError, "after_bytes must be >= 0"),
        (lambda: PeerClose(at_time=-1.0), ValueError, "at_time must be >= 0"),
        (lambda: ConnectTimeout(after=-1), ValueError, "after must be >= 0"),
        (lambda: ConnectLatency(seconds=-0.5), ValueError, "seconds must be >= 0"),
        (lambda: InterruptWait(at_step=-1), ValueError, "at_step must be >= 0"),
        (lambda: PartialSend(times=-1), ValueError, "times must be >= 0"),
        (
            lambda: InjectOOB(after_bytes=1, byte=b"ab"),
            ValueError,
            "byte must be a single bytes value",
        ),
        (
            lambda: InjectOOB(after_bytes=1, byte="!"),
            ValueError,
            "byte must be a single bytes value",
        ),
        (lambda: Match(side="middle"), ValueError, "side"),
        (
            lambda: PartialSend(bytes=3),
            TypeError,
            "unexpected keyword argument 'bytes'",
        ),
        (lambda: PartialSend(3, ShortRead()), TypeError, "positional argument"),
        (
            lambda: FakeNetwork(faults=["PartialSend"]),
            TypeError,
            "not a fault rule: 'PartialSend'",
        ),
        (lambda: FakeNetwork(faults=[Match()]), TypeError, "not a fault rule"),
    ],
)
def test_invalid_fault_values_are_refused(make, exc, message):
    with pytest.raises(exc, match=message):
        make()


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


def _check_oserror(err, cls, code):
    assert type(err) is cls
    assert isinstance(err, OSError)
    assert err.errno == code
    assert err.strerror == os.strerror(code)
    assert str(err) == "[Errno %d] %s" % (code, os.strerror(code))


def test_errors_are_real_oserrors():
    net = FakeNetwork()
    a, b = nb_pair(net)
    with pytest.raises(OSError) as info:
        a.recv(10)
    _check_oserror(info.value, BlockingIOError, errno.EAGAIN)
    s = net.socket()
    s.setblocking(False)
    with pytest.raises(OSError) as info:
        s.recv(10)
    _check_oserror(info.value, OSError, errno.ENOTCONN)
    with pytest.raises(OSError) as info:
        s.getpeername()
    _check_oserror(info.value, OSError, errno.ENOTCONN)
    with pytest.raises(OSError) as info:
        s.send(b"x")
    _check_oserror(info.value, BrokenPipeError, errno.EPIPE)
    with pytest.raises(OSError) as info:
        listener(net, 80) and listener(net, 80)
    _check_oserror(info.value, OSError, errno.EADDRINUSE)
    s.close()
    with pytest.raises(OSError) as info:
        s.recv(10)
    _check_oserror(info.value, OSError, errno.EBADF)
    with pytest.raises(OSError) as info:
        net.read(99, 1)
    _check_oserror(info.value, OSError, errno.EBADF)
    with pytest.raises(OSError) as info:
        net.socket(socket.AF_INET, socket.SOCK_RAW)  # (SOCK_DGRAM is UDP)
    # Linux's errno, and a message naming what fake_net does not simulate.
    assert type(info.value) is OSError
    assert info.value.errno == errno.EPROTONOSUPPORT
    assert "SOCK_RAW" in str(info.value)
    for code, cls in (
        (errno.ECONNRESET, ConnectionResetError),
        (errno.ECONNREFUSED, ConnectionRefusedError),
        (errno.ECONNABORTED, ConnectionAbortedError),
        (errno.ETIMEDOUT, TimeoutError),
        (errno.EINTR, InterruptedError),
        (errno.EWOULDBLOCK, BlockingIOError),
    ):
        _check_oserror(fake_net.oserror(code), cls, code)


def test_connect_states_give_linux_errnos():
    net = FakeNetwork(faults=[ConnectLatency(seconds=1)])
    lst = listener(net, 80)
    c = connecting(net, 80)
    assert c.connect_ex(("127.0.0.1", 80)) == errno.EALREADY
    with pytest.raises(BlockingIOError):
        c.send(b"x")
    wait(net, [lst], [IN], 5)
    assert c.connect_ex(("127.0.0.1", 80)) in (0, errno.EISCONN)
    assert c.connect_ex(("127.0.0.1", 80)) == errno.EISCONN
    s = net.socket()
    with pytest.raises(OSError) as info:
        s.recv(1)
    assert info.value.errno == errno.ENOTCONN  # never connected
    lst.close()
    s.close()


# Linux behaviours, each checked on a real loopback socket.


def test_recv_while_connecting_would_block():
    net = FakeNetwork(faults=[ConnectLatency(seconds=1)])
    listener(net, 80)
    c = connecting(net, 80)
    with pytest.raises(BlockingIOError):
        c.recv(1)


def test_connect_ex_after_completion_reports_success_once():
    net = FakeNetwork()
    lst = listener(net, 80)
    c = connecting(net, 80)
    assert wait(net, [lst], [IN], 1)
    assert c.connect_ex(("127.0.0.1", 80)) == 0
    assert c.connect_ex(("127.0.0.1", 80)) == errno.EISCONN


def test_recv_stops_at_the_urgent_mark():
    net = FakeNetwork()
    a, b = nb_pair(net)
    a.send(b"abc")
    a.send(b"!", socket.MSG_OOB)
    a.send(b"defgh")
    assert b.recv(100) == b"abc"
    assert b.recv(1, socket.MSG_OOB) == b"!"
    assert b.recv(100) == b"defgh"


# ---------------------------------------------------------------------------
# stuck detection and budgets
# ---------------------------------------------------------------------------


def test_wait_forever_with_nothing_scheduled_is_stuck():
    net = FakeNetwork()
    a, b = nb_pair(net)
    lst = listener(net, 9000)
    with pytest.raises(SimulationStuck) as info:
        wait(net, [a, lst], [IN, IN], None)
    message = str(info.value)
    assert "a wait with no timeout can never return" in message
    assert re.search(r"^fd\s+kind\s+local\s+remote\s+state", message, re.M)
    assert re.search(
        r"^3\s+tcp\s+127\.0\.0\.1:\d+\s+127\.0\.0\.1:\d+\s+CONNECTED", message, re.M
    )
    assert re.search(r"^5\s+tcp\s+127\.0\.0\.1:9000\s+\*:\*\s+LISTENING", message, re.M)
    assert isinstance(info.value, SimulationError)
    assert isinstance(info.value, RuntimeError)


def test_wait_forever_with_something_scheduled_is_not_stuck():
    net = FakeNetwork(faults=[Delay(seconds=30)])
    a, b = nb_pair(net)
    a.send(b"late")
    assert wait(net, [b], [IN], None) == {b.fileno(): IN}
    assert net.now == 30.0


def test_idle_limit():
    net = FakeNetwork(idle_limit=3)
    a, b = nb_pair(net)
    poller = net.poller("poll")
    for _ in range(3):
        assert wait(net, [a], [IN], 1.0, poller) == {}
    with pytest.raises(SimulationStuck) as info:
        wait(net, [a], [IN], 1.0, poller)
    assert "nothing has been ready for 3 readiness calls" in str(info.value)
    assert "CONNECTED" in str(info.value)
    # A ready answer resets the count.
    net = FakeNetwork(idle_limit=3)
    a, b = nb_pair(net)
    for _ in range(3):
        for _ in range(3):
            assert wait(net, [a], [IN], 1.0) == {}
        b.send(b"x")
        assert wait(net, [a], [IN], 1.0) == {a.fileno(): IN}
        a.recv(1)


def test_idle_sleeps_count_too():
    net = FakeNetwork(idle_limit=2)
    net.sleep(1)
    net.sleep(1)
    with pytest.raises(SimulationStuck):
        net.sleep(1)


def test_max_steps():
    net = FakeNetwork(max_steps=5)
    a, b = nb_pair(net)
    poller = net.poller("poll")
    for _ in range(5):
        assert wait(net, [a], [OUT], 1.0, poller) == {a.fileno(): OUT}
    with pytest.raises(SimulationBudgetExceeded, match="step budget of 5") as info:
        wait(net, [a], [OUT], 1.0, poller)
    assert "CONNECTED" in str(info.value)
    assert isinstance(info.value, SimulationError)


def test_max_time():
    net = FakeNetwork(max_time=10)
    a, b = nb_pair(net)
    poller = net.poller("poll")
    for _ in range(3):
        wait(net, [a], [IN], 3.0, poller)
    with pytest.raises(SimulationBudgetExceeded, match="virtual time budget of 10 s"):
        wait(net, [a], [IN], 3.0, poller)
    with pytest.raises(SimulationBudgetExceeded):
        FakeNetwork(max_time=1).sleep(2)


# ---------------------------------------------------------------------------
# netstat
# ---------------------------------------------------------------------------


def _netstat_rows(net):
    lines = net.netstat().splitlines()
    return lines[0], [re.split(r"\s{2,}", line) for line in lines[1:-1]], lines[-1]


def test_netstat_table():
    net = FakeNetwork(faults=[Delay(seconds=2, match=Match(port=9090))])
    listener(net, 8080)  # fd 3
    connecting(net, 8080)  # fd 4, queued on the listener
    a, b = nb_pair(net)  # fds 5, 6
    a.send(b"12345")
    fd = net.open_file(b"abc")  # fd 7
    c, s, _ = connected(net, 9090)  # listener 8, client 9, server 10
    c.send(b"in flight")
    net.sleep(1.25)
    header, rows, last = _netstat_rows(net)
    assert header.split() == [
        "fd",
        "kind",
        "local",
        "remote",
        "state",
        "rbuf",
        "inflight",
        "ready",
    ]
    assert [r[0] for r in rows] == [str(f) for f in net.open_fds()]
    assert net.open_fds() == [3, 4, 5, 6, 7, 8, 9, 10]
    by_fd = {int(r[0]): r for r in rows}
    assert by_fd[3][1:5] == ["tcp", "127.0.0.1:8080", "*:*", "LISTENING (queue 1/6)"]
    assert by_fd[3][7] == "IN"
    assert by_fd[4][4] == "CONNECTED"
    assert by_fd[4][3] == "127.0.0.1:8080"
    assert by_fd[6][4:] == ["CONNECTED", "5", "0", "IN|OUT"]
    assert by_fd[5][5] == "0"
    assert by_fd[fd][1] == "file"
    assert by_fd[fd][4] == "FILE 0/3 bytes read"
    assert by_fd[10][4:7] == ["CONNECTED", "0", "9"]
    assert last == "virtual time 1.250000 s, 2 step(s), 1 scheduled event(s)"


def test_netstat_shows_flags():
    net = FakeNetwork(faults=[InjectOOB(after_bytes=1, match=Match(side="server"))])
    a, b = nb_pair(net)
    a.send(b"xy")
    a.shutdown(socket.SHUT_WR)
    wait(net, [b], [IN], 0)
    net.pipe()
    _, rows, _ = _netstat_rows(net)
    by_fd = {int(r[0]): r for r in rows}
    assert by_fd[3][4] == "CONNECTED shut_wr"
    assert by_fd[4][4] == "CONNECTED eof_in,oob"
    assert by_fd[4][7] == "IN|PRI|OUT"
    assert by_fd[5][1:5] == ["pipe", "-", "-", "PIPE-R 0 bytes buffered"]
    assert by_fd[6][4] == "PIPE-W 0 bytes buffered"


# ---------------------------------------------------------------------------
# the current network and RealSocketForbidden
# ---------------------------------------------------------------------------


def test_real_sockets_are_forbidden_inside_with():
    assert fake_net.RealSocketForbidden is asyncore_seam.RealSocketForbidden
    net = FakeNetwork(seed=4242)
    real = real_net.RealNetwork()
    m = {}
    with net as active:
        assert active is net
        assert asyncore_sim.current_network() is net
        d = asyncore_sim.dispatcher(map=m)
        d.create_socket()
        assert isinstance(d.socket, fake_net.FakeSocket)
        assert d.socket.net is net
        assert net.open_fds() == [d.socket.fileno()]
        with pytest.raises(RealSocketForbidden) as info:
            real.socket(socket.AF_INET, socket.SOCK_STREAM)
        assert "FakeNetwork(seed=4242" in str(info.value)
        assert "map=net.map()" in str(info.value)
        with pytest.raises(SimulationError, match="already active"):
            net.__enter__()
        d.close()
    assert net.open_fds() == []
    assert asyncore_sim.current_network() is not net
    s = real.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        assert isinstance(s, socket.socket)
    finally:
        s.close()
    d = asyncore_sim.dispatcher(map=m)
    d.create_socket()
    try:
        assert isinstance(d.socket, socket.socket)
    finally:
        d.close()


def test_with_block_is_left_clean_on_error():
    net = FakeNetwork()
    with pytest.raises(KeyError):
        with net:
            raise KeyError("boom")
    assert not asyncore_seam._REAL_FORBIDDEN_BY
    s = real_net.RealNetwork().socket(socket.AF_INET, socket.SOCK_STREAM)
    s.close()
    with net:  # and it can be entered again
        pass


# ---------------------------------------------------------------------------
# files and pipes
# ---------------------------------------------------------------------------


class _Reader(asyncore_sim.file_dispatcher):
    def __init__(self, fd, map, log, size=4):
        self.log = log
        self.size = size
        self.data = b""
        asyncore_sim.file_dispatcher.__init__(self, fd, map=map)

    def writable(self):
        return False

    def handle_read(self):
        chunk = self.recv(self.size)
        self.log.append(("read", chunk))
        self.data += chunk

    def handle_close(self):
        self.log.append(("close",))
        self.close()


def test_file_read_through_the_loop():
    net = FakeNetwork()
    fd = net.open_file(b"hello, file")
    m = net.map()
    log = []
    reader = _Reader(fd, m, log)
    assert isinstance(reader.socket, fake_net.FakeFileWrapper)
    assert reader.socket.fileno() != fd
    asyncore_sim.loop(timeout=1.0, map=m, count=20)
    assert not m
    assert reader.data == b"hello, file"
    # recv() calls handle_close() on the empty read, then returns b"".
    assert log == [
        ("read", b"hell"),
        ("read", b"o, f"),
        ("read", b"ile"),
        ("close",),
        ("read", b""),
    ]
    assert net.open_fds() == [fd]
    net.close_fd(fd)
    assert net.open_fds() == []


@pytest.mark.parametrize("use_poll", [False, True, "epoll"])
def test_pipe_to_file_dispatcher_until_eof(use_poll):
    net = FakeNetwork()
    rfd, wfd = net.pipe()
    m = net.map()
    log = []
    _Reader(rfd, m, log, size=100)
    net.close_fd(rfd)  # the dispatcher holds its own (dup'ed) descriptor
    assert net.write(wfd, b"through the pipe") == 16
    asyncore_sim.loop(timeout=1.0, use_poll=use_poll, map=m, count=1)
    assert log == [("read", b"through the pipe")]
    net.close_fd(wfd)
    asyncore_sim.loop(timeout=1.0, use_poll=use_poll, map=m, count=5)
    assert not m
    # select: readable, and recv() sees EOF; poll: POLLHUP alone closes.
    expected_tail = [("close",), ("read", b"")] if use_poll is False else [("close",)]
    assert log[1:] == expected_tail
    assert net.open_fds() == []
    assert net.now == 0.0


def test_pipe_write_after_reader_closed_is_epipe():
    net = FakeNetwork()
    rfd, wfd = net.pipe()
    net.close_fd(rfd)
    with pytest.raises(BrokenPipeError) as info:
        net.write(wfd, b"x")
    _check_oserror(info.value, BrokenPipeError, errno.EPIPE)
    assert wait(net, [wfd], [OUT], 0) == {wfd: OUT | ERR}

    # Through a dispatcher: send() turns EPIPE into handle_close().
    closed = []

    class Writer(asyncore_sim.file_dispatcher):
        def handle_close(self):
            closed.append(True)
            self.close()

    m = net.map()
    writer = Writer(wfd, map=m)
    assert writer.send(b"lost") == 0
    assert closed == [True]
    assert not m
    net.close_fd(wfd)
    assert net.open_fds() == []


def test_pipe_read_when_empty_would_block():
    net = FakeNetwork()
    rfd, wfd = net.pipe()
    with pytest.raises(BlockingIOError):
        net.read(rfd, 10)
    assert wait(net, [rfd, wfd], [IN, OUT], 0) == {wfd: OUT}
    net.write(wfd, b"ab")
    assert wait(net, [rfd, wfd], [IN, OUT], 0) == {rfd: IN, wfd: OUT}
    net.close_fd(wfd)
    assert net.read(rfd, 10) == b"ab"
    assert wait(net, [rfd], [IN], 0) == {rfd: HUP}
    assert net.read(rfd, 10) == b""


def test_file_wrapper_dups_and_closes_idempotently():
    net = FakeNetwork()
    fd = net.open_file(b"content")
    wrapper = net.wrap_file(fd)
    assert wrapper.fileno() not in (fd, -1)
    assert net.open_fds() == [fd, wrapper.fileno()]
    # The duplicate shares the file offset, as os.dup's does.
    assert wrapper.recv(3) == b"con"
    assert net.read(fd, 100) == b"tent"
    assert wrapper.getsockopt(*SO_ERROR) == 0
    with pytest.raises(NotImplementedError):
        wrapper.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE)
    wrapper.close()
    wrapper.close()
    assert wrapper.fileno() == -1
    assert net.open_fds() == [fd]
    with pytest.raises(OSError) as info:
        wrapper.recv(1)
    assert info.value.errno == errno.EBADF
    net.close_fd(fd)


def test_unclosed_file_wrapper_warns():
    net = FakeNetwork()
    fd = net.open_file(b"")
    wrapper = net.wrap_file(fd)
    dup = wrapper.fileno()
    with pytest.warns(ResourceWarning, match="unclosed file"):
        del wrapper
        gc.collect()
    assert dup not in net.open_fds()
    net.close_fd(fd)


# ---------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------

# The scenario is source text so that subprocesses run exactly the same code
# without importing pytest or this module.
SCENARIO = r"""
import asyncore_sim
from fake_net import Delay, FakeNetwork, PartialSend, ShortRead


def run_scenario(seed, use_poll=True):
    net = FakeNetwork(seed=seed, faults=[
        PartialSend(probability=0.5),
        ShortRead(probability=0.5),
        Delay(seconds=0.01, jitter=0.05, probability=0.5),
    ])
    m = net.map()
    log = []
    payload = b"".join(b"line %03d of the scenario\n" % i for i in range(40))

    class Handler(asyncore_sim.dispatcher_with_send):
        def handle_read(self):
            data = self.recv(97)
            log.append(("server_read", len(data), net.now))
            if data:
                self.send(data)

        def handle_close(self):
            log.append(("server_close", net.now))
            self.close()

    class Server(asyncore_sim.dispatcher):
        def __init__(self):
            asyncore_sim.dispatcher.__init__(self, map=m)
            self.create_socket()
            self.bind(("127.0.0.1", 7))
            self.listen(5)

        def handle_accepted(self, sock, addr):
            log.append(("accepted", addr, net.now))
            Handler(sock, map=m)

    class Client(asyncore_sim.dispatcher_with_send):
        def __init__(self, server):
            asyncore_sim.dispatcher_with_send.__init__(self, map=m)
            self.server = server
            self.got = b""
            self.create_socket()
            self.connect(("localhost", 7))

        def handle_connect(self):
            log.append(("connect", self.socket.getsockname(), net.now))
            for i in range(0, len(payload), 150):
                self.send(payload[i:i + 150])

        def handle_read(self):
            data = self.recv(113)
            log.append(("client_read", len(data), net.now))
            self.got += data
            if len(self.got) >= len(payload):
                log.append(("done", self.got == payload, net.now))
                self.close()
                self.server.close()

        def handle_close(self):
            log.append(("client_close", net.now))
            self.close()

    Client(Server())
    asyncore_sim.loop(timeout=1.0, use_poll=use_poll, map=m, count=100000)
    log.append(("end", len(m), net.now, net.steps))
    return net.event_lines(), log
"""

_SCENARIO_NS: dict = {}
exec(compile(SCENARIO, "<fake_net scenario>", "exec"), _SCENARIO_NS)
run_scenario = _SCENARIO_NS["run_scenario"]


def _scenario_output(seed):
    lines, log = run_scenario(seed)
    return "\n".join(lines) + "\n" + "\n".join(repr(entry) for entry in log) + "\n"


def test_scenario_is_meaningful():
    lines, log = run_scenario(7)
    assert ("end", 0) == log[-1][:2]
    assert [e for e in log if e[0] == "done"][0][1] is True
    kinds = {line.split()[1] for line in lines}
    assert {"connect", "accept", "send", "recv", "fault", "close"} <= kinds
    faults = {line.split()[3] for line in lines if line.split()[1] == "fault"}
    assert faults == {"'PartialSend'", "'ShortRead'", "'Delay'"}


def test_same_seed_same_run_20_times():
    first_lines, first_log = run_scenario(7)
    for _ in range(19):
        lines, log = run_scenario(7)
        assert lines == first_lines
        assert log == first_log
    other_lines, other_log = run_scenario(8)
    assert other_log != first_log
    assert other_lines != first_lines


def test_same_events_whatever_the_hash_seed():
    code = (
        "import sys\n" + SCENARIO + "\nlines, log = run_scenario(7)\n"
        "sys.stdout.write('\\n'.join(lines) + '\\n' + "
        "'\\n'.join(repr(e) for e in log) + '\\n')\n"
        "sys.stdout.write('hypothesis imported: %s\\n'"
        " % ('hypothesis' in sys.modules))\n"
    )
    procs = []
    for hashseed in ("0", "1", "12345", "random"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", code],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    digests = []
    try:
        outputs = [proc.communicate(timeout=60) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err.decode()
        assert out.endswith(b"hypothesis imported: False\n")
        digests.append(hashlib.sha256(out).hexdigest())
    expected = _scenario_output(7) + "hypothesis imported: False\n"
    assert digests == [hashlib.sha256(expected.encode()).hexdigest()] * 4


_REGISTERED_NET = FakeNetwork(seed=99)
_REGISTERED_NET.random.random()  # move it away from any seeded state


@hypothesis.settings(max_examples=10, database=None, deadline=None)
@hypothesis.given(st.random_module())
def test_network_random_is_registered_with_hypothesis(seeder):
    # st.random_module() seeds every registered Random (as Hypothesis does to
    # make each example reproducible); the network's is one of them.
    expected = __import__("random").Random(seeder.seed).random()
    assert _REGISTERED_NET.random.random() == expected


def test_hypothesis_restores_the_network_random_afterwards():
    state = _REGISTERED_NET.random.getstate()
    test_network_random_is_registered_with_hypothesis()
    assert _REGISTERED_NET.random.getstate() == state


_SECOND_NET = FakeNetwork(seed=98)


@hypothesis.settings(max_examples=5, database=None, deadline=None)
@hypothesis.given(st.random_module())
def test_every_network_made_outside_examples_is_seeded(seeder):
    expected = __import__("random").Random(seeder.seed).random()
    assert [_REGISTERED_NET.random.random(), _SECOND_NET.random.random()] == [
        expected,
        expected,
    ]


def test_making_a_network_costs_no_full_garbage_collection():
    # Hypothesis's register_random() runs gc.collect(); the process registers
    # one object for every network (fake_net/_seeding.py), not each network.
    import gc

    full = []

    def count(phase, info):
        if phase == "start" and info["generation"] == 2:
            full.append(info)

    FakeNetwork()  # registered already (module level above), or now
    gc.callbacks.append(count)
    try:
        nets = [FakeNetwork(seed=i) for i in range(20)]
    finally:
        gc.callbacks.remove(count)
    assert len(nets) == 20
    assert full == []


# ---------------------------------------------------------------------------
# events
# ---------------------------------------------------------------------------


def test_events_are_frozen_values():
    net = FakeNetwork()
    a, b = nb_pair(net)
    a.send(b"hi")
    b.recv(10)
    events = net.events
    assert len(events) == len(net.event_lines())
    assert all(isinstance(e, Event) for e in events)
    assert events == net.events  # equal by value, built afresh
    assert events[0] is not net.events[0]
    assert [e.kind for e in events] == ["socket", "socket", "send", "recv"]
    assert events[2] == Event(0.0, "send", 3, (2, 2, b"hi"))
    assert events[3] == Event(0.0, "recv", 4, (10, b"hi"))
    assert hash(events[2]) == hash(Event(0.0, "send", 3, (2, 2, b"hi")))
    assert Event(0.0, "close", 3) == Event(0.0, "close", 3, ())
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        events[0].kind = "other"
    for event, line in zip(events, net.event_lines()):
        assert line.startswith("%.6f %s fd=%d" % (event.time, event.kind, event.fd))
    assert net.event_lines()[2] == "0.000000 send fd=3 2 2 b'hi'"


def test_recording_off_records_nothing():
    net = FakeNetwork(record=False, faults=[PartialSend(max_bytes=1)])
    a, b = nb_pair(net)
    assert a.send(b"hi") == 1
    b.recv(10)
    wait(net, [a, b], [IN, IN], 1)
    a.close()
    assert net.events == []
    assert net.event_lines() == []


def test_select_refuses_descriptors_at_or_above_fd_setsize():
    # CPython's select() raises ValueError for fd >= FD_SETSIZE (1024); the
    # fake's select poller does too, while poll and epoll take any number.
    net = FakeNetwork()
    socks = [net.socket() for _ in range(1030)]
    big = socks[-1]
    assert big.fileno() >= 1024
    with pytest.raises(ValueError, match="filedescriptor out of range in select"):
        net.poller("select").wait([big.fileno()], [1], True, [], 0)
    # An unconnected TCP socket polls POLLOUT|POLLHUP on Linux; poll()
    # reports POLLHUP whatever was asked.
    hup = [(big.fileno(), select.POLLHUP)]
    assert net.poller("poll").wait([big.fileno()], [1], True, [], 0) == hup
    for s in socks:
        s.close()


def test_sender_stops_polling_writable_when_data_in_flight_fills_the_connection():
    # Regression: with a Delay, bytes in flight count against the capacity;
    # the sender's POLLOUT must go when a send fills it, or a loop spins on
    # EWOULDBLOCK without virtual time ever moving.
    net = FakeNetwork(capacity=100, faults=[Delay(seconds=0.5)])
    a, b = net.socketpair()
    a.setblocking(False)
    assert a.send(b"x" * 150) == 100
    assert net.poller("poll").wait([a.fileno()], [select.POLLOUT], True, [], 0) == []
    # The data lands after 0.5 s; once b reads it, a may write again.
    events = net.poller("poll").wait([b.fileno()], [select.POLLIN], True, [], 1.0)
    assert events == [(b.fileno(), select.POLLIN)] and net.now == 0.5
    assert b.recv(1000) == b"x" * 100
    assert net.poller("poll").wait([a.fileno()], [select.POLLOUT], True, [], 0) == [
        (a.fileno(), select.POLLOUT)
    ]
    a.close()
    b.close()


# Issue 13: recv(0), flags, connect_ex again, sends to a gone peer, SO_LINGER.

_UNNAMED_MSG_BIT = next(
    1 << bit
    for bit in range(31)
    if not any(
        getattr(socket, n) & (1 << bit) for n in dir(socket) if n.startswith("MSG_")
    )
)


def test_recv_zero_needs_no_open_socket():
    net = FakeNetwork()
    s = net.socket()
    s.close()
    assert s.recv(0) == b""
    assert s.recv(0, socket.MSG_WAITALL) == b""  # no call made: no flag check
    with pytest.raises(ValueError):
        s.recv(-1)
    assert net.events == [] or all(e.kind != "recv" for e in net.events)


@pytest.mark.parametrize(
    "call, flag, name",
    [
        ("recv", socket.MSG_WAITALL, "MSG_WAITALL"),
        ("recv", socket.MSG_TRUNC, "MSG_TRUNC"),
        ("send", socket.MSG_PEEK, "MSG_PEEK"),
        ("send", socket.MSG_MORE, "MSG_MORE"),
        ("recv", _UNNAMED_MSG_BIT, hex(_UNNAMED_MSG_BIT)),
    ],
)
def test_unsimulated_flags_are_refused_by_name(call, flag, name):
    net = FakeNetwork()
    a, b = nb_pair(net)
    a.send(b"data")
    with pytest.raises(OSError) as info:
        if call == "recv":
            b.recv(10, flag)
        else:
            a.send(b"x", flag)
    assert info.value.errno == errno.EOPNOTSUPP
    assert name in str(info.value) and call in str(info.value)
    assert b.recv(10) == b"data"  # nothing consumed or sent
    from fake_net import conformance

    assert "unsimulated_flags" in conformance.DIFFERENCES


def test_peek_through_recv_into_and_recvfrom():
    net = FakeNetwork()
    a, b = nb_pair(net)
    a.send(b"hello")
    buf = bytearray(3)
    assert b.recv_into(buf, 0, socket.MSG_PEEK) == 3 and buf == b"hel"
    assert b.recvfrom(10, socket.MSG_PEEK) == (b"hello", None)
    assert b.recv(10) == b"hello"
    assert a.send(b"x", socket.MSG_NOSIGNAL) == 1


def test_blocking_peek_waits_for_data():
    net = FakeNetwork(faults=[Delay(seconds=1.0)])
    a, b = net.socketpair()
    a.send(b"later")
    assert b.recv(10, socket.MSG_PEEK) == b"later"
    assert net.now == pytest.approx(1.0)
    assert b.recv(10) == b"later"


def test_dontwait_send_on_a_full_blocking_socket():
    net = FakeNetwork(capacity=8)
    a, b = net.socketpair()
    assert a.send(b"x" * 20) == 8
    with pytest.raises(BlockingIOError):
        a.send(b"y", socket.MSG_DONTWAIT)
    with pytest.raises(BlockingIOError):
        a.sendall(b"y", socket.MSG_DONTWAIT)
    assert b.recv(100) == b"x" * 8


def test_connect_ex_while_connecting_then_refused():
    net = FakeNetwork(faults=[RefuseConnect(), ConnectLatency(seconds=1)])
    c = connecting(net, 81)
    assert c.connect_ex(("127.0.0.1", 81)) == errno.EALREADY
    wait(net, [c], [OUT], 5)
    assert c.connect_ex(("127.0.0.1", 81)) == errno.ECONNREFUSED
    assert c.getsockopt(*SO_ERROR) == 0
    assert c.connect_ex(("127.0.0.1", 81)) == errno.EINPROGRESS
    c.close()


def test_blocking_connect_success_then_eisconn():
    net = FakeNetwork()
    lst = listener(net, 80)
    c = net.socket()
    assert c.connect_ex(("127.0.0.1", 80)) == 0
    assert c.connect_ex(("127.0.0.1", 80)) == errno.EISCONN
    c.close()
    lst.close()


def test_sends_to_a_closed_peer_stop_at_once():
    net = FakeNetwork()
    c, s, lst = connected(net)
    s.close()
    wait(net, [c], [IN], 1)
    results = []
    for _ in range(40):
        try:
            results.append(c.send(b"x" * 262144))
        except OSError as exc:
            results.append(exc.errno)
    assert results == [net.capacity] + [errno.EPIPE] * 39
    c.close()
    lst.close()


def test_linger_zero_close_resets_the_peer():
    import struct

    net = FakeNetwork()
    c, s, lst = connected(net)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    assert wait(net, [s], [IN | OUT], 1) == {s.fileno(): IN | OUT | ERR | HUP}
    with pytest.raises(ConnectionResetError):
        s.recv(10)
    s.close()
    lst.close()
