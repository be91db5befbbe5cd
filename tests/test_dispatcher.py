"""Tests of asyncore_sim's dispatcher classes on the real (OS socket) network.

Where the stdlib ``asyncore`` of the running interpreter is available (Python
3.11 and older) it is loaded under a private name and driven side by side with
the package; on interpreters without it (3.12+) the package is compared with
the stdlib's answers recorded on 3.11 (``tests/stdlib_ref.py``).
"""

from __future__ import annotations

import errno
import gc
import importlib.util
import os
import re
import select
import socket
import struct
import sys
import warnings

import pytest
import stdlib_ref
from stdlib_ref import like_stdlib

import asyncore_sim
from stdlib_ref import STD_ASYNCORE

HAS_EPOLL = hasattr(select, "epoll")
HAS_POLL = hasattr(select, "poll")
POSIX = os.name == "posix"

LOOP_METHODS = [
    pytest.param(False, id="select"),
    pytest.param(
        True, id="poll",
        marks=pytest.mark.skipif(not HAS_POLL, reason="no select.poll"),
    ),
    pytest.param(
        "epoll", id="epoll",
        marks=pytest.mark.skipif(not HAS_EPOLL, reason="no select.epoll"),
    ),
]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

_STD = STD_ASYNCORE


@pytest.fixture
def stdmap():
    m = {}
    yield m
    if _STD is not None:
        _STD.close_all(m)


def _portable(text, *funcs):
    """``text`` with this file's path, and the line numbers of ``funcs``'
    frames, made independent of where the checkout is and of lines added
    above those functions."""
    text = text.replace(__file__, "TEST_FILE")
    for func in funcs:
        first = func.__code__.co_firstlineno
        text = re.sub(r"\|%s\|(\d+)\]" % func.__name__,
                      lambda m, n=func.__name__, first=first:
                      "|%s|+%d]" % (n, int(m.group(1)) - first),
                      text)
    return text


def _strip_addr(text):
    return re.sub(r" at 0x[0-9a-f]+", " at 0xADDR", text)


def _listener(res, host="127.0.0.1", family=socket.AF_INET):
    lst = res.enter_context(socket.socket(family, socket.SOCK_STREAM))
    lst.bind((host, 0))
    lst.listen(5)
    return lst


def _tcp_pair(res, host="127.0.0.1", family=socket.AF_INET):
    """A connected (client, server) pair of blocking loopback TCP sockets."""
    lst = _listener(res, host, family)
    cli = res.enter_context(socket.socket(family, socket.SOCK_STREAM))
    cli.settimeout(2.0)
    cli.connect(lst.getsockname()[:2])
    srv, _ = lst.accept()
    res.enter_context(srv)
    cli.settimeout(None)
    return cli, srv


def _socketpair(res):
    a, b = socket.socketpair()
    res.enter_context(a)
    res.enter_context(b)
    return a, b


