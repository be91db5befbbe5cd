"""Segmentation invariance: does a parser see the same thing however TCP cuts
the stream?

TCP delivers a byte stream, not messages: one ``send`` may arrive as several
reads and several sends as one.  A correct parser gives the same result
whatever the cuts.  :func:`check_segmentation` runs a handler on
:mod:`fake_net` once with the whole stream in one piece (the reference), then
again under many split plans (every single cut for short streams, a seeded
sample for long ones, and always the cuts through and around each terminator
and at the read-buffer boundaries), and raises :class:`SegmentationMismatch`
on the first plan under which the handler saw something else::

    import asyncore_sim
    from asyncore_sim.testing.segmentation import check_segmentation

    class Lines(asyncore_sim.async_chat):
        def __init__(self, sock, map):
            asyncore_sim.async_chat.__init__(self, sock, map=map)
            self.set_terminator(b"\\r\\n")
            self.buf = []

        def collect_incoming_data(self, data):
            self.buf.append(data)

        def found_terminator(self):
            self.buf = []

    report = check_segmentation(Lines, b"HELO a\\r\\nQUIT\\r\\n")
    assert report.exhaustive and report.plans_run > 13

For an ``async_chat`` the checker compares every ``found_terminator()`` call:
the terminator that governed the item and the data ``collect_incoming_data``
got for it (joined: how it was chunked may vary), then the data collected
after the last terminator.  For any dispatcher, ``observe(handler)`` (called
once the stream, and the EOF with ``eof=True``, was delivered) must return
equal values; a plain dispatcher needs it.  It also compares whether the
handler raised (``handle_error``), closed, or stopped reading.

Each piece of a plan is written to the handler's peer and the loop runs until
the handler has read all of it, so each piece is at least one read of its own
(a piece larger than the handler's read size is read in several, as on a real
socket).  Each plan gets a fresh socket pair, map and handler on one
``FakeNetwork(seed=seed)`` per check.
"""

from __future__ import annotations

import random
import socket as _socket
import sys
from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
)

import attrs

import fake_net
from asyncore_sim import asyncore as _asyncore
from asyncore_sim.asynchat import async_chat

__all__ = [
    "Outcome",
    "SegmentationError",
    "SegmentationMismatch",
    "SegmentationReport",
    "TerminatorCall",
    "check_segmentation",
]

Plan = Tuple[int, ...]

#: Loop iterations without the handler reading a byte before the checker
#: decides it has stopped reading.
_STALL_LIMIT = 20
#: Iterations the handler gets to act on the EOF (read it and close).
_EOF_ITERATIONS = 16
#: Extra runs spent shrinking a failing multi-cut plan.
_SHRINK_BUDGET = 200
#: Long streams: occurrences of each terminator (and buffer boundaries) that
#: also get single-cut plans; all of them get combined plans.
_SINGLES_PER_KIND = 3
#: Long streams: read-size multiples whose cuts also run on their own.
_BUFFER_SINGLES = 32
#: Long streams: most cuts a sampled plan has.
_MAX_SAMPLED_CUTS = 64


@attrs.frozen
class TerminatorCall:
    """One ``found_terminator()`` call: the terminator that governed the item
    (as ``get_terminator()`` said when the item began: for a byte count that
    is the count, not the 0 it has counted down to) and the data collected
    for it since the previous call."""

    terminator: Any
    data: bytes

    def describe(self) -> str:
        return "terminator %s after data %s" % (
            _short(self.terminator),
            _short(self.data),
        )


@attrs.frozen
class Outcome:
    """What one run of the handler showed."""

    #: Every found_terminator() call (async_chat only).
    calls: Tuple[TerminatorCall, ...] = ()
    #: Data collected after the last found_terminator() (async_chat only).
    trailing: bytes = b""
    #: What observe(handler) returned (None without observe).
    observed: Any = None
    #: The first exception the handler's handle_error() was called for.
    error: Optional[str] = None
    #: Whether the handler closed its socket.
    closed: bool = False
    #: Stream bytes left unread because the handler stopped reading.
    unread: int = 0


