"""Helpers shared by the benchmark scripts (not a benchmark itself).

``make_classes(mod)`` builds the handler classes on ``mod.dispatcher``, so
the stdlib and asyncore_sim run the very same handler code; the rest formats
tables and keeps runs bounded.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import resource
import signal
import socket
import statistics
import sysconfig
import warnings

HOST = "127.0.0.1"


def _load_file(path):
    """A module run from ``path``, not left in sys.modules."""
    spec = importlib.util.spec_from_file_location("asyncore", path)
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.11's stdlib
        spec.loader.exec_module(module)
    return module


def load_peer():
    """``(name, module)`` of the comparison peer, the stdlib's asyncore or
    (3.12+) pyasyncore, loaded by file name: a plain ``import asyncore``
    would find the repository root's asyncore.py, which is asyncore_sim's
    own (the root is first on sys.path for the scripts).  ImportError, with
    what to install, when there is none."""
    stdlib_file = os.path.join(sysconfig.get_paths()["stdlib"], "asyncore.py")
    if os.path.isfile(stdlib_file):
        return "stdlib", _load_file(stdlib_file)
    try:
        dist = importlib.metadata.distribution("pyasyncore")
    except importlib.metadata.PackageNotFoundError:
        raise ImportError(
            "Python %s has no stdlib asyncore; install the comparison peer, "
            "pyasyncore: pip install '.[bench]'" % platform.python_version()
        ) from None
    return "pyasyncore", _load_file(str(dist.locate_file("asyncore/__init__.py")))


def make_classes(mod):
    """Benchmark dispatcher classes subclassing ``mod.dispatcher``."""
    base = mod.dispatcher

    class EchoHandler(base):
        """Server side of one connection: sends back whatever it reads."""

        def __init__(self, sock, map):
            base.__init__(self, sock, map)
            self.pending = b""

        def readable(self):
            return True

        def writable(self):
            return bool(self.pending)

        def handle_read(self):
            data = self.recv(65536)
            if not data:
                return
            if self.pending:
                self.pending += data
            else:
                n = self.send(data)
                if n < len(data):
                    self.pending = data[n:]

        def handle_write(self):
            n = self.send(self.pending)
            self.pending = self.pending[n:]

        def handle_close(self):
            self.close()

    class EchoServer(base):
        """Listening socket; accepts one connection at a time."""

        def __init__(self, map):
            base.__init__(self, map=map)
            self.chan_map = map
            self.handler = None
            self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
            self.set_reuse_addr()
            self.bind((HOST, 0))
            self.listen(5)
            self.port = self.socket.getsockname()[1]

        def readable(self):
            return True

        def writable(self):
            return False

        def handle_accepted(self, sock, addr):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.handler = EchoHandler(sock, self.chan_map)

        def handle_close(self):
            self.close()

    class PingClient(base):
        """Sends ``msg``, waits for all of it to come back, ``rounds`` times;
        raises ``mod.ExitNow`` after the last echo."""

        def __init__(self, map, port, msg, rounds):
            base.__init__(self, map=map)
            self.msg = msg
            self.size = len(msg)
            self.rounds = rounds
            self.done = 0
            self.got = 0
            self.ready = False
            self.short_send = False
            self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connect((HOST, port))

        def readable(self):
            return True

        def writable(self):
            # Only while the connection is being set up (untimed).
            return not self.connected

        def handle_connect(self):
            self.ready = True

        def handle_write(self):
            pass

        def ping(self):
            if self.send(self.msg) != self.size:
                self.short_send = True  # never expected: the message fits the buffer
                raise mod.ExitNow("short send")

        def handle_read(self):
            data = self.recv(65536)
            self.got += len(data)
            if self.got < self.size:
                return
            self.got -= self.size
            self.done += 1
            if self.done >= self.rounds:
                raise mod.ExitNow("done")
            self.ping()

        def handle_close(self):
            self.close()

    class IdleChannel(base):
        """A channel that waits to read and never gets anything."""

        woke = 0  # counts handle_read calls (must stay 0)

        def readable(self):
            return True

        def writable(self):
            return False

        def handle_read(self):
            IdleChannel.woke += 1

        def handle_close(self):
            self.close()

    return {
        "EchoServer": EchoServer,
        "PingClient": PingClient,
        "IdleChannel": IdleChannel,
    }


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def floor_loop(objs, k):
    """The idle floor: what computing the interest alone costs in Python,
    ``k`` passes of ``readable()`` and ``writable()`` over ``objs``."""
    for _ in range(k):
        for o in objs:
            o.readable()
            o.writable()


def time_idle(mod, use_poll, m, objs, k):
    """Seconds for ``k`` ``mod.loop(timeout=0)`` iterations over map ``m``
    (``use_poll`` None: the floor over ``objs`` instead), gc off."""
    import gc
    from time import perf_counter

    gc.disable()
    try:
        if use_poll is None:
            t0 = perf_counter()
            floor_loop(objs, k)
            t1 = perf_counter()
        else:
            t0 = perf_counter()
            mod.loop(timeout=0, use_poll=use_poll, map=m, count=k)
            t1 = perf_counter()
    finally:
        gc.enable()
    return t1 - t0


def median(xs):
    return statistics.median(xs)


def rotated(seq, r):
    """``seq`` rotated by ``r`` places (so no variant always runs first)."""
    r %= len(seq)
    return list(seq[r:]) + list(seq[:r])


def fmt_us(seconds):
    us = seconds * 1e6
    if us >= 1000:
        return "%.0f" % us
    if us >= 100:
        return "%.1f" % us
    return "%.2f" % us


def fmt_ratio(x):
    return "%.2fx" % x


def print_table(headers, rows, align=None):
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    align = align or (["<"] + [">"] * (len(headers) - 1))

    def line(cells):
        return "  ".join(
            ("%-*s" if a == "<" else "%*s") % (w, c)
            for c, w, a in zip(cells, widths, align)
        ).rstrip()

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


class _Watchdog:
    """Wall-clock bound for a loop() call: raises the module's ExitNow from a
    SIGALRM handler (it interrupts select/poll/epoll and is re-raised by both
    implementations' dispatch code)."""

    def __init__(self, mod, seconds):
        self.mod = mod
        self.seconds = seconds
        self.fired = False

    def _handler(self, signum, frame):
        self.fired = True
        raise self.mod.ExitNow("watchdog")

    def __enter__(self):
        self._old = signal.signal(signal.SIGALRM, self._handler)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._old)
        return False


