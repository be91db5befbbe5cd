#!/usr/bin/env python3
"""Recorder benchmarks: what tracing a run costs, in time and in memory.

Three measurements (four with --instructions), in one process, on fake_net
(``FakeNetwork(record=False, world=False)``, so that only the Recorder's own
work differs between rows):

echo    Ping-pong of 4 KiB messages (the handler classes of ``_common``, as
        bench_fake.py, the client sending the next of 16 different lorem
        texts each time): M round trips (2000; 500 with --quick) in one
        ``loop()`` call, for each row:
          * ``untraced``: the network's own map;
          * ``traced``: under ``Recorder(net)``, events kept in memory (the
            default), the trace never read;
          * ``traced+save``: the same, then the trace saved inside the timed
            span (``rec.save(file)`` where the Recorder has it, else
            ``rec.trace.save(file)``): a run that keeps its trace pays this;
          * ``stream``: ``Recorder(net, stream=file)``, every event written to
            the file as it happens (completed by stop() inside the timed
            span);
          * ``keep=1000``: ``Recorder(net, keep=1000)``, a bounded recording.
        Rows that the Recorder under test does not offer print ``n/a`` (so
        the script also measures the code before those options existed).
        Rows alternate inside each repeat (the order rotates); ratios are
        medians of per-repeat paired ratios against ``untraced``.
        Target: ``stream`` and ``keep`` within 1.5x of untraced.

memory  Bytes newly held per round trip (tracemalloc: memory traced after
        the run minus before it, recorder still alive, divided by M), at two
        run lengths, for the same rows.  Constant memory shows as a figure
        that falls as M grows; a kept recording grows with M.

pairs   N = 250, 500, 1000 ``socketpair()`` calls then N*2 closes, through
        a Recorder and on the bare network: the descriptor bookkeeping's
        scaling (each pair opens two trace descriptors).

instructions  (``--instructions``, where valgrind is installed) instructions
        per round trip of each echo row, counted by callgrind (collecting
        only inside the run: it is called through itertools.starmap, and
        callgrind collects in starmap_next) at 100 and 600 round trips and
        differenced, so set-up and the row's finish cancel out: a figure the
        shared machine's noise cannot move.  It includes the one garbage
        collection that follows each run (the timed runs disable the
        collector; it runs when they end): what each round trip leaves
        alive, a kept record, is visited then, as a collection would in a
        run with the collector on.

Honesty rules as bench_fake.py: one factory makes every dispatcher; every
row is warmed up once; gc is collected before and disabled during each
timed run; medians over repeats.  The script exits 0 whatever the figures.

Run: ``python benchmarks/bench_recorder.py [--quick] [--repeats N]
[--rounds M] [--only echo|memory|pairs] [--instructions]``
"""

from __future__ import annotations

import argparse
import gc
import inspect
import os
import platform
import sys
import tempfile
import time
import tracemalloc

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    # Measure the working tree's package, installed or not.
    sys.path.insert(0, _ROOT)

import asyncore_sim  # noqa: E402
from asyncore_sim.trace import Recorder  # noqa: E402
from fake_net import FakeNetwork  # noqa: E402

from _common import (  # noqa: E402  (benchmarks/ is on sys.path when run)
    connect_echo,
    fmt_ratio,
    make_classes,
    median,
    print_table,
    rotated,
    timed_pings,
)

MSG_SIZE = 4096
KEEP = 1000
perf_counter = time.perf_counter
_LOREM = (b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do "
          b"eiusmod tempor incididunt ut labore et dolore magna aliqua.\n")
# Each round trip sends the next of 16 different texts (lines of lorem), so
# that no row gains from a payload it saw a few round trips before.
MESSAGES = [(b"%04d " % i + _LOREM * 40)[:MSG_SIZE] for i in range(16)]
CLASSES = dict(make_classes(asyncore_sim))


class _VaryingPing(CLASSES["PingClient"]):
    """The ping client of _common, sending the next of MESSAGES each time."""

    def ping(self):
        self.msg = MESSAGES[self.done % len(MESSAGES)]
        super().ping()


CLASSES["PingClient"] = _VaryingPing
_PARAMS = inspect.signature(Recorder).parameters
HAS_STREAM = "stream" in _PARAMS
HAS_KEEP = "keep" in _PARAMS

# (key, what); availability below.
ROWS = [
    ("untraced", "the network's own map"),
    ("traced", "Recorder(net), kept, never read"),
    ("traced+save", "Recorder(net), then rec.trace.save(file)"),
    ("stream", "Recorder(net, stream=file)"),
    ("keep=%d" % KEEP, "Recorder(net, keep=%d)" % KEEP),
]


def available(key):
    if key == "stream":
        return HAS_STREAM
    if key.startswith("keep="):
        return HAS_KEEP
    return True


