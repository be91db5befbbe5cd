"""asyncore_seam: the one small interface between the dispatcher core and a network.

This package is the bottom layer of asyncore-sim and imports nothing of the
project's: the core (``asyncore_sim.asyncore``/``asynchat``) and the networks
(``real_net``, ``fake_net``) each depend on it and on nothing of each other.

The core (``asyncore_sim.asyncore`` and ``asyncore_sim.asynchat``) never calls
``socket.socket``, ``select.*``, ``os.read``/``os.write`` or ``time.sleep``.
Everything that touches the world goes through a *network* object:

* ``network.socket(family, type)`` makes a socket-like object (a real
  ``socket.socket`` satisfies the interface without a wrapper);
* ``network.poller(method)`` gives a readiness waiter (``"select"``, ``"poll"``
  or ``"epoll"``); its ``wait`` is the only call that may block;
* ``network.sleep(seconds)`` and ``network.monotonic()`` are the clock;
* ``network.wrap_file(fd)`` and ``network.set_fd_blocking(fd, flag)`` serve
  ``file_dispatcher``.

Which network a dispatcher uses follows from its map (a :class:`NetworkMap`
carries its network) or else from the network made current with
:func:`use_network`; when none is, the *default* network, which the package
that wires the layers together registers with :func:`set_default_network`
(``import asyncore_sim`` makes it ``real_net.RealNetwork()``), so legacy code
needs no change.

Rules (this module must stay deterministic): no wall clock, no global random,
no iteration over sets.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Callable, Iterator, List, Optional, Protocol, Sequence, Tuple

__all__ = [
    "SocketLike",
    "Poller",
    "Network",
    "NetworkMap",
    "current_network",
    "current_network_or_none",
    "use_network",
    "network_for_map",
    "POLL_METHODS",
    "RealSocketForbidden",
    "check_real_sockets_allowed",
    "forbid_real_sockets",
    "allow_real_sockets",
    "push_current",
    "pop_current",
    "set_default_network",
    "LoopRunner",
    "set_loop_runner",
    "loop_runner",
    "set_patch_namespace",
    "patch_namespace",
]

#: The readiness methods a network may offer, in the order a user would
#: reach for them.
POLL_METHODS = ("select", "poll", "epoll")


class SocketLike(Protocol):
    """The dozen socket methods asyncore actually uses."""

    def fileno(self) -> int: ...
    def setblocking(self, flag: bool) -> None: ...
    def bind(self, address: Any) -> None: ...
    def listen(self, backlog: int) -> None: ...
    def accept(self) -> Tuple[Any, Any]: ...
    def connect_ex(self, address: Any) -> int: ...
    def send(self, data: bytes, flags: int = 0) -> int: ...
    def recv(self, bufsize: int, flags: int = 0) -> bytes: ...
    def getsockopt(self, level: int, optname: int, buflen: int = 0) -> Any: ...
    def setsockopt(self, level: int, optname: int, value: Any) -> None: ...
    def getpeername(self) -> Any: ...
    def getsockname(self) -> Any: ...
    def close(self) -> None: ...


class Poller(Protocol):
    """A readiness waiter that keeps its registrations between calls.

    ``wait`` receives the interest of every channel in map order: ``fds`` and
    ``masks`` are parallel lists (mask bits are ``select.POLLIN``,
    ``POLLPRI`` and ``POLLOUT``; 0 means "not interested"). ``changed`` is
    False when both lists equal those of the previous call, so a poller may
    reuse what it built. ``reset`` lists descriptors whose channel object was
    replaced since the previous call (the kernel may have forgotten them).

    ``timeout`` is in seconds as given to ``loop()`` (None: block); a
    ``"poll"`` or ``"epoll"`` poller truncates it to whole milliseconds as
    CPython 3.11's poll2 does.

    A ``"select"`` poller returns ``(r, w, e)`` lists, each in map order; a
    ``"poll"`` or ``"epoll"`` poller returns ``[(fd, revents), ...]`` in any
    order (the core sorts them into map order).
    """

    method: str

    def wait(
        self,
        fds: List[int],
        masks: List[int],
        changed: bool,
        reset: Sequence[int],
        timeout: Optional[float],
    ) -> Any: ...

    def forget(self, fd: int) -> None: ...

    def close(self) -> None: ...


class Network(Protocol):
    """What the core needs from a network, real or simulated."""

    name: str

    def socket(self, family: int, type: int) -> SocketLike: ...
    def poller(self, method: str) -> Poller: ...
    def has_poller(self, method: str) -> bool: ...
    def sleep(self, seconds: Optional[float]) -> None: ...
    def monotonic(self) -> float: ...
    def wrap_file(self, fd: int) -> Any: ...
    def set_fd_blocking(self, fd: int, flag: bool) -> None: ...


class NetworkMap(dict):  # type: ignore[type-arg]
    """A socket map bound to one network.

    It is a plain ``dict`` for every asyncore purpose; dispatchers created
    with ``map=`` set to it make their sockets on ``network``, and ``loop``
    waits on ``network``.
    """

    __slots__ = ("network", "__weakref__")

    def __init__(self, network: Network, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.network = network
        # A simulated network runs the maps bound to it when a blocking
        # call waits (see LoopRunner); it learns of them here.
        adopt = getattr(network, "adopt_map", None)
        if adopt is not None:
            adopt(self)

    def __repr__(self) -> str:
        return "NetworkMap(%s, %s)" % (
            getattr(self.network, "name", type(self.network).__name__),
            dict.__repr__(self),
        )


_current: contextvars.ContextVar[Optional[Network]] = contextvars.ContextVar(
    "asyncore_sim_network", default=None
)
_default: Optional[Network] = None
_default_factory: Optional[Callable[[], Network]] = None


def set_default_network(factory: Callable[[], Network]) -> None:
    """Make ``factory()`` the network used when no map or context names one.

    It is called once, at the first need; ``asyncore_sim`` registers
    ``real_net.RealNetwork`` when it is imported.
    """
    global _default, _default_factory
    _default_factory = factory
    _default = None


def _default_network() -> Network:
    global _default
    if _default is None:
        if _default_factory is None:
            raise RuntimeError(
                "asyncore_seam: no network is current and no default network is "
                "registered; import asyncore_sim (it registers real_net's) or "
                "wrap the code in use_network(...)"
            )
        _default = _default_factory()
    return _default


_current_get = _current.get

#: The network made current in this context (use_network, push_current), or
#: None when the default one applies: the default is ``_default`` once made.
#: A C-level callable, for the dispatcher core's per-call path.
current_network_or_none = _current.get


def current_network() -> Network:
    """The network new sockets are made on when their map names none."""
    net = _current_get()
    if net is None:
        net = _default
        if net is None:
            return _default_network()
    return net


@contextlib.contextmanager
def use_network(network: Network) -> Iterator[Network]:
    """Make ``network`` current for the ``with`` block (per thread/context)."""
    token = _current.set(network)
    try:
        yield network
    finally:
        _current.reset(token)


def push_current(network: Network) -> Any:
    """Make ``network`` current until :func:`pop_current` with the token returned.

    For networks that are activated by ``with net:`` rather than through
    :func:`use_network`.
    """
    return _current.set(network)


def pop_current(token: Any) -> None:
    """Undo the :func:`push_current` that returned ``token``."""
    _current.reset(token)


def network_for_map(map: Any) -> Network:
    """The network of ``map`` if it is a :class:`NetworkMap`, else the current one."""
    # On the dispatcher core's per-call path: current_network() is inlined.
    if type(map) is not dict:
        net = getattr(map, "network", None)
        if net is not None:
            return net  # type: ignore[no-any-return]
    net = _current_get()
    if net is None:
        net = _default
        if net is None:
            return _default_network()
    return net


class LoopRunner(Protocol):
    """What a network may ask of the dispatcher core (registered by the core).

    A simulated network whose blocking call must wait (a blocking ``recv``
    on a client while the server is a dispatcher in a map) runs the world
    forward: one pass of each map bound to it, through this runner.
    """

    def run_once(self, map: Any) -> bool:
        """One loop pass over ``map`` that does not wait; False (and nothing
        done) when the map is empty or a loop further up the stack is in the
        middle of a pass over it."""
        ...

    def default_map(self) -> Any:
        """The core's default socket map (``asyncore.socket_map``)."""
        ...


