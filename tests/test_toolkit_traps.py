"""The toolkit's traps (issue 14): what a run says can be trusted."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import asyncore_sim as asyncore
from asyncore_sim.testing import Sim
from fake_net import FaultPlan, Match

ROOT = Path(__file__).resolve().parents[1]


class Echo(asyncore.dispatcher_with_send):
    def handle_read(self) -> None:
        data = self.recv(4096)
        if data:
            self.send(data)


class EchoServer(asyncore.dispatcher):
    def __init__(self) -> None:
        asyncore.dispatcher.__init__(self)
        self.create_socket()
        self.set_reuse_addr()
        self.bind(("127.0.0.1", 0))
        self.listen(5)

    def handle_accepted(self, sock: Any, addr: Any) -> None:
        Echo(sock)


class Client(asyncore.dispatcher_with_send):
    def __init__(self, address: Any, message: bytes) -> None:
        asyncore.dispatcher_with_send.__init__(self)
        self.create_socket()
        self.connect(address)
        self.send(message)
        self.received = b""

    def handle_read(self) -> None:
        self.received += self.recv(4096)


@pytest.mark.network
def test_a_real_run_settles_while_a_server_still_listens() -> None:
    """any_net's real arm: run() stops once the loopback run goes quiet,
    instead of looping until the map empties (hours, with a listener)."""
    from real_net import RealNetwork

    with Sim(network=RealNetwork()) as sim:
        server = EchoServer()
        client = Client(server.socket.getsockname(), b"hello")
        iterations = sim.run(timeout=0.2)
        assert client.received == b"hello"
        assert server.accepting  # still listening: the map never empties
        assert iterations < 200


def test_a_delay_beyond_the_loop_timeout_does_not_end_the_run_early() -> None:
    # The echo's second segment is due 2 s after it is sent, beyond the 1 s
    # loop timeout: the run must wait for it, not call itself settled.
    plan = FaultPlan(delays=(0.5, 0, 2.0), sends=(2, 3), match=Match(side="server"))
    with Sim(plan) as sim:
        server = EchoServer()
        client = Client(server.socket.getsockname(), b"hello world")
        sim.run(timeout=1.0)
        assert client.received == b"hello world"
        assert sim.net.now >= 2.0 - 0.5  # the 2 s delay was waited for


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "asyncore_sim", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


LEGACY = textwrap.dedent(
    """
    import asyncore, asynchat

    class Hello(asyncore.dispatcher):
        def __init__(self):
            asyncore.dispatcher.__init__(self)
            self.create_socket()
            self.connect(("127.0.0.1", 9))
        def handle_connect(self):
            pass
        def handle_close(self):
            self.close()
        def handle_error(self):
            self.close()

    Hello()
    asyncore.loop(timeout=0.1, count=5)
    """
)


def test_recording_a_legacy_program_runs_it_on_this_package(tmp_path: Path) -> None:
    """`import asyncore` in the recorded program is this package's (on 3.11
    it would be the stdlib's, and the recording would be empty)."""
    (tmp_path / "legacy.py").write_text(LEGACY)
    out = _cli(
        "record", "--network", "fake", "-o", "x.trace", "legacy.py", cwd=tmp_path
    )
    assert out.returncode in (0, 1), out.stderr
    assert "recorded 0 events" not in out.stderr
    trace = (tmp_path / "x.trace").read_text()
    assert " socket " in trace and " connect " in trace
    replayed = _cli("replay", "x.trace", cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "identical" in replayed.stdout


def test_a_program_that_never_reaches_the_package_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "nothing.py").write_text("print('no sockets here')\n")
    out = _cli("record", "-o", "x.trace", "nothing.py", cwd=tmp_path)
    assert out.returncode == 1
    assert "recorded no events" in out.stderr
    assert not (tmp_path / "x.trace").exists()
    (tmp_path / "empty.trace").write_text(
        "# asyncore-sim trace 1\n# network: fake\n# program: nothing.py\n"
    )
    replayed = _cli("replay", "empty.trace", cwd=tmp_path)
    assert replayed.returncode == 2
    assert "no I/O events: there is nothing to replay" in replayed.stderr
    assert "identical" not in replayed.stdout


