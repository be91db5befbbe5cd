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

``Cost.loopback()`` is what these cost on a real Linux loopback, measured
with ``benchmarks/bench_cost_defaults.py`` on the project's machines (2
cores, Linux 6.18, CPython 3.11, three runs under load): a loop pass over
two channels (readiness call and readable()/writable() calls) 4.2-5.7 µs,
a 100-byte TCP send 7.8-9.7 µs (on loopback the send does the whole
delivery), a recv of queued bytes 0.75-0.83 µs; rounded to
``wait=5us send=8us recv=1us``.  Measured there, the loopback itself
delivers a send before the call returns (no latency: links stay off); a
segment seen a pass late comes from Nagle's algorithm holding it (see
``tests/test_one_pass_lag.py``), which ``HideReady`` expresses.

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

    @classmethod
    def loopback(cls) -> "Cost":
        """The quanta measured on a real Linux loopback (module docstring)."""
        return cls(wait=5e-6, send=8e-6, recv=1e-6)
