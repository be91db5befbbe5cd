"""A drop-in ``asyncore`` (as of CPython 3.11) whose core does no I/O itself.

Names, signatures, defaults, callback order and errno handling follow
CPython 3.11's ``Lib/asyncore.py``; comments say where that is not obvious.
All I/O goes through a network object (see ``asyncore_seam``): the
real one by default, a simulated one when the map or the context says so.

Like the stdlib module, this module's globals ``socket``, ``select``,
``time``, ``os`` and ``socket_map`` are looked up at call time, so tests that
monkeypatch ``asyncore.socket`` or ``asyncore.socket_map`` keep working.

Rules: the loop never iterates a set; channels are visited in map order; the
readiness answer is dispatched in map order whatever the backend.
"""

from __future__ import annotations

import operator
import os
import select
import socket
import sys
import time
import warnings
from errno import (
    EAGAIN,
    EALREADY,
    EBADF,
    ECONNABORTED,
    ECONNRESET,
    EINPROGRESS,
    EINVAL,
    EISCONN,
    ENOTCONN,
    EPIPE,
    ESHUTDOWN,
    EWOULDBLOCK,
    errorcode,
)
from typing import Any, Dict, List, Optional, Sequence, Tuple

import asyncore_seam as _seam
from asyncore_seam import network_for_map

__all__ = [
    "ExitNow",
    "close_all",
    "compact_traceback",
    "dispatcher",
    "dispatcher_with_send",
    "file_dispatcher",
    "file_wrapper",
    "loop",
    "poll",
    "poll2",
    "poll3",
    "poll_epoll",
    "read",
    "readwrite",
    "socket_map",
    "write",
]

# Referenced so that linters see the stdlib-compatible module attributes as
# used: legacy tests monkeypatch them and the real network reads them.
_PATCHABLE = (select, socket, time, os, warnings)

# The errnos CPython 3.11 treats as "the peer is gone": send/recv turn them
# into handle_close(), readwrite() too.
_DISCONNECTED = frozenset(
    {ECONNRESET, ENOTCONN, ESHUTDOWN, ECONNABORTED, EPIPE, EBADF}
)

# Poll bits (the same values for poll and epoll on Linux).
_IN = getattr(select, "POLLIN", 1)
_PRI = getattr(select, "POLLPRI", 2)
_OUT = getattr(select, "POLLOUT", 4)
_ERR = getattr(select, "POLLERR", 8)
_HUP = getattr(select, "POLLHUP", 16)
_NVAL = getattr(select, "POLLNVAL", 32)
_CLOSE_BITS = _HUP | _ERR | _NVAL

try:
    socket_map  # type: ignore[has-type,used-before-def]  # noqa: B018
except NameError:
    # Kept across reloads, as the stdlib does.
    socket_map: Dict[int, Any] = {}


def _strerror(err: int) -> str:
    try:
        return os.strerror(err)
    except (ValueError, OverflowError, NameError):
        if err in errorcode:
            return errorcode[err]
        return "Unknown error %s" % err


class ExitNow(Exception):
    """Raise from a handler to leave ``loop()``; never passed to handle_error."""


_reraised_exceptions = (ExitNow, KeyboardInterrupt, SystemExit)

# The active trace recorder (asyncore_sim.trace.Recorder), or None.  Every
# callback site checks it with one global load, so a run that is not being
# recorded pays next to nothing; the interest pass switches to a recording
# variant per loop() call instead of checking per channel.
_tracer: Any = None


def _note(obj: Any, name: str) -> None:
    """Report a callback on a cold path (errors, closes); the hot paths
    (read, write, connect, accept) test ``_tracer`` inline instead."""
    if _tracer is not None:
        _tracer.callback(obj, name)


def read(obj: Any) -> None:
    try:
        obj.handle_read_event()
    except _reraised_exceptions:
        raise
    except BaseException:
        _note(obj, "handle_error")
        obj.handle_error()


def write(obj: Any) -> None:
    try:
        obj.handle_write_event()
    except _reraised_exceptions:
        raise
    except BaseException:
        _note(obj, "handle_error")
        obj.handle_error()


def _exception(obj: Any) -> None:
    try:
        obj.handle_expt_event()
    except _reraised_exceptions:
        raise
    except BaseException:
        _note(obj, "handle_error")
        obj.handle_error()


def readwrite(obj: Any, flags: int) -> None:
    """Dispatch one poll() answer: read, write, priority, then hang-up.

    Matches CPython 3.11: an OSError with a disconnect errno becomes
    handle_close(), any other error goes to handle_error().
    """
    try:
        if flags == _IN:
            # The common answers, one bit each: what the tests below do for
            # them, with one int compare instead of four bitwise ands.
            obj.handle_read_event()
        elif flags == _OUT:
            obj.handle_write_event()
        else:
            if flags & _IN:
                obj.handle_read_event()
            if flags & _OUT:
                obj.handle_write_event()
            if flags & _PRI:
                obj.handle_expt_event()
            if flags & _CLOSE_BITS:
                _note(obj, "handle_close")
                obj.handle_close()
    except OSError as e:
        if e.errno not in _DISCONNECTED:
            _note(obj, "handle_error")
            obj.handle_error()
        else:
            _note(obj, "handle_close")
            obj.handle_close()
    except _reraised_exceptions:
        raise
    except BaseException:
        _note(obj, "handle_error")
        obj.handle_error()


