"""Conformance checks: call details a program relies on.

``recv(0)`` (answered by CPython without a system call), the receive flags
``MSG_PEEK`` and ``MSG_DONTWAIT``, and ``connect_ex`` called again on a
socket already used (the idiom that learns a non-blocking connect's
outcome).

The suite's rules hold (see :mod:`fake_net.conformance`).
"""

from __future__ import annotations

import errno
import socket
from typing import Any, List

from fake_net.conformance._support import (
    LOOPBACK,
    POLLERR,
    POLLIN,
    POLLOUT,
    POLLPRI,
    _close_all,
    _connected_pair,
    _expect_oserror,
    _expect_poll,
    _expect_raises,
    _listener,
    _recv_exactly,
    _so_error,
    _tcp,
    wait_for,
)

__all__ = [
    "check_recv_zero",
    "check_msg_peek",
    "check_msg_dontwait",
    "check_connect_ex_again",
]


def _closed_port(net: Any, socks: List[Any]) -> int:
    """A loopback port nothing listens on."""
    probe = _tcp(net, socks)
    probe.bind((LOOPBACK, 0))
    port = int(probe.getsockname()[1])
    socks.remove(probe)
    probe.close()
    return port


def _errname(rc: int) -> str:
    return errno.errorcode.get(rc, str(rc))


def check_recv_zero(net: Any) -> None:
    """recv(0) is b'' in every state (CPython makes no system call for it),
    and leaves a pending error pending."""
    socks: List[Any] = []
    try:
        new = _tcp(net, socks)
        assert new.recv(0) == b"", "recv(0) on a new socket"
        assert new.recv(0, socket.MSG_OOB) == b"", "recv(0, MSG_OOB), no urgent byte"
        _expect_oserror(lambda: new.recv(1), errno.ENOTCONN, "recv(1) on a new socket")
        listener = _listener(net, socks)
        assert listener.recv(0) == b"", "recv(0) on a listening socket"
        # Refused: recv(0) does not take the error.
        refused = _tcp(net, socks)
        rc = refused.connect_ex((LOOPBACK, _closed_port(net, socks)))
        assert rc == errno.EINPROGRESS, "connect_ex: %s" % _errname(rc)
        wait_for(net, refused, POLLERR)
        assert refused.recv(0) == b"", "recv(0) on a refused socket"
        assert refused.recv(0) == b"", "a second recv(0) on a refused socket"
        assert _so_error(refused) == errno.ECONNREFUSED, "recv(0) took the error"
        # Reset: likewise.
        client, server, _ = _connected_pair(net, socks, listener)
        assert client.send(b"unread") == 6
        wait_for(net, server, POLLIN)
        socks.remove(server)
        server.close()
        wait_for(net, client, POLLERR)
        assert client.recv(0) == b"", "recv(0) on a reset socket"
        _expect_oserror(
            lambda: client.recv(10),
            errno.ECONNRESET,
            "recv() after recv(0) on a reset socket",
            ConnectionResetError,
        )
        # Closed: b'' too, but a real read is EBADF.
        socks.remove(new)
        new.close()
        assert new.recv(0) == b"", "recv(0) on a closed socket"
        assert new.recv_into(bytearray(0)) == 0, "recv_into(empty) on a closed socket"
        _expect_oserror(lambda: new.recv(1), errno.EBADF, "recv(1) on a closed socket")
        _expect_raises(lambda: new.recv(-1), ValueError, "recv(-1) on a closed socket")
    finally:
        _close_all(socks)


