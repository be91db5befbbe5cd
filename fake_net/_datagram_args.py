"""The argument checks of the datagram calls, as CPython makes them.

``_datagram`` (and ``_unix``, ``_inet6``) check addresses, payloads, buffers
and flags here before a call touches a socket: the same exceptions, with the
same messages, as CPython's socket module raises for the same arguments.

Rules: pure functions of their arguments (no network, no clock, no random).
"""

from __future__ import annotations

import socket as _socket
from typing import Any, Optional, Tuple

__all__: list = []

Address = Tuple[str, int]

_MSG_NAMES = sorted(
    (int(getattr(_socket, name)), name)
    for name in dir(_socket)
    if name.startswith("MSG_")
)


def _parse_address(call: str, address: Any) -> Tuple[str, int]:
    """An AF_INET address, checked as CPython's getsockaddrarg checks it."""
    if not isinstance(address, tuple):
        raise TypeError(
            "%s(): AF_INET address must be tuple, not %s"
            % (call, type(address).__name__)
        )
    if len(address) != 2:
        raise TypeError("AF_INET address must be a pair (host, port)")
    host, port = address
    if isinstance(host, bytes):
        host = host.decode("idna")
    if not isinstance(host, str):
        raise TypeError(
            "str, bytes or bytearray expected, not %s" % type(host).__name__
        )
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(
            "'%s' object cannot be interpreted as an integer" % type(port).__name__
        )
    if not 0 <= port <= 65535:
        raise OverflowError("%s(): port must be 0-65535." % call)
    return host, port


def _payload(data: Any) -> bytes:
    if type(data) is bytes:
        return data  # type: ignore[no-any-return]
    try:
        return bytes(memoryview(data))
    except TypeError:
        raise TypeError(
            "a bytes-like object is required, not %r" % type(data).__name__
        ) from None


def _into(call: str, buffer: Any, nbytes: int) -> Tuple[memoryview, int]:
    if nbytes < 0:
        raise ValueError("negative buffersize in %s" % call)
    view = memoryview(buffer).cast("B")
    if nbytes == 0:
        nbytes = len(view)
    elif nbytes > len(view):
        raise ValueError("buffer too small for requested bytes")
    return view, nbytes


def _flag_names(bad: int) -> str:
    names = []
    for bit in range(32):
        if bad & (1 << bit):
            named = [n for v, n in _MSG_NAMES if v == 1 << bit]
            names.append(named[0] if named else hex(1 << bit))
    return "|".join(names)


def _fmt(addr: Optional[Address]) -> str:
    return "*:*" if addr is None else "%s:%s" % addr