def _closed_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _ipv6_ok():
    if not socket.has_ipv6:
        return False
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        s.bind(("::1", 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


needs_ipv6 = pytest.mark.skipif(not _ipv6_ok(), reason="no IPv6 loopback (::1)")


def _run_until(pred, map, use_poll=False, limit=100, timeout=0.02):
    """Run the package loop one iteration at a time until pred() holds."""
    for _ in range(limit):
        if pred():
            return True
        asyncore_sim.loop(timeout=timeout, use_poll=use_poll, map=map, count=1)
    return pred()


def _open_fds():
    """{(fd, what it refers to)} for this process: a leaked descriptor shows
    up even if its number was freed and reused meanwhile."""
    out = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            out.add((int(name), os.readlink("/proc/self/fd/" + name)))
        except OSError:
            pass  # the listing's own descriptor, already closed
    return out


def make_recorder(base, log, writable=True):
    """A dispatcher subclass of ``base`` (stdlib or package) that records."""

    class Recorder(base):
        def readable(self):
            return True

        def log_info(self, message, type="info"):
            log.append(("log", type))

        def handle_connect(self):
            log.append("connect")

        def handle_read(self):
            log.append("read")

        def handle_write(self):
            log.append("write")

        def handle_expt(self):
            log.append("expt")

        def handle_error(self):
            t, v = sys.exc_info()[:2]
            log.append(("error", t.__name__, getattr(v, "errno", None)))
            base.handle_error(self)

        def handle_close(self):
            log.append("close")
            self.close()

    if not writable:
        Recorder.writable = lambda self: False
    return Recorder


# ---------------------------------------------------------------------------
# defaults, repr
# ---------------------------------------------------------------------------

def test_attribute_defaults(amap):
    d = asyncore_sim.dispatcher(map=amap)
    assert d.connected is False
    assert d.accepting is False
    assert d.connecting is False
    assert d.closing is False
    assert d.addr is None
    assert d.debug is False
    assert d.ignore_log_types == frozenset({"warning"})
    assert type(d.ignore_log_types) is frozenset
    assert d.socket is None
    assert d.readable() is True
    assert d.writable() is True
    assert amap == {}


def test_attribute_defaults_match_stdlib():
    names = ("debug", "connected", "accepting", "connecting", "closing", "addr",
             "ignore_log_types")
    like_stdlib(lambda mod: {name: getattr(mod.dispatcher, name) for name in names})


def test_repr_plain(amap):
    d = asyncore_sim.dispatcher(map=amap)
    assert re.fullmatch(r"<asyncore\.dispatcher at 0x[0-9a-f]+>", repr(d))
    assert repr(d) == "<asyncore.dispatcher at %#x>" % id(d)
    ds = asyncore_sim.dispatcher_with_send(map=amap)
    assert repr(ds) == "<asyncore.dispatcher_with_send at %#x>" % id(ds)


@pytest.mark.network
def test_repr_listening(amap):
    d = asyncore_sim.dispatcher(map=amap)
    d.create_socket(socket.AF_INET, socket.SOCK_STREAM)
    d.bind(("127.0.0.1", 0))
    # Bound but not listening: no status word, the address as given.
    assert repr(d) == "<asyncore.dispatcher 127.0.0.1:0 at %#x>" % id(d)
    d.listen(5)
    assert d.accepting is True
    assert repr(d) == "<asyncore.dispatcher listening 127.0.0.1:0 at %#x>" % id(d)


@pytest.mark.network
def test_repr_connected_and_fallback(amap, res):
    cli, srv = _tcp_pair(res)
    d = asyncore_sim.dispatcher(cli, map=amap)
    host, port = srv.getsockname()
    assert d.addr == (host, port)
    assert repr(d) == "<asyncore.dispatcher connected %s:%d at %#x>" % (
        host, port, id(d))
    # An address that is not (host, port): repr(addr) is used.
    a, _ = _socketpair(res)
    u = asyncore_sim.dispatcher(a, map=amap)
    assert u.connected is True
    assert u.addr == ""
    assert repr(u) == "<asyncore.dispatcher connected '' at %#x>" % id(u)
    u.addr = ("h", 1, 2)
    assert repr(u) == "<asyncore.dispatcher connected ('h', 1, 2) at %#x>" % id(u)
    u.connected = False
    u.addr = "/tmp/some.sock"
    assert repr(u) == "<asyncore.dispatcher '/tmp/some.sock' at %#x>" % id(u)


@needs_ipv6
@pytest.mark.network
def test_repr_ipv6(amap, res):
    cli, srv = _tcp_pair(res, "::1", socket.AF_INET6)
    d = asyncore_sim.dispatcher(cli, map=amap)
    assert len(d.addr) == 4  # (host, port, flowinfo, scope_id)
    assert repr(d) == "<asyncore.dispatcher connected %r at %#x>" % (d.addr, id(d))
    lst = asyncore_sim.dispatcher(map=amap)
    lst.create_socket(socket.AF_INET6, socket.SOCK_STREAM)
    lst.bind(("::1", 0))
    lst.listen(1)
    assert repr(lst) == "<asyncore.dispatcher listening ::1:0 at %#x>" % id(lst)


def test_repr_user_subclass(amap):
    class MyChannel(asyncore_sim.dispatcher):
        pass

    d = MyChannel(map=amap)
    expected = "%s.%s" % (MyChannel.__module__, MyChannel.__qualname__)
    assert "<locals>" in expected
    assert repr(d) == "<%s at %#x>" % (expected, id(d))
    assert not repr(d).startswith("<asyncore.")


@pytest.mark.network
def test_repr_matches_stdlib(amap, stdmap, res):
    def run(mod):
        m = amap if mod is asyncore_sim else stdmap
        d = mod.dispatcher(map=m)
        d.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        d.bind(("127.0.0.1", 0))
        r1 = repr(d)
        d.listen(1)
        r2 = repr(d)
        a, _ = _socketpair(res)
        u = mod.dispatcher(a, map=m)
        return [_strip_addr(x) for x in (r1, r2, repr(u))]

    assert like_stdlib(run) == [
        "<asyncore.dispatcher 127.0.0.1:0 at 0xADDR>",
        "<asyncore.dispatcher listening 127.0.0.1:0 at 0xADDR>",
        "<asyncore.dispatcher connected '' at 0xADDR>",
    ]


# ---------------------------------------------------------------------------
# logging
# ---------------------------------------------------------------------------

def test_log_writes_stderr(amap, capsys):
    d = asyncore_sim.dispatcher(map=amap)
    d.log("hello there")
    d.log(42)
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "log: hello there\nlog: 42\n"


def test_log_info(amap, capsys):
    d = asyncore_sim.dispatcher(map=amap)
    d.log_info("plain")
    d.log_info("bad", "error")
    d.log_info("hidden", "warning")
    out, err = capsys.readouterr()
    assert out == "info: plain\nerror: bad\n"
    assert err == ""
    d.ignore_log_types = frozenset({"info"})
    d.log_info("now hidden")
    d.log_info("now shown", "warning")
    out, _ = capsys.readouterr()
    assert out == "warning: now shown\n"


@pytest.mark.network
def test_unhandled_event_warnings(amap, capsys, res):
    d = asyncore_sim.dispatcher(map=amap)
    d.ignore_log_types = frozenset()
    d.handle_expt()
    d.handle_read()
    d.handle_write()
    d.handle_connect()
    a, b = socket.socketpair()
    res.enter_context(b)
    d.handle_accepted(a, "addr")
    assert a.fileno() == -1  # the unwanted connection is closed
    d.handle_close()
    out, _ = capsys.readouterr()
    assert out.splitlines() == [
        "warning: unhandled incoming priority event",
        "warning: unhandled read event",
        "warning: unhandled write event",
        "warning: unhandled connect event",
        "warning: unhandled accepted event",
        "warning: unhandled close event",
    ]
    # With the default ignore_log_types nothing is printed.
    d2 = asyncore_sim.dispatcher(map=amap)
    d2.handle_read()
    d2.handle_write()
    assert capsys.readouterr().out == ""


def test_unhandled_event_warnings_match_stdlib(capsys):
    def run(mod):
        d = mod.dispatcher(map={})
        d.ignore_log_types = frozenset()
        for name in ("handle_expt", "handle_read", "handle_write",
                     "handle_connect", "handle_close"):
            getattr(d, name)()
        return capsys.readouterr().out

    assert like_stdlib(run).count("\n") == 5


# ---------------------------------------------------------------------------
# close
# ---------------------------------------------------------------------------

@pytest.mark.network
def test_close_twice(amap):
    d = asyncore_sim.dispatcher(map=amap)
    d.create_socket(socket.AF_INET, socket.SOCK_STREAM)
    fd = d.socket.fileno()
    assert amap == {fd: d}
    d.connected = d.accepting = d.connecting = True
    d.close()
    assert amap == {}
    assert d.socket.fileno() == -1
    assert (d.connected, d.accepting, d.connecting) == (False, False, False)
    d.close()  # harmless
    assert amap == {}
    assert d.socket.fileno() == -1


def test_close_without_socket(amap):
    d = asyncore_sim.dispatcher(map=amap)
    d.close()
    d.close()
    assert amap == {}


class _FakeSock:
    """A socket double whose methods raise chosen errors."""

    def __init__(self, fileno=100001, send_err=None, recv_err=None,
                 close_err=None, so_error=0, peer="peer"):
        self._fileno = fileno
        self.send_err = send_err
        self.recv_err = recv_err
        self.close_err = close_err
        self.so_error = so_error
        self.peer = peer
        self.closed = 0

    def fileno(self):
        return self._fileno

    def setblocking(self, flag):
        pass

    def getpeername(self):
        if isinstance(self.peer, BaseException):
            raise self.peer
        return self.peer

    def getsockopt(self, level, opt, *args):
        if opt == socket.SO_ERROR:
            return self.so_error
        raise OSError(errno.ENOPROTOOPT, "nope")

    def setsockopt(self, *args):
        raise OSError(errno.ENOPROTOOPT, "nope")

    def send(self, data):
        if self.send_err is not None:
            raise OSError(self.send_err, os.strerror(self.send_err))
        return len(data)

    def recv(self, n):
        if self.recv_err is not None:
            raise OSError(self.recv_err, os.strerror(self.recv_err))
        return b"data"

    def close(self):
        self.closed += 1
        if self.close_err is not None:
            raise OSError(self.close_err, os.strerror(self.close_err))


@pytest.mark.parametrize("err", [errno.ENOTCONN, errno.EBADF])
def test_close_ignores_enotconn_ebadf(amap, err):
    d = asyncore_sim.dispatcher(_FakeSock(close_err=err), map=amap)
    d.close()
    assert amap == {}


def test_close_raises_other_errors(amap):
    d = asyncore_sim.dispatcher(_FakeSock(close_err=errno.EIO), map=amap)
    with pytest.raises(OSError) as info:
        d.close()
    assert info.value.errno == errno.EIO
    assert amap == {}


def test_init_with_broken_socket_removes_channel(amap):
    sock = _FakeSock(peer=OSError(errno.EIO, "broken"))
    with pytest.raises(OSError):
        asyncore_sim.dispatcher(sock, map=amap)
    assert amap == {}


def test_init_with_unconnected_socket(amap):
    for err in (errno.ENOTCONN, errno.EINVAL):
        sock = _FakeSock(fileno=100001 + err, peer=OSError(err, "x"))
        d = asyncore_sim.dispatcher(sock, map=amap)
        assert d.connected is False
        assert d.addr is None
        assert amap[sock.fileno()] is d


# ---------------------------------------------------------------------------
# send / recv with str
# ---------------------------------------------------------------------------

def test_dispatcher_with_send_str_type_error(amap):
    def run(mod):
        d = mod.dispatcher_with_send(map=amap if mod is asyncore_sim else {})
        with pytest.raises(Exception) as info:
            d.send("a str")
        assert d.out_buffer == b""
        return (type(info.value).__name__, str(info.value))

    assert like_stdlib(run)[0] == "TypeError"


@pytest.mark.network
def test_dispatcher_send_str_on_connected_socket(amap, res):
    a, b = _socketpair(res)
    d = asyncore_sim.dispatcher(a, map=amap)
    assert d.connected
    with pytest.raises(TypeError):
        d.send("a str")
    ds = asyncore_sim.dispatcher_with_send(b, map=amap)
    with pytest.raises(TypeError):
        ds.send("a str")


@pytest.mark.network
def test_dispatcher_with_send_buffers(amap, res):
    a, b = _socketpair(res)
    d = asyncore_sim.dispatcher_with_send(a, map=amap)
    assert not d.writable()
    d.send(b"hello")
    assert d.out_buffer == b""
    assert b.recv(100) == b"hello"
    d.debug = True
    logged = []
    d.log_info = lambda msg, type="info": logged.append((type, msg))
    d.send(b"x")
    assert logged == [("info", "sending b'x'")]
    assert b.recv(10) == b"x"


# ---------------------------------------------------------------------------
# create_socket, set_reuse_addr
# ---------------------------------------------------------------------------

_FAMILIES = [
    pytest.param(socket.AF_INET, socket.SOCK_STREAM, id="inet-stream"),
    pytest.param(socket.AF_INET, socket.SOCK_DGRAM, id="inet-dgram"),
    pytest.param(socket.AF_INET6, socket.SOCK_STREAM, id="inet6-stream",
                 marks=needs_ipv6),
]
if hasattr(socket, "AF_UNIX"):
    _FAMILIES.append(pytest.param(socket.AF_UNIX, socket.SOCK_STREAM,
                                  id="unix-stream"))


@pytest.mark.network
@pytest.mark.parametrize("family,type_", _FAMILIES)
def test_create_socket(amap, family, type_):
    d = asyncore_sim.dispatcher(map=amap)
    d.create_socket(family, type_)
    assert isinstance(d.socket, socket.socket)
    assert d.socket.gettimeout() == 0
    assert d.socket.getblocking() is False
    assert d.socket.family == family
    assert d.socket.type == type_
    assert d.family_and_type == (family, type_)
    assert amap == {d.socket.fileno(): d}
    assert d._fileno == d.socket.fileno()


@pytest.mark.network
def test_create_socket_defaults(amap):
    d = asyncore_sim.dispatcher(map=amap)
    d.create_socket()
    assert d.family_and_type == (socket.AF_INET, socket.SOCK_STREAM)
    assert d.socket.family == socket.AF_INET
    assert d.socket.type == socket.SOCK_STREAM


@pytest.mark.network
def test_set_reuse_addr(amap):
    d = asyncore_sim.dispatcher(map=amap)
    d.create_socket(socket.AF_INET, socket.SOCK_STREAM)
    assert d.socket.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 0
    d.set_reuse_addr()
    assert d.socket.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0


def test_set_reuse_addr_ignores_oserror(amap):
    d = asyncore_sim.dispatcher(_FakeSock(), map=amap)
    d.set_reuse_addr()  # the fake raises OSError: swallowed


# ---------------------------------------------------------------------------
# connect
# ---------------------------------------------------------------------------

@pytest.mark.network
@pytest.mark.parametrize("use_poll", LOOP_METHODS)
def test_connect_to_listener(amap, res, use_poll):
    lst = _listener(res)
    log = []
    d = make_recorder(asyncore_sim.dispatcher, log)(map=amap)
    d.create_socket(socket.AF_INET, socket.SOCK_STREAM)
    d.connect(lst.getsockname())
    assert d.addr == lst.getsockname()
    assert d.connecting is True or d.connected is True
    assert _run_until(lambda: "connect" in log, amap, use_poll)
    assert log.count("connect") == 1
    assert d.connected is True
    assert d.connecting is False
    assert "<asyncore" not in repr(d)  # a subclass
    assert " connected 127.0.0.1:%d " % lst.getsockname()[1] in repr(d)
    conn, _ = lst.accept()
    conn.close()


def _refused_sequence(mod, map, use_poll, port):
    log = []
    d = make_recorder(mod.dispatcher, log)(map=map)
    d.create_socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        d.connect(("127.0.0.1", port))
    except OSError as exc:  # refused synchronously: not what Linux does
        log.append(("raised", exc.errno))
        d.close()
        return log
    for _ in range(50):
        if not map:
            break
        mod.loop(timeout=0.05, use_poll=use_poll, map=map, count=1)
    assert not map, "the refused channel was not closed"
    return log


@pytest.mark.network
@pytest.mark.parametrize("use_poll", [False, True])
def test_connect_refused_matches_stdlib(amap, stdmap, use_poll):
    port = _closed_port()
    ours = like_stdlib(lambda mod: _refused_sequence(
        mod, amap if mod is asyncore_sim else stdmap, use_poll, port))
    if ("raised", errno.ECONNREFUSED) not in ours:
        assert ours == [
            ("error", "ConnectionRefusedError", errno.ECONNREFUSED),
            ("log", "error"),
            "close",
        ]


@pytest.mark.network
@pytest.mark.skipif(not HAS_EPOLL, reason="no select.epoll")
def test_connect_refused_epoll_like_stdlib_poll(amap, stdmap):
    port = _closed_port()
    ours = _refused_sequence(asyncore_sim, amap, "epoll", port)
    stdlib_ref.expect(ours, lambda: _refused_sequence(_STD, stdmap, True, port))


def test_connect_immediate_success_and_error(amap):
    class Sock(_FakeSock):
        def __init__(self, result, fileno):
            super().__init__(fileno=fileno)
            self.result = result

        def connect_ex(self, address):
            return self.result

    log = []
    for i, err in enumerate((0, errno.EISCONN)):
        d = make_recorder(asyncore_sim.dispatcher, log)(map=amap)
        d.set_socket(Sock(err, 200000 + i))
        d.connect(("h", 1))
        assert d.connected and not d.connecting and d.addr == ("h", 1)
    assert log == ["connect", "connect"]
    d = asyncore_sim.dispatcher(map=amap)
    d.set_socket(Sock(errno.ECONNREFUSED, 200005))
    with pytest.raises(OSError) as info:
        d.connect(("h", 1))
    assert info.value.errno == errno.ECONNREFUSED
    assert info.value.strerror == "ECONNREFUSED"  # errorcode[], as the stdlib
    assert d.connecting is True and d.connected is False


# ---------------------------------------------------------------------------
# accept
# ---------------------------------------------------------------------------

@pytest.mark.network
def test_accept_nothing_pending_returns_none(amap):
    d = asyncore_sim.dispatcher(map=amap)
    d.create_socket(socket.AF_INET, socket.SOCK_STREAM)
    d.bind(("127.0.0.1", 0))
    d.listen(5)
    assert d.accept() is None
    d.handle_accept()  # nothing to accept: no handle_accepted, no error


@pytest.mark.parametrize("exc", [TypeError("x"),
                                 OSError(errno.EAGAIN, "x"),
                                 OSError(errno.ECONNABORTED, "x")])
def test_accept_returns_none_on_transient_errors(amap, exc):
    class Sock(_FakeSock):
        def accept(self):
            raise exc

    d = asyncore_sim.dispatcher(map=amap)
    d.set_socket(Sock())
    assert d.accept() is None
    amap.clear()


def test_accept_raises_other_errors(amap):
    class Sock(_FakeSock):
        def accept(self):
            raise OSError(errno.EMFILE, "too many")

    d = asyncore_sim.dispatcher(map=amap)
    d.set_socket(Sock())
    with pytest.raises(OSError):
        d.accept()
    amap.clear()


@pytest.mark.network
@pytest.mark.parametrize("use_poll", LOOP_METHODS)
def test_handle_accepted_receives_sock_and_addr(amap, res, use_poll):
    got = []

    class Server(asyncore_sim.dispatcher):
        def handle_accepted(self, sock, addr):
            res.enter_context(sock)
            got.append((sock, addr))

    srv = Server(map=amap)
    srv.create_socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.set_reuse_addr()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    port = srv.socket.getsockname()[1]
    cli = res.enter_context(socket.create_connection(("127.0.0.1", port), 2))
    assert _run_until(lambda: got, amap, use_poll)
    (sock, addr), = got
    assert isinstance(sock, socket.socket)
    assert addr == cli.getsockname()
    assert sock.getpeername() == cli.getsockname()
    assert list(amap.values()) == [srv]


# ---------------------------------------------------------------------------
# send / recv error paths
# ---------------------------------------------------------------------------

@pytest.mark.network
def test_send_returns_zero_when_buffer_full(amap, res):
    a, b = _socketpair(res)
    d = asyncore_sim.dispatcher(a, map=amap)
    chunk = b"x" * 65536
    results = []
    for _ in range(2000):
        n = d.send(chunk)
        results.append(n)
        if n == 0:
            break
    assert results[-1] == 0, "the socket buffer never filled"
    assert sum(results) > 0
    assert d.send(b"y") == 0
    assert amap == {a.fileno(): d}  # EWOULDBLOCK does not close


@pytest.mark.network
def test_send_and_recv_after_reset_call_handle_close(amap, res):
    log = []
    Rec = make_recorder(asyncore_sim.dispatcher, log)
    cli1, srv1 = _tcp_pair(res)
    cli2, srv2 = _tcp_pair(res)
    d1 = Rec(cli1, map=amap)
    d2 = Rec(cli2, map=amap)
    for srv in (srv1, srv2):
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        srv.close()  # RST
    assert select.select([cli1, cli2], [], [], 2.0)[0] == [cli1, cli2]
    assert d1.send(b"data") == 0  # ECONNRESET
    assert log == ["close"]
    assert d1.socket.fileno() == -1 and d1.connected is False
    assert d2.recv(100) == b""  # ECONNRESET
    assert log == ["close", "close"]
    assert amap == {}


@pytest.mark.network
def test_send_epipe_calls_handle_close(amap, res):
    log = []
    a, b = _socketpair(res)
    d = make_recorder(asyncore_sim.dispatcher, log)(a, map=amap)
    b.close()
    assert d.send(b"data") == 0  # EPIPE
    assert log == ["close"]
    assert amap == {}


@pytest.mark.parametrize("err", [errno.ECONNRESET, errno.ENOTCONN,
                                 errno.ESHUTDOWN, errno.ECONNABORTED,
                                 errno.EPIPE, errno.EBADF])
def test_send_recv_disconnect_errnos(amap, err):
    log = []
    Rec = make_recorder(asyncore_sim.dispatcher, log)
    d = Rec(_FakeSock(send_err=err, recv_err=err), map=amap)
    assert d.send(b"x") == 0
    assert log == ["close"]
    d = Rec(_FakeSock(send_err=err, recv_err=err), map=amap)
    assert d.recv(10) == b""
    assert log == ["close", "close"]
    assert amap == {}


def test_send_recv_other_errors_raise(amap):
    log = []
    d = make_recorder(asyncore_sim.dispatcher, log)(
        _FakeSock(send_err=errno.EIO, recv_err=errno.EIO), map=amap)
    with pytest.raises(OSError):
        d.send(b"x")
    with pytest.raises(OSError):
        d.recv(1)
    assert log == []
    d2 = asyncore_sim.dispatcher(
        _FakeSock(fileno=100002, send_err=errno.EWOULDBLOCK), map=amap)
    assert d2.send(b"x") == 0


@pytest.mark.network
def test_recv_empty_calls_handle_close(amap, res):
    log = []
    a, b = _socketpair(res)
    d = make_recorder(asyncore_sim.dispatcher, log)(a, map=amap)
    b.sendall(b"abc")
    assert d.recv(100) == b"abc"
    assert log == []
    b.close()
    assert d.recv(100) == b""
    assert log == ["close"]
    assert amap == {}


# ---------------------------------------------------------------------------
# exceptional conditions, OOB
# ---------------------------------------------------------------------------

@pytest.mark.network
def test_handle_expt_event_pending_error_closes(amap):
    log = []
    d = make_recorder(asyncore_sim.dispatcher, log)(map=amap)
    d.create_socket(socket.AF_INET, socket.SOCK_STREAM)
    d.connect(("127.0.0.1", _closed_port()))
    select.select([d.socket], [], [], 2.0)
    d.handle_expt_event()
    assert log == ["close"]
    assert amap == {}


@pytest.mark.network
def test_handle_expt_event_without_error_is_expt(amap, res):
    log = []
    a, _ = _socketpair(res)
    d = make_recorder(asyncore_sim.dispatcher, log)(a, map=amap)
    d.handle_expt_event()
    assert log == ["expt"]
    d2 = make_recorder(asyncore_sim.dispatcher, log)(
        _FakeSock(so_error=errno.ECONNRESET), map=amap)
    d2.handle_expt_event()
    assert log == ["expt", "close"]


@pytest.mark.network
@pytest.mark.parametrize("use_poll", LOOP_METHODS)
def test_oob_data_reaches_handle_expt(amap, res, use_poll):
    cli, srv = _tcp_pair(res)
    got = []

    class Chan(asyncore_sim.dispatcher):
        def writable(self):
            return False

        def handle_read(self):
            got.append(("read", self.recv(100)))

        def handle_expt(self):
            got.append(("expt", self.socket.recv(1, socket.MSG_OOB)))

    Chan(srv, map=amap)
    cli.send(b"!", socket.MSG_OOB)
    assert _run_until(lambda: got, amap, use_poll, timeout=0.05)
    assert got == [("expt", b"!")]
    # Nothing else is pending afterwards.
    asyncore_sim.loop(timeout=0, use_poll=use_poll, map=amap, count=2)
    assert got == [("expt", b"!")]


# ---------------------------------------------------------------------------
# handle_error
# ---------------------------------------------------------------------------

def _trigger(d):
    try:
        raise ValueError("boom")
    except ValueError:
        d.handle_error()


def test_handle_error_format(amap, capsys):
    closed = []

    class Chan(asyncore_sim.dispatcher):
        def handle_close(self):
            closed.append(True)
            self.close()

    d = Chan(map=amap)
    _trigger(d)
    out = capsys.readouterr().out
    line = _trigger.__code__.co_firstlineno + 2
    expected = (
        "error: uncaptured python exception, closing channel %r "
        "(<class 'ValueError'>:boom [%s|_trigger|%d])\n"
        % (d, __file__, line)
    )
    assert out == expected
    assert closed == [True]


def test_handle_error_matches_stdlib(amap, capsys):
    def run(mod):
        d = mod.dispatcher(map=amap if mod is asyncore_sim else {})
        _trigger(d)
        return _portable(_strip_addr(capsys.readouterr().out), _trigger)

    assert like_stdlib(run) == (
        "error: uncaptured python exception, closing channel "
        "<asyncore.dispatcher at 0xADDR> (<class 'ValueError'>:boom "
        "[TEST_FILE|_trigger|+2])\n")


def test_handle_error_with_failing_repr(amap, capsys):
    class Bad(asyncore_sim.dispatcher):
        def __repr__(self):
            raise RuntimeError("no repr")

    d = Bad(map=amap)
    _trigger(d)
    out = capsys.readouterr().out
    assert out.startswith(
        "error: uncaptured python exception, closing channel "
        "<__repr__(self) failed for object at %0x> (<class 'ValueError'>:boom ["
        % id(d)
    )
    assert "%0x" % id(d) in out and "0x%0x" % id(d) not in out


def test_handle_error_calls_handle_close_after_logging(amap):
    order = []

    class Chan(asyncore_sim.dispatcher):
        def log_info(self, message, type="info"):
            order.append(("log", type))

        def handle_close(self):
            order.append("close")

    _trigger(Chan(map=amap))
    assert order == [("log", "error"), "close"]


def test_compact_traceback():
    def inner():
        raise KeyError("k")

    def portable(result):
        (f, func, line), t, v, info = result
        return ((f == __file__, func, int(line) - inner.__code__.co_firstlineno),
                _portable(info, inner, test_compact_traceback))

    try:
        inner()
    except KeyError:
        ours = asyncore_sim.compact_traceback()
        stdlib_ref.expect(portable(ours), lambda: portable(_STD.compact_traceback()))
    (f, func, line), t, v, info = ours
    assert (f, func) == (__file__, "inner")
    assert int(line) == inner.__code__.co_firstlineno + 1
    assert t is KeyError and v.args == ("k",)
    assert info.count("[") == 2 and info.endswith("|inner|%s]" % line)
    with pytest.raises(AssertionError):
        asyncore_sim.compact_traceback()


# ---------------------------------------------------------------------------
# __getattr__ delegation
# ---------------------------------------------------------------------------

def _compat():
    return importlib.import_module("asyncore_sim.compat")


@pytest.fixture
def delegation():
    """Socket delegation switched on for the test (opt-in via compat when the
    package offers the switch; always on in versions without it)."""
    compat = _compat()
    enable = getattr(compat, "enable_socket_delegation", None)
    if enable is None:
        yield
        return
    was = compat.socket_delegation_enabled()
    enable()
    try:
        yield
    finally:
        if not was:
            compat.disable_socket_delegation()


@pytest.mark.network
def test_no_delegation_by_default_like_311(amap):
    compat = _compat()
    if not hasattr(compat, "enable_socket_delegation"):
        pytest.skip("this version always delegates")
    assert compat.socket_delegation_enabled() is False
    d = asyncore_sim.dispatcher(map=amap)
    d.create_socket(socket.AF_INET, socket.SOCK_STREAM)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError):
            d.getsockname
    compat.enable_socket_delegation()
    try:
        assert compat.socket_delegation_enabled() is True
        with pytest.warns(DeprecationWarning):
            assert d.getsockname() == d.socket.getsockname()
    finally:
        compat.disable_socket_delegation()
    assert compat.socket_delegation_enabled() is False
    with pytest.raises(AttributeError):
        d.getsockname


@pytest.mark.network
@pytest.mark.usefixtures("delegation")
def test_getattr_delegates_with_deprecation_warning(amap):
    d = asyncore_sim.dispatcher(map=amap)
    d.create_socket(socket.AF_INET, socket.SOCK_STREAM)
    d.bind(("127.0.0.1", 0))
    with pytest.warns(DeprecationWarning, match=r"dispatcher\.getsockname") as rec:
        name = d.getsockname()
    assert name == d.socket.getsockname()
    assert rec[0].filename == __file__  # attributed to the caller
    with pytest.warns(DeprecationWarning):
        assert d.family == socket.AF_INET


@pytest.mark.network
@pytest.mark.usefixtures("delegation")
def test_getattr_does_not_delegate_private_names(amap):
    d = asyncore_sim.dispatcher(map=amap)
    d.create_socket(socket.AF_INET, socket.SOCK_STREAM)
    assert hasattr(d.socket, "_closed")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError):
            d._closed
        with pytest.raises(AttributeError):
            d.__nonexistent__
        with pytest.raises(AttributeError):
            d.no_such_attribute_anywhere


