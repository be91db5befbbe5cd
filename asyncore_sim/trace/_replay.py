"""ReplayNetwork: a recorded trace played back as a simulated network.

A run recorded on any network (real sockets included) is replayed by running
the same program on a ``ReplayNetwork`` made from its trace: every socket
call, every readiness answer and every byte comes from the recording, in
order, so the program sees exactly what it saw then, deterministically.

Each call is checked against the next I/O event of the trace.  A program
that departs from the recording (another call, another descriptor, other
bytes sent) gets :class:`ReplayDiverged`, which leaves ``loop()`` like
``ExitNow``; the replaying harness then reports the first differing event.
Time is the recording's: ``monotonic()`` is the stamp of the last wait.

A replay is a simulated world too (``_replay_world``): inside ``with``,
the program's own ``socket``, ``time`` and blocking calls answer from the
recording, as they did from the FakeNetwork it was recorded on.
"""

from __future__ import annotations

import builtins
import errno as _errno
import os
import socket as _socket
from typing import Any, Dict, List, Optional, Sequence, Tuple

import asyncore_seam as _seam
from asyncore_sim.trace._compare import format_data, readable_line
from asyncore_sim.trace._format import Trace, TraceEvent
from asyncore_sim.trace._replay_world import ReplayDiverged, _BlockingMode, _ReplayWorld
from asyncore_sim.trace._values import (
    Err,
    addr_value,
    parse_readiness,
    readiness_text,
    shutdown_args,
    size_args,
    socket_args,
    sockopt_args,
)

__all__ = ["ReplayNetwork", "ReplayDiverged"]


def _raise_recorded(err: Err) -> None:
    name = str(err)
    code = getattr(_errno, name, None)
    if isinstance(code, int):
        raise OSError(code, os.strerror(code))
    if name == "timeout":
        raise _socket.timeout("timed out")
    if name == "gaierror":
        raise _socket.gaierror(_socket.EAI_NONAME, "Name or service not known")
    builtin = getattr(builtins, name, None)
    if isinstance(builtin, type) and issubclass(builtin, Exception):
        # recorded by class name (AttributeError...): the same class again
        raise builtin("recorded error %s" % name)
    raise OSError("recorded error %s" % name)


def _address(value: Any) -> Any:
    """An address as the socket call returned it: ``(host, port)``, or a
    path (AF_UNIX) as recorded."""
    return tuple(value) if isinstance(value, tuple) else value


