"""Real connections a test allowed: ``FakeNetwork(allow_real=["127.0.0.1:5432"])``.

Inside the simulated world every ``socket.socket()`` is a simulated socket.
A test whose program also talks to a real service (a database on loopback)
names that service's addresses in ``allow_real``; a simulated socket that
connects to one of them becomes, at that moment, a handle on a real socket
of the kernel:

* the simulated descriptor is released, the real socket made (with the
  simulated one's family, type, timeout and options) and connected, and from
  then on every call on the object goes to the real socket (``fileno()`` is
  the real descriptor, ``recv`` blocks on the kernel);
* virtual time does not move while it waits: a timeout on it is in real
  seconds, and what it carries is not recorded by the network;
* the world's ``select``/``poll``/``epoll`` wait on the kernel when every
  descriptor they are given is such a real one; a call that mixes them with
  simulated descriptors is an error (one thread cannot wait on both).

Only a socket that is not bound yet can become real (a simulated bind, as
``create_connection(..., source_address=...)`` makes, names a simulated
address the kernel does not have): that is refused, naming the address.
``getaddrinfo`` of an allowed ``host:port`` asks the real resolver.

Rules: the allowed set is a tuple kept in the order given; a connection to
an address not in it stays simulated (refused as the simulation refuses it).
"""

from __future__ import annotations

import socket as _socket
from typing import TYPE_CHECKING, Any, Dict, Iterable, Optional, Tuple

from fake_net._errors import RealSocketForbidden
from fake_net._socket import FakeSocket

if TYPE_CHECKING:  # pragma: no cover
    pass

__all__ = ["RealConnection", "parse_allow_real"]

# Taken at import: inside a world, socket.socket is the world's stand-in.
_REAL_SOCKET = _socket.socket
_REAL_GETADDRINFO = _socket.getaddrinfo


def parse_allow_real(entries: Iterable[Any]) -> Tuple[Tuple[str, int], ...]:
    """``["127.0.0.1:5432", ("db", 5432)]`` as ``(("127.0.0.1", 5432), ("db",
    5432))``; a malformed entry is a ``ValueError`` naming it."""
    if isinstance(entries, (str, bytes)):
        raise TypeError(
            "allow_real must be a list of 'host:port' entries, not the string %r"
            % (entries,)
        )
    out = []
    for entry in entries:
        if isinstance(entry, str):
            host, sep, port_text = entry.rpartition(":")
            if not sep or not host or not port_text.isdigit():
                raise ValueError(
                    "allow_real entry %r: expected 'host:port', e.g. "
                    "'127.0.0.1:5432'" % (entry,)
                )
            if host.startswith("[") and host.endswith("]"):
                host = host[1:-1]
            port = int(port_text)
        elif isinstance(entry, tuple) and len(entry) == 2:
            host, port = entry
            if not isinstance(host, str) or isinstance(port, bool) or not isinstance(
                port, int
            ):
                raise ValueError(
                    "allow_real entry %r: expected (host, port)" % (entry,)
                )
        else:
            raise ValueError(
                "allow_real entry %r: expected 'host:port' or (host, port)" % (entry,)
            )
        if not 0 < port < 65536:
            raise ValueError("allow_real entry %r: port out of range" % (entry,))
        out.append((host.lower(), port))
    return tuple(out)


class RealConnection(FakeSocket):
    """A simulated socket that connected to an allowed real address: every
    call goes to the kernel's socket (see the module's doc).

    It is the same object the program made (``sock.__class__`` changed, so
    the program's references stay good); its FakeSocket slot ``_real`` holds
    ``(real socket, (host, port))``.
    """

    __slots__ = ()

    @property
    def real_sock(self) -> Any:
        """The kernel's socket."""
        return object.__getattribute__(self, "_real")[0]

    @property
    def allowed_as(self) -> Tuple[str, int]:
        """The ``allow_real`` entry it connected to."""
        return object.__getattribute__(self, "_real")[1]  # type: ignore[no-any-return]

    def __getattribute__(self, name: str) -> Any:
        if name in _OWN:
            return object.__getattribute__(self, name)
        return getattr(object.__getattribute__(self, "_real")[0], name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(object.__getattribute__(self, "_real")[0], name, value)

    def __repr__(self) -> str:
        real, (host, port) = object.__getattribute__(self, "_real")
        return "<RealConnection to %s:%d (allowed real): %r>" % (host, port, real)

    def __enter__(self) -> "RealConnection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.real_sock.close()


_OWN = frozenset(("__class__", "_real", "real_sock", "allowed_as"))


class _PassThrough:
    """FakeNetwork's part for allowed real connections."""

    allow_real: Tuple[Tuple[str, int], ...]
    # What allowed names resolved to (real getaddrinfo): (ip, port) -> entry.
    _allow_resolved: Dict[Tuple[str, int], Tuple[str, int]]
    _real_fds: Dict[int, RealConnection]  # real fd -> its handle

    def _allowed(self, host: Any, port: Any) -> Optional[Tuple[str, int]]:
        """The ``allow_real`` entry that ``(host, port)`` is, or None."""
        if not self.allow_real or not isinstance(host, str):
            return None
        key = (host.lower(), port)
        if key in self.allow_real:
            return key
        return self._allow_resolved.get(key)

    def _resolve_real(
        self, key: Tuple[str, int], family: int, type: int, proto: int, flags: int
    ) -> Any:
        """``getaddrinfo`` of an allowed name, by the real resolver (IPv4, as
        the simulated sockets are); remembers what it resolved to."""
        answers = _REAL_GETADDRINFO(
            key[0], key[1], family or _socket.AF_INET, type, proto, flags
        )
        for answer in answers:
            sockaddr = answer[4]
            self._allow_resolved.setdefault((str(sockaddr[0]), int(sockaddr[1])), key)
        return answers

    def _connect_real(
        self, sock: FakeSocket, key: Tuple[str, int], address: Tuple[str, int]
    ) -> int:
        """``sock.connect_ex(address)`` to an allowed address: ``sock``
        becomes a :class:`RealConnection`; returns connect_ex's errno."""
        if sock.local is not None:
            raise RealSocketForbidden(
                "connect to %s:%d (allowed real): the socket is bound to the "
                "simulated address %s:%d, which the kernel does not have; "
                "connect without binding (no source_address)"
                % (key[0], key[1], sock.local[0], sock.local[1])
            )
        net: Any = self
        real = _REAL_SOCKET(int(sock.family), int(sock.type))
        try:
            for (level, name), value in list(sock.opts.items()):
                real.setsockopt(level, name, value)
            real.settimeout(sock.timeout)
            err = real.connect_ex(address)
        except BaseException:
            real.close()
            raise
        fd = sock.fd
        if fd is not None:
            net._log_event("real", fd, ("%s:%d" % key,))
            net._release_fd(fd, sock)
        sock.fd = None
        sock.state = "closed"
        sock._real = (real, key)  # type: ignore[attr-defined]  # its slot
        sock.__class__ = RealConnection
        handle: Any = sock
        self._real_fds[real.fileno()] = handle
        return err

    def _real_connection(self, fd: int) -> Optional[RealConnection]:
        """The allowed real connection whose kernel descriptor is ``fd``."""
        handle = self._real_fds.get(fd)
        if handle is None:
            return None
        if handle.real_sock.fileno() != fd:  # closed since (or reused)
            del self._real_fds[fd]
            return None
        return handle
