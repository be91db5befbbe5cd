"""Conformance checks: UDP datagram sockets (IPv4, over 127.0.0.1).

``bind``/``sendto``/``recvfrom`` and the automatic bind, datagram
boundaries, truncation by a short buffer (with and without ``MSG_TRUNC``),
``MSG_PEEK``, the filter and default destination of a connected socket,
``ECONNREFUSED`` on a connected socket after a datagram to a closed port
(Linux's ICMP port unreachable), readiness (POLLIN/POLLOUT, POLLERR),
``EAGAIN`` on an empty non-blocking receive, broadcast refused without
``SO_BROADCAST``, a full receive queue dropping datagrams, and the errnos
of calls UDP refuses.

The suite's rules hold (see :mod:`fake_net.conformance`).
"""

from __future__ import annotations

import errno
import socket
from functools import partial
from typing import Any, List, Tuple

from fake_net.conformance._support import (
    LOOPBACK,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    _close_all,
    _expect_oserror,
    _expect_poll,
    _expect_raises,
    _so_error,
    poll_until,
    wait_for,
)

__all__ = [
    "check_udp_sendto_recvfrom",
    "check_udp_boundaries",
    "check_udp_truncation",
    "check_udp_peek",
    "check_udp_connect_filter",
    "check_udp_refused_on_connected_socket",
    "check_udp_readiness",
    "check_udp_recv_empty_would_block",
    "check_udp_broadcast_refused",
    "check_udp_receive_queue_overflow",
    "check_udp_refused_calls",
]

_MSG_TRUNC = getattr(socket, "MSG_TRUNC", 0x20)
# How long a check waits for something that must NOT come (an ICMP error to
# an unconnected socket): loopback answers within microseconds.
_QUIET = 0.2


def _udp(net: Any, socks: List[Any], bind: bool = False) -> Any:
    """A new nonblocking UDP socket (bound to 127.0.0.1:0 if ``bind``)."""
    sock = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    socks.append(sock)
    sock.setblocking(False)
    if bind:
        sock.bind((LOOPBACK, 0))
    return sock


def _closed_udp_port(net: Any, socks: List[Any]) -> int:
    probe = _udp(net, socks, bind=True)
    port = int(probe.getsockname()[1])
    socks.remove(probe)
    probe.close()
    return port


def _recvfrom(net: Any, sock: Any, bufsize: int = 65536) -> Tuple[bytes, Any]:
    wait_for(net, sock, POLLIN)
    data, addr = sock.recvfrom(bufsize)
    return bytes(data), addr


def _drain(sock: Any) -> List[bytes]:
    got: List[bytes] = []
    for _ in range(100_000):
        try:
            got.append(sock.recv(65536))
        except BlockingIOError:
            return got
    raise AssertionError("the receive queue never emptied")


def check_udp_sendto_recvfrom(net: Any) -> None:
    """sendto() from an unbound socket binds it to an ephemeral port on
    0.0.0.0; recvfrom() gives the datagram and the sender's address, an
    empty datagram included."""
    socks: List[Any] = []
    try:
        server = _udp(net, socks, bind=True)
        address = server.getsockname()
        assert address[0] == LOOPBACK and address[1] != 0, address
        client = _udp(net, socks)
        assert client.getsockname() == ("0.0.0.0", 0), client.getsockname()
        assert client.sendto(b"hello", address) == 5, "sendto() count"
        name = client.getsockname()
        assert name[0] == "0.0.0.0" and name[1] != 0, (
            "sendto() binds automatically: %r" % (name,)
        )
        data, source = _recvfrom(net, server)
        assert data == b"hello", data
        assert source == (LOOPBACK, name[1]), source
        assert server.sendto(b"back", source) == 4
        data, source = _recvfrom(net, client)
        assert (data, source) == (b"back", address), (data, source)
        assert client.sendto(b"", address) == 0, "an empty datagram"
        data, source = _recvfrom(net, server)
        assert data == b"" and source == (LOOPBACK, name[1]), (data, source)
        buf = bytearray(16)
        assert client.sendto(memoryview(b"into"), 0, address) == 4
        wait_for(net, server, POLLIN)
        n, source = server.recvfrom_into(buf)
        assert (n, bytes(buf[:n])) == (4, b"into"), (n, buf)
        assert client.sendmsg([b"ab", b"cd"], [], 0, address) == 4, "sendmsg()"
        wait_for(net, server, POLLIN)
        data, anc, flags, source = server.recvmsg(16)
        assert (data, anc, flags) == (b"abcd", [], 0), (data, anc, flags)
    finally:
        _close_all(socks)


