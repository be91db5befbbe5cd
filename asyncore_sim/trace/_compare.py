"""Comparing traces: the first differing event, and a readable report of it.

Before two traces are compared, each can be normalized
(:class:`Normalization`), so that what no two runs can share does not hide
what they should share:

* **ports** (``ports=True``): ephemeral ports are renumbered in the order
  each trace first shows them, as descriptors are, and written
  ``<port1>``, ``<port2>``...  A port is ephemeral when a trace first shows
  it in what a call returned (``getsockname``, ``getpeername``, ``accept``:
  the system chose it), not in an argument the program gave (``bind``,
  ``connect``); the same number later in an argument (a ``connect`` to a
  server bound to port 0) is the same ``<portN>``.  Port 0 is kept.  Ports
  inside data bytes are not touched (mask them).
* **masks** (``masks=(regex, ...)``): every non-empty match of each regular
  expression in an event's line, as the file writes it after the time stamp
  (and after port renumbering), becomes ``<masked>``; an empty match
  replaces nothing.  With masks, events are compared as those lines.

The report (:func:`format_difference`) gives the first differing event, the
byte offset of the first differing byte of its data, and a diff around it
made by :mod:`difflib`: equal events are context (``' '``), only changed
ones are ``-``/``+``.  A ``wait`` that returned nothing (``-> '0'`` in the
file) is shown as ``-> nothing ready (...)``; files keep their format.

Rules: comparing is deterministic (no clock, no random source, no iteration
over sets or dicts whose order depends on hashing); it never changes the
events it is given.
"""

from __future__ import annotations

import difflib
import io
import re
from typing import (
    Any,
    Dict,
    Hashable,
    List,
    Optional,
    Sequence,
    Tuple,
)

import attrs


from asyncore_sim.trace._format import TraceEvent, format_value, parse_line

__all__ = [
    "Difference",
    "Normalization",
    "MASK_PLACEHOLDER",
    "compile_mask",
    "first_difference",
    "format_difference",
    "normalization_notes",
    "readable_line",
    "format_data",
]

#: What a mask leaves in place of each match.
MASK_PLACEHOLDER = "<masked>"


@attrs.frozen
class Difference:
    """Where two event lists first differ."""

    index: int  # event index (0-based)
    expected: Optional[TraceEvent]  # None: the expected trace ended
    actual: Optional[TraceEvent]  # None: the actual trace ended
    byte_offset: Optional[int]  # first differing byte of the data, if any
    stream_offset: Optional[int]  # that byte's offset in the fd's stream


@attrs.frozen
class Normalization:
    """How both traces are made comparable (see the module docstring)."""

    ports: bool = False
    masks: Tuple["re.Pattern[str]", ...] = ()

    @property
    def active(self) -> bool:
        return self.ports or bool(self.masks)


def compile_mask(text: str) -> "re.Pattern[str]":
    """The regular expression of a mask; ValueError says what is wrong."""
    try:
        return re.compile(text)
    except re.error as e:
        raise ValueError("%r is not a regular expression: %s" % (text, e)) from None
    except (OverflowError, RecursionError):
        raise ValueError("%r is not a regular expression: too large" % text) from None


# -- normalizing --------------------------------------------------------------------


