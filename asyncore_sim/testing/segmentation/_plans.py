"""Where the interesting cuts are.

Spans of terminators and read-buffer boundaries, and the split plans built
from them (every cut for short streams, seeded samples for long ones).
"""

from __future__ import annotations

import random
from typing import (
    Any,
    Dict,
    Iterable,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
)

import attrs

from asyncore_sim.testing.segmentation._runner import _Run
from asyncore_sim.testing.segmentation._values import (
    _BUFFER_SINGLES,
    _MAX_SAMPLED_CUTS,
    _SINGLES_PER_KIND,
    Plan,
)



@attrs.frozen
class _Span:
    kind: str  # "terminator", "body" (counted) or "data"
    start: int
    end: int
    value: Any = None  # the terminator, or the call index for "data"


def _spans(stream: bytes, ref: _Run, terminators: Iterable[bytes]) -> List[_Span]:
    """The reference run's terminators, counted bodies and data, in order.

    Each call's data and terminator are matched against the stream where the
    previous call's ended; when they do not match (a handler that changes
    its data), the stream offset the recorder noted is used instead."""
    spans: List[_Span] = []
    pos = 0
    for i, (call, end) in enumerate(zip(ref.outcome.calls, ref.ends)):
        term, data = call.terminator, call.data
        if isinstance(term, int) and not isinstance(term, bool) and term > 0:
            start = pos if len(data) == term else end - term
            if stream[start : start + term] == data and start >= 0:
                spans.append(_Span("body", start, start + term, term))
                pos = start + term
            else:
                pos = end
            continue
        if isinstance(term, bytes) and term:
            if stream.startswith(data + term, pos):
                start = pos + len(data)
            elif stream[end - len(term) : end] == term:
                start = end - len(term)
            else:
                pos = end
                continue
            if pos < start:
                spans.append(_Span("data", pos, start, i))
            spans.append(_Span("terminator", start, start + len(term), term))
            pos = start + len(term)
        else:
            pos = end
    seen = {(s.start, s.value) for s in spans if s.kind == "terminator"}
    for term in terminators:
        at = stream.find(term)
        while at != -1:
            if (at, term) not in seen:
                spans.append(_Span("terminator", at, at + len(term), term))
            at = stream.find(term, at + 1)
    spans.sort(key=lambda s: (s.start, s.end))
    return spans


def _make_plans(
    n: int,
    exhaustive: bool,
    spans: Sequence[_Span],
    buffer_size: Optional[int],
    samples: int,
    seed: int,
) -> Tuple[List[Plan], Set[int]]:
    """Every plan to run, simplest (fewest cuts, then earliest) first."""
    valid = range(1, n)

    def clip(points: Iterable[int]) -> Plan:
        return tuple(sorted({p for p in points if 1 <= p < n}))

    # Per kind of target (a terminator value, counted bodies, buffer
    # boundaries): for each occurrence, the cuts at fixed offsets from it.
    groups: Dict[Any, List[List[int]]] = {}
    for s in spans:
        if s.kind == "terminator":
            offs = range(s.start - 1, s.end + 2)
            groups.setdefault(("terminator", s.value), []).append(list(offs))
        elif s.kind == "body":
            groups.setdefault(("body",), []).append(
                [s.start - 1, s.start, s.start + 1, s.end - 1, s.end, s.end + 1]
            )
    if buffer_size:
        groups[("buffer",)] = [
            [k - 1, k, k + 1] for k in range(buffer_size, n + 1, buffer_size)
        ]
    targeted: Set[int] = set()
    plans: Set[Plan] = set()
    for key, occurrences in groups.items():
        if not occurrences:
            continue
        for i, points in enumerate(occurrences):
            targeted.update(p for p in points if 1 <= p < n)
            limit = _BUFFER_SINGLES if key == ("buffer",) else _SINGLES_PER_KIND
            if exhaustive or i < limit:
                plans.update((p,) for p in points if 1 <= p < n)
        # The same relative cut at every occurrence at once.
        width = max(len(points) for points in occurrences)
        for j in range(width):
            plans.add(clip(points[j] for points in occurrences if j < len(points)))
    # Every targeted cut at once.
    plans.add(clip(targeted))
    if exhaustive:
        plans.update((p,) for p in valid)
        plans.add(tuple(valid))
    elif n > 2:
        rng = random.Random(seed)
        for i in range(samples):
            sampled = clip(_sample(rng, i, n, buffer_size))
            if len(sampled) > 1:
                plans.add(sampled)
    plans.discard(())
    return sorted(plans, key=lambda p: (len(p), p)), targeted


def _sample(
    rng: random.Random, i: int, n: int, buffer_size: Optional[int]
) -> List[int]:
    """A random multi-cut plan; the style rotates with ``i``."""
    style = i % 4
    if style == 0:  # a few cuts anywhere
        return rng.sample(range(1, n), min(n - 1, rng.randint(2, 4)))
    if style == 1:  # many cuts anywhere
        k = rng.randint(5, max(5, min(n - 1, _MAX_SAMPLED_CUTS)))
        return rng.sample(range(1, n), min(n - 1, k))
    if style == 2:  # a burst of tiny pieces somewhere
        pos = rng.randrange(1, n)
        end = min(n, pos + rng.randint(2, 64))
        cuts = []
        while pos < end:
            cuts.append(pos)
            pos += rng.randint(1, 3)
        return cuts
    # pieces of random sizes up to twice the read size, across the stream
    top = 2 * buffer_size if buffer_size else max(2, n // 8)
    top = max(top, n // _MAX_SAMPLED_CUTS + 1)
    cuts = []
    pos = rng.randint(1, top)
    while pos < n and len(cuts) < 4 * _MAX_SAMPLED_CUTS:
        cuts.append(pos)
        pos += rng.randint(1, top)
    return cuts
