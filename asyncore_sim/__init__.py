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
from asyncore_seam import (
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
    _exception as _exception,
    _strerror as _strerror,
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

# The layers meet here: with no map or context naming a network, the core
# uses the operating system's (the stdlib's behaviour).
import real_net as _real_net  # noqa: E402
import asyncore_seam as _seam  # noqa: E402

_seam.set_default_network(_real_net.RealNetwork)

if sys.version_info >= (3, 12):
    # `import asyncore` is ours there (top-level asyncore.py/asynchat.py);
    # warn, once, when pyasyncore or another copy answers to it instead.
    from asyncore_sim import compat as _compat  # noqa: E402

    _compat._warn_about_top_level_conflicts()

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

# Names whose value lives in asyncore_sim.asyncore (see the docstring).  They
# are data descriptors on the module's class, so reads, assignments, deletes
# and tools such as pytest's monkeypatch all reach the one real binding.
_FORWARDED = ("socket_map", "socket", "select", "time", "os")


def _forwarder(name: str) -> property:
    def get(self: types.ModuleType) -> Any:
        return getattr(asyncore, name)

    def set(self: types.ModuleType, value: Any) -> None:
        setattr(asyncore, name, value)

    def delete(self: types.ModuleType) -> None:
        delattr(asyncore, name)

    return property(get, set, delete, "forwarded to asyncore_sim.asyncore.%s" % name)


_ForwardingModule = type(
    "_ForwardingModule",
    (types.ModuleType,),
    {name: _forwarder(name) for name in _FORWARDED},
)

sys.modules[__name__].__class__ = _ForwardingModule
