#!/usr/bin/env python3
"""Core benchmarks: asyncore_sim (real network) against CPython 3.11's asyncore.

The peer is the stdlib's asyncore where the interpreter has it (3.11 and
older), and pyasyncore, the copy of it users pick on 3.12+, where it does not
(``pip install '.[bench]'``).  Below, "stdlib" stands for whichever it is.

Two measurements, both on loopback (127.0.0.1) in one process:

echo  TCP ping-pong: a client dispatcher sends a 64-byte message, waits for
      the echo server dispatcher to send it back, sends again, M times.
      Round trips per second for the stdlib and asyncore_sim, for
      use_poll=False (select) and use_poll=True (poll), plus asyncore_sim
      with use_poll='epoll'.

idle  One loop iteration over N idle channels (UDP sockets on which nothing
      ever arrives; readable() True, writable() False) for
      N = 10, 100, 1000, 10000, against the floor: a bare Python loop
      calling readable() and writable() on the same N objects.  Reported
      as total/K for loop(timeout=0, count=K) (K sized for ~0.2 s), plus the
      cost of one loop(count=1) call (poller set-up) and the steady-state
      per-iteration cost (T(K) - T(1)) / (K - 1).  select rows are skipped
      when any fd is >= FD_SETSIZE (1024).

calls The per-call cost: loop(timeout=0, count=1), poll(0.0, map) and
      poll2(0.0, map) called K times in a Python loop of the caller's own
      (as servers such as zope.server drive asyncore.poll), at N = 10 idle
      channels, against the same calls on the stdlib.

--callgrind  Also counts instructions per operation of every workload
      (loop(count=1)/poll()/poll2() calls, iterations at N = 10, 100, 1000,
      echo round trips) under valgrind's callgrind, printed next to the time
      per operation; see _common.py for how the counting works.

Honesty rules: the handler classes for both implementations come from one
factory (``make_classes``) that takes the module, so the same code runs on
both; variants alternate inside each repeat (the order rotates from repeat to
repeat); every variant is warmed up once before timing; gc is disabled while
timing; results are medians over repeats and ratios are medians of per-repeat
paired ratios (both sides of a pair measured in the same repeat).

Targets are printed with PASS/FAIL; the script exits 0 regardless.

Run: ``python benchmarks/bench_core.py [--quick] [--repeats N]
[--only echo|idle|calls] [--callgrind]``
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import importlib.util
import os
import platform
import socket
import sys
import time
import warnings

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    # Measure the working tree's package, installed or not.
    sys.path.insert(0, _ROOT)


# The comparison peer (the stdlib's asyncore, or pyasyncore on 3.12+),
# loaded by file name: see _common.load_peer.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import load_peer  # noqa: E402

try:
    PEER, std_asyncore = load_peer()
except ImportError as e:
    sys.exit("bench_core: %s" % e)


with warnings.catch_warnings(record=True) as _import_warnings:
    # With pyasyncore installed, `import asyncore_sim` warns that the
    # top-level asyncore is pyasyncore's: expected here, reported below.
    warnings.simplefilter("always")
    import asyncore_sim  # noqa: E402

from _common import (  # noqa: E402  (benchmarks/ is on sys.path when run)
    HOST,
    callgrind_main,
    callgrind_report,
    connect_echo,
    fmt_ratio,
    fmt_us,
    make_classes,
    measure_iterations,
    median,
    print_table,
    raise_fd_limit,
    rotated,
    time_idle,
    timed_pings,
)

FD_SETSIZE = 1024
perf_counter = time.perf_counter

IMPLS = {PEER: std_asyncore, "asyncore_sim": asyncore_sim}


# ---------------------------------------------------------------------------
# Handler classes: one factory, so both implementations run the same code.
# ---------------------------------------------------------------------------

CLASSES = {name: make_classes(mod) for name, mod in IMPLS.items()}


# ---------------------------------------------------------------------------
# (a) Echo ping-pong
# ---------------------------------------------------------------------------

ECHO_VARIANTS = [
    # (label, impl, use_poll)
    ("select", PEER, False),
    ("select", "asyncore_sim", False),
    ("poll", PEER, True),
    ("poll", "asyncore_sim", True),
    ("epoll", "asyncore_sim", "epoll"),
]


def echo_once(impl, use_poll, rounds, msg):
    """One timed ping-pong run on a fresh connection; returns seconds."""
    mod = IMPLS[impl]
    classes = CLASSES[impl]
    m = {}
    try:
        client = connect_echo(mod, classes, m, msg, rounds, use_poll, impl)
        seconds, _ = timed_pings(mod, client, m, use_poll, rounds, impl)
        return seconds
    finally:
        mod.close_all(map=m)


def bench_echo(rounds, repeats, msg_size):
    msg = b"x" * msg_size
    print()
    print("=" * 78)
    print("(a) Echo ping-pong over loopback: %d round trips of %d bytes, "
          "%d repeats" % (rounds, msg_size, repeats))
    print("=" * 78)
    # Warm-up: each variant once (shorter run), untimed.
    for _, impl, use_poll in ECHO_VARIANTS:
        echo_once(impl, use_poll, max(50, rounds // 5), msg)
    times = {v: [] for v in ECHO_VARIANTS}
    for r in range(repeats):
        for v in rotated(ECHO_VARIANTS, r):
            times[v].append(echo_once(v[1], v[2], rounds, msg))

    def paired(a, b):
        return median([x / y for x, y in zip(times[a], times[b])])

    def of_medians(a, b):
        return median(times[a]) / median(times[b])

    std_sel, sim_sel, std_poll, sim_poll, sim_epoll = ECHO_VARIANTS
    against = {sim_sel: (std_sel, PEER + " select"),
               sim_poll: (std_poll, PEER + " poll"),
               sim_epoll: (std_poll, PEER + " poll")}
    rows = []
    for v in ECHO_VARIANTS:
        label, impl, use_poll = v
        ts = times[v]
        med = median(ts)
        row = [
            label,
            repr(use_poll),
            impl,
            "%.0f" % (rounds / med),
            "%.1f" % (med / rounds * 1e6),
            "%.1f-%.1f" % (min(ts) / rounds * 1e6, max(ts) / rounds * 1e6),
        ]
        if v in against:
            ref, name = against[v]
            row += [fmt_ratio(paired(v, ref)), fmt_ratio(of_medians(v, ref)),
                    name]
        else:
            row += ["", "", ""]
        rows.append(row)
    print_table(
        ["mode", "use_poll", "impl", "round trips/s", "us/rt (median)",
         "us/rt (min-max)", "time ratio (paired)", "(of medians)", "against"],
        rows,
        ["<", "<", "<", ">", ">", ">", ">", ">", "<"],
    )
    print()
    print("Targets (asyncore_sim/%s time, median of per-repeat paired " % PEER +
          "ratios; both sides of a pair ran in the same repeat):")
    for v, name in ((sim_sel, "select"), (sim_poll, "poll")):
        x = paired(v, against[v][0])
        print("  echo %-6s asyncore_sim/%s time <= 1.05: %.3f  %s"
              % (name, PEER, x, "PASS" if x <= 1.05 else "FAIL"))
    print("  (info) echo epoll asyncore_sim / %s poll time: %.3f"
          % (PEER, paired(sim_epoll, std_poll)))


# ---------------------------------------------------------------------------
# (b) One loop iteration with N idle channels
# ---------------------------------------------------------------------------

IDLE_VARIANTS = [
    # (key, impl or None for the floor, use_poll)
    ("floor", "asyncore_sim", None),
    ("floor_std", PEER, None),
    ("std_select", PEER, False),
    ("std_poll", PEER, True),
    ("sim_select", "asyncore_sim", False),
    ("sim_poll", "asyncore_sim", True),
    ("sim_epoll", "asyncore_sim", "epoll"),
]


def run_variant(variant, maps, objs, k):
    """Run ``k`` iterations of one variant; returns total seconds."""
    _key, impl, use_poll = variant
    return time_idle(IMPLS[impl], use_poll, maps[impl], objs[impl], k)


IMPL_COLS = [
    ("std_select", PEER + " select"),
    ("std_poll", PEER + " poll"),
    ("sim_select", "sim select"),
    ("sim_poll", "sim poll"),
    ("sim_epoll", "sim epoll"),
]
FLOOR_OF = {"std_select": "floor_std", "std_poll": "floor_std",
            "sim_select": "floor", "sim_poll": "floor", "sim_epoll": "floor"}
NA = "n/a (FD_SETSIZE)"
MIN_STEADY_K = 20


def bench_idle(ns, repeats, target):
    print()
    print("=" * 78)
    print("(b) One loop(timeout=0) iteration with N idle UDP channels; "
          "%d repeats, ~%.2f s per measurement" % (repeats, target))
    print("=" * 78)
    # results[n][key] -> list over repeats of: total/K (per-iteration),
    # results[n]["first"][key] -> loop(count=1) seconds,
    # results[n]["steady"][key] -> (T(K) - T(1)) / (K - 1).
    results = {}
    for n in ns:
        socks = []
        maps = {PEER: {}, "asyncore_sim": {}}
        try:
            for _ in range(n):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind((HOST, 0))
            # The same sockets (same fds) under each implementation's map,
            # wrapped by each implementation's dispatcher subclass.
            for impl in IMPLS:
                cls = CLASSES[impl]["IdleChannel"]
                for s in socks:
                    cls(s, maps[impl])
            objs = {impl: list(maps[impl].values()) for impl in IMPLS}
            maxfd = max(maps[PEER])
            select_ok = maxfd < FD_SETSIZE
            variants = [v for v in IDLE_VARIANTS
                        if select_ok or v[2] is not False]
            res = measure_iterations(
                variants,
                lambda v, k, maps=maps, objs=objs: run_variant(v, maps, objs, k),
                lambda v: v[2] is not None,
                repeats,
                target,
            )
            res["_maxfd"] = maxfd
            results[n] = res
        finally:
            for impl in IMPLS:
                IMPLS[impl].close_all(map=maps[impl])
            for s in socks:
                s.close()
        sys.stdout.write("  N=%d done (max fd %d)\n" % (n, results[n]["_maxfd"]))
        sys.stdout.flush()

    def pr(table, a, b):
        """Median of per-repeat paired ratios a/b, or None."""
        ra, rb = table.get(a), table.get(b)
        if ra is None or rb is None:
            return None
        return median([x / y for x, y in zip(ra, rb)])

    def cell_us(table, key):
        return fmt_us(median(table[key])) if key in table else NA

    def cell_ratio(x):
        return fmt_ratio(x) if x is not None else NA

    def steady_ok(n, key):
        """A steady-state estimate needs a long run: K >= MIN_STEADY_K and
        T(K) - T(1) > 0 in every repeat (otherwise it is noise)."""
        res = results[n]
        if key not in res["steady"]:
            return False
        if res["_k"][key] < MIN_STEADY_K:
            return False
        return all(x > 0 for x in res["steady"][key])

    def steady_table(n):
        """results[n]["steady"] restricted to the trustworthy estimates."""
        return {key: v for key, v in results[n]["steady"].items()
                if steady_ok(n, key)}

    def steady_cell(n, key):
        res = results[n]
        if key not in res["steady"]:
            return NA
        if not steady_ok(n, key):
            return "n/a (K=%d)" % res["_k"][key]
        return fmt_us(median(res["steady"][key]))

    def steady_ratio(n, a, b):
        x = pr(steady_table(n), a, b)
        if x is not None:
            return fmt_ratio(x)
        if a in results[n]["steady"] and b in results[n]["steady"]:
            return "n/a (short K)"
        return NA

    print()
    print("Microseconds per iteration = total/K (median over repeats); "
          "'sim' = asyncore_sim,")
    print("floor = bare readable()/writable() loop over the same objects "
          "(one column per implementation's objects):")
    rows = []
    for n in ns:
        res = results[n]
        rows.append([str(n), cell_us(res, "floor_std"), cell_us(res, "floor")]
                    + [cell_us(res, key) for key, _ in IMPL_COLS])
    print_table(["N", "floor(std objs)", "floor(sim objs)"]
                + [c for _, c in IMPL_COLS], rows)

    print()
    print("Ratios of total/K (median of per-repeat paired ratios); x/floor is "
          "against the floor over the")
    print("same implementation's objects; the last column is against the "
          "stdlib objects' floor:")
    rows = []
    for n in ns:
        res = results[n]
        row = [str(n)]
        for key, _ in IMPL_COLS:
            row.append(cell_ratio(pr(res, key, FLOOR_OF[key])))
        row.append(cell_ratio(pr(res, "sim_select", "std_select")))
        row.append(cell_ratio(pr(res, "sim_poll", "std_poll")))
        row.append(cell_ratio(pr(res, "sim_epoll", "floor_std")))
        rows.append(row)
    print_table(["N"] + [c + "/floor" for _, c in IMPL_COLS]
                + ["sim/std select", "sim/std poll", "sim epoll/floor(std objs)"],
                rows)

    print()
    short = ["std select", "std poll", "sim select", "sim poll", "sim epoll"]
    print("Start-up: one loop(count=1) call, us (median); it includes "
          "building the poller and registering")
    print("every fd, which a long-running loop pays once:")
    rows = []
    for n in ns:
        res = results[n]
        rows.append([str(n)] + [cell_us(res["first"], key)
                                for key, _ in IMPL_COLS])
    print_table(["N"] + short, rows)

    print()
    print("Steady state: (T(K)-T(1))/(K-1), us per iteration (median), i.e. "
          "total/K with loop()'s")
    print("one-off start-up removed; ratios are medians of per-repeat paired "
          "ratios:")
    rows = []
    for n in ns:
        row = [str(n)] + [steady_cell(n, key) for key, _ in IMPL_COLS]
        row.append(steady_ratio(n, "sim_epoll", "floor"))
        row.append(steady_ratio(n, "sim_epoll", "floor_std"))
        row.append(steady_ratio(n, "sim_select", "std_select"))
        row.append(steady_ratio(n, "sim_poll", "std_poll"))
        rows.append(row)
    print_table(["N"] + short + ["epoll/floor", "epoll/floor(std objs)",
                                 "sim/std select", "sim/std poll"], rows)

    print()
    print("K (iterations per measurement):")
    rows = []
    for n in ns:
        ks = results[n]["_k"]
        rows.append([str(n)] + [str(ks[k]) if k in ks else "-"
                                for k in ["floor_std", "floor"]
                                + [c for c, _ in IMPL_COLS]])
    print_table(["N", "floor(std objs)", "floor(sim objs)"]
                + [c for _, c in IMPL_COLS], rows)

    print()
    print("Targets (on total/K as specified; steady-state and stdlib-floor "
          "figures are for information):")
    big = max(ns)
    res = results[big]
    x = pr(res, "sim_epoll", "floor")
    print("  idle epoll at N=%d within 1.3x of the floor: %.3f  %s"
          % (big, x, "PASS" if x <= 1.3 else "FAIL"))
    print("      (info: steady-state %s; against the stdlib objects' floor: "
          "total/K %.3f, steady-state %s)"
          % (steady_ratio(big, "sim_epoll", "floor"),
             pr(res, "sim_epoll", "floor_std"),
             steady_ratio(big, "sim_epoll", "floor_std")))
    for a, b, name in (("sim_select", "std_select", "select"),
                       ("sim_poll", "std_poll", "poll")):
        ratios = [(n, pr(results[n], a, b)) for n in ns]
        ratios = [(n, x) for n, x in ratios if x is not None]
        worst_n, worst = max(ratios, key=lambda t: t[1])
        print("  idle %-6s asyncore_sim no slower than %s at every N "
              "(ratio <= 1.00): worst %.3f at N=%d  %s"
              % (name, PEER, worst, worst_n, "PASS" if worst <= 1.0 else "FAIL"))
        print("      (total/K: %s)" % ", ".join("N=%d %.3f" % t for t in ratios))
        sr = [(n, pr(steady_table(n), a, b)) for n in ns]
        sr = [(n, x) for n, x in sr if x is not None]
        print("      (steady:  %s)" % ", ".join("N=%d %.3f" % t for t in sr))


# ---------------------------------------------------------------------------
# (c) Per-call cost: loop(count=1) and poll() called in the caller's own loop
# ---------------------------------------------------------------------------

POLL_FUNCS = {False: "poll", True: "poll2", "epoll": "poll_epoll"}


def idle_workload(impl, n, call, use_poll):
    """A factory (see _common's callgrind section) over ``n`` idle UDP
    channels of ``impl``; one operation is, by ``call``: ``"iter"`` one
    iteration of loop(timeout=0, count=k); ``"loop1"`` one
    loop(timeout=0, count=1) call; ``"poll"`` one poll(0.0, map) /
    poll2(0.0, map) / poll_epoll(0.0, map) call."""
    def factory():
        mod = IMPLS[impl]
        cls = CLASSES[impl]["IdleChannel"]
        socks, m = [], {}
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(s)
            s.bind((HOST, 0))
            cls(s, m)
        loop = mod.loop
        if call == "iter":
            def run(k):
                loop(timeout=0, use_poll=use_poll, map=m, count=k)
        elif call == "loop1":
            def run(k):
                for _ in range(k):
                    loop(timeout=0, use_poll=use_poll, map=m, count=1)
        else:
            fn = getattr(mod, POLL_FUNCS[use_poll])

            def run(k):
                for _ in range(k):
                    fn(0.0, m)

        def close():
            mod.close_all(map=m)
            for s in socks:
                s.close()
        return run, close
    return factory


def echo_workload(impl, use_poll):
    """A factory whose operation is one 64-byte echo round trip."""
    def factory():
        mod = IMPLS[impl]
        m = {}
        client = connect_echo(mod, CLASSES[impl], m, b"x" * 64, 1, use_poll,
                              impl)

        def run(k):
            client.done = 0
            client.rounds = k
            client.ping()
            try:
                mod.loop(timeout=1.0, use_poll=use_poll, map=m,
                         count=4 * k + 1000)
            except mod.ExitNow:
                pass
            if client.done != k:
                raise RuntimeError("%s echo: %d/%d round trips"
                                   % (impl, client.done, k))

        return run, lambda: mod.close_all(map=m)
    return factory


SIM = "asyncore_sim"
MODES = [("select", False), ("poll", True)]
CG_NS = [10, 100, 1000]


def _workloads():
    """Every workload of the callgrind mode, by name."""
    w = {}
    for label, use_poll in MODES:
        for impl in IMPLS:
            tag = "std" if impl == PEER else "sim"
            w["loop1 %s %s N=10" % (label, tag)] = idle_workload(
                impl, 10, "loop1", use_poll)
            w["%s() %s N=10" % (POLL_FUNCS[use_poll], tag)] = idle_workload(
                impl, 10, "poll", use_poll)
            for n in CG_NS:
                w["iter %s %s N=%d" % (label, tag, n)] = idle_workload(
                    impl, n, "iter", use_poll)
            w["echo %s %s" % (label, tag)] = echo_workload(impl, use_poll)
    w["loop1 epoll sim N=10"] = idle_workload(SIM, 10, "loop1", "epoll")
    for n in CG_NS:
        w["iter epoll sim N=%d" % n] = idle_workload(SIM, n, "iter", "epoll")
    w["echo epoll sim"] = echo_workload(SIM, "epoll")
    return w


WORKLOADS = _workloads()


def _cg_rows():
    rows = []
    for label, use_poll in MODES:
        for kind in ("loop1 %s %%s N=10" % label,
                     "%s() %%s N=10" % POLL_FUNCS[use_poll]):
            rows += [(kind % "std", None), (kind % "sim", kind % "std")]
    rows += [("loop1 epoll sim N=10", "loop1 poll std N=10")]
    for n in CG_NS:
        for label, _ in MODES:
            std = "iter %s std N=%d" % (label, n)
            rows += [(std, None), ("iter %s sim N=%d" % (label, n), std)]
        rows += [("iter epoll sim N=%d" % n, "iter poll std N=%d" % n)]
    for label, _ in MODES:
        rows += [("echo %s std" % label, None),
                 ("echo %s sim" % label, "echo %s std" % label)]
    rows += [("echo epoll sim", "echo poll std")]
    return rows


def _cg_ops(name):
    """Counted operations of a workload under callgrind."""
    if name.startswith("echo"):
        return 500
    return {10: 2000, 100: 500, 1000: 60}[int(name.rsplit("N=", 1)[1])]


def bench_callgrind(repeats):
    print()
    print("=" * 78)
    print("(d) Instructions per operation under callgrind (one child process; "
          "see _common.py),")
    print("    next to time per operation measured here, uninstrumented")
    print("=" * 78)
    callgrind_report(os.path.abspath(__file__), WORKLOADS, _cg_rows(), _cg_ops,
                     repeats)


CALL_VARIANTS = [
    # (key, workload name)
    ("loop1 select std", "loop1 select std N=10"),
    ("loop1 select sim", "loop1 select sim N=10"),
    ("loop1 poll std", "loop1 poll std N=10"),
    ("loop1 poll sim", "loop1 poll sim N=10"),
    ("poll() std", "poll() std N=10"),
    ("poll() sim", "poll() sim N=10"),
    ("poll2() std", "poll2() std N=10"),
    ("poll2() sim", "poll2() sim N=10"),
]


def bench_calls(repeats, target):
    print()
    print("=" * 78)
    print("(c) One loop(timeout=0, count=1) / poll(0.0) call at N=10 idle "
          "channels, called K times; %d repeats" % repeats)
    print("=" * 78)
    opened = {}
    try:
        for key, name in CALL_VARIANTS:
            opened[key] = WORKLOADS[name]()
        res = measure_iterations(
            [(key, None, None) for key, _ in CALL_VARIANTS],
            lambda v, k: _timed(opened[v[0]][0], k),
            lambda v: False, repeats, target)
    finally:
        for run_close in opened.values():
            run_close[1]()
    rows = []
    for i in range(0, len(CALL_VARIANTS), 2):
        std, sim = CALL_VARIANTS[i][0], CALL_VARIANTS[i + 1][0]
        ratio = median([a / b for a, b in zip(res[sim], res[std])])
        rows.append([sim.rsplit(" ", 1)[0], fmt_us(median(res[std])),
                     fmt_us(median(res[sim])), fmt_ratio(ratio),
                     "PASS" if ratio <= 1.0 else "FAIL"])
    print_table(["call", PEER + " us", "sim us", "sim/std (paired)",
                 "target <= 1.00"], rows)


def _timed(run, k):
    gc.disable()
    try:
        t0 = perf_counter()
        run(k)
        return perf_counter() - t0
    finally:
        gc.enable()


# ---------------------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="fast smoke run (well under 20 s)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed repeats per variant (default 7, 3 with --quick)")
    p.add_argument("--only", choices=["echo", "idle", "calls"], default=None,
                   help="run only one of the benchmarks")
    p.add_argument("--callgrind", action="store_true",
                   help="also count instructions per operation of every "
                   "workload under valgrind's callgrind (slow: minutes)")
    argv = sys.argv[1:] if argv is None else argv
    if callgrind_main(WORKLOADS, argv):
        return 0
    args = p.parse_args(argv)

    repeats = args.repeats or (3 if args.quick else 7)
    if repeats < 1:
        p.error("--repeats must be at least 1")
    rounds = 1000 if args.quick else 5000
    target = 0.025 if args.quick else 0.2
    ns = [10, 100, 1000, 10000]

    soft, hard = raise_fd_limit()
    print("bench_core: asyncore_sim (real_net) vs %s asyncore%s"
          % (PEER, " [--quick]" if args.quick else ""))
    print("python %s on %s, %s CPUs, loadavg %s, RLIMIT_NOFILE %s/%s"
          % (platform.python_version(), platform.platform(), os.cpu_count(),
             " ".join("%.2f" % x for x in os.getloadavg()), soft, hard))
    print("%s asyncore: %s" % (PEER, std_asyncore.__file__))
    if PEER == "pyasyncore":
        print("pyasyncore %s; 'std' and 'stdlib' below mean pyasyncore"
              % importlib.metadata.version("pyasyncore"))
    for w in _import_warnings:
        print("(import asyncore_sim warned: %s: %s)"
              % (w.category.__name__, str(w.message)[:120]))
    print("asyncore_sim:    %s" % asyncore_sim.__file__)
    if max(ns) + 64 > soft:
        print("warning: RLIMIT_NOFILE %d is too low for N=%d" % (soft, max(ns)))

    t0 = perf_counter()
    if args.only in (None, "echo"):
        bench_echo(rounds, repeats, 64)
    if args.only in (None, "idle"):
        bench_idle(ns, repeats, target)
    if args.only in (None, "calls"):
        bench_calls(repeats, target)
    if args.callgrind:
        bench_callgrind(repeats)
    print()
    print("total wall time %.1f s" % (perf_counter() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
