"""Comparing a run with the reference, shrinking a failing plan, and saying
what differed.
"""

from __future__ import annotations

from typing import (
    Any,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
)

from asyncore_sim.testing.segmentation._plans import _Span
from asyncore_sim.testing.segmentation._runner import _Runner
from asyncore_sim.testing.segmentation._values import (
    _SHRINK_BUDGET,
    Outcome,
    Plan,
    TerminatorCall,
    _pieces,
    _short,
)




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
    for i, (e, a) in enumerate(zip(ref.states, got.states)):
        if e != a:
            return ("handler state", i, e, a)
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
    elif what == "handler state":
        lines.append(
            "  the handler's own data after found_terminator() call #%s differs "
            "(collect_incoming_data got the same bytes: the handler made "
            "something else of them):" % index
        )
        lines.extend(_pair(expected, actual))
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