class _Port(int):
    """A renumbered ephemeral port: equal only to the same renumbered port."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Port) and int(self) == int(other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(("<port>", int(self)))


def _is_address(v: Any) -> bool:
    return (
        isinstance(v, tuple)
        and len(v) >= 2
        and isinstance(v[1], int)
        and not isinstance(v[1], bool)
    )


def _renumber_ports(
    events: Sequence[TraceEvent],
) -> Tuple[List[TraceEvent], List[Tuple[int, int]]]:
    """The events with ephemeral ports renumbered, and (port, number) pairs
    in the order of first appearance."""
    numbers: Dict[int, int] = {}
    given: Dict[int, bool] = {}  # ports first seen in an argument: kept
    order: List[Tuple[int, int]] = []

    def port_of(v: Any, in_result: bool) -> Any:
        if not _is_address(v) or isinstance(v[1], _Port):
            return v
        port = int(v[1])
        if port == 0 or port in given:
            return v
        if port not in numbers:
            if not in_result:
                given[port] = True
                return v
            numbers[port] = len(numbers) + 1
            order.append((port, numbers[port]))
        return type(v)((v[0], _Port(numbers[port])) + tuple(v[2:]))

    out = []
    for ev in events:
        args = tuple(port_of(v, False) for v in ev.args)
        result = (
            None if ev.result is None else tuple(port_of(v, True) for v in ev.result)
        )
        if args != ev.args or result != ev.result:
            ev = attrs.evolve(ev, args=args, result=result)
        out.append(ev)
    return out, order


def _value_text(v: Any) -> str:
    if _is_address(v) and isinstance(v[1], _Port):
        host = str(v[0])
        if ":" in host:
            host = "[%s]" % host
        return "@%s:<port%d>" % (host, int(v[1]))
    return format_value(v)


def _event_text(ev: TraceEvent) -> str:
    """The event's line as the file writes it, without the time stamp."""
    parts = [ev.kind, "-" if ev.fd < 0 else str(ev.fd)]
    parts.extend(_value_text(v) for v in ev.args)
    if ev.result is not None:
        parts.append("->")
        parts.extend(_value_text(v) for v in ev.result)
    return " ".join(parts)


def _mask(text: str, masks: Sequence["re.Pattern[str]"]) -> str:
    def sub(m: "re.Match[str]") -> str:
        return MASK_PLACEHOLDER if m.group() else ""

    for pattern in masks:
        text = pattern.sub(sub, text)
    return text


class _View:
    """One trace as it is compared: its events (ports renumbered when
    asked) and, made only when needed, each event's line after the time
    stamp, masked."""

    def __init__(self, events: Sequence[TraceEvent], norm: Normalization) -> None:
        self.events = list(events)
        self.ports: List[Tuple[int, int]] = []  # (port, number), in order
        if norm.ports:
            self.events, self.ports = _renumber_ports(self.events)
        self.masks = norm.masks
        self.masked = bool(norm.masks)  # whether lines are what is compared
        self._texts: Dict[int, str] = {}

    def text(self, k: int) -> str:
        text = self._texts.get(k)
        if text is None:
            text = _event_text(self.events[k])
            if self.masks:
                text = _mask(text, self.masks)
            self._texts[k] = text
        return text

    def changed(self) -> int:
        """How many lines a mask changed."""
        if not self.masks:
            return 0
        return sum(
            1
            for k in range(len(self.events))
            if self.text(k) != _event_text(self.events[k])
        )

    def key(self, k: int, times: bool) -> Hashable:
        ev = self.events[k]
        if self.masked:
            return (ev.time if times else None, self.text(k))
        if times:
            return ev
        return (ev.kind, ev.fd, ev.args, ev.result)

    def text_key(self, k: int, times: bool) -> Tuple[Optional[float], str]:
        return (self.events[k].time if times else None, self.text(k))

    def line(self, k: int) -> str:
        return "%.6f %s" % (self.events[k].time, _readable(self.text(k)))

    def data(self, k: int) -> Tuple[Optional[bytes], bool]:
        """The data of event ``k`` as compared, and whether a mask changed
        it (None when a mask left a line that no longer reads)."""
        ev = self.events[k]
        if not self.masked or self.text(k) == _event_text(ev):
            return _data_of(ev), False
        try:
            return _data_of(parse_line("0 " + self.text(k))), True
        except ValueError:
            return None, True


def _view(events: Sequence[TraceEvent], norm: Normalization) -> _View:
    return _View(events, norm)


_NONE = Normalization()


# -- the first difference -----------------------------------------------------------


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


def _first_byte(de: bytes, da: bytes) -> int:
    return next(
        (k for k in range(min(len(de), len(da))) if de[k] != da[k]),
        min(len(de), len(da)),
    )


