"""The simulated world: while a FakeNetwork is active, the process's own
``socket``, ``select``, ``time`` and ``os`` answer from it.

``with net:`` (and everything built on it: ``simulate()``, the ``sim_net``
fixture, scenario runs, ``asyncore-sim record --network fake``) enters the
world; leaving the block leaves it and puts every name back, whatever
happened inside.  Inside, unmodified code that never heard of fake_net (a
blocking ``smtplib`` client, an application's own select loop, a
``time.time()`` in a header) runs on the simulation.  A ``ReplayNetwork``
(``asyncore-sim replay``) enters the same world and answers from its
recording (``asyncore_sim/trace/_replay_world.py``).

What is replaced (module attributes, set on entry and restored on exit):

====================  =========================================================
``socket``            ``socket`` (a class: ``isinstance`` still works for real
                      and simulated sockets), ``socketpair``, ``getaddrinfo``,
                      ``gethostbyname``, ``gethostname``, ``getfqdn``, ``fromfd``
                      (refused); ``create_connection`` and ``create_server``
                      are the stdlib's own, running on the replaced names
``select``            ``select``, ``poll``, ``epoll`` (level-triggered); so
                      ``selectors`` works unchanged
``time``              ``time``, ``time_ns``, ``monotonic``, ``monotonic_ns``,
                      ``perf_counter``, ``perf_counter_ns``, ``sleep``;
                      ``gmtime``, ``localtime``, ``ctime``, ``asctime``,
                      ``strftime`` (the simulated host keeps UTC)
``datetime``          ``datetime`` and ``date`` (``now``, ``utcnow``,
                      ``today``); what they make are real ``datetime`` values
``os``                ``read``, ``write``, ``close``, ``sendfile``, ``pipe``,
                      ``set_blocking``, ``get_blocking``: simulated descriptors
                      go to the network, every other descriptor to the kernel
====================  =========================================================

A name a module imported before the world started (``from time import
monotonic``, or ``timer = time.monotonic`` at import) is found on entry, in
every module that is not the test runner's, and replaced too; the module
and name are restored on exit.  The replacements themselves are safe to keep:
outside a world, in another thread, or called from the test runner's own code
(pytest, pluggy, Hypothesis, xdist, execnet, coverage, threading), each one
is the real function.  So the runner's durations, Hypothesis's deadlines and
health checks, and a thread of the runner keep real time and real files;
``logging`` is transparent: a record made by the program's code gets virtual
time, one made by the runner's real time.

Virtual clocks: ``time.time()`` is ``net.epoch`` (a fixed date, settable:
``FakeNetwork(epoch=...)``) plus virtual time, and ``datetime.now()`` agrees
with it; ``monotonic()`` and ``perf_counter()`` are virtual time;
``sleep(s)`` runs the world for ``s`` virtual seconds.

Descriptors cannot be confused: a network entered before it made any
descriptor numbers them from :data:`WORLD_FIRST_FD` (lowest free above it),
above the process's own, so a simulated descriptor handed to the kernel
fails there and a real one is never mistaken for a simulated one.

Real services: ``FakeNetwork(allow_real=["host:port", ...])`` names the only
addresses a simulated socket may reach on the real kernel; connecting to one
turns that socket into a real connection (``fake_net/_passthrough.py``).
A real socket's own ``accept()`` and ``dup()`` (and another thread wrapping a
descriptor it has) still make real sockets.

Threads: the world belongs to the thread that entered it.  Another thread
that makes a socket, calls a simulated socket's send/recv/accept/connect
(blocking or not) or waits on a simulated descriptor gets
:class:`WorldThreadError`; its clocks stay real (the runner's threads need
them).  Run a blocking client in
the test body and the server as dispatchers in a map (or a loop registered
with ``net.add_loop``), not in a thread.

Nested or concurrent worlds are an error (:class:`~fake_net.SimulationError`).

Rules: the world never reads the wall clock for simulated code; modules are
scanned in ``sys.modules`` order, names in definition order (no sets).
"""

from __future__ import annotations

import datetime
import functools
import os
import select
import selectors
import socket
import sys
import time
import types
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from fake_net._errors import SimulationError
from fake_net._world import _state
from fake_net._world._state import WorldThreadError, _World

if TYPE_CHECKING:  # pragma: no cover
    from fake_net._network import FakeNetwork

