"""FakePoller: select, poll and epoll over the simulated network.

The network keeps the readiness of every descriptor up to date as state
changes (like the kernel's ready lists), so a wait looks only at descriptors
that are ready for more than writing, plus those the core wants to write to:
its cost follows what is ready, not how many channels there are.

``wait`` answers the common case (the same interest as last time, nothing
to write to, nothing scheduled, no wait rules, something ready to read) in
its own frame; anything else goes through ``_wait`` and the network's
``_wait_ready``, with the same outcome.  Wait rules and the cost model
(``_cost``) always take that longer way; the collectors apply the wait
rules' list (added bits, and hidden ones: see ``_waits``).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from fake_net._errors import SimulationError, oserror
from fake_net._waits import _NO_SPURIOUS

if TYPE_CHECKING:  # pragma: no cover
    from fake_net._network import FakeNetwork

__all__ = ["FakePoller"]

IN, PRI, OUT, ERR, HUP, NVAL = 1, 2, 4, 8, 16, 32
# select(): readable on IN, HUP or ERR; writable on OUT or ERR (Linux).
_READ_SET = IN | HUP | ERR
FD_SETSIZE = 1024
_NONE: Tuple[int, ...] = ()  # an empty list of a select() answer (see wait)
# Interest views kept per poller (see _set_interest): for maps of at most
# _VIEW_FDS descriptors, at most _VIEWS different sets of masks.
_VIEW_FDS = 64
_VIEWS = 16


# The common case's answers (see wait) as tables indexed [interest][revents]:
# on 3.11 and 3.13 an index into a tuple is a specialized instruction, the
# & of two ints a generic call.  Readiness holds only the five bits above
# (what the network's _set_ready is given); an interest with bits beyond
# IN|PRI|OUT (a program's own poll() masks) takes the full wait instead.
def _select_case(m: int, rev: int) -> int:
    """1: readable, 2: exceptional, 3: both, 4: the core wants to write
    to it and ERR is up (the full wait lists writers), 0: none."""
    if m & OUT and rev & ERR:
        return 4
    readable = 1 if m & IN and rev & _READ_SET else 0
    return readable | (2 if m & PRI and rev & PRI else 0)


_TABLE_MASKS = frozenset(range(8))  # the interests the tables hold
_SELECT_CASE = tuple(
    tuple(_select_case(m, rev) for rev in range(32)) for m in range(8)
)
# poll/epoll: the events reported for an interest (ERR and HUP always are).
_POLL_EVENTS = tuple(
    tuple(rev & (m | ERR | HUP) for rev in range(32)) for m in range(8)
)


def _foreign(net: "FakeNetwork", fd: int) -> SimulationError:
    """A descriptor this network never made, in a wait on it: name it."""
    where = ""
    for m in net._maps_to_run():
        obj = m.get(fd)
        if obj is not None:
            sock = getattr(obj, "socket", None)
            kind = "a " + type(m).__name__
            if type(m) is dict:
                kind = "the default socket map"
            where = " It belongs to %s (socket %r) in %s." % (
                type(obj).__name__,
                sock,
                kind,
            )
            break
    return SimulationError(
        "descriptor %d in a wait on %r was never made by that network: a real "
        "socket, pipe or file in a simulated map?%s Make it inside the "
        "simulation (with net: ..., or net.socket()/net.pipe()) instead."
        % (fd, net, where)
    )


class FakePoller:
    """A readiness waiter of one method ("select", "poll" or "epoll")."""

    def __init__(self, net: "FakeNetwork", method: str) -> None:
        self.net = net
        self.method = method
        self._select = method == "select"
        self._interest: Dict[int, int] = {}
        self._want_out: List[int] = []
        self._pos: Dict[int, int] = {}
        self._generation = -1
        self._invalid: List[int] = []
        self._too_big = False
        # Whether the common case is out of reach for the interest now:
        # writers to look at, invalid descriptors, one past FD_SETSIZE, or
        # masks beyond IN|PRI|OUT (set by _wait).
        self._slow = True
        self._wide = False
        # The descriptors of the last change, and a view (interest, want_out,
        # too_big, generation at which no fd of it was invalid, else -1, wide) per
        # tuple of masks seen with them: a channel whose writable() turns on
        # and off switches between two views instead of building them anew.
        self._fds: List[Any] = []
        self._views: Dict[Tuple[int, ...], List[Any]] = {}
        self._view: Optional[List[Any]] = None

    def forget(self, fd: Any) -> None:
        pass

    def close(self) -> None:
        self._interest = {}

    def wait(
        self,
        fds: List[Any],
        masks: List[int],
        changed: bool,
        reset: Sequence[Any],
        timeout: Optional[float],
    ) -> Any:
        net = self.net
        if (
            changed
            or self._generation != net._generation
            or self._slow
            or net._timers
            or net._wait_rules
        ):
            return self._wait(fds, masks, changed, reset, timeout)
        # The common case, in one frame: the same interest, no descriptor
        # released since the last wait, none to write to, nothing scheduled,
        # no wait rules.  Only what is ready for more than writing can
        # answer (_rready); when nothing does, the full wait runs (it
        # collects again: collecting changes nothing).
        interest = self._interest
        step = net.steps + 1
        if step > net._step_limit:
            return self._wait(fds, masks, changed, reset, timeout)
        if self._select:
            # The lists that stay empty are one shared empty tuple (the
            # callers only iterate them): no list is made for them.
            r: Any = _NONE
            e: Any = _NONE
            case = _SELECT_CASE
            for fd, rev in net._rready.items():
                m = interest.get(fd)
                if m:
                    c = case[m][rev]
                    if c == 1:
                        if r:
                            r.append(fd)
                        else:
                            r = [fd]
                    elif c:
                        if c == 4:
                            break  # a writer: the full wait builds that list
                        if c == 3:
                            if r:
                                r.append(fd)
                            else:
                                r = [fd]
                        if e:
                            e.append(fd)
                        else:
                            e = [fd]
            else:
                if r or e:
                    net.steps = step
                    net._idle = 0
                    if len(r) > 1:
                        r.sort(key=self._pos.__getitem__)
                    if e and len(e) > 1:
                        e.sort(key=self._pos.__getitem__)
                    return r, _NONE, e
            return self._wait(fds, masks, changed, reset, timeout)
        result = []
        events = _POLL_EVENTS
        for fd, rev in net._rready.items():
            m = interest.get(fd)
            if m:
                m = events[m][rev]
                if m:
                    result.append((fd, m))
        if result:
            net.steps = step
            net._idle = 0
            return result
        return self._wait(fds, masks, changed, reset, timeout)

    def _wait(
        self,
        fds: List[Any],
        masks: List[int],
        changed: bool,
        reset: Sequence[Any],
        timeout: Optional[float],
    ) -> Any:
        """The wait in full (see wait for its common case)."""
        net = self.net
        if changed:
            # The core's interest changed: a view seen before with these
            # descriptors, or a new one (_set_interest).
            view = (
                self._views.get(tuple(masks))
                if len(fds) <= _VIEW_FDS and fds == self._fds
                else None
            )
            if view is None:
                view = self._set_interest(fds, masks)
            self._view = view
            self._interest, self._want_out, self._too_big, clean, wide = view
            # Which fds are invalid is known while the generation is the
            # one at which none of this view's was; else it is computed below.
            if clean == net._generation:
                self._invalid = []
                self._generation = clean
            else:
                self._generation = -1
            self._wide = wide
        if self._too_big:
            self._slow = True
            raise ValueError("filedescriptor out of range in select()")
        if self._generation != net._generation:
            objects = net._objects
            self._invalid = [fd for fd in self._interest if fd not in objects]
            self._generation = net._generation
            view = self._view
            if view is not None:
                # No descriptor leaves _objects but by a release, which
                # bumps the generation: none invalid now, none until then.
                view[3] = -1 if self._invalid else net._generation
            for fd in self._invalid:
                if isinstance(fd, int) and fd >= 0 and not net._ever_made(fd):
                    raise _foreign(net, fd)
        self._slow = bool(self._want_out or self._invalid or self._wide)
        if self._invalid and self._select:
            # select() refuses a descriptor that is not open.
            raise oserror(errno.EBADF)
        collect = self._collect_select if self._select else self._collect_poll
        timers = net._timers
        if net._wait_rules or (timers and timers[0][0] <= net.now):
            return net._wait_ready(timeout, collect)
        # The common case of _wait_ready, inlined: no wait rules, nothing
        # due; its outcome is the same.
        step = net.steps + 1
        if step > net._step_limit:
            return net._wait_ready(timeout, collect)
        net.steps = step
        result, ready = collect(_NO_SPURIOUS)
        if not ready:
            return net._wait_on(timeout, collect, _NO_SPURIOUS)
        net._idle = 0
        if timers and not net._passive:
            return net._spin_check(timers, collect, _NO_SPURIOUS, result)
        return result

    def _set_interest(self, fds: List[Any], masks: List[int]) -> List[Any]:
        """A new view of ``fds`` with ``masks`` (see ``_views``), kept for
        small maps."""
        small = len(fds) <= _VIEW_FDS
        if not (small and fds == self._fds):
            self._fds = list(fds) if small else []
            self._views = {}
            self._pos = {fd: i for i, fd in enumerate(fds)}
        interest = {fd: m for fd, m in zip(fds, masks) if m}
        view = [
            interest,
            [fd for fd, m in interest.items() if m & OUT],
            # select() cannot take a descriptor >= FD_SETSIZE (1024 on
            # Linux): CPython raises ValueError while building the fd_set.
            self._select and any(fd >= FD_SETSIZE for fd in interest),
            -1,
            # Masks beyond IN|PRI|OUT (see _SELECT_CASE), found in one C
            # call: this runs for every new view (each example's network
            # makes its own).
            not _TABLE_MASKS.issuperset(interest.values()),
        ]
        if small and len(self._views) < _VIEWS:
            self._views[tuple(masks)] = view
        return view

    def _collect_poll(self, spurious: List[Tuple[int, int]]) -> Tuple[Any, bool]:
        interest = self._interest
        rready = self.net._rready
        # rready's entries that the interest asks for, in order.
        out = []
        for fd, rev in rready.items():
            m = interest.get(fd)
            if m:
                r = rev & (m | ERR | HUP)
                if r:
                    out.append((fd, r))
        if not (self._invalid or spurious):
            if not self._want_out:
                return out, bool(out)  # nothing to merge
            # Writers to add after them (a datagram socket always can
            # write), unless one of them is in rready too.
            ready = self.net._ready
            n = len(out)
            for fd in self._want_out:
                if ready.get(fd, 0) & OUT:
                    if fd in rready:
                        del out[n:]
                        break  # to merge: the dict below
                    out.append((fd, OUT))
            else:
                return out, bool(out)
        events: Dict[int, int] = dict(out)
        if self._want_out:
            ready = self.net._ready
            for fd in self._want_out:
                if ready.get(fd, 0) & OUT:
                    events[fd] = events.get(fd, 0) | OUT
        for fd in self._invalid:
            events[fd] = NVAL
        for fd, ev in spurious:
            if ev < 0:  # HideReady: those bits go from the answer
                r = events.get(fd, 0) & ~-ev
                if r:
                    events[fd] = r
                else:
                    events.pop(fd, None)
                continue
            m = interest.get(fd)
            if m and ev & m:
                events[fd] = events.get(fd, 0) | (ev & m)
        out = list(events.items())
        return out, bool(out)

    def _collect_select(self, spurious: List[Tuple[int, int]]) -> Tuple[Any, bool]:
        interest = self._interest
        r: List[int] = []
        w: List[int] = []
        e: List[int] = []
        for fd, rev in self.net._rready.items():
            m = interest.get(fd)
            if not m:
                continue
            if m & IN and rev & _READ_SET:
                r.append(fd)
            if m & OUT and rev & ERR:
                w.append(fd)
            if m & PRI and rev & PRI:
                e.append(fd)
        if self._want_out:
            ready = self.net._ready
            for fd in self._want_out:
                rev = ready.get(fd, 0)
                if rev & OUT and not rev & ERR:
                    w.append(fd)
        for fd, ev in spurious:
            if ev < 0:  # HideReady: out of the lists of those bits
                for bit, lst in ((IN, r), (OUT, w), (PRI, e)):
                    if -ev & bit and fd in lst:
                        lst.remove(fd)
                continue
            m = interest.get(fd, 0)
            for bit, lst in ((IN, r), (OUT, w), (PRI, e)):
                if ev & bit and m & bit and fd not in lst:
                    lst.append(fd)
        if not (r or w or e):
            return ([], [], []), False
        pos = self._pos
        for lst in (r, w, e):
            if len(lst) > 1:
                lst.sort(key=pos.__getitem__)
        return (r, w, e), True