@attrs.frozen
class SegmentationReport:
    """How thoroughly :func:`check_segmentation` checked (every plan passed)."""

    stream_length: int
    #: True if every single cut (and one byte at a time) was tried.
    exhaustive: bool
    #: The read size the cuts at buffer boundaries were placed for, if known.
    buffer_size: Optional[int]
    #: The cut offsets of every plan run, in the order run.
    plans: Tuple[Plan, ...] = attrs.field(repr=False)
    #: Offsets chosen for terminators (through and around each occurrence,
    #: and where each counted body ends) and buffer boundaries.
    targeted: FrozenSet[int] = attrs.field(repr=False)
    #: What the reference run (the stream in one piece) showed.
    reference: Outcome = attrs.field(repr=False)

    @property
    def plans_run(self) -> int:
        return len(self.plans)

    @property
    def single_cut_plans(self) -> int:
        return sum(1 for p in self.plans if len(p) == 1)

    @property
    def split_points(self) -> FrozenSet[int]:
        """Every offset some plan cut at."""
        points: Set[int] = set()
        for p in self.plans:
            points.update(p)
        return frozenset(points)


class SegmentationError(RuntimeError):
    """The checker could not run the handler (it is not set up as required,
    or the simulation could not go on)."""


class SegmentationMismatch(AssertionError):
    """A split plan made the handler see something else than the stream in
    one piece.  The message says how; the attributes hold the details."""

    def __init__(
        self,
        message: str,
        *,
        cuts: Plan,
        stream: bytes,
        what: str,
        index: Optional[int],
        expected: Any,
        actual: Any,
        reference: Outcome,
        outcome: Outcome,
    ) -> None:
        super().__init__(message)
        #: Where the failing plan cut the stream (offsets, ascending).
        self.cuts = cuts
        self.stream = stream
        #: "found_terminator", "trailing data", "error", "closed", "unread"
        #: or "observe".
        self.what = what
        #: The index of the first differing found_terminator() call.
        self.index = index
        self.expected = expected
        self.actual = actual
        self.reference = reference
        self.outcome = outcome

    @property
    def pieces(self) -> Tuple[int, ...]:
        return _pieces(self.cuts, len(self.stream))


def check_segmentation(
    factory: Callable[[Any, Any], Any],
    stream: bytes,
    *,
    observe: Optional[Callable[[Any], Any]] = None,
    terminators: Sequence[bytes] = (),
    exhaustive_max: int = 256,
    samples: int = 200,
    seed: int = 0,
    eof: bool = False,
    use_poll: Any = False,
) -> SegmentationReport:
    """Check that ``factory(sock, map)``'s handler sees ``stream`` the same
    however it is cut into reads.

    ``factory`` builds the handler (an ``async_chat`` or any dispatcher) on
    ``sock``, registered in ``map``.  ``observe(handler)`` returns a value to
    compare across runs (required for a plain dispatcher).  ``terminators``
    names delimiters whose occurrences in the stream get targeted cuts (an
    async_chat's own terminators are found by the reference run).  Streams
    up to ``exhaustive_max`` bytes get every single cut and one byte at a
    time; longer ones ``samples`` seeded random plans.  ``eof`` closes the
    peer's sending side after the stream; ``use_poll`` is ``loop``'s.

    Raises :class:`SegmentationMismatch` (the simplest failing plan found,
    shrunk when it had several cuts) or returns a
    :class:`SegmentationReport`.
    """
    if not isinstance(stream, (bytes, bytearray, memoryview)):
        raise TypeError("stream must be bytes, not %s" % type(stream).__name__)
    data = bytes(stream)
    for t in terminators:
        if not isinstance(t, bytes) or not t:
            raise TypeError("terminators must be non-empty bytes, not %r" % (t,))
    runner = _Runner(factory, data, observe, eof, use_poll, seed)
    ref = runner.run(())
    spans = _spans(data, ref, terminators)
    buffer_size = ref.buffer_size
    exhaustive = len(data) <= exhaustive_max
    plans, targeted = _make_plans(
        len(data), exhaustive, spans, buffer_size, samples, seed
    )
    passed: Set[Plan] = {()}
    for number, cuts in enumerate(plans, 1):
        got = runner.run(cuts).outcome
        if _difference(ref.outcome, got) is None:
            passed.add(cuts)
            continue
        shrunk, got = _shrink(runner, ref.outcome, cuts, got, passed)
        diff = _difference(ref.outcome, got)
        assert diff is not None
        what, index, expected, actual = diff
        message = _message(
            data,
            shrunk,
            cuts,
            number,
            len(plans),
            spans,
            buffer_size,
            diff,
            ref.outcome,
            got,
        )
        raise SegmentationMismatch(
            message,
            cuts=shrunk,
            stream=data,
            what=what,
            index=index,
            expected=expected,
            actual=actual,
            reference=ref.outcome,
            outcome=got,
        )
    return SegmentationReport(
        stream_length=len(data),
        exhaustive=exhaustive,
        buffer_size=buffer_size,
        plans=tuple(plans),
        targeted=frozenset(targeted),
        reference=ref.outcome,
    )


