"""AF_INET6 sockets of the simulated network: TCP and UDP over ``::1``.

``net.socket(AF_INET6, SOCK_STREAM)`` makes an :class:`Inet6StreamSocket`
and ``net.socket(AF_INET6, SOCK_DGRAM)`` an :class:`Inet6DatagramSocket`:
the IPv4 sockets' behaviour (``_socket``, ``_datagram``) with IPv6
addresses.  Inside, an address is ``(ip, port)`` with the canonical IPv6
text (``"::1"``), in the same binding tables as IPv4 (``_addresses``); at
the surface (``getsockname``, ``getpeername``, ``accept``, ``recvfrom``) it
is Linux's 4-tuple ``(host, port, flowinfo, scope_id)``, and calls take a
2-, 3- or 4-tuple, checked as CPython checks them.

As on Linux: an unbound socket is ``('::', 0, 0, 0)``; a socket bound to
``::`` takes its port on every address of both families (dual stack), and
an IPv4 client connecting to it is accepted as ``::ffff:a.b.c.d``; an IPv6
socket connecting to a port only an IPv4 socket listens on is refused; an
IPv4 literal is EAI_ADDRFAMILY.  The simulated hosts have the IPv6 loopback
only: another IPv6 address is ENETUNREACH (EADDRNOTAVAIL to bind), an
IPv4-mapped one, a scope id or a flow label are refused by name.

Rules: this module never reads the clock nor draws randomness (the sockets
it extends do, from the network), never iterates a set.
"""

from __future__ import annotations

import errno
from typing import Any, List, Tuple

from fake_net._addresses import four, inet6_address
from fake_net._datagram import DatagramSocket, _udp_ports
from fake_net._errors import oserror
from fake_net._socket import FakeSocket

__all__ = ["Inet6DatagramSocket", "Inet6StreamSocket"]

_ANY6 = ("::", 0, 0, 0)


def _no_flowinfo(call: str, flowinfo: int) -> None:
    if flowinfo:
        raise OSError(
            errno.EINVAL,
            "fake_net does not simulate IPv6 flow labels (%s(): flowinfo %d)"
            % (call, flowinfo),
        )


class Inet6StreamSocket(FakeSocket):
    """A TCP socket over IPv6 (``net.socket(AF_INET6, SOCK_STREAM)``)."""

    __slots__ = ()

    def getsockname(self) -> Any:
        self._check_open()
        return four(self.local) if self.local is not None else _ANY6

    def getpeername(self) -> Any:
        return four(FakeSocket.getpeername(self))

    def bind(self, address: Any) -> None:
        host, port, flowinfo, _ = inet6_address("bind", address)
        self._check_open()
        if self.local is not None:
            raise oserror(errno.EINVAL)
        self.net._bind(self, self.net._resolve6(host, bind=True), port)
        self.net._log_event("bind", self.fd, (self.local,))

    def listen(self, backlog: int = 128) -> None:
        self._check_open()
        if self.local is None and self.state == "new":
            self.net._bind(self, "::", 0)
        FakeSocket.listen(self, backlog)

    def accept(self) -> Any:
        conn, addr = FakeSocket.accept(self)
        return conn, four(addr)

    def connect_ex(self, address: Any) -> int:
        host, port, flowinfo, _ = inet6_address("connect", address)
        _no_flowinfo("connect", flowinfo)
        if self.fd is None:
            return errno.EBADF
        ip = self.net._resolve6(host)
        if ip == "::":
            ip = "::1"  # Linux: connecting to the unspecified address is loopback
        return FakeSocket.connect_ex(self, (ip, port))


class Inet6DatagramSocket(DatagramSocket):
    """A UDP socket over IPv6 (``net.socket(AF_INET6, SOCK_DGRAM)``)."""

    __slots__ = ()

    kind = "udp6"
    _any = "::"
    _max_payload = 65527  # 65,535 - 8 (UDP): IPv6's header is not counted

    def __repr__(self) -> str:
        return "<Inet6DatagramSocket fd=%s local=%s remote=%s>" % (
            self.fd,
            self.local,
            self.remote,
        )

    def getsockname(self) -> Any:
        self._check_open()
        return four(self.local) if self.local is not None else _ANY6

    def getpeername(self) -> Any:
        return four(DatagramSocket.getpeername(self))

    def _dest(self, call: str, address: Any) -> Tuple[str, int]:
        host, port, flowinfo, _ = inet6_address(call, address)
        _no_flowinfo(call, flowinfo)
        ip = self.net._resolve6(host)
        return ("::1" if ip == "::" else ip), port

    def bind(self, address: Any) -> None:
        host, port, _, _ = inet6_address("bind", address)
        self._check_open()
        if self.local is not None:
            raise oserror(errno.EINVAL)
        self._bind(self.net._resolve6(host, bind=True), port)
        self.net._log_event("bind", self.fd, (self.local,))

    def connect_ex(self, address: Any) -> int:
        dest = self._dest("connect", address)
        if self.fd is None:
            return errno.EBADF
        if self.local is None:
            self._bind("::1", 0)
        elif self.local[0] == "::":
            # Linux: connect() fixes the receive address to the route's source.
            table = _udp_ports(self.net)
            del table[self.local]
            self.local = ("::1", self.local[1])
            table[self.local] = self
        self.remote = dest
        self.net._log_event("connect", self.fd, (self.remote,))
        self._refresh()
        return 0

    def recvfrom(self, bufsize: int, flags: int = 0) -> Tuple[bytes, Any]:
        data, src = DatagramSocket.recvfrom(self, bufsize, flags)
        return data, four(src)

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> Any:
        n, src = DatagramSocket.recvfrom_into(self, buffer, nbytes, flags)
        return n, four(src)

    def recvmsg(
        self, bufsize: int, ancbufsize: int = 0, flags: int = 0
    ) -> Tuple[bytes, List[Any], int, Any]:
        data, anc, msg_flags, src = DatagramSocket.recvmsg(
            self, bufsize, ancbufsize, flags
        )
        return data, anc, msg_flags, four(src)
