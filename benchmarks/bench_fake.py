#!/usr/bin/env python3
"""fake_net benchmarks: asyncore_sim on the simulated network, against the
stdlib asyncore over real loopback and Twisted's in-memory IOPump.

Two measurements, in one process:

echo  Ping-pong of 4 KiB messages: a client dispatcher sends 4096 bytes,
      waits until all 4096 have been echoed back by the server dispatcher,
      sends again, M times (2000; 500 with --quick).  Rows:
        * stdlib asyncore over real loopback (127.0.0.1), select and poll;
        * asyncore_sim on fake_net.FakeNetwork(record=True) (the default:
          every send/recv is logged), use_poll False / True / 'epoll';
        * the same with FakeNetwork(record=False);
        * Twisted's in-memory transport (twisted.test.iosim): an echo server
          Protocol and a ping client Protocol joined by
          iosim.connectedServerAndClient(), driven by IOPump.pump() until the
          M round trips are done.  Skipped, with a note, without Twisted.
      Reported: round trips/s and us per round trip; ratios stdlib-loopback
      time / fake time (targets: >= 3 with recording off, issue 17; >= 5
      with recording on, the earlier one), Twisted time / fake time (target
      >= 1 with recording off) and recording on / off (target <= 1.1).
      The stdlib rows load the stdlib's asyncore (pyasyncore on 3.12+) by
      file name, never the repository root's asyncore.py (asyncore_sim's).

idle  One loop iteration over N idle simulated channels, N = 100, 1000,
      10000: N connected fake socketpairs (net.socketpair()); one end of each
      is wrapped in a dispatcher whose readable() is True and writable()
      False, the peer end is kept open outside the map, so nothing ever
      changes.  loop(timeout=0, count=K, use_poll=False/True/'epoll') is
      timed against the floor, a bare ``for o in objs: o.readable();
      o.writable()`` over the same dispatcher objects.  Reported as total/K
      (K sized for ~0.2 s), the start-up cost of one loop(count=1) call, and
      the steady-state (T(K) - T(1)) / (K - 1).  Target: within 1.5x of the
      floor at N=10000.

Honesty rules (as bench_core.py): one factory (``make_classes``) taking the
asyncore module defines every dispatcher class, so the stdlib and
asyncore_sim run the same handler code; variants alternate inside each
repeat (the order rotates between repeats); every variant is warmed up once;
gc is disabled while timing; results are medians over repeats, and ratios
are medians of per-repeat paired ratios.

Targets are printed with PASS/FAIL; the script exits 0 regardless.

instructions  (``--callgrind``; needs valgrind) Instructions per fake echo
      round trip, counted by ``valgrind --tool=callgrind`` (stable on a
      loaded machine, unlike time): for each fake row, this script runs
      itself under callgrind twice, an untimed echo run of 200 and one of
      2200 round trips (``--echo-run KIND USE_POLL ROUNDS``, gc off as in
      the timed runs), counting only inside the run (``--toggle-collect``
      on the trampoline of ``_common``: imports and exit are not counted),
      and reports (I(2200) - I(200)) / 2000, so set-up cancels out.  The
      runs use PYTHONHASHSEED=0 unless it is set (the count moves by about
      1% with the hash seed).  Target: <= 65,000
      per round trip.

Run: ``python benchmarks/bench_fake.py [--quick] [--repeats N] [--only echo|idle]``
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import platform
import resource
import sys
import time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    # Measure the working tree's package, installed or not.
    sys.path.insert(0, _ROOT)

# The stdlib rows' asyncore: the stdlib's (3.11) or pyasyncore (3.12+),
# loaded by file name (a plain import would find the repository root's
# asyncore.py, which is asyncore_sim's own: see _common.load_peer).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import load_peer  # noqa: E402

try:
    _PEER, std_asyncore = load_peer()
    _STD_ERR = None
except ImportError as e:  # pragma: no cover - Python 3.12+ without pyasyncore
    std_asyncore = None
    _STD_ERR = str(e)

try:
    from twisted import __version__ as _twisted_version
    from twisted.internet.protocol import Protocol as _TwProtocol
    from twisted.test import iosim as _iosim
    _TWISTED_ERR = None
except ImportError as e:
    _TwProtocol = None
    _iosim = None
    _twisted_version = None
    _TWISTED_ERR = str(e)

import re  # noqa: E402
import subprocess  # noqa: E402

import asyncore_sim  # noqa: E402
from fake_net import FakeNetwork  # noqa: E402

from _common import (  # noqa: E402  (benchmarks/ is on sys.path when run)
    _TRAMPOLINE,
    connect_echo,
    fmt_ratio,
    fmt_us,
    make_classes,
    measure_iterations,
    median,
    print_table,
    rotated,
    time_idle,
    timed_pings,
)

MSG_SIZE = 4096
perf_counter = time.perf_counter


# ---------------------------------------------------------------------------
# Handler classes: one factory, so both implementations run the same code.
# ---------------------------------------------------------------------------

IMPLS = {"asyncore_sim": asyncore_sim}
if std_asyncore is not None:
    IMPLS["stdlib"] = std_asyncore
CLASSES = {name: make_classes(mod) for name, mod in IMPLS.items()}


# Twisted: the same echo/ping logic as Protocols (its own API, so its own
# classes), for twisted.test.iosim's in-memory FakeTransport + IOPump.
if _TwProtocol is not None:

    class TwEchoServer(_TwProtocol):
        def dataReceived(self, data):
            self.transport.write(data)

    class TwPingClient(_TwProtocol):
        def __init__(self, msg, rounds):
            self.msg = msg
            self.size = len(msg)
            self.rounds = rounds
            self.done = 0
            self.got = 0

        def ping(self):
            self.transport.write(self.msg)

        def dataReceived(self, data):
            self.got += len(data)
            if self.got < self.size:
                return
            self.got -= self.size
            self.done += 1
            if self.done < self.rounds:
                self.ping()


# ---------------------------------------------------------------------------
# (a) Echo ping-pong, 4 KiB messages
# ---------------------------------------------------------------------------

# (key, kind, use_poll); kind: "stdlib" (real loopback), "rec" / "norec"
# (asyncore_sim on FakeNetwork(record=True / False)), "twisted" (iosim).
ALL_ECHO_VARIANTS = [
    ("std select", "stdlib", False),
    ("std poll", "stdlib", True),
    ("fake rec select", "rec", False),
    ("fake rec poll", "rec", True),
    ("fake rec epoll", "rec", "epoll"),
    ("fake norec select", "norec", False),
    ("fake norec poll", "norec", True),
    ("fake norec epoll", "norec", "epoll"),
    ("twisted iosim", "twisted", None),
]
ECHO_DESC = {
    "stdlib": "stdlib asyncore, real loopback",
    "rec": "asyncore_sim, FakeNetwork(record=True)",
    "norec": "asyncore_sim, FakeNetwork(record=False)",
    "twisted": "Twisted iosim IOPump.pump()",
}

# Filled in by the warm-up: recorded events per round trip, fake rec rows.
_EVENTS_PER_RT = {}


def echo_asyncore_once(kind, use_poll, rounds, msg, count_events=False):
    """One timed ping-pong run on a fresh connection (and, for the fake
    rows, a fresh network); returns seconds."""
    if kind == "stdlib":
        impl, m, net = "stdlib", {}, None
    else:
        impl = "asyncore_sim"
        net = FakeNetwork(record=(kind == "rec"))
        m = net.map()
    mod = IMPLS[impl]
    classes = CLASSES[impl]
    try:
        client = connect_echo(mod, classes, m, msg, rounds, use_poll, kind)
        n_events0 = len(net.events) if (count_events and net) else 0
        _settle()
        seconds, faults = timed_pings(
            mod, client, m, use_poll, rounds, kind, counter=minflt)
        if count_events and net is not None:
            _EVENTS_PER_RT[(kind, use_poll)] = (
                (len(net.events) - n_events0) / rounds, net.steps / rounds)
        return seconds, faults
    finally:
        mod.close_all(map=m)


def echo_twisted_once(rounds, msg):
    """One timed ping-pong over twisted.test.iosim; returns seconds."""
    client, server, pump = _iosim.connectedServerAndClient(
        TwEchoServer, lambda: TwPingClient(msg, rounds))
    bound = 4 * rounds + 1000
    step = pump.pump
    n = 0
    _settle()
    gc.disable()
    try:
        f0 = minflt()
        t0 = perf_counter()
        client.ping()
        while client.done < rounds and n < bound:
            step()
            n += 1
        t1 = perf_counter()
        f1 = minflt()
    finally:
        gc.enable()
    if client.done != rounds:
        raise RuntimeError("twisted iosim: echo run incomplete (%d/%d)"
                           % (client.done, rounds))
    _EVENTS_PER_RT[("twisted", None)] = (None, n / rounds)
    return t1 - t0, f1 - f0


def minflt():
    """Minor page faults of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _settle():
    """Before a timed run: collect the previous runs' garbage (a FakeNetwork
    and its sockets form reference cycles, so a network and its event log
    are freed only by the cyclic gc), so no run pays for another's."""
    gc.collect()