def check_udp_boundaries(net: Any) -> None:
    """Each datagram arrives whole and alone, in order, up to the largest
    IPv4 payload (65,507 bytes); one byte more is EMSGSIZE."""
    socks: List[Any] = []
    try:
        server = _udp(net, socks, bind=True)
        client = _udp(net, socks)
        address = server.getsockname()
        sizes = [1, 100, 0, 3000, 7, 65507]
        for i, size in enumerate(sizes):
            assert client.sendto(bytes([65 + i]) * size, address) == size
        for i, size in enumerate(sizes):
            data, _ = _recvfrom(net, server, 70000)
            assert data == bytes([65 + i]) * size, (
                "datagram %d: %d bytes, expected %d" % (i, len(data), size)
            )
        _expect_oserror(
            lambda: client.sendto(bytes(65508), address),
            errno.EMSGSIZE,
            "sendto() of 65,508 bytes",
        )
        _expect_poll(net, server, POLLOUT, "the queue read")
    finally:
        _close_all(socks)


def check_udp_truncation(net: Any) -> None:
    """A buffer shorter than the datagram gets its head and the rest is lost;
    recvmsg() says MSG_TRUNC; with the MSG_TRUNC flag, recv_into() and
    recvfrom_into() return the datagram's length; recvfrom(0) takes a
    datagram, recv(0) does not."""
    socks: List[Any] = []
    try:
        server = _udp(net, socks, bind=True)
        client = _udp(net, socks)
        address = server.getsockname()
        message = b"0123456789"

        def arrive() -> None:
            assert client.sendto(message, address) == 10
            wait_for(net, server, POLLIN)

        arrive()
        assert server.recv(4) == b"0123", "recv(4) of a 10-byte datagram"
        _expect_oserror(lambda: server.recv(100), errno.EAGAIN, "the rest is lost")
        arrive()
        data, anc, flags, _ = server.recvmsg(4)
        assert data == b"0123" and flags & _MSG_TRUNC, (data, flags)
        arrive()
        data, anc, flags, _ = server.recvmsg(10)
        assert data == message and not flags & _MSG_TRUNC, (data, flags)
        arrive()
        buf = bytearray(4)
        n, _ = server.recvfrom_into(buf)
        assert (n, bytes(buf)) == (4, b"0123"), (n, buf)
        arrive()
        buf = bytearray(4)
        n, _ = server.recvfrom_into(buf, 0, _MSG_TRUNC)
        assert (n, bytes(buf)) == (10, b"0123"), ("MSG_TRUNC", n, buf)
        arrive()
        buf = bytearray(4)
        n = server.recv_into(buf, 0, _MSG_TRUNC)
        assert (n, bytes(buf)) == (10, b"0123"), ("recv_into MSG_TRUNC", n, buf)
        arrive()
        data = server.recv(4, _MSG_TRUNC)
        # The length is the datagram's; the bytes past 4 are not asserted
        # (DIFFERENCES["udp_msg_trunc_recv"]).
        assert len(data) == 10 and data[:4] == b"0123", ("recv MSG_TRUNC", data)
        _expect_oserror(lambda: server.recv(100), errno.EAGAIN, "after MSG_TRUNC")
        arrive()
        assert server.recv(0) == b"", "recv(0)"
        assert server.recv(100) == message, "recv(0) took the datagram"
        arrive()
        source = (LOOPBACK, client.getsockname()[1])
        assert server.recvfrom(0) == (b"", source), "recvfrom(0)"
        _expect_oserror(lambda: server.recv(100), errno.EAGAIN, "recvfrom(0) took it")
    finally:
        _close_all(socks)