_loop_runner: Optional[LoopRunner] = None


def set_loop_runner(runner: LoopRunner) -> None:
    """Register the core's :class:`LoopRunner` (the core does, on import)."""
    global _loop_runner
    _loop_runner = runner


def loop_runner() -> Optional[LoopRunner]:
    """The registered :class:`LoopRunner`, or None before the core is imported."""
    return _loop_runner


class RealSocketForbidden(RuntimeError):
    """The core tried to open an OS socket while a fake network is active."""


# Simulated networks now active (``with net:``); while any is, the real
# network refuses to open sockets.
_REAL_FORBIDDEN_BY: List[Any] = []


def forbid_real_sockets(owner: Any) -> None:
    """While ``owner`` (a simulated network) is active, the real network
    refuses to open sockets (:class:`RealSocketForbidden` names ``owner``)."""
    _REAL_FORBIDDEN_BY.append(owner)


def allow_real_sockets(owner: Any) -> None:
    """Undo one :func:`forbid_real_sockets` by ``owner``."""
    _REAL_FORBIDDEN_BY.remove(owner)


def check_real_sockets_allowed() -> None:
    if _REAL_FORBIDDEN_BY:
        raise RealSocketForbidden(
            "asyncore_sim was about to open an OS socket while %r is active; "
            "give the dispatcher that network's map (map=net.map()) or create "
            "it inside the 'with net:' block" % (_REAL_FORBIDDEN_BY[-1],)
        )


# The module whose ``socket``/``select``/``time``/``os`` names the real network
# looks up at call time, so that a legacy test's monkeypatch of
# ``asyncore.socket`` takes effect as on the stdlib.  The core registers
# itself here when it is imported.
_patch_namespace: Any = None


def set_patch_namespace(module: Any) -> None:
    """Name the module whose ``socket``/``select``/``time``/``os`` attributes
    the real network uses (the core registers ``asyncore_sim.asyncore``)."""
    global _patch_namespace
    _patch_namespace = module


def patch_namespace() -> Any:
    """The module registered with :func:`set_patch_namespace`."""
    if _patch_namespace is None:
        raise RuntimeError(
            "asyncore_seam: no patch namespace registered; import asyncore_sim first"
        )
    return _patch_namespace
