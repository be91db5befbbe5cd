"""Hypothesis strategies for fault plans.

:func:`fault_plans` draws :class:`fake_net.FaultPlan` values: how each send
is cut, how each read is cut, where urgent (OOB) bytes land, when the peer
closes or resets, how each segment is delayed, whether the connect fails.
Everything shrinks toward the empty plan, "no faults, whole chunks": a cut
list toward fewer entries and each entry toward ``None`` (whole), delays
toward 0, an early end toward none at all; so a failing property is
reported with the smallest plan that still fails::

    from hypothesis import given
    from asyncore_sim.testing.strategies import fault_plans
    from asyncore_sim.testing import simulate
    from fake_net import Match

    @given(plan=fault_plans(match=Match(side="server")))
    def test_echo(plan):
        with simulate(plan) as sim:
            ...
            sim.run()
        assert received == sent

Faults that change what a correct handler can deliver (closes, resets, OOB
bytes, connect failures) are opt-in; cuts and delays, which a correct
handler must survive unchanged, are on by default.

Datagram plans come from their own strategy, :func:`datagram_fault_plans`
(plans whose only faults are datagram rules: ``FaultPlan(datagrams=...)``),
built on :func:`datagram_faults` (one rule).  They shrink toward the empty
plan, "every datagram delivered once, in order": fewer rules, the simplest
kind first (a loss, then a duplicate, a reorder, a delay, a cut, a flipped
byte), ``skip`` toward 0 (the first datagram), ``times`` toward 1 and every
size toward its least.  Drawn rules never use ``probability``: a plan is a
script, the same on every run::

    @given(plan=datagram_fault_plans(match=Match(port=AGENT_PORT)))
    def test_agent(plan):
        net = plan.network(seed=0)
        ...

Loss, duplication, reordering and delay are on by default (a correct UDP
protocol must survive them); truncation and corruption are opt-in.
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

from hypothesis import strategies as st

from fake_net import (
    ANY,
    CorruptDatagram,
    DelayDatagram,
    DropDatagram,
    DuplicateDatagram,
    FaultPlan,
    Match,
    ReorderDatagrams,
    StreamEnd,
    TruncateDatagram,
)
from fake_net._plan import _trim

__all__ = [
    "cuts",
    "datagram_fault_plans",
    "datagram_faults",
    "delay_scripts",
    "fault_plans",
    "stream_ends",
]


def cuts(
    *, max_calls: int = 8, max_size: int = 512, would_block: bool = False
) -> "st.SearchStrategy[Tuple[Optional[int], ...]]":
    """A script of cut sizes, one per call: ``None`` (whole) or at most
    ``max_size`` bytes; with ``would_block``, ``0`` (EWOULDBLOCK) too."""
    if max_size < 1:
        raise ValueError("max_size must be >= 1, got %r" % (max_size,))
    options = [st.none(), st.integers(1, max_size)]
    if would_block:
        options.append(st.just(0))
    entry = st.one_of(*options)
    # Trailing Nones do nothing; dropping them keeps printed plans short.
    return st.lists(entry, max_size=max_calls).map(lambda xs: _trim(xs, None))


def delay_scripts(
    *, max_calls: int = 8, max_delay: float = 1.0
) -> "st.SearchStrategy[Tuple[float, ...]]":
    """A script of per-segment delays in whole milliseconds, shrinking to 0."""
    top = int(round(max_delay * 1000))
    entry = st.integers(0, top).map(lambda ms: ms / 1000.0)
    return st.lists(entry, max_size=max_calls).map(lambda xs: _trim(xs, 0.0))


def stream_ends(
    *, closes: bool = True, resets: bool = True, max_offset: int = 4096
) -> "st.SearchStrategy[Optional[StreamEnd]]":
    """``None`` (the connection lives) or an early close/reset at an offset."""
    kinds = [k for k, on in (("close", closes), ("reset", resets)) if on]
    if not kinds:
        return st.none()
    return st.one_of(
        st.none(),
        st.builds(StreamEnd, st.sampled_from(kinds), st.integers(0, max_offset)),
    )


def fault_plans(
    *,
    sends: bool = True,
    reads: bool = True,
    delays: bool = True,
    oob: bool = False,
    closes: bool = False,
    resets: bool = False,
    connect: bool = False,
    would_block: bool = True,
    max_calls: int = 8,
    max_size: int = 512,
    max_offset: int = 4096,
    max_delay: float = 1.0,
    match: Match = ANY,
) -> "st.SearchStrategy[FaultPlan]":
    """Fault plans for the sockets ``match`` picks (see the module docstring).

    The flags say which kinds of fault may appear; ``max_calls`` bounds the
    length of each script, ``max_size`` a cut, ``max_offset`` where an OOB
    byte or an early end lands, ``max_delay`` (seconds) a segment's delay.
    """
    if not isinstance(match, Match):
        raise TypeError("match must be a fake_net.Match, not %r" % (match,))
    none: Any = st.just(())
    return st.builds(
        FaultPlan,
        sends=cuts(max_calls=max_calls, max_size=max_size, would_block=would_block)
        if sends
        else none,
        reads=cuts(max_calls=max_calls, max_size=max_size) if reads else none,
        oob=st.lists(st.integers(0, max_offset), max_size=2, unique=True).map(
            lambda xs: tuple(sorted(xs))
        )
        if oob
        else none,
        end=stream_ends(closes=closes, resets=resets, max_offset=max_offset),
        delays=delay_scripts(max_calls=max_calls, max_delay=max_delay)
        if delays
        else none,
        connect=st.one_of(st.none(), st.sampled_from(["refuse", "timeout"]))
        if connect
        else st.none(),
        match=st.just(match),
    )


def datagram_faults(
    *,
    loss: bool = True,
    duplication: bool = True,
    reordering: bool = True,
    delays: bool = True,
    truncation: bool = False,
    corruption: bool = False,
    max_skip: int = 8,
    max_times: int = 3,
    max_copies: int = 2,
    max_window: int = 3,
    max_delay: float = 2.0,
    max_size: int = 512,
    match: Match = ANY,
) -> "st.SearchStrategy[Any]":
    """One datagram rule of the enabled kinds, for the datagrams ``match``
    picks: it acts on ``times`` (1..``max_times``) datagrams from number
    ``skip + 1`` (``skip`` in 0..``max_skip``).  ``max_delay`` (seconds)
    bounds a delay, the gap between duplicates (drawn as 0 or whole
    milliseconds) and how long a reordered datagram is held, ``max_size``
    a truncation's MTU and a corrupted byte's offset."""
    if not isinstance(match, Match):
        raise TypeError("match must be a fake_net.Match, not %r" % (match,))
    for name, value, low in (
        ("max_skip", max_skip, 0),
        ("max_times", max_times, 1),
        ("max_copies", max_copies, 1),
        ("max_window", max_window, 1),
        ("max_size", max_size, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError("%s must be an int >= %d, got %r" % (name, low, value))
    if not max_delay > 0:
        raise ValueError("max_delay must be > 0, got %r" % (max_delay,))
    top_ms = max(1, int(round(max_delay * 1000)))
    ms = st.integers(1, top_ms).map(lambda n: n / 1000.0)
    common = {
        "skip": st.integers(0, max_skip),
        "times": st.integers(1, max_times),
        "match": st.just(match),
    }
    kinds: List[Any] = []
    if loss:
        kinds.append(st.builds(DropDatagram, **common))
    if duplication:
        kinds.append(
            st.builds(
                DuplicateDatagram,
                copies=st.integers(1, max_copies),
                gap=st.one_of(st.just(0.0), ms),
                **common,
            )
        )
    if reordering:
        kinds.append(
            st.builds(
                ReorderDatagrams,
                window=st.integers(1, max_window),
                hold=ms,
                **common,
            )
        )
    if delays:
        kinds.append(st.builds(DelayDatagram, seconds=ms, **common))
    if truncation:
        kinds.append(
            st.builds(TruncateDatagram, mtu=st.integers(0, max_size), **common)
        )
    if corruption:
        kinds.append(
            st.builds(
                CorruptDatagram,
                offset=st.integers(0, max_size),
                xor=st.integers(1, 255),
                **common,
            )
        )
    if not kinds:
        raise ValueError("datagram_faults() needs at least one kind of fault")
    return st.one_of(*kinds)


def datagram_fault_plans(
    *, max_rules: int = 3, **kinds: Any
) -> "st.SearchStrategy[FaultPlan]":
    """Fault plans of up to ``max_rules`` datagram rules and nothing else,
    shrinking toward ``FaultPlan()``; the other arguments are those of
    :func:`datagram_faults` (which kinds, their bounds, ``match``)."""
    if isinstance(max_rules, bool) or not isinstance(max_rules, int) or max_rules < 0:
        raise ValueError("max_rules must be an int >= 0, got %r" % (max_rules,))
    rules = st.lists(datagram_faults(**kinds), max_size=max_rules)
    return rules.map(lambda rs: FaultPlan(datagrams=tuple(rs)))
