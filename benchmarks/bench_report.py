#!/usr/bin/env python3
"""What the report of a failing simulated test costs (target: under 100 ms).

The workload: an echo of --bytes bytes through a server whose every send is
cut to --cut bytes (a PartialSend rule), under a plan of two cuts and a
reset that never fires, so every run leaves a few thousand trace events and
an unfired fault to describe.

``in process``: for each of --sizes, the pieces of the report, each timed
alone, side by side with the run that precedes them:

* ``run``          the failing run itself (simulate(), recorded);
* ``report``       the plugin's ``asyncore-sim`` section for it: the plan in
                   words, the trace built and written, the command, the
                   unfired faults;
* ``unfired``      ``sim.unfired`` alone;
* ``determinism``  the report of a failed determinism check: two traces
                   compared (they differ at the last event: the whole trace
                   is scanned) and both written out.

``pytest``: --tests failing tests of that workload in one pytest process,
with the plugin (the report is built) and without it (``-p no:asyncore_sim``:
pytest's own report only), alternating, --repeats times; the extra cost of
the plugin's report per failing test is (with - without) / --tests.

    python benchmarks/bench_report.py            # ~30 s
    python benchmarks/bench_report.py --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

import asyncore_sim  # noqa: E402
from _common import fmt_ratio, fmt_us, median, print_table  # noqa: E402
from asyncore_sim.testing import _pytest_checks, pytest_plugin, simulate  # noqa: E402

clock = time.perf_counter

WORKLOAD = '''
import asyncore_sim
from asyncore_sim.testing import simulate
from fake_net import FaultPlan, Match, PartialSend

BYTES, CUT = {nbytes}, {cut}


class Echo(asyncore_sim.dispatcher_with_send):
    def handle_read(self):
        data = self.recv(4096)
        if data:
            self.send(data)


class Server(asyncore_sim.dispatcher):
    def __init__(self):
        super().__init__()
        self.create_socket()
        self.bind(("127.0.0.1", 7000))
        self.listen(1)

    def handle_accepted(self, sock, addr):
        Echo(sock)


class Client(asyncore_sim.dispatcher_with_send):
    def __init__(self):
        super().__init__()
        self.got = b""
        self.create_socket()
        self.connect(("127.0.0.1", 7000))
        self.send(b"m" * BYTES)

    def handle_connect(self):
        pass

    def handle_read(self):
        self.got += self.recv(4096)


# Two cuts, then a reset far past the end of the exchange: it never fires.
PLAN = FaultPlan(sends=(3, None, 5), end=("reset", 10 * BYTES))


def run():
    with simulate(PLAN, seed=1) as sim:
        sim.net.add_fault(PartialSend(max_bytes=CUT, match=Match(side="server")))
        Server()
        client = Client()
        sim.run(until=lambda: len(client.got) >= BYTES)
    return sim, client
'''

TEST = '''
from workload import run


def test_fails_{i}():
    sim, client = run()
    assert len(client.got) == -1, "fails on purpose"
'''


def workload_module(nbytes: int, cut: int) -> types.ModuleType:
    mod = types.ModuleType("workload")
    exec(WORKLOAD.format(nbytes=nbytes, cut=cut), mod.__dict__)
    return mod


class _Config:
    def __init__(self, root: str) -> None:
        self.rootpath = root

    def getoption(self, name: str) -> object:
        return None


def fake_item(root: str) -> object:
    """The attributes of a pytest item the report reads."""
    return types.SimpleNamespace(
        config=_Config(root),
        nodeid="test_report.py::test_fails",
        path=os.path.join(root, "test_report.py"),
        name="test_fails",
        originalname="test_fails",
    )


def in_process(args: argparse.Namespace, root: str) -> None:
    item = fake_item(root)
    rows = []
    for nbytes in args.sizes:
        mod = workload_module(nbytes, args.cut)
        runs, reports, unfired, determinism = [], [], [], []
        events = 0
        for _ in range(args.repeats):
            start = clock()
            sim, client = mod.run()
            runs.append(clock() - start)
            # Timed first: the report also builds the trace's events (the
            # recorder keeps them compact until the trace is read).
            start = clock()
            pytest_plugin._failure_lines(item, sim, False)
            reports.append(clock() - start)
            events = len(sim.trace.events)
            start = clock()
            assert sim.unfired
            unfired.append(clock() - start)
            other = sim.trace.events[:-1]  # differs at the last event
            second = type(sim.trace)(other, dict(sim.trace.header))
            start = clock()
            text = _pytest_checks._difference(
                item,
                [("seed 1", sim.trace, None)],
                [("seed 1", second, None)],
                lambda it: os.path.join(root, "d.trace"),
            )
            determinism.append(clock() - start)
            assert text and "traces: " in text
        run = median(runs)
        for name, xs in (
            ("run (%d B echoed, %d events)" % (nbytes, events), runs),
            ("  report (asyncore-sim section)", reports),
            ("    of which unfired faults", unfired),
            ("  determinism difference report", determinism),
        ):
            m = median(xs)
            verdict = "" if xs is runs else ("PASS" if m < 0.1 else "FAIL")
            rows.append(
                [name, fmt_us(m), fmt_ratio(m / run), "%.1f" % (1e6 * m / events),
                 verdict]
            )
    print_table(
        ["in process (median of %d)" % args.repeats, "µs", "/ run", "µs/event",
         "< 100 ms"],
        rows,
    )


def pytest_side_by_side(args: argparse.Namespace, root: str) -> None:
    with open(os.path.join(root, "workload.py"), "w") as f:
        f.write(WORKLOAD.format(nbytes=args.bytes, cut=args.cut))
    with open(os.path.join(root, "test_report.py"), "w") as f:
        f.write("".join(TEST.format(i=i) for i in range(args.tests)))

    def once(plugin: bool) -> float:
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "test_report.py"]
        if not plugin:
            argv += ["-p", "no:asyncore_sim"]
        start = clock()
        r = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=600)
        took = clock() - start
        assert "%d failed" % args.tests in r.stdout, r.stdout[-2000:]
        assert ("- asyncore-sim -" in r.stdout) == plugin, r.stdout[-2000:]
        return took

    times = {True: [], False: []}
    for i in range(args.repeats):
        for plugin in ((True, False) if i % 2 == 0 else (False, True)):
            times[plugin].append(once(plugin))
    with_, without = median(times[True]), median(times[False])
    extra = (with_ - without) / args.tests
    print_table(
        ["pytest, %d failing tests (median of %d)" % (args.tests, args.repeats),
         "s", "with / without", "per failing test"],
        [
            ["with the plugin's report", "%.2f" % with_, fmt_ratio(with_ / without),
             "%s extra: %s (< 100 ms)" % (fmt_us(extra),
                                           "PASS" if extra < 0.1 else "FAIL")],
            ["without (-p no:asyncore_sim)", "%.2f" % without, fmt_ratio(1.0), ""],
        ],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=lambda t: [int(x) for x in t.split(",")],
        default=[1000, 4000, 20000],
        help="bytes echoed, one in-process row each (default 1000,4000,20000)",
    )
    parser.add_argument("--bytes", type=int, default=4000, help="for the pytest rows")
    parser.add_argument("--cut", type=int, default=7)
    parser.add_argument("--tests", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.tests, args.repeats = [1000, 4000], 5, 2
    version = sys.version.split()[0]
    print("python %s, asyncore_sim %s" % (version, asyncore_sim.__file__))
    assert simulate  # the toolkit under test
    with tempfile.TemporaryDirectory(prefix="bench-report-") as root:
        print()
        in_process(args, root)
        print()
        pytest_side_by_side(args, root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
