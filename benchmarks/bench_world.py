#!/usr/bin/env python3
"""The simulated world against loopback: an smtplib session, and the switch.

``session``: the stdlib's ``smtplib.SMTP`` sends N mails of 4 KiB each
(--mails, --size) to the async_chat SMTP server of ``examples/world`` over
one connection, then quits.

* ``sim``       both inside one simulated world (``with FakeNetwork():``),
                one thread; the client's blocking calls run the server's map;
* ``loopback``  the same client and server over real sockets on 127.0.0.1:
                the server's ``asyncore_sim.loop`` in a second thread.

The two arms alternate (A B B A ...) in one process, --repeats times; the
table gives the median of each and the ratio.  ``switch``: entering and
leaving a world (``with net: pass``) on a network that already made its
first scan of ``sys.modules``, and the first entry of a process, which scans.

    python benchmarks/bench_world.py             # ~20 s
    python benchmarks/bench_world.py --quick     # a few seconds
"""

from __future__ import annotations

import argparse
import os
import smtplib
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "examples", "world"))
sys.path.insert(0, HERE)

import asyncore_sim  # noqa: E402
from _common import fmt_ratio, fmt_us, median, print_table  # noqa: E402
from fake_net import FakeNetwork  # noqa: E402
from smtp_server import SMTPServer  # noqa: E402

# The clock of this script: taken before any world can replace time's names.
clock = time.perf_counter


def _mails(n: int, size: int) -> list:
    body = ("x" * 75 + "\r\n") * (size // 77)
    return [
        "From: a@example.org\r\nTo: b@example.net\r\nSubject: %d\r\n\r\n%s" % (i, body)
        for i in range(n)
    ]


def _client(host: str, port: int, mails: list) -> None:
    with smtplib.SMTP(host, port, timeout=30) as client:
        for mail in mails:
            client.sendmail("a@example.org", ["b@example.net"], mail)


def run_sim(mails: list) -> float:
    net = FakeNetwork(names={"mail.example": "192.0.2.25"}, record=False)
    start = clock()
    with net:
        server = SMTPServer(("192.0.2.25", 25), map=net.map())
        _client("mail.example", 25, mails)
        server.close()
    took = clock() - start
    assert len(server.received) == len(mails), len(server.received)
    return took


def run_loopback(mails: list) -> float:
    m: dict = {}
    server = SMTPServer(("127.0.0.1", 0), map=m)
    port = server.socket.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            asyncore_sim.loop(timeout=0.01, map=m, count=1)

    thread = threading.Thread(target=serve, daemon=True)
    start = clock()
    thread.start()
    _client("127.0.0.1", port, mails)
    while len(server.received) < len(mails):
        time.sleep(0.001)
    took = clock() - start
    stop.set()
    thread.join()
    asyncore_sim.close_all(m)
    return took


def measure_switch(n: int) -> tuple:
    first_net = FakeNetwork(record=False)
    start = clock()
    with first_net:
        pass
    first = clock() - start
    net = FakeNetwork(record=False)
    start = clock()
    for _ in range(n):
        with net:
            pass
    return first, (clock() - start) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=100)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.mails, args.repeats = 20, 2
    version = sys.version.split()[0]
    print("python %s, asyncore_sim %s" % (version, asyncore_sim.__file__))
    first, later = measure_switch(20 if args.quick else 500)
    mails = _mails(args.mails, args.size)
    run_sim(mails)  # warm up both arms
    run_loopback(mails)
    times = {"sim": [], "loopback": []}
    for i in range(args.repeats):
        order = ("sim", "loopback") if i % 2 == 0 else ("loopback", "sim")
        for arm in order:
            times[arm].append((run_sim if arm == "sim" else run_loopback)(mails))
    sim, loop = median(times["sim"]), median(times["loopback"])
    print()
    print_table(
        ["smtplib session (%d mails of %d B)" % (args.mails, args.size), "median µs",
         "per mail µs", "loopback / sim"],
        [
            ["sim (one world, one thread)", fmt_us(sim), fmt_us(sim / args.mails),
             fmt_ratio(loop / sim)],
            ["loopback (server thread)", fmt_us(loop), fmt_us(loop / args.mails),
             fmt_ratio(1.0)],
        ],
    )
    print()
    print_table(
        ["world switch (with net: pass)", "µs"],
        [["first entry of the process (scans %d modules)" % len(sys.modules),
          fmt_us(first)],
         ["later entries", fmt_us(later)]],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
