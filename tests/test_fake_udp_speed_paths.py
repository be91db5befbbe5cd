"""The fast paths of fake_net's UDP round trip (issue 15, "Speed") keep
every behaviour of the slow ones.

* name resolution: IP literals are remembered (``_addresses._LITERALS``),
  names are looked up in ``net.names`` at every call, so a name re-pointed
  between two sends reaches its new address;
* ``sendto``'s argument checks, done inline for the common tuple, still
  raise what ``_parse_address`` raises;
* the datagram hot paths set readiness in place (``_queue``, ``_take``):
  after every operation it equals what ``_revents()`` computes, for IPv4,
  IPv6 and AF_UNIX datagram sockets alike;
* the inlined delivery leaves broadcasts, wildcard binds and connect
  filters to ``_arrive``;
* the poller's interest views (``FakePoller._views``): a poller switching
  between interests it has seen answers, at every wait, what a fresh
  poller answers for the same interest, while descriptors close and open.
"""

from __future__ import annotations

import errno
import random
import socket

import pytest

from fake_net import FakeNetwork
from fake_net import _addresses
from fake_net._datagram import DatagramSocket
from readiness_oracle import normal, oracle, wait_answer as _answer

UDP = (socket.AF_INET, socket.SOCK_DGRAM)


def _pair(net):
    server = net.socket(*UDP)
    server.bind(("127.0.0.1", 7000))
    client = net.socket(*UDP)
    client.bind(("127.0.0.1", 0))
    return server, client


# -- resolution ---------------------------------------------------------------


def test_a_name_re_pointed_in_net_names_is_resolved_anew():
    net = FakeNetwork(seed=1)
    a = net.socket(*UDP)
    a.bind(("127.0.0.1", 7000))
    b = net.socket(*UDP)
    b.bind(("127.0.0.2", 7000))
    sender = net.socket(*UDP)
    net.names["svc"] = "127.0.0.1"
    sender.sendto(b"one", ("svc", 7000))
    net.names["svc"] = "127.0.0.2"
    sender.sendto(b"two", ("svc", 7000))
    net.add_name("svc", "127.0.0.1")
    sender.sendto(b"three", ("svc", 7000))
    assert a.recv(100) == b"one"
    assert b.recv(100) == b"two"
    assert a.recv(100) == b"three"
    assert "svc" not in _addresses._LITERALS or not _addresses._LITERALS["svc"]
    del net.names["svc"]
    with pytest.raises(socket.gaierror):
        sender.sendto(b"four", ("svc", 7000))


def test_literals_are_remembered_and_still_resolve_to_themselves():
    net = FakeNetwork(seed=1)
    _addresses._LITERALS.pop("127.0.0.9", None)
    assert net._resolve("127.0.0.9") == "127.0.0.9"
    assert _addresses._LITERALS["127.0.0.9"] is True
    assert net._resolve("127.0.0.9") == "127.0.0.9"
    # The special cases come before the table, cached or not.
    assert net._resolve("") == "127.0.0.1"
    assert net._resolve("", bind=True) == "0.0.0.0"
    assert net._resolve("0.0.0.0") == "0.0.0.0"
    assert net._resolve("0.0.0.0", bind=True) == "0.0.0.0"
    # A name is never taken for a literal, however often it is asked.
    net.add_name("host-a", "127.0.0.5")
    for _ in range(3):
        assert net._resolve("host-a") == "127.0.0.5"
    assert _addresses._LITERALS.get("host-a") is False
    # Not strings: not remembered (ipaddress takes packed bytes and ints).
    assert net._resolve(b"\x7f\x00\x00\x01") == b"\x7f\x00\x00\x01"
    assert b"\x7f\x00\x00\x01" not in _addresses._LITERALS