# ---------------------------------------------------------------------------
# The loop: interest is computed in map order, handed to a persistent poller,
# and the answer dispatched in map order.
# ---------------------------------------------------------------------------

# Readiness state is kept per map between calls of loop()/poll()/poll2(),
# so that epoll and poll registrations survive ``loop(count=1)`` patterns.
# A kept waiter holds its map; it is released (its poller closed) when the
# map empties, on close_all(map), or when more than _MAX_KEPT maps are kept
# (least recently used first).  A nested or concurrent loop on a map whose
# waiter is busy gets a waiter of its own for that call.
_KEPT: Dict[int, "_Waiter"] = {}
_BORROWED: List["_Waiter"] = []
_MAX_KEPT = 32


def _forget_fd(map: Any, fd: Any) -> None:
    """A dispatcher added or removed ``fd`` on ``map``."""
    waiter = _KEPT.get(id(map))
    if waiter is not None and waiter.map is map:
        waiter.forget(fd)
    for waiter in _BORROWED:
        if waiter.map is map:
            waiter.forget(fd)


def _drop_kept(map: Any) -> None:
    """Release the waiter kept for ``map`` unless a loop is using it."""
    waiter = _KEPT.get(id(map))
    if waiter is not None and waiter.map is map and not waiter.busy:
        del _KEPT[id(map)]
        waiter.close()


# The waiter _acquire() last handed out from _KEPT, which is therefore
# _KEPT's last (most recently used) entry; _NO_WAITER once it is closed.  loop()
# and the poll functions reuse it without a look-up when the same map, method
# and network come back: the common case of a server driving poll() itself.
class _NoWaiter:
    """What _MRU holds when no waiter is: it matches no map."""

    map = object()
    plain = False
    busy = True


_NO_WAITER = _NoWaiter()
_MRU: Any = _NO_WAITER
# The context's network, or None for the default one (asyncore_seam's
# current_network() without the Python call).
_current_get = _seam.current_network_or_none


def _acquire(map: Any, method: str, net: Any) -> "_Waiter":
    global _MRU
    key = id(map)
    waiter = _KEPT.get(key)
    if waiter is not None:
        if waiter.busy:
            # Nested or concurrent use of one map: a waiter for this call.
            borrowed = _Waiter(map, method, net)
            borrowed.busy = True
            borrowed.borrowed = True
            _BORROWED.append(borrowed)
            return borrowed
        del _KEPT[key]
        if waiter.map is map and waiter.method == method and waiter.net is net:
            _KEPT[key] = waiter  # most recently used last
            waiter.busy = True
            _MRU = waiter
            return waiter
        waiter.close()
    waiter = _Waiter(map, method, net)
    waiter.busy = True
    _KEPT[key] = waiter
    _MRU = waiter
    if len(_KEPT) > _MAX_KEPT:
        for old_key, old in list(_KEPT.items()):
            if not old.busy:
                del _KEPT[old_key]
                old.close()
                break
    return waiter


def _release(waiter: "_Waiter") -> None:
    """The slow half of giving a waiter back (the callers clear ``busy``
    and come here only for a borrowed waiter or an emptied map)."""
    waiter.busy = False
    for i, borrowed in enumerate(_BORROWED):
        if borrowed is waiter:
            del _BORROWED[i]
            waiter.close()
            return
    if not waiter.map:
        _drop_kept(waiter.map)


_first = operator.itemgetter(0)
# Maps smaller than this build their masks with a loop, not a comprehension
# (see _step_select): on 3.11 only; 3.12 inlines comprehensions (PEP 709).
_SMALL_MAP = 8 if sys.version_info < (3, 12) else 0
_NO_RESET: Tuple[Any, ...] = ()  # no channel object replaced (Poller.wait)


def _in_map_order(events: Any, pos: Dict[Any, int]) -> List[Tuple[Any, int]]:
    """``[(fd, flags), ...]`` sorted by the fds' places in the map (``pos``
    maps fd to place): the stable sort ``sorted(events, key=lambda ev:
    pos.get(ev[0], -1))``, with the places looked up and compared in C
    (about a fifth fewer instructions than sorting a dict keyed by place;
    a repeated descriptor keeps its order, as in that sort).  Should a
    descriptor not in ``pos`` turn up, that sort itself does the work
    (unknown descriptors first)."""
    try:
        places = list(map(pos.__getitem__, map(_first, events)))
    except KeyError:
        return sorted(events, key=lambda ev: pos.get(ev[0], -1))
    return [events[i] for i in sorted(range(len(places)), key=places.__getitem__)]