def calibrate(run, kmin, target):
    """Warm up, and pick K so that ``run(K)`` takes about ``target`` seconds."""
    k = 1
    while True:
        t = run(k)
        if t >= target / 4 or k >= 1 << 24:
            break
        k *= 4 if t < target / 64 else 2
    # Refine with K itself (a loop() call has a start-up cost that a short
    # run over-weights), at most three times.
    for _ in range(3):
        new_k = max(kmin, int(round(target * k / t))) if t > 0 else k
        if new_k == k and k >= kmin:
            break
        k = new_k
        t = run(k)
        if abs(t - target) <= 0.25 * target:
            break
    return max(kmin, k)


def measure_iterations(variants, run, is_loop, repeats, target):
    """Time each variant, alternating them within each repeat.

    ``run(variant, k)`` runs ``k`` iterations and returns seconds;
    ``is_loop(variant)`` says whether it is a loop() variant (with a start-up
    cost worth separating) rather than the bare floor.  Returns
    ``{key: [total/K per repeat], "first": {key: [T(1)]},
    "steady": {key: [(T(K)-T(1))/(K-1)]}, "_k": {key: K}}``.
    """
    ks = {v: calibrate(lambda k, v=v: run(v, k), 3 if is_loop(v) else 1, target)
          for v in variants}
    res = {v[0]: [] for v in variants}
    first = {v[0]: [] for v in variants if is_loop(v)}
    steady = {v[0]: [] for v in variants}
    for r in range(repeats):
        for v in rotated(variants, r):
            k = ks[v]
            t1 = None
            if is_loop(v):
                t1 = run(v, 1)
                first[v[0]].append(t1)
            tk = run(v, k)
            res[v[0]].append(tk / k)
            steady[v[0]].append(tk / k if t1 is None else (tk - t1) / (k - 1))
    res["first"] = first
    res["steady"] = steady
    res["_k"] = {v[0]: ks[v] for v in variants}
    return res


