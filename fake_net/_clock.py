"""Virtual time, the schedule of events and the run's budgets.

``now`` is the network's only clock.  It moves forward, never back, and only
in a wait or a sleep (see ``_waits``): to the next scheduled event, or to the
end of the sleep or of the wait's timeout.  Everything that happens later
(a segment's delivery, a FIN, a timed fault, a connection completing) is an
event on one heap, run when the clock reaches its time.

Every run has three budgets, which make a hang impossible: ``max_steps``
readiness calls and sleeps, ``max_time`` virtual seconds, and ``idle_limit``
readiness calls in a row that find nothing ready while nothing is
scheduled.  Using one up raises :class:`SimulationBudgetExceeded` or
:class:`SimulationStuck`, with a netstat of every descriptor.

Rules: never read the wall clock (this module does not import ``time``);
events due at the same time run in the order they were scheduled (the heap
orders by (time, sequence number), never by the callables or their
arguments); ``activity`` counts what the event log counts, whether or not
it records.
"""

from __future__ import annotations

import heapq
from typing import Any, Callable, List, NoReturn, Optional, Tuple

from fake_net._errors import (
    SimulationBudgetExceeded,
    SimulationHalted,
    SimulationStuck,
)

__all__ = ["Timer", "_Clock"]

#: A scheduled event: (time, sequence number, function, arguments).
Timer = Tuple[float, int, Callable[..., None], Tuple[Any, ...]]


class _Clock:
    """FakeNetwork's clock: ``sleep()``, ``monotonic()``, the schedule."""

    # This part's state (set by FakeNetwork.__init__).
    now: float
    steps: int
    _max_steps: int
    _step_limit: int  # max_steps, or -1 once the run has ended (see _halt)
    _dead: Optional[BaseException]  # the error that ended the run
    max_time: float
    idle_limit: int
    _idle: int
    _activity: int  # bumped by _log_event and the hot paths of FakeSocket
    _timers: List[Timer]
    _seq: int
    # From the other parts.
    netstat: Callable[[], str]

    @property
    def max_steps(self) -> int:
        """The step budget: readiness calls and sleeps the run may make."""
        return self._max_steps

    @max_steps.setter
    def max_steps(self, value: int) -> None:
        self._max_steps = value
        if self._dead is None:
            self._step_limit = value

    def _halt(self, error: BaseException) -> BaseException:
        """``error`` ends the run: it is raised now, and every later wait or
        sleep raises SimulationHalted (the step limit drops to -1, so the
        hot paths need no test of their own)."""
        if self._dead is None:
            self._dead = error
            self._step_limit = -1
        return error

    def sleep(self, seconds: Optional[float]) -> None:
        if seconds is None:
            raise TypeError("'NoneType' object cannot be interpreted as an integer")
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        self._count_step()
        self._advance_to(self.now + seconds)
        self._note_idle(bool(self._timers))

    def monotonic(self) -> float:
        return self.now

    @property
    def activity(self) -> int:
        """How many operations (sends, recvs, accepts, faults...) so far."""
        return self._activity

    @property
    def scheduled(self) -> int:
        """How many events (deliveries, timed faults...) are still to come."""
        return len(self._timers)

    @property
    def idle(self) -> int:
        """How many readiness calls in a row found nothing ready while
        nothing was scheduled: > 0 means the run has gone quiet."""
        return self._idle

    def _schedule(self, when: float, fn: Callable[..., None], *args: Any) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (when, self._seq, fn, args))

    def _run_due(self) -> None:
        timers = self._timers
        while timers and timers[0][0] <= self.now:
            _, _, fn, args = heapq.heappop(timers)
            fn(*args)

    def _advance_to(self, when: float) -> None:
        """Move the clock to ``when``, running every event due by then."""
        timers = self._timers
        while timers and timers[0][0] <= when:
            at, _, fn, args = heapq.heappop(timers)
            if at > self.now:
                self.now = at
            fn(*args)
        if when > self.now:
            self.now = when
        if self.now > self.max_time:
            raise self._halt(SimulationBudgetExceeded(
                "virtual time budget of %g s used up\n%s"
                % (self.max_time, self.netstat())
            ))

    def _next_time(self) -> Optional[float]:
        return self._timers[0][0] if self._timers else None

    def _count_step(self) -> int:
        self.steps += 1
        if self.steps > self._step_limit:
            self._step_budget_used_up()
        return self.steps - 1

    def _step_budget_used_up(self) -> NoReturn:
        if self._dead is not None:
            raise SimulationHalted(
                "the simulation has ended and cannot go on; it ended with: %s"
                % (self._dead,)
            )
        raise self._halt(SimulationBudgetExceeded(
            "step budget of %d readiness calls used up\n%s"
            % (self.max_steps, self.netstat())
        ))

    def _note_idle(self, pending: bool) -> None:
        if pending:
            self._idle = 0
            return
        self._idle += 1
        if self._idle > self.idle_limit:
            raise self._halt(SimulationStuck(
                "nothing has been ready for %d readiness calls and nothing is "
                "scheduled: the run cannot make progress\n%s"
                % (self._idle - 1, self.netstat())
            ))
