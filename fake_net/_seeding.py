"""Hypothesis and the networks' random sources: one registration per process.

A network made outside a running Hypothesis example (at module level, or in
a fixture that examples reuse) draws from its own ``random.Random``; for
each example to be reproducible, Hypothesis must seed that source before the
example and restore it afterwards, as it does for every Random handed to
``hypothesis.register_random``.  Registering runs a full ``gc.collect()``
(10-25 ms in a test process), so registering each network would tax every
test that makes one.  Instead the process registers one object,
:data:`NETWORK_RANDOMS`, the first time a network needs it; Hypothesis's
``seed``/``getstate``/``setstate`` calls on it go to every live network's
source, in the order the networks were made.

Rules: networks are kept in a list of weak references, in creation order
(never a set); a network made inside an example is not added (its explicit
seed fixes it already).
"""

from __future__ import annotations

import random
import sys
import weakref
from typing import Any, List, Optional, Tuple

__all__ = ["NETWORK_RANDOMS", "register_network_random"]


class _NetworkRandoms:
    """What Hypothesis manages in place of each network's Random."""

    def __init__(self) -> None:
        self._refs: List["weakref.ref[random.Random]"] = []
        self.registered = False

    def __repr__(self) -> str:
        return "<the random sources of %d fake_net network(s)>" % len(self._live())

    def _live(self) -> List[random.Random]:
        live = [r for r in (ref() for ref in self._refs) if r is not None]
        if len(live) < len(self._refs):
            self._refs = [weakref.ref(r) for r in live]
        return live

    def add(self, rng: random.Random) -> None:
        self._live()  # drop the sources of networks that are gone
        self._refs.append(weakref.ref(rng))

    # -- what Hypothesis calls (the random.Random interface it needs) ----------

    def seed(self, a: Any = None) -> None:
        for rng in self._live():
            rng.seed(a)

    def getstate(self) -> List[Tuple["weakref.ref[random.Random]", Any]]:
        return [(weakref.ref(rng), rng.getstate()) for rng in self._live()]

    def setstate(self, state: List[Tuple["weakref.ref[random.Random]", Any]]) -> None:
        for ref, saved in state:
            rng: Optional[random.Random] = ref()
            if rng is not None:
                rng.setstate(saved)


#: The one object registered with Hypothesis for every network's source.
NETWORK_RANDOMS = _NetworkRandoms()


def register_network_random(rng: random.Random) -> None:
    """Let Hypothesis seed and restore ``rng`` around each example (a no-op
    without Hypothesis, or inside an example)."""
    hypothesis = sys.modules.get("hypothesis")
    if hypothesis is None:
        return
    in_example = getattr(hypothesis, "currently_in_test_context", None)
    if in_example is not None and in_example():
        return
    NETWORK_RANDOMS.add(rng)
    if not NETWORK_RANDOMS.registered:
        hypothesis.register_random(NETWORK_RANDOMS)
        NETWORK_RANDOMS.registered = True
