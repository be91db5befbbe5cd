"""Cost: the virtual time a loop pass and a socket call take.

Off by default (``FakeNetwork(cost=None)``): virtual time then moves only
when nothing is ready, and nothing at all changes.  With
``FakeNetwork(cost=Cost(wait=20e-6, send=5e-6, recv=5e-6))`` time passes
while the program runs, as on a real machine, so a latency expressed in
virtual time can land between two busy loop passes:

- ``wait``: every readiness wait (select, poll, epoll, each pass a blocking
  call runs) first moves the clock forward by ``wait`` seconds, running the
  events that fall due (a delayed segment arrives), and only then collects
  what is ready;
- ``send``: after a ``send()`` on a stream socket that accepted bytes, the
  clock moves forward by ``send`` seconds;
- ``recv``: after a ``recv()`` on a stream socket that returned bytes, the
  clock moves forward by ``recv`` seconds.

Calls that fail or would block cost nothing.  Each quantum is a
non-negative finite number of seconds; 0 charges nothing.

Rules: a value only (attrs, frozen); no wall clock, no random.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

__all__ = ["Cost"]


def _seconds(instance: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            "Cost(%s=...) must be a number of seconds, got %r" % (attribute.name, value)
        )
    if not math.isfinite(value) or value < 0:
        raise ValueError(
            "Cost(%s=...) must be a non-negative finite number of seconds, got %r"
            % (attribute.name, value)
        )


@attrs.frozen
class Cost:
    """Seconds of virtual time charged per readiness wait, per send that
    moves bytes and per recv that returns bytes (see the module docstring)."""

    wait: float = attrs.field(default=0.0, validator=_seconds, kw_only=True)
    send: float = attrs.field(default=0.0, validator=_seconds, kw_only=True)
    recv: float = attrs.field(default=0.0, validator=_seconds, kw_only=True)