def connect_echo(mod, classes, m, msg, rounds, use_poll, label):
    """Set up (untimed, bounded) an echo server and a ping client on ``m``."""
    server = classes["EchoServer"](m)
    client = classes["PingClient"](m, server.port, msg, rounds)
    for _ in range(2000):
        if client.ready and server.handler is not None:
            return client
        mod.loop(timeout=0.01, use_poll=use_poll, map=m, count=1)
    raise RuntimeError("%s: echo connection was not set up" % label)


def timed_pings(mod, client, m, use_poll, rounds, label, counter=None):
    """Time ``rounds`` round trips in one loop() call, bounded both in
    iterations and in wall-clock time; returns ``(seconds, counter delta)``
    where ``counter`` (optional) is read just outside the timed span."""
    import gc
    from time import perf_counter

    bound = 4 * rounds + 1000
    with _Watchdog(mod, 60.0 + rounds * 0.01) as dog:
        gc.disable()
        try:
            c0 = counter() if counter else 0
            t0 = perf_counter()
            client.ping()
            try:
                mod.loop(timeout=1.0, use_poll=use_poll, map=m, count=bound)
            except mod.ExitNow:
                pass
            t1 = perf_counter()
            c1 = counter() if counter else 0
        finally:
            gc.enable()
    if dog.fired or client.short_send or client.done != rounds:
        raise RuntimeError(
            "%s use_poll=%r: echo run incomplete (%d/%d round trips%s)"
            % (label, use_poll, client.done, rounds,
               ", watchdog fired" if dog.fired else "")
        )
    return t1 - t0, c1 - c0


# ---------------------------------------------------------------------------
# Instructions per operation, under callgrind
# ---------------------------------------------------------------------------
#
# A benchmark offers *workloads*: ``{name: factory}``, where ``factory()``
# sets a workload up and returns ``(run, close)``; ``run(k)`` performs ``k``
# operations (one loop iteration, one loop(count=1) call, one round trip...);
# a ``run`` with a ``warmup`` attribute is warmed up with that many operations
# instead of CALLGRIND_WARMUP (for workloads whose operation is large).
# ``callgrind_main`` is the benchmark's child mode; ``callgrind_report`` (in
# the parent) runs the child under ``valgrind --tool=callgrind`` and prints
# instructions per operation next to the time per operation of the same
# workload measured in the parent (uninstrumented).
#
# How instructions are counted: the child runs every workload in one process;
# after set-up and a warm-up it calls ``run(k)`` through
# ``functools.reduce`` (which no workload uses itself), and callgrind counts
# only inside that C function (``--collect-atstart=no
# --toggle-collect=functools_reduce``) and writes one dump as it leaves it
# (``--dump-after``): one dump per workload, set-up, imports and tear-down
# excluded.  Where the interpreter has no symbol for that function (a
# stripped build), each workload is instead run twice, with K1 and K2
# operations, in processes of their own, and (Ir(K2) - Ir(K1)) / (K2 - K1)
# is reported.  valgrind is Debian's ``valgrind`` package; where it is
# missing the instruction columns say so and only times are printed.

CALLGRIND_CHILD = "--callgrind-child"
CALLGRIND_WARMUP = 20  # untimed operations before the counted ones
TIMED_OPS_FACTOR = 4  # timed runs are this many times longer than counted ones
_TRAMPOLINE = "functools_reduce"


def _run_counted(run, k):
    import functools
    import gc

    gc.disable()
    try:
        functools.reduce(lambda _a, _b: run(k), (0, 0))
    finally:
        gc.enable()


def callgrind_main(workloads, argv):
    """Child side: ``argv == [CALLGRIND_CHILD, name, k, name, k, ...]`` runs,
    for each pair, ``k`` counted operations of workload ``name`` (after set-up
    and a warm-up) and returns True; any other ``argv`` returns False."""
    if len(argv) < 3 or argv[0] != CALLGRIND_CHILD or len(argv) % 2 != 1:
        return False
    for i in range(1, len(argv), 2):
        run, close = workloads[argv[i]]()
        try:
            run(getattr(run, "warmup", CALLGRIND_WARMUP))
            _run_counted(run, int(argv[i + 1]))
        finally:
            close()
    return True


def valgrind_path():
    import shutil

    return shutil.which("valgrind")


