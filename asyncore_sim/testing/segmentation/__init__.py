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
after the last terminator; and, unless ``observe`` is given, what the
handler made of each item: its own attributes holding bytes or text that its
``found_terminator()`` changed in the unsplit run, as they are after each
call (so a handler that keeps only the last chunk of a line is caught, while
read counters and raw buffers are not compared).  For any dispatcher,
``observe(handler)`` (called
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

from typing import Any, Callable, Optional, Sequence, Set

from asyncore_sim.testing.segmentation._plans import _make_plans, _spans
from asyncore_sim.testing.segmentation._report import _difference, _message, _shrink
from asyncore_sim.testing.segmentation._runner import _Runner
from asyncore_sim.testing.segmentation._values import (
    Outcome,
    Plan,
    SegmentationError,
    SegmentationMismatch,
    SegmentationReport,
    TerminatorCall,
)

__all__ = [
    "Outcome",
    "SegmentationError",
    "SegmentationMismatch",
    "SegmentationReport",
    "TerminatorCall",
    "check_segmentation",
]


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
