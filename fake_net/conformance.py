"""Conformance checks: the behaviour a network behind the seam must have.

Each ``check_<behaviour>(net)`` takes a network object, real
(:class:`real_net.RealNetwork`) or simulated (:class:`fake_net.FakeNetwork`),
and asserts one behaviour of Linux TCP over 127.0.0.1 with plain ``assert``
statements (an :class:`AssertionError` says what differed).  Every check
passes on the real kernel; the same checks passing on the fake is what makes
it a *verified* fake.  Run them all with::

    from fake_net import conformance
    for check in conformance.CHECKS:
        check(network)

The checks use the seam only: ``net.socket(family, type)``,
``net.poller("poll")``/``net.poller("select")`` (whose ``wait(fds, masks,
changed, reset, timeout)`` is the only call that waits), ``net.monotonic()``,
``net.socketpair()`` and the socket methods.  Every socket is nonblocking and
closed in a ``finally``; every wait is bounded (by virtual time on a fake
network, by real time on a real one); nothing sleeps.

:data:`DIFFERENCES` lists, in one place, where a real and a simulated network
may legitimately differ; the checks assert only what holds on both.

This module needs no test framework.
"""

from __future__ import annotations

import array
import errno
import functools
import select
import socket
from typing import Any, Callable, Dict, List, Optional, Tuple, Type

__all__ = [
    "CHECKS",
    "DIFFERENCES",
    "LOOPBACK",
    "wait_for",
    "poll_until",
    "revents_now",
    "poll_names",
    "check_listen_connect_accept",
    "check_small_message_both_ways",
    "check_large_transfer_partial_sends",
    "check_recv_empty_would_block",
    "check_eof_after_peer_close",
    "check_half_close",
    "check_send_after_shutdown_wr",
    "check_reset_on_close_with_unread_data",
    "check_send_to_closed_peer",
    "check_data_after_shutdown_rdwr_resets",
    "check_oob",
    "check_oob_mark",
    "check_refused_connect",
    "check_backlog",
    "check_many_connections",
    "check_socketpair",
    "check_unconnected_socket_errors",
    "check_bind_in_use",
    "check_argument_errors",
    "check_closed_socket",
]

#: The only address the checks use.
LOOPBACK = "127.0.0.1"

POLLIN = getattr(select, "POLLIN", 1)
POLLPRI = getattr(select, "POLLPRI", 2)
POLLOUT = getattr(select, "POLLOUT", 4)
POLLERR = getattr(select, "POLLERR", 8)
POLLHUP = getattr(select, "POLLHUP", 16)
POLLNVAL = getattr(select, "POLLNVAL", 32)
#: The interest bits the seam passes to a poller.
ALL = POLLIN | POLLPRI | POLLOUT