@pytest.mark.usefixtures("delegation")
def test_getattr_without_socket(amap):
    d = asyncore_sim.dispatcher(map=amap)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError):
            d.getsockname
        assert not hasattr(d, "getsockname")


# ---------------------------------------------------------------------------
# file_wrapper / file_dispatcher
# ---------------------------------------------------------------------------

@pytest.fixture
def pipe():
    r, w = os.pipe()
    fds = [r, w]
    yield fds
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _fd_is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


@pytest.mark.skipif(not POSIX, reason="POSIX only")
def test_file_wrapper_dups_and_closes(pipe):
    r, w = pipe
    fw = asyncore_sim.file_wrapper(r)
    try:
        assert fw.fd != r and fw.fileno() == fw.fd
        os.write(w, b"hi")
        assert fw.recv(10) == b"hi"
        assert fw.read is not None
        assert fw.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
        with pytest.raises(NotImplementedError):
            fw.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
        with pytest.raises(NotImplementedError):
            fw.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR, 4)
        dup = fw.fd
    finally:
        fw.close()
    assert fw.fd == -1
    assert not _fd_is_open(dup)
    assert _fd_is_open(r)
    fw.close()  # twice: harmless
    assert fw.fd == -1


@pytest.mark.skipif(not POSIX, reason="POSIX only")
def test_file_wrapper_send(pipe):
    r, w = pipe
    fw = asyncore_sim.file_wrapper(w)
    try:
        assert fw.send(b"abc") == 3
        assert fw.write(b"d") == 1
    finally:
        fw.close()
    assert os.read(r, 10) == b"abcd"


