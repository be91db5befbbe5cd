"""Errors of the simulated network.

Socket errors are real ``OSError``s built as the kernel's would be:
``OSError(code, os.strerror(code))``, which Python turns into the matching
subclass (``BlockingIOError`` for EAGAIN, ``ConnectionResetError`` for
ECONNRESET, ...), with Linux's errno and message.
"""

from __future__ import annotations

import os

from asyncore_seam import RealSocketForbidden

__all__ = [
    "oserror",
    "SimulationError",
    "SimulationStuck",
    "SimulationBudgetExceeded",
    "SimulationHalted",
    "RealSocketForbidden",
]


def oserror(code: int) -> OSError:
    """The ``OSError`` the kernel would raise for ``code``."""
    return OSError(code, os.strerror(code))


class SimulationError(RuntimeError):
    """The simulation cannot go on; the message says why and shows the sockets."""


class SimulationStuck(SimulationError):
    """Nothing is ready and nothing ever can become ready."""


class SimulationBudgetExceeded(SimulationError):
    """The run used up its step or virtual-time budget."""


class SimulationHalted(BaseException):
    """The simulation ended for good: every wait after a
    :class:`SimulationStuck` or :class:`SimulationBudgetExceeded` raises this.

    It derives from ``BaseException``, as ``KeyboardInterrupt`` does, so that a
    legacy loop that swallows every ``Exception`` (``while map: try:
    asyncore.loop() except Exception: log()``) still ends instead of spinning
    for ever.  Its message repeats the first error's.
    """