def check_udp_peek(net: Any) -> None:
    """MSG_PEEK leaves the datagram queued (and POLLIN with it)."""
    socks: List[Any] = []
    try:
        server = _udp(net, socks, bind=True)
        client = _udp(net, socks)
        client.sendto(b"peekaboo", server.getsockname())
        client.sendto(b"second", server.getsockname())
        wait_for(net, server, POLLIN)
        assert server.recv(4, socket.MSG_PEEK) == b"peek"
        data, source = server.recvfrom(100, socket.MSG_PEEK)
        assert data == b"peekaboo" and source[1] == client.getsockname()[1], data
        _expect_poll(net, server, POLLIN | POLLOUT, "after MSG_PEEK")
        assert server.recv(100) == b"peekaboo"
        wait_for(net, server, POLLIN)
        assert server.recv(100) == b"second"
    finally:
        _close_all(socks)


def check_udp_connect_filter(net: Any) -> None:
    """connect() sets the default destination (send(), getpeername()), fixes
    the local address, and lets only the peer's datagrams in."""
    socks: List[Any] = []
    try:
        peer = _udp(net, socks, bind=True)
        other = _udp(net, socks, bind=True)
        sock = _udp(net, socks)
        _expect_oserror(lambda: sock.getpeername(), errno.ENOTCONN, "getpeername()")
        _expect_oserror(
            lambda: sock.send(b"x"), errno.EDESTADDRREQ, "send() unconnected"
        )
        assert sock.connect_ex(peer.getsockname()) == 0, "connect_ex()"
        assert sock.getpeername() == peer.getsockname(), sock.getpeername()
        local = sock.getsockname()
        assert local[0] == LOOPBACK and local[1] != 0, local
        assert sock.send(b"to peer") == 7
        data, source = _recvfrom(net, peer)
        assert (data, source) == (b"to peer", local), (data, source)
        other.sendto(b"from other", local)
        peer.sendto(b"from peer", local)
        data, source = _recvfrom(net, sock)
        assert (data, source) == (b"from peer", peer.getsockname()), (data, source)
        _expect_oserror(
            lambda: sock.recv(100), errno.EAGAIN, "the other's was filtered"
        )
        # sendto() another address still works on a connected socket.
        assert sock.sendto(b"aside", other.getsockname()) == 5
        data, source = _recvfrom(net, other)
        assert (data, source) == (b"aside", local), (data, source)
        # Connecting again moves the filter.
        sock.connect(other.getsockname())
        other.sendto(b"now you", local)
        data, source = _recvfrom(net, sock)
        assert (data, source) == (b"now you", other.getsockname()), (data, source)
    finally:
        _close_all(socks)


def check_udp_refused_on_connected_socket(net: Any) -> None:
    """A datagram to a closed port: a connected sender gets ECONNREFUSED
    (POLLERR), taken once by recv(), send() or SO_ERROR; an unconnected
    sender hears nothing."""
    socks: List[Any] = []
    try:
        port = _closed_udp_port(net, socks)
        sock = _udp(net, socks)
        sock.connect((LOOPBACK, port))
        assert sock.send(b"anyone?") == 7, "the send itself succeeds"
        wait_for(net, sock, POLLERR)
        _expect_oserror(
            lambda: sock.recv(100),
            errno.ECONNREFUSED,
            "recv() after",
            ConnectionRefusedError,
        )
        _expect_oserror(lambda: sock.recv(100), errno.EAGAIN, "the error was taken")
        _expect_poll(net, sock, POLLOUT, "after the error was taken")
        assert sock.send(b"again") == 5
        wait_for(net, sock, POLLERR)
        _expect_oserror(lambda: sock.send(b"x"), errno.ECONNREFUSED, "send() after")
        assert sock.send(b"third") == 5
        wait_for(net, sock, POLLERR)
        assert _so_error(sock) == errno.ECONNREFUSED, "SO_ERROR"
        assert _so_error(sock) == 0, "SO_ERROR taken"
        loose = _udp(net, socks)
        assert loose.sendto(b"anyone?", (LOOPBACK, port)) == 7
        revents = poll_until(net, loose, POLLERR, _QUIET)
        assert not revents & POLLERR, "an unconnected sender got an error"
        assert _so_error(loose) == 0, "SO_ERROR of an unconnected sender"
    finally:
        _close_all(socks)