class _Waiter:
    """One map's readiness state, kept from one iteration to the next.

    Each step snapshots the map's values (as CPython does with
    ``list(map.items())``), asks every channel ``readable()`` then
    ``writable()`` in map order, and hands the interest to the poller, saying
    whether it differs from the previous step's.  The keys are re-read only
    when the values, the length, the last key or a dispatcher's
    add_channel/del_channel say the map changed: a direct map edit that
    re-keys two or more channels yet leaves the values in the same order is
    the one change noticed only at the next other change.
    """

    __slots__ = ("map", "net", "method", "poller", "fds", "objs", "masks",
                 "last", "pos", "dirty", "any_interest", "step", "identity",
                 "busy", "borrowed", "plain", "isdict", "rev")

    def __init__(self, map: Any, method: str, net: Any) -> None:
        self.map = map
        self.net = net
        self.method = method
        self.busy = False
        self.borrowed = False
        # A plain dict's network is the current one (network_for_map,
        # inlined in loop/poll).
        self.plain = type(map) is dict
        self.isdict = isinstance(map, dict)
        # reversed(map) without the builtin's dispatch (dicts only).
        self.rev: Any = map.__reversed__ if self.isdict else None
        self.poller = net.poller(method)
        # Pollers with kernel-side registrations must hear of descriptors
        # whose channel object was replaced.
        self.identity = method == "epoll"
        self.fds: List[Any] = []
        self.objs: Optional[List[Any]] = None
        self.masks: List[int] = []
        self.last: Any = None
        self.pos: Optional[Dict[Any, int]] = None
        self.dirty = True
        self.any_interest = False
        self.step = self._step_select if method == "select" else self._step_poll

    def forget(self, fd: Any) -> None:
        """A channel left or joined the map through the dispatcher API."""
        self.dirty = True
        if fd is not None:
            self.poller.forget(fd)

    def close(self) -> None:
        global _MRU
        if _MRU is self:
            _MRU = _NO_WAITER
        self.poller.close()

    def _update(self, fds: List[Any], objs: List[Any],
                masks: List[int], same_keys: bool) -> Sequence[Any]:
        reset: List[Any] = []
        if self.identity and self.objs is not None and objs != self.objs:
            old = dict(zip(self.fds, self.objs))
            reset = [fd for fd, o in zip(fds, objs)
                     if fd in old and old[fd] is not o]
        if not same_keys:
            self.pos = None
            self.last = fds[-1]
        self.fds, self.objs, self.masks = fds, objs, masks
        self.dirty = False
        self.any_interest = any(masks)
        return reset

    # _step_select and _step_poll repeat their first lines on purpose: they
    # are the per-iteration hot path, and a shared helper call there costs
    # select at N=10 idle channels its parity with the stdlib.

    def _step_select(self, timeout: Optional[float]) -> None:
        # The callers never step an empty map (CPython's poll() does
        # nothing at all on one).
        map = self.map
        objs = list(map.values())
        if self.dirty or objs != self.objs:
            fds = list(map)
            same_keys = False
        elif self.isdict:
            # O(1): dicts are ordered and reversible (3.8+).
            same_keys = next(self.rev()) == self.last
            fds = self.fds if same_keys else list(map)
        else:
            # Any other mapping, as the stdlib accepts: compare all keys.
            fds = list(map)
            same_keys = fds == self.fds
        # CPython 3.11 asyncore.poll: r if readable(); w if writable() and
        # not accepting (accepting read only when writable); e if readable()
        # or writable().  Bits: IN=1, PRI=2, OUT=4, as literals for speed.
        if len(objs) < _SMALL_MAP:
            # A small map: the loop in this frame (a comprehension costs
            # 3.11 a function and a frame of its own, more than the
            # appends below for a handful of channels).
            masks = []
            for o in objs:
                masks.append(
                    (7 if o.writable() and not o.accepting else 3)
                    if o.readable()
                    else ((2 if o.accepting else 6) if o.writable() else 0)
                )
        else:
            masks = [
                (7 if o.writable() and not o.accepting else 3)
                if o.readable()
                else ((2 if o.accepting else 6) if o.writable() else 0)
                for o in objs
            ]
        if same_keys and masks == self.masks:
            changed = False
            reset: Sequence[Any] = _NO_RESET
        else:
            changed = True
            reset = self._update(fds, objs, masks, same_keys)
        if not self.any_interest:
            # CPython 3.11: nothing to wait for, so sleep the timeout.
            self.net.sleep(timeout)
            return
        r, w, e = self.poller.wait(fds, masks, changed, reset, timeout)
        for fd in r:
            obj = map.get(fd)
            if obj is not None:
                read(obj)
        # (An empty list is tested, not iterated: an iterator fewer.)
        if w:
            for fd in w:
                obj = map.get(fd)
                if obj is not None:
                    write(obj)
        if e:
            for fd in e:
                obj = map.get(fd)
                if obj is not None:
                    _exception(obj)

    def _step_poll(self, timeout: Optional[float]) -> None:
        # The callers never step an empty map (CPython's poll2() does
        # nothing at all on one).
        map = self.map
        objs = list(map.values())
        if self.dirty or objs != self.objs:
            fds = list(map)
            same_keys = False
        elif self.isdict:
            # O(1): dicts are ordered and reversible (3.8+).
            same_keys = next(self.rev()) == self.last
            fds = self.fds if same_keys else list(map)
        else:
            # Any other mapping, as the stdlib accepts: compare all keys.
            fds = list(map)
            same_keys = fds == self.fds
        # CPython 3.11 asyncore.poll2: IN|PRI if readable(); OUT if
        # writable() and not accepting.  Bits as literals: IN=1, PRI=2, OUT=4.
        if len(objs) < _SMALL_MAP:  # see _step_select
            masks = []
            for o in objs:
                masks.append(
                    (7 if o.writable() and not o.accepting else 3)
                    if o.readable()
                    else (4 if o.writable() and not o.accepting else 0)
                )
        else:
            masks = [
                (7 if o.writable() and not o.accepting else 3)
                if o.readable()
                else (4 if o.writable() and not o.accepting else 0)
                for o in objs
            ]
        if same_keys and masks == self.masks:
            changed = False
            reset: Sequence[Any] = _NO_RESET
        else:
            changed = True
            reset = self._update(fds, objs, masks, same_keys)
        # The poller converts the timeout (poll2 truncates to whole ms).
        events = self.poller.wait(fds, masks, changed, reset, timeout)
        if len(events) > 1:
            pos = self.pos
            if pos is None:
                pos = self.pos = {fd: i for i, fd in enumerate(fds)}
            # poll2 registers afresh in map order each call, so the kernel
            # answers in map order; keep that order whatever the backend.
            events = _in_map_order(events, pos)
        for fd, flags in events:
            obj = map.get(fd)
            if obj is not None:
                readwrite(obj, flags)


    def step_traced(self, timeout: Optional[float]) -> None:
        """One iteration while a trace is recorded: the same semantics as
        the select/poll steps, with each readable()/writable() answer
        reported to the recorder (readable() first, then writable(), per
        channel in map order, as CPython 3.11's poll and poll2 call them)."""
        map = self.map
        if not map:
            return
        tracer = _tracer
        if tracer is None:  # the recorder stopped since loop() began
            self.step(timeout)
            return
        objs = list(map.values())
        fds = list(map)
        select_mode = self.method == "select"
        masks = []
        # Each answer is recorded as it is known (readable() first), as
        # tracer.callback(o, "readable", r) records it; a Recorder's record
        # is put here (tracer._answers: its log, its put and its numbering's
        # get; see asyncore_sim/trace/_records.py), a call fewer per answer.
        answers = getattr(tracer, "_answers", None)
        if answers is None:  # another tracer: its callback() records
            callback, put = tracer.callback, None
        else:
            log, put, tfd = answers
        for o in objs:
            r = o.readable()
            if put is None:
                callback(o, "readable", r)
            else:
                try:
                    fd = o._fileno
                except AttributeError:
                    fd = None
                put((log.now, "readable", tfd(fd, -1), type(o), not not r))
            w = o.writable()
            if put is None:
                callback(o, "writable", w)
            else:
                try:
                    fd = o._fileno  # (readable() may have closed it)
                except AttributeError:
                    fd = None
                put((log.now, "writable", tfd(fd, -1), type(o), not not w))
            if select_mode:
                mask = (7 if w and not o.accepting else 3) if r else (
                    (2 if o.accepting else 6) if w else 0)
            else:
                mask = (7 if w and not o.accepting else 3) if r else (
                    4 if w and not o.accepting else 0)
            masks.append(mask)
        same_keys = not self.dirty and fds == self.fds and objs == self.objs
        if same_keys and masks == self.masks:
            changed = False
            reset: Sequence[Any] = _NO_RESET
        else:
            changed = True
            reset = self._update(fds, objs, masks, False)
        # The wait and dispatch below repeat _step_select's and _step_poll's
        # tails: those stay inline for speed; this path only runs when recording.
        if select_mode:
            if not self.any_interest:
                self.net.sleep(timeout)
                return
            r_, w_, e_ = self.poller.wait(fds, masks, changed, reset, timeout)
            for fd in r_:
                obj = map.get(fd)
                if obj is not None:
                    read(obj)
            for fd in w_:
                obj = map.get(fd)
                if obj is not None:
                    write(obj)
            for fd in e_:
                obj = map.get(fd)
                if obj is not None:
                    _exception(obj)
            return
        events = self.poller.wait(fds, masks, changed, reset, timeout)
        if len(events) > 1:
            events = _in_map_order(
                events, {fd: i for i, fd in enumerate(fds)})
        for fd, flags in events:
            obj = map.get(fd)
            if obj is not None:
                readwrite(obj, flags)


