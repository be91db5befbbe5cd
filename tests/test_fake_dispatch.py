"""Tests of asyncore_sim dispatchers running on fake_net.

Ordinary asyncore/asynchat handler code runs on a simulated network (a map
from ``net.map()``, or the default map inside ``with net:``) with each
readiness method, under fault rules that cut sends and reads short, delay
segments, inject urgent data, close or reset the peer, and refuse connects.
"""

from __future__ import annotations

import errno
import re
import socket
import sys

import pytest

import asyncore_sim
import fake_net
from fake_net import (
    Delay,
    FakeNetwork,
    InjectOOB,
    Match,
    PartialSend,
    PeerClose,
    PeerReset,
    ShortRead,
    SimulationStuck,
)

METHODS = [
    pytest.param(False, id="select"),
    pytest.param(True, id="poll"),
    pytest.param("epoll", id="epoll"),
]

#: Iterations any of these exchanges must finish within.
MAX_ITERATIONS = 5000

_MAPS = []


@pytest.fixture(autouse=True)
def _close_maps():
    """Close every channel of the maps a test made, whatever happened."""
    yield
    while _MAPS:
        asyncore_sim.close_all(_MAPS.pop(), ignore_all=True)


def fresh_map(net):
    m = net.map()
    _MAPS.append(m)
    return m


# ---------------------------------------------------------------------------
# an echo exchange
# ---------------------------------------------------------------------------


class EchoHandler(asyncore_sim.dispatcher_with_send):
    def __init__(self, sock, map, log):
        self.log = log
        asyncore_sim.dispatcher_with_send.__init__(self, sock, map=map)

    def handle_read(self):
        data = self.recv(8192)
        if data:
            self.log.append(("handler", "read", len(data)))
            self.send(data)

    def handle_close(self):
        self.log.append(("handler", "close"))
        self.close()


class EchoServer(asyncore_sim.dispatcher):
    def __init__(self, map, log, port=8007):
        self.log = log
        asyncore_sim.dispatcher.__init__(self, map=map)
        self.create_socket()
        self.set_reuse_addr()
        self.bind(("127.0.0.1", port))
        self.listen(5)

    def handle_accepted(self, sock, addr):
        self.log.append(("server", "accepted"))
        EchoHandler(sock, self._map, self.log)


class EchoClient(asyncore_sim.dispatcher_with_send):
    def __init__(self, map, log, address, payload, server=None):
        self.log = log
        self.payload = payload
        self.server = server
        self.received = b""
        asyncore_sim.dispatcher_with_send.__init__(self, map=map)
        self.create_socket()
        self.connect(address)

    def handle_connect(self):
        self.log.append(("client", "connect"))
        self.send(self.payload)

    def handle_read(self):
        data = self.recv(8192)
        if data:
            self.log.append(("client", "read", len(data)))
            self.received += data
            if len(self.received) >= len(self.payload):
                self.log.append(("client", "done"))
                self.close()
                if self.server is not None:
                    self.server.close()

    def handle_close(self):
        self.log.append(("client", "close"))
        self.close()


PAYLOAD = b"".join(b"%03d:the quick brown fox\n" % i for i in range(12))


def _check_echo_log(log, payload):
    who = [entry[0] for entry in log]
    client = [entry[1] for entry in log if entry[0] == "client"]
    handler = [entry[1] for entry in log if entry[0] == "handler"]
    assert client[0] == "connect"
    assert client[-1] == "done"
    assert set(client[1:-1]) == {"read"}
    assert who.count("server") == 1
    assert who.index("server") < who.index("handler")
    assert handler[-1] == "close"
    assert handler.count("close") == 1
    assert set(handler[:-1]) == {"read"}
    assert log.index(("client", "done")) < log.index(("handler", "close"))
    handled = sum(e[2] for e in log if e[:2] == ("handler", "read"))
    echoed = sum(e[2] for e in log if e[:2] == ("client", "read"))
    assert handled == echoed == len(payload)


