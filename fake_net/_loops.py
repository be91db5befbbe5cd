"""The loops a blocking call runs: the world moves while a program waits.

A blocking ``recv()`` on a client whose server is a dispatcher in a map of
the same network cannot complete until the server runs.  On a real machine
the kernel runs both; here one thread holds both, so the waiting call runs
the rest of the world forward itself: one pass of every map bound to this
network (maps made by ``net.map()`` or ``NetworkMap(net)``, and the core's
default map while the network is active), then every loop a program
registered with :meth:`add_loop`, and only when none of them did anything,
virtual time moves to the next scheduled event.

A pass never waits (timeout 0) and never moves the clock itself
(``_passive``): the blocking call owns time.  A map or a registered loop
whose pass is under way further up the stack (the blocking call came from one
of its callbacks, or it is the loop's own select) is skipped, so no handler
is re-entered; if only it could make progress, the call is reported as
stuck rather than hidden.

Rules: maps and loops run in the order they were registered (lists, never
sets).  The network holds its maps for as long as it lives: a server made as
``Server(map=net.map())`` is a cycle of map and dispatchers that nothing
else refers to, and must go on serving.
"""

from __future__ import annotations

from typing import Any, Callable, List

import asyncore_seam as _seam

__all__ = ["_Loops"]


class _Loops:
    """FakeNetwork's registry of maps and loops, and the pass over them."""

    # This part's state (set by FakeNetwork.__init__).
    _maps: List[Any]
    _loops: List[Callable[[], Any]]
    _passive: bool  # a pass is running: waits inside it do not move time
    _running: List[Callable[[], Any]]  # registered loops in mid-pass
    # From the other parts.
    _activity: int
    _token: Any

    def adopt_map(self, map: Any) -> None:
        """Run ``map`` when a blocking call waits (``NetworkMap`` calls this)."""
        self._maps.append(map)

    def add_loop(self, step: Callable[[], Any]) -> Callable[[], None]:
        """Run ``step()`` (one pass of a program's own event loop, which must
        not block) whenever a blocking call waits; returns a function that
        removes it again."""
        self._loops.append(step)

        def remove() -> None:
            if step in self._loops:
                self._loops.remove(step)

        return remove

    def _maps_to_run(self) -> List[Any]:
        maps = list(self._maps)
        if self._token is not None:
            runner = _seam.loop_runner()
            if runner is not None:
                default = runner.default_map()
                if all(m is not default for m in maps):
                    maps.append(default)
        return maps

    def _run_world(self) -> bool:
        """One pass of every map and loop; True if any I/O happened."""
        runner = _seam.loop_runner()
        before = self._activity
        was_passive, self._passive = self._passive, True
        try:
            if runner is not None:
                for m in self._maps_to_run():
                    runner.run_once(m)
            for step in list(self._loops):
                if step in self._running:
                    # This loop's pass is what is waiting (its own select
                    # or a blocking call from one of its callbacks).
                    continue
                self._running.append(step)
                try:
                    step()
                finally:
                    self._running.remove(step)
        finally:
            self._passive = was_passive
        return self._activity != before
