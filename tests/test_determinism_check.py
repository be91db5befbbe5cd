"""The built-in determinism check (issue 14, item 12).

``simulate(check_determinism=True)(body)`` runs the body twice on fresh
networks and compares the traces; ``pytest --sim-check-determinism`` (and
its ini setting) does it for every simulated test; ``asyncore-sim check
--twice`` for scenarios.  Each is shown catching a body that reads a
module-level counter, which changes between the runs, and passing a
deterministic one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from typing import Any

import pytest

import asyncore_sim
from asyncore_sim.cli import main as cli_main
from asyncore_sim.testing import NonDeterministicRun, simulate
from asyncore_sim.trace import Trace
from fake_net import FakeNetwork, FaultPlan

COUNTER = [0]  # module state: it survives from one run to the next


def send_counted(sim: Any, deterministic: bool) -> bytes:
    """Send 3 bytes, or (not deterministic) one more byte each run, on
    sockets made on the network directly (seen by its own log only)."""
    COUNTER[0] += 1
    a, b = sim.net.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    a.send(b"x" * (3 if deterministic else COUNTER[0]))
    return b.recv(100)


class Greeter(asyncore_sim.dispatcher):
    """Listens; sends each connection one more byte per run, then closes."""

    def __init__(self) -> None:
        super().__init__()
        self.create_socket()
        self.bind(("127.0.0.1", 9))
        self.listen(1)

    def handle_accepted(self, sock: Any, addr: Any) -> None:
        sock.send(b"x" * COUNTER[0])
        sock.close()


def greet(sim: Any) -> None:
    """Dispatchers: every call is in the recorded trace."""
    COUNTER[0] += 1
    Greeter()
    client = asyncore_sim.dispatcher()
    client.create_socket()
    client.connect(("127.0.0.1", 9))
    client.handle_read = lambda: client.recv(100)
    sim.run()


# -- simulate(check_determinism=True) ------------------------------------------------


def test_a_deterministic_body_passes_and_returns_the_first_runs_result():
    plan = FaultPlan(sends=(1,))
    sim = simulate(plan, seed=3, check_determinism=True)
    assert sim(lambda s: send_counted(s, True)) == b"x"  # cut to 1 by the plan
    assert sim.second is not None and sim.second.first is sim
    assert sim.second.net is not sim.net  # a fresh network
    assert sim.trace.dumps() == sim.second.trace.dumps()
    assert sim.second.seed == 3 and sim.second.plan == plan


def test_a_body_that_reads_changing_module_state_is_caught_at_the_first_difference():
    sim = simulate(seed=1, check_determinism=True)
    with pytest.raises(NonDeterministicRun) as caught:
        sim(greet)
    text = str(caught.value)
    assert "not deterministic: two runs with seed 1 and plan FaultPlan()" in text
    first = [e.line() for e in sim.trace.events]
    second = [e.line() for e in sim.second.trace.events]
    index = next(i for i, (x, y) in enumerate(zip(first, second)) if x != y)
    assert " send " in first[index]
    assert "event %d (line %d of the event list) differs" % (index, index + 1) in text
    assert "--- first run\n+++ second run" in text
    assert "- %5d  %s" % (index, first[index]) in text
    assert "+ %5d  %s" % (index, second[index]) in text
    assert sim.error is caught.value  # noted as the run's failure
    # Deterministic, the same body passes.
    COUNTER[0] = 0
    deterministic = simulate(seed=1, check_determinism=True)
    deterministic(lambda s: (greet(s), COUNTER.__setitem__(0, 0)))
    assert deterministic.trace.dumps() == deterministic.second.trace.dumps()


def test_calls_no_recorder_sees_are_compared_in_the_networks_own_log():
    sim = simulate(seed=1, check_determinism=True)
    with pytest.raises(NonDeterministicRun) as caught:
        sim(lambda s: send_counted(s, False))
    text = str(caught.value)
    assert sim.trace.events == [] == sim.second.trace.events  # nothing recorded
    first, second = sim.net.event_lines(), sim.second.net.event_lines()
    index = next(i for i, (x, y) in enumerate(zip(first, second)) if x != y)
    assert "network event %d differs" % index in text
    assert "- %5d  %s" % (index, first[index]) in text
    assert "+ %5d  %s" % (index, second[index]) in text


def test_a_second_run_that_raises_where_the_first_passed_is_not_deterministic():
    def body(s: Any) -> None:
        COUNTER[0] += 1
        assert COUNTER[0] % 2, "fails every other run"

    COUNTER[0] = 0
    with pytest.raises(NonDeterministicRun, match="first run .* passed, the second"):
        simulate(check_determinism=True)(body)


def test_a_body_that_fails_both_times_fails_as_it_is():
    def body(s: Any) -> None:
        raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        simulate(check_determinism=True)(body)


def test_the_check_needs_the_body_as_a_function_and_its_own_networks():
    with pytest.raises(TypeError, match=r"pass the body as a function"):
        with simulate(check_determinism=True):
            pass
    with pytest.raises(ValueError, match="cannot be given network="):
        simulate(network=FakeNetwork(), check_determinism=True)
    # Calling without the check runs the body once, as `with` does.
    sim = simulate()
    assert sim(lambda s: send_counted(s, False)) and sim.second is None


# -- pytest --sim-check-determinism --------------------------------------------------

TESTS = '''
import asyncore_sim
from asyncore_sim.testing import simulate

COUNTER = [0]
GREETINGS = [0]
CALLS = []


class Greeter(asyncore_sim.dispatcher):
    def __init__(self):
        super().__init__()
        self.create_socket()
        self.bind(("127.0.0.1", 9))
        self.listen(1)

    def handle_accepted(self, sock, addr):
        sock.send(b"x" * GREETINGS[0])
        sock.close()


def test_nondet_dispatchers(sim_net):
    GREETINGS[0] += 1
    Greeter()
    client = asyncore_sim.dispatcher()
    client.create_socket()
    client.connect(("127.0.0.1", 9))
    client.handle_read = lambda: client.recv(100)
    sim_net.run()


def send(net, n):
    a, b = net.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    a.send(b"x" * n)
    assert b.recv(100) == b"x" * n


def test_det_sim_net(sim_net):
    send(sim_net.net, 3)


def test_nondet_sim_net(sim_net):
    COUNTER[0] += 1
    send(sim_net.net, COUNTER[0])


def test_nondet_simulate():
    COUNTER[0] += 1
    with simulate(seed=2) as sim:
        send(sim.net, COUNTER[0])


def test_det_simulate():
    with simulate(seed=2) as sim:
        send(sim.net, 5)


def test_fails_second_time(sim_net):
    CALLS.append(1)
    send(sim_net.net, 1)
    assert len(CALLS) == 1


def test_not_simulated():
    CALLS.append(2)
    assert CALLS.count(2) == 1  # run once: nothing simulated to compare
'''


def run_pytest(cwd: Any, *args: str) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def project(tmp_path: Any) -> Any:
    (tmp_path / "test_det.py").write_text(TESTS)
    return tmp_path


def outcomes(stdout: str) -> dict:
    found = re.findall(r"^test_det\.py::(\w+) (PASSED|FAILED)", stdout, re.M)
    return dict(found)


def test_without_the_option_every_test_passes(project):
    r = run_pytest(project, "-v", "test_det.py")
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_option_fails_exactly_the_non_deterministic_tests(project):
    # -rN: no short summary, whose lines repeat each message or not
    # depending on the terminal's width.
    r = run_pytest(project, "-v", "-rN", "test_det.py", "--sim-check-determinism")
    assert r.returncode == 1, r.stdout + r.stderr
    assert outcomes(r.stdout) == {
        "test_nondet_dispatchers": "FAILED",
        "test_det_sim_net": "PASSED",
        "test_nondet_sim_net": "FAILED",
        "test_nondet_simulate": "FAILED",
        "test_det_simulate": "PASSED",
        "test_fails_second_time": "FAILED",
        "test_not_simulated": "PASSED",
    }
    assert r.stdout.count("not deterministic: a second run of this test") == 3
    assert "simulated run 1 of 1 (seed 0, plan FaultPlan())" in r.stdout
    assert "simulated run 1 of 1 (seed 2, plan FaultPlan())" in r.stdout
    # Dispatchers: the recorded traces differ, at the byte the counter adds.
    assert "data differ at byte 1 of the event" in r.stdout
    # Direct calls on the network: its own log differs.
    assert "-     2  0.000000 send fd=512 1 1 b'x'" in r.stdout
    assert "+     2  0.000000 send fd=512 2 2 b'xx'" in r.stdout
    assert (
        "reproduce: python -m pytest test_det.py::test_nondet_sim_net "
        "--sim-check-determinism" in r.stdout
    )
    assert "this second run (same seeds and plans, fresh networks) failed" in r.stdout
    # Both traces are written, and asyncore-sim diff finds the difference.
    (traces,) = re.findall(r"^traces: (\S+) (\S+)$", r.stdout, re.M)
    assert traces[0].endswith("test_nondet_dispatchers.first.trace")
    first, second = (Trace.load(os.path.join(str(project), t)) for t in traces)
    assert first.dumps() != second.dumps()
    diff = subprocess.run(
        [sys.executable, "-m", "asyncore_sim", "diff", *traces],
        cwd=str(project),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert diff.returncode == 1 and "data differ at byte 1" in diff.stdout
    assert len(re.findall(r"^logs: \S+\.first\.events \S+", r.stdout, re.M)) == 2


def test_the_ini_setting_turns_it_on(project):
    (project / "pytest.ini").write_text("[pytest]\nsim_check_determinism = true\n")
    r = run_pytest(project, "-v", "test_det.py::test_nondet_sim_net")
    assert r.returncode == 1
    assert "not deterministic" in r.stdout


def test_hypothesis_tests_are_run_once(project):
    (project / "test_prop.py").write_text(textwrap.dedent('''
        from hypothesis import given, settings, strategies as st
        from asyncore_sim.testing import simulate

        RUNS = []

        @settings(max_examples=5, database=None, deadline=None)
        @given(st.integers(1, 50))
        def test_prop(n):
            RUNS.append(n)
            with simulate() as sim:
                a, b = sim.net.socketpair()
                a.send(b"x" * n)

        def test_ran_once():
            assert len(RUNS) == 5
    '''))
    r = run_pytest(project, "-q", "test_prop.py", "--sim-check-determinism")
    assert r.returncode == 0, r.stdout + r.stderr


# -- asyncore-sim check --twice --------------------------------------------------------

PROGRAM = """
import sys
import asyncore_sim as asyncore

