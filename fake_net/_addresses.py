"""Addresses: the name table, name resolution, ports and binding.

A network has one table of names (``net.names``: :data:`DEFAULT_NAMES` and
what a test adds), and one table of bound addresses, ``(ip, port) ->
socket``, where a socket bound to 0.0.0.0 takes the port on every address.
Binding to port 0 picks an ephemeral port, as Linux does, from
:data:`EPHEMERAL_PORTS`.  Hosts with addresses of their own
(``fake_net._hosts``) share the one table: a socket's host is its local
address's, and under ``net.on_host(name)`` an automatic bind, or a bind to
0.0.0.0, takes that host's first address (``_source_for``, ``_bind``).

Rules: ephemeral ports come from the network's seeded random source, or from
the scripted sequence (``FakeNetwork(ephemeral_ports=...)``), never from the
global random (nor do autobound AF_UNIX names); an unknown name fails as
``getaddrinfo()`` does (gaierror EAI_NONAME), never by asking the machine's
resolver.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket as _socket
from random import Random
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Tuple

from fake_net._errors import SimulationError, oserror

if TYPE_CHECKING:  # pragma: no cover
    from fake_net._socket import FakeSocket

__all__ = [
    "DEFAULT_NAMES",
    "EPHEMERAL_PORTS",
    "_Addresses",
    "shown_name",
    "unix_address",
]

#: The name table every network starts with (a test may add more).
DEFAULT_NAMES: Dict[str, str] = {
    "localhost": "127.0.0.1",
    "www.python.org": "151.101.0.223",
    "www.doughellmann.com": "23.23.152.99",
}

_SUN_PATH = 108  # sizeof(struct sockaddr_un.sun_path)


def unix_address(call: str, address: Any) -> bytes:
    """An AF_UNIX address as the kernel sees it (bytes), checked as CPython's
    getsockaddrarg checks it."""
    if isinstance(address, str):
        key = os.fsencode(address)
    elif isinstance(address, (bytes, bytearray, memoryview)):
        key = bytes(address)
    else:
        raise TypeError(
            "a bytes-like object is required, not '%s'" % type(address).__name__
        )
    if len(key) > _SUN_PATH:
        raise OSError("AF_UNIX path too long")
    return key


def shown_name(key: Optional[bytes]) -> Any:
    """A name as ``getsockname()`` returns it: ``''`` unbound, bytes for an
    abstract name, ``str`` for a path."""
    if key is None:
        return ""
    if key.startswith(b"\0"):
        return key
    return os.fsdecode(key)


def inet6_address(call: str, address: Any) -> Tuple[str, int, int, int]:
    """An AF_INET6 address ``(host, port[, flowinfo[, scope_id]])``, checked
    as CPython's getsockaddrarg checks it."""
    if not isinstance(address, tuple):
        raise TypeError(
            "%s(): AF_INET6 address must be tuple, not %s"
            % (call, type(address).__name__)
        )
    if not 2 <= len(address) <= 4:
        raise TypeError(
            "AF_INET6 address must be a tuple (host, port[, flowinfo[, scopeid]])"
        )
    host, port = address[0], address[1]
    flowinfo = address[2] if len(address) > 2 else 0
    scope_id = address[3] if len(address) > 3 else 0
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("idna")
    if not isinstance(host, str):
        raise TypeError(
            "str, bytes or bytearray expected, not %s" % type(host).__name__
        )
    for value in (port, flowinfo, scope_id):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(
                "'%s' object cannot be interpreted as an integer"
                % type(value).__name__
            )
    if not 0 <= port <= 65535:
        raise OverflowError("%s(): port must be 0-65535." % call)
    if not 0 <= flowinfo <= 0xFFFFF:
        raise OverflowError("%s(): flowinfo must be 0-1048575." % call)
    if scope_id:
        raise OSError(
            errno.EINVAL,
            "fake_net does not simulate IPv6 scope ids (%s(): scope_id %d): "
            "it has the loopback interface only" % (call, scope_id),
        )
    return host, port, flowinfo, scope_id


def four(addr: Tuple[str, int]) -> Tuple[str, int, int, int]:
    """An internal ``(ip, port)`` as an AF_INET6 socket shows it; an IPv4
    peer of a dual-stack socket appears as ``::ffff:a.b.c.d``."""
    ip = addr[0]
    if ":" not in ip:
        ip = "::ffff:" + ip
    return (ip, addr[1], 0, 0)


# Whether a host string is an IP literal (ipaddress.ip_address accepts it):
# a fact about the string alone, so it is kept for every network; a name's
# address (net.names) is looked up afresh at every call.  Bounded: cleared
# when it holds _LITERALS_MAX strings.
_LITERALS: Dict[str, bool] = {}
_LITERALS_MAX = 4096


