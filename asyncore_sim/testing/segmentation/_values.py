"""The values a segmentation check reports, its errors, and its limits."""

from __future__ import annotations

from typing import (
    Any,
    FrozenSet,
    Optional,
    Set,
    Tuple,
)

import attrs



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
    #: Without observe, for an async_chat: the handler's own data (its
    #: attributes that hold bytes or text) after each found_terminator()
    #: call, so a handler that mangles what it was given is caught too.
    states: Tuple[Any, ...] = ()
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


def _pieces(cuts: Plan, n: int) -> Tuple[int, ...]:
    edges = (0,) + cuts + (n,)
    return tuple(edges[i + 1] - edges[i] for i in range(len(edges) - 1))

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
