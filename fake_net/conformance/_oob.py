"""Conformance checks: out-of-band (urgent) data.

``MSG_OOB``: POLLPRI and select's exceptional list, the one urgent byte,
and the urgent mark that normal reads stop at.

The suite's rules hold (see :mod:`fake_net.conformance`).
"""

from __future__ import annotations

import errno
import socket
from typing import Any, List

from fake_net.conformance._support import (
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLPRI,
    WAIT,
    _close_all,
    _connected_pair,
    _expect_oserror,
    _expect_poll,
    _recv_exactly,
    _recv_until_eof,
    wait_for,
)

__all__ = [
    "check_oob",
    "check_oob_mark",
    "check_urgent_then_reset",
]


def check_oob(net: Any) -> None:
    """MSG_OOB: POLLPRI, select's exceptional list, one urgent byte, EINVAL."""
    socks: List[Any] = []
    try:
        client, server, _ = _connected_pair(net, socks)
        assert client.send(b"x", socket.MSG_OOB) == 1
        wait_for(net, server, POLLPRI)
        # Linux: the urgent byte alone sets POLLPRI, not POLLIN.
        _expect_poll(net, server, POLLPRI | POLLOUT, "a socket with an urgent byte")
        fd = server.fileno()
        poller = net.poller("select")
        try:
            r, w, e = poller.wait([fd], [POLLIN | POLLPRI], True, [], WAIT)
        finally:
            poller.close()
        assert list(e) == [fd], "select's exceptional list is %r" % (e,)
        assert list(r) == [], "select's readable list is %r" % (r,)
        assert server.recv(1, socket.MSG_OOB) == b"x"
        _expect_oserror(
            lambda: server.recv(1, socket.MSG_OOB),
            errno.EINVAL,
            "recv(MSG_OOB) with no urgent byte",
        )
        _expect_oserror(
            lambda: server.recv(1),
            errno.EAGAIN,
            "recv() after the urgent byte (it is not inline)",
            BlockingIOError,
        )
        _expect_poll(net, server, POLLOUT, "once the urgent byte was read")
        # Only the last byte of an MSG_OOB send is urgent.
        assert client.send(b"abc", socket.MSG_OOB) == 3
        wait_for(net, server, POLLPRI)
        assert _recv_exactly(net, server, 2) == b"ab"
        assert server.recv(1, socket.MSG_OOB) == b"c"
    finally:
        _close_all(socks)


def check_oob_mark(net: Any) -> None:
    """Normal reads stop at the urgent mark; stepping over it loses an unread
    urgent byte; an urgent byte not yet stepped over is unread data."""
    socks: List[Any] = []
    try:
        client, server, _ = _connected_pair(net, socks)
        assert client.send(b"abc", socket.MSG_OOB) == 3
        assert client.send(b"de") == 2
        wait_for(net, server, POLLPRI)
        _expect_poll(net, server, POLLIN | POLLPRI | POLLOUT, "data and urgent byte")
        assert _recv_exactly(net, server, 2) == b"ab", "a read across the mark"
        assert server.recv(100) == b"de", "the read stepping over the mark"
        _expect_poll(net, server, POLLOUT, "after stepping over the urgent byte")
        _expect_oserror(
            lambda: server.recv(1, socket.MSG_OOB),
            errno.EINVAL,
            "recv(MSG_OOB) once a normal read stepped over the urgent byte",
        )
        # An urgent byte alone: a normal read steps over it and loses it.
        assert client.send(b"x", socket.MSG_OOB) == 1
        wait_for(net, server, POLLPRI)
        _expect_oserror(
            lambda: server.recv(100),
            errno.EAGAIN,
            "a normal read with only an urgent byte",
            BlockingIOError,
        )
        _expect_poll(net, server, POLLOUT, "after a normal read lost the urgent byte")
        _expect_oserror(
            lambda: server.recv(1, socket.MSG_OOB),
            errno.EINVAL,
            "recv(MSG_OOB) of a lost urgent byte",
        )
        # Read by MSG_OOB but not stepped over, the urgent byte is still
        # unread data: closing then sends an RST.
        assert client.send(b"u", socket.MSG_OOB) == 1
        wait_for(net, server, POLLPRI)
        assert server.recv(1, socket.MSG_OOB) == b"u"
        socks.remove(server)
        server.close()
        wait_for(net, client, POLLERR)
        _expect_oserror(
            lambda: client.recv(100),
            errno.ECONNRESET,
            "recv() after the peer closed with an urgent byte not stepped over",
            ConnectionResetError,
        )
    finally:
        _close_all(socks)


def check_urgent_then_reset(net: Any) -> None:
    """A new urgent byte reaching a socket shut both ways (which answers with
    an RST): the earlier urgent byte becomes normal data, unless a read
    stands at it; POLLPRI stays; recv(MSG_OOB) gives ENOTCONN."""
    for before, expected in ((0, b"ab!"), (1, b"b!"), (2, b"")):
        _urgent_then_reset(net, before, expected)


def _urgent_then_reset(net: Any, before: int, expected: bytes) -> None:
    socks: List[Any] = []
    try:
        client, server, _ = _connected_pair(net, socks)
        assert client.send(b"ab!", socket.MSG_OOB) == 3
        wait_for(net, server, POLLPRI)
        if before:
            assert _recv_exactly(net, server, before) == b"ab"[:before]
        server.shutdown(socket.SHUT_RDWR)
        assert _recv_until_eof(net, client) == b""
        sent = client.send(b"?", socket.MSG_OOB)
        assert sent == 1, "an urgent send in CLOSE_WAIT"
        wait_for(net, server, POLLERR)
        what = "after reading %d byte(s), a new urgent byte and the RST" % before
        _expect_poll(net, server, POLLIN | POLLPRI | POLLOUT | POLLERR | POLLHUP, what)
        if expected:
            got = server.recv(100)
            assert got == expected, "%s: recv() gave %r, expected %r" % (
                what,
                got,
                expected,
            )
        _expect_oserror(
            lambda: server.recv(100),
            errno.ECONNRESET,
            what + ": recv() once the data are read",
            ConnectionResetError,
        )
        assert server.recv(100) == b"", what + ": recv() after the reset"
        _expect_poll(net, server, POLLIN | POLLPRI | POLLOUT | POLLHUP, what)
        _expect_oserror(
            lambda: server.recv(1, socket.MSG_OOB),
            errno.ENOTCONN,
            what + ": recv(MSG_OOB)",
        )
    finally:
        _close_all(socks)
