"""Recording: a network wrapper that writes every I/O event and callback of a run.

Rules (recording must stay deterministic): descriptors are renumbered lowest
free from 3, as POSIX allocates; time is read from the wrapped network only
when a wait or sleep returns; nothing recorded depends on ``id()``.
"""

from __future__ import annotations

import errno as _errno
import socket as _socket
from typing import (
    Any,
    Dict,
    List,
    Optional,
    Sequence,
    Tuple,
)


import asyncore_seam as _seam

from asyncore_sim.trace._format import Trace, TraceEvent
from asyncore_sim.trace._values import (
    _err_value,
    addr_value,
    readiness_text,
    shutdown_args,
    size_args,
    socket_args,
    sockopt_args,
)

__all__ = ["Recorder", "TracingPoller", "TracingSocket"]


class Recorder:
    """Records a run on any network (real, fake, or a replay) as a trace.

    Use it as the network: ``with Recorder(net) as rec:`` makes it current
    (dispatchers on the default map use it), ``rec.map()`` gives a map bound
    to it.  While it is active, the dispatcher core reports every callback to
    it.  ``rec.trace`` is the :class:`Trace` so far.
    """

    def __init__(
        self, network: Any = None, header: Optional[Dict[str, str]] = None
    ) -> None:
        if network is None:
            from asyncore_seam import current_network

            network = current_network()
        self.inner = network
        self.name = getattr(network, "name", type(network).__name__)
        self.trace = Trace(header=dict(header or {}))
        self.trace.header.setdefault("network", self.name)
        self.events = self.trace.events
        self._t0 = network.monotonic()
        self.now = 0.0
        self._fds: Dict[int, int] = {}  # the network's fd -> trace fd
        self._used: List[int] = []
        self._stack: List[Any] = []

    def __repr__(self) -> str:
        return "Recorder(%r, %d events)" % (self.inner, len(self.events))

    # -- activation ---------------------------------------------------------

    def __enter__(self) -> "Recorder":
        from asyncore_sim import asyncore

        if asyncore._tracer is not None:
            raise RuntimeError("another Recorder is already active")
        inner_enter = getattr(self.inner, "__enter__", None)
        already_active = bool(getattr(self.inner, "active", False))
        real = self.inner.name == "real"
        if inner_enter is not None and not real and not already_active:
            # (A network already active, as inside simulate(record=False),
            # stays as it is: the recorder only wraps it.)
            inner_enter()
            self._stack.append(self.inner)
        self._stack.append(_seam.push_current(self))
        asyncore._tracer = self
        return self

    def __exit__(self, *exc: Any) -> None:
        from asyncore_sim import asyncore

        asyncore._tracer = None
        _seam.pop_current(self._stack.pop())
        if self._stack:
            self._stack.pop().__exit__(*exc)

    def start(self) -> "Recorder":
        """Activate without ``with`` (pair with :meth:`stop`)."""
        return self.__enter__()

    def stop(self) -> None:
        self.__exit__(None, None, None)

    def map(self) -> Any:
        from asyncore_seam import NetworkMap

        return NetworkMap(self)

    # -- bookkeeping --------------------------------------------------------

    def tfd(self, fd: Any) -> int:
        """The trace's number for the network's descriptor ``fd``."""
        try:
            return self._fds[fd]
        except (KeyError, TypeError):
            return self._open_fd(fd) if isinstance(fd, int) and fd >= 0 else -1

    def _open_fd(self, fd: int) -> int:
        n = 3
        used = self._used
        while n in used:
            n += 1
        used.append(n)
        self._fds[fd] = n
        return n

    def _close_fd(self, fd: Any) -> int:
        n = self._fds.pop(fd, -1)
        if n in self._used:
            self._used.remove(n)
        return n

    def _tick(self) -> None:
        self.now = round(self.inner.monotonic() - self._t0, 6)

    def add(
        self,
        kind: str,
        fd: int,
        args: Tuple[Any, ...] = (),
        result: Optional[Tuple[Any, ...]] = None,
    ) -> None:
        self.events.append(TraceEvent(self.now, kind, fd, args, result))

    def callback(self, obj: Any, name: str, result: Any = None) -> None:
        """Called by the core (only while a Recorder is active)."""
        fd = getattr(obj, "_fileno", None)
        args = (type(obj).__name__,)
        self.events.append(
            TraceEvent(
                self.now,
                name,
                self._fds.get(fd, -1) if fd is not None else -1,
                args,
                None if name not in ("readable", "writable") else (bool(result),),
            )
        )

    # -- the Network seam -----------------------------------------------------

    def socket(
        self, family: int = _socket.AF_INET, type: int = _socket.SOCK_STREAM
    ) -> "TracingSocket":
        try:
            sock = self.inner.socket(family, type)
        except BaseException as e:
            self.add("socket", -1, socket_args(family, type), (_err_value(e),))
            raise
        wrapped = TracingSocket(self, sock)
        self.add("socket", wrapped._tfd, socket_args(family, type))
        return wrapped

    def socketpair(self) -> Tuple["TracingSocket", "TracingSocket"]:
        """The wrapped network's ``socketpair()``, recorded."""
        a, b = self.inner.socketpair()
        wa, wb = TracingSocket(self, a), TracingSocket(self, b)
        self.add("socketpair", wa._tfd, (), (wb._tfd,))
        return wa, wb

    def has_poller(self, method: str) -> bool:
        return bool(self.inner.has_poller(method))

    def poller(self, method: str) -> "TracingPoller":
        return TracingPoller(self, self.inner.poller(method), method)

    def sleep(self, seconds: Optional[float]) -> None:
        self.add("sleep", -1, (seconds,))
        self.inner.sleep(seconds)
        self._tick()

    def monotonic(self) -> float:
        return float(self.inner.monotonic())

    def wrap_file(self, fd: int) -> "TracingSocket":
        f = self.inner.wrap_file(fd)
        wrapped = TracingSocket(self, f)
        self.add("file", wrapped._tfd, ())
        return wrapped

    def set_fd_blocking(self, fd: int, flag: bool) -> None:
        self.inner.set_fd_blocking(fd, flag)

    def getaddrinfo(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.getaddrinfo(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # Anything else the wrapped network offers (netstat, add_fault...).
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.inner, name)


class TracingPoller:
    """Records each wait: timeout, interest (``fd:letters``) and answer."""

    def __init__(self, rec: Recorder, inner: Any, method: str) -> None:
        self.rec = rec
        self.inner = inner
        self.method = method

    def wait(
        self,
        fds: List[int],
        masks: List[int],
        changed: bool,
        reset: Sequence[int],
        timeout: Optional[float],
    ) -> Any:
        rec = self.rec
        tfd = rec.tfd
        interest = readiness_text((tfd(fd), m) for fd, m in zip(fds, masks))
        try:
            answer = self.inner.wait(fds, masks, changed, reset, timeout)
        except BaseException as e:
            rec._tick()
            rec.add("wait", -1, (self.method, timeout, interest), (_err_value(e),))
            raise
        rec._tick()
        got: Dict[int, int] = {}
        if self.method == "select":
            r, w, x = answer
            for lst, bit in ((r, 1), (w, 4), (x, 2)):
                for fd in lst:
                    got[fd] = got.get(fd, 0) | bit
        else:
            for fd, ev in answer:
                got[fd] = got.get(fd, 0) | ev
        pos = {fd: i for i, fd in enumerate(fds)}
        ready = readiness_text(
            (tfd(fd), m)
            for fd, m in sorted(got.items(), key=lambda kv: pos.get(kv[0], len(pos)))
        )
        rec.add("wait", -1, (self.method, timeout, interest), (ready,))
        return answer

    def forget(self, fd: int) -> None:
        self.inner.forget(fd)

    def close(self) -> None:
        self.inner.close()


# Taken now: inside a simulated world, socket.socket is the world's.
_MAKEFILE = _socket.socket.makefile


class TracingSocket:
    """A socket (or file wrapper) whose calls are recorded."""

    def __init__(self, rec: Recorder, sock: Any) -> None:
        self._rec = rec
        self._sock = sock
        self._fd = sock.fileno()
        self._tfd = rec.tfd(self._fd)
        self._io_refs = 0  # files from makefile() still open
        self._closed = False

    def __repr__(self) -> str:
        return "<TracingSocket fd=%d %r>" % (self._tfd, self._sock)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def fileno(self) -> int:
        return self._sock.fileno()  # type: ignore[no-any-return]

    def _call(self, kind: str, args: Tuple[Any, ...], fn: Any, *call: Any) -> Any:
        rec = self._rec
        try:
            value = fn(*call)
        except BaseException as e:
            rec.add(kind, self._tfd, args, (_err_value(e),))
            raise
        return value

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def bind(self, address: Any) -> None:
        self._call("bind", (addr_value(address),), self._sock.bind, address)
        self._rec.add("bind", self._tfd, (addr_value(address),))

    def listen(self, backlog: int) -> None:
        self._call("listen", (backlog,), self._sock.listen, backlog)
        self._rec.add("listen", self._tfd, (backlog,))

    def connect_ex(self, address: Any) -> int:
        err = self._call(
            "connect", (addr_value(address),), self._sock.connect_ex, address
        )
        self._rec.add(
            "connect",
            self._tfd,
            (addr_value(address),),
            (_errno.errorcode.get(err, err) if err else 0,),
        )
        return err  # type: ignore[no-any-return]

    def connect(self, address: Any) -> None:
        self._call("connect", (addr_value(address),), self._sock.connect, address)
        self._rec.add("connect", self._tfd, (addr_value(address),), (0,))

    def accept(self) -> Tuple[Any, Any]:
        conn, addr = self._call("accept", (), self._sock.accept)
        wrapped = TracingSocket(self._rec, conn)
        self._rec.add("accept", self._tfd, (), (wrapped._tfd, addr_value(addr)))
        return wrapped, addr

    def send(self, data: Any, flags: int = 0) -> int:
        args = size_args(len(data), flags)
        n = (
            self._call("send", args, self._sock.send, data, flags)
            if flags
            else self._call("send", args, self._sock.send, data)
        )
        self._rec.add("send", self._tfd, args, (n, bytes(data[:n])))
        return n  # type: ignore[no-any-return]

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        args = size_args(bufsize, flags)
        data = (
            self._call("recv", args, self._sock.recv, bufsize, flags)
            if flags
            else self._call("recv", args, self._sock.recv, bufsize)
        )
        self._rec.add("recv", self._tfd, args, (bytes(data),))
        return data  # type: ignore[no-any-return]

    read = recv
    write = send

    # -- the rest of the surface, for stdlib clients in a simulated world --
    # (each goes through send()/recv() above, so every byte is recorded)

    def sendall(self, data: Any, flags: int = 0) -> None:
        view = memoryview(data).cast("B")
        while view:
            n = self.send(view, flags)
            view = view[n:]

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        view = memoryview(buffer).cast("B")
        data = self.recv(nbytes or len(view), flags)
        view[: len(data)] = data
        return len(data)

    def makefile(self, *args: Any, **kwargs: Any) -> Any:
        """As ``socket.socket.makefile``: CPython's own, run on this wrapper."""
        return _MAKEFILE(self, *args, **kwargs)  # type: ignore[call-overload]

    def _decref_socketios(self) -> None:
        if self._io_refs > 0:
            self._io_refs -= 1
        if self._closed and self._io_refs == 0:
            self._real_close()

    def sendfile(self, file: Any, offset: int = 0, count: Optional[int] = None) -> int:
        # Through sendall(), so every byte is recorded, as the fake does it.
        from fake_net._socket_io import send_file_through

        return send_file_through(self.sendall, file, offset, count)

    def __enter__(self) -> "TracingSocket":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def shutdown(self, how: int) -> None:
        args = shutdown_args(how)
        self._call("shutdown", args, self._sock.shutdown, how)
        self._rec.add("shutdown", self._tfd, args)

    def getsockopt(self, level: int, optname: int, *rest: Any) -> Any:
        args = sockopt_args(level, optname) + rest
        value = self._call(
            "getsockopt", args, self._sock.getsockopt, level, optname, *rest
        )
        if isinstance(value, int) and optname == _socket.SO_ERROR and value:
            shown: Any = _errno.errorcode.get(value, value)
        else:
            shown = value
        self._rec.add("getsockopt", self._tfd, args, (shown,))
        return value

    def setsockopt(self, level: int, optname: int, value: Any, *rest: Any) -> None:
        args = sockopt_args(level, optname) + (value,) + rest
        self._call(
            "setsockopt", args, self._sock.setsockopt, level, optname, value, *rest
        )
        self._rec.add("setsockopt", self._tfd, args)

    def getsockname(self) -> Any:
        value = self._call("getsockname", (), self._sock.getsockname)
        self._rec.add("getsockname", self._tfd, (), (addr_value(value),))
        return value

    def getpeername(self) -> Any:
        value = self._call("getpeername", (), self._sock.getpeername)
        self._rec.add("getpeername", self._tfd, (), (addr_value(value),))
        return value

    def close(self) -> None:
        # As socket.socket.close(): a file from makefile() keeps it open.
        self._closed = True
        if self._io_refs <= 0:
            self._real_close()

    def _real_close(self) -> None:
        rec = self._rec
        if self._fd is None or self._fd < 0:
            self._sock.close()
            return
        self._call("close", (), self._sock.close)
        fd, self._fd = self._fd, -1
        rec.add("close", self._tfd, ())
        rec._close_fd(fd)
