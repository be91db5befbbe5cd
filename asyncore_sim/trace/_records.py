"""The recorder's records: kept compactly, written as trace text fast, and
streamed to a file as the run goes.

A record is a tuple, ``(time, kind, fd, args, result)``: what a
:class:`TraceEvent` holds, where a callback's ``args`` is the dispatcher's
class and ``result`` its answer, and a plain send's or recv's ``result``
may be its payload alone (see :data:`Raw`).  :class:`_Log` keeps the
records, with the descriptor numbering, as the run goes (the core's
recording step puts readable()/writable() records itself, as
:meth:`_Log.callback` makes them, and a TracingSocket's send and recv are
the closures of :func:`_traffic`); :func:`_events` makes their events.
(Joining a dispatcher's readable() and writable() answers into one record
was tried: 8k instructions a round trip dearer kept, 1-3k cheaper written,
so each answer stays a record.  Sharing equal records, one tuple for all,
was tried too: the look-up costs more than the tuples it saves.)

The one spelling of a trace line is :meth:`TraceEvent.line` (values by
:func:`format_value`); :func:`raw_pieces` writes the same text, byte for
byte, as ASCII bytes in pieces joined once, from the records without
building a :class:`TraceEvent`: whole cached lines for callbacks, cached
suffixes for waits, cached heads for send and recv lines, and each payload
escaped once for the few last seen and for those that come again (checked
whole), by C-level searches and replaces where it is text
(``codecs.escape_encode``, corrected for the quotes, where it is not).  At
import, the fast escape is checked against ``format_value``; where it
differs (another interpreter), ``format_value`` is used.  Tests compare
whole traces written both ways.

:class:`TraceStream` is the file a ``Recorder(stream=...)`` writes: the
header at once, then the lines in batches (a file named by its path gets
the bytes, unbuffered: each batch is one write).  A file named by its path
is open only while the recording is active (a batch written outside that
time opens it, appends and closes it), so that the file is complete, and
closed, as soon as the recording stops.

Rules (deterministic): trace descriptors are numbered lowest free from 3,
as POSIX allocates; a line depends only on its record; the caches hold
values, keyed by (type, value) or by values that print alike when they
compare equal, never by ``id()``.
"""

from __future__ import annotations

import codecs
import heapq
import os
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from asyncore_sim.trace._format import FORMAT_VERSION, TraceEvent, check_header_value
from asyncore_sim.trace._values import Err, _err_value, format_value, size_args

__all__ = [
    "Raw",
    "raw_pieces",
    "raw_bytes",
    "raw_text",
    "header_text",
    "escape_bytes",
    "TraceStream",
]

MAGIC = "# asyncore-sim trace %d" % FORMAT_VERSION

#: A recorder's record: (time, kind, fd, args, result), where a callback's
#: ``args`` is the dispatcher's class and ``result`` its answer as a bool
#: (kept in the trace for readable/writable only), and a send's or recv's
#: ``result`` may be its payload alone, flat: ``(len(payload), payload)``
#: for a send, ``(payload,)`` for a recv (a tuple fewer to keep).
Raw = Tuple[float, str, int, Any, Any]
_ANSWERED = frozenset(("readable", "writable"))


def _event(raw: Raw) -> TraceEvent:
    t, kind, fd, args, result = raw
    if args.__class__ is not tuple:  # a callback: its class, its answer
        return TraceEvent(
            t, kind, fd, (args.__name__,), (result,) if kind in _ANSWERED else None
        )
    if result.__class__ is bytes:  # a plain send or recv, flat
        result = _unflat(kind, result)
    return TraceEvent(t, kind, fd, args, result)


def _unflat(kind: str, data: bytes) -> Tuple[Any, ...]:
    """The result of a flat send or recv record (its payload alone)."""
    return (len(data), data) if kind == "send" else (data,)


def _events(raws: Iterable[Raw]) -> List[TraceEvent]:
    """The events of records."""
    return list(map(_event, raws))


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


