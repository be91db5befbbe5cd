#!/usr/bin/env python3
"""What a loop pass, a send and a recv cost on this machine's loopback: the
measurements behind ``fake_net.Cost.loopback()``.

On the real arm (``real_net``, 127.0.0.1), in one process:

* ``wait``: one ``asyncore.loop(timeout=0, count=1)`` pass over two
  connected channels, one of them readable (the cost model charges a wait
  for a whole pass: the readiness call and the readable()/writable() calls
  around it);
* ``select``: the bare ``select.select()`` of such a pass (for reference);
* ``send``: ``send()`` of 100 bytes on a TCP loopback connection;
* ``recv``: ``recv()`` of those 100 bytes (data already queued).

Each figure is the median over repeats of the mean of a batch, in
microseconds; the last line is the ``cost`` scenario line they suggest
(rounded to whole microseconds), to compare with ``Cost.loopback()``.

Usage: ``python benchmarks/bench_cost_defaults.py [--quick]``.  Exits 0.
"""

from __future__ import annotations

import select
import socket
import statistics
import sys
import time
from typing import Callable, List

import asyncore_sim as asyncore
from fake_net import Cost


def _pair() -> List[socket.socket]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    listener.close()
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return [client, server]


def _median_us(fn: Callable[[int], None], batch: int, repeats: int) -> float:
    fn(batch)  # warm up
    means = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(batch)
        means.append((time.perf_counter() - t0) / batch)
    return statistics.median(means) * 1e6


def main(argv: List[str]) -> int:
    quick = "--quick" in argv
    batch, repeats = (500, 5) if quick else (5000, 9)
    client, server = _pair()
    payload = b"x" * 100

    def sends(n: int) -> None:
        for _ in range(n):
            client.send(payload)
            server.recv(65536)  # keep the queue short (timed with the send)

    send_recv = _median_us(sends, batch, repeats)
    client.setblocking(True)
    server.setblocking(True)

    def recvs(n: int) -> None:
        client.sendall(payload * n)
        for _ in range(n):
            server.recv(100)

    recv_only = _median_us(recvs, batch, repeats)
    send_only = max(send_recv - recv_only, 0.0)

    def selects(n: int) -> None:
        client.send(b"y")
        for _ in range(n):
            select.select([client, server], [client], [], 0)
        server.recv(10)

    select_us = _median_us(selects, batch, repeats)

    m: dict = {}

    class Quiet(asyncore.dispatcher):
        def writable(self) -> bool:
            return False

        def handle_read(self) -> None:
            pass  # stays readable: its byte is never read

    a, b = _pair()
    a.setblocking(False)
    b.setblocking(False)
    Quiet(a, map=m)
    Quiet(b, map=m)
    a.send(b"z")
    time.sleep(0.01)

    def passes(n: int) -> None:
        asyncore.loop(timeout=0, count=n, map=m)

    wait_us = _median_us(passes, batch, repeats)
    for s in (client, server, a, b):
        s.close()

    rows = [
        ("wait (one loop pass, 2 channels)", wait_us),
        ("  of which select.select()", select_us),
        ("send (100 B, TCP loopback)", send_only),
        ("recv (100 B queued)", recv_only),
    ]
    print("python %s, real_net on 127.0.0.1" % sys.version.split()[0])
    print()
    print("%-34s  %8s" % ("on the real arm", "µs/call"))
    print("%-34s  %8s" % ("-" * 34, "-" * 8))
    for what, us in rows:
        print("%-34s  %8.2f" % (what, us))
    print()
    print(
        "suggested: cost wait=%dus send=%dus recv=%dus"
        % (max(1, round(wait_us)), max(1, round(send_only)), max(1, round(recv_only)))
    )
    lb = Cost.loopback()
    print(
        "Cost.loopback(): cost wait=%gus send=%gus recv=%gus"
        % (lb.wait * 1e6, lb.send * 1e6, lb.recv * 1e6)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