@pytest.mark.parametrize("use_poll", METHODS)
@pytest.mark.parametrize(
    "faults",
    [
        pytest.param([], id="no-faults"),
        pytest.param([PartialSend(max_bytes=1)], id="partial-send-1"),
        pytest.param([ShortRead(max_bytes=1)], id="short-read-1"),
        pytest.param([Delay(seconds=0.5)], id="delay"),
        pytest.param(
            [PartialSend(), ShortRead(), Delay(seconds=0.01, jitter=0.05)],
            id="random-faults",
        ),
    ],
)
def test_echo_round_trip(faults, use_poll):
    net = FakeNetwork(seed=3, faults=faults)
    m = fresh_map(net)
    log = []
    server = EchoServer(m, log)
    client = EchoClient(m, log, ("127.0.0.1", 8007), PAYLOAD, server=server)
    assert isinstance(client.socket, fake_net.FakeSocket)
    asyncore_sim.loop(timeout=1.0, use_poll=use_poll, map=m, count=MAX_ITERATIONS)
    assert not m, net.netstat()
    assert client.received == PAYLOAD
    _check_echo_log(log, PAYLOAD)
    assert net.open_fds() == []
    if faults == [PartialSend(max_bytes=1)]:
        # One byte a send: at least one iteration a byte.
        assert net.steps >= len(PAYLOAD)
        sends = [e for e in net.events if e.kind == "send"]
        assert {e.data[1] for e in sends} == {1}
        assert len(sends) == 2 * len(PAYLOAD)
    if faults and isinstance(faults[0], Delay):
        assert net.now >= 1.0  # there and back, half a second each
    else:
        assert net.now < 1.0


@pytest.mark.parametrize("use_poll", METHODS)
def test_echo_with_a_large_payload(use_poll):
    # More than the 65536 bytes a direction holds: sends go short for room.
    payload = bytes(range(256)) * 1024
    net = FakeNetwork(seed=1)
    m = fresh_map(net)
    log = []
    server = EchoServer(m, log)
    client = EchoClient(m, log, ("localhost", 8007), payload, server=server)
    asyncore_sim.loop(timeout=1.0, use_poll=use_poll, map=m, count=MAX_ITERATIONS)
    assert not m
    assert client.received == payload
    _check_echo_log(log, payload)


@pytest.mark.parametrize("use_poll", METHODS)
def test_echo_completes_under_seeded_faults_that_fill_the_connection(use_poll):
    # A sweep over seeds with every data-path fault at once, a capacity far
    # below the payload and delays that keep bytes in flight: each run must
    # finish (no livelock, no stuck wait) and echo every byte.  This is the
    # case that once spun on EWOULDBLOCK with virtual time standing still.
    payload = bytes(range(256)) * 40  # 10 KiB through a 1000-byte pipe
    for seed in range(25):
        net = FakeNetwork(
            seed=seed,
            capacity=1000,
            faults=[
                PartialSend(probability=0.5),
                ShortRead(probability=0.5),
                Delay(seconds=0.001, jitter=0.01, probability=0.7),
            ],
        )
        m = fresh_map(net)
        log = []
        server = EchoServer(m, log)
        client = EchoClient(m, log, ("127.0.0.1", 8007), payload, server=server)
        asyncore_sim.loop(timeout=1.0, use_poll=use_poll, map=m, count=MAX_ITERATIONS)
        assert not m, "seed %d did not finish\n%s" % (seed, net.netstat())
        assert client.received == payload, "seed %d" % seed
        _check_echo_log(log, payload)


# ---------------------------------------------------------------------------
# an async_chat line protocol
# ---------------------------------------------------------------------------

LINES = [b"HELO there", b"", b"a\rb\nc", b"x" * 50, b"\xff\x00binary\r", b"QUIT"]
REPLIES = [b"echo:" + line for line in LINES[:-1]] + [b"BYE"]


class LineChannel(asyncore_sim.async_chat):
    def __init__(self, sock, map, seen):
        asyncore_sim.async_chat.__init__(self, sock, map=map)
        self.seen = seen
        self.buffer = []
        self.set_terminator(b"\r\n")

    def collect_incoming_data(self, data):
        self.buffer.append(data)

    def found_terminator(self):
        line = b"".join(self.buffer)
        self.buffer = []
        self.seen.append(line)
        if line == b"QUIT":
            self.push(b"BYE\r\n")
            self.close_when_done()
        else:
            self.push(b"echo:" + line + b"\r\n")


