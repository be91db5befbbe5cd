"""Traces: every I/O event and every dispatcher callback of a run, in order.

A trace is a list of :class:`TraceEvent` values.  Its file format (version 1)
is one event per line, readable and diffable::

    # asyncore-sim trace 1
    # network: fake
    0.000000 socket 3 AF_INET SOCK_STREAM
    0.000000 connect 3 @127.0.0.1:8080 -> EINPROGRESS
    0.001000 wait - 30.0 3:rwx -> 3:w
    0.001000 writable 3 EchoClient -> True
    0.001000 handle_write 3 EchoClient
    0.001000 send 3 512 -> 512 "Lorem ipsum\\n..."

Each line is ``time kind fd value...`` and, when the call returned
something, ``-> value...``.  ``time`` is virtual seconds (on a real network:
seconds since recording began, read only when a wait or sleep returns, so
every event between two waits carries the same stamp).  ``fd`` is ``-``
when the event has none.  Values are written as:

* ``"..."``: bytes, exactly; ``\\\\``, ``\\"``, ``\\n``, ``\\r``, ``\\t`` and
  ``\\xNN`` escape everything that is not printable ASCII;
* ``'...'``: a string, with the same escapes (plus ``\\uNNNN``);
* ``@host:port`` (``@[v6addr]:port``): an address;
* ``!ENAME``: an error (``OSError`` with that errno name, or an exception
  class name such as ``!timeout``);
* ``None``, ``True``, ``False``, integers, floats, and bare words.

Descriptors are renumbered as the trace sees them open (lowest free from 3,
as POSIX allocates), so a trace recorded on real sockets does not depend on
what else the process had open.  Nothing in a trace depends on ``id()``,
the wall clock of day, the machine or ``PYTHONHASHSEED``.

Callback events are named after the method (``readable``, ``writable``,
``handle_read``, ``handle_close``...) and carry the dispatcher's class name;
I/O events are named after the socket call.
"""

from __future__ import annotations

import errno as _errno
import io
import os
import re
import socket as _socket
from typing import (
    Any,
    Dict,
    Iterable,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import attrs

import asyncore_seam as _seam

__all__ = [
    "TraceEvent",
    "Trace",
    "TraceFormatError",
    "Recorder",
    "Difference",
    "first_difference",
    "format_difference",
    "format_value",
    "parse_line",
    "CALLBACKS",
    "FORMAT_VERSION",
]

FORMAT_VERSION = 1
_MAGIC = "# asyncore-sim trace %d" % FORMAT_VERSION

#: Event kinds that are dispatcher callbacks (the rest are I/O events).
CALLBACKS = (
    "readable",
    "writable",
    "handle_connect",
    "handle_accept",
    "handle_read",
    "handle_write",
    "handle_expt",
    "handle_close",
    "handle_error",
    "found_terminator",
)


class TraceFormatError(ValueError):
    """A trace file that cannot be read; the message names file and line."""


class Addr(tuple):  # type: ignore[type-arg]
    """An address value (``@host:port``); a plain tuple otherwise."""

    __slots__ = ()


class Err(str):
    """An error value (``!ENAME``)."""

    __slots__ = ()


@attrs.frozen
class TraceEvent:
    """One event: ``time`` (seconds), ``kind``, ``fd`` (-1: none), the call's
    ``args`` and, if it returned or raised, ``result`` (a tuple; ``None``
    when the line has no ``->``)."""

    time: float
    kind: str
    fd: int
    args: Tuple[Any, ...] = ()
    result: Optional[Tuple[Any, ...]] = None

    @property
    def is_callback(self) -> bool:
        return self.kind in CALLBACKS

    def line(self) -> str:
        parts = ["%.6f" % self.time, self.kind, "-" if self.fd < 0 else str(self.fd)]
        parts.extend(format_value(v) for v in self.args)
        if self.result is not None:
            parts.append("->")
            parts.extend(format_value(v) for v in self.result)
        return " ".join(parts)

    def same_as(self, other: "TraceEvent", times: bool = True) -> bool:
        if times:
            return self == other
        return (self.kind, self.fd, self.args, self.result) == (
            other.kind,
            other.fd,
            other.args,
            other.result,
        )


# -- values ---------------------------------------------------------------------

_BARE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:,|<>()\[\]-]*$")
_ESC = {0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}