def _traffic(log: _Log, sock: Any, tfd: int) -> Tuple[Any, Any]:
    """The recorded ``send`` and ``recv`` of one socket, as closures: the
    two calls that carry every byte find all they need here, where an
    attribute of TracingSocket (a class with ``__getattr__``) costs a slow
    lookup each on CPython 3.11.  A plain call's arguments, ``(size,)``,
    are one tuple per size (``_SIZES``): kept records share them."""
    put = log.put
    pending = log.pending
    sizes = _SIZES

    def send(data: Any, flags: int = 0) -> int:
        try:
            n = sock.send(data, flags) if flags else sock.send(data)
        except BaseException as e:
            log.add("send", tfd, size_args(len(data), flags), (_err_value(e),))
            raise
        if flags:
            args = size_args(len(data), flags)
        else:
            size = len(data)
            args = sizes.get(size)  # type: ignore[assignment]
            if args is None:
                args = _size(size)
        sent = bytes(data[:n])
        if n.__class__ is int and len(sent) == n:  # flat: see _records.Raw
            put((log.now, "send", tfd, args, sent))
        else:
            put((log.now, "send", tfd, args, (n, sent)))
        if len(pending) >= log.limit:
            log.spill()
        return n  # type: ignore[no-any-return]

    def recv(bufsize: int, flags: int = 0) -> bytes:
        try:
            data = sock.recv(bufsize, flags) if flags else sock.recv(bufsize)
        except BaseException as e:
            log.add("recv", tfd, size_args(bufsize, flags), (_err_value(e),))
            raise
        if flags:
            args = size_args(bufsize, flags)
        else:
            args = sizes.get(bufsize) if bufsize.__class__ is int else None  # type: ignore[assignment]
            if args is None:
                args = _size(bufsize)
        put((log.now, "recv", tfd, args, bytes(data)))  # flat: see _records.Raw
        if len(pending) >= log.limit:
            log.spill()
        return data  # type: ignore[no-any-return]

    return send, recv


#: size -> ``(size,)``, for the sizes sends and recvs take (ints only:
#: True == 1 prints apart).
_SIZES: Dict[int, Tuple[int]] = {}


def _size(size: Any) -> Tuple[Any]:
    args = (size,)
    if size.__class__ is int and len(_SIZES) < 4096:
        _SIZES[size] = args
    return args


_escape_encode: Optional[Callable[[bytes], Tuple[bytes, int]]] = getattr(
    codecs, "escape_encode", None
)


def _encode_escape(data: bytes) -> bytes:
    # escape_encode writes \' and leaves " bare; traces do the opposite.
    # Every ' it writes follows the backslash of its own escape, so each \'
    # is exactly one escaped quote.  (Each replace() is guarded: a search
    # that finds nothing costs more than the test.)
    out = _escape_encode(data)[0]  # type: ignore[misc]
    if b"'" in out:
        out = out.replace(b"\\'", b"'")
    if b'"' in out:
        out = out.replace(b'"', b'\\"')
    return out  # type: ignore[no-any-return]


def _hexed(d: bytes) -> bool:
    """Whether ASCII bytes hold one that a trace writes as ``\\xNN``: each
    looked for by memchr (``int in bytes``: a few hundred instructions for
    4 KiB, where escape_encode spends 20 a byte)."""
    return (
        0 in d or 1 in d or 2 in d or 3 in d or 4 in d or 5 in d or 6 in d
        or 7 in d or 8 in d or 11 in d or 12 in d or 14 in d or 15 in d
        or 16 in d or 17 in d or 18 in d or 19 in d or 20 in d or 21 in d
        or 22 in d or 23 in d or 24 in d or 25 in d or 26 in d or 27 in d
        or 28 in d or 29 in d or 30 in d or 31 in d or 127 in d
    )


_SHORTS = ((0x5C, b"\\", b"\\\\"), (0x22, b'"', b'\\"'), (0x0A, b"\n", b"\\n"),
           (0x0D, b"\r", b"\\r"), (0x09, b"\t", b"\\t"))


def _c_escape_b(data: bytes) -> bytes:
    # Printable ASCII with only \\, ", newline, return and tab to escape
    # (text, as most payloads are): those replaced, each only where present
    # (escape_encode's pass costs 20 instructions a byte, these C-level
    # searches a fraction of one); anything else by escape_encode.
    if data.__class__ is not bytes or not data.isascii() or _hexed(data):
        return _encode_escape(bytes(data))
    for c, one, two in _SHORTS:  # the backslash first
        if c in data:
            data = data.replace(one, two)
    return data


def _c_escape(data: bytes) -> str:
    return _c_escape_b(data).decode("ascii")


def _slow_escape(data: bytes) -> str:
    return format_value(data)[1:-1]


def _slow_escape_b(data: bytes) -> bytes:
    return _slow_escape(data).encode("ascii")


def _choose_escape() -> Tuple[Callable[[bytes], str], Callable[[bytes], bytes]]:
    if _escape_encode is None:
        return _slow_escape, _slow_escape_b  # pragma: no cover
    samples = [bytes(range(256)), b"\\'\"\\\\''\"\"\\", b"", b"'", b"\\",
               bytes(range(0x20, 0x7F)) + b"\t\n\r\\n\"'\\\\", b"a\x00\x7f\x80\n"]
    try:
        if all(_c_escape(s) == _slow_escape(s) for s in samples):
            return _c_escape, _c_escape_b
    except Exception:  # pragma: no cover - an interpreter without it
        pass
    return _slow_escape, _slow_escape_b  # pragma: no cover


