"""Stream connections: how two TCP sockets of the network get connected.

A ``connect()`` binds the client (to an ephemeral port on 127.0.0.1, ::1
or the network's ``local_ip``), consults the "connect" fault rules, and schedules
the outcome after the network's latency: the SYN reaching a listener (which
queues the connection, or holds it while the accept queue is full), a
:class:`~fake_net.RemoteServer` taking it, or a refusal.  ``_join`` makes
the two ends a connection; what flows over it afterwards is the sockets'
business (``_socket``).

Rules: connections are numbered in the order they are made (``sock.conn``)
and kept in that order in ``_sockets``; every outcome is an event on the
virtual clock, at ``now`` + latency (or a fault's delay, or a remote
server's scripted accept time), never at once.  (AF_UNIX stream sockets
connect at once, as Linux's do: ``_unix``.)  Between two hosts
(``fake_net._hosts``) a connect takes the link's round trip more, and a SYN
a partition eats is retransmitted on Linux's schedule (``_syn_again``).
"""

from __future__ import annotations

import errno
import heapq
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, cast

from fake_net import _hosts, _links
from fake_net._socket import FakeSocket

if TYPE_CHECKING:  # pragma: no cover
    from fake_net._network import FakeNetwork
    from fake_net._remote import RemoteServer

__all__ = ["DEFAULT_CAPACITY", "_Stream"]

#: Bytes one direction of a connection holds before sends go short or
#: EWOULDBLOCK (a rough figure for Linux's loopback socket buffers).
DEFAULT_CAPACITY = 65536


