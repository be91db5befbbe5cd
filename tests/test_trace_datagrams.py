"""Datagrams in traces: a UDP program's sendto/recvfrom are recorded with
their addresses, replay byte for byte, and a departure names the datagram
(asyncore_sim/trace: _recorder, _format, _replay)."""

from __future__ import annotations

import socket
from typing import Any, List

import pytest

from asyncore_sim import asyncore
from asyncore_sim.trace import (
    Recorder,
    ReplayDiverged,
    ReplayNetwork,
    Trace,
    TraceFormatError,
    first_difference,
)
from fake_net import FakeNetwork

AGENT = ("127.0.0.1", 1161)


class Agent(asyncore.dispatcher):
    def __init__(self) -> None:
        super().__init__()
        self.create_socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.bind(AGENT)

    def writable(self) -> bool:
        return False

    def handle_read(self) -> None:
        data, addr = self.socket.recvfrom(512)
        self.socket.sendto(b"answer:" + data, addr)


class Client(asyncore.dispatcher):
    def __init__(self, agent: Agent, prefix: bytes = b"q") -> None:
        super().__init__()
        self.agent = agent
        self.prefix = prefix
        self.create_socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.got: List[Any] = []
        self.socket.sendto(prefix + b"0", AGENT)

    def writable(self) -> bool:
        return False

    def handle_read(self) -> None:
        buf = bytearray(64)
        n, addr = self.socket.recvfrom_into(buf)
        self.got.append((bytes(buf[:n]), addr))
        if len(self.got) == 3:
            self.close()
            self.agent.close()
            return
        self.socket.sendto(self.prefix + b"%d" % len(self.got), addr)


def _run(net: Any, prefix: bytes = b"q") -> Any:
    with Recorder(net) as rec:
        try:
            client = Client(Agent(), prefix)
            asyncore.loop(timeout=1)
        finally:
            asyncore.close_all()
    return rec.trace, client.got


def test_sendto_and_recvfrom_are_recorded_with_their_addresses():
    trace, got = _run(FakeNetwork(seed=2))
    assert [g[0] for g in got] == [b"answer:q0", b"answer:q1", b"answer:q2"]
    sends = [e for e in trace.events if e.kind == "sendto"]
    recvs = [e for e in trace.events if e.kind == "recvfrom"]
    assert len(sends) == 6 and len(recvs) == 6
    assert sends[0].args[0] == 2 and tuple(sends[0].args[1]) == AGENT
    assert sends[0].result == (2, b"q0")
    assert recvs[0].result[0] == b"q0"
    text = trace.dumps()
    assert '\nsendto ' not in text  # every line starts with its time stamp
    assert 'sendto 4 2 @127.0.0.1:1161 -> 2 "q0"' in text
    # The text form reads back to the same events.
    assert Trace.loads(text).events == trace.events


def test_a_datagram_recording_replays_byte_for_byte():
    trace, got = _run(FakeNetwork(seed=2))
    replay = ReplayNetwork(Trace.loads(trace.dumps()))
    again, got_again = _run(replay)
    assert first_difference(trace.events, again.events) is None
    assert replay.finished and got_again == got


def test_a_departing_datagram_is_named():
    trace, _ = _run(FakeNetwork(seed=2))
    with pytest.raises(ReplayDiverged) as info:
        _run(ReplayNetwork(trace), prefix=b"Q")
    assert "sendto" in str(info.value) and '"Q0"' in str(info.value)


@pytest.mark.network
def test_a_real_datagram_recording_replays():
    from real_net import RealNetwork

    trace, got = _run(RealNetwork())
    assert [g[0] for g in got] == [b"answer:q0", b"answer:q1", b"answer:q2"]
    again, _ = _run(ReplayNetwork(Trace.loads(trace.dumps())))
    assert first_difference(trace.events, again.events) is None


@pytest.mark.parametrize(
    "line, message",
    [
        ('0.0 sendto 3 2 -> 2 "ab"', "the address"),
        ('0.0 sendto 3 2 @127.0.0.1:9 -> 3 "abc"', "3 bytes sent of 2 offered"),
        ('0.0 recvfrom 3 2 -> "ab"', "sender's address"),
        ('0.0 recvfrom 3 1 -> "ab" @127.0.0.1:9', "2 bytes read with a buffer of 1"),
    ],
)
def test_malformed_datagram_events_are_named(line, message):
    with pytest.raises(TraceFormatError) as info:
        Trace.loads("# asyncore-sim trace 1\n" + line + "\n")
    assert message in str(info.value) and ":2:" in str(info.value)


def test_an_ipv6_datagram_recording_replays():
    class Agent6(Agent):
        def __init__(self) -> None:
            asyncore.dispatcher.__init__(self)
            self.create_socket(socket.AF_INET6, socket.SOCK_DGRAM)
            self.bind(("::1", 1161))

    def run6(net: Any) -> Any:
        with Recorder(net) as rec:
            try:
                agent = Agent6()
                client = asyncore.dispatcher()
                client.create_socket(socket.AF_INET6, socket.SOCK_DGRAM)
                client.socket.sendto(b"q6", ("::1", 1161))
                asyncore.loop(timeout=1, count=2)
                got = client.socket.recvfrom(64)
                agent.close()
                client.close()
            finally:
                asyncore.close_all()
        return rec.trace, got

    trace, got = run6(FakeNetwork())
    assert got[0] == b"answer:q6" and got[1][:2] == ("::1", 1161)
    assert "@[::1]:1161/0/0" in trace.dumps()
    again, got_again = run6(ReplayNetwork(Trace.loads(trace.dumps())))
    assert first_difference(trace.events, again.events) is None
    assert got_again == got


def test_show_draws_each_datagram_to_the_recvfrom_that_read_it():
    from asyncore_sim.diagram import build_diagram
    from fake_net import DropDatagram, Match

    trace, _ = _run(FakeNetwork(seed=2))
    d = build_diagram(trace)
    datagrams = [a for a in d.arrows if "datagram" in a.label]
    assert [a.label for a in datagrams] == ["2 B datagram", "9 B datagram"] * 3
    assert all(a.kind == "data" and a.end > a.start for a in datagrams)
    # Requests go from the client's lifeline to the agent's, answers back.
    assert {(a.src, a.dst) for a in datagrams[0::2]} == {(1, 0)}
    assert {(a.src, a.dst) for a in datagrams[1::2]} == {(0, 1)}

    # A datagram the network lost ends, never read, at the end of the diagram.
    net = FakeNetwork(seed=2, faults=[DropDatagram(skip=1, times=1, match=Match())])
    with Recorder(net) as rec:
        try:
            client = Client(Agent())
            asyncore.loop(timeout=1, count=20)
        finally:
            asyncore.close_all()
    assert client.got == []  # the first answer (the second datagram) was lost
    lost = [a for a in build_diagram(rec.trace).arrows if a.kind == "lost"]
    assert [a.label for a in lost] == ["9 B datagram never read"]
