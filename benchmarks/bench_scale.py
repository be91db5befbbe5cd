#!/usr/bin/env python3
"""Scale: many simulated connections at once, and many idle ones.

pingpong  N = 100, 1,000, 10,000 connected fake socketpairs
          (``net.socketpair()``) in one map of one ``FakeNetwork``: one end
          of each is an echo dispatcher (``send(recv(65536))``), the other a
          ping dispatcher that sends a 64-byte message, waits for all of it
          to come back and sends again, 10 times (--rounds).  Set-up is
          untimed; the timed part is every ping dispatcher's first send and
          one ``loop(timeout=1.0, count=...)`` call until all N have done
          their rounds (the last raises ExitNow).  A *message* is one ping or
          one pong: 2 x N x rounds of them.  Reported: us per message at each
          N (the target: flat in N), for ``use_poll=True`` (poll) and
          ``'epoll'`` on the default network (event log on, bounded), poll
          with ``record=False``, and select where every descriptor is below
          FD_SETSIZE (N = 100 only).
idle      One ``loop(timeout=0)`` iteration over N = 10,000 idle simulated
          channels, against the bare floor ``for o in objs: o.readable();
          o.writable()`` over the same dispatcher objects.  TCP: one end of
          each of N socketpairs in the map, the peer kept open outside it.
          UDP: N datagram sockets bound to 127.0.0.1, nothing sent.
          total/K (K sized for ~0.2 s), and the steady state (T(K) - T(1)) /
          (K - 1), each as a paired ratio to the floor.  Targets: TCP within
          1.2x of the floor, UDP within 1.5x (issues 17 and 15).

Method as bench_core.py/bench_fake.py: variants alternate inside each repeat
and the order rotates; gc is collected before and disabled during every
timed run; results are medians over repeats and ratios medians of per-repeat
paired ratios.  Each ping-pong measurement gets a fresh network (its set-up
untimed).  The script exits 0 unless the benchmark itself broke.

``--callgrind`` (valgrind): instructions per operation of each workload
(one idle iteration, one floor pass, one ping-pong round of all N
connections = 2N messages), counted as ``_common.callgrind_report`` does;
stable on a loaded machine, unlike times.  ``--compare BEFORE AFTER`` runs
this script on two source trees, alternating, and prints each figure side
by side (``_trees.py``); ``BENCH_TREE=PATH`` measures one other tree.

Run: ``python benchmarks/bench_scale.py [--quick] [--repeats N] [--only
pingpong|idle] [--callgrind] [--compare BEFORE AFTER [--rounds R]]``
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shlex
import socket
import sys
import time

from _trees import compare_trees, use_tree, write_json  # (benchmarks/ is on sys.path)

_ROOT = use_tree(__file__)

import asyncore_sim  # noqa: E402
from fake_net import FakeNetwork  # noqa: E402

from _common import (  # noqa: E402
    callgrind_main,
    callgrind_report,
    fmt_ratio,
    floor_loop,
    fmt_us,
    make_classes,
    measure_iterations,
    median,
    print_table,
    rotated,
    time_idle,
)

perf_counter = time.perf_counter
MSG = b"p" * 64
PP_NS = [100, 1000, 10000]
IDLE_N = 10000
FD_SETSIZE = 1024
# (key, use_poll, record)
PP_VARIANTS = [
    ("select", False, True),
    ("poll", True, True),
    ("epoll", "epoll", True),
    ("poll norec", True, False),
]
IDLE_VARIANTS = [("floor", None), ("poll", True), ("epoll", "epoll")]
IDLE_TARGET = {"tcp": 1.2, "udp": 1.5}
IdleChannel = make_classes(asyncore_sim)["IdleChannel"]


def big_network(record=True):
    # Every zero-timeout wait that finds nothing counts toward the step and
    # idle budgets, which (rightly) stop a test that makes no progress.
    return FakeNetwork(record=record, max_steps=1 << 62, idle_limit=1 << 62)


# ---------------------------------------------------------------------------
# Ping-pong on N connections
# ---------------------------------------------------------------------------


class Echo(asyncore_sim.dispatcher):
    def readable(self):
        return True

    def writable(self):
        return False

    def handle_read(self):
        data = self.recv(65536)
        if data and self.send(data) != len(data):
            raise RuntimeError("short echo send")  # the message fits the buffer


class Pinger(asyncore_sim.dispatcher):
    """Sends MSG, waits for it to come back, until ``target`` round trips."""

    def __init__(self, sock, map, team):
        asyncore_sim.dispatcher.__init__(self, sock, map)
        self.team = team
        self.got = 0
        self.done = 0

    def readable(self):
        return True

    def writable(self):
        return False

    def ping(self):
        if self.send(MSG) != len(MSG):
            raise RuntimeError("short ping send")

    def handle_read(self):
        self.got += len(self.recv(65536))
        if self.got < len(MSG):
            return
        self.got = 0
        self.done += 1
        team = self.team
        if self.done < team.target:
            self.ping()
            return
        team.finished += 1
        if team.finished == team.size:
            raise asyncore_sim.ExitNow("done")


class Team:
    """N ping-pong pairs on one map; ``play(rounds)`` runs ``rounds`` more
    round trips on every connection."""

    def __init__(self, n, use_poll, record):
        self.net = big_network(record)
        self.map = self.net.map()
        self.use_poll = use_poll
        self.size = n
        self.target = 0
        self.finished = 0
        self.pingers = []
        for _ in range(n):
            a, b = self.net.socketpair()
            Echo(b, self.map)
            self.pingers.append(Pinger(a, self.map, self))

    def play(self, rounds):
        self.target += rounds
        self.finished = 0
        for p in self.pingers:
            p.ping()
        try:
            asyncore_sim.loop(timeout=1.0, use_poll=self.use_poll, map=self.map,
                              count=4 * rounds + 100)
        except asyncore_sim.ExitNow:
            pass
        if self.finished != self.size:
            raise RuntimeError("ping-pong incomplete: %d of %d connections"
                               % (self.finished, self.size))

    def close(self):
        asyncore_sim.close_all(self.map)


def timed_play(n, variant, rounds):
    _, use_poll, record = variant
    team = Team(n, use_poll, record)
    try:
        gc.collect()
        gc.disable()
        try:
            t0 = perf_counter()
            team.play(rounds)
            t1 = perf_counter()
        finally:
            gc.enable()
    finally:
        team.close()
    return (t1 - t0) / (2 * n * rounds)


def pp_variants(n):
    # select() takes no descriptor >= FD_SETSIZE, on fake_net as on Linux.
    return [v for v in PP_VARIANTS if v[0] != "select" or 2 * n + 3 < FD_SETSIZE]


def bench_pingpong(ns, rounds, repeats, figures):
    print()
    print("(a) ping-pong: N connections x %d round trips of %d bytes, one map; "
          "%d repeats" % (rounds, len(MSG), repeats))
    res = {}
    for n in ns:
        variants = pp_variants(n)
        for v in variants:
            timed_play(n, v, 1)  # warm-up
        res[n] = {v[0]: [] for v in variants}
        for r in range(repeats):
            for v in rotated(variants, r):
                res[n][v[0]].append(timed_play(n, v, rounds))
        sys.stdout.write("  N=%d done\n" % n)
        sys.stdout.flush()
    keys = [v[0] for v in PP_VARIANTS]
    print()
    print("us per message (median, min-max over repeats):")
    rows = []
    for n in ns:
        row = [str(n)]
        for k in keys:
            xs = res[n].get(k)
            row.append("n/a (FD_SETSIZE)" if xs is None else "%s (%s-%s)" % (
                fmt_us(median(xs)), fmt_us(min(xs)), fmt_us(max(xs))))
            if xs is not None:
                figures["pingpong N=%d %s us/msg" % (n, k)] = median(xs) * 1e6
        rows.append(row)
    print_table(["N"] + keys, rows)
    lo = min(ns)
    print()
    print("Flat in N: us per message at N / at N=%d (medians):" % lo)
    rows = []
    for n in ns:
        rows.append([str(n)] + [
            fmt_ratio(median(res[n][k]) / median(res[lo][k]))
            if k in res[n] and k in res[lo] else "-" for k in keys])
    print_table(["N"] + keys, rows)


# ---------------------------------------------------------------------------
# One idle iteration at N channels
# ---------------------------------------------------------------------------


def idle_map(kind, n):
    """A network and a map of ``n`` idle channels; returns (net, map, keep)."""
    net = big_network()
    m = net.map()
    keep = []
    for _ in range(n):
        if kind == "tcp":
            a, b = net.socketpair()
            keep.append(b)  # kept open, not in the map: nothing changes
        else:
            a = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
            a.bind(("127.0.0.1", 0))
        IdleChannel(a, m)
    return net, m, keep


def close_idle(m, keep):
    asyncore_sim.close_all(map=m)
    for b in keep:
        b.close()


def bench_idle(n, repeats, target, figures):
    print()
    print("(b) one loop(timeout=0) iteration at N=%d idle channels, against "
          "the floor; %d repeats, ~%.2f s per measurement" % (n, repeats, target))
    rows = []
    verdicts = []
    for kind in ("tcp", "udp"):
        net, m, keep = idle_map(kind, n)
        objs = list(m.values())
        IdleChannel.woke = 0
        try:
            res = measure_iterations(
                IDLE_VARIANTS,
                lambda v, k, m=m, objs=objs: time_idle(asyncore_sim, v[1], m, objs, k),
                lambda v: v[1] is not None,
                repeats,
                target,
            )
        finally:
            close_idle(m, keep)
        if IdleChannel.woke:
            raise RuntimeError("idle channels were read: not an idle benchmark")
        for key in ("poll", "epoll"):
            total = median([a / b for a, b in zip(res[key], res["floor"])])
            steady = median([a / b for a, b in
                             zip(res["steady"][key], res["floor"])])
            figures["idle %s N=%d %s / floor" % (kind, n, key)] = total
            figures["idle %s N=%d %s steady / floor" % (kind, n, key)] = steady
            rows.append([kind, key, fmt_us(median(res["floor"])),
                         fmt_us(median(res[key])),
                         fmt_us(median(res["steady"][key])),
                         fmt_ratio(total), fmt_ratio(steady),
                         str(res["_k"][key])])
            verdicts.append((kind, key, total, steady))
    print_table(["kind", "method", "floor us", "total/K us", "steady us",
                 "total/floor", "steady/floor", "K"], rows)
    print()
    for kind, key, total, steady in verdicts:
        goal = IDLE_TARGET[kind]
        print("  idle %s %-5s at N=%d within %.1fx of the floor: %.3f  %s  "
              "(steady state %.3f)" % (kind, key, n, goal, total,
                                       "PASS" if total <= goal else "FAIL",
                                       steady))


# ---------------------------------------------------------------------------
# Instructions, under callgrind
# ---------------------------------------------------------------------------


def _idle_workload(kind, use_poll, n=IDLE_N):
    def factory():
        net, m, keep = idle_map(kind, n)
        objs = list(m.values())
        if use_poll is None:
            def run(k):
                floor_loop(objs, k)
        else:
            def run(k):
                asyncore_sim.loop(timeout=0, use_poll=use_poll, map=m, count=k)
        run.warmup = 3
        return run, lambda: close_idle(m, keep)
    return factory


def _pp_workload(n, use_poll, record=True):
    def factory():
        team = Team(n, use_poll, record)

        def play(k):  # a function, to carry the warm-up count
            team.play(k)
        play.warmup = 1
        return play, team.close
    return factory


WORKLOADS = {}
for _kind in ("tcp", "udp"):
    WORKLOADS["idle %s floor" % _kind] = _idle_workload(_kind, None)
    WORKLOADS["idle %s poll" % _kind] = _idle_workload(_kind, True)
    WORKLOADS["idle %s epoll" % _kind] = _idle_workload(_kind, "epoll")
for _n in PP_NS:
    WORKLOADS["pingpong N=%d poll" % _n] = _pp_workload(_n, True)
    WORKLOADS["pingpong N=%d epoll" % _n] = _pp_workload(_n, "epoll")
    WORKLOADS["pingpong N=%d poll norec" % _n] = _pp_workload(_n, True, False)
CG_ROWS = []
for _kind in ("tcp", "udp"):
    CG_ROWS += [("idle %s floor" % _kind, None),
                ("idle %s poll" % _kind, "idle %s floor" % _kind),
                ("idle %s epoll" % _kind, "idle %s floor" % _kind)]
for _n in PP_NS:
    for _m in ("poll", "epoll", "poll norec"):
        # Per round, so no ratio across N here: see the per-message table.
        CG_ROWS.append(("pingpong N=%d %s" % (_n, _m), None))


def cg_ops(name):
    if name.startswith("idle"):
        return 10
    n = int(name.split()[1][2:])
    return max(2, 2000 // n)  # rounds of all N connections


def bench_callgrind(figures):
    print()
    print("(c) instructions per operation (valgrind --tool=callgrind): one "
          "idle iteration at N=%d," % IDLE_N)
    print("    one floor pass, one ping-pong round of all N connections (2N "
          "messages)")
    # One timed repeat: the times here only place the counts (the timed
    # benchmarks above are the ones with repeats and paired ratios).
    res = callgrind_report(os.path.abspath(__file__), WORKLOADS, CG_ROWS,
                           cg_ops, repeats=1)
    print()
    print("Per message (ping-pong rows: per round / 2N):")
    rows = []
    for name, _ in CG_ROWS:
        if not name.startswith("pingpong"):
            continue
        n = int(name.split()[1][2:])
        t, ir = res[name]
        rows.append([name, fmt_us(t / (2 * n)),
                     "skipped" if ir is None else "%.0f" % (ir / (2 * n))])
        if ir is not None:
            figures["cg %s instr/msg" % name] = ir / (2 * n)
    print_table(["workload", "us/msg", "instr/msg"], rows)
    for kind in ("tcp", "udp"):
        floor = res["idle %s floor" % kind][1]
        for key in ("poll", "epoll"):
            ir = res["idle %s %s" % (kind, key)][1]
            if ir is not None and floor:
                figures["cg idle %s %s / floor (instr)" % (kind, key)] = ir / floor


def main(argv=None):
    if callgrind_main(WORKLOADS, sys.argv[1:] if argv is None else argv):
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fast smoke run")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed repeats per variant (default 5, 2 with --quick)")
    p.add_argument("--rounds", type=int, default=10,
                   help="ping-pong round trips per connection (default 10); "
                        "with --compare: runs per tree (default 3)")
    p.add_argument("--only", choices=["pingpong", "idle"], default=None)
    p.add_argument("--ns", default=None,
                   help="ping-pong connection counts, comma-separated "
                        "(default 100,1000,10000)")
    p.add_argument("--idle-n", type=int, default=IDLE_N,
                   help="idle channels (default %d)" % IDLE_N)
    p.add_argument("--callgrind", action="store_true",
                   help="instructions per operation under valgrind (only that)")
    p.add_argument("--json", metavar="PATH", help="also write the figures here")
    p.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"),
                   help="run on two source trees, alternating (see _trees.py)")
    args = p.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 5)
    try:
        ns = [int(x) for x in args.ns.split(",")] if args.ns else PP_NS
    except ValueError:
        p.error("--ns: expected comma-separated integers, got %r" % args.ns)
    if repeats < 1 or args.rounds < 1 or args.idle_n < 1 or min(ns) < 1:
        p.error("--repeats, --rounds, --ns and --idle-n must be at least 1")
    if args.compare:
        child = ["--repeats", str(repeats)]
        if args.quick:
            child.append("--quick")
        if args.only:
            child += ["--only", args.only]
        if args.ns:
            child += ["--ns", args.ns]
        child += ["--idle-n", str(args.idle_n)]
        if args.callgrind:
            child.append("--callgrind")
        print("bench_scale --compare")
        compare_trees(os.path.abspath(__file__), args.compare, child,
                      args.rounds if args.rounds != 10 else 3)
        return 0

    print("bench_scale: many simulated connections, many idle channels%s"
          % (" [--quick]" if args.quick else ""))
    print("command: %s" % " ".join(shlex.quote(a)
                                   for a in [sys.executable] + sys.argv))
    print("python %s on %s, %s CPUs, loadavg %s"
          % (platform.python_version(), platform.platform(), os.cpu_count(),
             " ".join("%.2f" % x for x in os.getloadavg())))
    print("asyncore_sim: %s" % asyncore_sim.__file__)
    figures = {}
    t0 = perf_counter()
    if args.callgrind:
        bench_callgrind(figures)
    else:
        if args.only in (None, "pingpong"):
            bench_pingpong(ns, args.rounds, repeats, figures)
        if args.only in (None, "idle"):
            bench_idle(args.idle_n, repeats, 0.05 if args.quick else 0.2,
                       figures)
    if args.json:
        write_json(args.json, figures)
    print()
    print("total wall time %.1f s" % (perf_counter() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
