#!/usr/bin/env python3
"""UDP echo through asyncore dispatchers: fake_net against real_net.

A server dispatcher answers each datagram with ``sendto``; a client
dispatcher on a connected UDP socket sends a 64-byte request, waits for the
answer, and sends again, M times.  The same handler code runs on the real
kernel's loopback (``real_net``) and on the simulated network (``fake_net``),
side by side in one run, for each readiness method; the report gives round
trips per second and the ratio fake/real (the best of R repeats each).

    python benchmarks/bench_udp.py [--trips M] [--repeats R]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import asyncore_sim as asyncore  # noqa: E402
import real_net  # noqa: E402
from asyncore_seam import NetworkMap  # noqa: E402
from fake_net import FakeNetwork  # noqa: E402

PAYLOAD = b"u" * 64


class Server(asyncore.dispatcher):
    def __init__(self, map):
        super().__init__(map=map)
        self.create_socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.bind(("127.0.0.1", 0))

    def writable(self):
        return False

    def handle_read(self):
        data, peer = self.socket.recvfrom(2048)
        self.socket.sendto(data, peer)


class Client(asyncore.dispatcher):
    def __init__(self, map, address, trips):
        super().__init__(map=map)
        self.create_socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.connect(address)
        self.left = trips
        self.waiting = False

    def handle_connect(self):
        pass

    def writable(self):
        return not self.waiting and self.left > 0

    def handle_write(self):
        self.socket.send(PAYLOAD)
        self.waiting = True

    def handle_read(self):
        self.socket.recv(2048)
        self.waiting = False
        self.left -= 1
        if self.left == 0:
            self.close()


def one_run(map, trips, use_poll):
    server = Server(map)
    client = Client(map, server.socket.getsockname(), trips)
    start = time.perf_counter()
    while client.left > 0:
        asyncore.loop(map=map, timeout=1.0, use_poll=use_poll, count=1)
    elapsed = time.perf_counter() - start
    asyncore.close_all(map)
    return trips / elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print("UDP echo, %d round trips of %d bytes, best of %d (round trips/s)"
          % (args.trips, len(PAYLOAD), args.repeats))
    print("%-8s %12s %12s %10s" % ("method", "real_net", "fake_net", "fake/real"))
    for name, use_poll in (("select", False), ("poll", True), ("epoll", "epoll")):
        real = max(
            one_run(NetworkMap(real_net.RealNetwork()), args.trips, use_poll)
            for _ in range(args.repeats)
        )
        fake = max(
            one_run(FakeNetwork(seed=1).map(), args.trips, use_poll)
            for _ in range(args.repeats)
        )
        print("%-8s %12.0f %12.0f %10.2f" % (name, real, fake, fake / real))


if __name__ == "__main__":
    main()