GOLDEN_COMBOS = '''
import asyncore_sim as asyncore
from asyncore_sim.testing import simulate


class Sink(asyncore.dispatcher):
    def writable(self):
        return False

    def handle_read(self):
        self.recv(SIZE)


SIZE = 10


def _traffic(net):
    a, b = net.socketpair()
    b.send(b"x" * 4)
    b.close()
    Sink(a)


def test_with_sim_net(sim_net, golden_trace):
    with golden_trace.record(sim_net) as rec:
        _traffic(rec)
        sim_net.run()


def test_with_sim_net_network(sim_net, golden_trace):
    with golden_trace.record(sim_net.net) as rec:
        _traffic(rec)
        sim_net.run()


def test_inside_simulate(golden_trace):
    with simulate(seed=2) as sim:
        with golden_trace.record(sim) as rec:
            _traffic(rec)
            sim.run()


def test_inside_unrecorded_simulate(golden_trace):
    with simulate(seed=2, record=False) as sim:
        with golden_trace.record(sim.net) as rec:
            _traffic(rec)
            sim.run()


def test_with_any_net(any_net, golden_trace):
    if any_net.net.name == "real":
        return
    with golden_trace.record(any_net) as rec:
        _traffic(rec)
        any_net.run()


def test_forgot_to_record(golden_trace):
    pass
'''


def test_golden_trace_combines_with_sim_net_simulate_and_any_net(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_combo.py").write_text(GOLDEN_COMBOS)

    def run(*args: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider",
             "test_combo.py", *args],
            cwd=tmp_path, capture_output=True, text=True, timeout=180,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )

    first = run("--sim-rewrite-goldens")
    # Every combination records; the one that forgot to fails, once, as FAILED.
    assert "FAILED test_combo.py::test_forgot_to_record" in first.stdout, first.stdout
    assert "recorded nothing" in first.stdout
    assert " error" not in first.stdout.splitlines()[-1], first.stdout
    assert "1 failed, 6 passed" in first.stdout, first.stdout
    goldens = sorted(p.name for p in (tmp_path / "traces" / "test_combo").iterdir())
    assert goldens == [
        "test_inside_simulate.trace",
        "test_inside_unrecorded_simulate.trace",
        "test_with_any_net_fake.trace",
        "test_with_sim_net.trace",
        "test_with_sim_net_network.trace",
    ]
    for name in goldens:
        text = (tmp_path / "traces" / "test_combo" / name).read_text()
        assert " recv " in text and "handle_read" in text, name
    again = run("-k", "not forgot")
    assert again.returncode == 0, again.stdout
    changed_source = GOLDEN_COMBOS.replace("SIZE = 10", "SIZE = 3")
    (tmp_path / "test_combo.py").write_text(changed_source)
    changed = run("-k", "not forgot and not real")
    assert "5 failed" in changed.stdout, changed.stdout
    assert "differs from its golden trace" in changed.stdout
    assert " error" not in changed.stdout.splitlines()[-1], changed.stdout


def test_smaller_traps(tmp_path: Path) -> None:
    from asyncore_sim.cli import main
    from fake_net import FakeNetwork

    assert main(["--version"]) == 0
    version = _cli("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("asyncore-sim 0.")
    with pytest.raises(ValueError, match="seed must be an int >= 0, got -1"):
        FaultPlan.random(-1)  # random.Random(-1) would equal Random(1)
    assert FaultPlan.random(1) == FaultPlan.random(1)
    with pytest.raises(TypeError, match="must be an int, got 'x'"):
        FakeNetwork(seed="x")  # type: ignore[arg-type]
    for package in ("fake_net", "real_net", "asyncore_seam", "asyncore_sim"):
        assert (ROOT / package / "py.typed").exists(), package
    out = _cli("sweep", "nothere.py", cwd=tmp_path)
    assert out.returncode == 2 and "nothere.py: no such test file" in out.stderr
