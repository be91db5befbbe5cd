"""The recorder's records: kept compactly, written as trace text fast, and
streamed to a file as the run goes.

A record is a tuple, ``(time, kind, fd, args, result)``: what a
:class:`TraceEvent` holds, where a callback's ``args`` is the dispatcher's
class and ``result`` its answer.  :class:`_Log` keeps them, with the
descriptor numbering, as the run goes; :func:`_event` makes the event of one.

The one spelling of a trace line is :meth:`TraceEvent.line` (values by
:func:`format_value`); :func:`raw_text` writes the same text, byte for byte,
from the records without building a :class:`TraceEvent`, and escapes bytes
in C (``codecs.escape_encode``, corrected for the quotes) instead of one
byte at a time.  At import, the fast escape is checked against
``format_value``; where it differs (another interpreter), ``format_value``
is used.  Tests compare whole traces written both ways.

:class:`TraceStream` is the file a ``Recorder(stream=...)`` writes: the
header at once, then the lines in batches.  A file named by its path is open
only while the recording is active (a batch written outside that time opens
it, appends and closes it), so that the file is complete, and closed, as
soon as the recording stops.

Rules (deterministic): trace descriptors are numbered lowest free from 3,
as POSIX allocates; a line depends only on its record; the caches hold
values, keyed by (type, value), never by ``id()``.
"""

from __future__ import annotations

import codecs
import heapq
import os
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from asyncore_sim.trace._format import FORMAT_VERSION, TraceEvent, check_header_value
from asyncore_sim.trace._values import Err, format_value

__all__ = ["Raw", "raw_text", "header_text", "escape_bytes", "TraceStream"]

MAGIC = "# asyncore-sim trace %d" % FORMAT_VERSION

#: A recorder's record: (time, kind, fd, args, result), where a callback's
#: ``args`` is the dispatcher's class and ``result`` its answer as a bool
#: (kept in the trace for readable/writable only).
Raw = Tuple[float, str, int, Any, Any]
_ANSWERED = frozenset(("readable", "writable"))


def _event(raw: Raw) -> TraceEvent:
    t, kind, fd, args, result = raw
    if args.__class__ is not tuple:  # a callback: its class, its answer
        return TraceEvent(
            t, kind, fd, (args.__name__,), (result,) if kind in _ANSWERED else None
        )
    return TraceEvent(t, kind, fd, args, result)


def _raw(ev: TraceEvent) -> Raw:
    return (ev.time, ev.kind, ev.fd, ev.args, ev.result)


class _Log:
    """What a recording keeps up to date as the run goes: the records, the
    descriptor numbering and the time stamp.

    A class apart from :class:`Recorder` (which the hot paths reach once per
    event) because a class with ``__getattr__``, as Recorder and
    TracingSocket are, has every attribute access unspecialized on CPython
    3.11; this one's stay fast.
    """

    def __init__(self, monotonic: Any, limit: int, spill: Any) -> None:
        self.monotonic = monotonic
        self.t0 = self.last = monotonic()
        self.now = 0.0
        self.pending: List[Raw] = []
        self.put = self.pending.append
        self.limit = limit  # pending records at which spill() runs
        self.spill = spill
        self.fds: Dict[Any, int] = {}  # the network's fd -> trace fd
        self.free: List[int] = []  # trace fds closed below next_fd (a heap)
        self.next_fd = 3
        self.epoch = 0  # bumped whenever the numbering changes

    def tick(self) -> None:
        m = self.monotonic()
        if m != self.last:  # (round() is dear, and time seldom moves)
            self.last = m
            self.now = round(m - self.t0, 6)

    def add(
        self,
        kind: str,
        fd: int,
        args: Tuple[Any, ...] = (),
        result: Optional[Tuple[Any, ...]] = None,
    ) -> None:
        self.put((self.now, kind, fd, args, result))
        if len(self.pending) >= self.limit:
            self.spill()

    def callback(self, obj: Any, name: str, result: Any = None) -> None:
        # The class, not its name, and the answer as a bool whatever the
        # callback (only readable/writable keep it): both cheaper here.
        try:
            fd = obj._fileno
        except AttributeError:
            fd = None
        self.put((self.now, name, self.fds.get(fd, -1), type(obj), not not result))

    def tfd(self, fd: Any) -> int:
        try:
            return self.fds[fd]
        except (KeyError, TypeError):
            return self.open_fd(fd) if isinstance(fd, int) and fd >= 0 else -1

    def open_fd(self, fd: int) -> int:
        # Lowest free from 3, as POSIX allocates: the lowest closed number
        # below the highest handed out, else the next one.
        n = heapq.heappop(self.free) if self.free else self.next_fd
        if n == self.next_fd:
            self.next_fd += 1
        self.fds[fd] = n
        self.epoch += 1
        return n

    def close_fd(self, fd: Any) -> int:
        n = self.fds.pop(fd, -1)
        if n >= 0:
            heapq.heappush(self.free, n)
            self.epoch += 1
        return n