def check_udp_readiness(net: Any) -> None:
    """A UDP socket is always writable; readable while a datagram is queued,
    in poll and in select; POLLHUP once both directions are shut down."""
    socks: List[Any] = []
    try:
        server = _udp(net, socks, bind=True)
        client = _udp(net, socks)
        _expect_poll(net, client, POLLOUT, "a new UDP socket")
        _expect_poll(net, server, POLLOUT, "a bound UDP socket")
        client.sendto(b"one", server.getsockname())
        client.sendto(b"two", server.getsockname())
        wait_for(net, server, POLLIN)
        _expect_poll(net, server, POLLIN | POLLOUT, "two datagrams queued")
        poller = net.poller("select")
        try:
            fd = server.fileno()
            r, w, _ = poller.wait([fd], [POLLIN | POLLOUT], True, [], 0.0)
            assert (r, w) == ([fd], [fd]), ("select", r, w)
        finally:
            poller.close()
        server.recv(10)
        _expect_poll(net, server, POLLIN | POLLOUT, "one datagram left")
        server.recv(10)
        _expect_poll(net, server, POLLOUT, "the queue read")
        client.connect(server.getsockname())
        client.shutdown(socket.SHUT_RD)
        _expect_poll(net, client, POLLIN | POLLOUT, "after SHUT_RD")
        _expect_oserror(lambda: client.recv(10), errno.EAGAIN, "recv() after SHUT_RD")
        client.shutdown(socket.SHUT_WR)
        _expect_poll(net, client, POLLIN | POLLOUT | POLLHUP, "after SHUT_WR too")
        _expect_oserror(lambda: client.send(b"x"), errno.EPIPE, "send() after SHUT_WR")
    finally:
        _close_all(socks)


def check_udp_recv_empty_would_block(net: Any) -> None:
    """An empty receive queue: EAGAIN from every receive call of a
    non-blocking socket, bound or not, and with MSG_DONTWAIT on a blocking
    one."""
    socks: List[Any] = []
    try:
        bound = _udp(net, socks, bind=True)
        loose = _udp(net, socks)
        buf = bytearray(8)
        for each, what in ((bound, "bound"), (loose, "unbound")):
            _expect_oserror(partial(each.recv, 10), errno.EAGAIN, "recv(), " + what)
            _expect_oserror(
                partial(each.recvfrom, 10), errno.EAGAIN, "recvfrom(), " + what
            )
            _expect_oserror(
                partial(each.recvfrom_into, buf),
                errno.EAGAIN,
                "recvfrom_into(), " + what,
            )
            _expect_oserror(
                partial(each.recvmsg, 10), errno.EAGAIN, "recvmsg(), " + what
            )
        blocking = _udp(net, socks, bind=True)
        blocking.setblocking(True)
        _expect_oserror(
            lambda: blocking.recv(10, socket.MSG_DONTWAIT),
            errno.EAGAIN,
            "recv(MSG_DONTWAIT) on a blocking socket",
            BlockingIOError,
        )
    finally:
        _close_all(socks)


def check_udp_broadcast_refused(net: Any) -> None:
    """A broadcast destination without SO_BROADCAST: EACCES, from sendto()
    and from connect()."""
    socks: List[Any] = []
    try:
        sock = _udp(net, socks)
        for ip in ("255.255.255.255", "127.255.255.255"):
            _expect_oserror(
                partial(sock.sendto, b"all", (ip, 9)),
                errno.EACCES,
                "sendto(%s) without SO_BROADCAST" % ip,
                PermissionError,
            )
        _expect_oserror(
            lambda: sock.connect(("127.255.255.255", 9)),
            errno.EACCES,
            "connect() to a broadcast address without SO_BROADCAST",
        )
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST) == 0
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST) == 1
        assert sock.sendto(b"all", ("127.255.255.255", 9)) == 3, "with SO_BROADCAST"
    finally:
        _close_all(socks)