def _one_shot(method: str, timeout: Optional[float], map: Any) -> None:
    """One iteration over a non-empty ``map`` with ``method``."""
    waiter = _MRU
    net = _current_get()
    if (waiter.map is map and waiter.plain and not waiter.busy
            and waiter.method == method
            and waiter.net is (_seam._default if net is None else net)):
        waiter.busy = True
    else:
        waiter = _acquire(map, method, network_for_map(map))
    try:
        if _tracer is None:
            waiter.step(timeout)
        else:
            waiter.step_traced(timeout)
    finally:
        waiter.busy = False
        if waiter.borrowed or not map:
            _release(waiter)


# poll(), poll2() and poll_epoll() repeat _one_shot's body rather than call
# it: a server that drives poll() itself (zope.server does) pays the call on
# every iteration.  Keep the three copies and _one_shot alike.

def poll(timeout: Optional[float] = 0.0, map: Any = None) -> None:
    """One iteration with select() semantics (CPython 3.11 asyncore.poll)."""
    if map is None:
        map = socket_map
    if map:
        waiter = _MRU
        net = _current_get()
        if (waiter.map is map and waiter.plain and not waiter.busy
                and waiter.method == "select"
                and waiter.net is (_seam._default if net is None else net)):
            waiter.busy = True
        else:
            waiter = _acquire(map, "select", network_for_map(map))
        try:
            if _tracer is None:
                waiter._step_select(timeout)  # its .step, without the slot load
            else:
                waiter.step_traced(timeout)
        finally:
            waiter.busy = False
            if waiter.borrowed or not map:
                _release(waiter)


