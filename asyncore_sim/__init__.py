"""asyncore-sim: a drop-in asyncore/asynchat on a pluggable I/O layer.

``import asyncore_sim as asyncore`` gives the whole asyncore surface plus the
asynchat names (``async_chat``, ``simple_producer``, ``find_prefix_at_end``).
The stdlib-shaped modules are ``asyncore_sim.asyncore`` and
``asyncore_sim.asynchat``; ``asyncore_sim.compat.install()`` makes
``import asyncore`` / ``import asynchat`` resolve to them.

Module state that legacy code reassigns (``socket_map``, and the ``socket``,
``select``, ``time`` and ``os`` modules the real network uses) lives in
``asyncore_sim.asyncore``; reading or assigning those names on this package
forwards there, so both spellings stay one.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from asyncore_sim import asynchat, asyncore
from asyncore_sim._netctx import (
    Network,
    NetworkMap,
    Poller,
    SocketLike,
    current_network,
    network_for_map,
    use_network,
)
from asyncore_sim.asynchat import async_chat, find_prefix_at_end, simple_producer
from asyncore_sim.asyncore import (
    ExitNow,
    _exception,
    _strerror,
    close_all,
    compact_traceback,
    dispatcher,
    dispatcher_with_send,
    loop,
    poll,
    poll2,
    poll3,
    poll_epoll,
    read,
    readwrite,
    write,
)

if hasattr(asyncore, "file_dispatcher"):
    from asyncore_sim.asyncore import file_dispatcher, file_wrapper

__version__ = "0.1.0"

__all__ = [
    "ExitNow",
    "Network",
    "NetworkMap",
    "Poller",
    "SocketLike",
    "async_chat",
    "asynchat",
    "asyncore",
    "close_all",
    "compact_traceback",
    "current_network",
    "dispatcher",
    "dispatcher_with_send",
    "file_dispatcher",
    "file_wrapper",
    "find_prefix_at_end",
    "loop",
    "network_for_map",
    "poll",
    "poll2",
    "poll3",
    "poll_epoll",
    "read",
    "readwrite",
    "simple_producer",
    "socket_map",
    "use_network",
    "write",
]

# Names whose value lives in asyncore_sim.asyncore (see the docstring).
_FORWARDED = frozenset({"socket_map", "socket", "select", "time", "os"})


def __getattr__(name: str) -> Any:
    if name in _FORWARDED:
        return getattr(asyncore, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


class _ForwardingModule(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FORWARDED:
            setattr(asyncore, name, value)
        else:
            super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if name in _FORWARDED:
            delattr(asyncore, name)
        else:
            super().__delattr__(name)


sys.modules[__name__].__class__ = _ForwardingModule