# ---------------------------------------------------------------------------
# running one plan
# ---------------------------------------------------------------------------


@attrs.frozen
class _Run:
    outcome: Outcome
    #: Stream offset where each found_terminator() call's terminator ended.
    ends: Tuple[int, ...]
    buffer_size: Optional[int]


class _Recorder:
    """Wraps a handler's bound methods (calling through) to see what it does."""

    def __init__(self, handler: Any, chat: bool) -> None:
        self.handler = handler
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
        rec = _Recorder(handler, chat)
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


# ---------------------------------------------------------------------------
# where the interesting cuts are
# ---------------------------------------------------------------------------


@attrs.frozen
class _Span:
    kind: str  # "terminator", "body" (counted) or "data"
    start: int
    end: int
    value: Any = None  # the terminator, or the call index for "data"


def _spans(stream: bytes, ref: _Run, terminators: Iterable[bytes]) -> List[_Span]:
    """The reference run's terminators, counted bodies and data, in order.

    Each call's data and terminator are matched against the stream where the
    previous call's ended; when they do not match (a handler that changes
    its data), the stream offset the recorder noted is used instead."""
    spans: List[_Span] = []
    pos = 0
    for i, (call, end) in enumerate(zip(ref.outcome.calls, ref.ends)):
        term, data = call.terminator, call.data
        if isinstance(term, int) and not isinstance(term, bool) and term > 0:
            start = pos if len(data) == term else end - term
            if stream[start : start + term] == data and start >= 0:
                spans.append(_Span("body", start, start + term, term))
                pos = start + term
            else:
                pos = end
            continue
        if isinstance(term, bytes) and term:
            if stream.startswith(data + term, pos):
                start = pos + len(data)
            elif stream[end - len(term) : end] == term:
                start = end - len(term)
            else:
                pos = end
                continue
            if pos < start:
                spans.append(_Span("data", pos, start, i))
            spans.append(_Span("terminator", start, start + len(term), term))
            pos = start + len(term)
        else:
            pos = end
    seen = {(s.start, s.value) for s in spans if s.kind == "terminator"}
    for term in terminators:
        at = stream.find(term)
        while at != -1:
            if (at, term) not in seen:
                spans.append(_Span("terminator", at, at + len(term), term))
            at = stream.find(term, at + 1)
    spans.sort(key=lambda s: (s.start, s.end))
    return spans