#: bytes -> the body of their quoted token (between the double quotes);
#: _escape_b, the same as ASCII bytes (what the writers use).
escape_bytes, _escape_b = _choose_escape()

_MAX_CACHE = 4096


def _kept(cache: Dict[Any, Any], key: Any, value: Any) -> Any:
    """``cache[key] = value``, the cache emptied first once it holds
    _MAX_CACHE entries (every cache here is bounded so); returns value."""
    if len(cache) >= _MAX_CACHE:
        cache.clear()
    cache[key] = value
    return value

_tokens: Dict[Tuple[type, str], str] = {}

# The last few payloads written, with their escaped bodies: every segment a
# traced program sends is, as often as not, the next one its peer receives
# (and an echo sends what it received), and comparing bytes costs far less
# than escaping them.  Small payloads are cheap to escape; big ones not kept.
_recent: List[Tuple[bytes, bytes]] = []
_RECENT = 4
_RECENT_SIZES = (64, 65536)
# Further back, payloads that come again (a program that sends the same
# texts over and over): keyed by their length and ends (a few dozen bytes
# hashed, never the whole payload), each checked whole before it is used;
# emptied when it holds _SEEN_BYTES of payloads.
_seen: Dict[Tuple[int, bytes, bytes], Tuple[bytes, bytes]] = {}
_seen_size = [0]
_SEEN_BYTES = 1 << 22


def _escaped(v: bytes) -> bytes:
    """The body of the quoted token of ``v`` (exactly bytes), as bytes."""
    n = len(v)
    low, high = _RECENT_SIZES
    if n < low:
        return _escape_b(v)
    for b, text in _recent:
        if b is v or (len(b) == n and b == v):
            return text
    if n > high:
        return _escape_b(v)
    key = (n, v[:32], v[-32:])
    hit = _seen.get(key)
    if hit is not None and (hit[0] is v or hit[0] == v):
        text = hit[1]
    else:
        text = _escape_b(v)
        if _seen_size[0] + n > _SEEN_BYTES:
            _seen.clear()
            _seen_size[0] = 0
        _seen[key] = (v, text)
        _seen_size[0] += n
    _recent.insert(0, (v, text))
    del _recent[_RECENT:]
    return text


def _token(v: Any) -> str:
    """``format_value(v)``, fast for the values a recorder writes."""
    c = v.__class__
    if c is bytes:
        return '"' + _escaped(v).decode("ascii") + '"'
    if c is int:
        return str(v)
    if c is str or c is Err:  # (only exact types: 1 == 1.0 == True)
        try:
            return _tokens[(c, v)]
        except KeyError:
            return _kept(_tokens, (c, v), format_value(v))
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


def _line(kind: str, fd: int, args: Any, result: Any) -> bytes:
    """:func:`_suffix` and the newline, as ASCII bytes."""
    return (_suffix(kind, fd, args, result) + "\n").encode("ascii")


# Line suffixes (with their newline, as bytes) of the records that repeat
# (callbacks and waits), keyed so that values which compare equal but print
# apart (1, 1.0 and True; 0.0 and -0.0; an Err and its str) never share one.
_suffixes: Dict[Any, Any] = {}
# The heads of plain send and recv lines (up to the payload's opening quote).
_heads: Dict[Tuple[str, int, int, Optional[int]], bytes] = {}
# Callback records (a class, a bool answer, an int descriptor, a float time)
# -> their whole lines, time stamp included: a recording whose time stands
# still repeats them (raw_pieces uses it only then: a look-up that misses
# costs more than the line).  (Records that compare equal print alike here:
# a time stamp is a float, never -0.0, from the recorder's clock.)
_whole_lines: Dict[Raw, bytes] = {}
_waits: List[Any] = [False, None]  # see raw_pieces


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


