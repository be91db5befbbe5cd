"""Running one split plan.

A fresh socket pair, map and handler on the check's ``FakeNetwork``; each
piece written to the handler's peer and the loop run until it is read.
"""

from __future__ import annotations

import socket as _socket
import sys
from typing import (
    Any,
    Callable,
    List,
    Optional,
    Tuple,
)

import attrs

import fake_net
from asyncore_sim import asyncore as _asyncore
from asyncore_sim.asynchat import async_chat
from asyncore_sim.testing.segmentation._values import (
    _EOF_ITERATIONS,
    _STALL_LIMIT,
    Outcome,
    Plan,
    SegmentationError,
    TerminatorCall,
)


@attrs.frozen
class _Run:
    outcome: Outcome
    #: Stream offset where each found_terminator() call's terminator ended.
    ends: Tuple[int, ...]
    buffer_size: Optional[int]


class _Recorder:
    """Wraps a handler's bound methods (calling through) to see what it does."""

    def __init__(
        self, handler: Any, chat: bool, states: bool = False, before: bool = False
    ) -> None:
        self.handler = handler
        self.snapshot = states
        # The state before each call too: only the reference run needs it,
        # to learn which attributes found_terminator() changes.
        self.snapshot_before = states and before
        # The handler's data attributes after (and before) each
        # found_terminator() call; see _Runner.outputs.
        self.states: List[Any] = []
        self.before: List[Any] = []
        self.calls: List[TerminatorCall] = []
        self.ends: List[int] = []
        self.collected: List[bytes] = []
        self.consumed = 0
        self.max_bufsize = 0
        self.error: Optional[str] = None
        self.item_terminator = _terminator_of(handler) if chat else None
        self._recv = handler.recv
        self._handle_error = handler.handle_error
        handler.recv = self.recv
        handler.handle_error = self.handle_error
        if chat:
            self._collect = handler.collect_incoming_data
            self._found = handler.found_terminator
            handler.collect_incoming_data = self.collect_incoming_data
            handler.found_terminator = self.found_terminator

    def recv(self, buffer_size: int, *args: Any) -> Any:
        if buffer_size > self.max_bufsize:
            self.max_bufsize = buffer_size
        data = self._recv(buffer_size, *args)
        if data:
            self.consumed += len(data)
        return data

    def handle_error(self) -> None:
        if self.error is None:
            exc = sys.exc_info()[1]
            if exc is None:
                self.error = "handle_error() called"
            else:
                self.error = "%s: %s" % (type(exc).__name__, exc)
        self._handle_error()

    def collect_incoming_data(self, data: bytes) -> None:
        self.collected.append(bytes(data))
        self._collect(data)

    def found_terminator(self) -> None:
        before = _data_state(self.handler) if self.snapshot_before else ()
        pending = getattr(self.handler, "ac_in_buffer", b"")
        self.calls.append(
            TerminatorCall(self.item_terminator, b"".join(self.collected))
        )
        self.ends.append(self.consumed - len(pending))
        del self.collected[:]
        try:
            self._found()
        finally:
            self.item_terminator = _terminator_of(self.handler)
        if self.snapshot:
            self.states.append(_data_state(self.handler))
        if self.snapshot_before:
            self.before.append(before)


# What asyncore/asynchat keep on an instance (and what _Recorder puts there):
# not the handler's own data.
_MACHINERY = frozenset(vars(async_chat(map={}))) | {
    "socket",
    "_fileno",
    "connected",
    "accepting",
    "connecting",
    "closing",
    "addr",
    "_map",
    "terminator",
    "ac_in_buffer",
    "ac_out_buffer",
    "incoming",
    "producer_fifo",
    "recv",
    "handle_error",
    "collect_incoming_data",
    "found_terminator",
}
_NO_DATA = object()


def _data(value: Any) -> Any:
    """``value`` as comparable plain data if it holds bytes or text (alone or
    in lists, tuples and dicts), else ``_NO_DATA``: counters, flags and
    objects say nothing about what the handler made of the stream, and may
    fairly differ with how it was cut."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        items = [_leaf(v) for v in value]
        if any(v is _NO_DATA for v in items) or not any(_has_text(v) for v in items):
            return _NO_DATA
        return tuple(items)
    if isinstance(value, dict):
        pairs = sorted(((repr(k), _leaf(v)) for k, v in value.items()), key=repr)
        if any(v is _NO_DATA for _, v in pairs) or not any(
            _has_text(v) for _, v in pairs
        ):
            return _NO_DATA
        return tuple(pairs)
    return _NO_DATA


def _leaf(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int)):
        return value
    return _data(value)


def _has_text(value: Any) -> bool:
    if isinstance(value, (bytes, str)):
        return True
    return isinstance(value, tuple) and any(_has_text(v) for v in value)


def _data_state(handler: Any) -> Tuple[Tuple[str, Any], ...]:
    """The handler's own data attributes, by name (see _data)."""
    out = []
    for name in sorted(vars(handler)):
        if name in _MACHINERY:
            continue
        value = _data(vars(handler)[name])
        if value is not _NO_DATA:
            out.append((name, value))
    return tuple(out)


def _changed_names(before: Any, after: Any) -> List[str]:
    old, new = dict(before), dict(after)
    names = sorted(dict.fromkeys(list(old) + list(new)))
    return [n for n in names if old.get(n) != new.get(n)]


