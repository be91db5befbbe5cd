"""Events recorded by the simulated network.

Rules: an event holds only values that are the same on every machine and
every run: virtual time, file descriptors (allocated lowest-free), addresses
from the scenario, byte strings and errno names.  Never ``id()``, the wall
clock, or anything hash-ordered.

For speed the network appends plain tuples; :attr:`FakeNetwork.events`
turns them into these attrs values on demand.
"""

from __future__ import annotations

from typing import Any, Tuple

import attrs

__all__ = ["Event"]


@attrs.frozen
class Event:
    """One I/O-level event: ``time`` (virtual seconds), ``kind``, ``fd``, ``data``.

    ``kind`` is one of: socket, bind, listen, connect, accept, send, recv,
    oob_send, oob_recv, shutdown, close, error, wait, fault, file, pipe.
    ``data`` is a tuple whose meaning depends on ``kind`` (for send:
    ``(requested, accepted, bytes)``; for recv: ``(requested, bytes)``;
    for error: ``(operation, errno_name)``; for wait: ``(events,)``).
    """

    time: float
    kind: str
    fd: int
    data: Tuple[Any, ...] = ()
