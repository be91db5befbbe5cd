"""The diagram's model: the values a sequence diagram of a trace is made of.

:func:`~asyncore_sim.diagram.build_diagram` (:mod:`._build`, after the
first pass of :mod:`._scan`) reads a :class:`~asyncore_sim.trace.Trace`
and says what a sequence diagram of it shows:

* a **lifeline** per socket, file or socket pair the trace opens (a
  descriptor reused after a close is a new lifeline), and one per remote
  peer the trace does not hold (a scripted server, a client outside the
  recording), grouped by **host** (traced sockets by their local address,
  or "this program" when the trace never says it; remote peers by the name
  or address they were reached at) and ordered by connection;
* **connections**, worked out from the events: a ``connect`` to the address
  of a listener in the trace is paired with that listener's ``accept``
  (the accepted peer address first, then first come, first served); any
  other connect reaches a remote peer; an accept no traced connect explains
  comes from a remote client;
* a **row** per event worth drawing, in trace order: each loop iteration's
  readiness call (the iteration number and virtual time go down the side),
  sockets opening and closing, every send and recv, each callback but
  ``readable``/``writable`` (a mark on its lifeline), errors; then a row
  per injected fault where it fired (:mod:`._faults`);
* an **arrow** per segment: a send to a traced peer runs from the send's
  row to the row of the recv that reads its last byte (or to the peer's
  close, dashed, if the bytes were never read); a send to or a recv from a
  remote peer is a level arrow at its own row; each carries its byte count
  and a preview of the bytes;
* **groups**: runs of three or more repeated idle iterations (nothing but
  the same readiness call), which renderers show as one collapsible row.

Rules (deterministic): the model depends only on the trace, the rules and
the mark given; no clock, no random source, no iteration over sets or
hash-ordered values; lists are built in event order.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import attrs

from asyncore_sim.trace._values import format_value

__all__ = [
    "Arrow",
    "Connection",
    "Diagram",
    "FaultNote",
    "Group",
    "Lifeline",
    "Row",
    "preview",
]

#: Callbacks that are not drawn (each iteration asks every channel).
QUIET_CALLBACKS = ("readable", "writable")
#: I/O events not drawn unless they fail (bookkeeping calls).
QUIET_IO = ("getsockname", "getpeername", "setsockopt", "getsockopt")
#: A run of at least this many repeated idle iterations is a group.
MIN_GROUP = 3
#: Bytes shown in a preview.
PREVIEW_BYTES = 40
THIS_PROGRAM = "this program"


@attrs.define(slots=True)
class Lifeline:
    """One socket, file, socket pair end or remote peer (a column)."""

    index: int
    fd: int  # the trace's descriptor; -1 for a remote peer
    role: str  # socket | listener | client | server | file | pair | peer
    host: str = THIS_PROGRAM
    name: str = ""
    detail: str = ""
    short: str = ""  # the detail, in a few words (for a column's head)
    first_row: int = 0
    last_row: int = -1  # -1: open to the end
    conn: int = -1  # the connection it is an end of (index into connections)
    classes: List[str] = attrs.field(factory=list)
    local: Optional[Tuple[str, int]] = None
    remote: Optional[Tuple[str, int]] = None
    side: Optional[str] = None  # "client" / "server" as fake_net's Match says

    def ports(self) -> List[int]:
        return [a[1] for a in (self.local, self.remote) if a is not None]


@attrs.define(slots=True)
class Connection:
    """A stream between two lifelines (one may be a remote peer)."""

    index: int
    client: int  # lifeline index
    server: int = -1  # -1: not accepted (yet)
    number: int = -1  # the network's connection number (fake_net's Match.conn)
    established: bool = True
    failed: str = ""  # the error that ended the connect, if one did
    started: int = 0  # event index of the connect (or accept)
    joined: int = -1  # event index where it is first known to be made
    target: str = ""  # the address connected to

    @property
    def label(self) -> str:
        return "conn %d" % self.number if self.number >= 0 else "failed connect"


@attrs.define(slots=True)
class Row:
    """One drawn row: an event (``event`` >= 0) or a note about one."""

    event: int  # index in the trace's events; -1 for a note
    time: float
    iteration: int
    kind: str  # wait | sleep | open | close | io | call | info | error | fault | end
    what: str  # the event's kind (send, handle_read...), or the note's
    lane: int  # lifeline index, -1: none
    text: str
    mark: str = ""  # "" | error | fault | diff


@attrs.define(slots=True)
class Arrow:
    """A segment (or a connect): from lifeline ``src`` at row ``start`` to
    lifeline ``dst`` at row ``end``."""

    src: int
    dst: int
    start: int
    end: int
    nbytes: int
    label: str
    kind: str  # data | oob | connect | lost
    conn: int = -1


@attrs.define(slots=True)
class Group:
    """Rows ``start``..``end`` (inclusive): repeated idle iterations."""

    start: int
    end: int
    count: int
    text: str


@attrs.frozen
class FaultNote:
    """An injected fault located in the trace (``row`` is its note's row), or
    one the trace does not show firing (``row`` -1)."""

    row: int
    event: int
    lane: int
    rule: str
    text: str


@attrs.define
class Diagram:
    """Everything a renderer draws (see the module docstring)."""

    name: str
    header: Dict[str, str]
    events: int
    lifelines: List[Lifeline]
    connections: List[Connection]
    rows: List[Row]
    arrows: List[Arrow]
    groups: List[Group]
    faults: List[FaultNote]
    iterations: int
    mark_row: int = -1  # the first difference's row, -1: none
    mark_text: str = ""
    notes: List[str] = attrs.field(factory=list)
    installed: List[str] = attrs.field(factory=list)  # the run's faults, in words

    @property
    def hosts(self) -> List[Tuple[str, List[int]]]:
        """(host, lifeline indexes), in column order."""
        out: List[Tuple[str, List[int]]] = []
        for lane in self.lifelines:
            if out and out[-1][0] == lane.host:
                out[-1][1].append(lane.index)
            else:
                out.append((lane.host, [lane.index]))
        return out

    @property
    def errors(self) -> int:
        return sum(1 for r in self.rows if r.mark == "error")


def preview(data: bytes, limit: int = PREVIEW_BYTES) -> str:
    """``data`` as the trace spells bytes, cut to ``limit`` bytes."""
    text = format_value(bytes(data[:limit]))
    return text + "..." if len(data) > limit else text


def addr_text(a: Any) -> str:
    """``host:port`` (``[v6]:port``) for an address value."""
    if isinstance(a, tuple) and len(a) >= 2:
        host = str(a[0])
        return "%s:%d" % ("[%s]" % host if ":" in host else host, a[1])
    return str(a)


def norm_host(host: str) -> str:
    """The address a host name the simulation always knows stands for."""
    return "127.0.0.1" if host in ("localhost", "") else host


def same_addr(dest: Tuple[str, int], local: Optional[Tuple[str, int]]) -> bool:
    """Whether a connect to ``dest`` reaches a listener bound to ``local``."""
    if local is None or local[1] == 0 or dest[1] != local[1]:
        return False
    lh = norm_host(str(local[0]))
    return lh in ("0.0.0.0", "::") or lh == norm_host(str(dest[0]))


#: What an errno name means, in the same words on every machine (the
#: platform's strerror() wording differs).
ERRNO_WORDS = {
    "EAGAIN": "resource temporarily unavailable: would block",
    "EWOULDBLOCK": "would block",
    "EINPROGRESS": "operation now in progress",
    "EALREADY": "operation already in progress",
    "EISCONN": "already connected",
    "ENOTCONN": "not connected",
    "ECONNREFUSED": "connection refused",
    "ECONNRESET": "connection reset by peer",
    "ECONNABORTED": "connection aborted",
    "ETIMEDOUT": "connection timed out",
    "EPIPE": "broken pipe: the connection is closed for sending",
    "EHOSTUNREACH": "no route to host",
    "ENETUNREACH": "network is unreachable",
    "EADDRINUSE": "address already in use",
    "EBADF": "bad file descriptor",
    "EINVAL": "invalid argument",
    "EINTR": "interrupted system call",
    "EMFILE": "too many open files",
}


def err_words(err: str) -> str:
    """An errno name with its meaning: ``ECONNRESET (connection reset by
    peer)``; any other error name as it is."""
    words = ERRNO_WORDS.get(err)
    return "%s (%s)" % (err, words) if words else err