class LineServer(asyncore_sim.dispatcher):
    def __init__(self, map, seen):
        asyncore_sim.dispatcher.__init__(self, map=map)
        self.seen = seen
        self.create_socket()
        self.bind(("127.0.0.1", 2525))
        self.listen(1)

    def handle_accepted(self, sock, addr):
        LineChannel(sock, self._map, self.seen)
        self.close()  # one connection only


class LineClient(asyncore_sim.async_chat):
    def __init__(self, map, replies):
        asyncore_sim.async_chat.__init__(self, map=map)
        self.replies = replies
        self.buffer = []
        self.set_terminator(b"\r\n")
        self.create_socket()
        self.connect(("127.0.0.1", 2525))

    def handle_connect(self):
        for line in LINES:
            self.push(line + b"\r\n")

    def collect_incoming_data(self, data):
        self.buffer.append(data)

    def found_terminator(self):
        self.replies.append(b"".join(self.buffer))
        self.buffer = []


def _run_chat(faults, use_poll):
    net = FakeNetwork(seed=5, faults=faults)
    m = fresh_map(net)
    seen, replies = [], []
    LineServer(m, seen)
    LineClient(m, replies)
    asyncore_sim.loop(timeout=1.0, use_poll=use_poll, map=m, count=MAX_ITERATIONS)
    assert not m, net.netstat()
    return seen, replies


CHAT_FAULTS = [pytest.param([], id="none")]
CHAT_FAULTS += [
    pytest.param([PartialSend(max_bytes=n)], id="partial-send-%d" % n)
    for n in range(1, 9)
]
CHAT_FAULTS += [
    pytest.param([ShortRead(max_bytes=n)], id="short-read-%d" % n) for n in range(1, 9)
]


@pytest.mark.parametrize("use_poll", METHODS)
@pytest.mark.parametrize("faults", CHAT_FAULTS)
def test_line_protocol_whatever_the_segmentation(faults, use_poll):
    seen, replies = _run_chat(faults, use_poll)
    assert seen == LINES
    assert replies == REPLIES


# ---------------------------------------------------------------------------
# connect refused: the same callbacks as on the real network
# ---------------------------------------------------------------------------


class RefusedClient(asyncore_sim.dispatcher):
    def __init__(self, map, address, log):
        self.log = log
        asyncore_sim.dispatcher.__init__(self, map=map)
        self.create_socket()
        self.connect(address)

    def handle_connect_event(self):
        self.log.append("handle_connect_event")
        try:
            asyncore_sim.dispatcher.handle_connect_event(self)
        except OSError as e:
            self.log.append("raised %s" % errno.errorcode[e.errno])
            raise

    def handle_connect(self):
        self.log.append("handle_connect")

    def handle_read(self):
        self.log.append("handle_read")

    def handle_write(self):
        self.log.append("handle_write")

    def handle_expt(self):
        self.log.append("handle_expt")

    def handle_error(self):
        self.log.append("handle_error %s" % sys.exc_info()[0].__name__)
        self.handle_close()

    def handle_close(self):
        self.log.append("handle_close")
        self.close()


def _refused_log(map, address, use_poll):
    log = []
    RefusedClient(map, address, log)
    asyncore_sim.loop(timeout=1.0, use_poll=use_poll, map=map, count=100)
    assert not map
    return log


EXPECTED_REFUSED = [
    "handle_connect_event",
    "raised ECONNREFUSED",
    "handle_error ConnectionRefusedError",
    "handle_close",
]


@pytest.mark.parametrize("use_poll", METHODS)
def test_connect_refused_on_fake(use_poll):
    net = FakeNetwork()
    log = _refused_log(fresh_map(net), ("127.0.0.1", 9), use_poll)
    assert log == EXPECTED_REFUSED
    assert net.open_fds() == []


@pytest.mark.network
@pytest.mark.parametrize("use_poll", METHODS)
def test_connect_refused_same_callbacks_as_real(use_poll):
    # A loopback port with nobody listening (bound for a moment, then freed).
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    real_map = {}
    _MAPS.append(real_map)
    real = _refused_log(real_map, ("127.0.0.1", port), use_poll)
    net = FakeNetwork()
    fake = _refused_log(fresh_map(net), ("127.0.0.1", port), use_poll)
    assert fake == real
    assert fake == EXPECTED_REFUSED