def first_difference(
    expected: Sequence[TraceEvent],
    actual: Sequence[TraceEvent],
    times: bool = True,
    *,
    normalization: Optional[Normalization] = None,
) -> Optional[Difference]:
    """The first event where ``actual`` departs from ``expected`` (after
    ``normalization``, if given), or None."""
    norm = normalization or _NONE
    n = min(len(expected), len(actual))
    if norm.active:
        ve, va = _view(expected, norm), _view(actual, norm)
        i = next((k for k in range(n) if ve.key(k, times) != va.key(k, times)), n)
    else:  # as recorded: the events themselves
        i = next((k for k in range(n) if not expected[k].same_as(actual[k], times)), n)
    if i < n:
        if not norm.active:
            ve, va = _view(expected, norm), _view(actual, norm)
        byte = stream = None
        (de, masked_e), (da, _) = ve.data(i), va.data(i)
        if de is not None and da is not None and de != da:
            byte = _first_byte(de, da)
            if not masked_e:
                stream = _stream_offset(expected, i) + byte
        return Difference(i, expected[i], actual[i], byte, stream)
    if len(expected) != len(actual):
        e2 = expected[n] if n < len(expected) else None
        a2 = actual[n] if n < len(actual) else None
        return Difference(n, e2, a2, None, None)
    return None


# -- the report ---------------------------------------------------------------------


def format_difference(
    diff: Difference,
    expected: Sequence[TraceEvent],
    actual: Sequence[TraceEvent],
    context: int = 3,
    expected_name: str = "expected",
    actual_name: str = "actual",
    *,
    times: bool = True,
    normalization: Optional[Normalization] = None,
) -> str:
    """A readable report: the index, the byte offset, and a diff around it
    (``context`` equal events before and after each change)."""
    norm = normalization or _NONE
    ve, va = _view(expected, norm), _view(actual, norm)
    i = diff.index
    out = io.StringIO()
    where = "event %d (line %d of the event list)" % (i, i + 1)
    if diff.expected is None:
        out.write(
            "%s: %s has more events than %s\n" % (where, actual_name, expected_name)
        )
    elif diff.actual is None:
        out.write("%s: %s ended early\n" % (where, actual_name))
    elif times and ve.key(i, False) == va.key(i, False):
        out.write(
            "%s differs, in its time stamp only (--ignore-time compares "
            "without time stamps)\n" % where
        )
    else:
        out.write("%s differs\n" % where)
    if diff.byte_offset is not None and diff.expected is not None:
        if diff.stream_offset is not None:
            out.write(
                "  data differ at byte %d of the event (byte %d of fd %d's %s "
                "stream)\n"
                % (
                    diff.byte_offset,
                    diff.stream_offset,
                    diff.expected.fd,
                    diff.expected.kind,
                )
            )
        else:
            out.write(
                "  data differ at byte %d of the event's masked data\n"
                % diff.byte_offset
            )
    out.write("--- %s\n+++ %s\n" % (expected_name, actual_name))
    for k in range(max(0, i - context), i):
        out.write("  %5d  %s\n" % (k, _clip(ve.line(k))))
    _write_hunk(out, ve, va, i, context, times)
    _write_data(out, diff, ve, va, expected_name, actual_name)
    return out.getvalue()


def _write_hunk(
    out: io.StringIO, ve: _View, va: _View, i: int, context: int, times: bool
) -> None:
    """The changes from event ``i`` on, as difflib's first group of opcodes
    over a window of both traces (``context`` equal events around each
    change; of a long run of changed events, the first few)."""
    window = min(2 * context + 40, 2000)  # difflib's matching is quadratic
    limit = max(4, context + 1)
    ne, na = len(ve.events), len(va.events)
    he, ha = min(ne, i + window), min(na, i + window)
    # (Keys as text: always hashable, whatever a recorded value is.)
    a = [ve.text_key(k, times) for k in range(i, he)]
    b = [va.text_key(k, times) for k in range(i, ha)]
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    group = next(iter(matcher.get_grouped_opcodes(context)), [])
    end_e = end_a = i
    for tag, e1, e2, a1, a2 in group:
        if tag == "equal":
            for k in range(e1, e2):
                out.write("  %5d  %s\n" % (i + k, _clip(ve.line(i + k))))
        else:
            _write_changed(out, "-", ve, i + e1, i + e2, limit)
            _write_changed(out, "+", va, i + a1, i + a2, limit)
        end_e, end_a = i + e2, i + a2
    if (end_e == he and he < ne) or (end_a == ha and ha < na):
        out.write("  ...    (and more past the %d events compared)\n" % window)


