"""Fault rules: attrs values that see an operation and return a verdict.

Rules are installed on a network in order; at each decision point (a send,
a recv, a segment's delivery, a connect, a readiness call) the rules for that
point are asked in install order and the first verdict that is not "pass"
(``None``) wins, as turmoil's fault rules do.

A rule picks its victims with a :class:`Match`; ``times`` caps how often it
fires; ``probability`` < 1 draws from the network's one seeded random source.
Sizes left as ``None`` are drawn from that source too, so a rule can be fully
scripted or seeded.

Rules: never read the wall clock or the global random; never iterate a set.
"""

from __future__ import annotations

import errno
import select
from typing import Any, ClassVar, Optional, Tuple

import attrs

__all__ = [
    "Match",
    "ANY",
    "Fault",
    "PartialSend",
    "ShortRead",
    "Delay",
    "InjectOOB",
    "PeerClose",
    "PeerReset",
    "RefuseConnect",
    "ConnectTimeout",
    "ConnectLatency",
    "SpuriousReady",
    "HideReady",
    "InterruptWait",
    "PendingError",
    "ExceptionalFile",
    "CutSends",
    "CutReads",
    "DelaySegments",
    "LINUX_CONNECT_TIMEOUT",
]

#: Linux gives up a connect after tcp_syn_retries=6 SYN retransmissions,
#: 1+2+4+8+16+32+64 = 127 seconds.
LINUX_CONNECT_TIMEOUT = 127.0


@attrs.frozen
class Match:
    """Which sockets a rule applies to; every field left None matches all.

    ``port`` matches the socket's local or remote port; ``fd`` its
    descriptor; ``conn`` the connection's number (0 for the first connection
    established on the network, 1 for the next, ...); ``side`` is "client"
    (the connecting end) or "server" (the accepted end); ``host`` the
    socket's local or remote IP address.

    Datagram rules (``fake_net._datagram_faults``) read ``fd`` as the
    sending socket's descriptor and ``port``/``host`` as the datagram's
    source or destination; ``conn`` and ``side`` name TCP connections only.
    """

    port: Optional[int] = None
    fd: Optional[int] = None
    conn: Optional[int] = None
    side: Optional[str] = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.in_(("client", "server"))),
    )
    host: Optional[str] = None

    def matches(self, sock: Any) -> bool:
        if self.fd is not None and sock.fd != self.fd:
            return False
        if self.port is not None and self.port not in sock.ports():
            return False
        if self.conn is not None and sock.conn != self.conn:
            return False
        if self.side is not None and sock.side != self.side:
            return False
        if self.host is not None and not any(
            a is not None and a[0] == self.host for a in (sock.local, sock.remote)
        ):
            return False
        return True

    def words(self) -> str:
        """`` (server side, port 80)``, or ``""`` for every socket: how plans,
        fault coverage and diagrams say which sockets a rule is for."""
        bits = []
        if self.side is not None:
            bits.append("%s side" % self.side)
        if self.port is not None:
            bits.append("port %d" % self.port)
        if self.conn is not None:
            bits.append("connection %d" % self.conn)
        if self.fd is not None:
            bits.append("fd %d" % self.fd)
        if self.host is not None:
            bits.append("host %s" % self.host)
        return " (%s)" % ", ".join(bits) if bits else ""


ANY = Match()


