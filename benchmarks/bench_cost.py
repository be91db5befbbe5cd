#!/usr/bin/env python3
"""The cost model's price: 4 KiB echo round trips on fake_net, side by side.

Variants, alternating inside each repeat (order rotated), warmed up once,
gc off while timing, medians over repeats, ratios paired per repeat:

* ``off``: ``FakeNetwork()`` (cost=None: the hot paths test one attribute);
* ``zero``: ``FakeNetwork(cost=Cost())``: every wait takes the long way
  (as with a wait rule), no time charged;
* ``on``: ``FakeNetwork(cost=Cost(wait=20e-6, send=5e-6, recv=5e-6))``.

Usage: ``python benchmarks/bench_cost.py [--quick]``.  Exits 0.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional

import asyncore_sim as asyncore
from fake_net import Cost, FakeNetwork

SIZE = 4096


def echo(cost: Optional[Cost], trips: int) -> float:
    net = FakeNetwork(cost=cost, record=False, world=False)
    m = net.map()
    a, b = net.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    msg = b"x" * SIZE
    state = {"got": 0, "left": trips}

    class Server(asyncore.dispatcher):
        def handle_read(self) -> None:
            data = self.recv(65536)
            if data:
                self.send(data)

        def writable(self) -> bool:
            return False

    class Client(asyncore.dispatcher):
        def handle_read(self) -> None:
            state["got"] += len(self.recv(65536))
            if state["got"] >= SIZE:
                state["got"] = 0
                state["left"] -= 1
                if state["left"] > 0:
                    self.send(msg)
                else:
                    self.close()

        def writable(self) -> bool:
            return False

    Server(sock=b, map=m)
    client = Client(sock=a, map=m)
    client.send(msg)
    t0 = time.perf_counter()
    while state["left"] > 0:
        asyncore.loop(timeout=1.0, map=m, count=1, use_poll=True)
    return time.perf_counter() - t0


def main(argv: List[str]) -> int:
    quick = "--quick" in argv
    trips, repeats = (500, 5) if quick else (2000, 9)
    variants: Dict[str, Callable[[], float]] = {
        "off": lambda: echo(None, trips),
        "zero": lambda: echo(Cost(), trips),
        "on": lambda: echo(Cost(wait=20e-6, send=5e-6, recv=5e-6), trips),
    }
    names = list(variants)
    for fn in variants.values():
        fn()  # warm up
    times: Dict[str, List[float]] = {n: [] for n in names}
    gc.disable()
    try:
        for r in range(repeats):
            order = names[r % len(names) :] + names[: r % len(names)]
            for n in order:
                times[n].append(variants[n]())
    finally:
        gc.enable()
    for n in names:
        med = statistics.median(times[n])
        print("%-5s %8.2f us per round trip" % (n, med / trips * 1e6))
    for n in ("zero", "on"):
        ratio = statistics.median(a / b for a, b in zip(times[n], times["off"]))
        print("%s / off: %.2fx" % (n, ratio))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
