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
import os
import re
import socket as _socket
from typing import (
    Any,
    Dict,
    Iterable,
    List,
    Optional,
    Tuple,
    Union,
)

import attrs


__all__ = [
    "TraceEvent",
    "Trace",
    "TraceFormatError",
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


# -- call arguments, as traces write them ----------------------------------------

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