def poll2(timeout: Optional[float] = 0.0, map: Any = None) -> None:
    """One iteration with poll() semantics (CPython 3.11 asyncore.poll2)."""
    if map is None:
        map = socket_map
    if map:
        waiter = _MRU
        net = _current_get()
        if (waiter.map is map and waiter.plain and not waiter.busy
                and waiter.method == "poll"
                and waiter.net is (_seam._default if net is None else net)):
            waiter.busy = True
        else:
            waiter = _acquire(map, "poll", network_for_map(map))
        try:
            if _tracer is None:
                waiter._step_poll(timeout)  # its .step, without the slot load
            else:
                waiter.step_traced(timeout)
        finally:
            waiter.busy = False
            if waiter.borrowed or not map:
                _release(waiter)


poll3 = poll2  # Alias for backward compatibility, as in the stdlib.


def poll_epoll(timeout: Optional[float] = 0.0, map: Any = None) -> None:
    """One iteration with poll() semantics, waiting with epoll (an extension)."""
    if map is None:
        map = socket_map
    if map:
        _one_shot("epoll", timeout, map)


_BUILTIN_POLLS = {"select": poll, "poll": poll2, "epoll": poll_epoll}
_POLL_SELECT, _POLL_POLL, _POLL_EPOLL = poll, poll2, poll_epoll


def _choose_method(use_poll: Any, net: Any) -> str:
    """``use_poll``: False → select (as the stdlib); True → poll when the
    network has it (as the stdlib); or one of "select", "poll", "epoll"."""
    if isinstance(use_poll, str):
        if use_poll not in _BUILTIN_POLLS:
            raise ValueError(
                "use_poll=%r: expected a bool or one of 'select', 'poll', "
                "'epoll'" % (use_poll,)
            )
        if use_poll == "epoll" and not net.has_poller("epoll"):
            use_poll = "poll"
        if use_poll == "poll" and not net.has_poller("poll"):
            use_poll = "select"
        return use_poll
    if use_poll and net.has_poller("poll"):
        return "poll"
    return "select"


def loop(timeout: Optional[float] = 30.0, use_poll: Any = False,
         map: Any = None, count: Optional[int] = None) -> None:
    """Poll until the map is empty or ``count`` iterations have run.

    Same signature and defaults as CPython 3.11. ``use_poll`` also accepts
    "select", "poll" or "epoll" (a truthy string still means "poll" to the
    stdlib, so such code degrades gracefully there).
    """
    if map is None:
        map = socket_map
    waiter = _MRU
    if waiter.map is map and waiter.plain:
        # The map of the last call again (a caller's own loop around
        # loop(count=1)): network_for_map(map) inline.
        net = _current_get()
        if net is None:
            net = _seam._default
            if net is None:
                net = network_for_map(map)
    else:
        net = network_for_map(map)
    # The per-call work is kept to what the stdlib's loop() does (one
    # look-up of the method, one of the poll function): callers such as
    # loop(count=1) in a loop of their own pay it on every iteration.
    if use_poll is False:
        method = "select"
        patched = poll is not _POLL_SELECT
    else:
        if use_poll is True:
            method = "poll" if net.has_poller("poll") else "select"
        else:
            method = _choose_method(use_poll, net)
        if method == "select":
            patched = poll is not _POLL_SELECT
        elif method == "poll":
            patched = poll2 is not _POLL_POLL
        else:
            patched = poll_epoll is not _POLL_EPOLL
    if patched:
        # Someone replaced asyncore.poll/poll2: call it as the stdlib would.
        fn = globals()[{"select": "poll", "poll": "poll2",
                        "epoll": "poll_epoll"}[method]]
        if count is None:
            while map:
                fn(timeout, map)
        else:
            while map and count > 0:
                fn(timeout, map)
                count = count - 1
        return
    if not map or (count is not None and count <= 0):
        return
    if (waiter.map is not map or waiter.busy or waiter.method != method
            or waiter.net is not net):
        waiter = _acquire(map, method, net)
    else:
        waiter.busy = True
    try:
        step = waiter.step if _tracer is None else waiter.step_traced
        if count is None:
            while map:
                step(timeout)
        elif count == 1:
            step(timeout)
        else:
            while map and count > 0:
                step(timeout)
                count = count - 1
    finally:
        waiter.busy = False
        if waiter.borrowed or not map:
            _release(waiter)