class ReplayNetwork(_ReplayWorld):
    """Plays back the I/O events of ``trace`` (a :class:`Trace` or a path).

    ``world`` (default True): ``with`` enters the simulated world (see
    ``_replay_world``); ``names`` adds to the name table the world resolves
    with (a scenario's ``names``); ``epoch`` is ``time.time()`` at time 0.
    """

    name = "replay"

    def __init__(
        self,
        trace: Any,
        world: bool = True,
        names: Optional[Dict[str, str]] = None,
        epoch: Optional[float] = None,
    ) -> None:
        if not isinstance(trace, Trace):
            trace = Trace.load(trace)
        self.trace = trace
        self._io: List[Tuple[int, TraceEvent]] = [
            (i, e) for i, e in enumerate(trace.events) if not e.is_callback
        ]
        self._pos = 0
        self.now = 0.0
        self._token: Any = None
        #: The first departure from the recording (None while there is none).
        self.diverged: Optional[ReplayDiverged] = None
        from fake_net._world import DEFAULT_EPOCH

        self._init_world(world, names, DEFAULT_EPOCH if epoch is None else epoch)

    def __repr__(self) -> str:
        return "ReplayNetwork(%d/%d I/O events played)" % (self._pos, len(self._io))

    # -- playback -------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self._pos >= len(self._io)

    def remaining(self) -> List[TraceEvent]:
        return [e for _, e in self._io[self._pos :]]

    def _diverge(self, diverged: ReplayDiverged) -> ReplayDiverged:
        """Remember the first departure: every later call raises it again,
        so a program's clean-up (a ``with`` block's QUIT) cannot hide it."""
        if self.diverged is None:
            self.diverged = diverged
        return self.diverged

    def _next(self, kind: str, fd: int, args: Tuple[Any, ...]) -> TraceEvent:
        if self.diverged is not None:
            raise self.diverged
        if self._pos >= len(self._io):
            raise self._diverge(ReplayDiverged(
                "the program called %s on fd %s after the recording ended" % (kind, fd),
                len(self.trace.events),
            ))
        index, ev = self._io[self._pos]
        if ev.kind != kind or ev.fd != fd or ev.args != args:
            raise self._diverge(ReplayDiverged(
                "event %d: the recording has\n    %s\nbut the program called\n    %s"
                % (
                    index,
                    readable_line(ev),
                    readable_line(TraceEvent(ev.time, kind, fd, args)),
                ),
                index,
            ))
        self._pos += 1
        if kind in ("wait", "sleep"):
            self.now = ev.time
        result = ev.result
        if result and isinstance(result[0], Err):
            _raise_recorded(result[0])
        return ev

    # -- the seam -------------------------------------------------------------

    def socket(
        self, family: int = _socket.AF_INET, type: int = _socket.SOCK_STREAM
    ) -> "ReplaySocket":
        if self.diverged is not None:
            raise self.diverged
        if self._pos >= len(self._io):
            raise self._diverge(ReplayDiverged(
                "the program made a socket after the recording ended",
                len(self.trace.events),
            ))
        index, ev = self._io[self._pos]
        if ev.kind != "socket":
            raise self._diverge(ReplayDiverged(
                "event %d: the recording has\n    %s\nbut the program made a socket"
                % (index, readable_line(ev)),
                index,
            ))
        self._next(
            "socket",
            ev.fd,
            socket_args(family, type),
        )
        return ReplaySocket(self, ev.fd, family, type)

    def has_poller(self, method: str) -> bool:
        return method in ("select", "poll", "epoll")

    def poller(self, method: str) -> "ReplayPoller":
        return ReplayPoller(self, method)

    def sleep(self, seconds: Optional[float]) -> None:
        self._next("sleep", -1, (seconds,))

    def monotonic(self) -> float:
        return self.now

    def wrap_file(self, fd: int) -> "ReplaySocket":
        if self._pos < len(self._io) and self._io[self._pos][1].kind == "file":
            index, ev = self._io[self._pos]
            self._pos += 1
            return ReplaySocket(self, ev.fd, 0, 0)
        raise self._diverge(ReplayDiverged(
            "the program opened a file_dispatcher the recording does not have",
            self._index(),
        ))

    def set_fd_blocking(self, fd: int, flag: bool) -> None:
        pass

    def _index(self) -> int:
        if self._pos < len(self._io):
            return self._io[self._pos][0]
        return len(self.trace.events)

    def map(self) -> Any:
        from asyncore_seam import NetworkMap

        return NetworkMap(self)

    @property
    def active(self) -> bool:
        """Whether the replay is active (inside ``with``)."""
        return self._token is not None

    def __enter__(self) -> "ReplayNetwork":
        self._enter_world()
        self._token = _seam.push_current(self)
        _seam.forbid_real_sockets(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            _seam.pop_current(self._token)
            self._token = None
            _seam.allow_real_sockets(self)
        finally:
            self._leave_world()


class ReplayPoller:
    def __init__(self, net: ReplayNetwork, method: str) -> None:
        self.net = net
        self.method = method

    def wait(
        self,
        fds: List[int],
        masks: List[int],
        changed: bool,
        reset: Sequence[int],
        timeout: Optional[float],
    ) -> Any:
        off = self.net._offset
        if off:
            fds = [fd - off for fd in fds]
        interest = readiness_text(zip(fds, masks))
        ev = self.net._next("wait", -1, (self.method, timeout, interest))
        got = parse_readiness(str(ev.result[0]) if ev.result else "0")
        if off:
            got = [(fd + off, m) for fd, m in got]
        if self.method != "select":
            return got
        r = [fd for fd, m in got if m & 1]
        w = [fd for fd, m in got if m & 4]
        e = [fd for fd, m in got if m & 2]
        return r, w, e

    def forget(self, fd: int) -> None:
        pass

    def close(self) -> None:
        pass


def _tried_to_send(
    net: ReplayNetwork, diverged: ReplayDiverged, data: bytes
) -> ReplayDiverged:
    """``diverged`` at a send, its report completed with the bytes the
    program tried to send (and where they first differ from the recorded
    send's, when the recording has a send there)."""
    more = "\n  the program tried to send %s" % format_data(data)
    if net._pos < len(net._io):
        ev = net._io[net._pos][1]
        sent = ev.result[1] if ev.kind in ("send", "sendto") and ev.result else None
        if isinstance(sent, bytes):
            k = next(
                (i for i in range(min(len(sent), len(data))) if data[i] != sent[i]),
                None,
            )
            more += (
                "\n  (the recorded send's bytes first differ at byte %d)" % k
                if k is not None
                else "\n  (they agree with the recorded send's bytes on the "
                "first %d)" % min(len(sent), len(data))
            )
    return ReplayDiverged(str(diverged) + more, diverged.index)


class ReplaySocket(_BlockingMode):
    """A socket (or file) whose every answer comes from the recording.

    ``fd`` is the recording's descriptor; the program sees ``fileno()``
    (the same, or shifted inside a world: see ``_replay_world``)."""

    def __init__(
        self, net: ReplayNetwork, fd: int, family: int = 0, type: int = 0
    ) -> None:
        self.net = net
        self.fd = fd
        self.family = family or _socket.AF_INET
        self.type = type or _socket.SOCK_STREAM
        self.proto = 0
        self._fileno = fd + net._offset
        net._objects[self._fileno] = self

    def __repr__(self) -> str:
        return "<ReplaySocket fd=%d>" % self.fd

    def fileno(self) -> int:
        return self._fileno if self.fd >= 0 else -1

    def _call(self, kind: str, args: Tuple[Any, ...]) -> TraceEvent:
        if self.fd < 0:
            raise OSError(_errno.EBADF, "Bad file descriptor")
        net = self.net
        if self._timeout != 0.0 and net._in_world:
            net._catch_up(kind, self.fd)
        return net._next(kind, self.fd, args)

    def bind(self, address: Any) -> None:
        self._call("bind", (addr_value(address),))

    def listen(self, backlog: int) -> None:
        self._call("listen", (backlog,))

    def connect_ex(self, address: Any) -> int:
        ev = self._call("connect", (addr_value(address),))
        value = ev.result[0] if ev.result else 0
        if isinstance(value, str):  # recorded by errno name
            return int(getattr(_errno, value))
        return int(value)

    def connect(self, address: Any) -> None:
        self._call("connect", (addr_value(address),))

    def accept(self) -> Tuple["ReplaySocket", Any]:
        ev = self._call("accept", ())
        assert ev.result is not None
        fd, addr = ev.result
        return ReplaySocket(self.net, fd, self.family, self.type), _address(addr)

    def send(self, data: Any, flags: int = 0) -> int:
        return self._send("send", data, size_args(len(data), flags))

    def sendto(self, data: Any, flags_or_address: Any, *address: Any) -> int:
        flags, dest = (
            (int(flags_or_address), address[0]) if address else (0, flags_or_address)
        )
        return self._send(
            "sendto", data, size_args(len(data), flags) + (addr_value(dest),)
        )

    def _send(self, kind: str, data: Any, args: Tuple[Any, ...]) -> int:
        try:
            ev = self._call(kind, args)
        except ReplayDiverged as e:
            wrapped = _tried_to_send(self.net, e, bytes(data))
            if self.net.diverged is e:  # the same departure, told in full
                self.net.diverged = wrapped
            raise self.net._diverge(wrapped) from None
        assert ev.result is not None
        n, sent = ev.result
        if bytes(data[:n]) != sent:
            index = self.net._io[self.net._pos - 1][0]  # the event just played
            k = next((i for i in range(min(len(sent), n)) if data[i] != sent[i]), 0)
            s = max(0, k - 20)
            raise self.net._diverge(ReplayDiverged(
                "event %d: the program sent other bytes than the recording on fd %d "
                "(first difference at byte %d of the %s)\n"
                "  the recording sent         %s\n"
                "  the program tried to send  %s"
                % (
                    index,
                    self.fd,
                    k,
                    kind,
                    format_data(sent, 60, s),
                    format_data(bytes(data), 60, s),
                ),
                index,
            ))
        return int(n)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        ev = self._call("recv", size_args(bufsize, flags))
        assert ev.result is not None
        return bytes(ev.result[0])

    def recvfrom(self, bufsize: int, flags: int = 0) -> Tuple[bytes, Any]:
        ev = self._call("recvfrom", size_args(bufsize, flags))
        assert ev.result is not None
        return bytes(ev.result[0]), _address(ev.result[1])

    read = recv
    write = send

    def shutdown(self, how: int) -> None:
        self._call("shutdown", shutdown_args(how))

    def getsockopt(self, level: int, optname: int, *rest: Any) -> Any:
        ev = self._call("getsockopt", sockopt_args(level, optname) + rest)
        value = ev.result[0] if ev.result else 0
        if isinstance(value, str):  # a pending error, recorded by name
            return getattr(_errno, value, 0)
        return value

    def setsockopt(self, level: int, optname: int, value: Any, *rest: Any) -> None:
        self._call("setsockopt", sockopt_args(level, optname) + (value,) + rest)

    def getsockname(self) -> Any:
        ev = self._call("getsockname", ())
        return _address(ev.result[0]) if ev.result else None

    def getpeername(self) -> Any:
        ev = self._call("getpeername", ())
        return _address(ev.result[0]) if ev.result else None

    def close(self) -> None:
        """Consumes the recorded close if it is next; never diverges (a
        program that departed from the recording must still clean up; the
        recorded trace of the replay shows the close where it happened)."""
        if self.fd < 0:
            return
        net = self.net
        if net._pos < len(net._io):
            ev = net._io[net._pos][1]
            if ev.kind == "close" and ev.fd == self.fd:
                net._pos += 1
        if net._objects.get(self._fileno) is self:
            del net._objects[self._fileno]
        self.fd = -1
