"""Conformance checks: closing and shutting down.

EOF after a close, half-close with ``shutdown(SHUT_WR)``, EPIPE after our
own shutdown, and the RSTs: closing with unread data, sending to a closed
peer, data reaching a socket shut both ways.

The suite's rules hold (see :mod:`fake_net.conformance`).
"""

from __future__ import annotations

import errno
import socket
import struct
from typing import Any, List

from fake_net.conformance._support import (
    LOOPBACK,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    _close_all,
    _connected_pair,
    _expect_oserror,
    _expect_poll,
    _recv_exactly,
    _recv_until_eof,
    _so_error,
    wait_for,
)

__all__ = [
    "check_eof_after_peer_close",
    "check_half_close",
    "check_send_after_shutdown_wr",
    "check_reset_on_close_with_unread_data",
    "check_send_to_closed_peer",
    "check_data_after_shutdown_rdwr_resets",
    "check_sends_to_gone_peer_stop",
    "check_close_with_linger_zero_resets",
]


def check_eof_after_peer_close(net: Any) -> None:
    """Peer close: buffered data first, then b'' for good; polls IN|OUT."""
    socks: List[Any] = []
    try:
        client, server, _ = _connected_pair(net, socks)
        words = b"last words"
        assert client.send(words) == len(words)
        client.close()
        assert _recv_until_eof(net, server) == words, "data lost before EOF"
        # Linux's tcp_poll: a FIN received sets POLLIN (and POLLRDHUP, not
        # asked for); the socket can still send, so POLLOUT; no POLLHUP
        # while only one direction is shut.
        _expect_poll(net, server, POLLIN | POLLOUT, "a socket that read EOF")
        assert server.recv(100) == b"", "a second recv() after EOF"
        assert server.recv(100) == b"", "a third recv() after EOF"
        _expect_poll(net, server, POLLIN | POLLOUT, "a socket that read EOF twice")
        # CLOSE_WAIT: still connected as far as the names go.
        assert server.getpeername()[0] == LOOPBACK, "getpeername() in CLOSE_WAIT"
    finally:
        _close_all(socks)


def check_half_close(net: Any) -> None:
    """shutdown(SHUT_WR): the peer reads b'' but can still send back."""
    socks: List[Any] = []
    try:
        client, server, _ = _connected_pair(net, socks)
        assert client.send(b"request") == 7
        client.shutdown(socket.SHUT_WR)
        _expect_poll(net, client, POLLOUT, "a socket after its own SHUT_WR")
        assert _recv_until_eof(net, server) == b"request"
        _expect_poll(net, server, POLLIN | POLLOUT, "a socket whose peer shut WR")
        reply = b"the reply, after EOF"
        assert server.send(reply) == len(reply), "send after the peer's SHUT_WR"
        assert _recv_exactly(net, client, len(reply)) == reply
        server.close()
        assert _recv_until_eof(net, client) == b"", "data after the reply"
        # Both directions shut: POLLHUP too (Linux's tcp_poll).
        _expect_poll(
            net, client, POLLIN | POLLOUT | POLLHUP, "a half-closed socket at EOF"
        )
        # Both FINs went through: Linux has moved the socket to TCP_CLOSE.
        _expect_oserror(
            client.getpeername, errno.ENOTCONN, "getpeername() after both FINs"
        )
        _expect_oserror(
            lambda: client.shutdown(socket.SHUT_RD),
            errno.ENOTCONN,
            "shutdown() after both FINs",
        )
        assert client.recv(10) == b"", "recv() after both FINs"
    finally:
        _close_all(socks)


def check_send_after_shutdown_wr(net: Any) -> None:
    """send() after our own shutdown(SHUT_WR) raises EPIPE."""
    socks: List[Any] = []
    try:
        client, server, _ = _connected_pair(net, socks)
        client.shutdown(socket.SHUT_WR)
        _expect_oserror(
            lambda: client.send(b"x"),
            errno.EPIPE,
            "send() after shutdown(SHUT_WR)",
            BrokenPipeError,
        )
        _expect_oserror(
            lambda: client.send(b"x"),
            errno.EPIPE,
            "a second send() after shutdown(SHUT_WR)",
            BrokenPipeError,
        )
        assert _so_error(client) == 0, "SO_ERROR after EPIPE from a shut socket"
        assert _recv_until_eof(net, server) == b""
    finally:
        _close_all(socks)