# ---------------------------------------------------------------------------
# dispatcher
# ---------------------------------------------------------------------------

# repr() of the package's own classes names the stdlib module they stand in
# for, so that output matches CPython's ("<asyncore.dispatcher at 0x...>").
_REPR_MODULES = {
    "asyncore_sim.asyncore": "asyncore",
    "asyncore_sim.asynchat": "asynchat",
}


class dispatcher:
    debug = False
    connected = False
    accepting = False
    connecting = False
    closing = False
    addr: Any = None
    ignore_log_types = frozenset({"warning"})
    # Set by __init__/set_socket; annotated only, so that (as in the stdlib)
    # the class itself has no ``socket`` attribute.
    socket: Any

    def __init__(self, sock: Any = None, map: Any = None) -> None:
        self._map = socket_map if map is None else map
        self._fileno: Any = None
        if sock:
            # Make sure of non-blocking mode even for a socket that came
            # from a blocking source (CPython 3.11).
            sock.setblocking(False)
            self.set_socket(sock, map)
            self.connected = True
            try:
                self.addr = sock.getpeername()
            except OSError as err:
                if err.errno in (ENOTCONN, EINVAL):
                    # An unconnected socket is allowed.
                    self.connected = False
                else:
                    # Broken in some unknown way: take it off the map so it
                    # is never polled, and tell the caller.
                    self.del_channel(map)
                    raise
        else:
            self.socket = None

    def __repr__(self) -> str:
        cls = self.__class__
        module = _REPR_MODULES.get(cls.__module__, cls.__module__)
        status = [module + "." + cls.__qualname__]
        if self.accepting and self.addr:
            status.append("listening")
        elif self.connected:
            status.append("connected")
        if self.addr is not None:
            try:
                status.append("%s:%d" % self.addr)
            except TypeError:
                status.append(repr(self.addr))
        return "<%s at %#x>" % (" ".join(status), id(self))

    def add_channel(self, map: Any = None) -> None:
        if map is None:
            map = self._map
        map[self._fileno] = self
        if _KEPT or _BORROWED:
            # The descriptor may be a reused number whose old registration
            # the kernel dropped (a reconnect: close, create_socket): make
            # the poller register it afresh.
            _forget_fd(map, self._fileno)

    def del_channel(self, map: Any = None) -> None:
        fd = self._fileno
        if map is None:
            map = self._map
        if fd in map:
            if _KEPT or _BORROWED:
                # Tell the poller while the descriptor is still open.
                _forget_fd(map, fd)
                del map[fd]
                if not map:
                    _drop_kept(map)
            else:
                del map[fd]
        self._fileno = None

    def _network(self) -> Any:
        return network_for_map(self._map)

    def create_socket(self, family: int = socket.AF_INET,
                      type: int = socket.SOCK_STREAM) -> None:
        self.family_and_type = family, type
        sock = self._network().socket(family, type)
        sock.setblocking(False)
        self.set_socket(sock)

    def set_socket(self, sock: Any, map: Any = None) -> None:
        self.socket = sock
        self._fileno = sock.fileno()
        self.add_channel(map)

    def set_reuse_addr(self) -> None:
        # Try to re-use a server port; errors are ignored (CPython 3.11).
        try:
            self.socket.setsockopt(
                socket.SOL_SOCKET,
                socket.SO_REUSEADDR,
                self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
                | 1,
            )
        except OSError:
            pass

    # -- predicates for the readiness call ---------------------------------

    def readable(self) -> Any:
        return True

    def writable(self) -> Any:
        return True

    # -- socket methods ----------------------------------------------------

    def listen(self, num: int) -> Any:
        self.accepting = True
        if os.name == "nt" and num > 5:
            num = 5
        return self.socket.listen(num)

    def bind(self, addr: Any) -> Any:
        self.addr = addr
        return self.socket.bind(addr)

    def connect(self, address: Any) -> None:
        self.connected = False
        self.connecting = True
        err = self.socket.connect_ex(address)
        if err in (EINPROGRESS, EALREADY, EWOULDBLOCK) or (
            err == EINVAL and os.name == "nt"
        ):
            self.addr = address
            return
        if err in (0, EISCONN):
            self.addr = address
            self.handle_connect_event()
        else:
            raise OSError(err, errorcode[err])

    def accept(self) -> Optional[Tuple[Any, Any]]:
        # Returns a (conn, address) pair, or None when there was nothing to
        # accept after all (CPython 3.11).
        try:
            conn, addr = self.socket.accept()
        except TypeError:
            return None
        except OSError as why:
            if why.errno in (EWOULDBLOCK, ECONNABORTED, EAGAIN):
                return None
            raise
        return conn, addr

    def send(self, data: Any) -> int:
        try:
            return self.socket.send(data)  # type: ignore[no-any-return]
        except OSError as why:
            if why.errno == EWOULDBLOCK:
                return 0
            if why.errno in _DISCONNECTED:
                _note(self, "handle_close")
                self.handle_close()
                return 0
            raise

    def recv(self, buffer_size: int) -> bytes:
        try:
            data = self.socket.recv(buffer_size)
        except OSError as why:
            # winsock sometimes raises ENOTCONN here (CPython's comment).
            if why.errno in _DISCONNECTED:
                _note(self, "handle_close")
                self.handle_close()
                return b""
            raise
        if not data:
            # An empty read means the peer closed: say so.
            _note(self, "handle_close")
            self.handle_close()
            return b""
        return data  # type: ignore[no-any-return]

    def close(self) -> None:
        self.connected = False
        self.accepting = False
        self.connecting = False
        self.del_channel()
        if self.socket is not None:
            try:
                self.socket.close()
            except OSError as why:
                if why.errno not in (ENOTCONN, EBADF):
                    raise

    # -- logging -----------------------------------------------------------

    def log(self, message: Any) -> None:
        sys.stderr.write("log: %s\n" % str(message))

    def log_info(self, message: Any, type: str = "info") -> None:
        if type not in self.ignore_log_types:
            print("%s: %s" % (type, message))

    # -- events ------------------------------------------------------------

    def handle_read_event(self) -> None:
        if self.accepting:
            # Listening sockets never connect: they spawn connected ones.
            if _tracer is not None:
                _tracer.callback(self, "handle_accept")
            self.handle_accept()
        elif not self.connected:
            if self.connecting:
                self.handle_connect_event()
            if _tracer is not None:
                _tracer.callback(self, "handle_read")
            self.handle_read()
        else:
            if _tracer is not None:
                _tracer.callback(self, "handle_read")
            self.handle_read()

    def handle_connect_event(self) -> None:
        err = self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err != 0:
            raise OSError(err, _strerror(err))
        if _tracer is not None:
            _tracer.callback(self, "handle_connect")
        self.handle_connect()
        self.connected = True
        self.connecting = False

    def handle_write_event(self) -> None:
        if self.accepting:
            # A write event on a listening socket is ignored (CPython 3.11).
            return
        if not self.connected:
            if self.connecting:
                self.handle_connect_event()
        if _tracer is not None:
            _tracer.callback(self, "handle_write")
        self.handle_write()

    def handle_expt_event(self) -> None:
        # An exceptional condition is either a pending socket error (then the
        # channel is closed, as for an empty read) or out-of-band data.
        err = self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err != 0:
            _note(self, "handle_close")
            self.handle_close()
        else:
            _note(self, "handle_expt")
            self.handle_expt()

    def handle_error(self) -> None:
        nil, t, v, tbinfo = compact_traceback()
        # A user's __repr__ may itself fail.
        try:
            self_repr = repr(self)
        except BaseException:
            self_repr = "<__repr__(self) failed for object at %0x>" % id(self)
        self.log_info(
            "uncaptured python exception, closing channel %s (%s:%s %s)"
            % (self_repr, t, v, tbinfo),
            "error",
        )
        self.handle_close()

    def handle_expt(self) -> None:
        self.log_info("unhandled incoming priority event", "warning")

    def handle_read(self) -> None:
        self.log_info("unhandled read event", "warning")

    def handle_write(self) -> None:
        self.log_info("unhandled write event", "warning")

    def handle_connect(self) -> None:
        self.log_info("unhandled connect event", "warning")

    def handle_accept(self) -> None:
        pair = self.accept()
        if pair is not None:
            self.handle_accepted(*pair)

    def handle_accepted(self, sock: Any, addr: Any) -> None:
        sock.close()
        self.log_info("unhandled accepted event", "warning")

    def handle_close(self) -> None:
        self.log_info("unhandled close event", "warning")
        self.close()


