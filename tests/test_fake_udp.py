"""UDP on fake_net: asyncore dispatchers over datagrams, and what is refused.

The demonstration: an asyncore UDP echo (a server dispatcher that answers
each datagram with ``sendto``, a client dispatcher that sends requests over
a connected socket and reads the answers) runs unchanged on fake_net and on
the real kernel's loopback, and gives the same answers.  Then what only the
simulation can show (virtual-time latency, determinism, netstat rows, a
blocking receive that runs the world), and the honest refusals: address
families, socket types, options and flags fake_net does not simulate are
each an OSError that names them.
"""

from __future__ import annotations

import errno
import socket

import pytest

import asyncore_sim as asyncore
import real_net
from asyncore_seam import NetworkMap
from fake_net import FakeNetwork, SimulationStuck

REQUESTS = [b"ping", b"", b"x" * 1200, b"last one"]


class EchoServer(asyncore.dispatcher):
    """Answers every datagram with the same bytes, upper-cased."""

    def __init__(self, map):
        super().__init__(map=map)
        self.create_socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.bind(("127.0.0.1", 0))
        self.seen = []

    def writable(self):
        return False

    def handle_read(self):
        data, peer = self.socket.recvfrom(2048)
        self.seen.append((data, peer))
        self.socket.sendto(data.upper(), peer)


class EchoClient(asyncore.dispatcher):
    """Sends each request once the previous answer came; closes at the end."""

    def __init__(self, map, address, requests):
        super().__init__(map=map)
        self.create_socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.connect(address)  # a UDP connect: default peer and filter
        self.todo = list(requests)
        self.waiting = False
        self.answers = []

    def handle_connect(self):
        pass

    def writable(self):
        return bool(self.todo) and not self.waiting

    def handle_write(self):
        self.send(self.todo.pop(0))
        self.waiting = True

    def handle_read(self):
        # dispatcher.recv() would take an empty datagram for EOF: a UDP
        # handler reads the socket itself.
        self.answers.append(self.socket.recv(2048))
        self.waiting = False
        if not self.todo:
            self.close()


def _echo(map, loop_kwargs):
    server = EchoServer(map)
    client = EchoClient(map, server.socket.getsockname(), REQUESTS)
    for _ in range(200):
        asyncore.loop(map=map, count=1, **loop_kwargs)
        if len(client.answers) == len(REQUESTS):
            break
    answers = list(client.answers)
    asyncore.close_all(map)
    return server, answers


@pytest.mark.parametrize(
    "use_poll", [False, True, "epoll"], ids=["select", "poll", "epoll"]
)
def test_udp_echo_dispatchers_on_fake_net(use_poll):
    net = FakeNetwork(seed=5)
    server, answers = _echo(net.map(), {"timeout": 1.0, "use_poll": use_poll})
    assert answers == [r.upper() for r in REQUESTS]
    assert [d for d, _ in server.seen] == REQUESTS
    peers = {p for _, p in server.seen}
    assert len(peers) == 1 and next(iter(peers))[0] == "127.0.0.1"
    assert net.open_fds() == []


@pytest.mark.network
def test_udp_echo_dispatchers_on_real_net():
    net = real_net.RealNetwork()
    server, answers = _echo(NetworkMap(net), {"timeout": 1.0})
    assert answers == [r.upper() for r in REQUESTS]
    assert [d for d, _ in server.seen] == REQUESTS


def test_udp_echo_is_deterministic_and_logged():
    def run():
        net = FakeNetwork(seed=11)
        _echo(net.map(), {"timeout": 1.0})
        return net.event_lines()

    first = run()
    assert first == run()
    kinds = [line.split()[1] for line in first]
    assert kinds.count("sendto") == 2 * len(REQUESTS)
    assert kinds.count("recvfrom") == 2 * len(REQUESTS)
    assert "unreachable" not in kinds


def test_latency_delays_datagrams_in_virtual_time():
    net = FakeNetwork(seed=1, latency=0.25)
    a = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    b.setblocking(False)
    b.sendto(b"late", a.getsockname())
    a.setblocking(False)
    with pytest.raises(BlockingIOError):
        a.recv(10)
    a.setblocking(True)
    assert a.recvfrom(10)[0] == b"late"  # a blocking recv moves the clock
    assert net.monotonic() == pytest.approx(0.25)
    # The ICMP error of a connected sender takes the way back too: a round
    # trip of two latencies.
    b.connect(("127.0.0.1", 9))
    b.send(b"nobody")
    net.sleep(0.25)  # the datagram reaches the closed port
    assert b.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    net.sleep(0.25)  # the port unreachable comes back
    assert b.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNREFUSED
    a.close()
    b.close()


def test_blocking_recv_with_nothing_to_come_is_stuck_not_a_hang():
    net = FakeNetwork()
    sock = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    with pytest.raises(SimulationStuck, match="recvfrom"):
        sock.recvfrom(10)


def test_blocking_recv_times_out_in_virtual_time():
    net = FakeNetwork()
    sock = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2)
    with pytest.raises(socket.timeout):
        sock.recv(10)
    assert net.monotonic() == pytest.approx(2.0)
    sock.close()


