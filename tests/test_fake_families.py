"""fake_net's AF_UNIX and AF_INET6 sockets: what the conformance checks do
not cover (blocking calls, the world, traces, netstat, bad input), and a
few seconds of the families' differential fuzz (real against fake)."""

from __future__ import annotations

import errno
import importlib.util
import os
import socket

import pytest

import asyncore_sim  # noqa: F401  (registers the real network's namespace)
from asyncore_sim.trace import Recorder, Trace
from asyncore_sim.trace._values import addr_value, format_value, parse_value
from fake_net import FakeNetwork
from fake_net._unix import MAX_DGRAM_QLEN, unix_socketpair

AF_UNIX = socket.AF_UNIX


def _net(**kw):
    return FakeNetwork(world=False, **kw)


# -- AF_UNIX -------------------------------------------------------------------


def test_unix_names_never_touch_the_filesystem(tmp_path):
    net = _net()
    path = str(tmp_path / "s")
    sock = net.socket(AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    assert not os.path.exists(path)
    assert net.unix_names() == [path]
    sock.close()
    assert net.unix_names() == [path]  # the "file" stays
    net.unlink(path)
    assert net.unix_names() == []
    with pytest.raises(FileNotFoundError):
        net.unlink(path)


def test_abstract_names_are_freed_on_close_and_unlink_refuses_them():
    net = _net()
    sock = net.socket(AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0name")
    with pytest.raises(FileNotFoundError):
        net.unlink(b"\0name")
    sock.close()
    assert net.unix_names() == []


def test_autobind_names_come_from_the_seed():
    def name(seed):
        net = _net(seed=seed)
        s = net.socket(AF_UNIX, socket.SOCK_DGRAM)
        s.bind("")
        return s.getsockname()

    assert name(1) == name(1)
    assert len({name(seed) for seed in range(6)}) > 1


@pytest.mark.parametrize(
    "address, exc, text",
    [
        (("a", 1), TypeError, "bytes-like object is required, not 'tuple'"),
        ("/" + "x" * 200, OSError, "AF_UNIX path too long"),
        (5, TypeError, "not 'int'"),
    ],
)
def test_bad_unix_addresses_fail_as_cpython_does(address, exc, text):
    net = _net()
    sock = net.socket(AF_UNIX, socket.SOCK_STREAM)
    with pytest.raises(exc, match=text):
        sock.bind(address)
    with pytest.raises(exc, match=text):
        sock.connect(address)
    sock.close()


def test_blocking_unix_connect_waits_for_room_in_the_accept_queue():
    net = _net()
    listener = net.socket(AF_UNIX, socket.SOCK_STREAM)
    listener.bind("/srv")
    listener.listen(0)  # room for one
    first = net.socket(AF_UNIX, socket.SOCK_STREAM)
    first.connect("/srv")
    waiting = net.socket(AF_UNIX, socket.SOCK_STREAM)
    waiting.setblocking(False)
    assert waiting.connect_ex("/srv") == errno.EAGAIN
    accepted = []
    net.add_loop(
        lambda: accepted.append(listener.accept()[0]) if not accepted else None
    )
    waiting.setblocking(True)
    waiting.connect("/srv")  # runs the loop, which accepts the first
    assert waiting.getpeername() == "/srv"
    for s in [listener, first, waiting] + accepted + [listener.accept()[0]]:
        s.close()


def test_blocking_unix_datagram_send_waits_until_the_receiver_reads():
    net = _net()
    rx = net.socket(AF_UNIX, socket.SOCK_DGRAM)
    rx.bind("/rx")
    tx = net.socket(AF_UNIX, socket.SOCK_DGRAM)
    for i in range(MAX_DGRAM_QLEN + 1):
        tx.sendto(b"%d" % i, "/rx")
    got = []
    net.add_loop(lambda: got.append(rx.recv(10)) if not got else None)
    tx.sendto(b"late", "/rx")  # blocks until the loop reads one
    assert got == [b"0"]
    rest = [rx.recv(10) for _ in range(MAX_DGRAM_QLEN + 1)]
    assert rest[-1] == b"late"
    assert rx.drops == 0
    rx.close()
    tx.close()


def test_unix_datagram_to_a_closed_peer_disconnects():
    net = _net()
    a, b = unix_socketpair(net, socket.SOCK_DGRAM)
    b.close()
    with pytest.raises(ConnectionRefusedError):
        a.send(b"x")
    with pytest.raises(OSError) as info:
        a.send(b"x")
    assert info.value.errno == errno.ENOTCONN
    a.close()


def test_world_makes_unix_sockets_and_pairs():
    net = FakeNetwork()
    with net:
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        assert isinstance(a, socket.socket)
        a.sendall(b"through the world")
        assert b.recv(100) == b"through the world"
        c, d = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        c.send(b"dg")
        assert d.recvfrom(10) == (b"dg", None)
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind("/run/app.sock")
        srv.listen()
        cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        cli.connect("/run/app.sock")
        conn, addr = srv.accept()
        assert addr == "" and conn.getsockname() == "/run/app.sock"
        for s in (a, b, c, d, srv, cli, conn):
            s.close()
        pair = socket.socketpair()  # no family: AF_UNIX, as on Linux
        assert [s.family for s in pair] == [socket.AF_UNIX] * 2
        assert [s.type for s in pair] == [socket.SOCK_STREAM] * 2
        pair[0].sendall(b"x")
        assert pair[1].recv(1) == b"x"
        for s in pair:
            s.close()


def test_netstat_shows_unix_and_ipv6_rows():
    net = _net()
    u = net.socket(AF_UNIX, socket.SOCK_STREAM)
    u.bind("/tmp/ctl")
    u.listen(1)
    d = net.socket(AF_UNIX, socket.SOCK_DGRAM)
    d.bind(b"\0abstract")
    six = net.socket(socket.AF_INET6, socket.SOCK_STREAM)
    six.bind(("::1", 8080))
    table = net.netstat()
    assert "unix        /tmp/ctl" in table
    assert "unix-dgram  @abstract" in table
    assert "tcp6        [::1]:8080" in table
    for s in (u, d, six):
        s.close()


# -- AF_INET6 ------------------------------------------------------------------


@pytest.mark.parametrize(
    "address, exc, code",
    [
        (("127.0.0.1", 80), socket.gaierror, socket.EAI_ADDRFAMILY),
        (("localhost", 80), socket.gaierror, socket.EAI_NONAME),
        (("2001:db8::1", 80), OSError, errno.ENETUNREACH),
        (("::ffff:127.0.0.1", 80), OSError, errno.EAFNOSUPPORT),
        (("::1", 80, 0, 3), OSError, errno.EINVAL),
        (("::1", 80, 7), OSError, errno.EINVAL),
    ],
)
def test_ipv6_addresses_fake_net_lacks_are_refused_by_name(address, exc, code):
    net = _net()
    sock = net.socket(socket.AF_INET6, socket.SOCK_STREAM)
    with pytest.raises(exc) as info:
        sock.connect(address)
    assert info.value.errno == code
    sock.close()


def test_ipv6_tuple_shape_is_checked_as_cpython_does():
    net = _net()
    sock = net.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    with pytest.raises(TypeError, match=r"host, port\[, flowinfo"):
        sock.bind(("::1",))
    with pytest.raises(TypeError, match="must be tuple, not str"):
        sock.bind("::1")
    with pytest.raises(OverflowError, match="flowinfo must be 0-1048575"):
        sock.bind(("::1", 0, 1 << 20))
    sock.close()


def test_ipv6_dual_stack_listener_accepts_ipv4_as_mapped():
    net = _net()
    listener = net.socket(socket.AF_INET6, socket.SOCK_STREAM)
    listener.bind(("::", 0))
    listener.listen()
    port = listener.getsockname()[1]
    taken = net.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(OSError) as info:
        taken.bind(("127.0.0.1", port))
    assert info.value.errno == errno.EADDRINUSE
    client = net.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.connect(("127.0.0.1", port))
    conn, addr = listener.accept()
    assert addr == ("::ffff:127.0.0.1", client.getsockname()[1], 0, 0)
    assert conn.getsockname() == ("::ffff:127.0.0.1", port, 0, 0)
    for s in (listener, taken, client, conn):
        s.close()


def test_world_getaddrinfo_answers_ipv6():
    net = FakeNetwork(names={"six.example": "::1"})
    with net:
        got = socket.getaddrinfo("six.example", 80, socket.AF_INET6, socket.SOCK_STREAM)
        assert got == [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 80, 0, 0))]
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("localhost", 80, socket.AF_INET6)
        with pytest.raises(socket.gaierror) as info:
            socket.getaddrinfo("localhost", 80, socket.AF_UNIX)
        assert info.value.errno == socket.EAI_FAMILY


# -- traces --------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [("::1", 8080, 0, 0), ("127.0.0.1", 80), "/run/x.sock", b"\0abs", "", "123"],
)
def test_addresses_of_every_family_record_and_read_back(value):
    back = parse_value(format_value(addr_value(value)))
    assert back == value
    assert type(back) is type(value) or isinstance(value, tuple)


def test_an_ipv6_run_records_4_tuples():
    with Recorder(FakeNetwork(seed=2)) as rec:
        s = rec.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        name = s.getsockname()
        s.close()
    text = rec.trace.dumps()
    assert "@[::1]:%d/0/0" % name[1] in text
    events = Trace.loads(text).events
    assert [e.result[0] for e in events if e.kind == "getsockname"] == [name]


# -- the families' differential fuzz, a few seconds of it ----------------------


def _fuzz_module():
    path = os.path.join(os.path.dirname(__file__), "long", "test_families_fuzz_long.py")
    spec = importlib.util.spec_from_file_location("_families_fuzz", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.network
def test_families_differential_fuzz_short():
    fuzz = _fuzz_module()
    report = fuzz.fuzz(seconds=3.0, count=400, seed=1000)
    assert report["sequences_tried"] >= 20
    assert not report["first_examples"], report["first_examples"][0]
