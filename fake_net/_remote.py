"""Scripted servers outside the process (a web server the client fetches from).

A :class:`RemoteServer` listens at an address of the name table without a
descriptor in the process.  Its script says, per connection, when the
connection completes and, at virtual times, what the server does: send a
segment, send an urgent byte, close (FIN) or reset (RST).  Actions at the
same time run in the order they were added.  ``_Remotes`` is FakeNetwork's
part that adds them (``add_remote()``).

Rules: virtual time only; actions are ordered by (time, order added).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple, cast

from fake_net._errors import SimulationError

if TYPE_CHECKING:  # pragma: no cover
    from fake_net._network import FakeNetwork
    from fake_net._socket import FakeSocket

__all__ = ["RemoteServer", "ACTIONS"]

#: What a remote server can do to a connection.
ACTIONS = ("send", "oob", "close", "reset")


class RemoteServer:
    """A scripted server at ``ip:port`` (see :meth:`FakeNetwork.add_remote`).

    Connections are numbered from 1 in the order clients connect.  Without
    :meth:`accept_at`, a connection completes after the network's latency.
    """

    def __init__(self, net: "FakeNetwork", host: str, ip: str, port: int) -> None:
        self.net = net
        self.host = host
        self.ip = ip
        self.port = port
        self._accept: Dict[int, float] = {}
        self._actions: Dict[int, List[Tuple[float, str, bytes]]] = {}
        self.conns: List[Optional["FakeSocket"]] = []
        self._received: Dict[int, bytearray] = {}

    def __repr__(self) -> str:
        return "RemoteServer(%s:%d, %d connection(s))" % (
            self.host,
            self.port,
            len(self.conns),
        )

    # -- the script ---------------------------------------------------------------

    def accept_at(self, when: float, conn: int = 1) -> None:
        """Connection ``conn`` completes at virtual time ``when`` (or as soon
        as the client connects, if later)."""
        self._accept[conn] = float(when)

    def at(self, when: float, action: str, data: bytes = b"", conn: int = 1) -> None:
        """At virtual time ``when`` (or once connection ``conn`` exists, if
        later), do ``action`` ("send" ``data``, "oob" the last byte of ``data``
        after the rest, "close", "reset")."""
        if action not in ACTIONS:
            raise ValueError(
                "unknown action %r (expected one of %s)" % (action, ", ".join(ACTIONS))
            )
        if action == "oob" and not data:
            raise ValueError("an oob action needs at least one byte")
        self._actions.setdefault(conn, []).append((float(when), action, bytes(data)))

    def received(self, conn: int = 1) -> bytes:
        """What the client sent on connection ``conn`` so far."""
        self._drain(conn)
        return bytes(self._received.get(conn, b""))

    # -- the network's side ------------------------------------------------------

    def _connecting(self, client: "FakeSocket", latency: float) -> None:
        net = self.net
        self.conns.append(None)
        k = len(self.conns)
        when = max(net.now + latency, self._accept.get(k, 0.0))
        net._schedule(when, self._establish, k, client)

    def _establish(self, k: int, client: "FakeSocket") -> None:
        from fake_net._socket import FakeSocket

        net = self.net
        if client.state != "connecting":
            return
        server = FakeSocket(net, client.family, client.type, None)
        server.local = (self.ip, self.port)
        server.remote = client.local
        server.side = "server"
        net._join(client, server)
        self.conns[k - 1] = server
        net._log_event(
            "remote", client.fd, ("accept", "%s:%d#%d" % (self.host, self.port, k))
        )
        client._refresh()
        for when, action, data in self._actions.get(k, ()):
            net._schedule(max(when, net.now), self._act, k, action, data)

    def _drain(self, k: int) -> None:
        if 0 < k <= len(self.conns):
            server = self.conns[k - 1]
            if server is not None and server.rbuf:
                self._received.setdefault(k, bytearray()).extend(server.rbuf)
                server.rbuf = b""

    def _act(self, k: int, action: str, data: bytes) -> None:
        server = self.conns[k - 1]
        client = server.peer if server is not None else None
        if (
            server is None
            or client is None
            or server.state != "connected"
            or client.fd is None
        ):
            return  # the client is gone: nothing reaches it
        self._drain(k)
        net = self.net
        net._log_event("remote", client.fd, (action, len(data)))
        if action == "send":
            if not server.shut_wr and data:
                server._transmit(data)
        elif action == "oob":
            if not server.shut_wr:
                server._transmit(data[:-1], urgent=data[-1:])
        elif action == "close":
            if not server.shut_wr:
                server.shut_wr = True
                server._send_fin()
        elif action == "reset":
            server.state = "closed"
            client._reset_by_peer(errno.ECONNRESET)


class _Remotes:
    """FakeNetwork's scripted remote servers: ``add_remote()``."""

    # This part's state (set by FakeNetwork.__init__).
    _remotes: Dict[Tuple[str, int], RemoteServer]
    # From the other parts.
    _resolve: Callable[..., str]
    _port_free: Callable[[str, int], bool]

    def add_remote(self, host: str, port: int) -> "RemoteServer":
        """A server outside the process at ``host:port``, driven by a script:
        see :class:`fake_net.RemoteServer`."""
        ip = self._resolve(host)
        if (ip, port) in self._remotes or not self._port_free(ip, port):
            raise SimulationError("%s:%d is already taken" % (host, port))
        remote = RemoteServer(cast("FakeNetwork", self), host, ip, port)
        self._remotes[(ip, port)] = remote
        return remote
