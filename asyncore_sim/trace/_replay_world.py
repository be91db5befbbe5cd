"""A replay as a simulated world: the program's own clocks, sockets and
blocking calls answer from the recording.

``with ReplayNetwork(trace):`` (what ``asyncore-sim replay`` runs) enters
the same world a FakeNetwork does (``fake_net._world``): ``socket``,
``select``, ``time``, ``datetime`` and ``os`` are replaced while it lasts.
Inside it:

- ``time.time()`` is the epoch (:data:`fake_net.DEFAULT_EPOCH`, or the one
  given) plus the recording's time, ``monotonic()``/``perf_counter()`` the
  recording's time: the stamp of the last wait played;
- ``socket.socket()`` (and so ``create_connection``, ``smtplib``,
  ``http.client``...) makes a socket of the recording, as a FakeNetwork
  world recorded it (``asyncore-sim record --network fake``);
- a blocking call on such a socket (``connect``, ``accept``, ``send``,
  ``recv``, and what ``sendall``/``makefile`` build on them) runs the loop
  passes the recording shows before it completed: one pass of every map and
  registered loop (``fake_net._loops``) for each recorded wait in between,
  exactly as the recorded run's blocking call ran them;
- names resolve from the network's name table (the scenario's ``names``),
  never from the machine's resolver; ``gethostname()`` is the simulated
  host's.

What a recording does not hold cannot be replayed, and is refused with an
error that names it: a program's own ``select``/``poll``/``epoll`` waits,
``os.pipe()`` and ``socket.socketpair()`` in the world (a FakeNetwork world
answers them without recording them).

Descriptors: inside a world the program sees the recording's descriptor
``n`` as ``n + offset`` (from :data:`fake_net.WORLD_FIRST_FD`, as a
FakeNetwork world numbers its own), so a replayed descriptor is never one of
the process's real ones; the trace of the replay numbers them as the
recording did.

Rules: nothing here reads the wall clock; every answer comes from the
recording, in order; loop passes run in the order maps and loops were
registered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from asyncore_sim.asyncore import ExitNow
from asyncore_sim.trace._compare import readable_line
from fake_net import FakeNetwork, SimulationError
from fake_net._loops import _Loops
from fake_net._world import enter_world, leave_world

if TYPE_CHECKING:  # pragma: no cover
    from asyncore_sim.trace._format import TraceEvent

__all__ = ["ReplayDiverged", "_ReplayWorld", "_BlockingMode"]


class ReplayDiverged(ExitNow):
    """The program made a call the recording does not have at this point."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index

# The calls that block on a blocking socket, and so may run loop passes first.
_BLOCKING_CALLS = ("connect", "accept", "send", "recv", "sendto", "recvfrom")


def _not_recorded(what: str) -> SimulationError:
    return SimulationError(
        "%s inside a replay: a recording holds the asyncore core's waits and "
        "socket calls, not this (a FakeNetwork world answers it without "
        "recording it), so it cannot be played back; run the program on "
        "fake_net instead (simulate(), or asyncore-sim record --network fake)"
        % what
    )


