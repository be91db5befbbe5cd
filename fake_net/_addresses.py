"""Addresses: the name table, name resolution, ports and binding.

A network has one table of names (``net.names``: :data:`DEFAULT_NAMES` and
what a test adds), and one table of bound addresses, ``(ip, port) ->
socket``, where a socket bound to 0.0.0.0 takes the port on every address.
Binding to port 0 picks an ephemeral port, as Linux does, from
:data:`EPHEMERAL_PORTS`.  (Hosts with addresses of their own will live here.)

Rules: ephemeral ports come from the network's seeded random source, or from
the scripted sequence (``FakeNetwork(ephemeral_ports=...)``), never from the
global random; an unknown name fails as ``getaddrinfo()`` does (gaierror
EAI_NONAME), never by asking the machine's resolver.
"""

from __future__ import annotations

import errno
import ipaddress
import socket as _socket
from random import Random
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Tuple

from fake_net._errors import SimulationError, oserror

if TYPE_CHECKING:  # pragma: no cover
    from fake_net._socket import FakeSocket

__all__ = ["DEFAULT_NAMES", "EPHEMERAL_PORTS", "_Addresses"]

#: The name table every network starts with (a test may add more).
DEFAULT_NAMES: Dict[str, str] = {
    "localhost": "127.0.0.1",
    "www.python.org": "151.101.0.223",
    "www.doughellmann.com": "23.23.152.99",
}

#: Linux's default ephemeral port range (net.ipv4.ip_local_port_range).
EPHEMERAL_PORTS = (32768, 60999)


class _Addresses:
    """FakeNetwork's names and ports: ``getaddrinfo()``, ``add_name()``, binding."""

    # This part's state (set by FakeNetwork.__init__).
    names: Dict[str, str]
    _bound: Dict[Tuple[str, int], FakeSocket]
    _ports: Optional[Iterator[int]]  # the scripted ephemeral ports, if any
    # From the other parts.
    random: Random

    def getaddrinfo(
        self,
        host: str,
        port: int,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> List[Tuple[Any, ...]]:
        ip = self._resolve(host)
        if type == _socket.SOCK_DGRAM or (type == 0 and proto == 17):
            return [(_socket.AF_INET, _socket.SOCK_DGRAM, 17, "", (ip, port))]
        return [(_socket.AF_INET, _socket.SOCK_STREAM, 6, "", (ip, port))]

    def add_name(self, name: str, ip: str) -> None:
        self.names[name] = ip

    def _resolve(self, host: str, bind: bool = False) -> str:
        if host in ("", "0.0.0.0") and bind:
            return "0.0.0.0"
        if host == "":
            return "127.0.0.1"
        try:
            ipaddress.ip_address(host)
            return host
        except ValueError:
            pass
        ip = self.names.get(host)
        if ip is None:
            # As getaddrinfo() fails for an unknown name.
            raise _socket.gaierror(_socket.EAI_NONAME, "Name or service not known")
        return ip

    def _port_free(self, ip: str, port: int) -> bool:
        if ("0.0.0.0", port) in self._bound:
            return False
        if ip == "0.0.0.0":
            return not any(p == port for (_, p) in self._bound)
        return (ip, port) not in self._bound

    def _ephemeral_port(self, ip: str) -> int:
        if self._ports is not None:
            for port in self._ports:
                if self._port_free(ip, port):
                    return int(port)
            raise SimulationError("the scripted ephemeral ports ran out")
        lo, hi = EPHEMERAL_PORTS
        for _ in range(hi - lo + 1):
            port = self.random.randint(lo, hi)
            if self._port_free(ip, port):
                return port
        raise oserror(errno.EADDRNOTAVAIL)

    def _bind(self, sock: FakeSocket, ip: str, port: int) -> None:
        if port == 0:
            port = self._ephemeral_port(ip)
        elif not self._port_free(ip, port):
            other = self._bound.get((ip, port)) or self._bound.get(("0.0.0.0", port))
            reuse = (_socket.SOL_SOCKET, _socket.SO_REUSEADDR)
            if (
                other is None
                or other.state == "listening"
                or not (sock.opts.get(reuse) and other.opts.get(reuse))
            ):
                raise oserror(errno.EADDRINUSE)
        sock.local = (ip, port)
        self._bound[(ip, port)] = sock

    def _unbind(self, sock: FakeSocket) -> None:
        if sock.local is not None and self._bound.get(sock.local) is sock:
            del self._bound[sock.local]