#: Where real and simulated networks may legitimately differ.  The checks
#: never assert these details.
DIFFERENCES: Dict[str, str] = {
    "buffer_capacity": (
        "How many bytes a connection buffers before send() goes short or "
        "raises BlockingIOError, and so how much one send() accepts: Linux "
        "autotunes its socket buffers (megabytes on loopback), fake_net holds "
        "a fixed capacity per direction (64 KiB by default); the checks only "
        "require that a large enough transfer is pushed back at some point."
    ),
    "writable_threshold": (
        "When a socket whose buffer was full polls writable again: Linux "
        "reports POLLOUT only once a good part of the send buffer is free "
        "(about a third), fake_net as soon as one byte fits."
    ),
    "ports": (
        "Ephemeral port numbers: Linux picks them from ip_local_port_range by "
        "its own hash, fake_net draws them from the same range with its "
        "seeded random source; the checks compare ports only between the two "
        "ends of a connection."
    ),
    "file_descriptors": (
        "Descriptor numbers: the process's own table on Linux, a per-network "
        "table (lowest free from 3) on fake_net."
    ),
    "timing": (
        "Time: a real network delivers segments, FINs and RSTs "
        "asynchronously (on loopback within microseconds) and waits take "
        "real time; fake_net delivers at once (or after scripted delays) and "
        "moves its virtual clock only inside waits, so the checks wait for "
        "readiness before asserting anything and never assert how long a "
        "wait took."
    ),
    "backlog_retry": (
        "A connection beyond a full accept queue (backlog + 1 on Linux): "
        "Linux drops its SYN and the client retransmits it after 1 s, 3 s, "
        "7 s, ..., so it completes at the first retransmission after accept() "
        "made room, and when several connects race Linux may complete a "
        "client's handshake whose final ACK it then drops (the client is "
        "writable before the server can accept it); fake_net queues the "
        "connection and completes it the moment accept() makes room.  The "
        "checks assert only that backlog + 1 connections complete, that the "
        "next one does not complete before an accept(), and that it "
        "completes afterwards."
    ),
    "poll_bits": (
        "Poll bits outside the seam: the seam asks for POLLIN, POLLPRI and "
        "POLLOUT only; Linux can also report POLLRDHUP and the band bits "
        "(POLLRDNORM, POLLWRNORM, ...) to callers who ask, fake_net never "
        "does."
    ),
    "shutdown_unconnected": (
        "shutdown() on a socket that is not connected: on a new socket both "
        "raise ENOTCONN, but Linux still records the shutdown (the socket "
        "then polls POLLIN|POLLHUP, recv() returns b'' after SHUT_RD, and "
        "the flags survive a later connect); on a listening socket Linux "
        "succeeds (SHUT_RD and SHUT_RDWR stop the listener) where fake_net "
        "raises ENOTCONN.  The checks assert only the errno on a new socket."
    ),
    "socket_options": (
        "Socket options: fake_net stores what setsockopt() sets and returns "
        "it, but buffer sizes (SO_SNDBUF, SO_RCVBUF), Nagle (TCP_NODELAY) "
        "and the like do not change its behaviour."
    ),
}

# Bounds: real seconds on a real network, virtual seconds on a fake one.
WAIT = 2.0
# A wait loop never runs more often than this, whatever the network reports.
_MAX_WAITS = 10_000


# -- helpers ----------------------------------------------------------------


def _revents_of(events: Any, fd: int) -> int:
    revents = 0
    for efd, ev in events:
        if efd == fd:
            revents |= ev
    return revents


def poll_until(net: Any, sock: Any, mask: int, timeout: float = WAIT) -> int:
    """Poll ``sock`` until it reports one of ``mask``'s events, or
    ``timeout`` runs out; return the revents of the last wait (0: nothing).

    The interest registered is ``mask``'s POLLIN/POLLPRI/POLLOUT bits
    (POLLPRI alone when it has none, to wait for POLLERR/POLLHUP, which
    poll always reports).  While the socket reports only other events
    (a POLLHUP that stays, say), time is let pass in short waits on
    nothing, so a simulated clock moves too.
    """
    fd = sock.fileno()
    interest = mask & ALL or POLLPRI
    poller = net.poller("poll")
    try:
        deadline = net.monotonic() + timeout
        for _ in range(_MAX_WAITS):
            remaining = deadline - net.monotonic()
            if remaining < 0:
                remaining = 0.0
            events = poller.wait([fd], [interest], True, [], remaining)
            revents = _revents_of(events, fd)
            if revents & mask or remaining <= 0:
                return revents
            if revents:
                poller.wait([], [], True, [], min(remaining, 0.01))
        return 0
    finally:
        poller.close()


def wait_for(net: Any, sock: Any, mask: int, timeout: float = WAIT) -> int:
    """Wait with a ``"poll"`` poller until ``sock`` reports one of ``mask``'s
    events (POLLERR and POLLHUP may be asked for too); return its revents.

    The timeout is virtual on a simulated network, real (and bounded) on a
    real one.  Raises AssertionError when the events do not come.
    """
    revents = poll_until(net, sock, mask, timeout)
    if not revents & mask:
        raise AssertionError(
            "fd %d did not report %s within %g s (it reported %s)"
            % (sock.fileno(), poll_names(mask), timeout, poll_names(revents))
        )
    return revents