# ---------------------------------------------------------------------------
# urgent data, peer close, peer reset
# ---------------------------------------------------------------------------


class Recorder(asyncore_sim.dispatcher):
    """The accepted end: logs reads, urgent data and the close."""

    def __init__(self, sock, map, log):
        self.log = log
        asyncore_sim.dispatcher.__init__(self, sock, map=map)

    def writable(self):
        return False

    def handle_read(self):
        self.log.append(("read", self.recv(8192)))

    def handle_expt(self):
        self.log.append(("expt", self.socket.recv(1, socket.MSG_OOB)))

    def handle_close(self):
        self.log.append(("close",))
        self.close()


class OneShotServer(asyncore_sim.dispatcher):
    def __init__(self, map, log):
        self.log = log
        asyncore_sim.dispatcher.__init__(self, map=map)
        self.create_socket()
        self.bind(("127.0.0.1", 8080))
        self.listen(1)

    def handle_accepted(self, sock, addr):
        self.accepted_fd = sock.fileno()
        Recorder(sock, self._map, self.log)
        self.close()


class Sender(asyncore_sim.dispatcher_with_send):
    """Sends ``data`` once connected; closes when ``hold_open`` is false."""

    def __init__(self, map, data, hold_open=False):
        asyncore_sim.dispatcher_with_send.__init__(self, map=map)
        self.data = data
        self.hold_open = hold_open
        self.create_socket()
        self.connect(("127.0.0.1", 8080))

    def handle_connect(self):
        self.send(self.data)

    def handle_write(self):
        asyncore_sim.dispatcher_with_send.handle_write(self)
        if not self.out_buffer and not self.hold_open:
            self.close()

    def readable(self):
        return self.hold_open

    def handle_read(self):
        self.recv(8192)

    def handle_close(self):
        self.close()


def _reads(log):
    return b"".join(e[1] for e in log if e[0] == "read")


@pytest.mark.parametrize("use_poll", METHODS)
def test_inject_oob_reaches_handle_expt(use_poll):
    net = FakeNetwork(faults=[InjectOOB(after_bytes=3, match=Match(side="server"))])
    m = fresh_map(net)
    log = []
    OneShotServer(m, log)
    Sender(m, b"hello")
    asyncore_sim.loop(timeout=1.0, use_poll=use_poll, map=m, count=100)
    assert not m
    assert ("expt", b"!") in log
    assert log.count(("expt", b"!")) == 1
    assert _reads(log) == b"hello"
    # The sender's EOF: recv() calls handle_close(), then returns b"".
    assert log[-2:] == [("close",), ("read", b"")]
    assert log.count(("close",)) == 1


@pytest.mark.parametrize("use_poll", METHODS)
def test_peer_close_reaches_handle_close_after_the_data(use_poll):
    net = FakeNetwork(faults=[PeerClose(after_bytes=5, match=Match(side="server"))])
    m = fresh_map(net)
    log = []
    OneShotServer(m, log)
    Sender(m, b"0123456789", hold_open=True)
    asyncore_sim.loop(timeout=1.0, use_poll=use_poll, map=m, count=100)
    assert _reads(log) == b"01234"
    closes = [i for i, e in enumerate(log) if e == ("close",)]
    reads = [i for i, e in enumerate(log) if e[0] == "read" and e[1]]
    assert closes and reads and max(reads) < min(closes)
    assert log.count(("close",)) == 1
    assert not m  # the recorder's close reached the sender as EOF


@pytest.mark.parametrize("use_poll", METHODS)
def test_peer_reset_reaches_handle_close(use_poll):
    net = FakeNetwork(faults=[PeerReset(after_bytes=5, match=Match(side="server"))])
    m = fresh_map(net)
    log = []
    OneShotServer(m, log)
    Sender(m, b"0123456789", hold_open=True)
    asyncore_sim.loop(timeout=1.0, use_poll=use_poll, map=m, count=100)
    assert not m
    assert _reads(log) == b"01234"
    assert ("close",) in log
    assert log.index(("read", b"01234")) < log.index(("close",))


