"""The world's ``socket`` module names: simulated sockets and names.

``socket.socket(...)`` makes a simulated TCP or UDP socket, IPv4 or IPv6, or
an AF_UNIX one (``isinstance(s, socket.socket)`` holds for all);
``socketpair(AF_UNIX, type)`` a connected Unix pair (with no family, the TCP
pair fake_net has always given); ``getaddrinfo`` answers SOCK_STREAM and
SOCK_DGRAM as glibc does, for AF_INET and AF_INET6, and refuses other types
as glibc does.
"""

from __future__ import annotations

import socket
import sys
import threading
from typing import TYPE_CHECKING, Any, Optional

import asyncore_seam as _seam
from fake_net._datagram import DatagramSocket
from fake_net._errors import RealSocketForbidden
from fake_net._world import _state
from fake_net._socket import FakeSocket
from fake_net._world._state import (
    _REAL,
    _REAL_SOCKET,
    StandIn,
    _called_by_runner,
    _in_world,
)

if TYPE_CHECKING:  # pragma: no cover
    pass


class WorldSocket(metaclass=StandIn):
    """``socket.socket`` inside a world: makes a simulated socket."""

    _stands_for = (_REAL_SOCKET, FakeSocket, DatagramSocket)  # and subclasses

    def __new__(  # type: ignore[misc]
        cls,
        family: int = -1,
        type: int = -1,
        proto: int = -1,
        fileno: Optional[int] = None,
    ) -> Any:
        w = _state._world
        if w is None or _called_by_runner(2):
            return _REAL_SOCKET(family, type, proto, fileno)
        if fileno is not None and (
            threading.get_ident() != w.thread
            or sys._getframe(1).f_globals.get("__name__") == "socket"
        ):
            # A real socket's own accept() or dup() (socket.py wraps the
            # kernel's new descriptor with socket(..., fileno=fd)), or
            # another thread wrapping a descriptor it has: real, as it was.
            return _REAL_SOCKET(family, type, proto, fileno)
        if threading.get_ident() != w.thread:
            raise w.other_thread("socket.socket()")
        if fileno is not None:
            raise RealSocketForbidden(
                "socket.socket(fileno=%r) inside a simulation: a descriptor "
                "cannot be adopted into the simulated world" % (fileno,)
            )
        if family == -1:
            family = socket.AF_INET
        if type == -1:
            type = socket.SOCK_STREAM
        sock: Any = _seam.current_network().socket(family, type)
        timeout = socket.getdefaulttimeout()
        if timeout is not None:
            sock.settimeout(timeout)
        return sock


def _socketpair(family: Any = None, type: int = -1, proto: int = 0) -> Any:
    w = _in_world()
    if w is None:
        return _REAL["socket.socketpair"](
            socket.AF_UNIX if family is None else family,
            socket.SOCK_STREAM if type == -1 else type,
            proto,
        )
    refuse = getattr(w.net, "_refuse_socketpair", None)
    if refuse is not None:  # a replay: it has no record of pairs
        raise refuse()
    if family is None or int(family) == socket.AF_UNIX:
        # Linux's default family for socketpair() is AF_UNIX, as CPython's.
        from fake_net._unix import unix_socketpair

        a, b = unix_socketpair(w.net, socket.SOCK_STREAM if type == -1 else type)
        return a, b
    # socketpair(AF_INET): the TCP pair on 127.0.0.1 (Linux refuses it:
    # see DIFFERENCES["socketpair_family"]).
    return w.net.socketpair()