def _network():
    return FakeNetwork(record=False, world=False, max_steps=1 << 40)


class _Run:
    """One echo connection for row ``key``: set up (untimed) on enter;
    ``finish()`` is what the row pays after its last round trip."""

    def __init__(self, key, rounds, tmpdir):
        self.key = key
        self.rounds = rounds
        self.path = os.path.join(tmpdir, "run.trace")
        self.net = _network()
        self.rec = None
        self.stopped = False

    def __enter__(self):
        key = self.key
        if key == "untraced":
            self.map = self.net.map()
        else:
            if key == "stream":
                self.rec = Recorder(self.net, stream=self.path)
            elif key.startswith("keep="):
                self.rec = Recorder(self.net, keep=int(key[5:]))
            else:
                self.rec = Recorder(self.net)
            self.rec.start()
            self.map = self.rec.map()
        self.client = connect_echo(
            asyncore_sim, CLASSES, self.map, MESSAGES[0], self.rounds,
            False, key)
        return self

    def pings(self, counter=None):
        return timed_pings(asyncore_sim, self.client, self.map, False,
                           self.rounds, self.key, counter)

    def finish(self):
        """Inside the timed span: what the row does once the run is over
        (stopping a streaming recorder completes its file)."""
        if self.rec is not None:
            self.rec.stop()
            self.stopped = True
        if self.key == "traced+save":
            save = getattr(self.rec, "save", None)
            if save is not None:
                save(self.path)  # the Recorder's own writer, where it has one
            else:
                self.rec.trace.save(self.path)

    def __exit__(self, *exc):
        asyncore_sim.close_all(map=self.map)
        if self.rec is not None and not self.stopped:
            self.rec.stop()


def echo_once(key, rounds, tmpdir):
    """Seconds for ``rounds`` round trips of row ``key`` (plus its finish)."""
    gc.collect()
    with _Run(key, rounds, tmpdir) as run:
        seconds, _ = run.pings()
        gc.disable()
        try:
            t0 = perf_counter()
            run.finish()
            seconds += perf_counter() - t0
        finally:
            gc.enable()
    return seconds


