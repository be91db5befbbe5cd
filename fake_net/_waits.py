"""The waits: readiness calls (select, poll, epoll) and blocking socket calls.

Time moves here (and in ``sleep()``): a readiness call whose descriptors are
not ready runs the schedule forward to the next event, or to the end of its
timeout; a blocking ``recv()``, ``accept()``, ``connect()`` or ``sendall()``
runs it forward until the call can complete.  What is ready comes from the
descriptor table the network keeps up to date (``_ready``/``_rready``);
:class:`~fake_net.FakePoller` picks its descriptors out of it.

Rules: never read the wall clock; a wait that can never return raises
:class:`SimulationStuck` rather than hang; a loop that spins (ready every
time, no I/O) gets the clock moved after :data:`SPIN_WAITS` waits, as real
time would pass.  With a cost model (``FakeNetwork(cost=Cost(wait=...))``,
see ``_cost``) every readiness call first moves the clock by ``cost.wait``
(running what falls due), then collects; it goes this way, not the poller's
shortcuts, as a wait rule does.

The waits' fault rules come from the injector (``_wait_faults``) as one list
of ``(fd, events)`` pairs handed to every ``collect``: ``events`` > 0 adds
those bits (``SpuriousReady``), ``events`` < 0 removes the bits ``-events``
from what the wait reports (``HideReady``); the socket's state is unchanged.
"""

from __future__ import annotations

import errno
import socket as _socket
import threading
from typing import TYPE_CHECKING, Any, Callable, List, NoReturn, Optional, Tuple

from fake_net._errors import SimulationStuck, oserror
from fake_net._world import _state as _world_state

if TYPE_CHECKING:  # pragma: no cover
    from fake_net._cost import Cost
    from fake_net._clock import Timer
    from fake_net._socket import FakeSocket

__all__ = ["SPIN_WAITS", "_Waits"]

#: A loop that keeps finding something ready but does no I/O (a dispatcher
#: whose writable() is always true, say) spins; on a real machine time passes
#: while it does, so delayed segments and timers still come.  After this many
#: such waits in a row the clock jumps to the next scheduled event.
SPIN_WAITS = 64
_NO_SPURIOUS: List[Tuple[int, int]] = []  # shared, never mutated