from fake_net._world._clocks import (
    WorldDate,
    WorldDatetime,
    _asctime,
    _ctime,
    _gmtime,
    _localtime,
    _monotonic,
    _monotonic_ns,
    _perf_counter,
    _perf_counter_ns,
    _sleep,
    _strftime,
    _time,
    _time_ns,
)
from fake_net._world._os import (
    _os_close,
    _os_get_blocking,
    _os_pipe,
    _os_read,
    _os_sendfile,
    _os_set_blocking,
    _os_write,
)
from fake_net._world._readiness import WorldEpollFactory, _poll_factory, _select
from fake_net._world._sockets import (
    WorldSocket,
    _fromfd,
    _getaddrinfo,
    _getfqdn,
    _gethostbyname,
    _gethostname,
    _socketpair,
)
from fake_net._world._state import (
    DEFAULT_EPOCH,
    WORLD_FIRST_FD,
    _RUNNER_PREFIXES,
    _UNSCANNED_MODULES,
)

__all__ = [
    "WORLD_FIRST_FD",
    "DEFAULT_EPOCH",
    "WorldThreadError",
    "active_world",
    "enter_world",
    "leave_world",
]


def active_world() -> Optional[Any]:
    """The network of the active world, or None."""
    w = _state._world
    return None if w is None else w.net


# -- entering and leaving --------------------------------------------------------

_REPLACEMENTS: List[Tuple[Any, str, Any]] = [
    (time, "time", _time),
    (time, "time_ns", _time_ns),
    (time, "monotonic", _monotonic),
    (time, "monotonic_ns", _monotonic_ns),
    (time, "perf_counter", _perf_counter),
    (time, "perf_counter_ns", _perf_counter_ns),
    (time, "sleep", _sleep),
    (time, "gmtime", _gmtime),
    (time, "localtime", _localtime),
    (time, "ctime", _ctime),
    (time, "asctime", _asctime),
    (time, "strftime", _strftime),
    (datetime, "datetime", WorldDatetime),
    (datetime, "date", WorldDate),
    (socket, "socket", WorldSocket),
    (socket, "socketpair", _socketpair),
    (socket, "getaddrinfo", _getaddrinfo),
    (socket, "gethostbyname", _gethostbyname),
    (socket, "gethostname", _gethostname),
    (socket, "getfqdn", _getfqdn),
    (socket, "fromfd", _fromfd),
    (select, "select", _select),
    (os, "read", _os_read),
    (os, "write", _os_write),
    (os, "close", _os_close),
    (os, "pipe", _os_pipe),
    (os, "set_blocking", _os_set_blocking),
    (os, "get_blocking", _os_get_blocking),
]
if hasattr(select, "poll"):
    _REPLACEMENTS.append((select, "poll", _poll_factory))
if hasattr(select, "epoll"):
    _REPLACEMENTS.append((select, "epoll", WorldEpollFactory))
if hasattr(os, "sendfile"):
    _REPLACEMENTS.append((os, "sendfile", _os_sendfile))
# selectors keeps the readiness calls it will use as class attributes.
_REPLACEMENTS.append((selectors.SelectSelector, "_select", staticmethod(_select)))
if hasattr(selectors, "PollSelector"):
    _REPLACEMENTS.append(
        (selectors.PollSelector, "_selector_cls", staticmethod(_poll_factory))
    )
if hasattr(selectors, "EpollSelector"):
    _REPLACEMENTS.append((selectors.EpollSelector, "_selector_cls", WorldEpollFactory))

# id(original) -> replacement, for finding imported names.
_BY_ORIGINAL: Dict[int, Tuple[Any, Any]] = {}
for _mod, _attr, _new in _REPLACEMENTS:
    if isinstance(_mod, types.ModuleType):  # not the selectors classes
        _orig = getattr(_mod, _attr)
        _BY_ORIGINAL[id(_orig)] = (_orig, _new)

# Modules scanned before, with the names that held an original then.
_SCANNED: Dict[str, Tuple[Any, List[Tuple[Any, str]]]] = {}


# The ids of the originals, and a C-level "is this a class" test: the
# first entry scans every module's globals and the classes it defines, and
# most hold no original, so each namespace is first tested as a whole.
_ORIGINAL_IDS = frozenset(_BY_ORIGINAL)
_is_class = functools.partial(type.__instancecheck__, type)
# A class body can only take an original (``_poller = select.epoll``) from a
# module that holds the replaced module or the original itself; only such
# modules' classes are looked into (44 of 233 in a test process).
_REPLACED_MODULE_IDS = frozenset(
    [id(m) for m in (time, datetime, socket, select, os, selectors)]
) | _ORIGINAL_IDS