def check_msg_peek(net: Any) -> None:
    """MSG_PEEK returns data without consuming it (readiness unchanged), stops
    at the urgent mark, and with MSG_OOB leaves the urgent byte."""
    socks: List[Any] = []
    try:
        new = _tcp(net, socks)
        _expect_oserror(
            lambda: new.recv(1, socket.MSG_PEEK),
            errno.ENOTCONN,
            "recv(MSG_PEEK) on a new socket",
        )
        client, server, _ = _connected_pair(net, socks)
        _expect_oserror(
            lambda: server.recv(3, socket.MSG_PEEK),
            errno.EAGAIN,
            "recv(MSG_PEEK) with nothing to read",
            BlockingIOError,
        )
        assert client.send(b"hello") == 5
        wait_for(net, server, POLLIN)
        assert server.recv(3, socket.MSG_PEEK) == b"hel", "a peek"
        assert server.recv(10, socket.MSG_PEEK) == b"hello", "a second peek"
        _expect_poll(net, server, POLLIN | POLLOUT, "after a peek")
        assert server.recv(10) == b"hello", "a read after peeks"
        _expect_poll(net, server, POLLOUT, "after the read")
        # The urgent mark: a peek stops there as a read does.
        assert client.send(b"ab", socket.MSG_OOB) == 2
        assert client.send(b"cd") == 2
        wait_for(net, server, POLLPRI)
        assert server.recv(10, socket.MSG_PEEK) == b"a", "a peek across the mark"
        assert server.recv(1, socket.MSG_OOB | socket.MSG_PEEK) == b"b"
        _expect_poll(
            net, server, POLLIN | POLLPRI | POLLOUT, "after peeking the urgent byte"
        )
        assert server.recv(10) == b"a", "a read after the peeks"
        # At the mark, a peek skips the urgent byte without losing it.
        assert server.recv(10, socket.MSG_PEEK) == b"cd", "a peek at the mark"
        _expect_poll(
            net, server, POLLIN | POLLPRI | POLLOUT, "after a peek at the mark"
        )
        assert server.recv(1, socket.MSG_OOB) == b"b", "the peeked urgent byte"
        assert server.recv(10) == b"cd", "the read stepping over the mark"
        _expect_poll(net, server, POLLOUT, "after stepping over the mark")
        # EOF: a peek sees it too.
        client.close()
        wait_for(net, server, POLLIN)
        assert server.recv(10, socket.MSG_PEEK) == b"", "a peek at EOF"
        assert server.recv(10) == b"", "a read at EOF"
        # A pending error: a peek takes it (Linux: sock_error()).
        client, server, _ = _connected_pair(net, socks)
        assert client.send(b"unread") == 6
        wait_for(net, server, POLLIN)
        socks.remove(server)
        server.close()
        wait_for(net, client, POLLERR)
        _expect_oserror(
            lambda: client.recv(10, socket.MSG_PEEK),
            errno.ECONNRESET,
            "recv(MSG_PEEK) after an RST",
            ConnectionResetError,
        )
        assert _so_error(client) == 0, "SO_ERROR after a peek took the reset"
        assert client.recv(10, socket.MSG_PEEK) == b"", "a peek once it was taken"
    finally:
        _close_all(socks)


def check_msg_dontwait(net: Any) -> None:
    """MSG_DONTWAIT: one call on a blocking socket that does not block."""
    socks: List[Any] = []
    try:
        client, server, _ = _connected_pair(net, socks)
        server.setblocking(True)
        _expect_oserror(
            lambda: server.recv(3, socket.MSG_DONTWAIT),
            errno.EAGAIN,
            "recv(MSG_DONTWAIT) on a blocking socket with nothing to read",
            BlockingIOError,
        )
        assert client.send(b"data!") == 5
        wait_for(net, server, POLLIN)
        peek = socket.MSG_DONTWAIT | socket.MSG_PEEK
        assert server.recv(3, peek) == b"dat", "recv(MSG_DONTWAIT|MSG_PEEK)"
        assert server.recv(3, socket.MSG_DONTWAIT) == b"dat"
        assert server.recv(3, socket.MSG_DONTWAIT) == b"a!"
        assert server.send(b"z", socket.MSG_DONTWAIT) == 1, "send(MSG_DONTWAIT)"
        assert _recv_exactly(net, client, 1) == b"z"
        assert server.getblocking(), "MSG_DONTWAIT changed the socket's mode"
    finally:
        _close_all(socks)