def _delegate_to_socket(self: Any, attr: str) -> Any:
    """Socket delegation, as asyncore did up to Python 3.5 (see compat)."""
    if attr.startswith("_"):
        raise AttributeError(
            "%r object has no attribute %r" % (type(self).__name__, attr)
        )
    sock = self.__dict__.get("socket")
    try:
        value = getattr(sock, attr)
    except AttributeError:
        raise AttributeError(
            "%r object has no attribute %r" % (type(self).__name__, attr)
        ) from None
    warnings.warn(
        "%(cls)s.%(attr)s is deprecated: use %(cls)s.socket.%(attr)s"
        % {"cls": type(self).__name__, "attr": attr},
        DeprecationWarning,
        stacklevel=2,
    )
    return value


class dispatcher_with_send(dispatcher):
    """A dispatcher with a simple output buffer (CPython 3.11 semantics)."""

    def __init__(self, sock: Any = None, map: Any = None) -> None:
        dispatcher.__init__(self, sock, map)
        self.out_buffer = b""

    def initiate_send(self) -> None:
        num_sent = dispatcher.send(self, self.out_buffer[:65536])
        self.out_buffer = self.out_buffer[num_sent:]

    def handle_write(self) -> None:
        self.initiate_send()

    def writable(self) -> Any:
        return (not self.connected) or len(self.out_buffer)

    def send(self, data: Any) -> None:  # type: ignore[override]
        if self.debug:
            self.log_info("sending %s" % repr(data))
        # bytes + str raises TypeError here, exactly as in the stdlib.
        self.out_buffer = self.out_buffer + data
        self.initiate_send()