def echo_once(variant, rounds, msg, count_events=False):
    """One run of ``variant``; returns (seconds, minor page faults)."""
    _key, kind, use_poll = variant
    if kind == "twisted":
        return echo_twisted_once(rounds, msg)
    return echo_asyncore_once(kind, use_poll, rounds, msg, count_events)


def bare_step_cost(use_poll, k):
    """Seconds per loop(timeout=0) iteration on the echo map (listener,
    server handler, client; connected, nothing ready) on a fake network: the
    loop's own cost, which every round trip pays twice (waits/rt)."""
    net = FakeNetwork(record=False, max_steps=1 << 62, idle_limit=1 << 62)
    m = net.map()
    classes = CLASSES["asyncore_sim"]
    try:
        server = classes["EchoServer"](m)
        client = classes["PingClient"](m, server.port, b"x", 1)
        for _ in range(100):
            if client.ready and server.handler is not None:
                break
            asyncore_sim.loop(timeout=0.01, use_poll=use_poll, map=m, count=1)
        asyncore_sim.loop(timeout=0, use_poll=use_poll, map=m, count=100)
        _settle()
        return time_idle(asyncore_sim, use_poll, m, None, k) / k
    finally:
        asyncore_sim.close_all(map=m)


def bench_echo(rounds, repeats):
    msg = b"x" * MSG_SIZE
    variants = [v for v in ALL_ECHO_VARIANTS
                if (v[1] != "stdlib" or std_asyncore is not None)
                and (v[1] != "twisted" or _iosim is not None)]
    print()
    print("=" * 78)
    print("(a) Echo ping-pong: %d round trips of %d bytes, %d repeats"
          % (rounds, MSG_SIZE, repeats))
    print("=" * 78)
    if std_asyncore is None:
        print("note: stdlib asyncore not importable (%s): stdlib rows skipped"
              % _STD_ERR)
    if _iosim is None:
        print("note: Twisted not installed (%s): Twisted row skipped; "
              "pip install twisted (the 'bench' extra) to get it" % _TWISTED_ERR)
    # Warm-up: each variant once (shorter run), untimed; it also counts the
    # events the fake rows record per round trip.
    for v in variants:
        echo_once(v, max(50, rounds // 5), msg, count_events=True)
    times = {v: [] for v in variants}
    faults = {v: [] for v in variants}
    for r in range(repeats):
        for v in rotated(variants, r):
            t, f = echo_once(v, rounds, msg)
            times[v].append(t)
            faults[v].append(f)

    def paired(a, b):
        """Median of per-repeat paired ratios time(a)/time(b)."""
        return median([x / y for x, y in zip(times[a], times[b])])

    def of_medians(a, b):
        return median(times[a]) / median(times[b])

    by_key = {v[0]: v for v in variants}
    rows = []
    for v in variants:
        key, kind, use_poll = v
        ts = times[v]
        med = median(ts)
        ev, steps = _EVENTS_PER_RT.get((kind, use_poll), (None, None))
        rows.append([
            key,
            "-" if kind == "twisted" else repr(use_poll),
            "%.0f" % (rounds / med),
            "%.2f" % (med / rounds * 1e6),
            "%.2f-%.2f" % (min(ts) / rounds * 1e6, max(ts) / rounds * 1e6),
            "-" if steps is None else "%.1f" % steps,
            "-" if ev is None else "%.1f" % ev,
            "%.2f" % (median(faults[v]) / rounds),
        ])
    print_table(
        ["variant", "use_poll", "round trips/s", "us/rt (median)",
         "us/rt (min-max)", "waits/rt", "events/rt", "minflt/rt"],
        rows,
        ["<", "<", ">", ">", ">", ">", ">", ">"],
    )
    print("  (waits/rt: loop iterations per round trip on the fake network, "
          "pump() calls for Twisted;")
    print("   events/rt: events the network recorded per round trip; "
          "minflt/rt: minor page faults per")
    print("   round trip during the timed run, i.e. memory the run newly "
          "touched)")

    # Ratios: time(reference) / time(fake), so > 1 means fake is faster.
    print()
    print("Speed-ups = reference time / fake time (median of per-repeat "
          "paired ratios; of medians in brackets):")
    pairs = []
    if std_asyncore is not None:
        for mode in ("select", "poll", "epoll"):
            ref = "std poll" if mode == "epoll" else "std " + mode
            for rec in ("rec", "norec"):
                pairs.append((ref, "fake %s %s" % (rec, mode)))
    if _iosim is not None:
        for rec in ("rec", "norec"):
            for mode in ("select", "poll", "epoll"):
                pairs.append(("twisted iosim", "fake %s %s" % (rec, mode)))
    rows = []
    for ref, fake in pairs:
        a, b = by_key[ref], by_key[fake]
        rows.append([ref, fake, fmt_ratio(paired(a, b)),
                     "(%s)" % fmt_ratio(of_medians(a, b))])
    if rows:
        print_table(["reference", "fake", "ref/fake (paired)", "(of medians)"],
                    rows, ["<", "<", ">", ">"])

    print()
    print("Targets (paired ratios):")
    if std_asyncore is not None:
        for rec, goal in (("norec", 3), ("rec", 5)):
            for mode in ("select", "poll", "epoll"):
                ref = "std poll" if mode == "epoll" else "std " + mode
                x = paired(by_key[ref], by_key["fake %s %s" % (rec, mode)])
                print("  echo %-6s stdlib-loopback%s / fake(record %s) time >= %d: "
                      "%.2f  %s" % (mode, "(poll)" if mode == "epoll" else "",
                                    "off" if rec == "norec" else "on", goal, x,
                                    "PASS" if x >= goal else "FAIL"))
    else:
        print("  echo stdlib / fake >= 5: SKIPPED (no stdlib asyncore)")
    if _iosim is not None:
        for mode in ("select", "poll", "epoll"):
            x = paired(by_key["twisted iosim"], by_key["fake norec " + mode])
            print("  echo %-6s twisted-iosim / fake(record off) time >= 1: "
                  "%.2f  %s" % (mode, x, "PASS" if x >= 1 else "FAIL"))
    else:
        print("  echo twisted / fake >= 1: SKIPPED (Twisted not installed)")
    for mode in ("select", "poll", "epoll"):
        x = paired(by_key["fake rec " + mode], by_key["fake norec " + mode])
        print("  echo %-6s recording cost: fake rec / fake norec time <= 1.1: "
              "%.2f  %s" % (mode, x, "PASS" if x <= 1.1 else "FAIL"))

    # The loop's own share of a fake round trip: a bare iteration on the
    # same three channels with nothing ready, times the 2 waits per round
    # trip.  It bounds how close the fake rows can get to Twisted's pump,
    # which has no readiness step at all.
    print()
    print("Loop overhead (info): one loop(timeout=0) iteration on the echo map "
          "with nothing ready, us")
    print("(median of %d), against the fake norec round trip and Twisted's "
          "whole round trip:" % repeats)
    k = 5000 if rounds <= 500 else 20000
    tw = median(times[by_key["twisted iosim"]]) / rounds \
        if "twisted iosim" in by_key else None
    rows = []
    for mode, up in (("select", False), ("poll", True), ("epoll", "epoll")):
        step = median([bare_step_cost(up, k) for _ in range(repeats)])
        rt = median(times[by_key["fake norec " + mode]]) / rounds
        rows.append([mode, fmt_us(step), fmt_us(2 * step),
                     "%.0f%%" % (200 * step / rt),
                     "-" if tw is None else fmt_ratio(2 * step / tw)])
    print_table(["mode", "bare iteration", "x2 (per rt)",
                 "share of norec rt", "x2 / twisted rt"], rows)


# ---------------------------------------------------------------------------
# (b) One loop iteration with N idle simulated channels
# ---------------------------------------------------------------------------

IDLE_VARIANTS = [
    # (key, use_poll; None for the floor)
    ("floor", None),
    ("select", False),
    ("poll", True),
    ("epoll", "epoll"),
]
LOOP_KEYS = ["select", "poll", "epoll"]
MIN_STEADY_K = 20
FD_SETSIZE = 1024
NA_FD = "n/a (FD_SETSIZE)"


def bench_idle(ns, repeats, target):
    print()
    print("=" * 78)
    print("(b) One loop(timeout=0) iteration with N idle fake channels; "
          "%d repeats, ~%.2f s per measurement" % (repeats, target))
    print("=" * 78)
    results = {}
    idle_cls = CLASSES["asyncore_sim"]["IdleChannel"]
    for n in ns:
        # Generous budgets: every idle zero-timeout wait counts as a step and
        # as an idle call, and the defaults would (rightly) stop a run that
        # makes no progress after 1000 of them.
        net = FakeNetwork(max_steps=1 << 62, idle_limit=1 << 62)
        m = net.map()
        peers = []
        t_setup = perf_counter()
        for _ in range(n):
            a, b = net.socketpair()
            idle_cls(a, m)
            peers.append(b)  # kept open (not in the map): nothing changes
        t_setup = perf_counter() - t_setup
        objs = list(m.values())
        idle_cls.woke = 0
        # select() cannot take descriptors >= FD_SETSIZE, on fake_net as on
        # Linux: its rows read "n/a (FD_SETSIZE)" there.
        variants = [v for v in IDLE_VARIANTS
                    if not (v[0] == "select" and max(m) >= FD_SETSIZE)]
        try:
            res = measure_iterations(
                variants,
                lambda v, k, m=m, objs=objs: time_idle(asyncore_sim, v[1], m, objs, k),
                lambda v: v[1] is not None,
                repeats,
                target,
            )
            res["_info"] = (len(m), idle_cls.woke, net.now, net.steps, t_setup)
            results[n] = res
        finally:
            asyncore_sim.close_all(map=m)
            for b in peers:
                b.close()
        sys.stdout.write(
            "  N=%d done (setup %.2f s; after the run: %d channels in the map, "
            "%d handle_read calls, virtual time %g s, %d waits)\n"
            % (n, t_setup, res["_info"][0], res["_info"][1], res["_info"][2],
               res["_info"][3]))
        sys.stdout.flush()

    def pr(table, a, b):
        ra, rb = table.get(a), table.get(b)
        if ra is None or rb is None:
            return None
        return median([x / y for x, y in zip(ra, rb)])

    def steady_ok(n, key):
        res = results[n]
        if key not in res["_k"] or res["_k"][key] < MIN_STEADY_K:
            return False
        return all(x > 0 for x in res["steady"][key])

    def steady_table(n):
        return {key: v for key, v in results[n]["steady"].items()
                if steady_ok(n, key)}

    def steady_cell(n, key):
        if key not in results[n]["_k"]:
            return NA_FD
        if not steady_ok(n, key):
            return "n/a (K=%d)" % results[n]["_k"][key]
        return fmt_us(median(results[n]["steady"][key]))

    def steady_ratio(n, a, b):
        if a not in results[n]["_k"]:
            return NA_FD
        x = pr(steady_table(n), a, b)
        return fmt_ratio(x) if x is not None else "n/a (short K)"

    print()
    print("Microseconds per iteration = total/K (median over repeats), and "
          "total/K / floor (paired):")
    rows = []
    for n in ns:
        res = results[n]
        rows.append([str(n), fmt_us(median(res["floor"]))]
                    + [fmt_us(median(res[k])) if k in res else NA_FD
                       for k in LOOP_KEYS]
                    + [fmt_ratio(pr(res, k, "floor")) if k in res else NA_FD
                       for k in LOOP_KEYS])
    print_table(["N", "floor", "select", "poll", "epoll",
                 "select/floor", "poll/floor", "epoll/floor"], rows)

    print()
    print("Start-up: one loop(count=1) call, us (median); the loop builds a "
          "fresh waiter when the")
    print("method changes, as it does between these alternating variants:")
    rows = []
    for n in ns:
        res = results[n]
        rows.append([str(n)] + [fmt_us(median(res["first"][k]))
                                if k in res["first"] else NA_FD
                                for k in LOOP_KEYS])
    print_table(["N", "select", "poll", "epoll"], rows)

    print()
    print("Steady state: (T(K)-T(1))/(K-1), us per iteration (median), and "
          "ratio to the floor (paired):")
    rows = []
    for n in ns:
        rows.append([str(n)] + [steady_cell(n, k) for k in LOOP_KEYS]
                    + [steady_ratio(n, k, "floor") for k in LOOP_KEYS])
    print_table(["N", "select", "poll", "epoll",
                 "select/floor", "poll/floor", "epoll/floor"], rows)

    print()
    print("K (iterations per measurement):")
    rows = [[str(n)] + [str(results[n]["_k"].get(v[0], "-")) for v in IDLE_VARIANTS]
            for n in ns]
    print_table(["N"] + [v[0] for v in IDLE_VARIANTS], rows)

    print()
    big = max(ns)
    res = results[big]
    print("Targets (on total/K; steady state for information):")
    for k in LOOP_KEYS:
        if k not in res:
            print("  idle %-6s at N=%d: %s (select cannot take that many "
                  "descriptors)" % (k, big, NA_FD))
            continue
        x = pr(res, k, "floor")
        print("  idle %-6s at N=%d within 1.5x of the floor: %.3f  %s   "
              "(steady state %s)" % (k, big, x, "PASS" if x <= 1.5 else "FAIL",
                                     steady_ratio(big, k, "floor")))
    woke = sum(results[n]["_info"][1] for n in ns)
    if woke:
        print("  WARNING: idle channels were read %d times: the benchmark is "
              "not measuring idle iterations" % woke)


# ---------------------------------------------------------------------------
# (c) Instructions per round trip, under callgrind
# ---------------------------------------------------------------------------

USE_POLL = {"select": False, "poll": True, "epoll": "epoll"}
CG_ROUNDS = (200, 2200)


def echo_run(kind, mode, rounds):
    """One untimed fake echo run (what --callgrind counts)."""
    use_poll = USE_POLL[mode]
    net = FakeNetwork(record=(kind == "rec"))
    m = net.map()
    classes = CLASSES["asyncore_sim"]
    msg = b"x" * MSG_SIZE
    client = connect_echo(asyncore_sim, classes, m, msg, rounds, use_poll, kind)
    gc.disable()
    try:
        client.ping()
        try:
            asyncore_sim.loop(timeout=1.0, use_poll=use_poll, map=m,
                              count=4 * rounds + 1000)
        except asyncore_sim.ExitNow:
            pass
    finally:
        gc.enable()
        asyncore_sim.close_all(map=m)
    if client.done != rounds:
        raise RuntimeError("echo run incomplete (%d/%d)" % (client.done, rounds))


def _instructions(kind, mode, rounds):
    # A fixed hash seed: string hashes decide how often dict look-ups probe
    # past a collision, which moves the count by about 1% from one seed to
    # the next; with one seed, two trees (or two runs) compare.
    env = dict(os.environ, PYTHONHASHSEED=os.environ.get("PYTHONHASHSEED", "0"))
    # Counted only inside the run (the --echo-run child calls it through
    # the trampoline): start-up, imports and exit stay out, so a module
    # compiled afresh in one of the two processes (a stale .pyc, another
    # process rewriting __pycache__) cannot move the difference.  Measured
    # once: a test run beside this one moved a whole-process count from
    # 62.8k to 87.3k a round trip.  A stripped interpreter without the
    # trampoline's symbol collects nothing: then the whole process counts.
    for opts in (["--collect-atstart=no", "--toggle-collect=" + _TRAMPOLINE], []):
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
            + opts
            + [sys.executable, os.path.abspath(__file__), "--echo-run", kind,
               mode, str(rounds)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, timeout=600, env=env)
        found = re.search(r"Collected : (\d+)", proc.stderr)
        if proc.returncode != 0 or found is None:
            raise RuntimeError("callgrind run failed (%s %s %d):\n%s"
                               % (kind, mode, rounds, proc.stderr[-2000:]))
        if int(found.group(1)):
            break
    return int(found.group(1))


def bench_callgrind():
    print()
    print("=" * 78)
    print("(c) Instructions per fake echo round trip (valgrind --tool=callgrind; "
          "%d-byte messages)" % MSG_SIZE)
    print("=" * 78)
    a, b = CG_ROUNDS
    rows = []
    per = {}
    for kind in ("norec", "rec"):
        for mode in ("select", "poll", "epoll"):
            x = (_instructions(kind, mode, b) - _instructions(kind, mode, a)) / (b - a)
            per[kind, mode] = x
            rows.append(["fake %s %s" % (kind, mode), "%.0f" % x])
    print_table(["variant", "instructions/rt"], rows, ["<", ">"])
    print()
    for mode in ("select", "poll", "epoll"):
        x = per["norec", mode]
        print("  %-6s record off <= 65,000 instructions/rt: %.0f  %s; record on / off: "
              "%.2f" % (mode, x, "PASS" if x <= 65000 else "FAIL",
                        per["rec", mode] / x))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="fast smoke run (well under 30 s)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed repeats per variant (default 7, 3 with --quick)")
    p.add_argument("--rounds", type=int, default=None,
                   help="echo round trips per run (default 2000, 500 with "
                        "--quick)")
    p.add_argument("--only", choices=["echo", "idle"], default=None,
                   help="run only one of the two benchmarks")
    p.add_argument("--callgrind", action="store_true",
                   help="count instructions per fake round trip under valgrind "
                        "(only that)")
    p.add_argument("--echo-run", nargs=3, metavar=("KIND", "USE_POLL", "ROUNDS"),
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.echo_run:
        kind, mode, rounds = args.echo_run
        def counted(_a, _b):
            echo_run(kind, mode, int(rounds))
            # What the run leaves (the network and its log, in reference
            # cycles) freed inside the count: a recording pays for that too.
            gc.collect()

        # Through the trampoline callgrind collects in (see _instructions).
        functools.reduce(counted, (0, 0))
        return 0
    if args.callgrind:
        bench_callgrind()
        return 0

    repeats = args.repeats or (3 if args.quick else 7)
    if repeats < 1:
        p.error("--repeats must be at least 1")
    rounds = args.rounds or (500 if args.quick else 2000)
    target = 0.025 if args.quick else 0.2
    ns = [100, 1000, 10000]

    print("bench_fake: asyncore_sim on fake_net vs stdlib asyncore on loopback "
          "vs Twisted iosim%s" % (" [--quick]" if args.quick else ""))
    print("python %s on %s, %s CPUs, loadavg %s"
          % (platform.python_version(), platform.platform(), os.cpu_count(),
             " ".join("%.2f" % x for x in os.getloadavg())))
    print("stdlib asyncore: %s" % (std_asyncore.__file__ if std_asyncore
                                   else "not available (%s)" % _STD_ERR))
    print("asyncore_sim:    %s" % asyncore_sim.__file__)
    print("twisted:         %s" % ("%s (%s)" % (_twisted_version,
                                                _iosim.__file__)
                                   if _iosim else
                                   "not installed (%s)" % _TWISTED_ERR))

    t0 = perf_counter()
    if args.only in (None, "echo"):
        bench_echo(rounds, repeats)
    if args.only in (None, "idle"):
        bench_idle(ns, repeats, target)
    print()
    print("total wall time %.1f s" % (perf_counter() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