_escape_encode: Optional[Callable[[bytes], Tuple[bytes, int]]] = getattr(
    codecs, "escape_encode", None
)


def _c_escape(data: bytes) -> str:
    # escape_encode writes \' and leaves " bare; traces do the opposite.
    # Every ' it writes follows the backslash of its own escape, so each \'
    # is exactly one escaped quote.  (Each replace() is guarded: a search
    # that finds nothing costs more than the test.)
    out = _escape_encode(data)[0]  # type: ignore[misc]
    if b"'" in out:
        out = out.replace(b"\\'", b"'")
    if b'"' in out:
        out = out.replace(b'"', b'\\"')
    return out.decode("ascii")


def _slow_escape(data: bytes) -> str:
    return format_value(data)[1:-1]


def _choose_escape() -> Callable[[bytes], str]:
    if _escape_encode is None:
        return _slow_escape
    samples = [bytes(range(256)), b"\\'\"\\\\''\"\"\\", b"", b"'", b"\\"]
    try:
        if all(_c_escape(s) == _slow_escape(s) for s in samples):
            return _c_escape
    except Exception:  # pragma: no cover - an interpreter without it
        pass
    return _slow_escape  # pragma: no cover


#: bytes -> the body of their quoted token (between the double quotes).
escape_bytes = _choose_escape()

_MAX_CACHE = 4096
_tokens: Dict[Tuple[type, str], str] = {}

# The last few payloads written, with their tokens: every segment a traced
# program sends is, as often as not, the next one its peer receives (and an
# echo sends what it received), and comparing bytes costs far less than
# escaping them.  Small payloads are cheap to escape; big ones not kept.
_recent: List[Tuple[bytes, str]] = []
_RECENT = 4
_RECENT_SIZES = (64, 65536)


def _bytes_token(v: bytes) -> str:
    n = len(v)
    low, high = _RECENT_SIZES
    if n < low:
        return '"' + escape_bytes(v) + '"'
    for b, text in _recent:
        if b is v or (len(b) == n and b == v):
            return text
    text = '"' + escape_bytes(v) + '"'
    if n <= high:
        _recent.insert(0, (v, text))
        del _recent[_RECENT:]
    return text


def _token(v: Any) -> str:
    """``format_value(v)``, fast for the values a recorder writes."""
    c = v.__class__
    if c is bytes:
        return _bytes_token(v)
    if c is int:
        return str(v)
    if c is str or c is Err:  # (only exact types: 1 == 1.0 == True)
        try:
            return _tokens[(c, v)]
        except KeyError:
            text = format_value(v)
            if len(_tokens) >= _MAX_CACHE:
                _tokens.clear()
            _tokens[(c, v)] = text
            return text
    if c is float:
        return repr(v)
    return format_value(v)


def _suffix(kind: str, fd: int, args: Any, result: Any) -> str:
    """A record's line after its time stamp (from the space on)."""
    head = " %s %s" % (kind, "-" if fd < 0 else fd)
    if args.__class__ is not tuple:  # a callback: the class, its answer
        line = head + " " + _token(args.__name__)
        if kind not in _ANSWERED:
            return line
        return line + (" -> True" if result else " -> False")
    parts: List[str] = [head]
    for v in args:
        parts.append(_token(v))
    if result is not None:
        parts.append("->")
        for v in result:
            parts.append(_token(v))
    return " ".join(parts)


