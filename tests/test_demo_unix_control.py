"""Demo: an async_chat control channel over AF_UNIX (issue 15, item 6(c)).

A control server (a dispatcher listening on a Unix socket path, one
async_chat handler per connection) answers line commands: ``SET k=v``,
``GET k``, ``KEYS``, ``QUIT``.  A client async_chat sends a script of
commands and keeps the replies.  The same program runs on real Unix sockets
(in a temporary folder) and on fake_net, with the same transcript; twice on
fake_net, recorded, it leaves identical traces, and the trace keeps the
socket's path.
"""

from __future__ import annotations

import os
import socket
import tempfile
from typing import Any, Dict, List

import pytest

import asyncore_sim as asyncore
from asyncore_sim import asynchat
from asyncore_sim.trace import Recorder, Trace
from fake_net import FakeNetwork

SCRIPT = [
    b"SET colour=blue",
    b"SET size=3",
    b"GET colour",
    b"GET missing",
    b"KEYS",
    b"FLY away",
    b"QUIT",
]
EXPECTED = ["OK", "OK", "blue", "-", "colour,size", "ERR unknown command FLY", "BYE"]


class ControlHandler(asynchat.async_chat):
    def __init__(self, sock: Any, map: Any, state: Dict[str, str]) -> None:
        asynchat.async_chat.__init__(self, sock, map=map)
        self.set_terminator(b"\n")
        self.state = state
        self.buf: List[bytes] = []

    def collect_incoming_data(self, data: bytes) -> None:
        self.buf.append(data)

    def found_terminator(self) -> None:
        line = b"".join(self.buf).decode()
        self.buf = []
        cmd, _, arg = line.partition(" ")
        if cmd == "SET":
            key, _, value = arg.partition("=")
            self.state[key] = value
            reply = "OK"
        elif cmd == "GET":
            reply = self.state.get(arg, "-")
        elif cmd == "KEYS":
            reply = ",".join(sorted(self.state))
        elif cmd == "QUIT":
            self.push(b"BYE\n")
            self.close_when_done()
            return
        else:
            reply = "ERR unknown command %s" % cmd
        self.push(reply.encode() + b"\n")


class ControlServer(asyncore.dispatcher):
    def __init__(self, path: Any, map: Any) -> None:
        asyncore.dispatcher.__init__(self, map=map)
        self.create_socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.bind(path)
        self.listen(5)
        self.state: Dict[str, str] = {}

    def handle_accepted(self, sock: Any, addr: Any) -> None:
        ControlHandler(sock, self._map, self.state)


class ControlClient(asynchat.async_chat):
    def __init__(self, path: Any, map: Any) -> None:
        asynchat.async_chat.__init__(self, map=map)
        self.create_socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.set_terminator(b"\n")
        self.replies: List[str] = []
        self.buf: List[bytes] = []
        self.connect(path)
        for line in SCRIPT:
            self.push(line + b"\n")

    def collect_incoming_data(self, data: bytes) -> None:
        self.buf.append(data)

    def found_terminator(self) -> None:
        self.replies.append(b"".join(self.buf).decode())
        self.buf = []

    def handle_close(self) -> None:
        self.close()


def run(path: Any, map: Any) -> List[str]:
    server = ControlServer(path, map)
    client = ControlClient(path, map)
    for _ in range(1000):  # bounded: the client closes after BYE
        if client._fileno is None:
            break
        asyncore.loop(timeout=0.5, map=map, count=1)
    server.close()
    asyncore.close_all(map=map)
    return client.replies


def run_fake(seed: int = 0) -> List[str]:
    net = FakeNetwork(seed=seed)
    return run("/run/control.sock", net.map())


def test_control_channel_on_fake_net() -> None:
    assert run_fake() == EXPECTED


@pytest.mark.network
def test_control_channel_on_real_unix_sockets_gives_the_same_transcript() -> None:
    folder = tempfile.mkdtemp(prefix="unix-control-")
    path = os.path.join(folder, "control.sock")
    try:
        real = run(path, {})
    finally:
        if os.path.exists(path):
            os.unlink(path)
        os.rmdir(folder)
    assert real == EXPECTED
    assert real == run_fake()


def _recorded(seed: int) -> Trace:
    net = FakeNetwork(seed=seed)
    with Recorder(net) as rec:
        replies = run("\0control", None)
    assert replies == EXPECTED
    return rec.trace


def test_two_fake_runs_leave_identical_traces_that_keep_the_path() -> None:
    a, b = _recorded(4), _recorded(4)
    assert a.dumps() == b.dumps()
    again = Trace.loads(a.dumps())
    assert again.dumps() == a.dumps()
    binds = [e for e in again.events if e.kind == "bind"]
    assert binds and binds[0].args[0] == "\0control"
    connects = [e for e in again.events if e.kind == "connect"]
    assert connects and connects[0].args[0] == "\0control"
    names = [e for e in again.events if e.kind == "getsockname"]
    assert all(e.result[0] in (b"\0control", "") for e in names)


def test_a_recorded_unix_run_replays_byte_for_byte() -> None:
    from asyncore_sim.trace import ReplayNetwork, first_difference

    recorded = _recorded(4)
    replay = ReplayNetwork(Trace.loads(recorded.dumps()))
    with Recorder(replay) as rec:
        assert run("\0control", None) == EXPECTED
    assert first_difference(recorded.events, rec.trace.events) is None
    assert replay.finished