def _getaddrinfo(
    host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
) -> Any:
    w = _in_world()
    if w is None:
        return _REAL["socket.getaddrinfo"](host, port, family, type, proto, flags)
    if isinstance(host, bytes):
        host = host.decode("idna")
    if w.net.allow_real:
        key = w.net._allowed(host, _port_number(port))
        if key is not None:  # a real service the test allowed
            return w.net._resolve_real(key, family, type, proto, flags)
    if host is None:
        host = "127.0.0.1" if not flags & socket.AI_PASSIVE else "0.0.0.0"
    if port is None:
        port = 0
    elif isinstance(port, (str, bytes)):
        text = port.decode() if isinstance(port, bytes) else port
        if not text.isdigit():
            raise socket.gaierror(
                socket.EAI_SERVICE, "Servname not supported for ai_socktype"
            )
        port = int(text)
    if family == socket.AF_INET6:
        _check_socktype(type, proto)
        return _getaddrinfo6(w.net, host, port, type, proto, flags)
    if family not in (0, socket.AF_UNSPEC, socket.AF_INET):
        raise socket.gaierror(socket.EAI_FAMILY, "ai_family not supported")
    _check_socktype(type, proto)
    return w.net.getaddrinfo(host, port, family, type, proto, flags)


def _getaddrinfo6(net: Any, host: str, port: int, type: int, proto: int,
                  flags: int) -> Any:
    """getaddrinfo(AF_INET6): the IPv6 address ``host`` names (a literal, or
    a name the table gives an IPv6 address), as glibc answers it."""
    if host == "127.0.0.1" and flags & socket.AI_PASSIVE == 0:
        host = "::1"  # the default host (None) for AF_INET6
    elif host == "0.0.0.0":
        host = "::"
    ip = net._resolve6(host, bind=True)
    kinds = []
    if type in (0, socket.SOCK_STREAM) and proto in (0, _TCP):
        kinds.append((socket.SOCK_STREAM, _TCP))
    if type in (0, socket.SOCK_DGRAM) and proto in (0, _UDP):
        kinds.append((socket.SOCK_DGRAM, _UDP))
    return [
        (socket.AF_INET6, kind, pr, "", (ip, port, 0, 0)) for kind, pr in kinds
    ]


# glibc's pairs of socket type and protocol (what type 0 or proto 0 stands for).
_TCP, _UDP = 6, 17


def _check_socktype(type: int, proto: int) -> None:
    """Refuse a socket type or protocol as glibc's getaddrinfo() does: a pair
    that does not go together is EAI_SOCKTYPE, a type (SOCK_RAW, ...) or a
    protocol it has no service for is EAI_SERVICE.  (Type 0 answers
    SOCK_STREAM only, for now: see conformance DIFFERENCES.)"""
    if type in (0, socket.SOCK_STREAM, socket.SOCK_DGRAM):
        if proto in (0, _TCP, _UDP):
            if (type == socket.SOCK_STREAM and proto == _UDP) or (
                type == socket.SOCK_DGRAM and proto == _TCP
            ):
                raise socket.gaierror(socket.EAI_SOCKTYPE, "ai_socktype not supported")
            return
    raise socket.gaierror(socket.EAI_SERVICE, "Servname not supported for ai_socktype")


def _port_number(port: Any) -> Any:
    if isinstance(port, bytes):
        port = port.decode("ascii", "replace")
    if isinstance(port, str) and port.isdigit():
        return int(port)
    return port


def _gethostbyname(name: str) -> str:
    w = _in_world()
    if w is None:
        return _REAL["socket.gethostbyname"](name)  # type: ignore[no-any-return]
    if name == w.net.hostname:
        return w.net.local_ip
    return w.net._resolve(name)


def _gethostname() -> str:
    w = _in_world()
    if w is None:
        return _REAL["socket.gethostname"]()  # type: ignore[no-any-return]
    return w.net.hostname


def _getfqdn(name: str = "") -> str:
    w = _in_world()
    if w is None:
        return _REAL["socket.getfqdn"](name)  # type: ignore[no-any-return]
    name = name.strip()
    if not name or name in ("0.0.0.0", "::", w.net.local_ip):
        return w.net.hostname
    return name


def _fromfd(fd: int, family: int, type: int, proto: int = 0) -> Any:
    w = _in_world()
    if w is None:
        return _REAL["socket.fromfd"](fd, family, type, proto)
    raise RealSocketForbidden(
        "socket.fromfd(%r) inside a simulation: a descriptor cannot be adopted "
        "into the simulated world" % (fd,)
    )