def check_reset_on_close_with_unread_data(net: Any) -> None:
    """Peer closes with unread data: RST; recv ECONNRESET, then send EPIPE."""
    socks: List[Any] = []
    try:
        client, server, _ = _connected_pair(net, socks)
        assert client.send(b"never read") == 10
        wait_for(net, server, POLLIN)
        server.close()  # Linux: unread data in the receive queue -> RST
        wait_for(net, client, POLLERR)
        _expect_poll(
            net, client, POLLIN | POLLOUT | POLLERR | POLLHUP, "a reset socket"
        )
        _expect_oserror(
            lambda: client.recv(100),
            errno.ECONNRESET,
            "recv() after an RST",
            ConnectionResetError,
        )
        assert _so_error(client) == 0, "SO_ERROR once recv() reported the reset"
        _expect_oserror(
            lambda: client.send(b"x"),
            errno.EPIPE,
            "send() after an RST",
            BrokenPipeError,
        )
        assert client.recv(100) == b"", "recv() after the reset was reported"
        _expect_poll(
            net, client, POLLIN | POLLOUT | POLLHUP, "a reset socket, error reported"
        )
    finally:
        _close_all(socks)


def check_send_to_closed_peer(net: Any) -> None:
    """Send to a peer that closed cleanly: accepted once, then RST -> EPIPE."""
    socks: List[Any] = []
    try:
        client, server, _ = _connected_pair(net, socks)
        client.close()
        assert _recv_until_eof(net, server) == b""
        # CLOSE_WAIT: the first send is accepted (the peer answers it with
        # an RST).
        assert server.send(b"anyone there?") == 13, "first send after the FIN"
        wait_for(net, server, POLLERR)
        _expect_poll(
            net,
            server,
            POLLIN | POLLOUT | POLLERR | POLLHUP,
            "a socket in CLOSE_WAIT that got an RST",
        )
        # recv() sees the FIN before the error (Linux's tcp_recvmsg checks
        # SOCK_DONE first): b'', and the error stays pending.
        assert server.recv(100) == b"", "recv() after the RST in CLOSE_WAIT"
        _expect_poll(
            net,
            server,
            POLLIN | POLLOUT | POLLERR | POLLHUP,
            "a socket in CLOSE_WAIT after the RST and a recv()",
        )
        # Linux reports EPIPE, not ECONNRESET, for an RST in CLOSE_WAIT.
        _expect_oserror(
            lambda: server.send(b"hello?"),
            errno.EPIPE,
            "send() after the RST",
            BrokenPipeError,
        )
        assert server.recv(100) == b"", "recv() once the error was reported"
        assert _so_error(server) == 0, "SO_ERROR once send() reported EPIPE"
        _expect_oserror(
            server.getpeername, errno.ENOTCONN, "getpeername() after the RST"
        )
        _expect_oserror(
            lambda: server.send(b"x"),
            errno.EPIPE,
            "send() on the reset socket",
            BrokenPipeError,
        )
    finally:
        _close_all(socks)


