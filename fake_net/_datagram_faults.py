"""Datagram fault rules: what the simulated network does to a UDP datagram.

Each rule is an attrs value, like the stream rules of ``_faults`` (the same
``match=``, ``times=`` and ``probability=``), asked about every datagram a
:class:`~fake_net.DatagramSocket` sends, at the moment it is sent:

* :class:`DropDatagram`: the datagram is lost;
* :class:`DuplicateDatagram`: it arrives ``1 + copies`` times (each copy
  ``gap`` seconds after the one before);
* :class:`ReorderDatagrams`: it is held back until ``window`` later
  matching datagrams have gone on (or ``hold`` seconds passed), so they
  overtake it;
* :class:`TruncateDatagram`: it keeps only its first ``mtu`` bytes;
* :class:`CorruptDatagram`: one byte of it is flipped (XOR ``xor``, at
  ``offset``; either drawn from the seed when left as None);
* :class:`DelayDatagram`: it arrives ``seconds`` (plus up to ``jitter``)
  later instead of after the network's latency; unlike the stream's
  ``Delay``, a later datagram may overtake it, as on an IP network.

Every rule also takes ``skip=N``: the first N datagrams it matches pass
untouched (so ``DropDatagram(skip=2, times=1)`` loses exactly the third).
A rule's ``match`` reads ``fd`` as the *sending* socket's descriptor and
``port``/``host`` as the datagram's source or destination (so
``Match(port=161)`` picks the requests to port 161 and their answers);
``conn`` and ``side``, which name TCP connections, are refused.

Rules are tried in install order and the first that acts wins, so one
datagram meets at most one datagram fault; where they act, how firings are
logged (``fault`` events) and counted is ``_injector``'s business.

Rules (deterministic): sizes, offsets and jitter left to chance are drawn
from the network's seeded random source passed in (never the global
random); nothing reads a clock or iterates a set.
"""

from __future__ import annotations

from typing import Any, ClassVar, Optional, Tuple

import attrs

from fake_net._faults import ANY, Fault, Match

__all__ = [
    "DatagramFault",
    "DropDatagram",
    "DuplicateDatagram",
    "ReorderDatagrams",
    "TruncateDatagram",
    "CorruptDatagram",
    "DelayDatagram",
    "DATAGRAM_FAULTS",
]

Address = Tuple[str, int]


def _whole(low: int) -> Any:
    """Validator: an int >= ``low`` (bools refused), naming the argument."""

    def check(instance: Any, attribute: Any, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(
                "%s must be an int >= %d, got %r" % (attribute.name, low, value)
            )

    return check


def _optional_whole(low: int, high: Optional[int] = None) -> Any:
    inner = _whole(low)

    def check(instance: Any, attribute: Any, value: Any) -> None:
        if value is None:
            return
        inner(instance, attribute, value)
        if high is not None and value > high:
            raise ValueError(
                "%s must be within %d..%d, got %r" % (attribute.name, low, high, value)
            )

    return check


def _seconds(instance: Any, attribute: Any, value: Any) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not value >= 0  # NaN too
        or value == float("inf")
    ):
        raise ValueError(
            "%s must be a finite number of seconds >= 0, got %r"
            % (attribute.name, value)
        )


def _datagram_match(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, Match):
        raise TypeError("match must be a fake_net.Match, got %r" % (value,))
    for name in ("conn", "side"):
        if getattr(value, name) is not None:
            raise ValueError(
                "match: a datagram fault matches by fd, port or host; %s= names "
                "a TCP connection (got %s=%r)" % (name, name, getattr(value, name))
            )


@attrs.frozen(repr=False)
class DatagramFault(Fault):
    """Base of the datagram rules (not instantiated itself)."""

    site: ClassVar[str] = "datagram"
    #: How describe() says what the rule does to a datagram it picks.
    effect: ClassVar[str] = ""
    match: Match = attrs.field(default=ANY, kw_only=True, validator=_datagram_match)
    skip: int = attrs.field(default=0, kw_only=True, validator=_whole(0))

    def matches(self, sender: Any, src: Address, dest: Address) -> bool:
        """Whether a datagram ``sender`` sends from ``src`` to ``dest`` is one
        of this rule's (skip, times and probability aside)."""
        m = self.match
        if m.fd is not None and sender.fd != m.fd:
            return False
        if m.port is not None and m.port != src[1] and m.port != dest[1]:
            return False
        if m.host is not None and m.host != src[0] and m.host != dest[0]:
            return False
        return True

    def verdict(self, payload: bytes, rng: Any) -> Optional[Tuple[Any, ...]]:
        """What happens to ``payload`` (None: nothing), as the injector reads
        it: ``("drop",)``, ``("copies", n, gap)``, ``("hold", window, hold)``,
        ``("payload", new_bytes, what)`` or ``("delay", seconds)``."""
        raise NotImplementedError  # pragma: no cover

    def describe(self) -> str:
        """``"datagram #3 (port 161) is lost"``: the rule, in words."""
        first = self.skip + 1
        if self.times == 0:
            which = "no datagram (times=0)"
        elif self.times == 1:
            which = "datagram #%d" % first
        elif self.times is None:
            which = "every datagram" + (" from #%d on" % first if self.skip else "")
        else:
            which = "each of datagrams #%d to #%d" % (first, first + self.times - 1)
        if self.probability < 1.0:
            which = "%s, with probability %g," % (which, self.probability)
        return "%s%s %s" % (which, self.match.words(), self.effect_words())

    def effect_words(self) -> str:
        return self.effect

    def __repr__(self) -> str:
        """``DropDatagram(skip=2, times=1)``: only the settings that differ
        from their defaults, own settings first; it rebuilds the rule."""
        fields = attrs.fields(type(self))
        base = ("times", "probability", "match", "skip")
        order = [a for a in fields if a.name not in base] + [
            a
            for name in ("skip", "times", "probability", "match")
            for a in fields
            if a.name == name
        ]
        parts = []
        for a in order:
            value = getattr(self, a.name)
            if value == a.default:
                continue
            if isinstance(value, Match):
                kvs = attrs.asdict(value).items()
                text = "Match(%s)" % ", ".join(
                    "%s=%r" % kv for kv in kvs if kv[1] is not None
                )
                parts.append("match=%s" % text)
            else:
                parts.append("%s=%r" % (a.name, value))
        return "%s(%s)" % (type(self).__name__, ", ".join(parts))