def _callgrind(script, pairs, options, timeout=1800):
    """Run the child of ``script`` on ``pairs`` [(name, k)] under callgrind;
    returns the Ir totals of its dumps, in order (the final part last)."""
    import glob
    import os
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="callgrind-") as tmp:
        out = os.path.join(tmp, "cg.out")
        env = dict(os.environ, PYTHONHASHSEED="0")
        cmd = [valgrind_path(), "--tool=callgrind", "--callgrind-out-file=" + out,
               "--dump-line=no"] + options + [sys.executable, script,
                                                CALLGRIND_CHILD]
        for name, k in pairs:
            cmd += [name, str(k)]
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError("callgrind child failed (exit %d): %s"
                               % (proc.returncode, proc.stderr[-800:]))

        def part(path):
            suffix = path[len(out):].lstrip(".")
            return int(suffix) if suffix.isdigit() else 1 << 30

        totals = []
        for path in sorted(glob.glob(out + "*"), key=part):
            with open(path) as f:
                for line in f:
                    if line.startswith(("summary:", "totals:")):
                        totals.append(int(line.split()[1]))
                        break
        return totals


def callgrind_per_op(script, pairs):
    """Instructions per operation for each (name, k) of ``pairs``."""
    opts = ["--collect-atstart=no", "--toggle-collect=" + _TRAMPOLINE,
            "--dump-after=" + _TRAMPOLINE]
    totals = _callgrind(script, pairs, opts)
    if len(totals) >= len(pairs) and all(totals[:len(pairs)]):
        return [ir / k for ir, (_, k) in zip(totals, pairs)]
    # No symbol for the trampoline: difference of two whole runs each.
    result = []
    for name, k in pairs:
        k1 = max(1, k // 10)
        hi = _callgrind(script, [(name, k)], [])[-1]
        lo = _callgrind(script, [(name, k1)], [])[-1]
        result.append((hi - lo) / (k - k1))
    return result


def time_per_op(workloads, names, ops, repeats):
    """Median seconds per operation of each named workload, measured in this
    process: each repeat sets every workload up, runs ``TIMED_OPS_FACTOR *
    ops(name)`` operations after a warm-up and closes it, in an order that rotates from
    repeat to repeat (one workload at a time, so that select never sees the
    descriptors of another)."""
    import gc
    from time import perf_counter

    times = {name: [] for name in names}
    for r in range(repeats):
        for name in rotated(names, r):
            run, close = workloads[name]()
            try:
                run(getattr(run, "warmup", CALLGRIND_WARMUP))
                k = TIMED_OPS_FACTOR * ops(name)
                gc.disable()
                try:
                    t0 = perf_counter()
                    run(k)
                    times[name].append((perf_counter() - t0) / k)
                finally:
                    gc.enable()
            finally:
                close()
    return {name: times[name] for name in names}


def callgrind_report(script, workloads, rows, ops, repeats=5):
    """Parent side: print instructions per operation next to time per
    operation for each workload named in ``rows``.

    ``rows`` is a list of ``(name, reference name or None)``; a row with a
    reference also gets the two ratios (this/reference).  ``ops(name)`` gives
    the number of counted operations of a workload.
    Times are medians over ``repeats``; time ratios are medians of the
    per-repeat paired ratios.  Returns ``{name: (s/op, instructions/op or
    None)}``."""
    have = valgrind_path()
    names = [name for name, _ in rows]
    irs = [None] * len(names)
    if have:
        irs = callgrind_per_op(script, [(name, ops(name)) for name in names])
    else:
        print("callgrind: SKIPPED, valgrind is not installed (Debian: "
              "apt-get install valgrind): the instruction columns are empty.")
    times = time_per_op(workloads, names, ops, repeats)
    results = {name: (median(times[name]), ir) for name, ir in zip(names, irs)}
    table = []
    for name, ref in rows:
        t, ir = results[name]
        row = [name, fmt_us(t), "skipped" if ir is None else "%.0f" % ir]
        if ref is not None:
            rir = results[ref][1]
            paired = median([a / b for a, b in zip(times[name], times[ref])])
            row += [fmt_ratio(paired),
                    "-" if ir is None or not rir else fmt_ratio(ir / rir), ref]
        else:
            row += ["", "", ""]
        table.append(row)
    print()
    print_table(["workload", "us/op", "instr/op", "time ratio (paired)",
                 "instr ratio",
                 "against"], table, ["<", ">", ">", ">", ">", "<"])
    return results
