"""Fault plans: one value that says everything a run's faults will do.

A :class:`FaultPlan` is a script, not a probability: how each send is cut,
how each read is cut, where urgent (OOB) bytes land, when the peer closes or
resets, how long each segment is delayed, whether the first connect
fails, and what happens to datagrams (``datagrams``: a tuple of datagram
rules, ``DropDatagram(skip=2, times=1)`` ..., see ``_datagram_faults``).
``plan.rules()`` turns it into ordinary fault rules, so a plan is exactly
as deterministic as the network it is installed on, and the same plan
always gives the same run::

    plan = FaultPlan(sends=(None, 1), match=Match(side="server"))
    net = plan.network(seed=0)          # FakeNetwork(seed=0, faults=plan.rules())

The empty plan, ``FaultPlan()``, is "no faults, whole chunks, every
datagram delivered once, in order"; the Hypothesis strategies
:func:`asyncore_sim.testing.strategies.fault_plans` and
``datagram_fault_plans`` shrink toward it, and :meth:`FaultPlan.random`
draws plans for seeded sweeps.
A plan prints as Python that rebuilds it, and travels in trace headers as
one line of JSON (:meth:`to_json` / :meth:`from_json`).
"""

from __future__ import annotations

import json
import random
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import attrs

from fake_net import _faults
from fake_net._datagram_faults import DATAGRAM_FAULTS, DatagramFault
from fake_net._faults import ANY, Match

__all__ = ["FaultPlan", "StreamEnd"]

_END_KINDS = ("close", "reset")
_CONNECT = ("refuse", "timeout")


@attrs.frozen
class StreamEnd:
    """The connection ends early: the peer closes (``"close"``: EOF) or the
    connection is reset (``"reset"``: ECONNRESET) once ``after_bytes`` have
    reached the victim."""

    kind: str = attrs.field(validator=attrs.validators.in_(_END_KINDS))
    after_bytes: int = attrs.field(default=0, validator=_faults._positive)

    def __repr__(self) -> str:
        return "StreamEnd(%r, %d)" % (self.kind, self.after_bytes)


def _offsets(instance: Any, attribute: Any, value: Tuple[int, ...]) -> None:
    for i, k in enumerate(value):
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError("oob[%d] must be an int >= 0, got %r" % (i, k))


def _datagram_rules(instance: Any, attribute: Any, value: Tuple[Any, ...]) -> None:
    for i, rule in enumerate(value):
        if not isinstance(rule, DatagramFault):
            raise ValueError(
                "datagrams[%d] must be a datagram fault (%s), got %r"
                % (i, ", ".join(DATAGRAM_FAULTS), rule)
            )


def _rule_to_dict(rule: DatagramFault) -> Dict[str, Any]:
    out: Dict[str, Any] = {"fault": type(rule).__name__}
    for a in attrs.fields(type(rule)):
        value = getattr(rule, a.name)
        if value == a.default:
            continue
        if isinstance(value, Match):
            value = {k: v for k, v in attrs.asdict(value).items() if v is not None}
        out[a.name] = value
    return out


def _rule_from_dict(i: int, data: Any) -> DatagramFault:
    if not isinstance(data, dict) or data.get("fault") not in DATAGRAM_FAULTS:
        raise ValueError(
            "datagrams[%d] must be an object whose \"fault\" is one of %s, got %r"
            % (i, ", ".join(DATAGRAM_FAULTS), data)
        )
    kwargs = dict(data)
    cls = DATAGRAM_FAULTS[kwargs.pop("fault")]
    if isinstance(kwargs.get("match"), dict):
        kwargs["match"] = Match(**kwargs["match"])
    try:
        return cls(**kwargs)  # type: ignore[no-any-return]
    except TypeError as e:
        raise ValueError("datagrams[%d]: %s" % (i, e)) from None


def _end(value: Any) -> Optional[StreamEnd]:
    if value is None or isinstance(value, StreamEnd):
        return value
    kind, after = value
    return StreamEnd(kind, after)


