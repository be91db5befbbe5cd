"""Make ``import asyncore`` and ``import asynchat`` resolve to this package.

    import asyncore_sim.compat
    asyncore_sim.compat.install()      # before legacy code imports asyncore
    import asyncore                    # -> asyncore_sim.asyncore
    ...
    asyncore_sim.compat.uninstall()    # undo: the previous modules come back

or, scoped::

    with asyncore_sim.compat.installed():
        ...

``install`` puts entries in ``sys.modules``; modules that already did
``import asyncore`` keep the object they got (as with any import), so call it
first.  On Python 3.11 and older this also shadows the stdlib modules.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Dict, Iterator, List

from asyncore_sim import asynchat as _asynchat
from asyncore_sim import asyncore as _asyncore

__all__ = [
    "MODULES",
    "disable_socket_delegation",
    "enable_socket_delegation",
    "install",
    "installed",
    "is_installed",
    "socket_delegation_enabled",
    "uninstall",
]

#: The stdlib names this package stands in for, and the modules that do.
MODULES: Dict[str, Any] = {"asyncore": _asyncore, "asynchat": _asynchat}

_MISSING = object()
# One frame per install() not yet undone: what sys.modules held before.
_saved: List[Dict[str, Any]] = []


def install() -> None:
    """Resolve ``asyncore``/``asynchat`` to this package (nestable)."""
    _saved.append({name: sys.modules.get(name, _MISSING) for name in MODULES})
    sys.modules.update(MODULES)


def uninstall() -> None:
    """Undo the latest :func:`install`, restoring what was there before."""
    if not _saved:
        raise RuntimeError(
            "asyncore_sim.compat.uninstall() called without a matching install()"
        )
    previous = _saved.pop()
    for name, module in previous.items():
        if module is _MISSING:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module


def is_installed() -> bool:
    """True when ``asyncore``/``asynchat`` in ``sys.modules`` are this package's."""
    return all(sys.modules.get(name) is mod for name, mod in MODULES.items())


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """``install()`` for the duration of a ``with`` block."""
    install()
    try:
        yield
    finally:
        uninstall()


def enable_socket_delegation() -> None:
    """Let dispatchers delegate unknown public attributes to their socket.

    asyncore did this up to Python 3.5 (``self.getpeername()`` meaning
    ``self.socket.getpeername()``), with a DeprecationWarning since 3.4;
    CPython 3.11 does not, and neither does this package by default.  Turn it
    on for Python-2-era code.  Each delegated access warns, as 3.5 did.

    Cost: a class-level ``__getattr__`` takes every attribute lookup on every
    dispatcher off CPython 3.11's specialized fast path (about 2-3x slower
    attribute access in ``readable()``/``writable()``-heavy loops).
    """
    _asyncore.dispatcher.__getattr__ = _asyncore._delegate_to_socket  # type: ignore[attr-defined]


def disable_socket_delegation() -> None:
    """Undo :func:`enable_socket_delegation` (the 3.11 behaviour)."""
    if "__getattr__" in _asyncore.dispatcher.__dict__:
        del _asyncore.dispatcher.__getattr__  # type: ignore[attr-defined]


def socket_delegation_enabled() -> bool:
    return "__getattr__" in _asyncore.dispatcher.__dict__
