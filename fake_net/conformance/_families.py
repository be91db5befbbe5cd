"""Conformance checks: AF_UNIX stream and datagram sockets, IPv6 TCP and UDP.

AF_UNIX: names (paths in a fresh ``tempfile.mkdtemp()`` folder, abstract
names, autobind), connect/accept, the errors of a name in use, missing, or
with nobody listening, a peer that closes, ``socketpair(AF_UNIX, ...)``,
datagrams from unbound senders, a full receiver pushing a nonblocking
sender back (datagrams never drop).  IPv6: 4-tuple names on ``::1``, a
connection and its data, a connect to a port only IPv4 listens on refused,
UDP datagrams with 4-tuple sources.  The IPv6 checks pass without asserting
anything where the machine has no ``::1`` (real network only).

A simulated network never touches the folder's files: where the checks
remove a socket file, they call ``net.unlink(path)`` on a network that has
it (fake_net: the file Linux leaves behind is its table's) and
``os.unlink(path)`` otherwise.

The suite's rules hold (see :mod:`fake_net.conformance`).
"""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import socket
import tempfile
from typing import Any, Callable, List, Tuple

from fake_net.conformance._support import (
    POLLHUP,
    POLLIN,
    POLLOUT,
    _close_all,
    _expect_oserror,
    revents_now,
    wait_for,
)

__all__ = [
    "check_unix_stream_connect_accept",
    "check_unix_path_errors",
    "check_unix_abstract_names",
    "check_unix_peer_close",
    "check_unix_socketpair",
    "check_unix_datagram",
    "check_unix_datagram_full_receiver",
    "check_ipv6_tcp",
    "check_ipv6_udp",
]

AF_UNIX = getattr(socket, "AF_UNIX", 1)
_names = itertools.count()


class _Folder:
    """A fresh real folder for socket paths, removed afterwards."""

    def __enter__(self) -> "_Folder":
        self.path = tempfile.mkdtemp(prefix="fakenet-check-")
        return self

    def __exit__(self, *exc: Any) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def name(self, stem: str) -> str:
        return os.path.join(self.path, stem)


def _unix(net: Any, socks: List[Any], type: int = socket.SOCK_STREAM) -> Any:
    sock = net.socket(AF_UNIX, type)
    socks.append(sock)
    sock.setblocking(False)
    return sock


def _unlink(net: Any, path: str) -> None:
    unlink: Callable[[str], None] = getattr(net, "unlink", None) or os.unlink
    unlink(path)


def _abstract(stem: str) -> str:
    # Abstract names are global on a real machine: make them unique.
    return "\0fakenet-check-%d-%d-%s" % (os.getpid(), next(_names), stem)


def _unix_pair(net: Any, type: int) -> Tuple[Any, Any]:
    """``socketpair(AF_UNIX, type)`` on either network (the seam's
    ``socketpair()`` gives TCP)."""
    make = getattr(net, "unix_socketpair", None)
    if make is None:
        try:
            from fake_net._unix import unix_socketpair
            from fake_net._network import FakeNetwork
        except ImportError:  # pragma: no cover
            FakeNetwork = None  # type: ignore[assignment,misc]
        if FakeNetwork is not None and isinstance(net, FakeNetwork):
            a, b = unix_socketpair(net, type)
            return a, b
        return socket.socketpair(AF_UNIX, type)
    a, b = make(type)
    return a, b


def _recv_some(net: Any, sock: Any, n: int = 65536) -> bytes:
    wait_for(net, sock, POLLIN)
    return bytes(sock.recv(n))


def _connected_unix(
    net: Any, socks: List[Any], folder: _Folder
) -> Tuple[Any, Any, Any]:
    path = folder.name("srv")
    listener = _unix(net, socks)
    listener.bind(path)
    listener.listen(5)
    client = _unix(net, socks)
    err = client.connect_ex(path)
    assert err == 0, "a Unix stream connect completes at once: got %s" % (
        errno.errorcode.get(err, err),
    )
    wait_for(net, listener, POLLIN)
    server, addr = listener.accept()
    socks.append(server)
    server.setblocking(False)
    assert addr == "", "accept() of an unbound client: %r, expected ''" % (addr,)
    return listener, client, server


