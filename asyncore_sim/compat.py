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

On Python 3.12+ the distribution also installs top-level ``asyncore`` and
``asynchat`` modules that are this package's, so plain ``import asyncore``
works without ``install()``.  When something else answers to those names
there (pyasyncore/pyasynchat, whose packages win over a module file in the
same directory), importing :mod:`asyncore_sim` warns once with
:class:`TopLevelModuleWarning`; :func:`top_level_conflicts` says which.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from typing import Any, Dict, Iterator, List, Optional

from asyncore_sim import asynchat as _asynchat
from asyncore_sim import asyncore as _asyncore

__all__ = [
    "MODULES",
    "TopLevelModuleWarning",
    "disable_socket_delegation",
    "enable_socket_delegation",
    "install",
    "installed",
    "is_installed",
    "socket_delegation_enabled",
    "top_level_conflicts",
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


# ---------------------------------------------------------------------------
# The top-level asyncore/asynchat modules on Python 3.12+
# ---------------------------------------------------------------------------

#: A line in the distribution's top-level ``asyncore.py``/``asynchat.py``.
_TOP_LEVEL_MARK = b"# asyncore-sim top-level module"

#: ``{name: file}``, filled on first use: the check runs once per process.
_conflicts: Optional[Dict[str, str]] = None


class TopLevelModuleWarning(RuntimeWarning):
    """``import asyncore`` (or ``asynchat``) gives another implementation."""


def _our_top_level_file(name: str) -> str:
    """Where the distribution puts its top-level module ``name``."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(_asyncore.__file__)))
    return os.path.join(root, name + ".py")


def _is_ours(origin: str, name: str) -> bool:
    if os.path.normcase(os.path.abspath(origin)) == os.path.normcase(
            _our_top_level_file(name)):
        return True
    if not origin.endswith(".py"):
        return False
    try:  # another copy of our module (a checkout and an installed copy)
        with open(origin, "rb") as f:
            return _TOP_LEVEL_MARK in f.read(2048)
    except OSError:
        return False


def _foreign_origin(name: str) -> Optional[str]:
    """The file ``import name`` gives when it is not this package's module."""
    module = sys.modules.get(name)
    if module is MODULES[name]:
        return None
    if module is not None:
        spec = getattr(module, "__spec__", None)
    else:
        import importlib.util

        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
    if spec is None:
        return None  # nothing answers to the name: nothing to mix with
    origin = spec.origin
    if not origin or origin in ("built-in", "frozen", "namespace"):
        locations = list(spec.submodule_search_locations or ())
        return locations[0] if locations else repr(spec)
    return None if _is_ours(origin, name) else origin


def top_level_conflicts() -> Dict[str, str]:
    """``{name: file}`` for each of ``asyncore``/``asynchat`` that a plain
    import would take from somewhere other than this package (pyasyncore,
    pyasynchat, a stray copy), on Python 3.12+; empty on 3.11 and older,
    where the stdlib's modules keep those names.  Computed once per process.
    """
    global _conflicts
    if _conflicts is None:
        found: Dict[str, str] = {}
        if sys.version_info >= (3, 12):
            for name in MODULES:
                origin = _foreign_origin(name)
                if origin is not None:
                    found[name] = origin
        _conflicts = found
    return dict(_conflicts)


def _warn_about_top_level_conflicts() -> None:
    """Called once by ``import asyncore_sim`` on Python 3.12+."""
    conflicts = top_level_conflicts()
    if not conflicts:
        return
    lines = ["`import %s` gives %s, not asyncore-sim's %s" % (
        name, conflicts[name], _our_top_level_file(name))
        for name in MODULES if name in conflicts]
    warnings.warn(
        "asyncore-sim: %s (pyasyncore/pyasynchat are installed too?): code that "
        "imports them runs on another implementation than asyncore_sim, with "
        "its own dispatcher class and socket map.  Fix: `pip uninstall "
        "pyasyncore pyasynchat`, or call asyncore_sim.compat.install() before "
        "anything imports asyncore, so that this process uses asyncore-sim's."
        % "; ".join(lines),
        TopLevelModuleWarning,
        stacklevel=3,
    )
