"""Traces: every I/O event and every dispatcher callback of a run, in order.

A trace is a list of :class:`TraceEvent` values.  Its file format (version 1)
is one event per line, readable and diffable::

    # asyncore-sim trace 1
    # network: fake
    0.000000 socket 3 AF_INET SOCK_STREAM
    0.000000 connect 3 @127.0.0.1:8080 -> EINPROGRESS
    0.001000 wait - select 30.0 3:rwx -> 3:w
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
* ``'...'``: a string, with the same escapes (plus ``\\uNNNN`` and
  ``\\UNNNNNNNN``, at most ``\\U0010ffff``); any other backslash is an
  error;
* ``@host:port`` (``@[v6addr]:port``): an address;
* ``!ENAME``: an error (``OSError`` with that errno name, or an exception
  class name such as ``!timeout``);
* ``None``, ``True``, ``False``, integers, floats, and bare words.

Descriptors are renumbered as the trace sees them open (lowest free from 3,
as POSIX allocates), so a trace recorded on real sockets does not depend on
what else the process had open.  Nothing in a trace depends on ``id()``,
the wall clock of day, the machine or ``PYTHONHASHSEED``.

Every event kind, with one example each (time stamps left out).  I/O
events, one per call the program made through its network, are named after
the call; ``-> !ENAME`` after any of them but ``file`` and ``socketpair``
means the call raised that error instead.

``socket 3 AF_INET SOCK_STREAM``
    a socket was made, and is descriptor 3 (``socket - AF_INET SOCK_STREAM
    -> !EMFILE``: none could be).
``socketpair 3 -> 4``
    two connected sockets were made: descriptors 3 and 4.
``file 3``
    a ``file_dispatcher`` wrapped a file (or pipe) descriptor, 3 here.
``wait - select 1 3:rx,4:rwx -> 3:r,4:w``
    a readiness wait, the one call that may block (it has no descriptor,
    hence ``-``): by ``select`` (or ``poll``, ``epoll``), with a timeout of
    1 second (``None``: none), for the interest ``3:rx,4:rwx`` (fd 3 for
    reading and exceptional conditions, fd 4 for reading, writing and
    exceptional conditions); the answer: fd 3 is readable and fd 4
    writable.  The letters: ``r`` readable (POLLIN, select's first list),
    ``w`` writable (POLLOUT, the second), ``x`` urgent data (POLLPRI, the
    third, where asyncore puts every descriptor), ``e`` error (POLLERR),
    ``h`` hang-up (POLLHUP), ``n`` not open (POLLNVAL).  ``-> '0'``: nothing
    was ready, the wait timed out (or, with timeout 0, a poll found
    nothing); an interest of ``'0'``: it waited on no descriptor.  (``0``
    is quoted because a bare ``0`` reads as a number; the file keeps that
    spelling, and the reports of ``diff``, ``replay`` and ``check`` show
    ``-> nothing ready (timed out after 1 s)`` instead.)
``sleep - 1.0``
    the loop had no descriptor to wait for and slept its timeout, as
    CPython 3.11's select loop does.
``bind 3 @127.0.0.1:8080``
    fd 3 was bound to that address (port 0: the system picks one).
``listen 3 5``
    fd 3 listens, with a backlog of 5.
``connect 4 @127.0.0.1:8080 -> EINPROGRESS``
    fd 4 began a non-blocking connect (``connect_ex``), which returned
    EINPROGRESS, by name (``-> 0``: connected at once; a blocking
    ``connect`` that failed: ``-> !ECONNREFUSED``).
``accept 3 -> 5 @127.0.0.1:39188``
    fd 3 accepted a connection: the new socket is fd 5, its peer at that
    address (``-> !EAGAIN``: there was none).
``send 4 13 -> 7 "hello, "``
    fd 4 was offered 13 bytes and took the first 7, shown exactly
    (``send 4 1 MSG_OOB -> 1 "!"``: urgent data).
``recv 5 256 -> "hello, "``
    fd 5 read with a buffer of 256 and got those bytes (``-> ""``: the peer
    had closed; ``recv 5 1 MSG_OOB``: urgent data).
``sendto 4 2 @127.0.0.1:1161 -> 2 "q0"``
    fd 4 (a datagram socket) sent a datagram of 2 bytes to that address.
``recvfrom 3 512 -> "q0" @127.0.0.1:60438``
    fd 3 read a datagram with a buffer of 512: those bytes, from that
    address (``recvfrom_into`` is recorded as ``recvfrom``; a connected
    datagram socket's ``send``/``recv`` as ``send``/``recv``).
``shutdown 4 SHUT_WR``
    fd 4 shut down its sending side.
``getsockopt 4 SOL_SOCKET SO_ERROR -> 0``
    fd 4 read an option: SO_ERROR, no pending error (``-> ECONNREFUSED``:
    that pending error, by name; on a file, which has no options,
    ``-> !AttributeError``).
``setsockopt 3 SOL_SOCKET SO_REUSEADDR 1``
    fd 3 set an option, to 1.
``getsockname 3 -> @127.0.0.1:39188``
    fd 3's own address (a port the system picked shows here first).
``getpeername 5 -> @127.0.0.1:54385``
    the address of fd 5's peer.
``close 3``
    fd 3 was closed; its number is free for the next descriptor.

Callback events, one per dispatcher method the loop called, are named
after the method and carry the dispatcher's descriptor and class name:

``readable 3 EchoServer -> True``
    the loop asked whether the dispatcher wants to read; the answer
    decides the interest of the next ``wait`` (``r``, and ``x`` always).
``writable 3 EchoServer -> False``
    the same for writing (``w``).
``handle_accept 3 EchoServer``
    its listening socket has a connection to accept.
``handle_connect 4 EchoClient``
    its connect completed (called once, before the first read or write).
``handle_read 5 EchoHandler``
    its descriptor is readable.
``handle_write 4 EchoClient``
    its descriptor is writable.
``handle_expt 4 EchoClient``
    urgent (out-of-band) data arrived.
``handle_close 4 EchoClient``
    the connection is closed (the peer closed, or an error ended it).
``handle_error 3 FileReader``
    a callback raised; the loop called ``handle_error()``.
``found_terminator 5 EchoHandler``
    an ``async_chat`` found its terminator in the data read.

The header lines (``# key: value``) say where the run came from.
``# program:`` is the recorded program's path relative to the trace file's
folder, with ``/`` between folders (replay finds the program there);
``# argv:`` its arguments, shell-quoted.  Header values are printable ASCII.

Reading checks that a trace holds only what a run can record
(:func:`check_event`: each event's arguments and result have the shape its
call gives them, errno names exist, readiness is ``fd:letters`` with the
letters ``r w x e h n``, times are finite, >= 0 and never go back, every
line, the last too, ends with a newline).  Anything else is a corrupt trace:
:class:`TraceFormatError` names the file and line and says what is wrong.
Reading is deterministic (no clock, no random source).
"""