def check_udp_receive_queue_overflow(net: Any) -> None:
    """SO_RCVBUF is doubled as Linux does; a receive queue already over it
    drops what arrives: the first datagrams are kept, whole and in order."""
    socks: List[Any] = []
    try:
        server = _udp(net, socks)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4000)
        assert server.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == 8000
        server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
        small = server.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        assert 2 <= small <= 4608, "SO_RCVBUF set to 1 reads %d" % small
        server.bind((LOOPBACK, 0))
        client = _udp(net, socks)
        sent = 64
        for i in range(sent):
            try:
                client.sendto(bytes([i]) * 1000, server.getsockname())
            except BlockingIOError:
                pass  # not on loopback, but a full send buffer is no failure
        wait_for(net, server, POLLIN)
        got = _drain(server)
        assert 1 <= len(got) < sent, "%d of %d datagrams kept" % (len(got), sent)
        assert got == [bytes([i]) * 1000 for i in range(len(got))], (
            "the kept datagrams are not the first ones, whole and in order"
        )
        # Room again: the next datagram is queued.
        client.sendto(b"after", server.getsockname())
        data, _ = _recvfrom(net, server)
        assert data == b"after", data
    finally:
        _close_all(socks)


def check_udp_refused_calls(net: Any) -> None:
    """The errnos of what UDP refuses: listen()/accept() (EOPNOTSUPP),
    send(MSG_OOB) (EOPNOTSUPP), a second bind() (EINVAL), a port in use
    (EADDRINUSE), shutdown() unconnected (ENOTCONN), a closed socket (EBADF);
    and CPython's own checks of an address."""
    socks: List[Any] = []
    try:
        sock = _udp(net, socks, bind=True)
        address = sock.getsockname()
        _expect_oserror(lambda: sock.listen(1), errno.EOPNOTSUPP, "listen()")
        _expect_oserror(lambda: sock.accept(), errno.EOPNOTSUPP, "accept()")
        _expect_oserror(
            lambda: sock.sendto(b"x", socket.MSG_OOB, address),
            errno.EOPNOTSUPP,
            "sendto(MSG_OOB)",
        )
        _expect_oserror(lambda: sock.bind((LOOPBACK, 0)), errno.EINVAL, "bind() again")
        other = _udp(net, socks)
        _expect_oserror(lambda: other.bind(address), errno.EADDRINUSE, "bind() in use")
        _expect_oserror(
            lambda: other.shutdown(socket.SHUT_RDWR), errno.ENOTCONN, "shutdown()"
        )
        # A TCP socket may have the same port number.
        tcp = net.socket(socket.AF_INET, socket.SOCK_STREAM)
        socks.append(tcp)
        tcp.bind(address)
        for bad, cls in (
            ("/tmp/x.sock", TypeError),
            ((LOOPBACK,), TypeError),
            ((LOOPBACK, "x"), TypeError),
            ([LOOPBACK, 0], TypeError),
            ((LOOPBACK, 70000), OverflowError),
            ((LOOPBACK, -1), OverflowError),
        ):
            _expect_raises(partial(other.bind, bad), cls, "bind(%r)" % (bad,))
            _expect_raises(partial(other.sendto, b"x", bad), cls, "sendto(%r)" % (bad,))
        socks.remove(other)
        other.close()
        _expect_oserror(lambda: other.sendto(b"x", address), errno.EBADF, "closed")
        _expect_oserror(lambda: other.recv(1), errno.EBADF, "recv() closed")
        assert other.fileno() == -1, "fileno() of a closed socket"
    finally:
        _close_all(socks)