def _escape_bytes(data: bytes, quote: int) -> str:
    out = []
    for b in data:
        if b in _ESC:
            out.append(_ESC[b])
        elif b == quote:
            out.append("\\" + chr(b))
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append("\\x%02x" % b)
    return "".join(out)


def _escape_str(text: str) -> str:
    out = []
    for ch in text:
        c = ord(ch)
        if c < 0x80:
            out.append(_escape_bytes(bytes([c]), 0x27))
        elif c < 0x10000:
            out.append("\\u%04x" % c)
        else:
            out.append("\\U%08x" % c)
    return "".join(out)


def format_value(value: Any) -> str:
    """One value as a trace token (see the module docstring)."""
    if value is None or value is True or value is False:
        return repr(value)
    if isinstance(value, Err):
        return "!" + value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return '"%s"' % _escape_bytes(bytes(value), 0x22)
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple) and len(value) >= 2 and isinstance(value[1], int):
        host = str(value[0])
        if ":" in host:
            host = "[%s]" % host
        return "@%s:%d" % (host, value[1])
    if isinstance(value, str):
        if _BARE.match(value) and parse_value(value) == value:
            return value
        return "'%s'" % _escape_str(value)
    return "'%s'" % _escape_str(repr(value))


_TOKEN = re.compile(
    r'"(?:[^"\\]|\\.)*"'  # bytes
    r"|'(?:[^'\\]|\\.)*'"  # str
    r"|\S+"
)
_UNESC = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)")
_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


def _unescape(body: str) -> str:
    def sub(m: "re.Match[str]") -> str:
        e = m.group(1)
        if e[0] in "xuU" and len(e) > 1:
            return chr(int(e[1:], 16))
        if e in _SIMPLE:
            return _SIMPLE[e]
        raise ValueError("unknown escape \\%s" % e)

    return _UNESC.sub(sub, body)


def parse_value(token: str) -> Any:
    if token.startswith('"'):
        if len(token) < 2 or not token.endswith('"'):
            raise ValueError("unterminated bytes value %s" % token)
        text = _unescape(token[1:-1])
        if any(ord(c) > 0xFF for c in text):
            raise ValueError("bytes value with a \\u escape: %s" % token)
        return text.encode("latin-1")
    if token.startswith("'"):
        if len(token) < 2 or not token.endswith("'"):
            raise ValueError("unterminated string value %s" % token)
        return _unescape(token[1:-1])
    if token.startswith("!"):
        return Err(token[1:])
    if token.startswith("@"):
        host, sep, port = token[1:].rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError("bad address %s (expected @host:port)" % token)
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return Addr((host, int(port)))
    if token in ("None", "True", "False"):
        return {"None": None, "True": True, "False": False}[token]
    if re.fullmatch(r"-?\d+", token):
        return int(token)
    if re.fullmatch(r"-?(\d+\.\d*|\.\d+|\d+)(e[-+]?\d+)?|-?inf|nan", token):
        return float(token)
    return token


def parse_line(line: str) -> TraceEvent:
    tokens = _TOKEN.findall(line)
    if len(tokens) < 3:
        raise ValueError("expected 'time kind fd ...', got %r" % line)
    try:
        time = float(tokens[0])
    except ValueError:
        raise ValueError("bad time %r" % tokens[0]) from None
    kind = tokens[1]
    fd = -1 if tokens[2] == "-" else int(tokens[2]) if tokens[2].isdigit() else None
    if fd is None:
        raise ValueError("bad fd %r (a number or -)" % tokens[2])
    rest = tokens[3:]
    result: Optional[Tuple[Any, ...]] = None
    if "->" in rest:
        i = rest.index("->")
        result = tuple(parse_value(t) for t in rest[i + 1 :])
        rest = rest[:i]
    return TraceEvent(time, kind, fd, tuple(parse_value(t) for t in rest), result)