class _Stream:
    """FakeNetwork's TCP connection set-up (connect, accept queue, join)."""

    # This part's state (set by FakeNetwork.__init__).
    capacity: int  # per direction, read by each FakeSocket as it is made
    latency: float
    local_ip: str
    _sockets: List[FakeSocket]  # every connected socket, in order
    _conn_count: int
    _link_table: Tuple["_links.Link", ...]  # fake_net._links (FakeNetwork(links=))
    _hosts: Optional["_hosts.HostTable"]  # fake_net._hosts (None: one host)
    # From the other parts.
    now: float
    _bound: Dict[Tuple[str, int], FakeSocket]
    _remotes: Dict[Tuple[str, int], RemoteServer]
    _stream_rules: bool
    _connect_rules: bool
    _bind: Callable[[FakeSocket, str, int], None]
    _source_for: Callable[[str], str]
    _fault_verdict: Callable[[str, FakeSocket, int], Any]
    _stream_faults: Callable[[FakeSocket, bytes], bytes]
    _schedule: Callable[..., None]
    _timers: List[Any]
    _run_due: Callable[[], None]
    _log_event: Callable[[str, Optional[int], Tuple[Any, ...]], None]

    def _connect(self, client: FakeSocket, ip: str, port: int) -> None:
        if client.local is None:
            self._bind(client, self._source_for(ip), 0)
        client.state = "connecting"
        client.err = 0  # Linux (tcp_connect_init): a new attempt clears it
        client.remote = (ip, port)
        client.side = "client"
        self._log_event("connect", client.fd, ((ip, port),))
        verdict = None
        if self._connect_rules:
            verdict = self._fault_verdict("connect", client, port)
        latency = self.latency
        if verdict is not None:
            kind, seconds = verdict
            if kind == "refuse":
                self._schedule(
                    self.now + latency, self._fail_connect, client, errno.ECONNREFUSED
                )
                client._refresh()
                return
            if kind == "timeout":
                self._schedule(
                    self.now + seconds, self._fail_connect, client, errno.ETIMEDOUT
                )
                client._refresh()
                return
            latency = seconds
        hosts = self._hosts
        if hosts is not None:
            # Between two hosts (fake_net._hosts): a round trip more, or,
            # across a partition, the SYN is lost and retransmitted.
            began = self.now
            extra = hosts.connect_delay(
                client, ip, lambda: self._syn_again(client, ip, port, latency, 0, began)
            )
            if extra is None:
                self._schedule(
                    began + _hosts.SYN_RTO,
                    self._syn_again,
                    client,
                    ip,
                    port,
                    latency,
                    1,
                    began,
                )
                client._refresh()
                return
            if extra == _hosts.HELD:  # a held link keeps the SYN (_hosts)
                client._refresh()
                return
            latency += extra
        self._syn(client, ip, port, latency)

    def _syn_again(
        self,
        client: FakeSocket,
        ip: str,
        port: int,
        latency: float,
        tries: int,
        began: float,
    ) -> None:
        """A SYN lost to a partition is retransmitted (Linux: tcp_syn_retries
        = 6, RTO 1 s doubling); after the last, the connect times out 127 s
        after it began (fake_net._hosts).  (``tries`` 0: a held SYN goes.)"""
        if client.fd is None or client.state != "connecting":
            return
        if tries > _hosts.SYN_RETRIES:
            self._fail_connect(client, errno.ETIMEDOUT)
            return
        hosts = self._hosts
        assert hosts is not None
        extra = hosts.connect_delay(
            client,
            ip,
            lambda: self._syn_again(client, ip, port, latency, tries, began),
        )
        if extra == _hosts.HELD:
            return
        if extra is None:
            if tries == 0:  # released into a partition: lost, retried
                self._schedule(
                    self.now + _hosts.SYN_RTO,
                    self._syn_again,
                    client,
                    ip,
                    port,
                    latency,
                    1,
                    began,
                )
                return
            if tries == _hosts.SYN_RETRIES:
                when = began + _hosts.SYN_TIMEOUT
            else:
                when = self.now + _hosts.SYN_RTO * (2**tries)
            self._schedule(
                when, self._syn_again, client, ip, port, latency, tries + 1, began
            )
            return
        self._syn(client, ip, port, latency + extra)

    def _syn(self, client: FakeSocket, ip: str, port: int, latency: float) -> None:
        """The SYN goes out: to a scripted server, a listener, or a refusal,
        each ``latency`` from now."""
        remote = self._remotes.get((ip, port)) if self._remotes else None
        if remote is not None:
            remote._connecting(client, latency)
            client._refresh()
            if latency == 0:
                self._run_due()
            return
        bound = self._bound
        listener = bound.get((ip, port))
        if listener is None and (self._hosts is None or self._hosts.is_default(ip)):
            # (A declared host has no wildcard listeners: fake_net._hosts.)
            listener = (
                bound.get(("::", port))
                if ":" in ip
                else bound.get(("0.0.0.0", port)) or bound.get(("::", port))
            )
        if listener is None or listener.state != "listening":
            self._schedule(
                self.now + latency, self._fail_connect, client, errno.ECONNREFUSED
            )
        else:
            self._schedule(self.now + latency, self._arrive, listener, client)
        client._refresh()
        if latency == 0:
            self._run_due()

    def _abort_connect(self, client: FakeSocket) -> None:
        """Linux (inet_shutdown on TCP_SYN_SENT, tcp_disconnect): a
        shutdown() while a connect is under way aborts it.  The socket is
        unconnected again (the next connect() starts anew) with ECONNRESET
        pending, so it polls POLLOUT|POLLERR|POLLHUP and its next recv() or
        send() raises ECONNRESET; the listener never hears of it."""
        timers = self._timers
        kept = [t for t in timers if all(a is not client for a in t[3])]
        if len(kept) != len(timers):
            heapq.heapify(kept)
            timers[:] = kept  # the SYN (or the refusal) still on its way
        for listener in list(self._bound.values()):
            if client in listener.pending_q:
                listener.pending_q.remove(client)
        if self._hosts is not None:
            self._hosts.forget(client)  # a SYN a held link keeps
        client.state = "new"
        client.remote = None
        client.side = None
        client.connect_unreported = False
        client.err = errno.ECONNRESET
        client._refresh()

    def _fail_connect(self, client: FakeSocket, code: int) -> None:
        if client.state != "connecting":
            return
        client.state = "closed"
        client.err = code
        client.shut_wr = True
        self._log_event(
            "error",
            client.fd if client.fd is not None else -1,
            ("connect", errno.errorcode[code]),
        )
        client._refresh()

    def _arrive(self, listener: FakeSocket, client: FakeSocket) -> None:
        """A SYN reaches a listener: queue the connection, or wait for room."""
        if client.state != "connecting":
            return
        if listener.fd is None or listener.state != "listening":
            self._fail_connect(client, errno.ECONNREFUSED)
            return
        if len(listener.accept_q) >= listener.backlog:
            # Linux drops the SYN and the client retries; here it simply
            # waits for room in the queue.
            listener.pending_q.append(client)
            return
        self._establish_server_side(listener, client)

    def _establish_server_side(self, listener: FakeSocket, client: FakeSocket) -> None:
        if client.state != "connecting":
            return
        net = cast("FakeNetwork", self)
        # The listener's class: an IPv6 listener's connections are IPv6 too
        # (an IPv4 client of a dual-stack one shows as ::ffff:a.b.c.d).
        server = type(listener)(net, listener.family, listener.type, None)
        assert listener.local is not None and client.local is not None
        lip = listener.local[0]
        if lip in ("0.0.0.0", "::"):
            assert client.remote is not None
            lip = client.remote[0]
        server.local = (lip, listener.local[1])
        server.remote = client.local
        server.side = "server"
        self._join(client, server)
        if self._link_table:
            # A link's accept latency (fake_net._links): the listener sees
            # the connection later than the client does.
            wait = _links.accept_latency(net, server)
            if wait:
                self._schedule(self.now + wait, _links.accept_arrives, listener, server)
                client._refresh()
                return
        listener.accept_q.append(server)
        listener._refresh()
        client._refresh()

    def _join(self, a: FakeSocket, b: FakeSocket) -> None:
        conn = self._conn_count
        self._conn_count += 1
        for s, other in ((a, b), (b, a)):
            s.state = "connected"
            s.peer = other
            s.conn = conn
            s.ever_connected = True
            s.remote = other.local
            self._sockets.append(s)
        if self._link_table:
            _links.join(cast("FakeNetwork", self), a, b)  # capacity, latency
        if self._hosts is not None:
            self._hosts.join(a, b)  # the host link it crosses, if any
        if self._stream_rules:
            for s in (a, b):
                # Rules at byte offset 0 fire as the connection is made.
                self._stream_faults(s, b"")
                s._refresh()
