"""The ``demo`` command: the same echo handlers on the real and the simulated network.

Until the documented runs can be replayed on fake_net, this is the closest
real demonstration of the package: classic asyncore handler code (an echo
server, a buffered client) runs unchanged on the real network (127.0.0.1),
then on fake_net under seeded faults (partial sends, short reads, delays),
once per readiness method; each simulated run is repeated to show that the
same seed gives the same events, byte for byte.
"""

from __future__ import annotations

import hashlib
import sys
from typing import Any, List, Optional, Tuple

from asyncore_sim import asyncore

__all__ = ["run_demo"]

MESSAGES = [b"It's not dead, it's sleeping!", b"x" * 70000, b"bye\n"]


class EchoHandler(asyncore.dispatcher_with_send):
    def handle_read(self) -> None:
        data = self.recv(8192)
        if data:
            self.send(data)


class EchoServer(asyncore.dispatcher):
    def __init__(self, map: Any, port: int = 0) -> None:
        asyncore.dispatcher.__init__(self, map=map)
        self.create_socket()
        self.set_reuse_addr()
        self.bind(("127.0.0.1", port))
        self.listen(5)

    def handle_accepted(self, sock: Any, addr: Any) -> None:
        EchoHandler(sock, map=self._map)


class Client(asyncore.dispatcher_with_send):
    def __init__(self, address: Tuple[str, int], map: Any) -> None:
        asyncore.dispatcher_with_send.__init__(self, map=map)
        self.events: List[str] = []
        self.received = b""
        self.expected = b"".join(MESSAGES)
        self.create_socket()
        self.connect(address)

    def handle_connect(self) -> None:
        self.events.append("connect")
        for message in MESSAGES:
            self.send(message)

    def handle_read(self) -> None:
        data = self.recv(8192)
        self.received += data
        if len(self.received) >= len(self.expected):
            self.events.append("echoed")
            self.close()

    def handle_close(self) -> None:
        self.events.append("close")
        self.close()


def _one(method: Any, net: Optional[Any] = None) -> Tuple[str, int, int, str]:
    map: Any = {} if net is None else net.map()
    server = EchoServer(map, 0 if net is None else 8080)
    client = Client(server.socket.getsockname(), map)
    iterations = 0
    try:
        while client in map.values() and iterations < 2000:
            asyncore.loop(timeout=0.05, use_poll=method, map=map, count=1)
            iterations += 1
    finally:
        asyncore.close_all(map)
    ok = client.received == client.expected
    return ("ok" if ok else "MISMATCH"), len(client.received), iterations, \
        " ".join(client.events)


def _fake_run(method: Any, seed: int) -> Tuple[Tuple[str, int, int, str], Any]:
    from fake_net import Delay, FakeNetwork, PartialSend, ShortRead

    net = FakeNetwork(seed=seed, faults=[
        PartialSend(probability=0.5),
        ShortRead(probability=0.5),
        Delay(seconds=0.001, jitter=0.004),
    ])
    return _one(method, net), net


METHODS = [("select", False), ("poll", True), ("epoll", "epoll")]


def run_demo(out: Any = None) -> int:
    out = out or sys.stdout
    expected = sum(len(m) for m in MESSAGES)
    failures = 0
    out.write("asyncore-sim demo: one echo server and client, %d bytes in %d "
              "messages\n\n" % (expected, len(MESSAGES)))
    out.write("real network (127.0.0.1)\n")
    out.write("%-8s %-9s %10s %11s  %s\n" % ("method", "result", "bytes",
                                             "iterations", "client callbacks"))
    for label, use_poll in METHODS:
        result, nbytes, iterations, events = _one(use_poll)
        failures += result != "ok"
        out.write("%-8s %-9s %10d %11d  %s\n" % (label, result, nbytes,
                                                 iterations, events))
    seed = 2026
    out.write("\nsimulated network (fake_net, seed %d: random partial sends, "
              "short reads, 1-5 ms delays)\n" % seed)
    out.write("%-8s %-9s %10s %11s %8s %12s  %s\n" % (
        "method", "result", "bytes", "iterations", "events", "virtual s",
        "same events on a rerun"))
    for label, use_poll in METHODS:
        (result, nbytes, iterations, _), net = _fake_run(use_poll, seed)
        first = hashlib.sha256("\n".join(net.event_lines()).encode()).hexdigest()
        _, again = _fake_run(use_poll, seed)
        second = hashlib.sha256("\n".join(again.event_lines()).encode()).hexdigest()
        same = first == second
        failures += result != "ok" or not same
        out.write("%-8s %-9s %10d %11d %8d %12.6f  %s\n" % (
            label, result, nbytes, iterations, len(net.event_lines()), net.now,
            ("yes, sha256 %s" % first[:16]) if same else "NO: runs differ"))
    out.write("\n%s\n" % ("every run echoed every byte; simulated runs repeat "
                          "exactly" if not failures
                          else "%d run(s) failed" % failures))
    return 1 if failures else 0
