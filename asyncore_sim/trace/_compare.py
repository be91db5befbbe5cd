"""Comparing traces: the first differing event, and a readable report of it."""

from __future__ import annotations

import io
from typing import (
    Optional,
    Sequence,
)

import attrs


from asyncore_sim.trace._format import TraceEvent, format_value

__all__ = ["Difference", "first_difference", "format_difference"]


@attrs.frozen
class Difference:
    """Where two event lists first differ."""

    index: int  # event index (0-based)
    expected: Optional[TraceEvent]  # None: the expected trace ended
    actual: Optional[TraceEvent]  # None: the actual trace ended
    byte_offset: Optional[int]  # first differing byte of the data, if any
    stream_offset: Optional[int]  # that byte's offset in the fd's stream


def _data_of(event: Optional[TraceEvent]) -> Optional[bytes]:
    if event is None:
        return None
    for v in tuple(event.args) + tuple(event.result or ()):
        if isinstance(v, bytes):
            return v
    return None


def _stream_offset(events: Sequence[TraceEvent], index: int) -> int:
    """Bytes the same fd moved in the same direction before ``index``."""
    ev = events[index]
    total = 0
    for e in events[:index]:
        if e.fd == ev.fd and e.kind == ev.kind:
            d = _data_of(e)
            if d is not None:
                total += len(d)
    return total


def first_difference(
    expected: Sequence[TraceEvent],
    actual: Sequence[TraceEvent],
    times: bool = True,
) -> Optional[Difference]:
    """The first event where ``actual`` departs from ``expected``, or None."""
    n = min(len(expected), len(actual))
    for i in range(n):
        e, a = expected[i], actual[i]
        if not e.same_as(a, times):
            byte = stream = None
            de, da = _data_of(e), _data_of(a)
            if de is not None and da is not None and de != da:
                byte = next(
                    (k for k in range(min(len(de), len(da))) if de[k] != da[k]),
                    min(len(de), len(da)),
                )
                stream = _stream_offset(expected, i) + byte
            return Difference(i, e, a, byte, stream)
    if len(expected) != len(actual):
        e2 = expected[n] if n < len(expected) else None
        a2 = actual[n] if n < len(actual) else None
        return Difference(n, e2, a2, None, None)
    return None


def format_difference(
    diff: Difference,
    expected: Sequence[TraceEvent],
    actual: Sequence[TraceEvent],
    context: int = 3,
    expected_name: str = "expected",
    actual_name: str = "actual",
) -> str:
    """A readable report: the index, the byte offset, and a diff around it."""
    i = diff.index
    out = io.StringIO()
    where = "event %d (line %d of the event list)" % (i, i + 1)
    if diff.expected is None:
        out.write(
            "%s: %s has more events than %s\n" % (where, actual_name, expected_name)
        )
    elif diff.actual is None:
        out.write("%s: %s ended early\n" % (where, actual_name))
    else:
        out.write("%s differs\n" % where)
    if diff.byte_offset is not None and diff.expected is not None:
        out.write(
            "  data differ at byte %d of the event (byte %s of fd %d's %s stream)\n"
            % (
                diff.byte_offset,
                diff.stream_offset,
                diff.expected.fd,
                diff.expected.kind,
            )
        )
    lo = max(0, i - context)
    out.write("--- %s\n+++ %s\n" % (expected_name, actual_name))
    for k in range(lo, i):
        if k < len(expected):
            out.write("  %5d  %s\n" % (k, _clip(expected[k].line())))
    for k in range(i, min(len(expected), i + context + 1)):
        out.write("- %5d  %s\n" % (k, _clip(expected[k].line())))
    for k in range(i, min(len(actual), i + context + 1)):
        out.write("+ %5d  %s\n" % (k, _clip(actual[k].line())))
    if diff.byte_offset is not None:
        de, da = _data_of(diff.expected), _data_of(diff.actual)
        assert de is not None and da is not None
        b = diff.byte_offset
        s = max(0, b - 20)
        out.write(
            "  expected bytes %d..: %s\n  actual bytes   %d..: %s\n"
            % (s, format_value(de[s : b + 20]), s, format_value(da[s : b + 20]))
        )
    return out.getvalue()


def _clip(line: str, width: int = 160) -> str:
    return line if len(line) <= width else line[: width - 3] + "..."