def revents_now(net: Any, sock: Any, mask: int = ALL) -> int:
    """What one zero-timeout poll for ``mask`` reports for ``sock``."""
    poller = net.poller("poll")
    try:
        fd = sock.fileno()
        return _revents_of(poller.wait([fd], [mask], True, [], 0.0), fd)
    finally:
        poller.close()


def poll_names(mask: int) -> str:
    names = [
        name
        for bit, name in (
            (POLLIN, "POLLIN"),
            (POLLPRI, "POLLPRI"),
            (POLLOUT, "POLLOUT"),
            (POLLERR, "POLLERR"),
            (POLLHUP, "POLLHUP"),
            (POLLNVAL, "POLLNVAL"),
        )
        if mask & bit
    ]
    return "|".join(names) or "nothing"


def _expect_poll(net: Any, sock: Any, expected: int, what: str) -> None:
    got = revents_now(net, sock) & (ALL | POLLERR | POLLHUP | POLLNVAL)
    assert got == expected, "%s: polls %s, expected %s" % (
        what,
        poll_names(got),
        poll_names(expected),
    )


def _expect_oserror(
    call: Callable[[], Any], code: int, what: str, cls: Type[OSError] = OSError
) -> OSError:
    try:
        result = call()
    except OSError as exc:
        assert isinstance(exc, cls), "%s: raised %r, expected %s" % (
            what,
            exc,
            cls.__name__,
        )
        assert exc.errno == code, "%s: errno %s (%s), expected %s" % (
            what,
            exc.errno,
            errno.errorcode.get(exc.errno or 0, "?"),
            errno.errorcode[code],
        )
        return exc
    raise AssertionError(
        "%s: returned %r, expected OSError %s" % (what, result, errno.errorcode[code])
    )


def _expect_raises(
    call: Callable[[], Any], cls: Type[BaseException], what: str
) -> None:
    try:
        result = call()
    except cls:
        return
    except Exception as exc:
        raise AssertionError(
            "%s: raised %r, expected %s" % (what, exc, cls.__name__)
        ) from exc
    raise AssertionError("%s: returned %r, expected %s" % (what, result, cls.__name__))


def _close_all(socks: List[Any]) -> None:
    while socks:
        sock = socks.pop()
        try:
            sock.close()
        except OSError:
            pass


def _tcp(net: Any, socks: List[Any]) -> Any:
    """A new nonblocking TCP socket, to be closed by ``_close_all(socks)``."""
    sock = net.socket(socket.AF_INET, socket.SOCK_STREAM)
    socks.append(sock)
    sock.setblocking(False)
    return sock


def _listener(net: Any, socks: List[Any], backlog: int = 5) -> Any:
    listener = _tcp(net, socks)
    listener.bind((LOOPBACK, 0))
    listener.listen(backlog)
    return listener


def _accept(net: Any, socks: List[Any], listener: Any) -> Tuple[Any, Any]:
    wait_for(net, listener, POLLIN)
    server, addr = listener.accept()
    socks.append(server)
    server.setblocking(False)
    return server, addr


def _start_connect(net: Any, socks: List[Any], address: Any) -> Any:
    client = _tcp(net, socks)
    rc = client.connect_ex(address)
    assert rc in (0, errno.EINPROGRESS), (
        "connect_ex(%r) on a nonblocking socket returned %s, expected 0 or "
        "EINPROGRESS" % (address, errno.errorcode.get(rc, rc))
    )
    return client