def _write_changed(
    out: io.StringIO, sign: str, view: _View, lo: int, hi: int, limit: int
) -> None:
    for k in range(lo, min(hi, lo + limit)):
        out.write("%s %5d  %s\n" % (sign, k, _clip(view.line(k))))
    if hi - lo > limit:
        out.write("%s   ...  (%d more)\n" % (sign, hi - lo - limit))


def _write_data(
    out: io.StringIO,
    diff: Difference,
    ve: _View,
    va: _View,
    expected_name: str,
    actual_name: str,
) -> None:
    """The bytes around the first differing byte; at a send or recv that
    only one side has data for, that side's bytes."""
    i = diff.index
    de = ve.data(i)[0] if diff.expected is not None else None
    da = va.data(i)[0] if diff.actual is not None else None
    if diff.byte_offset is not None and de is not None and da is not None:
        b = diff.byte_offset
        s = max(0, b - 20)
        out.write(
            "  expected bytes %d..: %s\n  actual bytes   %d..: %s\n"
            % (s, format_value(de[s : b + 20]), s, format_value(da[s : b + 20]))
        )
        return
    for name, ev, data in (
        (expected_name, diff.expected, de),
        (actual_name, diff.actual, da),
    ):
        if ev is not None and data is not None and (de is None) != (da is None):
            verb = {"send": "sent", "recv": "received"}.get(ev.kind, "holds")
            out.write("  %s %s %s\n" % (name, verb, format_data(data)))


def format_data(data: bytes, limit: int = 120, start: int = 0) -> str:
    """``N bytes: "..."``: ``limit`` bytes shown, from byte ``start``
    (``N bytes, 20..: "..."`` when it is not 0)."""
    end = start + limit
    shown = format_value(data[start:end])
    more = " ... (%d more)" % (len(data) - end) if len(data) > end else ""
    return "%d byte%s%s: %s%s" % (
        len(data),
        "" if len(data) == 1 else "s",
        ", %d.." % start if start else "",
        shown,
        more,
    )


def normalization_notes(
    expected: Sequence[TraceEvent],
    actual: Sequence[TraceEvent],
    normalization: Optional[Normalization],
    expected_name: str = "expected",
    actual_name: str = "actual",
) -> List[str]:
    """What the normalization did to each trace, one line each."""
    norm = normalization or _NONE
    notes: List[str] = []
    if not norm.active:
        return notes
    for name, events in ((expected_name, expected), (actual_name, actual)):
        v = _view(events, norm)
        if norm.ports:
            shown = ", ".join("%d=<port%d>" % pn for pn in v.ports[:8])
            if len(v.ports) > 8:
                shown += ", ..."
            notes.append(
                "%s: %d ephemeral port%s renumbered%s"
                % (
                    name,
                    len(v.ports),
                    "" if len(v.ports) == 1 else "s",
                    " (%s)" % shown if shown else "",
                )
            )
        if norm.masks:
            notes.append(
                "%s: %d line%s masked (%s)"
                % (
                    name,
                    v.changed(),
                    "" if v.changed() == 1 else "s",
                    ", ".join("/%s/" % p.pattern for p in norm.masks),
                )
            )
    return notes


# -- readable lines -----------------------------------------------------------------


def _readable(text: str) -> str:
    """A line as reports show it: a wait that returned nothing (``'0'``,
    which the file keeps) says so in words."""
    if not text.startswith("wait - "):
        return text
    parts = text.split(" ")
    if len(parts) != 7 or parts[5] != "->":
        return text
    if parts[4] == "'0'":
        parts[4] = "(no descriptors)"
    if parts[6] == "'0'":
        timeout = parts[3]
        if timeout == "None":
            parts[6] = "nothing ready"
        elif re.fullmatch(r"[0.]+", timeout):
            parts[6] = "nothing ready (timeout 0: a poll)"
        else:
            parts[6] = "nothing ready (timed out after %s s)" % timeout
    return " ".join(parts)


def readable_line(ev: TraceEvent) -> str:
    """``ev``'s line as reports show it (see :func:`_readable`)."""
    return "%.6f %s" % (ev.time, _readable(_event_text(ev)))


def _clip(line: str, width: int = 160) -> str:
    return line if len(line) <= width else line[: width - 3] + "..."
