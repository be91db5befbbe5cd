"""Conformance checks: connecting.

A refused connect, the accept queue's backlog, a shutdown() that aborts a
connect, many connections at once, and ``net.socketpair()``.

The suite's rules hold (see :mod:`fake_net.conformance`).
"""

from __future__ import annotations

import errno
from typing import Any, Dict, List

from fake_net.conformance._support import (
    _MAX_WAITS,
    LOOPBACK,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    _accept,
    _close_all,
    _expect_oserror,
    _expect_poll,
    _listener,
    _recv_exactly,
    _recv_until_eof,
    _send_all,
    _so_error,
    _start_connect,
    _tcp,
    poll_names,
    poll_until,
    wait_for,
)

__all__ = [
    "check_refused_connect",
    "check_backlog",
    "check_shutdown_while_connecting",
    "check_many_connections",
    "check_socketpair",
]


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


def check_shutdown_while_connecting(net: Any) -> None:
    """shutdown() of a socket still connecting (beyond a full accept queue,
    so in SYN_SENT) aborts the connect: it succeeds, the socket polls
    POLLOUT|POLLERR|POLLHUP, recv() gives ECONNRESET once, and a new
    connect() starts anew and completes once accept() makes room."""
    socks: List[Any] = []
    try:
        listener = _listener(net, socks, backlog=0)
        laddr = listener.getsockname()
        first = _start_connect(net, socks, laddr)
        wait_for(net, first, POLLOUT)
        late = _start_connect(net, socks, laddr)
        assert not poll_until(net, late, POLLOUT, 0.2), "late connect completed"
        late.shutdown(2)  # SHUT_RDWR: no ENOTCONN while connecting
        revents = wait_for(net, late, POLLOUT | POLLERR | POLLHUP)
        assert revents & (POLLOUT | POLLERR | POLLHUP) == POLLOUT | POLLERR | POLLHUP, (
            "a connect aborted by shutdown() polls %s, expected "
            "POLLOUT|POLLERR|POLLHUP" % poll_names(revents)
        )
        assert not revents & POLLIN, "an aborted connect polls POLLIN"
        _expect_oserror(
            lambda: late.recv(1), errno.ECONNRESET, "recv() after the abort"
        )
        _expect_oserror(
            lambda: late.recv(1), errno.ENOTCONN, "second recv() after the abort"
        )
        rc = late.connect_ex(laddr)
        assert rc == errno.EINPROGRESS, (
            "connect_ex() after an aborted connect returned %s"
            % errno.errorcode.get(rc, rc)
        )
        _accept(net, socks, listener)
        wait_for(net, late, POLLOUT, timeout=8.0)
        assert _so_error(late) == 0, "SO_ERROR of the new connection"
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