def _make_plans(
    n: int,
    exhaustive: bool,
    spans: Sequence[_Span],
    buffer_size: Optional[int],
    samples: int,
    seed: int,
) -> Tuple[List[Plan], Set[int]]:
    """Every plan to run, simplest (fewest cuts, then earliest) first."""
    valid = range(1, n)

    def clip(points: Iterable[int]) -> Plan:
        return tuple(sorted({p for p in points if 1 <= p < n}))

    # Per kind of target (a terminator value, counted bodies, buffer
    # boundaries): for each occurrence, the cuts at fixed offsets from it.
    groups: Dict[Any, List[List[int]]] = {}
    for s in spans:
        if s.kind == "terminator":
            offs = range(s.start - 1, s.end + 2)
            groups.setdefault(("terminator", s.value), []).append(list(offs))
        elif s.kind == "body":
            groups.setdefault(("body",), []).append(
                [s.start - 1, s.start, s.start + 1, s.end - 1, s.end, s.end + 1]
            )
    if buffer_size:
        groups[("buffer",)] = [
            [k - 1, k, k + 1] for k in range(buffer_size, n + 1, buffer_size)
        ]
    targeted: Set[int] = set()
    plans: Set[Plan] = set()
    for key, occurrences in groups.items():
        if not occurrences:
            continue
        for i, points in enumerate(occurrences):
            targeted.update(p for p in points if 1 <= p < n)
            limit = _BUFFER_SINGLES if key == ("buffer",) else _SINGLES_PER_KIND
            if exhaustive or i < limit:
                plans.update((p,) for p in points if 1 <= p < n)
        # The same relative cut at every occurrence at once.
        width = max(len(points) for points in occurrences)
        for j in range(width):
            plans.add(clip(points[j] for points in occurrences if j < len(points)))
    # Every targeted cut at once.
    plans.add(clip(targeted))
    if exhaustive:
        plans.update((p,) for p in valid)
        plans.add(tuple(valid))
    elif n > 2:
        rng = random.Random(seed)
        for i in range(samples):
            sampled = clip(_sample(rng, i, n, buffer_size))
            if len(sampled) > 1:
                plans.add(sampled)
    plans.discard(())
    return sorted(plans, key=lambda p: (len(p), p)), targeted