def _connected_pair(
    net: Any, socks: List[Any], listener: Optional[Any] = None
) -> Tuple[Any, Any, Any]:
    """(client, server, listener), connected over 127.0.0.1, both nonblocking."""
    if listener is None:
        listener = _listener(net, socks)
    client = _start_connect(net, socks, listener.getsockname())
    wait_for(net, client, POLLOUT)
    err = client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    assert err == 0, "SO_ERROR after a successful connect: %s" % (
        errno.errorcode.get(err, err),
    )
    server, _ = _accept(net, socks, listener)
    return client, server, listener


def _recv_exactly(net: Any, sock: Any, n: int, timeout: float = WAIT) -> bytes:
    """Read exactly ``n`` bytes, waiting for readability between reads."""
    got = bytearray()
    for _ in range(_MAX_WAITS):
        if len(got) >= n:
            break
        wait_for(net, sock, POLLIN, timeout)
        try:
            chunk = sock.recv(n - len(got))
        except BlockingIOError:
            continue
        assert chunk, "EOF after %d of %d bytes" % (len(got), n)
        got += chunk
    assert len(got) == n, "received %d of %d bytes" % (len(got), n)
    return bytes(got)


def _recv_until_eof(net: Any, sock: Any, limit: int = 1 << 20) -> bytes:
    """Read until recv() returns b'', waiting between reads."""
    got = bytearray()
    for _ in range(_MAX_WAITS):
        wait_for(net, sock, POLLIN)
        try:
            chunk = sock.recv(65536)
        except BlockingIOError:
            continue
        if not chunk:
            return bytes(got)
        got += chunk
        assert len(got) <= limit, "more than %d bytes before EOF" % limit
    raise AssertionError("no EOF after %d bytes" % len(got))


def _send_all(net: Any, sock: Any, data: bytes) -> None:
    view = memoryview(data)
    for _ in range(_MAX_WAITS):
        if not view:
            return
        wait_for(net, sock, POLLOUT)
        try:
            view = view[sock.send(view) :]
        except BlockingIOError:
            continue
    raise AssertionError("could not send %d bytes" % len(data))


_PATTERNS: Dict[int, bytes] = {}


def _pattern(size: int) -> bytes:
    """``size`` bytes of 32-bit counters: any loss, duplication or reordering
    of a chunk shows."""
    data = _PATTERNS.get(size)
    if data is None:
        data = array.array("I", range(size // 4)).tobytes()
        _PATTERNS[size] = data
    return data


def _so_error(sock: Any) -> int:
    return int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))


# -- connections ------------------------------------------------------------


def check_listen_connect_accept(net: Any) -> None:
    """listen/connect/accept on 127.0.0.1 port 0; the names agree both ways."""
    socks: List[Any] = []
    try:
        listener = _listener(net, socks)
        laddr = listener.getsockname()
        assert laddr[0] == LOOPBACK and laddr[1] != 0, (
            "a listener bound to (%r, 0) is named %r" % (LOOPBACK, laddr)
        )
        _expect_oserror(
            listener.accept,
            errno.EAGAIN,
            "accept() with no connection pending",
            BlockingIOError,
        )
        assert not revents_now(net, listener, POLLIN), (
            "a listener with no connection pending polls readable"
        )
        client = _start_connect(net, socks, laddr)
        revents = wait_for(net, client, POLLOUT)
        assert not revents & (POLLERR | POLLHUP), (
            "a connecting client polls %s" % poll_names(revents)
        )
        assert _so_error(client) == 0, "SO_ERROR after a successful connect"
        wait_for(net, listener, POLLIN)
        server, addr = listener.accept()
        socks.append(server)
        # CPython: the accepted socket takes the default timeout (None:
        # blocking), whatever the listener's.
        assert server.gettimeout() is None, "the accepted socket has timeout %r" % (
            server.gettimeout(),
        )
        server.setblocking(False)
        cname = client.getsockname()
        assert cname[0] == LOOPBACK and cname[1] not in (0, laddr[1]), (
            "the client is named %r" % (cname,)
        )
        assert addr == cname, "accept() returned %r, the client is %r" % (
            addr,
            cname,
        )
        assert server.getpeername() == cname, (
            "server.getpeername() %r != client.getsockname() %r"
            % (server.getpeername(), cname)
        )
        assert server.getsockname() == laddr, (
            "server.getsockname() %r != listener's %r" % (server.getsockname(), laddr)
        )
        assert client.getpeername() == laddr, (
            "client.getpeername() %r != listener's %r" % (client.getpeername(), laddr)
        )
        _expect_poll(net, client, POLLOUT, "an idle connected client")
        _expect_poll(net, server, POLLOUT, "an idle accepted socket")
        _expect_oserror(
            listener.accept,
            errno.EAGAIN,
            "a second accept() with nothing pending",
            BlockingIOError,
        )
    finally:
        _close_all(socks)