def raw_pieces(raws: Iterable[Raw]) -> List[bytes]:
    """The lines of records, each ending in a newline, as pieces of ASCII
    bytes to be joined (or written) in order: a time stamp and a cached
    suffix; a callback's whole line, cached by its record, while time
    stands still (two waits in a row at one time stamp: then the passes
    repeat, time stamp and all); or for a plain send or recv its head, then
    its payload's escaped body (escaped once for the payloads last seen,
    and never copied into a line of its own)."""
    out: List[bytes] = []
    append = out.append
    cache = _suffixes
    heads = _heads
    whole = _whole_lines
    recent = _recent
    last: Any = None
    stamp = b""
    # Whether the last two waits had one time stamp, and the last one's
    # (from one call to the next: a stream writes a batch a call).
    steady, waited = _waits
    for raw in raws:
        if raw[3].__class__ is not tuple:  # a callback: its class, its answer
            if steady:
                try:
                    append(whole[raw])
                    continue
                except (KeyError, TypeError):  # (a new one; an unhashable one)
                    pass
            t, kind, fd, args, result = raw
            if t != last or last is None:
                last = t
                stamp = b"%.6f" % t
            key: Any = (kind, fd, args, result)
            try:
                text = cache[key]
            except KeyError:
                text = _kept(cache, key, _line(kind, fd, args, result))
            except TypeError:  # something unhashable
                append(stamp)
                append(_line(kind, fd, args, result))
                continue
            if steady:
                append(_kept(whole, raw, stamp + text))
            else:
                append(stamp)
                append(text)
            continue
        t, kind, fd, args, result = raw
        if t != last or last is None:
            last = t
            stamp = b"%.6f" % t
        append(stamp)
        if result.__class__ is bytes:  # a plain send or recv, flat
            if (
                fd.__class__ is int
                and fd >= 0
                and len(args) == 1
                and args[0].__class__ is int
            ):
                hkey = (kind, fd, args[0], len(result) if kind == "send" else None)
                head = heads.get(hkey)
                if head is None:
                    head = _head(heads, hkey)
                append(head)
                if recent:  # _escaped(result), for the payload last seen
                    seen, body = recent[0]
                    if seen is not result and seen != result:
                        body = _escaped(result)
                else:
                    body = _escaped(result)
                append(body)
                append(b'"\n')
                continue
            result = _unflat(kind, result)
        if kind == "wait":
            steady = t == waited
            waited = t
        if kind == "wait" and _plain_wait(args, result):
            timeout = args[1]
            c = timeout.__class__
            key = (
                args[0],
                args[2],
                # (equal floats print alike, but for 0.0 and -0.0)
                repr(timeout) if c is float and not timeout else timeout,
                c,
                result[0],
                result[0].__class__,
            )
        else:
            if (
                (kind == "send" or kind == "recv")
                and fd.__class__ is int
                and fd >= 0
                and len(args) == 1
                and args[0].__class__ is int
                and result.__class__ is tuple
                and result[-1].__class__ is bytes
                and (len(result) == 1 or (
                    len(result) == 2 and result[0].__class__ is int))
            ):
                # Its head (cached: the sizes repeat), the payload's body.
                hkey = (kind, fd, args[0], result[0] if len(result) == 2 else None)
                head = heads.get(hkey)
                if head is None:
                    head = _head(heads, hkey)
                append(head)
                append(_escaped(result[-1]))
                append(b'"\n')
                continue
            append(_line(kind, fd, args, result))
            continue
        try:
            text = cache[key]
        except KeyError:
            text = _kept(cache, key, _line(kind, fd, args, result))
        except TypeError:  # something unhashable
            text = _line(kind, fd, args, result)
        append(text)
    _waits[:] = steady, waited
    return out


def _head(heads: Dict[Any, bytes], hkey: Tuple[str, int, int, Optional[int]]) -> bytes:
    """The head of a plain send or recv line, up to its payload's quote."""
    kind, fd, size, n = hkey
    head = b" %s %d %d -> " % (kind.encode("ascii"), fd, size)
    head += b'"' if n is None else b'%d "' % n
    return _kept(heads, hkey, head)


def raw_bytes(raws: Iterable[Raw]) -> bytes:
    """The lines of records, each ending in a newline, as ASCII bytes."""
    return b"".join(raw_pieces(raws))


def raw_text(raws: Iterable[Raw]) -> str:
    """The lines of records, each ending in a newline."""
    return raw_bytes(raws).decode("ascii")


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
        """The recording became active: keep the file open (a file named
        by its path is written unbuffered, in binary: see :meth:`write`)."""
        if self.path is not None and self.file is None:
            self.file = open(self.path, "ab", buffering=0)

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

    def write(self, pieces: List[bytes]) -> None:
        """Append lines (pieces of ASCII bytes, as :func:`raw_pieces` makes
        them)."""
        if self.path is None:  # the caller's text file
            self.file.write(b"".join(pieces).decode("ascii"))
        elif self.file is not None:
            write_pieces(self.file, pieces)
        else:
            with open(self.path, "ab", buffering=0) as f:
                write_pieces(f, pieces)


def write_pieces(f: Any, pieces: List[bytes]) -> None:
    """Write byte strings to the binary file ``f``, in order, joined into
    one write (measured: cheaper than ``os.writev`` of the pieces)."""
    f.write(b"".join(pieces))