from __future__ import annotations

import errno as _errno
import math
import os
import re
import shlex
import stat
from typing import Any, Dict, List, Optional, Tuple, Union

import attrs

from asyncore_sim.trace._values import (
    _TOKEN,
    Addr,
    Err,
    _clip_token,
    format_value,
    parse_readiness,
    parse_value,
)


__all__ = [
    "TraceEvent",
    "Trace",
    "TraceFormatError",
    "format_value",
    "parse_line",
    "check_event",
    "program_header",
    "program_path",
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


_TIME_TOKEN = re.compile(r"\d+(\.\d*)?")


def parse_line(line: str) -> TraceEvent:
    """One event line, read as written (:func:`check_event` says whether a
    run can have recorded it)."""
    tokens = _TOKEN.findall(line)
    if len(tokens) < 3:
        raise ValueError("expected 'time kind fd ...', got %r" % _clip_token(line, 80))
    if not _TIME_TOKEN.fullmatch(tokens[0]):
        raise ValueError(
            "bad time %r (seconds, e.g. 0.001000)" % _clip_token(tokens[0])
        )
    time = float(tokens[0])
    kind = tokens[1]
    if tokens[2] == "-":
        fd = -1
    elif re.fullmatch(r"\d{1,9}", tokens[2]):
        fd = int(tokens[2])
    else:
        raise ValueError("bad fd %r (a number or -)" % _clip_token(tokens[2]))
    rest = tokens[3:]
    result: Optional[Tuple[Any, ...]] = None
    if "->" in rest:
        i = rest.index("->")
        result = tuple(parse_value(t) for t in rest[i + 1 :])
        rest = rest[:i]
    return TraceEvent(time, kind, fd, tuple(parse_value(t) for t in rest), result)


# -- what a recording can hold ------------------------------------------------------
#
# The one check of a trace's events, applied as a trace is read: an event a
# run cannot have recorded (a recv that returned a number, an unknown errno,
# a readiness letter that does not exist...) is a corrupt trace, reported at
# its line, never played back as if the program had diverged.


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return _is_int(v) or isinstance(v, float)


def _is_errno_name(v: Any) -> bool:
    return (
        isinstance(v, str)
        and v.startswith("E")
        and isinstance(getattr(_errno, v, None), int)
    )


_ERRNO_LIKE = re.compile(r"E[A-Z0-9]+")


def _check_err(err: Err) -> None:
    name = str(err)
    if _ERRNO_LIKE.fullmatch(name):
        if not _is_errno_name(name):
            raise ValueError("unknown errno name !%s" % _clip_token(name))
    elif not (name.isidentifier() or re.fullmatch(r"-?\d{1,9}", name)):
        raise ValueError(
            "bad error value !%s (an errno name or an exception class name)"
            % _clip_token(name)
        )


def _want(ok: bool, ev: TraceEvent, what: str) -> None:
    if not ok:
        raise ValueError("%s event: %s" % (ev.kind, what))


def _args(*tests: Any, what: str, more: bool = False) -> Any:
    """A check of an event's arguments: one test per argument (``more``:
    further arguments are free)."""

    def check(ev: TraceEvent) -> None:
        n = len(tests)
        ok = len(ev.args) >= n if more else len(ev.args) == n
        ok = ok and all(test(v) for test, v in zip(tests, ev.args))
        _want(ok, ev, "expected %s" % what)

    return check


def _result(*tests: Any, what: str) -> Any:
    """A check of what an event returned: one test per value."""

    def check(ev: TraceEvent) -> None:
        r = ev.result
        ok = r is not None and len(r) == len(tests)
        ok = ok and all(test(v) for test, v in zip(tests, r or ()))
        _want(ok, ev, "expected the result %s" % what)

    return check


def _word_or_int(v: Any) -> bool:
    return _is_int(v) or (isinstance(v, str) and not isinstance(v, Err))


def _address(v: Any) -> bool:
    return isinstance(v, (Addr, bytes)) or (
        isinstance(v, str) and not isinstance(v, Err)
    )


def _fd_number(v: Any) -> bool:
    return _is_int(v) and v >= 0


def _readiness(v: Any) -> bool:
    if not isinstance(v, str) or isinstance(v, Err):
        return False
    parse_readiness(v)  # raises, saying what is wrong
    return True


def _sizes(ev: TraceEvent) -> None:
    _want(
        len(ev.args) in (1, 2)
        and _is_int(ev.args[0])
        and ev.args[0] >= 0
        and ev.args[1:] in ((), ("MSG_OOB",)),
        ev,
        "expected a size >= 0 and optionally MSG_OOB",
    )


def _sent(ev: TraceEvent) -> None:
    _result(
        _is_int,
        lambda v: isinstance(v, bytes),
        what='-> the count sent and those bytes (-> 2 "ab")',
    )(ev)
    n, data = ev.result or (0, b"")
    _want(n == len(data), ev, "%d bytes sent but %d shown" % (n, len(data)))
    _want(n <= ev.args[0], ev, "%d bytes sent of %d offered" % (n, ev.args[0]))


def _received(ev: TraceEvent) -> None:
    _result(lambda v: isinstance(v, bytes), what='-> the bytes read (-> "ab")')(ev)
    data = (ev.result or (b"",))[0]
    _want(
        len(data) <= ev.args[0],
        ev,
        "%d bytes read with a buffer of %d" % (len(data), ev.args[0]),
    )


def _sizes_to(ev: TraceEvent) -> None:
    _want(
        len(ev.args) in (2, 3)
        and _is_int(ev.args[0])
        and ev.args[0] >= 0
        and ev.args[1:-1] in ((), ("MSG_OOB",))
        and _address(ev.args[-1]),
        ev,
        "expected a size >= 0, optionally MSG_OOB, and the address (@host:port)",
    )


def _received_from(ev: TraceEvent) -> None:
    _result(
        lambda v: isinstance(v, bytes),
        _address,
        what='-> the bytes read and the sender\'s address (-> "ab" @host:port)',
    )(ev)
    data = (ev.result or (b"",))[0]
    _want(
        len(data) <= ev.args[0],
        ev,
        "%d bytes read with a buffer of %d" % (len(data), ev.args[0]),
    )


_NO_ARGS = _args(what="no arguments")
_ADDRESS = _args(_address, what="an address (@host:port)")
_SOCKNAME = _result(_address, what="-> an address (@host:port)")
_FD, _NO_FD = True, False

#: Each I/O event: (has a descriptor, its arguments, what it returns: None
#: when it returns nothing).  Any of them but ``file`` and ``socketpair`` may
#: instead end in ``-> !ENAME``: the call raised.
_IO_EVENTS: Dict[str, Tuple[bool, Any, Any]] = {
    "socket": (
        _FD,
        _args(_word_or_int, _word_or_int, what="a family and a type"),
        None,
    ),
    "socketpair": (_FD, _NO_ARGS, _result(_fd_number, what="-> the other descriptor")),
    "file": (_FD, _NO_ARGS, None),
    "wait": (
        _NO_FD,
        _args(
            lambda v: v in ("select", "poll", "epoll"),
            lambda v: v is None or _is_number(v),
            _readiness,
            what="select|poll|epoll, a timeout (or None) and the interest (fd:letters)",
        ),
        _result(_readiness, what="-> the ready descriptors (fd:letters, or '0')"),
    ),
    "sleep": (
        _NO_FD,
        _args(lambda v: v is None or _is_number(v), what="seconds"),
        None,
    ),
    "bind": (_FD, _ADDRESS, None),
    "listen": (_FD, _args(_is_int, what="the backlog (a number)"), None),
    "connect": (
        _FD,
        _ADDRESS,
        _result(
            lambda v: _is_int(v) or _is_errno_name(v),
            what="-> 0 or an errno name (EINPROGRESS...)",
        ),
    ),
    "accept": (
        _FD,
        _NO_ARGS,
        _result(
            _fd_number,
            _address,
            what="-> the new descriptor and the peer's address (-> 5 @host:port)",
        ),
    ),
    "send": (_FD, _sizes, _sent),
    "recv": (_FD, _sizes, _received),
    "sendto": (_FD, _sizes_to, _sent),
    "recvfrom": (_FD, _sizes, _received_from),
    "shutdown": (_FD, _args(_word_or_int, what="SHUT_RD, SHUT_WR or SHUT_RDWR"), None),
    "getsockopt": (
        _FD,
        _args(_word_or_int, _word_or_int, what="a level and an option", more=True),
        _result(
            lambda v: _is_int(v) or _is_errno_name(v) or isinstance(v, bytes),
            what="-> the option's value (a number, an errno name or bytes)",
        ),
    ),
    "setsockopt": (
        _FD,
        _args(
            _word_or_int,
            _word_or_int,
            lambda v: True,
            what="a level, an option and a value",
            more=True,
        ),
        None,
    ),
    "getsockname": (_FD, _NO_ARGS, _SOCKNAME),
    "getpeername": (_FD, _NO_ARGS, _SOCKNAME),
    "close": (_FD, _NO_ARGS, None),
}
_CANNOT_RAISE = ("file", "socketpair")


def check_event(ev: TraceEvent) -> None:
    """Raise ValueError, saying what is wrong, if no run can have recorded
    ``ev`` (:data:`_IO_EVENTS` says what each I/O event holds)."""
    if not (math.isfinite(ev.time) and ev.time >= 0):
        raise ValueError("bad time %r (seconds >= 0)" % ev.time)
    for v in ev.args + (ev.result or ()):
        if isinstance(v, float) and math.isnan(v):
            raise ValueError("nan is not a value a run records")
        if isinstance(v, Err):
            _check_err(v)
    for v in ev.result or ():
        # A returned errno (connect_ex, SO_ERROR) is written by its name.
        if isinstance(v, str) and not _is_errno_name(v) and _ERRNO_LIKE.fullmatch(v):
            raise ValueError("unknown errno name %s" % _clip_token(v))
    if ev.kind in CALLBACKS:
        _args(lambda v: isinstance(v, str), what="the dispatcher's class name")(ev)
        if ev.kind in ("readable", "writable"):
            _result(lambda v: isinstance(v, bool), what="-> True or False")(ev)
        else:
            _want(ev.result is None, ev, "a callback returns nothing")
        return
    spec = _IO_EVENTS.get(ev.kind)
    if spec is None:
        raise ValueError(
            "unknown event %r (I/O events: %s; callbacks: %s)"
            % (_clip_token(ev.kind), ", ".join(_IO_EVENTS), ", ".join(CALLBACKS))
        )
    has_fd, check_args, check_result = spec
    r = ev.result
    raised = r is not None and any(isinstance(v, Err) for v in r)
    if has_fd and not (raised and ev.kind == "socket"):
        _want(ev.fd >= 0, ev, "needs a descriptor, not -")
    if not has_fd:
        _want(ev.fd < 0, ev, "has no descriptor: write - in its place")
    check_args(ev)
    if raised:
        _want(
            ev.kind not in _CANNOT_RAISE and len(r or ()) == 1,
            ev,
            "an error stands alone after -> (-> !ENAME)",
        )
    elif check_result is None:
        _want(r is None, ev, "returns nothing (only an error: -> !ENAME)")
    else:
        check_result(ev)


# -- traces -----------------------------------------------------------------------


def read_text(
    path: Any, encoding: str, error: Any, hint: str = "", limit: Optional[int] = None
) -> str:
    """The text of the file at ``path``; else ``error`` (an exception class)
    naming the file, and for a byte that is not ``encoding`` its line and
    column.  Only a regular file is read (a directory or a pipe is refused),
    and with ``limit``, one of at most that many bytes."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a file"
            raise error("%s: cannot read: %s" % (path, what))
        if limit is not None and info.st_size > limit:
            raise error(
                "%s: cannot read: %d bytes, more than the %d a file of this "
                "kind may have" % (path, info.st_size, limit)
            )
        with open(path, "rb") as f:
            data = f.read()
    except (OSError, ValueError) as e:
        if isinstance(e, error):
            raise
        reason = getattr(e, "strerror", None) or str(e)
        raise error("%s: cannot read: %s" % (path, reason)) from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise error(
            "%s:%d: not %s: byte 0x%02x at column %d (byte %d of the file)%s"
            % (path, line, encoding.upper(), data[e.start], column, e.start, hint)
        ) from None


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def control_character(line: str) -> Optional[str]:
    """What is wrong with a line holding a control character (tabs and a
    final carriage return are fine), or None."""
    m = _CONTROL.search(line[:-1] if line.endswith("\r") else line)
    if m is None:
        return None
    return "control character 0x%02x at column %d (quoted values escape it)" % (
        ord(m.group()),
        m.start() + 1,
    )


@attrs.define
class Trace:
    """A recorded run: ``header`` (ordered key/value pairs) and ``events``.

    A trace read from a file also knows the line of each header key
    (``header_lines``), so that what a header names can be reported there.
    """

    events: List[TraceEvent] = attrs.field(factory=list)
    header: Dict[str, str] = attrs.field(factory=dict)
    header_lines: Dict[str, int] = attrs.field(factory=dict, eq=False, repr=False)

    def lines(self) -> List[str]:
        return [e.line() for e in self.events]

    def dumps(self) -> str:
        out = [_MAGIC]
        for key, value in self.header.items():
            check_header_value(key, value)
            out.append("# %s: %s" % (key, value))
        out.extend(self.lines())
        return "\n".join(out) + "\n"

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        with open(path, "w", encoding="ascii", newline="\n") as f:
            f.write(self.dumps())

    @classmethod
    def loads(cls, text: str, name: str = "<trace>") -> "Trace":
        """Read a trace; :class:`TraceFormatError` (``name:line: what is
        wrong``) for anything a recording cannot hold."""
        trace = cls()
        lines = text.split("\n")
        if lines.pop() != "":
            raise TraceFormatError(
                "%s:%d: the last line does not end with a newline: the file "
                "was cut short" % (name, len(lines) + 1)
            )
        first = lines[0].strip() if lines else ""
        if first != _MAGIC:
            found = re.fullmatch(r"# asyncore-sim trace (\S+)", first)
            raise TraceFormatError(
                "%s:1: %s (the first line must be %r)"
                % (
                    name,
                    "trace format %s, not %d" % (_clip_token(found.group(1)), 1)
                    if found
                    else "not an asyncore-sim trace",
                    _MAGIC,
                )
            )
        previous = 0.0
        for lineno, line in enumerate(lines[1:], start=2):
            try:
                bad = control_character(line)
                if bad:
                    raise ValueError(bad)
                if not line.strip():
                    continue
                if line.startswith("#"):
                    key, sep, value = line[1:].strip().partition(":")
                    if sep:
                        key, value = key.strip(), value.strip()
                        _check_header(key, value)
                        trace.header[key] = value
                        trace.header_lines[key] = lineno
                    continue
                ev = parse_line(line)
                check_event(ev)
                if ev.time < previous:
                    raise ValueError(
                        "time %.6f is before the previous event's %.6f"
                        % (ev.time, previous)
                    )
                previous = ev.time
                trace.events.append(ev)
            except ValueError as e:
                raise TraceFormatError("%s:%d: %s" % (name, lineno, e)) from None
        return trace

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "Trace":
        text = read_text(
            path,
            "ascii",
            TraceFormatError,
            " (traces escape every other byte)",
        )
        return cls.loads(text, str(path))


def _check_header(key: str, value: str) -> None:
    if key == "argv":
        try:
            shlex.split(value)
        except ValueError as e:
            raise ValueError(
                "the '# argv:' header is not a shell-quoted argument list: %s"
                % str(e).lower()
            ) from None
    elif key == "program" and not value:
        raise ValueError("the '# program:' header is empty")


def check_header_value(key: str, value: str) -> None:
    """ValueError unless ``# key: value`` can be written (and read back)."""
    bad = next((c for c in key + value if not " " <= c <= "~"), None)
    if bad is not None or ":" in key or key != key.strip() or not key:
        raise ValueError(
            "the '# %s:' header cannot hold %r: a trace header is printable "
            "ASCII on one line" % (key, bad if bad is not None else key)
        )
    _check_header(key, value.strip())


# -- the program of a recording ----------------------------------------------------
#
# The '# program:' header names the program relative to the trace file's
# folder, with '/' between folders, so that a trace does not depend on the
# machine it was recorded on or on the directory it is replayed from.


def program_header(program: str, trace_path: str) -> str:
    """The ``# program:`` value for ``program`` in a trace written at
    ``trace_path``: its path relative to the trace's folder."""
    folder = os.path.dirname(os.path.abspath(trace_path))
    rel = os.path.relpath(os.path.abspath(program), folder)
    return rel.replace(os.sep, "/")


def program_path(trace_path: str, header: str) -> str:
    """The program a ``# program:`` value names, for the trace at
    ``trace_path`` (an absolute value, from older traces, is kept)."""
    if os.path.isabs(header):
        return header
    folder = os.path.dirname(os.path.abspath(trace_path))
    return os.path.normpath(os.path.join(folder, *header.split("/")))