def check_small_message_both_ways(net: Any) -> None:
    """A small message arrives whole, client to server and back."""
    socks: List[Any] = []
    try:
        client, server, _ = _connected_pair(net, socks)
        ping = b"ping: hello, server\r\n"
        pong = b"pong: hello, client\r\n"
        assert client.send(ping) == len(ping), "a small send went short"
        assert _recv_exactly(net, server, len(ping)) == ping
        assert server.send(pong) == len(pong), "a small send went short"
        assert _recv_exactly(net, client, len(pong)) == pong
        assert client.send(b"") == 0, "send(b'') did not return 0"
    finally:
        _close_all(socks)


def check_large_transfer_partial_sends(net: Any) -> None:
    """8 MiB arrive in order while send() goes short or would block.

    Linux's autotuned loopback buffers take a whole MiB in one send() and a
    few MiB before pushing back, so the transfer is 8 MiB, sent in 1 MiB
    chunks, and the receiver reads only once the sender has been pushed back.
    """
    size = 8 << 20
    chunk = 1 << 20
    payload = _pattern(size)
    view = memoryview(payload)
    socks: List[Any] = []
    try:
        client, server, _ = _connected_pair(net, socks)
        sent = 0
        got = bytearray()
        pushed_back = 0
        pushed_back_before_reading = False
        deadline = net.monotonic() + 30.0
        for _ in range(_MAX_WAITS):
            if len(got) >= size:
                break
            assert net.monotonic() < deadline, (
                "transfer stalled: %d sent, %d received" % (sent, len(got))
            )
            # Send until the connection pushes back.
            while sent < size:
                want = min(chunk, size - sent)
                try:
                    n = client.send(view[sent : sent + want])
                except BlockingIOError:
                    pushed_back += 1
                    break
                assert 0 < n <= want, "send of %d returned %d" % (want, n)
                sent += n
                if n < want:
                    pushed_back += 1
                    break
            if pushed_back and not got:
                pushed_back_before_reading = True
            # Read whatever has arrived.
            wait_for(net, server, POLLIN)
            for _ in range(_MAX_WAITS):
                try:
                    data = server.recv(chunk)
                except BlockingIOError:
                    break
                assert data, "EOF in the middle of the transfer"
                got += data
        assert len(got) == size, "received %d of %d bytes" % (len(got), size)
        assert got == payload, "the bytes arrived damaged or out of order"
        assert pushed_back_before_reading, (
            "sending %d bytes to a peer that did not read never went short "
            "nor raised BlockingIOError" % size
        )
        _expect_oserror(
            lambda: server.recv(1),
            errno.EAGAIN,
            "recv() after the whole transfer",
            BlockingIOError,
        )
    finally:
        _close_all(socks)