@attrs.frozen(repr=False)
class DropDatagram(DatagramFault):
    """A matching datagram is lost on the way."""

    effect: ClassVar[str] = "is lost"

    def verdict(self, payload: bytes, rng: Any) -> Optional[Tuple[Any, ...]]:
        return ("drop",)


@attrs.frozen(repr=False)
class DuplicateDatagram(DatagramFault):
    """A matching datagram arrives ``1 + copies`` times; each copy ``gap``
    seconds after the one before it (0: at once, right behind it)."""

    copies: int = attrs.field(default=1, validator=_whole(1))
    gap: float = attrs.field(default=0.0, validator=_seconds)

    def verdict(self, payload: bytes, rng: Any) -> Optional[Tuple[Any, ...]]:
        return ("copies", self.copies, float(self.gap))

    def effect_words(self) -> str:
        times = "twice" if self.copies == 1 else "%d times" % (self.copies + 1)
        gap = " (%gs apart)" % self.gap if self.gap else ""
        return "arrives %s%s" % (times, gap)


@attrs.frozen(repr=False)
class ReorderDatagrams(DatagramFault):
    """A matching datagram is held back until ``window`` later datagrams
    that this rule matches have gone on (they overtake it), then arrives;
    if fewer come, it arrives ``hold`` seconds after it was sent.  A held
    datagram is never lost."""

    window: int = attrs.field(default=1, validator=_whole(1))
    hold: float = attrs.field(default=1.0, validator=_seconds)

    def verdict(self, payload: bytes, rng: Any) -> Optional[Tuple[Any, ...]]:
        return ("hold", self.window, float(self.hold))

    def effect_words(self) -> str:
        n = (
            "the next datagram"
            if self.window == 1
            else "%d later datagrams" % (self.window)
        )
        return "is overtaken by %s (held at most %gs)" % (n, self.hold)


@attrs.frozen(repr=False)
class TruncateDatagram(DatagramFault):
    """A matching datagram longer than ``mtu`` bytes keeps only its first
    ``mtu`` (shorter ones pass untouched, and do not count towards times)."""

    mtu: int = attrs.field(default=576, validator=_whole(0))

    def verdict(self, payload: bytes, rng: Any) -> Optional[Tuple[Any, ...]]:
        if len(payload) <= self.mtu:
            return None
        return ("payload", payload[: self.mtu], self.mtu)

    def effect_words(self) -> str:
        return "is cut to %d byte%s" % (self.mtu, "" if self.mtu == 1 else "s")


@attrs.frozen(repr=False)
class CorruptDatagram(DatagramFault):
    """One byte of a matching datagram is flipped: the byte at ``offset``
    (drawn from the datagram's length when None) is XORed with ``xor``
    (1..255, drawn when None).  A datagram too short to have that byte (an
    empty one, always) passes untouched."""

    offset: Optional[int] = attrs.field(default=None, validator=_optional_whole(0))
    xor: Optional[int] = attrs.field(default=None, validator=_optional_whole(1, 255))

    def verdict(self, payload: bytes, rng: Any) -> Optional[Tuple[Any, ...]]:
        n = len(payload)
        if n == 0 or (self.offset is not None and self.offset >= n):
            return None
        at = rng.randrange(n) if self.offset is None else self.offset
        xor = rng.randint(1, 255) if self.xor is None else self.xor
        data = bytearray(payload)
        data[at] ^= xor
        return ("payload", bytes(data), at)

    def effect_words(self) -> str:
        at = "a byte" if self.offset is None else "byte %d" % self.offset
        return "has %s flipped" % at


@attrs.frozen(repr=False)
class DelayDatagram(DatagramFault):
    """A matching datagram arrives ``seconds`` (plus up to ``jitter``, drawn)
    after it is sent, instead of after the network's latency; datagrams
    sent later may arrive first."""

    seconds: float = attrs.field(default=0.0, validator=_seconds)
    jitter: float = attrs.field(default=0.0, validator=_seconds)

    def verdict(self, payload: bytes, rng: Any) -> Optional[Tuple[Any, ...]]:
        extra = rng.uniform(0.0, self.jitter) if self.jitter else 0.0
        return ("delay", float(self.seconds) + extra)

    def effect_words(self) -> str:
        jitter = " (+ up to %gs)" % self.jitter if self.jitter else ""
        return "arrives %gs late%s" % (self.seconds, jitter)


#: The datagram rules by name, for readers of scenarios and plans.
DATAGRAM_FAULTS = {
    cls.__name__: cls
    for cls in (
        DropDatagram,
        DuplicateDatagram,
        ReorderDatagrams,
        TruncateDatagram,
        CorruptDatagram,
        DelayDatagram,
    )
}