def check_connect_ex_again(net: Any) -> None:
    """connect_ex() again reports a non-blocking connect's outcome: 0 once
    (then EISCONN), or its error once (ECONNREFUSED, ECONNRESET, else
    ECONNABORTED), after which the socket connects anew; EALREADY while it
    runs is not seen on loopback, where a connect completes at once."""
    socks: List[Any] = []
    try:
        listener = _listener(net, socks)
        good = listener.getsockname()
        closed = (LOOPBACK, _closed_port(net, socks))
        # Refused: the error, then a new attempt.
        sock = _tcp(net, socks)
        rc = sock.connect_ex(closed)
        assert rc == errno.EINPROGRESS, "connect_ex: %s" % _errname(rc)
        wait_for(net, sock, POLLERR)
        rc = sock.connect_ex(closed)
        assert rc == errno.ECONNREFUSED, "connect_ex after a refusal: %s" % (
            _errname(rc),
        )
        rc = sock.connect_ex(closed)
        assert rc == errno.EINPROGRESS, (
            "connect_ex once the refusal was reported: %s" % _errname(rc)
        )
        wait_for(net, sock, POLLERR)
        assert _so_error(sock) == errno.ECONNREFUSED
        rc = sock.connect_ex(closed)
        assert rc == errno.ECONNABORTED, "connect_ex after SO_ERROR took it: %s" % (
            _errname(rc),
        )
        # The same socket then connects to a listener.
        rc = sock.connect_ex(good)
        assert rc == errno.EINPROGRESS, "connect_ex to a listener: %s" % _errname(rc)
        wait_for(net, sock, POLLOUT)
        assert sock.connect_ex(good) == 0, "connect_ex once connected"
        for what in ("again", "a third time"):
            rc = sock.connect_ex(good)
            assert rc == errno.EISCONN, "connect_ex %s: %s" % (what, _errname(rc))
        rc = sock.connect_ex(closed)
        assert rc == errno.EISCONN, "connect_ex elsewhere: %s" % _errname(rc)
        wait_for(net, listener, POLLIN)
        server, _ = listener.accept()
        socks.append(server)
        server.setblocking(False)
        rc = server.connect_ex(good)
        assert rc == errno.EISCONN, "connect_ex on an accepted socket: %s" % (
            _errname(rc),
        )
        sock.shutdown(socket.SHUT_WR)
        rc = sock.connect_ex(good)
        assert rc == errno.EISCONN, "connect_ex after SHUT_WR: %s" % _errname(rc)
        rc = listener.connect_ex(good)
        assert rc == errno.EISCONN, "connect_ex on a listener: %s" % _errname(rc)
        # A blocking connect that is refused reports it; the next tries anew.
        blocking = _tcp(net, socks)
        blocking.setblocking(True)
        for what in ("", " again"):
            rc = blocking.connect_ex(closed)
            assert rc == errno.ECONNREFUSED, "blocking connect_ex%s: %s" % (
                what,
                _errname(rc),
            )
        # Reset before connect_ex reported the connection: ECONNRESET once.
        client, server2, _ = _connected_pair(net, socks, listener)
        assert client.send(b"unread") == 6
        wait_for(net, server2, POLLIN)
        socks.remove(server2)
        server2.close()
        wait_for(net, client, POLLERR)
        rc = client.connect_ex(good)
        assert rc == errno.ECONNRESET, "connect_ex after a reset: %s" % _errname(rc)
        rc = client.connect_ex(good)
        assert rc == errno.EINPROGRESS, "connect_ex once the reset was reported: %s" % (
            _errname(rc),
        )
        wait_for(net, client, POLLOUT)
        assert client.connect_ex(good) == 0
        wait_for(net, listener, POLLIN)
        socks.append(listener.accept()[0])
        # The peer closed (CLOSE_WAIT) before connect_ex reported it: 0.
        client2, server3, _ = _connected_pair(net, socks, listener)
        socks.remove(server3)
        server3.close()
        wait_for(net, client2, POLLIN)
        assert client2.connect_ex(good) == 0, "connect_ex in CLOSE_WAIT"
        rc = client2.connect_ex(good)
        assert rc == errno.EISCONN, "connect_ex again in CLOSE_WAIT: %s" % (
            _errname(rc),
        )
        # shutdown() counts as reporting the connection (Linux's
        # inet_shutdown: SS_CONNECTING -> SS_CONNECTED) ...
        client3, _, _ = _connected_pair(net, socks, listener)
        client3.shutdown(socket.SHUT_WR)
        rc = client3.connect_ex(good)
        assert rc == errno.EISCONN, "connect_ex after shutdown(): %s" % _errname(rc)
        # ... or, on a reset socket, makes connect() fail with EINVAL for good.
        client4, server4, _ = _connected_pair(net, socks, listener)
        assert client4.send(b"unread") == 6
        wait_for(net, server4, POLLIN)
        socks.remove(server4)
        server4.close()
        wait_for(net, client4, POLLERR)
        _expect_oserror(
            lambda: client4.shutdown(socket.SHUT_RDWR),
            errno.ENOTCONN,
            "shutdown() of a reset socket",
        )
        for what in ("", " again"):
            rc = client4.connect_ex(good)
            assert rc == errno.EINVAL, "connect_ex after a failed shutdown()%s: %s" % (
                what,
                _errname(rc),
            )
        socks.remove(client2)
        client2.close()
        assert client2.connect_ex(good) == errno.EBADF, "connect_ex once closed"
    finally:
        _close_all(socks)