def test_the_literal_table_is_bounded(monkeypatch):
    monkeypatch.setattr(_addresses, "_LITERALS", {})
    net = FakeNetwork(seed=1)
    for i in range(_addresses._LITERALS_MAX + 10):
        net._resolve("10.%d.%d.1" % (i // 256, i % 256))
    assert 0 < len(_addresses._LITERALS) <= _addresses._LITERALS_MAX


@pytest.mark.parametrize(
    "address, exc",
    [
        (("127.0.0.1", True), TypeError),
        (("127.0.0.1", 70000), OverflowError),
        (("127.0.0.1", -1), OverflowError),
        (("127.0.0.1", 7.0), TypeError),
        ((1, 7000), TypeError),
        (["127.0.0.1", 7000], TypeError),
        (("127.0.0.1",), TypeError),
        (("no.such.name", 7000), socket.gaierror),
    ],
)
def test_sendto_still_checks_its_address(address, exc):
    net = FakeNetwork(seed=1)
    s = net.socket(*UDP)
    with pytest.raises(exc):
        s.sendto(b"x", address)
    assert s.sent == 0


def test_sendto_a_closed_socket_is_ebadf_after_the_address_checks():
    net = FakeNetwork(seed=1)
    s = net.socket(*UDP)
    s.close()
    with pytest.raises(TypeError):
        s.sendto(b"x", ("127.0.0.1", True))
    with pytest.raises(OSError) as info:
        s.sendto(b"x", ("127.0.0.1", 7000))
    assert info.value.errno == errno.EBADF


# -- readiness set in place ---------------------------------------------------


def _check_ready(net):
    for fd, sock in net._objects.items():
        want = sock._revents()
        assert net._ready.get(fd, 0) == want, (sock, net._ready.get(fd))
        assert net._rready.get(fd, 0) == (want if want & ~4 else 0), sock


def _ops(net, socks, rng):
    """Random sends, receives, peeks, shutdowns and ICMP errors."""
    for _ in range(300):
        s = rng.choice(socks)
        other = rng.choice(socks)
        what = rng.randrange(6)
        try:
            if what == 0:
                s.sendto(b"x" * rng.randrange(5), other.getsockname())
            elif what == 1:
                s.recv(rng.choice([1, 100]), socket.MSG_DONTWAIT)
            elif what == 2:
                s.recvfrom(100, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            elif what == 3 and rng.random() < 0.1:
                s.shutdown(rng.choice([socket.SHUT_RD, socket.SHUT_WR]))
            elif what == 4 and s.remote is None and rng.random() < 0.2:
                s.connect(("127.0.0.1", 9))  # nobody there: ECONNREFUSED next
            elif what == 5:
                s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        except OSError:
            pass
        _check_ready(net)


@pytest.mark.parametrize("seed", range(5))
def test_udp_readiness_set_in_place_is_what_revents_computes(seed):
    net = FakeNetwork(seed=seed)
    socks = []
    for _ in range(3):
        s = net.socket(*UDP)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    _ops(net, socks, random.Random(seed))


@pytest.mark.parametrize("seed", range(3))
def test_udp6_readiness_set_in_place_is_what_revents_computes(seed):
    net = FakeNetwork(seed=seed)
    socks = []
    for _ in range(3):
        s = net.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        socks.append(s)
    rng = random.Random(seed)
    for _ in range(200):
        s, other = rng.choice(socks), rng.choice(socks)
        try:
            if rng.random() < 0.5:
                s.sendto(b"y", other.getsockname())
            else:
                s.recv(10, socket.MSG_DONTWAIT)
        except OSError:
            pass
        _check_ready(net)


def test_unix_datagram_sockets_keep_their_own_readiness():
    assert DatagramSocket._own_ready is True
    net = FakeNetwork(seed=1)
    a = net.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    b = net.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    assert type(a)._own_ready is False  # its _revents is its own
    assert type(net.socket(socket.AF_INET6, socket.SOCK_DGRAM))._own_ready is True
    a.bind("\0a")
    b.connect("\0a")
    b.setblocking(False)
    full = False
    for _ in range(300):  # past MAX_DGRAM_QLEN: b loses POLLOUT, then regains it
        try:
            b.send(b"z")
        except BlockingIOError:
            full = True
            break
        _check_ready(net)
    assert full and not net._ready.get(b.fd, 0) & 4
    while True:
        try:
            a.recv(10, socket.MSG_DONTWAIT)
        except BlockingIOError:
            break
        _check_ready(net)
    _check_ready(net)


def test_a_subclass_with_its_own_revents_is_refreshed_its_way():
    class Quiet(DatagramSocket):
        __slots__ = ()

        def _revents(self):
            return DatagramSocket._revents(self) & ~1  # never readable

    assert Quiet._own_ready is False
    net = FakeNetwork(seed=1)
    q = Quiet(net, socket.AF_INET, socket.SOCK_DGRAM)
    q.fd = net._alloc_fd(q)
    q._refresh()
    q.bind(("127.0.0.1", 7001))
    net.socket(*UDP).sendto(b"x", ("127.0.0.1", 7001))
    assert len(q.queue) == 1
    assert net._ready[q.fd] == 4


# -- delivery -----------------------------------------------------------------


def test_broadcasts_reach_the_sockets_on_the_port():
    net = FakeNetwork(seed=1)
    on_any = net.socket(*UDP)
    on_any.bind(("0.0.0.0", 7002))
    on_bcast = net.socket(*UDP)
    on_bcast.bind(("127.255.255.255", 7005))
    sender = net.socket(*UDP)
    with pytest.raises(PermissionError):
        sender.sendto(b"no", ("255.255.255.255", 7002))
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sender.sendto(b"all", ("255.255.255.255", 7002))
    sender.sendto(b"lo", ("127.255.255.255", 7005))
    sender.sendto(b"also", ("127.255.255.255", 7002))
    assert on_any.recv(10) == b"all"
    assert on_any.recv(10) == b"also"
    assert on_bcast.recv(10) == b"lo"


def test_connect_filters_and_wildcards_still_decide_delivery():
    net = FakeNetwork(seed=1)
    server, client = _pair(net)
    stranger = net.socket(*UDP)
    stranger.bind(("127.0.0.1", 0))
    server.connect(client.getsockname())  # takes only client's datagrams
    stranger.sendto(b"no", ("127.0.0.1", 7000))
    client.sendto(b"yes", ("127.0.0.1", 7000))
    assert server.recv(10) == b"yes"
    with pytest.raises(BlockingIOError):
        server.recv(10, socket.MSG_DONTWAIT)
    wild = net.socket(*UDP)
    wild.bind(("0.0.0.0", 7003))
    client.sendto(b"any", ("127.0.0.1", 7003))
    assert wild.recvfrom(10) == (b"any", client.getsockname())
    # Nobody on the port: a connected sender hears of it.
    client.connect(("127.0.0.1", 7004))
    client.send(b"lost")
    with pytest.raises(ConnectionRefusedError):
        client.send(b"again")


def test_the_event_log_of_a_round_trip_is_unchanged_in_form():
    net = FakeNetwork(seed=1)
    server, client = _pair(net)
    client.connect(("127.0.0.1", 7000))
    client.send(b"ping")
    data, peer = server.recvfrom(100)
    server.sendto(data.upper(), peer)
    assert client.recv(100) == b"PING"
    tail = [(e.kind, e.fd, e.data) for e in net.events[-6:]]
    c, s = client.fd, server.fd
    src = client.getsockname()
    assert tail == [
        ("sendto", c, (("127.0.0.1", 7000), 4, b"ping")),
        ("arrive", s, (src, 4)),
        ("recvfrom", s, (100, b"ping", src)),
        ("sendto", s, (src, 4, b"PING")),
        ("arrive", c, (("127.0.0.1", 7000), 4)),
        ("recvfrom", c, (100, b"PING", ("127.0.0.1", 7000))),
    ]


# -- the poller's interest views ---------------------------------------------


@pytest.mark.parametrize("method", ["select", "poll", "epoll"])
@pytest.mark.parametrize("seed", range(4))
def test_a_poller_switching_views_answers_as_a_fresh_one(method, seed):
    rng = random.Random(seed)
    net = FakeNetwork(seed=seed)
    socks = []
    for _ in range(4):
        s = net.socket(*UDP)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    fds = [s.fd for s in socks]
    kept = net.poller(method)
    choices = [[1, 1, 5, 1], [1, 5, 1, 1], [1, 1, 1, 1], [5, 0, 1, 3]]
    for _ in range(150):
        what = rng.random()
        if what < 0.3:
            a, b = rng.choice(socks), rng.choice(socks)
            if a.fd is not None and b.fd is not None:
                a.sendto(b"d", b.getsockname())
        elif what < 0.5:
            s = rng.choice(socks)
            if s.fd is not None:
                try:
                    s.recv(10, socket.MSG_DONTWAIT)
                except OSError:
                    pass
        elif what < 0.55:
            # Close one (its fd stays in the map: NVAL / EBADF), or reopen
            # a closed one on the lowest free descriptor.
            i = rng.randrange(len(socks))
            if socks[i].fd is not None:
                socks[i].close()
            else:
                socks[i] = net.socket(*UDP)
                socks[i].bind(("127.0.0.1", 0))
        masks = rng.choice(choices)
        fresh = net.poller(method)
        expect = _answer(fresh, fds, masks, True)
        got = _answer(kept, fds, masks, True)
        assert got == expect, (masks, [s.fd for s in socks])
        if expect != [] and expect != ([], [], []):  # (nothing ready: time moves)
            assert normal(got) == oracle(net, method, fds, masks), masks
        # And again without a change (the common case's path).
        if rng.random() < 0.3:
            assert _answer(kept, fds, masks, False) == _answer(fresh, fds, masks, False)
    assert len(kept._views) <= len(choices)