def check_unix_stream_connect_accept(net: Any) -> None:
    """AF_UNIX stream: names ('' unbound, the path once bound), a connect
    that completes at once, accept, data both ways."""
    socks: List[Any] = []
    with _Folder() as folder:
        try:
            probe = _unix(net, socks)
            assert probe.getsockname() == "", repr(probe.getsockname())
            listener, client, server = _connected_unix(net, socks, folder)
            path = folder.name("srv")
            assert listener.getsockname() == path
            assert client.getpeername() == path, repr(client.getpeername())
            assert client.getsockname() == ""
            assert server.getsockname() == path
            assert server.getpeername() == ""
            client.send(b"ping")
            assert _recv_some(net, server) == b"ping"
            server.send(b"pong")
            assert _recv_some(net, client) == b"pong"
            _expect_oserror(lambda: probe.getpeername(), errno.ENOTCONN, "getpeername")
        finally:
            _close_all(socks)


def check_unix_path_errors(net: Any) -> None:
    """AF_UNIX paths: in use (EADDRINUSE, also once its socket closed),
    missing (ENOENT), nobody listening (ECONNREFUSED), the wrong type
    (EPROTOTYPE), free again once unlinked; listen() unbound is EINVAL."""
    socks: List[Any] = []
    with _Folder() as folder:
        try:
            path = folder.name("a")
            first = _unix(net, socks)
            first.bind(path)
            _expect_oserror(
                lambda: _unix(net, socks).bind(path), errno.EADDRINUSE, "bind in use"
            )
            _expect_oserror(
                lambda: _unix(net, socks).connect(folder.name("missing")),
                errno.ENOENT,
                "connect to a missing path",
                FileNotFoundError,
            )
            err = _unix(net, socks).connect_ex(path)
            assert err == errno.ECONNREFUSED, "bound, not listening: %s" % (
                errno.errorcode.get(err, err),
            )
            dgram = _unix(net, socks, socket.SOCK_DGRAM)
            dgram.bind(folder.name("d"))
            err = _unix(net, socks).connect_ex(folder.name("d"))
            assert err == errno.EPROTOTYPE, "stream to a datagram path: %s" % (
                errno.errorcode.get(err, err),
            )
            _expect_oserror(
                lambda: _unix(net, socks).listen(1), errno.EINVAL, "listen unbound"
            )
            first.listen(1)
            socks.remove(first)
            first.close()
            err = _unix(net, socks).connect_ex(path)
            assert err == errno.ECONNREFUSED, "listener closed: %s" % (
                errno.errorcode.get(err, err),
            )
            _expect_oserror(
                lambda: _unix(net, socks).bind(path),
                errno.EADDRINUSE,
                "bind to a path whose socket closed (the file remains)",
            )
            _unlink(net, path)
            again = _unix(net, socks)
            again.bind(path)
            assert again.getsockname() == path
        finally:
            _close_all(socks)


def check_unix_abstract_names(net: Any) -> None:
    """Abstract AF_UNIX names: returned as bytes, EADDRINUSE while bound,
    free once closed; bind('') autobinds to one (b'\\0' + 5 hex digits)."""
    socks: List[Any] = []
    try:
        name = _abstract("abs")
        a = _unix(net, socks)
        a.bind(name)
        assert a.getsockname() == name.encode(), repr(a.getsockname())
        _expect_oserror(
            lambda: _unix(net, socks).bind(name.encode()),
            errno.EADDRINUSE,
            "abstract name in use",
        )
        listener = a
        listener.listen(1)
        client = _unix(net, socks)
        assert client.connect_ex(name) == 0
        assert client.getpeername() == name.encode()
        socks.remove(a)
        a.close()
        b = _unix(net, socks)
        b.bind(name)  # free again at once
        auto = _unix(net, socks, socket.SOCK_DGRAM)
        auto.bind("")
        got = auto.getsockname()
        assert isinstance(got, bytes) and got[:1] == b"\0" and len(got) == 6, got
        int(got[1:], 16)
    finally:
        _close_all(socks)


def check_unix_peer_close(net: Any) -> None:
    """A Unix stream peer that closes: POLLIN|POLLHUP, EOF; with data it had
    not read, ECONNRESET first; a send to it is EPIPE at once."""
    socks: List[Any] = []
    with _Folder() as folder:
        try:
            _, client, server = _connected_unix(net, socks, folder)
            server.send(b"last")
            socks.remove(server)
            server.close()
            wait_for(net, client, POLLHUP)
            assert revents_now(net, client) & POLLIN, "peer closed: no POLLIN"
            assert _recv_some(net, client) == b"last"
            assert client.recv(10) == b""
            _expect_oserror(lambda: client.send(b"x"), errno.EPIPE, "send to closed")
            # With data unread by the one that closes.
            _, client2, server2 = _connected_unix(net, socks, _Sub(folder, "2"))
            client2.send(b"unread")
            wait_for(net, server2, POLLIN)
            socks.remove(server2)
            server2.close()
            wait_for(net, client2, POLLHUP)
            _expect_oserror(
                lambda: client2.recv(10), errno.ECONNRESET, "recv after reset"
            )
            assert client2.recv(10) == b""
            _expect_oserror(lambda: client2.send(b"x"), errno.EPIPE, "send after")
        finally:
            _close_all(socks)


