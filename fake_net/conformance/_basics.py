"""Conformance checks: a connection and its data.

Set-up (listen, connect, accept and the names both ends see), a small
message each way, a large transfer that pushes back, and a ``recv()`` that
would block.

The suite's rules hold (see :mod:`fake_net.conformance`).
"""

from __future__ import annotations

import errno
import functools
from typing import Any, List

from fake_net.conformance._support import (
    _MAX_WAITS,
    LOOPBACK,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    _close_all,
    _connected_pair,
    _expect_oserror,
    _expect_poll,
    _listener,
    _pattern,
    _recv_exactly,
    _so_error,
    _start_connect,
    poll_names,
    revents_now,
    wait_for,
)

__all__ = [
    "check_listen_connect_accept",
    "check_small_message_both_ways",
    "check_large_transfer_partial_sends",
    "check_recv_empty_would_block",
]


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
