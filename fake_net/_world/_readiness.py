"""The world's ``select``: select, poll and epoll over simulated descriptors."""

from __future__ import annotations

import errno
import select
import threading
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from fake_net._errors import SimulationError, oserror
from fake_net._world import _state
from fake_net._world._state import (
    _REAL,
    StandIn,
    _in_world,
    _World,
)

if TYPE_CHECKING:  # pragma: no cover
    pass


# -- readiness: select, poll, epoll ----------------------------------------------

_IN, _PRI, _OUT = select.POLLIN, select.POLLPRI, select.POLLOUT


def _fd_of(obj: Any) -> int:
    if isinstance(obj, int):
        if obj < 0:
            raise ValueError("file descriptor cannot be a negative integer (%d)" % obj)
        return obj
    fileno = getattr(obj, "fileno", None)
    if fileno is None:
        raise TypeError("argument must be an int, or have a fileno() method.")
    return int(fileno())


def _wait(
    w: _World,
    fds: List[int],
    masks: List[int],
    method: str,
    timeout: Optional[float],
    call: str,
) -> Any:
    """A readiness call of the program: simulated readiness, and while
    nothing is ready the rest of the world runs, in virtual time."""
    net = w.net
    real = 0
    for fd in fds:
        if fd not in net._objects and not net._ever_made(fd):
            # Never one of ours (a closed one of ours is the poller's EBADF).
            if net._real_connection(fd) is None:
                raise _real_in_world(fd, call)
            real += 1
    if real:
        if real < len(fds):
            raise _mixed_in_world(net, fds, call)
        return _wait_real(fds, masks, method, timeout)
    refuse = getattr(net, "_refuse_program_wait", None)
    if refuse is not None:  # a replay: the recording has no such waits
        raise refuse(call)
    poller = w.net.poller(method)
    answer: List[Any] = []

    def ready() -> bool:
        was, w.net._passive = w.net._passive, True
        try:
            result = poller.wait(fds, masks, True, (), 0.0)
        finally:
            w.net._passive = was
        answer[:] = [result]
        if method == "select":
            return any(result)
        return bool(result)

    w.net._run_until(ready, timeout, "%s with no timeout" % call)
    if not answer:
        ready()
    return answer[0]


def _mixed_in_world(net: Any, fds: List[int], call: str) -> SimulationError:
    real = [fd for fd in fds if net._real_connection(fd) is not None]
    return SimulationError(
        "%s waits on allowed real connections (descriptors %s: %s) and on "
        "simulated descriptors at once; one thread cannot wait on the kernel "
        "and on the simulation together: wait on each kind in its own call"
        % (
            call,
            ", ".join(str(fd) for fd in real),
            ", ".join("%s:%d" % net._real_connection(fd).allowed_as for fd in real),
        )
    )


def _wait_real(
    fds: List[int], masks: List[int], method: str, timeout: Optional[float]
) -> Any:
    """Every descriptor is an allowed real connection: the kernel waits,
    in real time, and answers in the shape the simulated poller would."""
    if method == "select":
        r, w, x = _REAL["select.select"](
            [fd for fd, m in zip(fds, masks) if m & _IN],
            [fd for fd, m in zip(fds, masks) if m & _OUT],
            [fd for fd, m in zip(fds, masks) if m & _PRI],
            timeout,
        )
        return list(r), list(w), list(x)
    poll = _REAL["select.poll"]()
    for fd, mask in zip(fds, masks):
        poll.register(fd, mask)
    return poll.poll(None if timeout is None else timeout * 1000.0)


def _real_in_world(fd: int, call: str) -> SimulationError:
    return SimulationError(
        "%s: descriptor %d is not a simulated one (a real file, pipe or socket, "
        "made outside the simulation?); a program in the simulated world can "
        "only wait on descriptors the world made" % (call, fd)
    )


def _select(rlist: Any, wlist: Any, xlist: Any, timeout: Optional[float] = None) -> Any:
    w = _in_world()
    if w is None:
        if _state._world is not None and threading.get_ident() != _state._world.thread:
            for obj in list(rlist) + list(wlist) + list(xlist):
                if _state._world.fake_object(obj) is not None:
                    raise _state._world.other_thread(
                        "select() on a simulated descriptor"
                    )
        return _REAL["select.select"](rlist, wlist, xlist, timeout)
    if timeout is not None:
        if timeout < 0:
            raise ValueError("timeout must be non-negative")
    lists = [list(rlist), list(wlist), list(xlist)]
    order: List[int] = []
    masks: Dict[int, int] = {}
    by_fd: Dict[int, List[Any]] = {}
    for objs, bit in zip(lists, (_IN, _OUT, _PRI)):
        for obj in objs:
            fd = _fd_of(obj)
            if fd not in masks:
                order.append(fd)
                masks[fd] = 0
                by_fd[fd] = []
            masks[fd] |= bit
    r, wr, x = _wait(
        w, order, [masks[fd] for fd in order], "select", timeout, "select()"
    )
    ready = (set(r), set(wr), set(x))
    return tuple(
        [obj for obj in objs if _fd_of(obj) in got]
        for objs, got in zip(lists, ready)
    )