class _Sub(_Folder):
    """Another name space in the same folder."""

    def __init__(self, folder: _Folder, suffix: str) -> None:
        self.path = folder.path
        self.suffix = suffix

    def name(self, stem: str) -> str:
        return os.path.join(self.path, stem + self.suffix)


def check_unix_socketpair(net: Any) -> None:
    """socketpair(AF_UNIX, SOCK_STREAM) and (AF_UNIX, SOCK_DGRAM): connected
    and unnamed ('' both ways); a datagram from the pair arrives from None."""
    socks: List[Any] = []
    try:
        a, b = _unix_pair(net, socket.SOCK_STREAM)
        socks += [a, b]
        for s in (a, b):
            s.setblocking(False)
        assert a.getsockname() == "" and a.getpeername() == ""
        a.send(b"over")
        assert _recv_some(net, b) == b"over"
        c, d = _unix_pair(net, socket.SOCK_DGRAM)
        socks += [c, d]
        for s in (c, d):
            s.setblocking(False)
        assert c.getpeername() == ""
        c.send(b"one")
        c.send(b"two")
        wait_for(net, d, POLLIN)
        assert d.recvfrom(100) == (b"one", None)
        assert d.recv(100) == b"two"
    finally:
        _close_all(socks)


def check_unix_datagram(net: Any) -> None:
    """AF_UNIX datagrams: boundaries, the sender's name (None unbound),
    ENOENT to a missing path, ECONNREFUSED to a closed one, ENOTCONN on an
    unconnected send, EPROTOTYPE to a stream path, EOPNOTSUPP to listen."""
    socks: List[Any] = []
    with _Folder() as folder:
        try:
            rx = _unix(net, socks, socket.SOCK_DGRAM)
            rx.bind(folder.name("rx"))
            tx = _unix(net, socks, socket.SOCK_DGRAM)
            assert tx.sendto(b"abc", folder.name("rx")) == 3
            assert tx.sendto(b"defg", folder.name("rx")) == 4
            wait_for(net, rx, POLLIN)
            assert rx.recvfrom(100) == (b"abc", None)
            assert rx.recv(2) == b"de"  # the rest of it is lost
            named = _unix(net, socks, socket.SOCK_DGRAM)
            named.bind(folder.name("tx"))
            named.sendto(b"hi", folder.name("rx"))
            wait_for(net, rx, POLLIN)
            assert rx.recvfrom(100) == (b"hi", folder.name("tx"))
            _expect_oserror(
                lambda: tx.sendto(b"x", folder.name("none")),
                errno.ENOENT,
                "sendto a missing path",
            )
            _expect_oserror(lambda: tx.send(b"x"), errno.ENOTCONN, "send unconnected")
            _expect_oserror(lambda: rx.listen(1), errno.EOPNOTSUPP, "listen")
            stream = _unix(net, socks)
            stream.bind(folder.name("st"))
            _expect_oserror(
                lambda: tx.connect(folder.name("st")), errno.EPROTOTYPE, "connect"
            )
            tx.connect(folder.name("rx"))
            assert tx.getpeername() == folder.name("rx")
            tx.send(b"via connect")
            wait_for(net, rx, POLLIN)
            assert rx.recv(100) == b"via connect"
            socks.remove(rx)
            rx.close()
            _expect_oserror(
                lambda: named.sendto(b"x", folder.name("rx")),
                errno.ECONNREFUSED,
                "sendto a path whose socket closed",
            )
        finally:
            _close_all(socks)