@pytest.mark.skipif(not POSIX, reason="POSIX only")
def test_file_wrapper_unclosed_resource_warning(pipe):
    r, _ = pipe
    fw = asyncore_sim.file_wrapper(r)
    dup = fw.fd
    with pytest.warns(ResourceWarning, match="unclosed file"):
        del fw
        gc.collect()
    assert not _fd_is_open(dup)


@pytest.mark.skipif(not POSIX, reason="POSIX only")
@pytest.mark.parametrize("use_poll", LOOP_METHODS)
def test_file_dispatcher_reads_via_loop(amap, pipe, use_poll):
    r, w = pipe
    got = []

    class Reader(asyncore_sim.file_dispatcher):
        def writable(self):
            return False

        def handle_read(self):
            got.append(self.recv(100))

        def handle_close(self):
            got.append("close")
            self.close()

    d = Reader(r, map=amap)
    assert d.connected is True
    assert d.socket.fd != r
    assert amap == {d.socket.fd: d}
    assert os.get_blocking(r) is False
    os.write(w, b"hello")
    assert _run_until(lambda: got, amap, use_poll)
    assert got == [b"hello"]
    os.close(w)
    pipe.remove(w)
    assert _run_until(lambda: "close" in got, amap, use_poll)
    if use_poll is False:
        # select: readable, recv() gets b"" and calls handle_close itself.
        assert got == [b"hello", "close", b""]
    else:
        # poll/epoll: an empty pipe with no writer is POLLHUP only.
        assert got == [b"hello", "close"]
    assert amap == {}
    assert d.socket.fd == -1
    d.close()  # twice: harmless