@pytest.mark.parametrize("use_poll", METHODS)
def test_peer_reset_later_goes_through_recv_econnreset(use_poll):
    net = FakeNetwork(faults=[PeerReset(at_time=2.0, match=Match(side="server"))])
    m = fresh_map(net)
    log = []
    server = OneShotServer(m, log)
    Sender(m, b"hello", hold_open=True)
    asyncore_sim.loop(timeout=1.0, use_poll=use_poll, map=m, count=100)
    assert not m
    assert _reads(log) == b"hello"
    # The reset is found by recv(), which turns ECONNRESET into handle_close()
    # (and returns b"").
    assert log[1:3] == [("close",), ("read", b"")]
    line = "2.000000 error fd=%d 'recv' 'ECONNRESET'" % server.accepted_fd
    assert line in net.event_lines()


# ---------------------------------------------------------------------------
# the default socket_map inside ``with net:``
# ---------------------------------------------------------------------------


@pytest.fixture
def default_map():
    assert not asyncore_sim.socket_map, "the default socket_map is not empty"
    yield asyncore_sim.socket_map
    asyncore_sim.close_all()


@pytest.mark.parametrize("use_poll", METHODS)
def test_default_map_inside_with_runs_on_fake(default_map, use_poll):
    net = FakeNetwork(seed=2, faults=[PartialSend(max_bytes=7)])
    log = []
    with net:
        server = EchoServer(None, log)
        client = EchoClient(None, log, ("localhost", 8007), PAYLOAD, server=server)
        assert server._map is default_map
        assert isinstance(server.socket, fake_net.FakeSocket)
        assert isinstance(client.socket, fake_net.FakeSocket)
        assert len(default_map) == 2
        asyncore_sim.loop(timeout=1.0, use_poll=use_poll, count=MAX_ITERATIONS)
    assert not default_map
    assert client.received == PAYLOAD
    _check_echo_log(log, PAYLOAD)
    assert any(e.kind == "fault" for e in net.events)


def test_default_map_teardown_closes_fake_channels(default_map):
    net = FakeNetwork()
    with net:
        EchoServer(None, [])
    assert len(default_map) == 1
    asyncore_sim.close_all()
    assert net.open_fds() == []


# ---------------------------------------------------------------------------
# a run that cannot progress
# ---------------------------------------------------------------------------


class Idle(asyncore_sim.dispatcher):
    """Waits to read from a peer that never writes."""

    def __init__(self, sock, map, interest=True):
        self.calls = 0
        self.interest = interest
        asyncore_sim.dispatcher.__init__(self, sock, map=map)

    def readable(self):
        self.calls += 1
        return self.interest

    def writable(self):
        return False

    def handle_read(self):
        raise AssertionError("nothing should ever be readable")


@pytest.mark.parametrize("use_poll", METHODS)
def test_loop_without_timeout_is_stuck(use_poll):
    net = FakeNetwork()
    m = fresh_map(net)
    mine, peer = net.socketpair()
    channel = Idle(mine, m)
    fd = channel._fileno
    with pytest.raises(SimulationStuck) as info:
        asyncore_sim.loop(timeout=None, use_poll=use_poll, map=m)
    message = str(info.value)
    assert "can never return" in message
    assert re.search(r"^%d\s+tcp\s+\S+\s+\S+\s+CONNECTED" % fd, message, re.M)
    assert channel.calls == 1
    assert net.now == 0.0
    peer.close()


@pytest.mark.parametrize("interest", [True, False], ids=["reading", "no-interest"])
@pytest.mark.parametrize("use_poll", METHODS)
def test_loop_with_timeout_stops_after_idle_limit(use_poll, interest):
    net = FakeNetwork(idle_limit=10)
    m = fresh_map(net)
    mine, peer = net.socketpair()
    channel = Idle(mine, m, interest=interest)
    with pytest.raises(SimulationStuck) as info:
        asyncore_sim.loop(timeout=1.0, use_poll=use_poll, map=m)
    assert "nothing has been ready for 10 readiness calls" in str(info.value)
    assert channel.calls == 11
    assert net.steps == 11
    assert net.now == 11.0
    assert re.search(r"^%d\s+tcp" % channel._fileno, str(info.value), re.M)
    peer.close()