@attrs.frozen(repr=False)
class FaultPlan:
    """Everything the faults of one run do, on the sockets ``match`` picks.

    - ``sends``: the i-th send accepts at most ``sends[i]`` bytes (``0``:
      EWOULDBLOCK, ``None``: whole);
    - ``reads``: the i-th recv returns at most ``reads[i]`` bytes (>= 1);
    - ``oob``: byte offsets of the victim's incoming stream where an urgent
      byte ``b"!"`` arrives;
    - ``end``: a :class:`StreamEnd` (or ``("close"|"reset", offset)``);
    - ``delays``: the i-th segment sent arrives that many seconds later;
    - ``connect``: ``"refuse"`` or ``"timeout"`` for the first connect;
      ``connect_delay``: seconds the first connect takes.

    - ``datagrams``: datagram rules (``DropDatagram``, ``DuplicateDatagram``,
      ``ReorderDatagrams``, ``TruncateDatagram``, ``CorruptDatagram``,
      ``DelayDatagram``), installed after the stream rules; each carries its
      own ``match`` (the plan's ``match``, usually a TCP side, is not theirs).

    Connect faults look only at ``match.port`` (the destination port).
    """

    sends: Tuple[Optional[int], ...] = attrs.field(
        default=(), converter=_faults._as_tuple, validator=_faults._size_script(0)
    )
    reads: Tuple[Optional[int], ...] = attrs.field(
        default=(), converter=_faults._as_tuple, validator=_faults._size_script(1)
    )
    oob: Tuple[int, ...] = attrs.field(
        default=(), converter=_faults._as_tuple, validator=_offsets
    )
    end: Optional[StreamEnd] = attrs.field(default=None, converter=_end)
    delays: Tuple[float, ...] = attrs.field(
        default=(), converter=_faults._as_tuple, validator=_faults._seconds_script
    )
    connect: Optional[str] = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.in_(_CONNECT)),
    )
    connect_delay: float = attrs.field(default=0.0, validator=_faults._positive)
    match: Match = ANY
    datagrams: Tuple[DatagramFault, ...] = attrs.field(
        default=(), converter=_faults._as_tuple, validator=_datagram_rules
    )

    # -- what it does -------------------------------------------------------

    def rules(self) -> List[_faults.Fault]:
        """The fault rules that carry the plan out, in install order."""
        m = self.match
        out: List[_faults.Fault] = []
        dest = Match(port=m.port)
        if self.connect == "refuse":
            out.append(_faults.RefuseConnect(times=1, match=dest))
        elif self.connect == "timeout":
            out.append(_faults.ConnectTimeout(times=1, match=dest))
        if self.connect_delay:
            out.append(
                _faults.ConnectLatency(seconds=self.connect_delay, times=1, match=dest)
            )
        for offset in self.oob:
            out.append(_faults.InjectOOB(after_bytes=offset, match=m))
        if self.end is not None:
            cls = _faults.PeerClose if self.end.kind == "close" else _faults.PeerReset
            out.append(cls(after_bytes=self.end.after_bytes, match=m))
        if any(k is not None for k in self.sends):
            out.append(_faults.CutSends(sizes=self.sends, match=m))
        if any(k is not None for k in self.reads):
            out.append(_faults.CutReads(sizes=self.reads, match=m))
        if any(self.delays):
            out.append(_faults.DelaySegments(seconds=self.delays, match=m))
        out.extend(self.datagrams)
        return out

    def network(self, seed: int = 0, **kwargs: Any) -> Any:
        """A ``FakeNetwork(seed=seed, faults=self.rules(), **kwargs)``."""
        from fake_net._network import FakeNetwork

        return FakeNetwork(seed=seed, faults=self.rules(), **kwargs)

    def install(self, net: Any) -> None:
        """Add the plan's rules to ``net`` (after those it already has)."""
        for rule in self.rules():
            net.add_fault(rule)

    @property
    def size(self) -> int:
        """How many faults the plan holds (0 for the empty plan)."""
        return (
            sum(k is not None for k in self.sends)
            + sum(k is not None for k in self.reads)
            + len(self.oob)
            + (self.end is not None)
            + sum(1 for s in self.delays if s)
            + (self.connect is not None)
            + bool(self.connect_delay)
            + len(self.datagrams)
        )

    def __bool__(self) -> bool:
        return self.size > 0

    def describe(self) -> List[str]:
        """One readable line per fault (empty for the empty plan)."""
        where = self.match.words()
        lines: List[str] = []
        for i, k in enumerate(self.sends):
            if k is not None:
                what = "fails with EWOULDBLOCK" if k == 0 else "accepts at most %d" % k
                lines.append("send #%d%s %s" % (i + 1, where, what))
        for i, k in enumerate(self.reads):
            if k is not None:
                lines.append("recv #%d%s returns at most %d" % (i + 1, where, k))
        for offset in self.oob:
            lines.append("an urgent byte arrives%s after byte %d" % (where, offset))
        if self.end is not None:
            what = "the peer closes" if self.end.kind == "close" else "a reset"
            lines.append("%s%s after byte %d" % (what, where, self.end.after_bytes))
        for i, s in enumerate(self.delays):
            if s:
                lines.append("segment #%d%s is delayed %gs" % (i + 1, where, s))
        if self.connect is not None:
            lines.append(
                "the first connect %s"
                % ("is refused" if self.connect == "refuse" else "times out")
            )
        if self.connect_delay:
            lines.append("the first connect takes %gs" % self.connect_delay)
        lines.extend(rule.describe() for rule in self.datagrams)
        return lines

    # -- as text ------------------------------------------------------------

    def __repr__(self) -> str:
        parts = []
        for a in attrs.fields(FaultPlan):
            value = getattr(self, a.name)
            if value == a.default:
                continue
            if isinstance(value, Match):
                fields = attrs.asdict(value).items()
                value = "Match(%s)" % ", ".join(
                    "%s=%r" % kv for kv in fields if kv[1] is not None
                )
                parts.append("match=%s" % value)
            else:
                parts.append("%s=%r" % (a.name, value))
        return "FaultPlan(%s)" % ", ".join(parts)

    def to_dict(self) -> Dict[str, Any]:
        """The plan as plain JSON values (defaults left out)."""
        out: Dict[str, Any] = {}
        for a in attrs.fields(FaultPlan):
            value = getattr(self, a.name)
            if value == a.default:
                continue
            if isinstance(value, StreamEnd):
                value = [value.kind, value.after_bytes]
            elif isinstance(value, Match):
                value = {k: v for k, v in attrs.asdict(value).items() if v is not None}
            elif a.name == "datagrams":
                value = [_rule_to_dict(rule) for rule in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[a.name] = value
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "FaultPlan":
        if not isinstance(data, dict):
            raise ValueError("a fault plan is a JSON object, not %r" % (data,))
        known = {a.name for a in attrs.fields(FaultPlan)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError("unknown fault plan field(s): %s" % ", ".join(unknown))
        kwargs = dict(data)
        if "match" in kwargs:
            kwargs["match"] = Match(**kwargs["match"])
        if "datagrams" in kwargs:
            rules = kwargs["datagrams"]
            if not isinstance(rules, list):
                raise ValueError("datagrams must be a list, got %r" % (rules,))
            kwargs["datagrams"] = [_rule_from_dict(i, r) for i, r in enumerate(rules)]
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> "FaultPlan":
        try:
            data = json.loads(text)
        except ValueError as e:
            raise ValueError("not a fault plan (bad JSON): %s" % e) from None
        return cls.from_dict(data)

    # -- seeded plans for sweeps --------------------------------------------

    @classmethod
    def random(
        cls,
        seed: Union[int, random.Random],
        *,
        max_cuts: int = 24,
        max_size: int = 64,
        max_offset: int = 4096,
        max_delay: float = 0.05,
        closes: bool = True,
        oob: bool = False,
        connect: bool = False,
        match: Match = ANY,
        resets: Optional[bool] = None,
        datagrams: bool = False,
    ) -> "FaultPlan":
        """A plan drawn from ``seed`` alone (an int or a ``random.Random``):
        the same seed always gives the same plan, on any machine.

        ``closes`` allows an early close, ``resets`` an early reset (None:
        as ``closes``, so ``closes=True`` alone allows both, as before).
        ``datagrams`` adds 0 to 3 datagram rules (loss, duplication,
        reordering, delay), drawn after everything else, so a seed's stream
        rules are the same with it or without it (in a sweep:
        ``@pytest.mark.sim_faults(datagrams=True)``)."""
        if not isinstance(seed, random.Random):
            if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                # random.Random(-1) draws what random.Random(1) draws.
                raise ValueError("seed must be an int >= 0, got %r" % (seed,))
        rng = seed if isinstance(seed, random.Random) else random.Random(seed)

        def cut(low: int) -> Optional[int]:
            # Tuned to find a writer that ignores send()'s return value
            # (benchmarks/bench_detection.py): most entries cut, a third of
            # the cuts to the least (0: EWOULDBLOCK), a third to a few bytes,
            # the rest anywhere up to max_size.  Scripts are long because
            # the calls are counted across every matching socket: the
            # handler at fault may make only every fourth send.
            if rng.random() >= 0.75:
                return None
            r = rng.random()
            if r < 1 / 3:
                return low
            if r < 2 / 3:
                return rng.randint(max(low, 1), max(min(8, max_size), 1))
            return rng.randint(max(low, 1), max(max_size, 1))

        def cuts(low: int) -> Tuple[Optional[int], ...]:
            if max_cuts < 1:
                return ()
            return tuple(cut(low) for _ in range(rng.randint(1, max_cuts)))

        sends = _trim(cuts(0), None)
        reads = _trim(cuts(1), None)
        delays = _trim(
            tuple(
                round(rng.uniform(0.0, max_delay), 3) if rng.random() < 0.3 else 0.0
                for _ in range(rng.randint(0, max_cuts))
            ),
            0.0,
        )
        end = None
        if resets is None:
            resets = closes
        kinds = tuple(
            k for k in _END_KINDS if (closes if k == "close" else resets)
        )
        if kinds and rng.random() < 0.25:
            end = StreamEnd(rng.choice(kinds), rng.randint(0, max_offset))
        oob_at: Tuple[int, ...] = ()
        if oob and rng.random() < 0.25:
            oob_at = (rng.randint(0, max_offset),)
        how = None
        if connect and rng.random() < 0.1:
            how = rng.choice(_CONNECT)
        rules: Tuple[DatagramFault, ...] = ()
        if datagrams:
            rules = _random_datagram_rules(rng, match, max_delay)
        return cls(
            sends=sends,
            reads=reads,
            oob=oob_at,
            end=end,
            delays=delays,
            connect=how,
            match=match,
            datagrams=rules,
        )


_RANDOM_DATAGRAM_KINDS = (
    "DropDatagram",
    "DuplicateDatagram",
    "ReorderDatagrams",
    "DelayDatagram",
)


def _random_datagram_rules(
    rng: random.Random, match: Match, max_delay: float
) -> Tuple[DatagramFault, ...]:
    """0 to 3 datagram rules for FaultPlan.random: each acts on 1 to 3
    datagrams from number ``skip + 1``; a stream-only match (``conn``,
    ``side``) does not apply to datagrams, which then get every socket."""
    if match.conn is not None or match.side is not None:
        match = ANY
    out: List[DatagramFault] = []
    for _ in range(rng.randint(0, 3)):
        kind = rng.choice(_RANDOM_DATAGRAM_KINDS)
        common: Dict[str, Any] = {
            "skip": rng.randint(0, 8),
            "times": rng.randint(1, 3),
            "match": match,
        }
        if kind == "DuplicateDatagram":
            common["copies"] = rng.randint(1, 2)
        elif kind == "ReorderDatagrams":
            common["window"] = rng.randint(1, 3)
        elif kind == "DelayDatagram":
            common["seconds"] = round(rng.uniform(0.001, max(max_delay, 0.001)), 3)
        out.append(DATAGRAM_FAULTS[kind](**common))
    return tuple(out)


def _trim(items: Sequence[Any], blank: Any) -> Tuple[Any, ...]:
    """``items`` as a tuple, without the trailing entries that do nothing
    (``blank``: None for a cut script, 0.0 for a delay script)."""
    n = len(items)
    while n and items[n - 1] == blank:
        n -= 1
    return tuple(items[:n])
