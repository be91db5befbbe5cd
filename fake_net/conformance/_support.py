"""Conformance checks: the helpers and constants every check uses.

Waiting (:func:`wait_for`, :func:`poll_until`, :func:`revents_now`) goes
through a ``"poll"`` poller of the network, the one call of the seam that
waits, and is bounded: by virtual time on a simulated network, by real time
on a real one.  The ``_expect_*`` helpers turn a difference into an
:class:`AssertionError` that says what differed.

Rules: the seam only; every socket made here is nonblocking and is closed
by the caller's ``_close_all(socks)``; nothing sleeps; no test framework.
"""

from __future__ import annotations

import array
import errno
import select
import socket
from typing import Any, Callable, Dict, List, Optional, Tuple, Type

__all__ = [
    "LOOPBACK",
    "ALL",
    "WAIT",
    "POLLIN",
    "POLLPRI",
    "POLLOUT",
    "POLLERR",
    "POLLHUP",
    "POLLNVAL",
    "wait_for",
    "poll_until",
    "revents_now",
    "poll_names",
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


# Bounds: real seconds on a real network, virtual seconds on a fake one.
WAIT = 2.0
# A wait loop never runs more often than this, whatever the network reports.
_MAX_WAITS = 10_000


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