RUNS = getattr(sys, "_determinism_check_runs", 0) + 1
sys._determinism_check_runs = RUNS  # in sys: it outlives the program's run


class Sender(asyncore.dispatcher):
    def __init__(self, count):
        super().__init__()
        self.out = b"x" * count
        self.create_socket()
        self.connect(("192.0.2.9", 7))

    def handle_connect(self):
        pass

    def writable(self):
        return bool(self.out)

    def handle_write(self):
        self.out = self.out[self.send(self.out):]
        if not self.out:
            self.close()


Sender(RUNS if DETERMINISTIC is False else 1)
asyncore.loop(timeout=1)
"""


@pytest.mark.parametrize("deterministic", [True, False])
def test_check_twice_runs_each_scenario_twice(tmp_path, capsys, deterministic):
    (tmp_path / "prog.py").write_text(
        "DETERMINISTIC = %r\n" % deterministic + PROGRAM
    )
    scenario = tmp_path / "send.scenario"
    scenario.write_text(
        "program prog.py\nserver 192.0.2.9:7\nat 1ms 192.0.2.9:7 accept\n"
    )
    assert cli_main(["check", str(scenario)]) == 0  # once: nothing to compare
    capsys.readouterr()
    status = cli_main(["check", "--twice", str(scenario)])
    out = capsys.readouterr().out
    if deterministic:
        assert status == 0, out
        assert "not deterministic" not in out
    else:
        assert status == 1, out
        assert "DIFFERS (not deterministic)" in out
        assert (
            "%s: not deterministic: a second run differs from the first" % scenario
            in out
        )
        assert "--- first run\n+++ second run" in out
        assert "data differ at byte" in out