def _sample(
    rng: random.Random, i: int, n: int, buffer_size: Optional[int]
) -> List[int]:
    """A random multi-cut plan; the style rotates with ``i``."""
    style = i % 4
    if style == 0:  # a few cuts anywhere
        return rng.sample(range(1, n), min(n - 1, rng.randint(2, 4)))
    if style == 1:  # many cuts anywhere
        k = rng.randint(5, max(5, min(n - 1, _MAX_SAMPLED_CUTS)))
        return rng.sample(range(1, n), min(n - 1, k))
    if style == 2:  # a burst of tiny pieces somewhere
        pos = rng.randrange(1, n)
        end = min(n, pos + rng.randint(2, 64))
        cuts = []
        while pos < end:
            cuts.append(pos)
            pos += rng.randint(1, 3)
        return cuts
    # pieces of random sizes up to twice the read size, across the stream
    top = 2 * buffer_size if buffer_size else max(2, n // 8)
    top = max(top, n // _MAX_SAMPLED_CUTS + 1)
    cuts = []
    pos = rng.randint(1, top)
    while pos < n and len(cuts) < 4 * _MAX_SAMPLED_CUTS:
        cuts.append(pos)
        pos += rng.randint(1, top)
    return cuts


# ---------------------------------------------------------------------------
# comparing and reporting
# ---------------------------------------------------------------------------

_Diff = Tuple[str, Optional[int], Any, Any]


def _difference(ref: Outcome, got: Outcome) -> Optional[_Diff]:
    """(what, call index, expected, actual) of the first difference."""
    for i, (e, a) in enumerate(zip(ref.calls, got.calls)):
        if e != a:
            return ("found_terminator", i, e, a)
    if len(ref.calls) != len(got.calls):
        i = min(len(ref.calls), len(got.calls))
        e_call = ref.calls[i] if i < len(ref.calls) else None
        a_call = got.calls[i] if i < len(got.calls) else None
        return ("found_terminator", i, e_call, a_call)
    if ref.trailing != got.trailing:
        return ("trailing data", None, ref.trailing, got.trailing)
    if ref.error != got.error:
        return ("error", None, ref.error, got.error)
    if ref.closed != got.closed:
        return ("closed", None, ref.closed, got.closed)
    if ref.unread != got.unread:
        return ("unread", None, ref.unread, got.unread)
    if ref.observed != got.observed:
        return ("observe", None, ref.observed, got.observed)
    return None


def _shrink(
    runner: _Runner, ref: Outcome, cuts: Plan, got: Outcome, passed: Set[Plan]
) -> Tuple[Plan, Outcome]:
    """A failing plan with as few of ``cuts`` as a bounded search finds."""
    budget = [_SHRINK_BUDGET]

    def fails(plan: Plan) -> Optional[Outcome]:
        if not plan or plan in passed or budget[0] <= 0:
            return None
        budget[0] -= 1
        out = runner.run(plan).outcome
        if _difference(ref, out) is None:
            passed.add(plan)
            return None
        return out

    chunk = len(cuts) // 2
    while chunk >= 1 and len(cuts) > 1:
        i = 0
        while i < len(cuts) and len(cuts) > 1:
            candidate = cuts[:i] + cuts[i + chunk :]
            out = fails(candidate)
            if out is not None:
                cuts, got = candidate, out
            else:
                i += chunk
        chunk = min(chunk // 2, len(cuts) // 2)
    return cuts, got


def _pieces(cuts: Plan, n: int) -> Tuple[int, ...]:
    edges = (0,) + cuts + (n,)
    return tuple(edges[i + 1] - edges[i] for i in range(len(edges) - 1))


def _describe_plan(cuts: Plan, n: int) -> str:
    pieces = [str(p) for p in _pieces(cuts, n)]
    shown = ", ".join(str(c) for c in cuts[:10])
    if len(cuts) > 10:
        shown += ", ... (%d cuts)" % len(cuts)
    if len(pieces) > 10:
        sizes = "+".join(pieces[:6]) + "+...+" + "+".join(pieces[-2:])
        sizes += ", %d pieces" % len(pieces)
    else:
        sizes = "+".join(pieces)
    return "cut%s at %s (pieces %s)" % ("s" if len(cuts) > 1 else "", shown, sizes)


def _describe_cut(
    stream: bytes, cut: int, spans: Sequence[_Span], buffer_size: Optional[int]
) -> str:
    notes = []
    for s in spans:
        if not s.start <= cut <= s.end:
            continue
        where = "stream[%d:%d]" % (s.start, s.end)
        if s.kind == "terminator":
            what = "terminator %s at %s" % (_short(s.value), where)
        elif s.kind == "body":
            what = "%d-byte counted body at %s" % (s.value, where)
        else:
            what = "the data of found_terminator call #%d at %s" % (s.value, where)
        if s.start < cut < s.end:
            notes.append("inside " + what)
        elif s.kind != "data":
            notes.append(("just before " if cut == s.start else "just after ") + what)
    if not notes:
        # Between the known terminators (or bodies).
        marks = [s for s in spans if s.kind != "data"]
        a = max([s.end for s in marks if s.end <= cut], default=0)
        b = min([s.start for s in marks if s.start >= cut], default=len(stream))
        where = "inside data at stream[%d:%d]" % (a, b)
        if marks and b == len(stream):
            where += ", after the last terminator"
        notes.append(where)
    if buffer_size:
        k, r = divmod(cut, buffer_size)
        if r in (0, 1) and k:
            notes.append("at %d*%d%s (read size)" % (k, buffer_size, "+1" * r))
        elif r == buffer_size - 1:
            notes.append("at %d*%d-1 (read size)" % (k + 1, buffer_size))
    left = stream[max(0, cut - 12) : cut]
    right = stream[cut : cut + 12]
    return "%s; %s%r | %r%s" % (
        "; ".join(notes),
        "..." if cut > 12 else "",
        left,
        right,
        "..." if cut + 12 < len(stream) else "",
    )


def _message(
    stream: bytes,
    cuts: Plan,
    original: Plan,
    number: int,
    total: int,
    spans: Sequence[_Span],
    buffer_size: Optional[int],
    diff: _Diff,
    ref: Outcome,
    got: Outcome,
) -> str:
    what, index, expected, actual = diff
    lines = [
        "the handler saw something else when the stream (%d bytes) was cut "
        "into reads than when it came in one piece:" % len(stream),
        "  " + _describe_plan(cuts, len(stream)),
    ]
    for c in cuts[:8]:
        lines.append(
            "    at %d: %s" % (c, _describe_cut(stream, c, spans, buffer_size))
        )
    if len(cuts) > 8:
        lines.append("    ... %d more cuts" % (len(cuts) - 8))
    if cuts != original:
        lines.append(
            "  (shrunk from plan %d of %d, which had %d cuts)"
            % (number, total, len(original))
        )
    else:
        lines.append("  (plan %d of %d)" % (number, total))
    if what == "found_terminator":
        lines.append("  found_terminator() call #%s differs:" % index)
        lines.append("    expected: %s" % _describe_call(expected, ref))
        lines.append("    actual:   %s" % _describe_call(actual, got))
    elif what == "trailing data":
        lines.append("  the data collected after the last found_terminator() differs:")
        lines.extend(_pair(expected, actual))
    elif what == "error":
        lines.append("  the handler's errors differ:")
        lines.append("    expected: %s" % (expected or "no error"))
        lines.append("    actual:   %s" % (actual or "no error"))
    elif what == "closed":
        lines.append(
            "  the handler %s its socket here, but %s in one piece"
            % (
                "closed" if actual else "did not close",
                "not" if actual else "did",
            )
        )
    elif what == "unread":
        lines.append(
            "  the handler stopped reading with %d of %d bytes unread"
            % (actual, len(stream))
        )
    else:
        lines.append("  observe(handler) differs:")
        lines.extend(_pair(expected, actual))
    if got.error is not None and got.error != ref.error and what != "error":
        lines.append("  under this plan the handler raised %s" % got.error)
    return "\n".join(lines)


def _describe_call(call: Optional[TerminatorCall], outcome: Outcome) -> str:
    if call is not None:
        return call.describe()
    n = len(outcome.calls)
    then = ""
    if outcome.closed:
        then = ", then the handler closed"
    elif outcome.unread:
        then = ", then the handler stopped reading with %d bytes unread" % (
            outcome.unread
        )
    return "no such call (%d call%s in all%s)" % (n, "" if n == 1 else "s", then)


def _pair(expected: Any, actual: Any) -> List[str]:
    if isinstance(expected, (list, tuple)) and isinstance(actual, (list, tuple)):
        k = 0
        while k < min(len(expected), len(actual)) and expected[k] == actual[k]:
            k += 1
        return [
            "    expected: %s" % _short(expected),
            "    actual:   %s" % _short(actual),
            "    first difference at item [%d]: expected %s, actual %s"
            % (k, _item(expected, k), _item(actual, k)),
        ]
    if isinstance(expected, bytes) and isinstance(actual, bytes):
        k = 0
        while k < min(len(expected), len(actual)) and expected[k] == actual[k]:
            k += 1
        if len(repr(expected)) > 72 or len(repr(actual)) > 72:
            start = max(0, k - 16)
            return [
                "    they differ from byte %d on (%d and %d bytes):"
                % (
                    k,
                    len(expected),
                    len(actual),
                ),
                "    expected: ...%s" % _short(expected[start:]),
                "    actual:   ...%s" % _short(actual[start:]),
            ]
    return ["    expected: %s" % _short(expected), "    actual:   %s" % _short(actual)]


def _item(seq: Sequence[Any], k: int) -> str:
    if k < len(seq):
        return _short(seq[k], 60)
    return "nothing (%d items)" % len(seq)


def _short(value: Any, limit: int = 72) -> str:
    text = repr(value)
    if len(text) <= limit:
        return text
    if isinstance(value, (bytes, bytearray)):
        return "%r...%r (%d bytes)" % (
            bytes(value[:32]),
            bytes(value[-12:]),
            len(value),
        )
    return text[: limit - 3] + "..."
