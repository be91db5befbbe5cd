"""The ``demo`` command: an echo exchange over loopback with each readiness method.

Until the documented runs can be replayed on fake_net, this is the closest
real demonstration of the package: classic asyncore handler code (an echo
server, a buffered client) runs unchanged on the real network, once per
readiness method, and the report says what crossed the wire.
"""

from __future__ import annotations

import sys
from typing import Any, List, Tuple

from asyncore_sim import asyncore

__all__ = ["run_demo"]

MESSAGES = [b"It's not dead, it's sleeping!", b"x" * 70000, b"bye\n"]


class EchoHandler(asyncore.dispatcher_with_send):
    def handle_read(self) -> None:
        data = self.recv(8192)
        if data:
            self.send(data)


class EchoServer(asyncore.dispatcher):
    def __init__(self, map: Any) -> None:
        asyncore.dispatcher.__init__(self, map=map)
        self.create_socket()
        self.set_reuse_addr()
        self.bind(("127.0.0.1", 0))
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


def _one(method: Any) -> Tuple[str, int, int, str]:
    map: dict = {}
    server = EchoServer(map)
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


def run_demo(out: Any = None) -> int:
    out = out or sys.stdout
    methods = [("select", False), ("poll", True), ("epoll", "epoll")]
    expected = sum(len(m) for m in MESSAGES)
    out.write("asyncore-sim demo: echo over 127.0.0.1, %d bytes in %d messages\n\n"
              % (expected, len(MESSAGES)))
    out.write("%-8s %-9s %10s %11s  %s\n" % ("method", "result", "bytes", "iterations",
                                             "client callbacks"))
    failures = 0
    for label, use_poll in methods:
        result, nbytes, iterations, events = _one(use_poll)
        failures += result != "ok"
        out.write("%-8s %-9s %10d %11d  %s\n" % (label, result, nbytes, iterations,
                                                 events))
    out.write("\n%s\n" % ("all methods echoed every byte" if not failures
                          else "%d method(s) failed" % failures))
    return 1 if failures else 0