def check_unix_datagram_full_receiver(net: Any) -> None:
    """An AF_UNIX datagram receiver that does not read: the nonblocking
    sender gets EAGAIN (nothing is dropped), and can send again once the
    receiver has read; every datagram sent arrives, in order."""
    socks: List[Any] = []
    with _Folder() as folder:
        try:
            rx = _unix(net, socks, socket.SOCK_DGRAM)
            rx.bind(folder.name("rx"))
            tx = _unix(net, socks, socket.SOCK_DGRAM)
            tx.connect(folder.name("rx"))
            sent = 0
            for i in range(10_000):
                try:
                    tx.send(b"%d" % i)
                except BlockingIOError as exc:
                    assert exc.errno == errno.EAGAIN
                    break
                sent += 1
            else:
                raise AssertionError("10,000 datagrams never filled the receiver")
            assert sent >= 1
            assert not _poll_out(net, tx), "a full peer: POLLOUT still reported"
            got = [rx.recv(100) for _ in range(sent)]
            assert got == [b"%d" % i for i in range(sent)], "lost or reordered"
            wait_for(net, tx, POLLOUT)
            tx.send(b"again")
            wait_for(net, rx, POLLIN)
            assert rx.recv(100) == b"again"
        finally:
            _close_all(socks)


def _poll_out(net: Any, sock: Any) -> bool:
    return bool(revents_now(net, sock) & POLLOUT)


def _ipv6_available(net: Any) -> bool:
    """Whether ``::1`` can be bound (a real machine may lack IPv6)."""
    try:
        probe = net.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        probe.bind(("::1", 0))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def check_ipv6_tcp(net: Any) -> None:
    """IPv6 TCP on ::1: 4-tuple names (('::', 0, 0, 0) unbound), connect,
    accept, data both ways; an IPv6 connect to a port only an IPv4 socket
    listens on is refused."""
    if not _ipv6_available(net):
        return
    socks: List[Any] = []

    def tcp6() -> Any:
        s = net.socket(socket.AF_INET6, socket.SOCK_STREAM)
        socks.append(s)
        s.setblocking(False)
        return s

    try:
        listener = tcp6()
        assert listener.getsockname() == ("::", 0, 0, 0), listener.getsockname()
        listener.bind(("::1", 0))
        host, port, flow, scope = listener.getsockname()
        assert (host, flow, scope) == ("::1", 0, 0) and port > 0
        listener.listen(5)
        client = tcp6()
        err = client.connect_ex(("::1", port))
        assert err in (0, errno.EINPROGRESS), errno.errorcode.get(err, err)
        wait_for(net, client, POLLOUT)
        assert client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
        wait_for(net, listener, POLLIN)
        server, addr = listener.accept()
        socks.append(server)
        server.setblocking(False)
        assert len(addr) == 4 and addr == client.getsockname(), (addr,)
        assert client.getpeername() == ("::1", port, 0, 0)
        client.send(b"six")
        assert _recv_some(net, server) == b"six"
        server.send(b"back")
        assert _recv_some(net, client) == b"back"
        v4 = net.socket(socket.AF_INET, socket.SOCK_STREAM)
        socks.append(v4)
        v4.setblocking(False)
        v4.bind(("127.0.0.1", 0))
        v4.listen(1)
        only4 = v4.getsockname()[1]
        lone = tcp6()
        err = lone.connect_ex(("::1", only4))
        if err == errno.EINPROGRESS:
            wait_for(net, lone, POLLOUT)
            err = lone.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        assert err == errno.ECONNREFUSED, "v6 to a v4-only port: %s" % (
            errno.errorcode.get(err, err),
        )
    finally:
        _close_all(socks)


def check_ipv6_udp(net: Any) -> None:
    """IPv6 UDP on ::1: 4-tuple names, sendto/recvfrom with 4-tuple sources,
    boundaries kept, a connected socket's default destination."""
    if not _ipv6_available(net):
        return
    socks: List[Any] = []

    def udp6() -> Any:
        s = net.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        socks.append(s)
        s.setblocking(False)
        return s

    try:
        rx = udp6()
        rx.bind(("::1", 0))
        dest = rx.getsockname()
        assert len(dest) == 4 and dest[0] == "::1"
        tx = udp6()
        assert tx.sendto(b"one", dest) == 3
        assert tx.sendto(b"two", ("::1", dest[1])) == 3
        src = tx.getsockname()
        assert src[0] == "::" and src[1] > 0, src
        wait_for(net, rx, POLLIN)
        data, addr = rx.recvfrom(100)
        assert (data, addr) == (b"one", ("::1", src[1], 0, 0)), (data, addr)
        assert rx.recv(100) == b"two"
        tx2 = udp6()
        tx2.connect(dest)
        assert tx2.getpeername() == dest
        assert tx2.getsockname()[0] == "::1"
        tx2.send(b"connected")
        wait_for(net, rx, POLLIN)
        assert rx.recvfrom(100) == (b"connected", tx2.getsockname())
    finally:
        _close_all(socks)
