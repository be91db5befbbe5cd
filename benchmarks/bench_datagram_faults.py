#!/usr/bin/env python3
"""What datagram fault rules cost: UDP sendto + recv on fake_net, side by side.

N datagrams of 64 bytes go from one fake UDP socket to another, each taken
by a recv right after it is sent, on FakeNetwork(record=False), with:

* no rules (the send path tests one flag, ``_datagram_rules``);
* one ``DropDatagram`` that matches no datagram (``Match(port=1)``): the cost
  of asking a rule;
* six rules, none matching: the cost of asking several;
* ``DuplicateDatagram()`` on every datagram (two arrive, both are read).

Each row is the best of 5 runs; reported as datagrams/s and as the ratio of
its time to the no-rules row.  Run: ``python benchmarks/bench_datagram_faults.py``
(``--quick``: fewer datagrams).  Benchmarks inform; they are never tests.
"""

from __future__ import annotations

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fake_net import (  # noqa: E402
    CorruptDatagram,
    DelayDatagram,
    DropDatagram,
    DuplicateDatagram,
    FakeNetwork,
    Match,
    ReorderDatagrams,
    TruncateDatagram,
)

NOWHERE = Match(port=1)
ROWS = [
    ("no rules", []),
    ("1 rule, no match", [DropDatagram(match=NOWHERE)]),
    (
        "6 rules, no match",
        [
            DropDatagram(match=NOWHERE),
            DuplicateDatagram(match=NOWHERE),
            ReorderDatagrams(match=NOWHERE),
            TruncateDatagram(match=NOWHERE),
            CorruptDatagram(match=NOWHERE),
            DelayDatagram(match=NOWHERE),
        ],
    ),
    ("DuplicateDatagram on all", [DuplicateDatagram()]),
]


def one_run(faults, n):
    net = FakeNetwork(seed=0, faults=faults, record=False, register_random=False)
    rx = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 9000))
    rx.setblocking(False)
    tx = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = b"x" * 64
    copies = (
        2
        if any(
            isinstance(f, DuplicateDatagram) and f.match is not NOWHERE for f in faults
        )
        else 1
    )
    start = time.perf_counter()
    for _ in range(n):
        tx.sendto(payload, ("127.0.0.1", 9000))
        for _ in range(copies):
            rx.recv(100)
    return time.perf_counter() - start


def main(argv):
    n = 5_000 if "--quick" in argv else 50_000
    base = None
    print("%-28s %14s %8s" % ("rules", "datagrams/s", "ratio"))
    for name, faults in ROWS:
        best = min(one_run(faults, n) for _ in range(5))
        if base is None:
            base = best
        print("%-28s %14.0f %7.2fx" % (name, n / best, best / base))


if __name__ == "__main__":
    main(sys.argv[1:])
