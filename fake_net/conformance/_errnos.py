"""Conformance checks: errno details.

The errors of sockets that are not connected, of ``bind()`` to an address
in use, of bad arguments, and of every call on a closed socket.

The suite's rules hold (see :mod:`fake_net.conformance`).
"""

from __future__ import annotations

import errno
import functools
import socket
from typing import Any, Callable, List, Tuple

from fake_net.conformance._support import (
    LOOPBACK,
    POLLHUP,
    POLLOUT,
    _close_all,
    _connected_pair,
    _expect_oserror,
    _expect_poll,
    _expect_raises,
    _listener,
    _recv_until_eof,
    _so_error,
    _tcp,
)

__all__ = [
    "check_unconnected_socket_errors",
    "check_bind_in_use",
    "check_argument_errors",
    "check_closed_socket",
]


def check_unconnected_socket_errors(net: Any) -> None:
    """ENOTCONN, EPIPE and friends on sockets that are not connected."""
    socks: List[Any] = []
    try:
        sock = _tcp(net, socks)
        assert sock.getsockname() == ("0.0.0.0", 0), "an unbound socket is named %r" % (
            sock.getsockname(),
        )
        _expect_oserror(lambda: sock.recv(1), errno.ENOTCONN, "recv() unconnected")
        _expect_oserror(
            lambda: sock.send(b"x"), errno.EPIPE, "send() unconnected", BrokenPipeError
        )
        _expect_oserror(sock.getpeername, errno.ENOTCONN, "getpeername() unconnected")
        _expect_oserror(
            lambda: sock.recv(1, socket.MSG_OOB),
            errno.EINVAL,
            "recv(MSG_OOB) unconnected",
        )
        _expect_oserror(sock.accept, errno.EINVAL, "accept() without listen()")
        assert _so_error(sock) == 0, "SO_ERROR of a new socket"
        # Linux's tcp_poll: a socket in CLOSE polls POLLOUT|POLLHUP.
        _expect_poll(net, sock, POLLOUT | POLLHUP, "a new socket")
        sock.bind((LOOPBACK, 0))
        _expect_oserror(lambda: sock.recv(1), errno.ENOTCONN, "recv() bound")
        _expect_oserror(sock.getpeername, errno.ENOTCONN, "getpeername() bound")
        sock.listen(1)
        _expect_oserror(lambda: sock.recv(1), errno.ENOTCONN, "recv() listening")
        _expect_oserror(
            lambda: sock.send(b"x"), errno.EPIPE, "send() listening", BrokenPipeError
        )
        _expect_oserror(sock.getpeername, errno.ENOTCONN, "getpeername() listening")
        client, server, _ = _connected_pair(net, socks, sock)
        _expect_oserror(lambda: server.listen(1), errno.EINVAL, "listen() connected")
        # A throwaway socket: Linux records even a failed shutdown (see
        # DIFFERENCES["shutdown_unconnected"]).
        other = _tcp(net, socks)
        _expect_oserror(
            lambda: other.shutdown(socket.SHUT_RDWR),
            errno.ENOTCONN,
            "shutdown() unconnected",
        )
        _expect_oserror(server.accept, errno.EINVAL, "accept() connected")
    finally:
        _close_all(socks)


def check_bind_in_use(net: Any) -> None:
    """bind() to an address in use: EADDRINUSE; binding twice: EINVAL."""
    socks: List[Any] = []
    try:
        first = _listener(net, socks)
        addr = first.getsockname()
        second = _tcp(net, socks)
        _expect_oserror(
            lambda: second.bind(addr), errno.EADDRINUSE, "bind() to a listener's port"
        )
        second.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        _expect_oserror(
            lambda: second.bind(addr),
            errno.EADDRINUSE,
            "bind() with SO_REUSEADDR to a listener's port",
        )
        bound = _tcp(net, socks)
        bound.bind((LOOPBACK, 0))
        third = _tcp(net, socks)
        _expect_oserror(
            lambda: third.bind(bound.getsockname()),
            errno.EADDRINUSE,
            "bind() to a bound socket's port",
        )
        _expect_oserror(lambda: bound.bind((LOOPBACK, 0)), errno.EINVAL, "bind() twice")
    finally:
        _close_all(socks)


def check_argument_errors(net: Any) -> None:
    """send(str) is a TypeError, recv(-1) a ValueError, on any socket."""
    socks: List[Any] = []
    try:
        client, server, _ = _connected_pair(net, socks)
        fresh = _tcp(net, socks)
        for name, sock in (("connected", client), ("new", fresh)):
            _expect_raises(
                functools.partial(sock.send, "text"),
                TypeError,
                "send(str) " + name,
            )
            _expect_raises(
                functools.partial(sock.recv, -1),
                ValueError,
                "recv(-1) " + name,
            )
        fresh.close()
        # The argument checks come before the descriptor check.
        _expect_raises(lambda: fresh.send("text"), TypeError, "send(str) closed")
        _expect_raises(lambda: fresh.recv(-1), ValueError, "recv(-1) closed")
        # Nothing was sent by the failed calls.
        _expect_oserror(
            lambda: server.recv(10),
            errno.EAGAIN,
            "recv() after a failed send(str)",
            BlockingIOError,
        )
    finally:
        _close_all(socks)


def _closed_socket_calls(sock: Any) -> List[Tuple[str, Callable[[], Any]]]:
    return [
        ("recv", lambda: sock.recv(1)),
        ("send", lambda: sock.send(b"x")),
        ("getsockname", sock.getsockname),
        ("getpeername", sock.getpeername),
        ("bind", lambda: sock.bind((LOOPBACK, 0))),
        ("listen", lambda: sock.listen(1)),
        ("accept", sock.accept),
        ("getsockopt", lambda: _so_error(sock)),
        (
            "setsockopt",
            lambda: sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1),
        ),
        ("shutdown", lambda: sock.shutdown(socket.SHUT_RDWR)),
        ("setblocking", lambda: sock.setblocking(False)),
    ]


def check_closed_socket(net: Any) -> None:
    """Every operation on a closed socket is EBADF; close() twice is harmless."""
    socks: List[Any] = []
    try:
        client, server, listener = _connected_pair(net, socks)
        laddr = listener.getsockname()
        for name, sock in (("new", _tcp(net, socks)), ("connected", client)):
            sock.close()
            sock.close()  # harmless
            assert sock.fileno() == -1, "fileno() of a closed socket"
            calls = _closed_socket_calls(sock)
            for op, call in calls:
                _expect_oserror(
                    call,
                    errno.EBADF,
                    "%s() on a closed %s socket"
                    % (
                        op,
                        name,
                    ),
                )
            rc = sock.connect_ex(laddr)
            assert rc == errno.EBADF, (
                "connect_ex() on a closed %s socket returned %s, expected EBADF"
                % (name, errno.errorcode.get(rc, rc))
            )
        assert _recv_until_eof(net, server) == b""
        listener.close()
        listener.close()
        _expect_oserror(listener.accept, errno.EBADF, "accept() on a closed listener")
    finally:
        _close_all(socks)
