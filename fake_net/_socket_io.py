"""The rest of the socket surface, for code that is not asyncore.

Blocking stdlib clients (``smtplib``, ``ftplib``, ``http.client``) use more of
a socket than asyncore does: ``makefile()`` (read through ``recv_into``),
``recvfrom``, ``sendall``, ``sendfile``, timeouts set with ``settimeout``, and a close
that waits for the socket's files to close.  This mixin gives
:class:`~fake_net.FakeSocket` those calls on top of its own ``recv``/``send``,
with CPython 3.11's semantics, and ``recv()`` with flags (MSG_OOB, MSG_PEEK,
MSG_DONTWAIT; any other flag is refused, ``_unsimulated``):

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
# Plain ints: a flag test against socket.MSG_OOB (an IntFlag) costs 40x more.
_MSG_OOB = int(_socket.MSG_OOB)
_MSG_PEEK = int(_socket.MSG_PEEK)
_MSG_DONTWAIT = int(_socket.MSG_DONTWAIT)
# The recv() flags fake_net simulates (see _recv_flags).
_RECV_FLAGS = _MSG_OOB | _MSG_PEEK | _MSG_DONTWAIT
# Flag names, for the error that refuses a flag fake_net does not simulate.
_MSG_NAMES = sorted(
    (int(getattr(_socket, name)), name)
    for name in dir(_socket)
    if name.startswith("MSG_")
)
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
    _room: Callable[[], int]
    _check_open: Callable[[], None]
    _real_close: Callable[[], None]
    state: str
    rbuf: Any  # see FakeSocket.rbuf
    eof_in: bool
    oob: Optional[bytes]
    oob_mark: Optional[int]
    _refresh: Callable[[], None]
    _step_over_mark: Callable[[], None]
    _recv_nothing: Callable[[int, int, bool], bytes]

    # -- timeouts -----------------------------------------------------------

    def settimeout(self, value: Optional[float]) -> None:
        timeout = _parse_timeout(value)
        self._check_open()  # as setblocking(): fcntl() on a closed fd
        self.timeout = timeout  # type: ignore[misc]  # a FakeSocket slot

    # -- sending it all -------------------------------------------------------

    def sendall(self, data: Any, flags: int = 0) -> None:
        view = memoryview(data)
        while view:
            try:
                sent = self.send(view, flags)
            except BlockingIOError:
                if self.timeout == 0.0 or flags & _MSG_DONTWAIT:
                    raise
                self.net._would_block(
                    self,  # type: ignore[arg-type]  # a FakeSocket (the mixin's host)
                    "sendall",
                    lambda: self._room() > 0,
                    raise_eagain=False,
                )
                continue
            view = view[sent:]

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

    # -- recv() with flags -----------------------------------------------------

    def _recv_flags(self, bufsize: int, flags: int) -> bytes:
        """recv() with flags: MSG_OOB, MSG_PEEK and MSG_DONTWAIT are
        simulated; any other flag is refused (see DIFFERENCES)."""
        if flags & ~_RECV_FLAGS:
            raise _unsimulated("recv", flags & ~_RECV_FLAGS, _RECV_FLAGS)
        net = self.net
        if flags & _MSG_OOB:
            if self.oob is None:
                net._log_event("error", self.fd, ("recv", "EINVAL"))
                raise oserror(errno.EINVAL)
            if self.state == "closed" and not self.eof_in:
                # Linux (tcp_recv_urg): a reset socket that never saw a FIN.
                net._log_event("error", self.fd, ("recv", "ENOTCONN"))
                raise oserror(errno.ENOTCONN)
            data = self.oob
            if flags & _MSG_PEEK:
                # Linux (tcp_recv_urg): MSG_PEEK leaves the urgent byte.
                net._log_event("oob_peek", self.fd, (bufsize, data))
                return data
            self.oob = None  # type: ignore[misc]  # a FakeSocket slot
            net._log_event("oob_recv", self.fd, (bufsize, data))
            self._refresh()
            return data
        if not flags & _MSG_PEEK:
            # MSG_DONTWAIT alone: this one call does not block.
            if self.rbuf or self.timeout == 0.0:
                return self.recv(bufsize)
            if self.oob_mark == 0:
                self._step_over_mark()
            return self._recv_nothing(bufsize, 0, False)
        rbuf = self.rbuf
        if rbuf:
            # Linux (tcp_recvmsg with MSG_PEEK): the data stay queued (and
            # readiness with them); a peek at the urgent mark skips the
            # urgent byte without losing it, one before it stops there.
            k = len(rbuf) if bufsize > len(rbuf) else bufsize
            mark = self.oob_mark
            if mark and k > mark:
                k = mark
            data = bytes(memoryview(rbuf)[:k])
            net._log_event("peek", self.fd, (bufsize, data))
            return data
        return self._recv_nothing(
            bufsize, flags, self.timeout != 0.0 and not flags & _MSG_DONTWAIT
        )

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


def _unsimulated(call: str, bad: int, simulated: int) -> OSError:
    """The error for flags fake_net does not simulate (Linux ignores some of
    them and acts on others: neither can be done silently here)."""
    names = []
    for bit in range(32):
        if bad & (1 << bit):
            named = [n for v, n in _MSG_NAMES if v == 1 << bit]
            names.append(named[0] if named else hex(1 << bit))
    known = [n for v, n in _MSG_NAMES if v & simulated and v & (v - 1) == 0]
    exc = OSError(
        errno.EOPNOTSUPP,
        "fake_net does not simulate the %s() flag %s (it simulates %s)"
        % (call, "|".join(names), ", ".join(known)),
    )
    return exc
