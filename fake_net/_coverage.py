"""Fault coverage: which installed faults never fired, and why, in words.

A fault that never fired is a test that tested nothing: a script entry that
cuts send #7 in a run of 3 sends, a reset after byte 4000 of a 300-byte
exchange, a refused connect in a run that never connects.  The injector
(``_injector``) keeps one :class:`RuleUse` per installed rule as it applies
them; :meth:`_Coverage.unfired_faults` reads them after (or during) a run.

What "never fired" means, rule by rule:

- a script (``CutSends``, ``CutReads``, ``DelaySegments``: what a
  :class:`~fake_net.FaultPlan` installs) is judged entry by entry: an entry
  that cuts (or delays) fired when its call came and was cut; an entry whose
  call never came, or whose call was already within the cap, did not.
  Entries that do nothing (``None`` cuts, zero delays) are not faults;
- a plan drawn by ``FaultPlan.random(seed)`` is a script like any other once
  drawn (its entries are values, not probabilities), so the same holds; the
  toolkit decides how loudly to report drawn plans;
- any other rule (``PartialSend``, ``PeerReset(after_bytes=...)``,
  ``RefuseConnect``, ...), including one with ``probability=`` < 1, never
  fired when it acted on no call at all in the run; the reason says whether
  no call matched it, or some did and none was drawn, or none was larger
  than its cap;
- a datagram rule (``DropDatagram``, ``DuplicateDatagram``, ...: see
  ``_datagram_faults``) never fired when it acted on no datagram: the
  reason says whether the run sent none it matches, or no more than its
  ``skip``, or none was drawn, or (``TruncateDatagram``,
  ``CorruptDatagram``) none was long enough to cut or flip;
- ``ExceptionalFile`` is a setting of every file opened, not an event, and
  is never reported.

Rules: deterministic, as the network is: faults are reported in install
order, script entries in script order; nothing here draws from the random
source, reads a clock or iterates a set.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import attrs

from fake_net import _faults

__all__ = ["RuleUse", "UnfiredFault", "_Coverage"]


class RuleUse:
    """How one installed rule met the run (kept by the injector).

    ``seen``: calls that reached the rule and matched it (before its
    probability was drawn); ``drawn``: those that also passed the draw;
    ``reach``: the largest size a sized rule was asked about, the furthest
    byte offset a matching connection end reached (stream rules at a byte
    offset; -1: no matching end), 0 once a timed rule's moment came, or the
    last wait step seen (``InterruptWait``); ``misses``: script entry ->
    the size of the call it met and did not cut.
    """

    __slots__ = ("seen", "drawn", "reach", "misses")

    def __init__(self) -> None:
        self.seen = 0
        self.drawn = 0
        self.reach = -1
        self.misses: Dict[int, int] = {}


@attrs.frozen
class UnfiredFault:
    """One fault that never fired: ``str()`` reads
    ``"send #7 accepts at most 1 (CutSends) never fired: the run made 3 sends"``.

    ``rule`` is the index of the rule in ``net.faults``, ``fault`` the rule,
    ``entry`` the 0-based script entry (None for a whole rule).
    """

    rule: int
    fault: _faults.Fault
    entry: Optional[int]
    what: str
    why: str

    def __str__(self) -> str:
        return "%s never fired: %s" % (self.what, self.why)


_NOUNS = {
    "send": ("send", "sends"),
    "recv": ("read of more than one byte", "reads of more than one byte"),
    "deliver": ("segment", "segments"),
    "connect": ("connect", "connects"),
    "datagram": ("datagram", "datagrams"),
}


def _made(n: int, site: str, match: _faults.Match) -> str:
    """``"the run made 3 sends"``, ``"the run sent no segment"``."""
    verb = "sent" if site in ("deliver", "datagram") else "made"
    return "the run %s %s" % (verb, _count(n, site, match))


def _count(n: int, site: str, match: _faults.Match) -> str:
    """``"3 sends by the sockets it matches (server side)"``, ``"no connect"``."""
    one, many = _NOUNS.get(site, ("call", "calls"))
    text = "no %s" % one if n == 0 else "%d %s" % (n, one if n == 1 else many)
    if site == "connect":
        return text + (" to port %d" % match.port if match.port is not None else "")
    where = match.words()
    if site == "datagram":
        return text + (" it matches%s" % where if where else "")
    return text + (" by the sockets it matches%s" % where if where else "")


def short_repr(fault: _faults.Fault) -> str:
    """``PartialSend(max_bytes=3, match=Match(side='server'))``: the rule
    with only the settings that differ from their defaults."""
    if fault.site == "datagram":
        return repr(fault)  # datagram rules print that way themselves
    parts = []
    for a in attrs.fields(type(fault)):
        value = getattr(fault, a.name)
        if value == a.default:
            continue
        if isinstance(value, _faults.Match):
            value = "Match(%s)" % ", ".join(
                "%s=%r" % kv for kv in attrs.asdict(value).items() if kv[1] is not None
            )
            parts.append("match=%s" % value)
        else:
            parts.append("%s=%r" % (a.name, value))
    return "%s(%s)" % (type(fault).__name__, ", ".join(parts))


class _Coverage:
    """FakeNetwork's fault coverage: :meth:`unfired_faults`."""

    # From the other parts (the injector keeps _rule_uses and _fault_calls).
    faults: List[_faults.Fault]
    _rule_uses: List[RuleUse]
    _fault_uses: List[int]
    _fault_calls: List[int]
    now: float

    def unfired_faults(self) -> List[UnfiredFault]:
        """The faults (rules, and entries of scripts and plans) that never
        fired so far, in install order, each with a readable reason (see the
        module docstring for what "never fired" means)."""
        out: List[UnfiredFault] = []
        for index, fault in enumerate(self.faults):
            if isinstance(fault, _faults.ExceptionalFile):
                continue
            if fault.scripted:
                out.extend(self._unfired_entries(index, fault))
            elif not self._fault_uses[index]:
                why = self._why_not(index, fault)
                out.append(UnfiredFault(index, fault, None, short_repr(fault), why))
        return out

    # -- scripts -------------------------------------------------------------

    def _unfired_entries(self, index: int, fault: Any) -> List[UnfiredFault]:
        use = self._rule_uses[index]
        calls = self._fault_calls[index]
        where = fault.match.words()
        name = type(fault).__name__
        out = []
        if isinstance(fault, _faults.DelaySegments):
            entries = [(i, s) for i, s in enumerate(fault.seconds) if s]
        else:
            entries = [(i, k) for i, k in enumerate(fault.sizes) if k is not None]
        for i, value in entries:
            if isinstance(fault, _faults.DelaySegments):
                what = "segment #%d%s is delayed %gs" % (i + 1, where, value)
            elif isinstance(fault, _faults.CutSends):
                how = "fails with EWOULDBLOCK" if value == 0 else "accepts at most %d"
                what = "send #%d%s %s" % (i + 1, where, how.replace("%d", str(value)))
            else:
                what = "recv #%d%s returns at most %d" % (i + 1, where, value)
            if i >= calls:
                why = _made(calls, fault.site, fault.match)
            elif i in use.misses:
                n = use.misses[i]
                if fault.site == "send":
                    why = "send #%d offered only %d byte%s" % (i + 1, n, _s(n))
                else:
                    why = "recv #%d had only %d byte%s to return" % (i + 1, n, _s(n))
            else:
                continue  # it fired
            out.append(UnfiredFault(index, fault, i, "%s (%s)" % (what, name), why))
        return out

    # -- other rules ---------------------------------------------------------

    def _why_not(self, index: int, fault: _faults.Fault) -> str:
        use = self._rule_uses[index]
        if fault.times == 0:
            return "times=0"
        site = fault.site
        if site == "stream":
            offset = getattr(fault, "after_bytes", None)
            if offset is None:
                at = getattr(fault, "at_time", 0.0)
                if use.reach < 0:
                    return "the run ended at t=%gs, before t=%gs" % (self.now, at)
                if not use.seen:
                    return "no matching connection was open at t=%gs" % at
            elif use.reach < 0:
                return "no connection end it matches received anything"
            elif use.reach < offset:
                return (
                    "the most any matching connection end received was %d byte%s"
                    % (use.reach, _s(use.reach))
                )
            return self._not_drawn(fault, use, "matching connection end")
        if site == "datagram":
            return self._datagram_why_not(fault, use)
        if site == "interrupt":
            step = getattr(fault, "at_step", None)
            if use.reach < 0:
                return "the run made no wait"
            if step is not None and use.reach < step:
                return "the run made %d wait%s, not %d" % (
                    use.reach + 1,
                    _s(use.reach + 1),
                    step + 1,
                )
            return self._not_drawn(fault, use, "wait")
        if not use.seen:
            if site == "wait":
                return "no wait saw a socket it matches"
            return _made(0, site, fault.match)
        if fault.probability < 1.0 and not use.drawn:
            return self._not_drawn(fault, use, "")
        cap = getattr(fault, "max_bytes", None)
        if site in ("send", "recv"):
            largest = " (the largest: %d)" % use.reach if use.reach >= 0 else ""
            if cap is not None:
                return "none of the %s was larger than %d bytes%s" % (
                    _count(use.drawn, site, fault.match),
                    cap,
                    largest,
                )
            return "each of the %s was of one byte or drawn whole%s" % (
                _count(use.drawn, site, fault.match),
                largest,
            )
        return "it was asked %d time%s and passed each" % (use.drawn, _s(use.drawn))

    def _datagram_why_not(self, fault: Any, use: RuleUse) -> str:
        skip = fault.skip
        if use.seen <= skip:
            text = _made(use.seen, "datagram", fault.match)
            if use.seen:
                text += ", and it skips the first %d" % skip
            return text
        if fault.probability < 1.0 and not use.drawn:
            return self._not_drawn(fault, use, "datagram")
        n = _count(use.drawn, "datagram", fault.match)
        mtu = getattr(fault, "mtu", None)
        if mtu is not None:
            return "none of the %s was longer than %d byte%s (the longest: %d)" % (
                n,
                mtu,
                _s(mtu),
                use.reach,
            )
        offset = getattr(fault, "offset", None)
        if offset is not None:
            return "none of the %s had a byte %d (the longest: %d)" % (
                n,
                offset,
                use.reach,
            )
        return "each of the %s was empty" % n

    @staticmethod
    def _not_drawn(fault: _faults.Fault, use: RuleUse, what: str) -> str:
        if fault.probability < 1.0:
            return "its probability %g drew none of its %d chance%s" % (
                fault.probability,
                use.seen,
                _s(use.seen),
            )
        if fault.times is not None:
            return "times=%d" % fault.times
        return "no %s it matches came its way" % (what or "call")


def _s(n: int) -> str:
    return "" if n == 1 else "s"