def check_recv_empty_would_block(net: Any) -> None:
    """recv() on a connected socket with nothing to read raises EAGAIN."""
    socks: List[Any] = []
    try:
        client, server, _ = _connected_pair(net, socks)
        for name, sock in (("client", client), ("server", server)):
            _expect_oserror(
                functools.partial(sock.recv, 1024),
                errno.EAGAIN,
                "recv() on an empty %s socket" % name,
                BlockingIOError,
            )
        client.send(b"abc")
        assert _recv_exactly(net, server, 3) == b"abc"
        _expect_oserror(
            lambda: server.recv(1024),
            errno.EAGAIN,
            "recv() once the data is consumed",
            BlockingIOError,
        )
    finally:
        _close_all(socks)


# -- closing ----------------------------------------------------------------


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


# -- out of band --------------------------------------------------------------


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


# -- connecting -------------------------------------------------------------


def check_refused_connect(net: Any) -> None:
    """Connect to a closed port: ECONNREFUSED, reported once by SO_ERROR."""
    socks: List[Any] = []
    try:
        probe = _tcp(net, socks)
        probe.bind((LOOPBACK, 0))
        port = probe.getsockname()[1]
        socks.remove(probe)
        probe.close()
        client = _tcp(net, socks)
        rc = client.connect_ex((LOOPBACK, port))
        assert rc in (errno.EINPROGRESS, errno.ECONNREFUSED), (
            "connect_ex to a closed port returned %s" % errno.errorcode.get(rc, rc)
        )
        if rc == errno.EINPROGRESS:
            revents = wait_for(net, client, POLLOUT | POLLERR)
            assert revents & POLLERR, "a refused connect polls %s" % poll_names(revents)
            _expect_poll(
                net,
                client,
                POLLIN | POLLOUT | POLLERR | POLLHUP,
                "a refused socket",
            )
            err = _so_error(client)
            assert err == errno.ECONNREFUSED, (
                "SO_ERROR after a refused connect: %s" % errno.errorcode.get(err, err)
            )
        assert _so_error(client) == 0, "SO_ERROR reports ECONNREFUSED twice"
        _expect_poll(
            net, client, POLLIN | POLLOUT | POLLHUP, "a refused socket, error read"
        )
        _expect_oserror(
            client.getpeername, errno.ENOTCONN, "getpeername() after refusal"
        )
    finally:
        _close_all(socks)


def check_backlog(net: Any) -> None:
    """listen(1): backlog + 1 connections complete; the next waits for accept()."""
    socks: List[Any] = []
    try:
        listener = _listener(net, socks, backlog=1)
        laddr = listener.getsockname()
        clients = []
        for i in range(2):
            client = _start_connect(net, socks, laddr)
            wait_for(net, client, POLLOUT)
            assert _so_error(client) == 0, "SO_ERROR of queued connection %d" % i
            clients.append(client)
        late = _start_connect(net, socks, laddr)
        clients.append(late)
        revents = poll_until(net, late, POLLOUT, 0.3)
        assert not revents, (
            "a connection beyond a full accept queue (listen(1) holds 2) "
            "polls %s before any accept()" % poll_names(revents)
        )
        # Still connecting (SYN_SENT): reads and writes would block.
        _expect_oserror(
            lambda: late.recv(1), errno.EAGAIN, "recv() connecting", BlockingIOError
        )
        _expect_oserror(
            lambda: late.send(b"x"), errno.EAGAIN, "send() connecting", BlockingIOError
        )
        _expect_oserror(late.getpeername, errno.ENOTCONN, "getpeername() connecting")
        assert _so_error(late) == 0, "SO_ERROR while connecting"
        names = [c.getsockname() for c in clients]
        server, addr = _accept(net, socks, listener)
        assert addr == names[0], "first accept() gave %r, expected %r" % (
            addr,
            names[0],
        )
        wait_for(net, late, POLLOUT, timeout=8.0)
        assert _so_error(late) == 0, "SO_ERROR of the late connection"
        servers = [server]
        for i in (1, 2):
            server, addr = _accept(net, socks, listener)
            assert addr == names[i], "accept() %d gave %r, expected %r" % (
                i,
                addr,
                names[i],
            )
            servers.append(server)
        _expect_oserror(
            listener.accept,
            errno.EAGAIN,
            "accept() once every connection was accepted",
            BlockingIOError,
        )
        for i, (client, server) in enumerate(zip(clients, servers)):
            msg = b"conn %d" % i
            client.send(msg)
            assert _recv_exactly(net, server, len(msg)) == msg
    finally:
        _close_all(socks)