def _terminator_of(handler: Any) -> Any:
    try:
        return handler.get_terminator()
    except AttributeError:
        return None


class _Runner:
    def __init__(
        self,
        factory: Callable[[Any, Any], Any],
        stream: bytes,
        observe: Optional[Callable[[Any], Any]],
        eof: bool,
        use_poll: Any,
        seed: int,
    ) -> None:
        self.factory = factory
        self.stream = stream
        self.observe = observe
        # The handler's outputs: the data attributes its found_terminator()
        # changed in the reference run (the first run).  Their values after
        # each call are compared across plans; attributes only handle_read
        # or collect_incoming_data touch (raw buffers, read counters) are not.
        self.outputs: Optional[List[str]] = None
        self.eof = eof
        self.use_poll = use_poll
        # One network for every plan: a FakeNetwork registers its random with
        # Hypothesis when that is loaded, which costs a gc.collect() each.
        self.net = fake_net.FakeNetwork(
            seed=seed, record=False, max_steps=1 << 62, max_time=float("inf")
        )

    def run(self, cuts: Plan) -> _Run:
        a, b = self.net.socketpair()
        b.setblocking(False)
        m = self.net.map()
        try:
            return self._run(a, b, m, cuts)
        finally:
            _asyncore.close_all(m, ignore_all=True)
            a.close()
            b.close()

    def _outputs_of(self, rec: "_Recorder") -> Tuple[Any, ...]:
        if not rec.snapshot:
            return ()
        if self.outputs is None:
            names: List[str] = []
            for before, after in zip(rec.before, rec.states):
                for name in _changed_names(before, after):
                    if name not in names:
                        names.append(name)
            self.outputs = sorted(names)
        keep = self.outputs
        return tuple(
            tuple((n, v) for n, v in state if n in keep) for state in rec.states
        )

    def _run(self, a: Any, b: Any, m: Any, cuts: Plan) -> _Run:
        handler = self.factory(a, m)
        if not isinstance(handler, _asyncore.dispatcher):
            raise TypeError(
                "check_segmentation: factory(sock, map) must return the "
                "asyncore_sim dispatcher it made, not %r" % (handler,)
            )
        chat = isinstance(handler, async_chat)
        if not chat and self.observe is None:
            raise TypeError(
                "check_segmentation: %s is a plain dispatcher, not an "
                "async_chat, so there are no found_terminator() calls to "
                "compare: pass observe=lambda handler: <what it parsed>"
                % type(handler).__name__
            )
        if not any(obj is handler for obj in m.values()):
            raise SegmentationError(
                "check_segmentation: the handler from factory(sock, map) is "
                "not in the map it was given: pass map=map to the dispatcher"
            )
        rec = _Recorder(
            handler,
            chat,
            states=chat and self.observe is None,
            before=self.outputs is None,
        )
        stalled = False
        start = 0
        for end in cuts + (len(self.stream),):
            if a.fd is None:
                break
            if not self._deliver(a, b, m, self.stream[start:end]):
                stalled = True
                break
            start = end
        if self.eof and a.fd is not None and not stalled:
            self._drain(b)
            try:
                b.shutdown(_socket.SHUT_WR)
            except OSError:
                pass
            for _ in range(_EOF_ITERATIONS):
                if a.fd is None:
                    break
                self._step(b, m)
        observed = self.observe(handler) if self.observe is not None else None
        outcome = Outcome(
            calls=tuple(rec.calls),
            trailing=b"".join(rec.collected),
            observed=observed,
            error=rec.error,
            closed=a.fd is None,
            unread=len(self.stream) - rec.consumed if stalled else 0,
            states=self._outputs_of(rec),
        )
        buffer_size: Optional[int] = rec.max_bufsize or None
        if chat:
            buffer_size = getattr(handler, "ac_in_buffer_size", buffer_size)
        return _Run(outcome, tuple(rec.ends), buffer_size)

    def _deliver(self, a: Any, b: Any, m: Any, piece: bytes) -> bool:
        """Write ``piece`` and run the loop until the handler has read it all
        (or closed); False if it stopped reading."""
        rest = piece
        idle = 0
        while True:
            if a.fd is None:
                return True
            if rest:
                try:
                    rest = rest[b.send(rest) :]
                except BlockingIOError:
                    pass
                except OSError:
                    return True  # the handler's end is gone
            pending = len(rest) + len(a.rbuf) + a.inflight
            if not pending:
                return True
            self._step(b, m)
            if a.fd is not None and len(rest) + len(a.rbuf) + a.inflight >= pending:
                idle += 1
                if idle > _STALL_LIMIT:
                    return False
            else:
                idle = 0

    def _step(self, b: Any, m: Any) -> None:
        try:
            _asyncore.loop(timeout=0.0, use_poll=self.use_poll, map=m, count=1)
        except fake_net.SimulationError as exc:
            raise SegmentationError(
                "check_segmentation: the simulation could not go on: %s" % exc
            ) from exc
        self._drain(b)

    @staticmethod
    def _drain(b: Any) -> None:
        """Throw away what the handler sent, so its sends never block."""
        while b.rbuf:
            try:
                b.recv(len(b.rbuf))
            except OSError:
                return