@pytest.mark.skipif(not POSIX, reason="POSIX only")
def test_file_dispatcher_accepts_file_object(amap, pipe):
    r, _ = pipe
    with os.fdopen(os.dup(r), "rb", buffering=0) as f:
        d = asyncore_sim.file_dispatcher(f, map=amap)
        assert d.socket.fd not in (r, f.fileno())
        d.close()
        d.close()
    assert amap == {}


# ---------------------------------------------------------------------------
# descriptors: close_all leaves nothing open
# ---------------------------------------------------------------------------

@pytest.mark.network
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
@pytest.mark.parametrize("use_poll", [
    pytest.param("select", id="select"),
    pytest.param(True, id="poll",
                 marks=pytest.mark.skipif(not HAS_POLL, reason="no poll")),
    pytest.param("epoll", id="epoll",
                 marks=pytest.mark.skipif(not HAS_EPOLL, reason="no epoll")),
])
def test_close_all_leaves_no_descriptor_open(use_poll):
    r, w = os.pipe()
    try:
        before = _open_fds()
        m = {}
        accepted = []

        class Handler(asyncore_sim.dispatcher):
            def handle_read(self):
                self.recv(100)

            def handle_write(self):
                pass

        class Server(asyncore_sim.dispatcher):
            def handle_accepted(self, sock, addr):
                accepted.append(Handler(sock, map=m))

        class Client(asyncore_sim.dispatcher):
            def handle_connect(self):
                pass

            def handle_write(self):
                pass

        srv = Server(map=m)
        srv.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.set_reuse_addr()
        srv.bind(("127.0.0.1", 0))
        srv.listen(5)
        cli = Client(map=m)
        cli.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        cli.connect(srv.socket.getsockname())
        fdisp = type("FileHandler", (asyncore_sim.file_dispatcher,),
                     {"handle_read": Handler.handle_read,
                      "writable": lambda self: False})(r, map=m)
        os.write(w, b"x")
        for _ in range(100):
            if accepted and cli.connected:
                break
            asyncore_sim.loop(timeout=0.02, use_poll=use_poll, map=m, count=1)
        assert accepted and cli.connected
        asyncore_sim.loop(timeout=0.0, use_poll=use_poll, map=m, count=5)
        assert len(m) == 4
        opened = _open_fds() - before
        kinds = sorted(what.split(":")[0] for _, what in opened)
        # listener, client, accepted socket, the pipe's dup (and possibly an
        # epoll instance the package keeps for the map between loops)
        assert kinds in (["pipe", "socket", "socket", "socket"],
                         ["anon_inode", "pipe", "socket", "socket", "socket"])
        asyncore_sim.close_all(m)
        assert m == {}
        assert _open_fds() - before == set()
        assert fdisp.socket.fd == -1
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.network
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
@pytest.mark.skipif(not HAS_EPOLL, reason="no epoll")
def test_poll_epoll_does_not_leak_epoll_fds(res):
    a, b = _socketpair(res)
    m = {}
    asyncore_sim.dispatcher(a, map=m)
    before = _open_fds()
    try:
        for _ in range(5):
            asyncore_sim.poll_epoll(0.0, m)
        # at most one epoll instance (kept for the map), not one per call
        assert len(_open_fds() - before) <= 1
    finally:
        asyncore_sim.close_all(m)
    assert _open_fds() - before == set()
    assert a.fileno() == -1


@pytest.mark.network
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
@pytest.mark.parametrize("use_poll", LOOP_METHODS)
def test_no_descriptor_left_after_channels_close_themselves(res, use_poll):
    # Not close_all: the channels close() themselves inside the loop.
    a, b = _socketpair(res)
    m = {}

    class Chan(asyncore_sim.dispatcher):
        def writable(self):
            return False

        def handle_read(self):
            self.recv(10)
            self.close()

    Chan(a, map=m)
    b.sendall(b"x")
    before = _open_fds()
    asyncore_sim.loop(timeout=0.5, use_poll=use_poll, map=m, count=5)
    assert m == {}
    assert a.fileno() == -1
    assert _open_fds() - before == set()