def check_data_after_shutdown_rdwr_resets(net: Any) -> None:
    """Data reaching a socket shut both ways is answered with an RST."""
    socks: List[Any] = []
    try:
        client, server, _ = _connected_pair(net, socks)
        server.shutdown(socket.SHUT_RDWR)
        _expect_poll(net, server, POLLIN | POLLOUT | POLLHUP, "a socket shut both ways")
        assert _recv_until_eof(net, client) == b"", "the client saw no FIN"
        assert client.send(b"too late") == 8, "a send in CLOSE_WAIT"
        # Linux (RFC 1122): FIN_WAIT with the receive side shut resets.
        wait_for(net, server, POLLERR)
        wait_for(net, client, POLLERR)
        _expect_poll(
            net, server, POLLIN | POLLOUT | POLLERR | POLLHUP, "the resetting socket"
        )
        _expect_oserror(
            lambda: server.recv(100),
            errno.ECONNRESET,
            "recv() on the socket that reset",
            ConnectionResetError,
        )
        assert server.recv(100) == b"", "the dropped data came through"
        # The client was in CLOSE_WAIT: b'' first, then EPIPE.
        assert client.recv(100) == b""
        _expect_oserror(
            lambda: client.send(b"x"),
            errno.EPIPE,
            "send() after the RST in CLOSE_WAIT",
            BrokenPipeError,
        )
    finally:
        _close_all(socks)


def _send_burst(sock: Any, count: int, size: int) -> List[Any]:
    """``count`` sends of ``size`` bytes, no wait between them: what each
    returned, or the errno name it raised."""
    chunk = b"\x00" * size
    out: List[Any] = []
    for _ in range(count):
        try:
            out.append(sock.send(chunk))
        except OSError as exc:
            out.append(errno.errorcode.get(exc.errno or 0, exc.errno))
    return out


def check_sends_to_gone_peer_stop(net: Any) -> None:
    """Sends to a peer that closed (or shut both ways): the first is taken
    (at most a buffer's worth), its RST comes back at once on loopback, and
    every later send raises EPIPE, with no wait in between."""
    socks: List[Any] = []
    size = 1 << 20
    try:
        for how in ("close", "shutdown"):
            client, server, _ = _connected_pair(net, socks)
            if how == "close":
                socks.remove(server)
                server.close()
            else:
                server.shutdown(socket.SHUT_RDWR)
            wait_for(net, client, POLLIN)  # the FIN
            got = _send_burst(client, 40, size)
            first, rest = got[0], got[1:]
            assert isinstance(first, int) and 0 < first <= size, (
                "after the peer's %s, the first send returned %r" % (how, first)
            )
            assert rest == ["EPIPE"] * len(rest), (
                "after the peer's %s, sends after the first gave %r" % (how, rest)
            )
            _expect_poll(
                net, client, POLLIN | POLLOUT | POLLHUP, "after EPIPE (%s)" % how
            )
            assert client.recv(10) == b"", "recv() after the reset (%s)" % how
    finally:
        _close_all(socks)


def check_close_with_linger_zero_resets(net: Any) -> None:
    """close() with SO_LINGER {1, 0} aborts: the peer gets an RST, not a FIN."""
    socks: List[Any] = []
    try:
        client, server, _ = _connected_pair(net, socks)
        assert client.send(b"sent before") == 11
        assert _recv_exactly(net, server, 11) == b"sent before"
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        socks.remove(client)
        client.close()
        wait_for(net, server, POLLERR)
        _expect_poll(
            net, server, POLLIN | POLLOUT | POLLERR | POLLHUP, "the peer of an abort"
        )
        _expect_oserror(
            lambda: server.recv(100),
            errno.ECONNRESET,
            "recv() after the peer closed with SO_LINGER {1, 0}",
            ConnectionResetError,
        )
        _expect_oserror(
            lambda: server.send(b"x"),
            errno.EPIPE,
            "send() after the abort was reported",
            BrokenPipeError,
        )
        # SO_LINGER {1, 5} or {0, 0}: a normal close (a FIN; the data are
        # delivered at once, so nothing lingers).
        for linger in ((0, 0), (1, 5)):
            client, server, _ = _connected_pair(net, socks)
            client.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", *linger)
            )
            assert client.send(b"bye") == 3
            socks.remove(client)
            client.close()
            assert _recv_until_eof(net, server) == b"bye", "SO_LINGER %r" % (linger,)
            _expect_poll(
                net, server, POLLIN | POLLOUT, "SO_LINGER %r close" % (linger,)
            )
    finally:
        _close_all(socks)
