"""Which address families and socket types ``FakeNetwork.socket()`` makes.

fake_net simulates ``AF_INET`` (TCP: :class:`~fake_net.FakeSocket`, UDP:
:class:`~fake_net.DatagramSocket`), ``AF_INET6`` (``fake_net._inet6``: the
same sockets with IPv6 addresses, 4-tuples at the surface) and ``AF_UNIX``
(``fake_net._unix``: stream and datagram sockets bound to paths or abstract
names), each ``SOCK_STREAM`` or ``SOCK_DGRAM``.  Anything else is refused as
Linux's socket(2) refuses what it lacks (EAFNOSUPPORT for a family,
EPROTONOSUPPORT/ESOCKTNOSUPPORT for a type, EINVAL for a type it does not
know), with a message naming it: never silently made as IPv4 TCP.

Rules: a pure function of its arguments (no clock, no randomness, no sets).
"""

from __future__ import annotations

import errno
import os
import socket as _socket
from typing import TYPE_CHECKING, Any, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from fake_net._network import FakeNetwork

__all__ = ["FAMILIES", "family_socket", "socket_kind"]

_AF_UNIX = int(getattr(_socket, "AF_UNIX", 1))
#: The families fake_net simulates.
FAMILIES = (int(_socket.AF_INET), int(_socket.AF_INET6), _AF_UNIX)

_NONBLOCK = int(getattr(_socket, "SOCK_NONBLOCK", 0))
_CLOEXEC = int(getattr(_socket, "SOCK_CLOEXEC", 0))
_KNOWN_TYPES = {
    int(getattr(_socket, name)): name
    for name in ("SOCK_RAW", "SOCK_SEQPACKET", "SOCK_RDM", "SOCK_PACKET")
    if hasattr(_socket, name)
}


def socket_kind(family: int, type: int) -> Tuple[int, bool]:
    """``(SOCK_STREAM or SOCK_DGRAM, nonblocking)`` for a ``socket(family,
    type)`` fake_net simulates; anything else is an ``OSError`` with Linux's
    errno and a message naming what is not simulated."""
    kind = int(type) & ~(_NONBLOCK | _CLOEXEC)
    if int(family) not in FAMILIES:
        try:
            name = _socket.AddressFamily(family).name
        except ValueError:
            name = "address family %r" % (family,)
        raise OSError(
            errno.EAFNOSUPPORT,
            "Address family not supported by protocol: fake_net simulates "
            "AF_INET, AF_INET6 and AF_UNIX only, not %s" % (name,),
        )
    if kind in (_socket.SOCK_STREAM, _socket.SOCK_DGRAM):
        return kind, bool(int(type) & _NONBLOCK)
    type_name = _KNOWN_TYPES.get(kind)
    if type_name is None:
        raise OSError(
            errno.EINVAL, "Invalid argument: unknown socket type %r" % (type,)
        )
    code = errno.EPROTONOSUPPORT if type_name == "SOCK_RAW" else errno.ESOCKTNOSUPPORT
    raise OSError(
        code,
        "%s: fake_net simulates SOCK_STREAM and SOCK_DGRAM only, not %s"
        % (os.strerror(code), type_name),
    )


def family_socket(net: "FakeNetwork", family: int, kind: int) -> Any:
    """A new (descriptor-less) AF_INET6 or AF_UNIX socket of ``kind``."""
    from fake_net._inet6 import Inet6DatagramSocket, Inet6StreamSocket
    from fake_net._unix import UnixDatagramSocket, UnixStreamSocket

    if int(family) == _AF_UNIX:
        if kind == _socket.SOCK_DGRAM:
            return UnixDatagramSocket(net, family, kind)
        return UnixStreamSocket(net, family, kind, None)
    if kind == _socket.SOCK_DGRAM:
        return Inet6DatagramSocket(net, family, kind)
    return Inet6StreamSocket(net, family, kind, None)
