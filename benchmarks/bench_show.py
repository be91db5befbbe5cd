#!/usr/bin/env python3
"""``asyncore-sim show`` on a large trace: how long drawing takes, and how the
page behaves in a browser.

The trace is made by running code, not by hand: three echo clients and
their server on fake_net under a Recorder, with a fault plan (cut sends
and reads on the server side) and pauses that leave runs of idle
iterations, until the recording holds N events (100,000; 20,000 with
``--quick``).  Then, side by side in one run:

show    ``asyncore-sim show BIG.trace --format F -o FILE`` for F = html, svg,
        text, as a subprocess (the whole command: interpreter start, reading
        the trace, the model, drawing, writing): wall and CPU seconds,
        medians of R repeats (3; 1 with --quick), and the same for the
        documented HTTP run (270 events) as the baseline (the ratio is of
        CPU times).  Also the in-process split of the
        html row: Trace.load, the model, the drawing.
        Target: under 5 s for the 100,000-event trace, every format.

page    Headless Chromium loads each HTML page from disk with ``#bench``:
        the page times itself (ms since navigation start until drawn, and
        200 redraws at spread scroll positions, a search, expanding the
        idle groups) and writes the figures into its DOM, read back with
        ``--dump-dom``; also the wall time of the whole browser run.  Rows
        for the big page and the HTTP page, with the ratio big/small.
        Skipped (said so) without chromium on PATH.

Prints tables; always exits 0 (benchmarks inform, they gate nothing).

Run: ``python benchmarks/bench_show.py [--quick] [--events N] [--repeats R]``
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    # Measure the working tree's package, installed or not.
    sys.path.insert(0, _ROOT)

import asyncore_sim as asyncore  # noqa: E402
from asyncore_sim.trace import Recorder, Trace  # noqa: E402
from fake_net import FakeNetwork, FaultPlan, Match  # noqa: E402

HTTP = os.path.join(_ROOT, "traces", "pymotw", "001-http-client.trace")
PORT = 8080


def make_trace(n_events: int, seed: int = 0) -> Trace:
    """Three echo clients, a server, a fault plan and pauses, recorded until
    the trace holds ``n_events`` events."""
    plan = FaultPlan(sends=(None, 7, None, 0, 3), reads=(None, 5),
                     match=Match(side="server"))
    net = FakeNetwork(seed=seed, faults=plan.rules(), world=False)
    rec = Recorder(net, header={"seed": str(seed), "plan": plan.to_json()})
    m = rec.map()

    class Handler(asyncore.dispatcher):
        def __init__(self, sock):
            asyncore.dispatcher.__init__(self, sock, map=m)
            self.pending = b""

        def writable(self):
            return bool(self.pending)

        def handle_read(self):
            self.pending += self.recv(4096)

        def handle_write(self):
            n = self.send(self.pending)
            self.pending = self.pending[n:]

        def handle_close(self):
            self.close()

    class Server(asyncore.dispatcher):
        def __init__(self):
            asyncore.dispatcher.__init__(self, map=m)
            self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
            self.bind(("127.0.0.1", PORT))
            self.listen(5)

        def handle_accept(self):
            Handler(self.accept()[0])

    class Client(asyncore.dispatcher):
        def __init__(self, i):
            asyncore.dispatcher.__init__(self, map=m)
            self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
            self.connect(("127.0.0.1", PORT))
            self.i, self.out, self.want, self.rounds = i, b"", 0, 0
            self.resume = 0.0

        def writable(self):
            if not self.out and self.want <= 0 and net.monotonic() >= self.resume:
                self.rounds += 1
                size = 20 + (self.rounds * 37) % 200
                self.out = b"msg %d/%d " % (self.i, self.rounds) + b"x" * size
                self.want = len(self.out)
                if self.rounds % 25 == 0:  # pause: idle iterations follow
                    self.resume = net.monotonic() + 5.0 + self.i
            return bool(self.out)

        def handle_write(self):
            n = self.send(self.out)
            self.out = self.out[n:]

        def handle_read(self):
            self.want -= len(self.recv(4096))

        def handle_close(self):
            self.close()

    with rec:
        Server()
        clients = [Client(i) for i in range(3)]
        while len(rec.events) < n_events:
            asyncore.loop(timeout=1.0, map=m, count=1)
        for c in clients:
            c.close()
        asyncore.close_all(map=m)
    return rec.trace


def time_command(args, repeats):
    """(wall, cpu) seconds of ``asyncore-sim show ARGS``, medians: the CPU
    time (user + system, from the child's rusage) is the steadier figure on
    a machine shared with other work."""
    walls, cpus = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "asyncore_sim", "show", *args],
                       check=True, capture_output=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=_ROOT))
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def in_process_split(path):
    from asyncore_sim.diagram import build_diagram
    from asyncore_sim.diagram._faults import rules_of_trace
    from asyncore_sim.diagram._html import render_html

    t0 = time.perf_counter()
    trace = Trace.load(path)
    t1 = time.perf_counter()
    rules, words, _ = rules_of_trace(trace, path)
    d = build_diagram(trace, path, rules, words)
    t2 = time.perf_counter()
    page = render_html([d], [path])
    t3 = time.perf_counter()
    sizes = len(d.rows), len(d.arrows), len(d.groups), len(page)
    return (t1 - t0, t2 - t1, t3 - t2) + sizes


def browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def load_page(chromium, page):
    profile = tempfile.mkdtemp(prefix="bench-show-")
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--user-data-dir=" + profile,
           "--window-size=1400,1000", "--dump-dom",
           "file://" + os.path.abspath(page) + "#bench"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        out = ""
    wall = time.perf_counter() - t0
    shutil.rmtree(profile, ignore_errors=True)
    m = re.search(r'<div id="status"([^>]*)>', out)
    attrs = dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', m.group(1))) if m else {}
    return wall, attrs


def row(cells, widths):
    return "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                     for i, (c, w) in enumerate(zip(cells, widths)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--events", type=int)
    ap.add_argument("--repeats", type=int)
    ns = ap.parse_args()
    n = ns.events or (20_000 if ns.quick else 100_000)
    repeats = ns.repeats or (1 if ns.quick else 3)
    work = tempfile.mkdtemp(prefix="bench-show-")
    try:
        t0 = time.perf_counter()
        trace = make_trace(n)
        big = os.path.join(work, "big.trace")
        trace.save(big)
        print("trace: %d events, %.1f MB, made in %.2f s (%s)" % (
            len(trace.events), os.path.getsize(big) / 1e6,
            time.perf_counter() - t0, big))
        print()
        print("show (subprocess, median of %d; wall and CPU seconds), target < 5 s"
              " for the big trace" % repeats)
        widths = (8, 10, 9, 11, 10, 10, 8)
        print(row(("format", "big wall", "big cpu", "HTTP wall", "HTTP cpu",
                   "big/HTTP", "target"), widths))
        pages = {}
        for fmt in ("html", "svg", "text"):
            outs = []
            for name, src in (("big", big), ("http", HTTP)):
                out = os.path.join(work, "%s.%s" % (name, fmt))
                outs.append(time_command([src, "--format", fmt, "-o", out], repeats))
                pages[(name, fmt)] = out
            (bw, bc), (hw, hc) = outs
            print(row((fmt, "%.2f" % bw, "%.2f" % bc, "%.2f" % hw, "%.2f" % hc,
                       "%.1fx" % (bc / hc), "PASS" if bw < 5 else "FAIL"), widths))
        load, model, draw, rows, arrows, groups, size = in_process_split(big)
        print("html, in process: Trace.load %.2f s, model %.2f s, page %.2f s "
              "(%d rows, %d arrows, %d idle groups, %.1f MB page)"
              % (load, model, draw, rows, arrows, groups, size / 1e6))
        print()
        chromium = browser()
        if chromium is None:
            print("page: skipped (no chromium on PATH: apt-get install chromium)")
            return 0
        print("page in headless chromium (#bench: the page's own figures, ms)")
        widths = (10, 10, 12, 13, 13, 10, 10)
        print(row(("page", "wall (s)", "load (ms)", "redraw med", "redraw max",
                   "search", "expand"), widths))
        got = {}
        for name in ("big", "http"):
            wall, a = load_page(chromium, pages[(name, "html")])
            got[name] = (wall, a)
            if a.get("data-state") != "ready":
                print(row((name, "%.2f" % wall, "state: %s" % a.get("data-state")),
                          widths[:3]))
                continue
            print(row((name, "%.2f" % wall, a["data-load-ms"],
                       a["data-render-median-ms"], a["data-render-max-ms"],
                       a["data-search-ms"], a["data-expand-ms"]), widths))
        (wb, ab), (ws, as_) = got["big"], got["http"]
        if ab.get("data-load-ms") and as_.get("data-load-ms"):
            print("big/HTTP: wall %.1fx, load %.1fx, redraw max %.1fx" % (
                wb / ws, float(ab["data-load-ms"]) / float(as_["data-load-ms"]),
                float(ab["data-render-max-ms"]) / max(float(as_["data-render-max-ms"]),
                                                      0.1)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