def test_world_socket_module_makes_udp_sockets():
    net = FakeNetwork(names={"dns.example": "192.0.2.53"})
    with net:
        server = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
        server.bind(("192.0.2.53", 53))
        ((family, kind, proto, _, addr),) = socket.getaddrinfo(
            "dns.example", 53, 0, socket.SOCK_DGRAM
        )
        assert (family, kind, proto, addr) == (
            socket.AF_INET,
            socket.SOCK_DGRAM,
            17,
            ("192.0.2.53", 53),
        )
        client = socket.socket(family, kind)
        assert isinstance(client, socket.socket)
        client.sendto(b"query", addr)
        data, peer = server.recvfrom(512)
        assert data == b"query" and peer[0] == net.local_ip
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("dns.example", 53, 0, socket.SOCK_DGRAM, 6)
        client.close()
        server.close()


def test_netstat_has_udp_rows():
    net = FakeNetwork(seed=2)
    a = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
    a.bind(("127.0.0.1", 4000))
    b = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b.connect(("127.0.0.1", 4000))
    for _ in range(5):
        b.send(b"y" * 1000)
    table = net.netstat()
    row = [line for line in table.splitlines() if "127.0.0.1:4000 " in line][0]
    assert row.split()[1] == "udp"
    assert "BOUND (queue 2, dropped 3, rcvbuf 2304)" in row
    assert "IN|OUT" in row
    assert "CONNECTED" in table
    a.close()
    b.close()


def test_tcp_and_udp_ports_are_separate_tables():
    net = FakeNetwork()
    udp = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", 5353))
    tcp = net.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("0.0.0.0", 5353))
    other = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with pytest.raises(OSError) as info:
        other.bind(("127.0.0.1", 5353))
    assert info.value.errno == errno.EADDRINUSE
    for s in (udp, tcp, other):
        s.close()


# -- refusals, each naming what is refused ---------------------------------------


@pytest.mark.parametrize(
    "family, kind, code, name",
    [
        (socket.AF_PACKET, socket.SOCK_DGRAM, errno.EAFNOSUPPORT, "AF_PACKET"),
        (socket.AF_NETLINK, socket.SOCK_STREAM, errno.EAFNOSUPPORT, "AF_NETLINK"),
        (socket.AF_UNIX, socket.SOCK_SEQPACKET, errno.ESOCKTNOSUPPORT, "SEQPACKET"),
        (socket.AF_INET6, socket.SOCK_RAW, errno.EPROTONOSUPPORT, "SOCK_RAW"),
        (socket.AF_INET, socket.SOCK_RAW, errno.EPROTONOSUPPORT, "SOCK_RAW"),
        (
            socket.AF_INET,
            socket.SOCK_SEQPACKET,
            errno.ESOCKTNOSUPPORT,
            "SOCK_SEQPACKET",
        ),
        (socket.AF_INET, 99, errno.EINVAL, "99"),
        (99, socket.SOCK_STREAM, errno.EAFNOSUPPORT, "99"),
    ],
)
def test_unsimulated_family_or_type_is_refused_by_name(family, kind, code, name):
    net = FakeNetwork()
    with pytest.raises(OSError) as info:
        net.socket(family, kind)
    assert info.value.errno == code
    assert name in str(info.value)
    assert net.open_fds() == []


def test_world_refuses_packet_socket_instead_of_making_tcp():
    net = FakeNetwork()
    with net:
        with pytest.raises(OSError) as info:
            socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM)
    assert info.value.errno == errno.EAFNOSUPPORT
    assert "AF_PACKET" in str(info.value)


def test_sock_nonblock_flag_makes_a_nonblocking_socket():
    net = FakeNetwork()
    sock = net.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK)
    assert sock.type == socket.SOCK_DGRAM and sock.gettimeout() == 0.0
    with pytest.raises(BlockingIOError):
        sock.recv(1)
    sock.close()


def test_unsimulated_options_flags_and_sharing_are_refused_by_name():
    net = FakeNetwork()
    sock = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with pytest.raises(OSError, match="IP_ADD_MEMBERSHIP") as info:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, bytes(8))
    assert info.value.errno == errno.ENOPROTOOPT
    sock.bind(("127.0.0.1", 0))
    with pytest.raises(OSError, match="MSG_WAITALL"):
        sock.recv(1, socket.MSG_WAITALL)
    with pytest.raises(OSError, match="ancillary"):
        sock.sendmsg([b"x"], [(socket.SOL_SOCKET, 1, b"")], 0, sock.getsockname())
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    twin = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    twin.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    with pytest.raises(OSError, match="sharing port") as info:
        twin.bind(sock.getsockname())
    assert info.value.errno == errno.EADDRINUSE
    sock.close()
    twin.close()


def test_broadcast_with_so_broadcast_reaches_wildcard_listeners():
    net = FakeNetwork()
    listener = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("0.0.0.0", 6000))
    narrow = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    narrow.bind(("127.0.0.1", 6001))
    sender = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sender.sendto(b"all", ("255.255.255.255", 6000))
    sender.sendto(b"all", ("255.255.255.255", 6001))
    listener.setblocking(False)
    narrow.setblocking(False)
    assert listener.recv(10) == b"all"
    with pytest.raises(BlockingIOError):
        narrow.recv(10)
    for s in (listener, narrow, sender):
        s.close()


def test_dup_of_any_simulated_socket_is_refused_by_name() -> None:
    import socket as _s

    from fake_net import FakeNetwork, SimulationError

    net = FakeNetwork(world=False)
    kinds = ((_s.SOCK_STREAM, "FakeSocket"), (_s.SOCK_DGRAM, "DatagramSocket"))
    for kind, name in kinds:
        sock = net.socket(_s.AF_INET, kind)
        with pytest.raises(SimulationError, match=name):
            net.dup(sock.fileno())
        assert net.open_fds() == [sock.fileno()]  # nothing reserved
        sock.close()