def compact_traceback() -> Tuple[Tuple[str, str, str], Any, Any, str]:
    """``((file, function, line), type, value, info)`` of the current exception."""
    t, v, tb = sys.exc_info()
    if not tb:
        raise AssertionError("traceback does not exist")
    frames = []
    while tb:
        code = tb.tb_frame.f_code
        frames.append((code.co_filename, code.co_name, str(tb.tb_lineno)))
        tb = tb.tb_next
    del tb
    info = " ".join("[%s|%s|%s]" % frame for frame in frames)
    return frames[-1], t, v, info


def close_all(map: Any = None, ignore_all: bool = False) -> None:
    if map is None:
        map = socket_map
    for x in list(map.values()):
        try:
            x.close()
        except OSError as err:
            if err.errno == EBADF:
                pass
            elif not ignore_all:
                raise
        except _reraised_exceptions:
            raise
        except BaseException:
            if not ignore_all:
                raise
    map.clear()
    _drop_kept(map)


# ---------------------------------------------------------------------------
# Files and pipes (POSIX only, as in the stdlib).
# ---------------------------------------------------------------------------

if os.name == "posix":

    class file_wrapper:
        """Just enough of a socket over a file descriptor (which is dup'ed)."""

        def __init__(self, fd: int) -> None:
            self.fd = os.dup(fd)

        def __del__(self) -> None:
            if self.fd >= 0:
                warnings.warn(  # noqa: B028 - as the stdlib: source= names the object
                    "unclosed file %r" % self, ResourceWarning, source=self
                )
            self.close()

        def recv(self, *args: Any) -> bytes:
            return os.read(self.fd, *args)

        def send(self, *args: Any) -> int:
            return os.write(self.fd, *args)

        def getsockopt(self, level: int, optname: int,
                       buflen: Optional[int] = None) -> int:
            if (level == socket.SOL_SOCKET and optname == socket.SO_ERROR
                    and not buflen):
                return 0
            raise NotImplementedError(
                "Only asyncore specific behaviour implemented."
            )

        read = recv
        write = send

        def close(self) -> None:
            if self.fd < 0:
                return
            fd = self.fd
            self.fd = -1
            os.close(fd)

        def fileno(self) -> int:
            return self.fd

    class file_dispatcher(dispatcher):
        def __init__(self, fd: Any, map: Any = None) -> None:
            dispatcher.__init__(self, None, map)
            self.connected = True
            try:
                fd = fd.fileno()
            except AttributeError:
                pass
            self.set_file(fd)
            self._network().set_fd_blocking(fd, False)

        def set_file(self, fd: int) -> None:
            self.socket = self._network().wrap_file(fd)
            self._fileno = self.socket.fileno()
            self.add_channel()

else:  # pragma: no cover - not POSIX
    __all__.remove("file_wrapper")
    __all__.remove("file_dispatcher")

# The real network looks up socket/select/time/os on this module at call
# time, so that monkeypatching asyncore.socket works as on the stdlib.
_seam.set_patch_namespace(sys.modules[__name__])


class _LoopRunner:
    """Lets a simulated network's blocking call run the maps bound to it
    (see asyncore_seam.LoopRunner); an extension, the stdlib has no such hook."""

    def run_once(self, map: Any) -> bool:
        if not map:
            return False
        waiter = _KEPT.get(id(map))
        if waiter is not None and waiter.map is not map:
            waiter = None
        if (waiter is not None and waiter.busy) or any(
            b.map is map and b.busy for b in _BORROWED
        ):
            # A pass over this map is under way further up the stack (the
            # blocking call came from one of its callbacks): running another
            # would call its handlers re-entrantly, as no kernel loop does.
            return False
        _one_shot(waiter.method if waiter is not None else "poll", 0.0, map)
        return True

    def default_map(self) -> Any:
        return socket_map


_seam.set_loop_runner(_LoopRunner())