# -- traces -----------------------------------------------------------------------


@attrs.define
class Trace:
    """A recorded run: ``header`` (ordered key/value pairs) and ``events``."""

    events: List[TraceEvent] = attrs.field(factory=list)
    header: Dict[str, str] = attrs.field(factory=dict)

    def lines(self) -> List[str]:
        return [e.line() for e in self.events]

    def dumps(self) -> str:
        out = [_MAGIC]
        for key, value in self.header.items():
            out.append("# %s: %s" % (key, value))
        out.extend(self.lines())
        return "\n".join(out) + "\n"

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        with open(path, "w", encoding="ascii", newline="\n") as f:
            f.write(self.dumps())

    @classmethod
    def loads(cls, text: str, name: str = "<trace>") -> "Trace":
        trace = cls()
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if not lines or lines[0].strip() != _MAGIC:
            raise TraceFormatError(
                "%s:1: not an asyncore-sim trace (the first line must be %r)"
                % (name, _MAGIC)
            )
        for lineno, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            if line.startswith("#"):
                key, sep, value = line[1:].strip().partition(":")
                if sep:
                    trace.header[key.strip()] = value.strip()
                continue
            try:
                trace.events.append(parse_line(line))
            except ValueError as e:
                raise TraceFormatError("%s:%d: %s" % (name, lineno, e)) from None
        return trace

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "Trace":
        try:
            with open(path, encoding="ascii", newline="") as f:
                text = f.read()
        except UnicodeDecodeError as e:
            raise TraceFormatError(
                "%s: not ASCII at byte %d (traces escape every other byte)"
                % (path, e.start)
            ) from None
        return cls.loads(text, str(path))


# -- comparing ------------------------------------------------------------------


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


# -- recording ------------------------------------------------------------------