def check_many_connections(net: Any) -> None:
    """50 connections at once: all accepted, each echoes, all close cleanly."""
    count = 50
    socks: List[Any] = []
    try:
        listener = _listener(net, socks, backlog=128)
        laddr = listener.getsockname()
        clients = [_start_connect(net, socks, laddr) for _ in range(count)]
        by_name: Dict[Any, int] = {}
        for i, client in enumerate(clients):
            wait_for(net, client, POLLOUT)
            assert _so_error(client) == 0, "SO_ERROR of connection %d" % i
            name = client.getsockname()
            assert name not in by_name, "two clients named %r" % (name,)
            by_name[name] = i
        servers: List[Any] = [None] * count
        accepted = 0
        for _ in range(_MAX_WAITS):
            if accepted == count:
                break
            wait_for(net, listener, POLLIN)
            while True:
                try:
                    server, addr = listener.accept()
                except BlockingIOError:
                    break
                socks.append(server)
                server.setblocking(False)
                assert addr in by_name, "accepted an unknown peer %r" % (addr,)
                i = by_name[addr]
                assert servers[i] is None, "%r accepted twice" % (addr,)
                servers[i] = server
                accepted += 1
        assert accepted == count, "accepted %d of %d" % (accepted, count)
        for i, client in enumerate(clients):
            client.send(b"hello %d\n" % i)
        for i, server in enumerate(servers):
            msg = b"hello %d\n" % i
            assert _recv_exactly(net, server, len(msg)) == msg
            _send_all(net, server, msg.upper())
        for i, client in enumerate(clients):
            msg = b"HELLO %d\n" % i
            assert _recv_exactly(net, client, len(msg)) == msg
            client.close()
        for i, server in enumerate(servers):
            assert _recv_until_eof(net, server) == b"", "data after echo %d" % i
            server.close()
    finally:
        _close_all(socks)


def check_socketpair(net: Any) -> None:
    """net.socketpair(): two connected loopback TCP sockets."""
    a, b = net.socketpair()
    socks = [a, b]
    try:
        a.setblocking(False)
        b.setblocking(False)
        assert a.getpeername() == b.getsockname(), "a's peer is not b"
        assert b.getpeername() == a.getsockname(), "b's peer is not a"
        assert a.getsockname()[0] == LOOPBACK, "socketpair on %r" % (a.getsockname(),)
        assert a.send(b"to b") == 4
        assert _recv_exactly(net, b, 4) == b"to b"
        assert b.send(b"to a") == 4
        assert _recv_exactly(net, a, 4) == b"to a"
        a.close()
        assert _recv_until_eof(net, b) == b""
    finally:
        _close_all(socks)


# -- errno details --------------------------------------------------------------


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


#: Every check, in a sensible order.
CHECKS: List[Callable[[Any], None]] = [
    check_listen_connect_accept,
    check_small_message_both_ways,
    check_large_transfer_partial_sends,
    check_recv_empty_would_block,
    check_eof_after_peer_close,
    check_half_close,
    check_send_after_shutdown_wr,
    check_reset_on_close_with_unread_data,
    check_send_to_closed_peer,
    check_data_after_shutdown_rdwr_resets,
    check_oob,
    check_oob_mark,
    check_refused_connect,
    check_backlog,
    check_many_connections,
    check_socketpair,
    check_unconnected_socket_errors,
    check_bind_in_use,
    check_argument_errors,
    check_closed_socket,
]