def _positive(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and value < 0:
        raise ValueError("%s must be >= 0, got %r" % (attribute.name, value))


def _probability(instance: Any, attribute: Any, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError("probability must be within [0, 1], got %r" % (value,))


@attrs.frozen
class Fault:
    """Base of all rules (not instantiated itself)."""

    site: ClassVar[str] = ""
    #: Scripted rules answer by call number (``verdict_at``), not by drawing.
    scripted: ClassVar[bool] = False
    match: Match = attrs.field(default=ANY, kw_only=True)
    times: Optional[int] = attrs.field(default=None, kw_only=True, validator=_positive)
    probability: float = attrs.field(default=1.0, kw_only=True, validator=_probability)


@attrs.frozen
class PartialSend(Fault):
    """A send accepts at most ``max_bytes`` (drawn from 1..n when None).

    ``max_bytes=0`` makes the send fail with EWOULDBLOCK.
    """

    site: ClassVar[str] = "send"
    max_bytes: Optional[int] = attrs.field(default=None, validator=_positive)

    def verdict(self, n: int, rng: Any) -> Optional[int]:
        if n <= 1 and self.max_bytes is None:
            return None
        k = rng.randint(1, n) if self.max_bytes is None else self.max_bytes
        return k if k < n else None


@attrs.frozen
class ShortRead(Fault):
    """A recv returns at most ``max_bytes`` (drawn from 1..available when None)."""

    site: ClassVar[str] = "recv"
    max_bytes: Optional[int] = attrs.field(default=None, validator=_positive)

    def verdict(self, n: int, rng: Any) -> Optional[int]:
        if n <= 1 and self.max_bytes is None:
            return None
        k = rng.randint(1, n) if self.max_bytes is None else max(1, self.max_bytes)
        return k if k < n else None


@attrs.frozen
class Delay(Fault):
    """Each segment arrives ``seconds`` (plus up to ``jitter``) after it is sent.

    Segments keep their order, as TCP's do: a later segment never overtakes.
    """

    site: ClassVar[str] = "deliver"
    seconds: float = attrs.field(default=0.0, validator=_positive)
    jitter: float = attrs.field(default=0.0, validator=_positive)

    def verdict(self, rng: Any) -> Optional[float]:
        extra = rng.uniform(0.0, self.jitter) if self.jitter else 0.0
        return self.seconds + extra


def _as_tuple(value: Any) -> Tuple[Any, ...]:
    return tuple(value)


def _size_script(low: int) -> Any:
    """Validator: a script of ``None`` or ints >= ``low`` (bools refused)."""

    def check(instance: Any, attribute: Any, value: Tuple[Optional[int], ...]) -> None:
        for i, k in enumerate(value):
            if k is not None and (isinstance(k, bool) or not isinstance(k, int)):
                raise TypeError("%s[%d] must be None or an int" % (attribute.name, i))
            if k is not None and k < low:
                raise ValueError(
                    "%s[%d] must be >= %d, got %d" % (attribute.name, i, low, k)
                )

    return check


def _seconds_script(instance: Any, attribute: Any, value: Tuple[float, ...]) -> None:
    """Validator: a script of numbers of seconds >= 0."""
    for i, s in enumerate(value):
        if isinstance(s, bool) or not isinstance(s, (int, float)) or s < 0:
            raise ValueError(
                "%s[%d] must be a number >= 0, got %r" % (attribute.name, i, s)
            )


@attrs.frozen
class _SizeScript(Fault):
    """A script of caps, one per matching call (see CutSends, CutReads)."""

    scripted: ClassVar[bool] = True
    sizes: Tuple[Optional[int], ...] = ()

    def verdict_at(self, i: int, n: int) -> Optional[int]:
        if i >= len(self.sizes):
            return None
        k = self.sizes[i]
        return k if k is not None and k < n else None


@attrs.frozen
class CutSends(_SizeScript):
    """A script for the sends on matching sockets, one entry per call: the
    i-th send accepts at most ``sizes[i]`` bytes (``0``: it fails with
    EWOULDBLOCK; ``None``: untouched).  Sends past the script are untouched.

    The sends are counted in the order the network sees them, across every
    matching socket; a send to a full buffer (EWOULDBLOCK anyway) counts too.
    """

    site: ClassVar[str] = "send"
    sizes: Tuple[Optional[int], ...] = attrs.field(
        default=(), converter=_as_tuple, validator=_size_script(0)
    )


@attrs.frozen
class CutReads(_SizeScript):
    """A script for the reads on matching sockets: the i-th recv that could
    return more than one byte returns at most ``sizes[i]`` (>= 1; ``None``:
    untouched).  Reads past the script are untouched."""

    site: ClassVar[str] = "recv"
    sizes: Tuple[Optional[int], ...] = attrs.field(
        default=(), converter=_as_tuple, validator=_size_script(1)
    )


@attrs.frozen
class DelaySegments(Fault):
    """A script of delivery delays: the i-th segment sent by a matching
    socket arrives ``seconds[i]`` after it is sent (segments keep their
    order, as with :class:`Delay`); later segments are not delayed."""

    site: ClassVar[str] = "deliver"
    scripted: ClassVar[bool] = True
    seconds: Tuple[float, ...] = attrs.field(
        default=(), converter=_as_tuple, validator=_seconds_script
    )

    def verdict_at(self, i: int, n: int) -> Optional[float]:
        return float(self.seconds[i]) if i < len(self.seconds) else None


@attrs.frozen
class _AtOffsetOrTime(Fault):
    """A stream event after ``after_bytes`` reach the victim, or at ``at_time``."""

    after_bytes: Optional[int] = attrs.field(default=None, validator=_positive)
    at_time: Optional[float] = attrs.field(default=None, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if (self.after_bytes is None) == (self.at_time is None):
            raise ValueError(
                "%s needs exactly one of after_bytes= or at_time=" % type(self).__name__
            )


@attrs.frozen
class InjectOOB(_AtOffsetOrTime):
    """The victim receives an out-of-band byte at that point of its stream."""

    site: ClassVar[str] = "stream"
    byte: bytes = attrs.field(default=b"!")

    @byte.validator
    def _one_byte(self, attribute: Any, value: bytes) -> None:
        if not isinstance(value, bytes) or len(value) != 1:
            raise ValueError("byte must be a single bytes value, got %r" % (value,))


@attrs.frozen
class PeerClose(_AtOffsetOrTime):
    """The victim's peer closes: EOF after the bytes delivered so far.

    Whatever the peer sends afterwards is lost, and its next send fails as a
    send to a closed connection does (EPIPE).
    """

    site: ClassVar[str] = "stream"


@attrs.frozen
class PeerReset(_AtOffsetOrTime):
    """The connection is reset: the victim's next recv after the bytes already
    delivered raises ECONNRESET and its sends EPIPE; the peer's too."""

    site: ClassVar[str] = "stream"


@attrs.frozen
class PendingError(_AtOffsetOrTime):
    """An error appears in the victim's SO_ERROR (reported once, then cleared)."""

    site: ClassVar[str] = "stream"
    errno: int = attrs.field(default=errno.ECONNRESET)


@attrs.frozen
class RefuseConnect(Fault):
    """Connects to a matching destination fail with ECONNREFUSED.

    ``match.port`` is compared with the destination port.
    """

    site: ClassVar[str] = "connect"

    def verdict(self, rng: Any) -> Optional[Tuple[str, float]]:
        return ("refuse", 0.0)


@attrs.frozen
class ConnectTimeout(Fault):
    """Connects to a matching destination never complete; after ``after``
    seconds SO_ERROR says ETIMEDOUT (Linux: 127 s)."""

    site: ClassVar[str] = "connect"
    after: float = attrs.field(default=LINUX_CONNECT_TIMEOUT, validator=_positive)

    def verdict(self, rng: Any) -> Optional[Tuple[str, float]]:
        return ("timeout", self.after)


@attrs.frozen
class ConnectLatency(Fault):
    """Matching connects complete ``seconds`` after they start."""

    site: ClassVar[str] = "connect"
    seconds: float = attrs.field(default=0.0, validator=_positive)

    def verdict(self, rng: Any) -> Optional[Tuple[str, float]]:
        return ("latency", self.seconds)


@attrs.frozen
class SpuriousReady(Fault):
    """The readiness call reports a matching socket ready (``events``, poll
    bits) although it is not: the following recv/send raise EWOULDBLOCK."""

    site: ClassVar[str] = "wait"
    events: int = attrs.field(default=select.POLLIN)


#: HideReady's letters: the poll bit each hides, and select()'s list.
_HIDE_BITS = {"r": select.POLLIN, "w": select.POLLOUT, "x": select.POLLPRI}


def _hide_events(instance: Any, attribute: Any, value: Any) -> None:
    if (
        not isinstance(value, str)
        or not value
        or any(c not in _HIDE_BITS for c in value)
        or len(set(value)) != len(value)
    ):
        raise ValueError(
            "events must be some of the letters r, w, x (each at most once), "
            "got %r" % (value,)
        )


def _at_least_one(instance: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("%s must be an int >= 1, got %r" % (attribute.name, value))


def _wait_number(instance: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("%s must be an int >= 0, got %r" % (attribute.name, value))


@attrs.frozen
class HideReady(Fault):
    """For ``passes`` readiness calls starting at call number ``at_pass``
    (0-based, counted over the whole network as ``InterruptWait.at_step``),
    a matching socket is not reported ready for ``events`` although it is;
    its state is unchanged, so the next call reports it again.  The
    counterpart of :class:`SpuriousReady`: a kernel that shows data one
    loop pass late.

    ``events``: "r" hides POLLIN (select: the read list), "w" POLLOUT (the
    write list), "x" POLLPRI (the exceptional list), or several ("rw").
    POLLHUP and POLLERR, which poll always reports, stay.  Every matching
    socket is hidden; the rule fires (and counts towards ``times``) for each
    that was ready for those events when the call began.
    """

    site: ClassVar[str] = "wait"
    events: str = attrs.field(default="r", validator=_hide_events)
    passes: int = attrs.field(default=1, validator=_at_least_one)
    at_pass: int = attrs.field(default=0, validator=_wait_number)

    @property
    def bits(self) -> int:
        """The poll bits hidden."""
        bits = 0
        for c in self.events:
            bits |= _HIDE_BITS[c]
        return bits

    def covers(self, step: int) -> bool:
        """Whether readiness call number ``step`` (0-based) is hidden."""
        return self.at_pass <= step < self.at_pass + self.passes


@attrs.frozen
class InterruptWait(Fault):
    """The readiness call fails with EINTR (as when a signal handler raises);
    ``at_step`` picks the wait (0-based) it happens on, else the next ones."""

    site: ClassVar[str] = "interrupt"
    at_step: Optional[int] = attrs.field(default=None, validator=_positive)


@attrs.frozen
class ExceptionalFile(Fault):
    """Simulated regular files opened (or imported) after this rule is
    installed also poll with an exceptional condition (POLLPRI: select()'s
    third list), as regular files did under the macOS select() of PyMOTW's
    documented runs.

    With ``no_getsockopt=True`` their ``file_wrapper`` has no usable
    ``getsockopt()``, as Python 2.7's had none: ``handle_expt_event()`` then
    fails with AttributeError (the end of PyMOTW 001's file-dispatcher run).
    ``match``, ``times`` and ``probability`` are not consulted: the rule
    applies to every file.
    """

    site: ClassVar[str] = "file"
    no_getsockopt: bool = False