_FAMILIES = {
    int(v): k
    for k, v in vars(_socket).items()
    if k.startswith("AF_") and isinstance(v, int)
}
_TYPES = {
    int(_socket.SOCK_STREAM): "SOCK_STREAM",
    int(_socket.SOCK_DGRAM): "SOCK_DGRAM",
}
_LEVELS = {
    int(_socket.SOL_SOCKET): "SOL_SOCKET",
    int(_socket.IPPROTO_TCP): "IPPROTO_TCP",
}
_OPTS = {
    (int(_socket.SOL_SOCKET), int(_socket.SO_ERROR)): "SO_ERROR",
    (int(_socket.SOL_SOCKET), int(_socket.SO_REUSEADDR)): "SO_REUSEADDR",
    (int(_socket.SOL_SOCKET), int(_socket.SO_KEEPALIVE)): "SO_KEEPALIVE",
    (int(_socket.IPPROTO_TCP), int(_socket.TCP_NODELAY)): "TCP_NODELAY",
}
_SHUT = {0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"}
_MSG_OOB = int(_socket.MSG_OOB)
# Readiness letters: r=IN, x=PRI, w=OUT, e=ERR, h=HUP, n=NVAL.
_LETTERS = ((1, "r"), (4, "w"), (2, "x"), (8, "e"), (16, "h"), (32, "n"))


def mask_letters(mask: int) -> str:
    return "".join(c for bit, c in _LETTERS if mask & bit) or "0"


def letters_mask(text: str) -> int:
    bits = dict((c, bit) for bit, c in _LETTERS)
    return 0 if text == "0" else sum(bits[c] for c in text)


# How a call's arguments appear in a trace: the recorder writes them and the
# replay network matches the program's calls against them, so both use these.


def readiness_text(pairs: Iterable[Tuple[int, int]]) -> str:
    """``fd:letters,...`` for (fd, mask) pairs with a nonzero mask; "0" if none."""
    return ",".join("%d:%s" % (fd, mask_letters(m)) for fd, m in pairs if m) or "0"


def parse_readiness(text: str) -> List[Tuple[int, int]]:
    """The (fd, mask) pairs of a :func:`readiness_text`."""
    if text == "0":
        return []
    pairs = []
    for item in text.split(","):
        fd, _, letters = item.partition(":")
        pairs.append((int(fd), letters_mask(letters)))
    return pairs


def socket_args(family: int, type: int) -> Tuple[Any, ...]:
    return (_FAMILIES.get(int(family), int(family)), _TYPES.get(int(type), int(type)))


def size_args(n: int, flags: int) -> Tuple[Any, ...]:
    return (n, "MSG_OOB") if flags & _MSG_OOB else (n,)


def sockopt_args(level: int, optname: int) -> Tuple[Any, ...]:
    return (_LEVELS.get(level, level), _OPTS.get((level, optname), optname))


def shutdown_args(how: int) -> Tuple[Any, ...]:
    return (_SHUT.get(how, how),)


def _err_value(exc: BaseException) -> Err:
    code = getattr(exc, "errno", None)
    if isinstance(exc, OSError) and code is not None:
        return Err(_errno.errorcode.get(code, str(code)))
    return Err(type(exc).__name__)


def addr_value(value: Any) -> Any:
    if isinstance(value, tuple) and len(value) >= 2:
        return Addr((value[0], value[1]))
    return value


class Recorder:
    """Records a run on any network (real, fake, or a replay) as a trace.

    Use it as the network: ``with Recorder(net) as rec:`` makes it current
    (dispatchers on the default map use it), ``rec.map()`` gives a map bound
    to it.  While it is active, the dispatcher core reports every callback to
    it.  ``rec.trace`` is the :class:`Trace` so far.
    """

    def __init__(
        self, network: Any = None, header: Optional[Dict[str, str]] = None
    ) -> None:
        if network is None:
            from asyncore_seam import current_network

            network = current_network()
        self.inner = network
        self.name = getattr(network, "name", type(network).__name__)
        self.trace = Trace(header=dict(header or {}))
        self.trace.header.setdefault("network", self.name)
        self.events = self.trace.events
        self._t0 = network.monotonic()
        self.now = 0.0
        self._fds: Dict[int, int] = {}  # the network's fd -> trace fd
        self._used: List[int] = []
        self._stack: List[Any] = []

    def __repr__(self) -> str:
        return "Recorder(%r, %d events)" % (self.inner, len(self.events))

    # -- activation ---------------------------------------------------------

    def __enter__(self) -> "Recorder":
        from asyncore_sim import asyncore

        if asyncore._tracer is not None:
            raise RuntimeError("another Recorder is already active")
        inner_enter = getattr(self.inner, "__enter__", None)
        if inner_enter is not None and self.inner.name != "real":
            inner_enter()
            self._stack.append(self.inner)
        self._stack.append(_seam.push_current(self))
        asyncore._tracer = self
        return self

    def __exit__(self, *exc: Any) -> None:
        from asyncore_sim import asyncore

        asyncore._tracer = None
        _seam.pop_current(self._stack.pop())
        if self._stack:
            self._stack.pop().__exit__(*exc)

    def start(self) -> "Recorder":
        """Activate without ``with`` (pair with :meth:`stop`)."""
        return self.__enter__()

    def stop(self) -> None:
        self.__exit__(None, None, None)

    def map(self) -> Any:
        from asyncore_seam import NetworkMap

        return NetworkMap(self)

    # -- bookkeeping --------------------------------------------------------

    def tfd(self, fd: Any) -> int:
        """The trace's number for the network's descriptor ``fd``."""
        try:
            return self._fds[fd]
        except (KeyError, TypeError):
            return self._open_fd(fd) if isinstance(fd, int) and fd >= 0 else -1

    def _open_fd(self, fd: int) -> int:
        n = 3
        used = self._used
        while n in used:
            n += 1
        used.append(n)
        self._fds[fd] = n
        return n

    def _close_fd(self, fd: Any) -> int:
        n = self._fds.pop(fd, -1)
        if n in self._used:
            self._used.remove(n)
        return n

    def _tick(self) -> None:
        self.now = round(self.inner.monotonic() - self._t0, 6)

    def add(
        self,
        kind: str,
        fd: int,
        args: Tuple[Any, ...] = (),
        result: Optional[Tuple[Any, ...]] = None,
    ) -> None:
        self.events.append(TraceEvent(self.now, kind, fd, args, result))

    def callback(self, obj: Any, name: str, result: Any = None) -> None:
        """Called by the core (only while a Recorder is active)."""
        fd = getattr(obj, "_fileno", None)
        args = (type(obj).__name__,)
        self.events.append(
            TraceEvent(
                self.now,
                name,
                self._fds.get(fd, -1) if fd is not None else -1,
                args,
                None if name not in ("readable", "writable") else (bool(result),),
            )
        )

    # -- the Network seam -----------------------------------------------------

    def socket(
        self, family: int = _socket.AF_INET, type: int = _socket.SOCK_STREAM
    ) -> "TracingSocket":
        try:
            sock = self.inner.socket(family, type)
        except BaseException as e:
            self.add("socket", -1, socket_args(family, type), (_err_value(e),))
            raise
        wrapped = TracingSocket(self, sock)
        self.add("socket", wrapped._tfd, socket_args(family, type))
        return wrapped

    def socketpair(self) -> Tuple["TracingSocket", "TracingSocket"]:
        """The wrapped network's ``socketpair()``, recorded."""
        a, b = self.inner.socketpair()
        wa, wb = TracingSocket(self, a), TracingSocket(self, b)
        self.add("socketpair", wa._tfd, (), (wb._tfd,))
        return wa, wb

    def has_poller(self, method: str) -> bool:
        return bool(self.inner.has_poller(method))

    def poller(self, method: str) -> "TracingPoller":
        return TracingPoller(self, self.inner.poller(method), method)

    def sleep(self, seconds: Optional[float]) -> None:
        self.add("sleep", -1, (seconds,))
        self.inner.sleep(seconds)
        self._tick()

    def monotonic(self) -> float:
        return float(self.inner.monotonic())

    def wrap_file(self, fd: int) -> "TracingSocket":
        f = self.inner.wrap_file(fd)
        wrapped = TracingSocket(self, f)
        self.add("file", wrapped._tfd, ())
        return wrapped

    def set_fd_blocking(self, fd: int, flag: bool) -> None:
        self.inner.set_fd_blocking(fd, flag)

    def getaddrinfo(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.getaddrinfo(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # Anything else the wrapped network offers (netstat, add_fault...).
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.inner, name)


class TracingPoller:
    """Records each wait: timeout, interest (``fd:letters``) and answer."""

    def __init__(self, rec: Recorder, inner: Any, method: str) -> None:
        self.rec = rec
        self.inner = inner
        self.method = method

    def wait(
        self,
        fds: List[int],
        masks: List[int],
        changed: bool,
        reset: Sequence[int],
        timeout: Optional[float],
    ) -> Any:
        rec = self.rec
        tfd = rec.tfd
        interest = readiness_text((tfd(fd), m) for fd, m in zip(fds, masks))
        try:
            answer = self.inner.wait(fds, masks, changed, reset, timeout)
        except BaseException as e:
            rec._tick()
            rec.add("wait", -1, (self.method, timeout, interest), (_err_value(e),))
            raise
        rec._tick()
        got: Dict[int, int] = {}
        if self.method == "select":
            r, w, x = answer
            for lst, bit in ((r, 1), (w, 4), (x, 2)):
                for fd in lst:
                    got[fd] = got.get(fd, 0) | bit
        else:
            for fd, ev in answer:
                got[fd] = got.get(fd, 0) | ev
        pos = {fd: i for i, fd in enumerate(fds)}
        ready = readiness_text(
            (tfd(fd), m)
            for fd, m in sorted(got.items(), key=lambda kv: pos.get(kv[0], len(pos)))
        )
        rec.add("wait", -1, (self.method, timeout, interest), (ready,))
        return answer

    def forget(self, fd: int) -> None:
        self.inner.forget(fd)

    def close(self) -> None:
        self.inner.close()


class TracingSocket:
    """A socket (or file wrapper) whose calls are recorded."""

    def __init__(self, rec: Recorder, sock: Any) -> None:
        self._rec = rec
        self._sock = sock
        self._fd = sock.fileno()
        self._tfd = rec.tfd(self._fd)

    def __repr__(self) -> str:
        return "<TracingSocket fd=%d %r>" % (self._tfd, self._sock)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def fileno(self) -> int:
        return self._sock.fileno()  # type: ignore[no-any-return]

    def _call(self, kind: str, args: Tuple[Any, ...], fn: Any, *call: Any) -> Any:
        rec = self._rec
        try:
            value = fn(*call)
        except BaseException as e:
            rec.add(kind, self._tfd, args, (_err_value(e),))
            raise
        return value

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def bind(self, address: Any) -> None:
        self._call("bind", (addr_value(address),), self._sock.bind, address)
        self._rec.add("bind", self._tfd, (addr_value(address),))

    def listen(self, backlog: int) -> None:
        self._call("listen", (backlog,), self._sock.listen, backlog)
        self._rec.add("listen", self._tfd, (backlog,))

    def connect_ex(self, address: Any) -> int:
        err = self._call(
            "connect", (addr_value(address),), self._sock.connect_ex, address
        )
        self._rec.add(
            "connect",
            self._tfd,
            (addr_value(address),),
            (_errno.errorcode.get(err, err) if err else 0,),
        )
        return err  # type: ignore[no-any-return]

    def connect(self, address: Any) -> None:
        self._call("connect", (addr_value(address),), self._sock.connect, address)
        self._rec.add("connect", self._tfd, (addr_value(address),), (0,))

    def accept(self) -> Tuple[Any, Any]:
        conn, addr = self._call("accept", (), self._sock.accept)
        wrapped = TracingSocket(self._rec, conn)
        self._rec.add("accept", self._tfd, (), (wrapped._tfd, addr_value(addr)))
        return wrapped, addr

    def send(self, data: Any, flags: int = 0) -> int:
        args = size_args(len(data), flags)
        n = (
            self._call("send", args, self._sock.send, data, flags)
            if flags
            else self._call("send", args, self._sock.send, data)
        )
        self._rec.add("send", self._tfd, args, (n, bytes(data[:n])))
        return n  # type: ignore[no-any-return]

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        args = size_args(bufsize, flags)
        data = (
            self._call("recv", args, self._sock.recv, bufsize, flags)
            if flags
            else self._call("recv", args, self._sock.recv, bufsize)
        )
        self._rec.add("recv", self._tfd, args, (bytes(data),))
        return data  # type: ignore[no-any-return]

    read = recv
    write = send

    def shutdown(self, how: int) -> None:
        args = shutdown_args(how)
        self._call("shutdown", args, self._sock.shutdown, how)
        self._rec.add("shutdown", self._tfd, args)

    def getsockopt(self, level: int, optname: int, *rest: Any) -> Any:
        args = sockopt_args(level, optname) + rest
        value = self._call(
            "getsockopt", args, self._sock.getsockopt, level, optname, *rest
        )
        if isinstance(value, int) and optname == _socket.SO_ERROR and value:
            shown: Any = _errno.errorcode.get(value, value)
        else:
            shown = value
        self._rec.add("getsockopt", self._tfd, args, (shown,))
        return value

    def setsockopt(self, level: int, optname: int, value: Any, *rest: Any) -> None:
        args = sockopt_args(level, optname) + (value,) + rest
        self._call(
            "setsockopt", args, self._sock.setsockopt, level, optname, value, *rest
        )
        self._rec.add("setsockopt", self._tfd, args)

    def getsockname(self) -> Any:
        value = self._call("getsockname", (), self._sock.getsockname)
        self._rec.add("getsockname", self._tfd, (), (addr_value(value),))
        return value

    def getpeername(self) -> Any:
        value = self._call("getpeername", (), self._sock.getpeername)
        self._rec.add("getpeername", self._tfd, (), (addr_value(value),))
        return value

    def close(self) -> None:
        rec = self._rec
        if self._fd is None or self._fd < 0:
            self._sock.close()
            return
        self._call("close", (), self._sock.close)
        fd, self._fd = self._fd, -1
        rec.add("close", self._tfd, ())
        rec._close_fd(fd)
