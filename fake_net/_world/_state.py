"""The world's state: which network, which thread, and who counts as the runner.

Rules: no wall clock for simulated code; nothing iterated out of a set.
"""

from __future__ import annotations

import os
import select
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from fake_net._errors import SimulationError

if TYPE_CHECKING:  # pragma: no cover
    from fake_net._network import FakeNetwork

__all__ = [
    "WORLD_FIRST_FD",
    "DEFAULT_EPOCH",
    "WorldThreadError",
]

#: The first descriptor of a network entered as a world (see the docstring).
#: Below FD_SETSIZE (1024), so select() still takes 512 simulated sockets.
WORLD_FIRST_FD = 512
#: ``time.time()`` at virtual time 0: 2001-09-09 01:46:40 UTC.
DEFAULT_EPOCH = 1_000_000_000.0

# Code whose clocks, sockets and files stay real inside a world: the test
# runner's.  Matched against the calling frame's module name.
_RUNNER_PREFIXES = (
    "_pytest",
    "pytest",
    "pluggy",
    "hypothesis",
    "_hypothesis",
    "xdist",
    "execnet",
    "coverage",
    "threading",
    "asyncore_sim.testing.pytest_plugin",
    "asyncore_sim.testing._sweep_progress",
)
# Modules whose frames are skipped when deciding who called: a log record
# made for the program gets the program's clock.
_TRANSPARENT_PREFIXES = ("logging",)
# Modules never scanned for imported names: the runner's, ours, the modules
# being replaced, and the stdlib's concurrency machinery (its timeouts are
# real ones).
_UNSCANNED_MODULES = frozenset(
    {
        "asyncore_seam",
        "asyncore_sim",
        "fake_net",
        "real_net",
        "socket",
        "_socket",
        "select",
        "selectors",
        "time",
        "datetime",
        "_datetime",
        "_pydatetime",
        "os",
        "posix",
        "sys",
        "builtins",
        "importlib",
        "_frozen_importlib",
        "_frozen_importlib_external",
        "threading",
        "_thread",
        "queue",
        "concurrent",
        "asyncio",
        "multiprocessing",
        "subprocess",
        "signal",
        "logging",
        "typing",
    }
)

_REAL_SOCKET = socket.socket


class StandIn(type):
    """The metaclass of a name the world puts in place of a real type
    (``socket.socket``, ``select.epoll``, ``datetime.datetime``...):
    ``isinstance`` and ``issubclass`` answer for the types the class lists in
    ``_stands_for``, so code that checks types sees no difference."""

    _stands_for: Tuple[type, ...]

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, cls._stands_for)

    def __subclasscheck__(cls, sub: Any) -> bool:
        return isinstance(sub, type) and issubclass(sub, cls._stands_for)


class WorldThreadError(SimulationError):
    """A thread other than the world's touched a simulated socket or descriptor."""


def _called_by_runner(depth: int = 2) -> bool:
    """Whether the code calling a replaced function belongs to the test runner."""
    frame: Any = sys._getframe(depth)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not name.startswith(_TRANSPARENT_PREFIXES):
            return bool(name.startswith(_RUNNER_PREFIXES))
        frame = frame.f_back
    return False


class _World:
    """One active world: the network, its thread, and what was replaced."""

    def __init__(self, net: "FakeNetwork") -> None:
        self.net = net
        self.thread = threading.get_ident()
        self.saved: List[Tuple[Any, str, Any]] = []  # (namespace, name, original)

    # -- who may use it -------------------------------------------------------

    def other_thread(self, what: str) -> WorldThreadError:
        return WorldThreadError(
            "%s from thread %r while a simulation runs in thread %r: the "
            "simulated world belongs to one thread.  Run the blocking client "
            "in the test body and the server as dispatchers in a map (or a loop "
            "registered with net.add_loop()), not in a thread"
            % (what, threading.current_thread().name, self.thread)
        )

    # -- descriptors ----------------------------------------------------------

    def fake_object(self, fd: Any) -> Any:
        """The simulated object behind descriptor ``fd`` (an int or an object
        with fileno()), or None for a real one."""
        if not isinstance(fd, int):
            if getattr(fd, "net", None) is self.net:
                return fd
            fileno = getattr(fd, "fileno", None)
            if fileno is None:
                return None
            fd = fileno()
        return self.net._objects.get(fd)


_world: Optional[_World] = None


# -- the real functions ---------------------------------------------------------
#
# Each stands in for the real function everywhere, for good: it answers from
# the world only while one is active, in its thread, for the program's code.

_REAL: Dict[str, Callable[..., Any]] = {
    "time.time": time.time,
    "time.time_ns": time.time_ns,
    "time.monotonic": time.monotonic,
    "time.monotonic_ns": time.monotonic_ns,
    "time.perf_counter": time.perf_counter,
    "time.perf_counter_ns": time.perf_counter_ns,
    "time.sleep": time.sleep,
    "socket.socketpair": socket.socketpair,
    "socket.getaddrinfo": socket.getaddrinfo,
    "socket.gethostbyname": socket.gethostbyname,
    "socket.gethostname": socket.gethostname,
    "socket.getfqdn": socket.getfqdn,
    "socket.fromfd": socket.fromfd,
    "select.select": select.select,
    "os.read": os.read,
    "os.write": os.write,
    "os.close": os.close,
    "os.pipe": os.pipe,
    "os.set_blocking": os.set_blocking,
    "os.get_blocking": os.get_blocking,
}
for _name in ("poll", "epoll"):
    if hasattr(select, _name):
        _REAL["select." + _name] = getattr(select, _name)
if hasattr(os, "sendfile"):
    _REAL["os.sendfile"] = os.sendfile


def _in_world(depth: int = 3) -> Optional[_World]:
    """The active world if the caller (``depth`` frames up: 3 is the caller
    of the replaced function that calls this) is the program in its thread."""
    w = _world
    if w is None or threading.get_ident() != w.thread or _called_by_runner(depth):
        return None
    return w