class _ReplayWorld(_Loops):
    """ReplayNetwork's side of the simulated world (see the module text)."""

    # From ReplayNetwork.
    _io: List[Any]
    _pos: int
    now: float
    _token: Any
    _next: Callable[..., "TraceEvent"]

    def _init_world(
        self, world: bool, names: Optional[Dict[str, str]], epoch: float
    ) -> None:
        self.world = world
        self.epoch = float(epoch)
        # Names, host name and addresses as a FakeNetwork answers them.
        self._resolver = FakeNetwork(names=names, world=False, register_random=False)
        self.hostname = self._resolver.hostname
        self.local_ip = self._resolver.local_ip
        self.allow_real: Any = ()
        # _Loops' state: the maps and loops a blocking call runs.
        self._maps: List[Any] = []
        self._loops: List[Callable[[], Any]] = []
        self._passive = False
        self._running: List[Callable[[], Any]] = []
        # The world's view of descriptors (fake_net._world reads these).
        self._objects: Dict[int, Any] = {}
        self._next_fd = self._fd_base = 3
        self._free_fds: List[int] = []
        self._world_thread: Optional[int] = None
        self._offset = 0  # program's descriptor = recording's + offset
        self._in_world = False

    # -- entering and leaving ----------------------------------------------------

    def _enter_world(self) -> None:
        if not self.world:
            return
        enter_world(self)  # type: ignore[arg-type]
        self._offset = self._fd_base - 3
        self._in_world = True

    def _leave_world(self) -> None:
        if self._in_world:
            self._in_world = False
            leave_world(self)  # type: ignore[arg-type]

    def _replan(self) -> None:
        """The world calls this when its owner thread changes (a
        FakeNetwork switches its sockets' fast path); a replay has none."""

    # -- descriptors ---------------------------------------------------------------

    @property
    def _activity(self) -> int:  # type: ignore[override]
        """Events played: a loop pass that played none did nothing."""
        return self._pos

    def _ever_made(self, fd: int) -> bool:
        return fd in self._objects

    def _real_connection(self, fd: int) -> None:
        return None

    def _alloc_fd(self, obj: Any) -> int:
        raise _not_recorded("select.epoll()")

    def _release_fd(self, fd: int, obj: Any) -> None:
        self._objects.pop(fd, None)

    def _refuse_program_wait(self, call: str) -> SimulationError:
        return _not_recorded("a program's own %s" % call)

    def pipe(self) -> Any:
        raise _not_recorded("os.pipe()")

    def socketpair(self) -> Any:
        raise _not_recorded("socket.socketpair()")

    def _refuse_socketpair(self) -> SimulationError:
        return _not_recorded("socket.socketpair()")

    # -- names -------------------------------------------------------------------

    def getaddrinfo(self, *args: Any, **kwargs: Any) -> Any:
        return self._resolver.getaddrinfo(*args, **kwargs)

    def _resolve(self, host: str, bind: bool = False) -> str:
        return self._resolver._resolve(host, bind)

    # -- blocking calls: the loop passes the recording shows ---------------------

    def _catch_up(self, kind: str, fd: int) -> None:
        """A blocking ``kind`` call on recorded descriptor ``fd``: while the
        recording has a wait before it, that wait belongs to a loop pass the
        recorded call ran while it blocked; run the passes until the call is
        next (or nothing more plays: then the call itself diverges)."""
        if not self._in_world or kind not in _BLOCKING_CALLS:
            return
        io = self._io
        while self._pos < len(io):
            ev = io[self._pos][1]
            if (ev.kind == kind and ev.fd == fd) or ev.kind != "wait":
                return
            if not self._run_world():
                return

    def _run_until(
        self, done: Callable[[], bool], timeout: Optional[float], what: str
    ) -> bool:
        """The world's waits (``time.sleep``): run the recorded loop passes
        due before ``timeout`` seconds have passed, until ``done()``."""
        deadline = None if timeout is None else self.now + timeout
        io = self._io
        while not done():
            if self._pos < len(io):
                ev = io[self._pos][1]
                due = deadline is None or ev.time <= deadline + 1e-9
                if ev.kind == "wait" and due and self._run_world():
                    continue
            if done():
                return True
            if deadline is not None:
                self.now = max(self.now, deadline)
                return False
            raise ReplayDiverged(
                "%s: the program waits, but no loop pass plays the recording's "
                "next event (%s)" % (what, self._next_text()),
                self._io[self._pos][0] if self._pos < len(io) else len(io),
            )
        return True

    def _next_text(self) -> str:
        if self._pos >= len(self._io):
            return "the recording has ended"
        return readable_line(self._io[self._pos][1])


class _BlockingMode:
    """A replayed socket's timeout, as ``socket.socket`` keeps it (the
    recording does not hold it: only whether a call blocked shows there)."""

    _timeout: Optional[float] = None

    def settimeout(self, value: Any) -> None:
        if value is not None:
            value = float(value)
            if value < 0.0:
                raise ValueError("Timeout value out of range")
        self._timeout = value

    def gettimeout(self) -> Optional[float]:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self._timeout = None if flag else 0.0

    def getblocking(self) -> bool:
        return self._timeout != 0.0