def _holds_original(namespace: Any) -> bool:
    return not _ORIGINAL_IDS.isdisjoint(map(id, namespace.values()))


def _imported_names(module: Any) -> List[Tuple[Any, str]]:
    """``(owner, name)`` for each name that holds a replaced original: a
    module global, or a class attribute of a class the module defines
    (``_poller = select.epoll`` in a class body)."""
    found: List[Tuple[Any, str]] = []
    try:
        namespace = vars(module)
        values = list(namespace.values())
    except TypeError:
        return found
    if _REPLACED_MODULE_IDS.isdisjoint(map(id, values)):
        return found
    modname = getattr(module, "__name__", None)
    if _holds_original(namespace):
        for name, value in list(namespace.items()):
            hit = _BY_ORIGINAL.get(id(value))
            if hit is not None and hit[0] is value:
                found.append((module, name))
    for cls in filter(_is_class, values):
        if cls.__module__ != modname:
            continue
        members = vars(cls)
        if _holds_original(members):
            for attr, member in list(members.items()):
                hit = _BY_ORIGINAL.get(id(member))
                if hit is not None and hit[0] is member:
                    found.append((cls, attr))
    return found


def _unscanned(modname: str) -> bool:
    if modname.startswith(_RUNNER_PREFIXES):
        return True
    top = modname.partition(".")[0]
    return top in _UNSCANNED_MODULES


# What the last scan saw: sys.modules' names in order, and the modules
# (with their names to replace) that held any.  While sys.modules is the
# same, an entry replaces those names only (one C-level comparison of the
# key lists, instead of a look at every module).
_LAST_KEYS: Tuple[str, ...] = ()
_LAST_HITS: List[Tuple[str, Any, List[Tuple[Any, str]]]] = []


def _modules_with_names() -> List[Tuple[str, Any, List[Tuple[Any, str]]]]:
    global _LAST_KEYS, _LAST_HITS
    modules = sys.modules
    keys = tuple(modules)
    if keys == _LAST_KEYS and all(modules.get(n) is m for n, m, _ in _LAST_HITS):
        return _LAST_HITS
    hits = []
    for modname, module in list(modules.items()):
        if module is None or _unscanned(modname):
            continue
        seen = _SCANNED.get(modname)
        if seen is not None and seen[0] is module:
            names = seen[1]
        else:
            names = _imported_names(module)
            _SCANNED[modname] = (module, names)
        if names:
            hits.append((modname, module, names))
    _LAST_KEYS, _LAST_HITS = keys, hits
    return hits


def _scan_imported(w: _World) -> None:
    """Replace names that modules imported from the replaced modules."""
    for _, _, names in _modules_with_names():
        for owner, name in names:
            value = vars(owner).get(name)
            hit = _BY_ORIGINAL.get(id(value))
            if hit is not None and hit[0] is value:
                new = hit[1]
                if isinstance(owner, type) and isinstance(new, types.FunctionType):
                    new = staticmethod(new)  # as the builtin it replaces: unbound
                w.saved.append((owner, name, value))
                setattr(owner, name, new)


def enter_world(net: "FakeNetwork") -> None:
    """Make ``net`` the world (FakeNetwork.__enter__ calls this)."""
    if _state._world is not None:
        raise SimulationError(
            "a simulated world is already active (%r); worlds do not nest: "
            "leave it before entering %r" % (_state._world.net, net)
        )
    w = _World(net)
    if not net._objects and net._next_fd < WORLD_FIRST_FD:
        net._next_fd = net._fd_base = WORLD_FIRST_FD
        net._free_fds = []
    try:
        for module, name, new in _REPLACEMENTS:
            w.saved.append((module, name, vars(module)[name]))
            setattr(module, name, new)
        _scan_imported(w)
    except BaseException:
        _restore(w)
        raise
    _state._world = w
    net._world_thread = w.thread  # its sockets refuse other threads
    net._replan()


def _restore(w: _World) -> None:
    for module, name, original in reversed(w.saved):
        setattr(module, name, original)
    w.saved = []


def leave_world(net: "FakeNetwork") -> None:
    """Put every replaced name back (FakeNetwork.__exit__ calls this)."""
    w = _state._world
    if w is None or w.net is not net:
        return
    _state._world = None
    net._world_thread = None
    net._replan()
    _restore(w)
