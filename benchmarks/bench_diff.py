#!/usr/bin/env python3
"""What comparing traces costs, with and without normalization.

A trace of N events (the echo program of ``tests/data`` on fake_net, its
sends cut to a few bytes so that one run makes many events) is compared
with a copy of itself, identical but for the ephemeral ports, and then with
a copy whose last event differs:

* ``as recorded``      ``first_difference(a, a2)``, a2 the same trace read
                       back from its file (what ``check``, the golden
                       fixture and ``--twice`` do): the baseline;
* ``ports``            ``first_difference(..., Normalization(ports=True))``
                       (``diff`` of real recordings);
* ``ports + mask``     the same, with one ``--mask`` regex;
* ``report``           ``format_difference`` of a difference at the last
                       event (with ports), the diff ``diff`` prints.

Arms alternate in one process, --repeats times; the table gives the median
of each and its ratio to the baseline.

    python benchmarks/bench_diff.py             # ~10 s
    python benchmarks/bench_diff.py --quick     # a few seconds
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import runpy
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

import asyncore_sim as asyncore  # noqa: E402
from _common import fmt_ratio, median, print_table  # noqa: E402
from asyncore_sim.trace import Recorder, Trace, TraceEvent  # noqa: E402
from asyncore_sim.trace._compare import (  # noqa: E402
    Normalization,
    compile_mask,
    first_difference,
    format_difference,
)
from fake_net import FakeNetwork, PartialSend  # noqa: E402

clock = time.perf_counter


def _trace(size: int, ports: list) -> list:
    mod = runpy.run_path(os.path.join(ROOT, "tests", "data", "echo_program.py"))
    net = FakeNetwork(seed=1, ephemeral_ports=ports, faults=[PartialSend(max_bytes=5)])
    with Recorder(net) as rec, contextlib.redirect_stdout(io.StringIO()):
        server = mod["Server"]()
        mod["Client"](server.socket.getsockname(), b"x" * size)
        try:
            asyncore.loop(timeout=5)
        finally:
            asyncore.close_all()
    return rec.trace.events


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=0)
    ns = parser.parse_args()
    size = 4000 if ns.quick else 20000
    repeats = ns.repeats or (3 if ns.quick else 7)
    a = _trace(size, [40001, 40002])
    a2 = Trace.loads(Trace(a).dumps()).events
    b = _trace(size, [50001, 50002])
    last = b[-1]
    changed = b[:-1] + [TraceEvent(last.time, last.kind, last.fd, last.args + ("x",))]
    ports = Normalization(ports=True)
    masked = Normalization(ports=True, masks=(compile_mask(r'"x+"'),))
    diff = first_difference(a, changed, normalization=ports)
    assert diff is not None and diff.index == len(a) - 1
    assert first_difference(a, b, normalization=ports) is None
    assert first_difference(a, a2) is None

    arms = {
        "as recorded": lambda: first_difference(a, a2),
        "ports": lambda: first_difference(a, b, normalization=ports),
        "ports + mask": lambda: first_difference(a, b, normalization=masked),
        "report": lambda: format_difference(diff, a, changed, normalization=ports),
    }
    times = {name: [] for name in arms}
    for r in range(repeats):
        order = list(arms) if r % 2 == 0 else list(reversed(arms))
        for name in order:
            t0 = clock()
            arms[name]()
            times[name].append(clock() - t0)
    base = median(times["as recorded"])
    rows = []
    for name in arms:
        m = median(times[name])
        rows.append((name, "%.1f ms" % (m * 1e3), fmt_ratio(m / base)))
    print("%d events per trace, %d repeats (median)" % (len(a), repeats))
    print_table(("arm", "time", "vs as recorded"), rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