# Line suffixes of the records that repeat (callbacks and waits), keyed so
# that values which compare equal but print apart (1, 1.0 and True; 0.0 and
# -0.0; an Err and its str) never share one.
_suffixes: Dict[Any, str] = {}


def _plain_wait(args: Any, result: Any) -> bool:
    """A wait as the recorder writes it: select|poll|epoll, a timeout (None,
    an int or a float), the interest; the answer, or an error."""
    return (
        len(args) == 3
        and args[0].__class__ is str
        and args[2].__class__ is str
        and args[1].__class__ in (type(None), int, float)
        and result is not None
        and len(result) == 1
        and result[0].__class__ in (str, Err)
    )


def raw_text(raws: Iterable[Raw]) -> str:
    """The lines of records, each ending in a newline."""
    out: List[str] = []
    append = out.append
    cache = _suffixes
    last: Any = None
    stamp = ""
    for t, kind, fd, args, result in raws:
        if t != last or last is None:
            last = t
            stamp = "%.6f" % t
        if args.__class__ is not tuple:
            key: Any = (kind, fd, args, result)
        elif kind == "wait" and _plain_wait(args, result):
            timeout = args[1]
            key = (
                args[0],
                args[2],
                repr(timeout) if timeout.__class__ is float else timeout,
                result[0],
                result[0].__class__,
            )
        else:
            append(stamp + _suffix(kind, fd, args, result))
            continue
        try:
            text = cache[key]
        except KeyError:
            text = _suffix(kind, fd, args, result)
            if len(cache) >= _MAX_CACHE:
                cache.clear()
            cache[key] = text
        except TypeError:  # something unhashable
            text = _suffix(kind, fd, args, result)
        append(stamp + text)
    append("")
    return "\n".join(out)


def header_text(header: Dict[str, str]) -> str:
    """The first line and the ``# key: value`` lines, as ``Trace.dumps``
    writes them (ValueError for a header no trace can hold)."""
    out = [MAGIC + "\n"]
    for key, value in header.items():
        check_header_value(key, value)
        out.append("# %s: %s\n" % (key, value))
    return "".join(out)


class TraceStream:
    """A trace file written as the run goes: ``target`` is a path (the file
    is created, or emptied) or an open text file (written, flushed, never
    closed: it is the caller's).  The header is written at once."""

    def __init__(self, target: Any, header: Dict[str, str]) -> None:
        text = header_text(header)
        self.path: Optional[str] = None
        self.file: Any = None
        if isinstance(target, (str, os.PathLike)):
            self.path = os.fspath(target)
            self.name = self.path
            with open(self.path, "w", encoding="ascii", newline="\n") as f:
                f.write(text)
            return
        if not callable(getattr(target, "write", None)):
            raise TypeError(
                "stream= takes a path or an open text file, not %r" % (target,)
            )
        try:
            target.write(text)
        except TypeError:
            raise TypeError(
                "stream= takes a text file (trace lines are str), not %r" % (target,)
            ) from None
        self.file = target
        self.name = str(getattr(target, "name", "") or repr(target))

    def start(self) -> None:
        """The recording became active: keep the file open."""
        if self.path is not None and self.file is None:
            self.file = open(self.path, "a", encoding="ascii", newline="\n")

    def stop(self) -> None:
        """The recording stopped: the file is complete (and, if it was
        opened by path, closed)."""
        f = self.file
        if f is None:
            return
        if self.path is not None:
            self.file = None
            f.close()
        else:
            flush = getattr(f, "flush", None)
            if flush is not None:
                flush()

    def write(self, text: str) -> None:
        if self.file is not None:
            self.file.write(text)
            return
        with open(self.path, "a", encoding="ascii", newline="\n") as f:  # type: ignore[arg-type]
            f.write(text)