def bench_echo(rounds, repeats, tmpdir):
    keys = [k for k, _ in ROWS if available(k)]
    print()
    print("=" * 78)
    print("(a) Echo ping-pong on fake_net: %d round trips of %d bytes, %d repeats"
          % (rounds, MSG_SIZE, repeats))
    print("=" * 78)
    for k in keys:
        echo_once(k, max(50, rounds // 5), tmpdir)
    times = {k: [] for k in keys}
    for r in range(repeats):
        for k in rotated(keys, r):
            times[k].append(echo_once(k, rounds, tmpdir))
    base = times["untraced"]
    rows = []
    for key, what in ROWS:
        if key not in times:
            rows.append([key, what, "n/a", "n/a", "n/a"])
            continue
        ts = times[key]
        rows.append([
            key, what,
            "%.2f" % (median(ts) / rounds * 1e6),
            "%.2f-%.2f" % (min(ts) / rounds * 1e6, max(ts) / rounds * 1e6),
            fmt_ratio(median([t / b for t, b in zip(ts, base)])),
        ])
    print_table(["row", "what", "us/rt", "us/rt (min-max)", "/untraced"],
                rows, ["<", "<", ">", ">", ">"])
    print()
    print("Targets (paired ratios, time / untraced time):")
    for key in ("stream", "keep=%d" % KEEP, "traced"):
        if key not in times:
            print("  %-11s within 1.5x: n/a (this Recorder has no such option)"
                  % key)
            continue
        x = median([t / b for t, b in zip(times[key], base)])
        print("  %-11s within 1.5x: %.2f  %s"
              % (key, x, "PASS" if x <= 1.5 else "FAIL"))


def memory_once(key, rounds, tmpdir):
    """Bytes newly held after ``rounds`` round trips of row ``key``."""
    gc.collect()
    with _Run(key, rounds, tmpdir) as run:
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            run.pings()
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    return after - before


def bench_memory(rounds_list, tmpdir):
    print()
    print("=" * 78)
    print("(b) Memory newly held per round trip (tracemalloc), recorder alive")
    print("=" * 78)
    rows = []
    for key, _what in ROWS:
        if not available(key):
            rows.append([key] + ["n/a"] * (2 * len(rounds_list)))
            continue
        cells = [key]
        for rounds in rounds_list:
            b = memory_once(key, rounds, tmpdir)
            cells += ["%.0f" % (b / rounds), "%.2f" % (b / 1e6)]
        rows.append(cells)
    headers = ["row"]
    for rounds in rounds_list:
        headers += ["B/rt @%d" % rounds, "MB @%d" % rounds]
    print_table(headers, rows)


def pairs_once(traced, n):
    """Seconds for ``n`` socketpair() calls and then their 2n closes."""
    net = _network()
    rec = Recorder(net) if traced else None
    target = rec if traced else net
    gc.collect()
    gc.disable()
    try:
        t0 = perf_counter()
        pairs = [target.socketpair() for _ in range(n)]
        t1 = perf_counter()
        for a, b in pairs:
            a.close()
            b.close()
        t2 = perf_counter()
    finally:
        gc.enable()
    return t1 - t0, t2 - t1


def bench_pairs(ns, repeats):
    print()
    print("=" * 78)
    print("(c) N socketpair() calls, then their 2N closes (seconds, median of %d)"
          % repeats)
    print("=" * 78)
    rows = []
    for n in ns:
        res = {}
        for traced in (False, True):
            runs = [pairs_once(traced, n) for _ in range(repeats)]
            res[traced] = (median([r[0] for r in runs]),
                           median([r[1] for r in runs]))
        rows.append([
            str(n),
            "%.4f" % res[False][0], "%.4f" % res[False][1],
            "%.4f" % res[True][0], "%.4f" % res[True][1],
            fmt_ratio(sum(res[True]) / sum(res[False])),
        ])
    print_table(["N", "untraced open", "untraced close", "traced open",
                 "traced close", "traced/untraced"], rows)


def callgrind_row(key, rounds, tmpdir):
    """One run of ``key``, for counting instructions (see instructions()):
    the round trips (and the row's finish) run inside itertools.starmap's
    next(), the one C function callgrind collects in."""
    import itertools

    with _Run(key, rounds, tmpdir) as run:
        def measured():
            run.pings()
            run.finish()

        for _ in itertools.starmap(measured, [()]):
            pass


def instructions(keys, r1, r2):
    """Instructions per round trip of each row, by callgrind: the run at
    two lengths, differenced (set-up and the row's finish cancel)."""
    import shutil
    import subprocess

    print()
    print("=" * 78)
    print("(d) Instructions per round trip (valgrind --tool=callgrind; "
          "runs of %d and %d round trips, differenced)" % (r1, r2))
    print("=" * 78)
    if shutil.which("valgrind") is None:
        print("SKIPPED: valgrind is not installed (apt-get install valgrind)")
        return
    counts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key in keys:
            total = []
            for rounds in (r1, r2):
                out = os.path.join(tmp, "cg.out")
                proc = subprocess.run(
                    ["valgrind", "--tool=callgrind", "--collect-atstart=no",
                     "--toggle-collect=starmap_next",
                     "--callgrind-out-file=" + out,
                     sys.executable, os.path.abspath(__file__),
                     "--callgrind-row", key, "--rounds", str(rounds)],
                    capture_output=True, text=True, timeout=900,
                    env=dict(os.environ, PYTHONHASHSEED="0"))
                found = [line for line in proc.stderr.splitlines()
                         if "Collected :" in line]
                if proc.returncode != 0 or not found:
                    raise RuntimeError("callgrind run failed:\n" + proc.stderr[-2000:])
                total.append(int(found[-1].split(":")[1].strip()))
            counts[key] = (total[1] - total[0]) / (r2 - r1)
    base = counts.get("untraced")
    rows = [[key, "%.0fk" % (n / 1000),
             fmt_ratio(n / base) if base else "-"] for key, n in counts.items()]
    print_table(["row", "instructions/rt", "/untraced"], rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="a smoke run")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--only", choices=["echo", "memory", "pairs"])
    p.add_argument("--pairs", default=None,
                   help="comma-separated N for (c) (default 250,500,1000)")
    p.add_argument("--callgrind-row", choices=[k for k, _ in ROWS],
                   help="run that row once and exit (what --instructions runs)")
    p.add_argument("--instructions", action="store_true",
                   help="also count instructions per round trip by callgrind "
                   "(slow: about 15 s a row)")
    ns = p.parse_args(argv)
    rounds = ns.rounds or (500 if ns.quick else 2000)
    repeats = ns.repeats or (3 if ns.quick else 7)
    pair_ns = [int(x) for x in (ns.pairs or "250,500,1000").split(",")]
    with tempfile.TemporaryDirectory() as tmpdir:
        if ns.callgrind_row:
            callgrind_row(ns.callgrind_row, rounds, tmpdir)
            return 0
        print("Python %s, %s; Recorder options: stream=%s keep=%s"
              % (platform.python_version(), platform.machine(),
                 HAS_STREAM, HAS_KEEP))
        if ns.only in (None, "echo"):
            bench_echo(rounds, repeats, tmpdir)
        if ns.only in (None, "memory"):
            small = 250 if ns.quick else 500
            bench_memory([small, 4 * small], tmpdir)
        if ns.only in (None, "pairs"):
            bench_pairs(pair_ns, 1 if ns.quick else 3)
        if ns.instructions:
            instructions([k for k, _ in ROWS if available(k)], 100, 600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