class _Waits:
    """FakeNetwork's waits: the body of every readiness and blocking call."""

    # This part's state (set by FakeNetwork.__init__).
    _spin_mark: int  # the activity count at the last ready wait
    _spins: int  # ready waits in a row with no activity
    # From the other parts.
    now: float
    steps: int
    _step_limit: int
    _dead: Optional[BaseException]
    _halt: Callable[[BaseException], BaseException]
    _idle: int
    _activity: int
    _timers: List[Timer]
    _wait_rules: bool  # wait rules, or a cost model, are set
    _cost: Optional[Cost]
    _advance_to: Callable[[float], None]
    _next_time: Callable[[], Optional[float]]
    _note_idle: Callable[[bool], None]
    _run_due: Callable[[], None]
    _step_budget_used_up: Callable[[], NoReturn]
    _wait_faults: Callable[[int], Tuple[bool, List[Tuple[int, int]]]]
    _log_event: Callable[[str, Optional[int], Tuple[Any, ...]], None]
    _passive: bool
    _run_world: Callable[[], bool]
    netstat: Callable[[], str]

    def _wait_ready(
        self,
        timeout: Optional[float],
        collect: Callable[[List[Tuple[int, int]]], Tuple[Any, bool]],
    ) -> Any:
        """The body of every readiness call (see FakePoller).

        Time moves only here: to the next scheduled event while nothing is
        ready and the timeout allows, else to the end of the timeout.  A
        zero-timeout wait that finds nothing jumps to the next event (a busy
        loop spins until it happens) and reports it on the next call.
        """
        # _count_step(), inlined on this hot path.
        self.steps = step = self.steps + 1
        if step > self._step_limit:
            self._step_budget_used_up()
        spurious: List[Tuple[int, int]] = _NO_SPURIOUS
        if self._wait_rules:
            cost = self._cost
            if cost is not None and cost.wait:
                # The cost model: the pass took cost.wait seconds; what fell
                # due meanwhile runs before readiness is collected.
                self._advance_to(self.now + cost.wait)
            interrupted, spurious = self._wait_faults(step - 1)
            if interrupted:
                raise oserror(errno.EINTR)
        timers = self._timers
        if timers and timers[0][0] <= self.now:
            self._run_due()
        # The common case: something is ready now.
        result, ready = collect(spurious)
        if ready:
            self._idle = 0
            if timers and not self._passive:
                return self._spin_check(timers, collect, spurious, result)
            return result
        return self._wait_on(timeout, collect, spurious)

    def _spin_check(
        self, timers: List[Any], collect: Any, spurious: Any, result: Any
    ) -> Any:
        """A wait that found something ready while timers are pending: after
        SPIN_WAITS such waits with no I/O between them, time moves to the
        next timer (a loop that never blocks still sees time pass), and
        readiness is collected again; else ``result`` as it is."""
        if self._activity != self._spin_mark:
            self._spin_mark = self._activity
            self._spins = 0
            return result
        self._spins += 1
        if self._spins < SPIN_WAITS:
            return result
        self._spins = 0
        self._advance_to(timers[0][0])
        return collect(spurious)[0]

    def _wait_on(
        self,
        timeout: Optional[float],
        collect: Callable[[List[Tuple[int, int]]], Tuple[Any, bool]],
        spurious: List[Tuple[int, int]],
    ) -> Any:
        """The rest of a wait (its step counted, its due events run) that
        found nothing ready at first: time moves here."""
        deadline = None if timeout is None else self.now + timeout
        while True:
            result, ready = collect(spurious)
            if ready:
                self._idle = 0
                return result
            nxt = self._next_time()
            if deadline is None:
                if nxt is None:
                    raise self._halt(SimulationStuck(
                        "a wait with no timeout can never return: nothing is "
                        "ready and nothing is scheduled\n%s" % self.netstat()
                    ))
                self._advance_to(nxt)
                continue
            if timeout == 0:
                if self._passive:
                    # A pass run by a blocking call (see _loops): the call
                    # owns the clock and the idle count.
                    return result
                if nxt is not None:
                    self._advance_to(nxt)
                self._note_idle(nxt is not None)
                return result
            if nxt is not None and nxt <= deadline:
                self._advance_to(nxt)
                continue
            self._advance_to(deadline)
            result, ready = collect(spurious)
            if ready:
                self._idle = 0
            else:
                # Idle only if nothing is scheduled: an event beyond this
                # wait's timeout is still progress to come.
                self._note_idle(bool(self._timers))
            return result

    def _would_block(
        self,
        sock: FakeSocket,
        op: str,
        done: Callable[[], bool],
        raise_eagain: bool = True,
    ) -> None:
        """A blocking call: run the simulation (virtual time) until ``done``."""
        if sock.timeout == 0.0:
            if raise_eagain:
                self._log_event("error", sock.fd, (op, "EAGAIN"))
                raise oserror(errno.EAGAIN)
            return
        world = _world_state._world
        if (
            world is not None
            and world.net is self
            and threading.get_ident() != world.thread
        ):
            what = "a blocking %s() on simulated fd %s" % (op, sock.fd)
            raise world.other_thread(what)
        what = "blocking %s() on fd %s" % (op, sock.fd)
        if not self._run_until(done, sock.timeout, what):
            raise _socket.timeout("timed out")

    def _run_until(
        self, done: Callable[[], bool], timeout: Optional[float], what: str
    ) -> bool:
        """Run the world in virtual time until ``done()``: True, or False
        when ``timeout`` seconds (None: no limit) passed first.

        The rest of the world runs first (every map and loop bound to this
        network, see _loops); time moves, to the next scheduled event, only
        when none of it did anything.  When nothing is scheduled and nothing
        can run, ``what`` can never complete: SimulationStuck, never a hang.
        """
        if self._dead is not None:
            self._step_budget_used_up()  # raises SimulationHalted
        deadline = None if timeout is None else self.now + timeout
        while not done():
            if self._run_world():
                continue
            if done():
                return True
            nxt = self._next_time()
            if nxt is None or (deadline is not None and nxt > deadline):
                if deadline is not None:
                    self._advance_to(deadline)
                    return bool(done())
                raise self._halt(SimulationStuck(
                    "%s can never complete: nothing is scheduled and no map or "
                    "loop of this network can make progress%s\n%s"
                    % (what, self._passive_note(), self.netstat())
                ))
            self._advance_to(nxt)
        return True

    def _passive_note(self) -> str:
        if self._passive:
            return (
                " (the call was made from inside a loop pass run by another "
                "blocking call, whose map cannot run again until it returns)"
            )
        return ""

    def _blocking_error(self, sock: FakeSocket, op: str) -> BaseException:
        return self._halt(
            SimulationStuck(
                "blocking %s() on fd %s cannot complete\n%s"
                % (op, sock.fd, self.netstat())
            )
        )
