"""Scenario lines for hosts (issue 15 item 3): ``host``, ``hostlink`` and the
timed host verbs ``at TIME partition|heal|hold|release A B`` and ``at TIME
crash|restart H``, read into fake_net's Host/HostLink and ``net.at()``."""

from __future__ import annotations

import textwrap

import pytest

from asyncore_sim.trace.scenario import ScenarioError, load_scenario, run_scenario
from fake_net import Host, HostLink

PROGRAM = textwrap.dedent(
    """
    import time
    from asyncore_sim import asyncore

    class Server(asyncore.dispatcher):
        def __init__(self):
            super().__init__()
            self.create_socket()
            self.bind(("10.2.0.1", 7000))
            self.listen(5)
        def handle_accepted(self, sock, addr):
            print("accepted at %.3f from %s" % (time.monotonic(), addr[0]))
            sock.close()
            self.close()

    class Client(asyncore.dispatcher):
        def __init__(self):
            super().__init__()
            self.create_socket()
            self.bind(("10.1.0.1", 0))
            self.connect(("kv.example", 7000))
        def handle_connect(self):
            print("connected at %.3f" % time.monotonic())
            self.close()
        def writable(self):
            return not self.connected
        def handle_read(self):
            pass

    Server()
    Client()
    asyncore.loop(timeout=10, count=20)
    """
)

HOSTS = """\
program p.py
host client 10.1.0.1
host server 10.2.0.1 kv.example
hostlink client server latency=10ms
"""


def _write(tmp_path, text: str) -> str:
    (tmp_path / "p.py").write_text(PROGRAM)
    path = tmp_path / "h.scenario"
    path.write_text(text)
    return str(path)


def _output(tmp_path, text: str) -> str:
    result = run_scenario(load_scenario(_write(tmp_path, text)))
    assert result.error is None, result.error
    return str(result.output)


def test_the_lines_make_hosts_links_and_timed_events(tmp_path):
    scn = load_scenario(_write(tmp_path, HOSTS + "at 2500ms heal client server\n"))
    assert scn.hosts == [
        Host("client", ["10.1.0.1"]),
        Host("server", ["10.2.0.1"], ["kv.example"]),
    ]
    assert scn.host_links == [HostLink("client", "server", latency=0.01)]
    assert [e[:3] for e in scn.host_events] == [(2.5, "heal", ("client", "server"))]


def test_a_connect_across_a_partition_completes_at_the_first_syn_after_heal(tmp_path):
    # No partition: one round trip of 2 x 10 ms.
    assert _output(tmp_path, HOSTS) == (
        "accepted at 0.020 from 10.1.0.1\nconnected at 0.020\n"
    )
    # Partitioned from the start, healed at 2.5 s: Linux resends the SYN at
    # 1 s and 3 s (tcp_syn_retries backoff), and the 3 s one gets through.
    partitioned = HOSTS + "at 0s partition client server\n" + (
        "at 2500ms heal client server\n"
    )
    assert _output(tmp_path, partitioned) == (
        "accepted at 3.020 from 10.1.0.1\nconnected at 3.020\n"
    )
    # Healed before the first resend: it goes at 1 s.
    early = HOSTS + "at 0s partition client server\nat 500ms heal client server\n"
    assert _output(tmp_path, early).startswith("accepted at 1.020")


@pytest.mark.parametrize(
    "line, message",
    [
        ("host", "usage: host NAME"),
        ("host client 10.1.0.300", "host:"),
        ("host client 10.1.0.9", "host client is declared twice"),
        ("hostlink client nowhere", "unknown host 'nowhere'"),
        ("hostlink client server speed=1", "usage: hostlink"),
        ("hostlink client server latency=fast", "bad time"),
        ("hostlink client server latency=1ms latency=2ms", "latency given twice"),
        ("at 1s partition client nowhere", "unknown host 'nowhere'"),
        ("at 1s partition client client", "a host with itself"),
        ("at 1s crash client server", "takes one host"),
        ("at 1s heal client", "takes two hosts"),
        ("at 2s heal client server\nat 1s heal client server", "keep the timeline"),
    ],
)
def test_bad_host_lines_are_named_by_line(tmp_path, line, message):
    path = _write(tmp_path, HOSTS + line + "\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "h.scenario:" in str(info.value) and message in str(info.value)