def _is_literal(host: Any) -> bool:
    """Whether ``host`` is an IPv4 or IPv6 literal (remembered for strings)."""
    known = _LITERALS.get(host) if type(host) is str else None
    if known is None:
        try:
            ipaddress.ip_address(host)
            known = True
        except ValueError:
            known = False
        if type(host) is str:
            if len(_LITERALS) >= _LITERALS_MAX:
                _LITERALS.clear()
            _LITERALS[host] = known
    return known


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
    local_ip: str
    _host_ctx: Any  # the Host of ``net.on_host()``, or None (fake_net._hosts)
    _hosts: Any  # fake_net._hosts.HostTable, or None

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
        if type(host) is str and _LITERALS.get(host):
            return host  # an IP literal seen before (see _is_literal)
        if host in ("", "0.0.0.0") and bind:
            return "0.0.0.0"
        if host == "":
            return "127.0.0.1"
        if _is_literal(host):
            return host
        ip = self.names.get(host)
        if ip is None:
            # As getaddrinfo() fails for an unknown name.
            raise _socket.gaierror(_socket.EAI_NONAME, "Name or service not known")
        return ip

    def _resolve6(self, host: str, bind: bool = False) -> str:
        """``host`` for an AF_INET6 socket: a canonical IPv6 address.  An
        IPv4 literal fails as getaddrinfo(AF_INET6) fails for it
        (EAI_ADDRFAMILY); so does a name without an IPv6 address in the
        table (EAI_NONAME: "localhost" has none, as on a host whose
        /etc/hosts lacks ::1)."""
        if host == "":
            return "::" if bind else "::1"
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            named = self.names.get(host)
            if named is None or ":" not in named:
                raise _socket.gaierror(
                    _socket.EAI_NONAME, "Name or service not known"
                ) from None
            ip = ipaddress.ip_address(named)
        if ip.version == 4:
            raise _socket.gaierror(
                _socket.EAI_ADDRFAMILY, "Address family for hostname not supported"
            )
        if getattr(ip, "ipv4_mapped", None) is not None:
            raise OSError(
                errno.EAFNOSUPPORT,
                "fake_net does not simulate IPv4-mapped IPv6 addresses (%s): "
                "use an AF_INET socket" % (host,),
            )
        text = ip.compressed
        if text not in ("::", "::1"):
            code = errno.EADDRNOTAVAIL if bind else errno.ENETUNREACH
            raise OSError(
                code,
                "%s: fake_net's hosts have the IPv6 loopback (::1) only, not %s"
                % (os.strerror(code), text),
            )
        return text

    def _port_free(self, ip: str, port: int) -> bool:
        bound = self._bound
        hosts = self._hosts
        if hosts is not None:
            return hosts.port_free(bound, ip, port)
        if ("::", port) in bound:
            return False  # [::] (dual stack) takes the port on every address
        v6 = ":" in ip
        if not v6 and ("0.0.0.0", port) in bound:
            return False
        if ip == "0.0.0.0":
            return not any(p == port and ":" not in i for (i, p) in bound)
        if ip == "::":
            return not any(p == port for (_, p) in bound)
        return (ip, port) not in bound

    def _source_for(self, ip: str) -> str:
        """The source address the route to ``ip`` gives (loopback stays on
        loopback; IPv6 has loopback only)."""
        if ip.startswith("127."):
            return "127.0.0.1"
        if ":" in ip:
            return "::1"
        host = self._host_ctx
        if host is not None:
            return host.ips[0]  # type: ignore[no-any-return]
        return self.local_ip

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
        if ip == "0.0.0.0" and self._host_ctx is not None:
            ip = self._host_ctx.ips[0]  # a declared host's one address
        if port == 0:
            port = self._ephemeral_port(ip)
        elif not self._port_free(ip, port):
            other = (
                self._bound.get((ip, port))
                or self._bound.get(("0.0.0.0", port))
                or self._bound.get(("::", port))
            )
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

    # -- AF_UNIX names --------------------------------------------------------

    def _unix_table(self) -> Dict[bytes, Any]:
        table = self.__dict__.get("_unix_names")
        if table is None:
            table = self.__dict__["_unix_names"] = {}
        return table  # type: ignore[no-any-return]

    def _unix_bind(self, sock: Any, key: bytes) -> None:
        """Bind an AF_UNIX socket to ``key`` (b"": an abstract name of the
        network's choosing, as Linux's autobind)."""
        table = self._unix_table()
        if key == b"":
            for _ in range(1 << 20):
                key = b"\0%05x" % self.random.randrange(1 << 20)
                if key not in table:
                    break
            else:  # pragma: no cover - a million names in use
                raise oserror(errno.ENOSPC)
        if key in table:
            raise oserror(errno.EADDRINUSE)
        table[key] = sock
        sock.local = shown_name(key)

    def _unix_lookup(self, key: bytes) -> Any:
        """The socket bound to ``key``, ``_LEFT`` for a path whose socket
        closed (the file remains), None for a name nobody has."""
        return self._unix_table().get(key)

    def _unix_release(self, key: bytes, sock: Any) -> None:
        """``sock`` (bound to ``key``) closes: an abstract name is free at
        once; a path stays taken (the socket file Linux leaves behind)."""
        table = self._unix_table()
        if table.get(key) is sock:
            if key.startswith(b"\0"):
                del table[key]
            else:
                table[key] = _LEFT

    def unlink(self, path: Any) -> None:
        """Remove the simulated socket file at ``path`` (as ``os.unlink``
        does for a real one), so it can be bound again; FileNotFoundError
        if no socket was ever bound there (or it was unlinked already).
        A socket still open on it keeps working, unnamed to newcomers."""
        key = unix_address("unlink", path)
        table = self._unix_table()
        if key.startswith(b"\0") or key not in table:
            raise FileNotFoundError(
                errno.ENOENT, os.strerror(errno.ENOENT), os.fsdecode(key)
            )
        del table[key]

    def unix_names(self) -> List[Any]:
        """Every AF_UNIX name in use, in the order they were bound."""
        return [shown_name(k) for k in self._unix_table()]


class _LeftBehind:
    """A socket file whose socket closed: binding it is EADDRINUSE,
    connecting to it ECONNREFUSED, until ``net.unlink(path)``."""

    fd = None
    local = None

    def __repr__(self) -> str:
        return "<socket file left behind>"


_LEFT = _LeftBehind()