class WorldPoll:
    """``select.poll()`` inside a world."""

    def __init__(self) -> None:
        w = _state._world
        assert w is not None
        self._w = w
        self._interest: Dict[int, int] = {}

    def register(self, fd: Any, eventmask: int = _IN | _PRI | _OUT) -> None:
        self._interest[_fd_of(fd)] = eventmask

    def modify(self, fd: Any, eventmask: int) -> None:
        n = _fd_of(fd)
        if n not in self._interest:
            raise oserror(errno.ENOENT)
        self._interest[n] = eventmask

    def unregister(self, fd: Any) -> None:
        n = _fd_of(fd)
        if n not in self._interest:
            raise KeyError(n)
        del self._interest[n]

    def poll(self, timeout: Optional[float] = None) -> List[Tuple[int, int]]:
        # poll() takes milliseconds; negative or None: wait for ever.
        seconds = None if timeout is None or timeout < 0 else timeout / 1000.0
        return self._poll(seconds, "poll()")

    def _poll(self, seconds: Optional[float], call: str) -> List[Tuple[int, int]]:
        w = self._w
        if _state._world is not w or threading.get_ident() != w.thread:
            raise SimulationError(
                "%s on a poll object of a simulated world that has ended, or "
                "from another thread" % call
            )
        fds = list(self._interest)
        result = _wait(
            w, fds, [self._interest[fd] for fd in fds], "poll", seconds, call
        )
        return list(result)


class WorldEpoll(WorldPoll):
    """``select.epoll()`` inside a world (level-triggered only)."""

    def __init__(self, sizehint: int = -1, flags: int = 0) -> None:
        super().__init__()
        self._fd = self._w.net._alloc_fd(self)
        self.closed = False

    kind = "epoll"

    def describe(self) -> str:
        return "%d registered" % len(self._interest)

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._w.net._release_fd(self._fd, self)

    def __enter__(self) -> "WorldEpoll":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def register(self, fd: Any, eventmask: int = _IN | _PRI | _OUT) -> None:
        n = _fd_of(fd)
        if n in self._interest:
            raise oserror(errno.EEXIST)
        self.modify_mask(n, eventmask)

    def modify(self, fd: Any, eventmask: int) -> None:
        n = _fd_of(fd)
        if n not in self._interest:
            raise oserror(errno.ENOENT)
        self.modify_mask(n, eventmask)

    def modify_mask(self, fd: int, eventmask: int) -> None:
        unsupported = eventmask & (select.EPOLLET | select.EPOLLONESHOT)
        if unsupported:
            raise SimulationError(
                "epoll flag %#x (EPOLLET/EPOLLONESHOT) is not simulated; the "
                "world's epoll is level-triggered" % unsupported
            )
        self._interest[fd] = eventmask

    def unregister(self, fd: Any) -> None:
        n = _fd_of(fd)
        if n not in self._interest:
            raise oserror(errno.ENOENT)
        del self._interest[n]

    def poll(  # type: ignore[override]
        self, timeout: Optional[float] = None, maxevents: int = -1
    ) -> List[Tuple[int, int]]:
        if self.closed:
            raise ValueError("I/O operation on closed epoll object")
        seconds = None if timeout is None or timeout < 0 else float(timeout)
        events = self._poll(seconds, "epoll.poll()")
        return events if maxevents < 0 else events[:maxevents]


def _poll_factory() -> Any:
    if _in_world() is None:
        return _REAL["select.poll"]()
    return WorldPoll()


_REAL_EPOLL = _REAL.get("select.epoll")


class WorldEpollFactory(metaclass=StandIn):
    """``select.epoll`` inside a world."""

    _stands_for = (WorldEpoll,) + (
        (_REAL_EPOLL,) if isinstance(_REAL_EPOLL, type) else ()
    )

    def __new__(cls, sizehint: int = -1, flags: int = 0) -> Any:  # type: ignore[misc]
        if _in_world() is None:
            return _REAL["select.epoll"](sizehint, flags)
        return WorldEpoll(sizehint, flags)

    @classmethod
    def fromfd(cls, fd: int) -> Any:
        return _REAL["select.epoll"].fromfd(fd)  # type: ignore[attr-defined]
