#!/usr/bin/env python3
"""UDP echo through asyncore dispatchers: fake_net against real_net.

A server dispatcher answers each datagram with ``sendto``; a client
dispatcher on a connected UDP socket sends a 64-byte request (from
``handle_write``, while it is ``writable()``), waits for the answer, and
sends again, M times (10,000 by default: issue 15's "10,000 UDP
request/response pairs").  The same handler code runs on the real kernel's
loopback (``real_net``) and on the simulated network (``fake_net``, its
defaults: ``record=True``), in one process, for each readiness method.

Honesty: both arms run the same classes through the same ``loop(count=1)``
calls; each arm is set up and warmed up (100 round trips) outside the timed
span, gc is off inside it; the arms alternate within each repeat (the order
swaps from repeat to repeat); after every run the client must have received
exactly M answers of 64 bytes and the server answered exactly M requests, or
the script fails.  Reported: round trips per second (best and median of R
repeats) and fake/real as the median of the per-repeat paired ratios.
Target: fake/real >= 1.00 for every method (PASS/FAIL; the exit status is 0
regardless).

``--callgrind`` (needs valgrind) instead counts instructions per fake_net
round trip under ``valgrind --tool=callgrind``, one child process, set-up
and warm-up excluded (``_common.py``'s callgrind section), next to the time
per round trip measured here.

    python benchmarks/bench_udp.py [--trips M] [--repeats R] [--callgrind]
"""

from __future__ import annotations

import argparse
import gc
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import asyncore_sim as asyncore  # noqa: E402
import real_net  # noqa: E402
from asyncore_seam import NetworkMap  # noqa: E402
from fake_net import FakeNetwork  # noqa: E402

from _common import (  # noqa: E402  (benchmarks/ is on sys.path when run)
    callgrind_main,
    callgrind_report,
    median,
    rotated,
)

PAYLOAD = b"u" * 64
WARMUP = 100
METHODS = (("select", False), ("poll", True), ("epoll", "epoll"))
CG_TRIPS = 2000  # counted round trips per workload under callgrind


class Server(asyncore.dispatcher):
    def __init__(self, map):
        super().__init__(map=map)
        self.create_socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.bind(("127.0.0.1", 0))
        self.answered = 0

    def writable(self):
        return False

    def handle_read(self):
        data, peer = self.socket.recvfrom(2048)
        self.socket.sendto(data, peer)
        self.answered += 1


class Client(asyncore.dispatcher):
    def __init__(self, map, address):
        super().__init__(map=map)
        self.create_socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.connect(address)
        self.left = 0
        self.waiting = False
        self.got = 0

    def handle_connect(self):
        pass

    def writable(self):
        return not self.waiting and self.left > 0

    def handle_write(self):
        self.socket.send(PAYLOAD)
        self.waiting = True

    def handle_read(self):
        self.got += len(self.socket.recv(2048))
        self.waiting = False
        self.left -= 1


def echo(make_map, use_poll, label):
    """A workload (see _common's callgrind section): ``run(k)`` makes ``k``
    round trips, each checked; ``close()`` closes both dispatchers."""
    map = make_map()
    server = Server(map)
    client = Client(map, server.socket.getsockname())
    loop = asyncore.loop

    def run(k):
        got, answered = client.got, server.answered
        client.left = k
        bound = 3 * k + 100  # a trip takes three loop passes
        while client.left > 0:
            loop(map=map, timeout=1.0, use_poll=use_poll, count=1)
            bound -= 1
            if bound < 0:
                raise RuntimeError("%s: the echo stalled (%d of %d trips left)"
                                   % (label, client.left, k))
        if (client.got - got, server.answered - answered) != (k * len(PAYLOAD), k):
            raise RuntimeError("%s: %d bytes back and %d answers for %d trips"
                               % (label, client.got - got,
                                  server.answered - answered, k))

    return run, lambda: asyncore.close_all(map)


def real_map():
    return NetworkMap(real_net.RealNetwork())


def fake_map():
    return FakeNetwork(seed=1).map()


ARMS = {"real": real_map, "fake": fake_map}


def timed(arm, use_poll, name, trips):
    """Round trips per second of one arm (set-up and warm-up untimed)."""
    run, close = echo(ARMS[arm], use_poll, "%s %s" % (arm, name))
    try:
        run(WARMUP)
        gc.disable()
        try:
            start = time.perf_counter()
            run(trips)
            elapsed = time.perf_counter() - start
        finally:
            gc.enable()
    finally:
        close()
    return trips / elapsed


WORKLOADS = {
    "fake %s" % name: (lambda use_poll=use_poll, name=name:
                       echo(fake_map, use_poll, "fake " + name))
    for name, use_poll in METHODS
}


def bench_callgrind(repeats):
    print("Instructions per fake_net UDP round trip (valgrind --tool=callgrind, "
          "%d counted trips; see _common.py)" % CG_TRIPS)
    callgrind_report(os.path.abspath(__file__), WORKLOADS,
                     [(name, None) for name in WORKLOADS],
                     lambda name: CG_TRIPS, repeats)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if callgrind_main(WORKLOADS, argv):
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--callgrind", action="store_true",
                        help="count instructions per fake round trip "
                        "(valgrind; only that)")
    args = parser.parse_args(argv)
    if args.trips < 1 or args.repeats < 1:
        parser.error("--trips and --repeats must be at least 1")
    if args.callgrind:
        bench_callgrind(args.repeats)
        return 0
    print("UDP echo, %d round trips of %d bytes, %d repeats, arms alternating "
          "(round trips/s)" % (args.trips, len(PAYLOAD), args.repeats))
    print("%-7s %10s %10s %10s %10s %10s  %s" % (
        "method", "real best", "real med", "fake best", "fake med",
        "fake/real", "target >= 1.00 (paired median)"))
    for name, use_poll in METHODS:
        rates = {"real": [], "fake": []}
        for r in range(args.repeats):
            for arm in rotated(["real", "fake"], r):
                rates[arm].append(timed(arm, use_poll, name, args.trips))
        ratio = median([f / r for f, r in zip(rates["fake"], rates["real"])])
        print("%-7s %10.0f %10.0f %10.0f %10.0f %10.2f  %s" % (
            name, max(rates["real"]), median(rates["real"]),
            max(rates["fake"]), median(rates["fake"]), ratio,
            "PASS" if ratio >= 1.0 else "FAIL"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
