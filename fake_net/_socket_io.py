"""The rest of the socket surface, for code that is not asyncore.

Blocking stdlib clients (``smtplib``, ``ftplib``, ``http.client``) use more of
a socket than asyncore does: ``makefile()`` (read through ``recv_into``),
``recvfrom``, ``sendfile``, timeouts set with ``settimeout``, and a close
that waits for the socket's files to close.  This mixin gives
:class:`~fake_net.FakeSocket` those calls on top of its own ``recv``/``send``,
with CPython 3.11's semantics:

* ``makefile()`` is CPython's own ``socket.socket.makefile``, run on this
  socket: the raw stream is ``socket.SocketIO``, which reads with
  ``recv_into`` and writes with ``send``;
* ``close()`` with a file still open only marks the socket closed; the
  descriptor goes when the last file is closed (``_io_refs``, as
  ``socket.socket`` does);
* ``settimeout`` accepts what CPython accepts and raises what it raises.

Rules: nothing here reads a clock or draws randomness; every wait happens in
the socket's own blocking calls (virtual time, see ``_waits``).
"""

from __future__ import annotations

import errno
import math
import operator
import socket as _socket
from typing import TYPE_CHECKING, Any, Callable, Optional, Tuple

from fake_net._errors import oserror

if TYPE_CHECKING:  # pragma: no cover
    from fake_net._network import FakeNetwork

__all__ = ["_SocketIO", "send_file_through"]

_SENDFILE_CHUNK = 65536
# Taken now: inside a simulated world, socket.socket is the world's.
_MAKEFILE = _socket.socket.makefile


def _parse_timeout(value: Any) -> Optional[float]:
    """CPython's socket timeout rules (socketmodule.c, socket_parse_timeout)."""
    if value is None:
        return None
    if isinstance(value, float):
        seconds = value
    else:
        seconds = float(operator.index(value))  # TypeError as CPython's
    if math.isnan(seconds):
        raise ValueError("Invalid value NaN (not a number)")
    if seconds < 0:
        raise ValueError("Timeout value out of range")
    return seconds


def send_file_through(
    sendall: Callable[[bytes], None], file: Any, offset: int, count: Optional[int]
) -> int:
    """The loop of ``socket.socket.sendfile``'s send() fallback: ``count``
    bytes (None: to the end) of ``file`` from ``offset``, in chunks, each
    through ``sendall``; the file is left just past what was sent."""
    if offset:
        file.seek(offset)
    total = 0
    try:
        while count is None or total < count:
            size = _SENDFILE_CHUNK if count is None else min(
                _SENDFILE_CHUNK, count - total
            )
            data = file.read(size)
            if not data:
                break
            sendall(data)
            total += len(data)
        return total
    finally:
        if total > 0 and hasattr(file, "seek"):
            file.seek(offset + total)


class _SocketIO:
    """makefile, recv_into, recvfrom, sendfile, timeouts, deferred close."""

    # Files made by makefile() still open; close() was called.
    __slots__ = ("_io_refs", "_closed")
    _io_refs: int
    _closed: bool

    # From FakeSocket.
    net: "FakeNetwork"
    fd: Optional[int]
    timeout: Optional[float]

    recv: Callable[..., bytes]
    send: Callable[..., int]
    sendall: Callable[..., None]
    _check_open: Callable[[], None]
    _real_close: Callable[[], None]

    # -- timeouts -----------------------------------------------------------

    def settimeout(self, value: Optional[float]) -> None:
        timeout = _parse_timeout(value)
        self._check_open()  # as setblocking(): fcntl() on a closed fd
        self.timeout = timeout  # type: ignore[misc]  # a FakeSocket slot

    # -- reading into buffers -------------------------------------------------

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        if nbytes < 0:
            raise ValueError("negative buffersize in recv_into")
        view = memoryview(buffer).cast("B")
        if nbytes == 0:
            nbytes = len(view)
        elif nbytes > len(view):
            raise ValueError("buffer too small for requested bytes")
        data = self.recv(nbytes, flags)
        n = len(data)
        view[:n] = data
        return n

    def recvfrom(self, bufsize: int, flags: int = 0) -> Tuple[bytes, Any]:
        # Linux gives no address for a TCP recvfrom(): CPython returns None.
        return self.recv(bufsize, flags), None

    def recvfrom_into(
        self, buffer: Any, nbytes: int = 0, flags: int = 0
    ) -> Tuple[int, Any]:
        return self.recv_into(buffer, nbytes, flags), None

    # -- files ----------------------------------------------------------------

    def makefile(
        self,
        mode: str = "r",
        buffering: Optional[int] = None,
        *,
        encoding: Optional[str] = None,
        errors: Optional[str] = None,
        newline: Optional[str] = None,
    ) -> Any:
        """As ``socket.socket.makefile`` (it is that function, run on this socket)."""
        return _MAKEFILE(  # type: ignore[call-overload]
            self, mode, buffering, encoding=encoding, errors=errors, newline=newline
        )

    def _decref_socketios(self) -> None:
        # Called by socket.SocketIO.close(), as on a real socket.
        if self._io_refs > 0:
            self._io_refs -= 1
        if self._closed:
            self._real_close()

    def close(self) -> None:
        # socket.socket.close(): the descriptor stays open while a file made
        # by makefile() is open.
        self._closed = True
        if self._io_refs <= 0:
            self._real_close()

    def sendfile(self, file: Any, offset: int = 0, count: Optional[int] = None) -> int:
        """As ``socket.socket.sendfile`` (its send() fallback: the data go
        through send(), so fault rules see them)."""
        if "b" not in getattr(file, "mode", "b"):
            raise ValueError("file should be opened in binary mode")
        if self.timeout == 0.0:
            raise ValueError("non-blocking sockets are not supported")
        if count is not None:
            if not isinstance(count, int):
                raise TypeError("count must be a positive integer (got %r)" % (count,))
            if count <= 0:
                raise ValueError("count must be a positive integer (got %r)" % (count,))
        return send_file_through(self.sendall, file, offset, count)

    def dup(self) -> Any:
        # A second descriptor for one socket is not simulated yet.
        raise oserror(errno.EOPNOTSUPP)
