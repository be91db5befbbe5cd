"""The pytest plugin's simulated-network fixtures, failure reports and sweeps.

Each test writes a small test module into a temporary directory and runs
pytest on it in a subprocess (the plugin is loaded from the installed entry
point, as a user's run loads it), then checks what the run printed and wrote.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import pytest

from asyncore_sim.trace import Trace
from fake_net import FaultPlan

PEERS = '''
import asyncore_sim


class Echo(asyncore_sim.dispatcher_with_send):
    def handle_read(self):
        data = self.recv(100)
        if data:
            self.send(data)


class LossyEcho(asyncore_sim.dispatcher):
    """Ignores what send() returns: loses bytes on a partial send."""

    def writable(self):
        return False

    def handle_read(self):
        data = self.recv(100)
        if data:
            self.send(data)


class Server(asyncore_sim.dispatcher):
    def __init__(self, handler):
        super().__init__()
        self.handler = handler
        self.create_socket()
        self.set_reuse_addr()
        self.bind(("127.0.0.1", 0))
        self.listen(5)

    def handle_accepted(self, sock, addr):
        self.handler(sock)


class Client(asyncore_sim.dispatcher):
    def __init__(self, addr, message):
        super().__init__()
        self.create_socket()
        self.connect(addr)
        self.out = message
        self.got = b""
        self.n = len(message)
        self.done = False

    def handle_connect(self):
        pass

    def writable(self):
        return bool(self.out)

    def handle_write(self):
        self.out = self.out[self.send(self.out):]

    def handle_read(self):
        self.got += self.recv(100)
        if len(self.got) >= self.n:
            self.handle_close()

    def handle_close(self):
        self.done = True
        self.close()


def echo(sim, handler, message=b"m" * 300):
    server = Server(handler)
    client = Client(server.socket.getsockname(), message)
    sim.run(until=lambda: client.done)
    return client.got
'''

SIM_TESTS = """
import pytest
import fake_net
from peers import Echo, LossyEcho, echo


@pytest.mark.sim_faults(closes=False)
def test_seeded(sim_net):
    assert isinstance(sim_net.net, fake_net.FakeNetwork)
    print("SEED=%d PLAN=%r" % (sim_net.seed, sim_net.plan))
    assert echo(sim_net, Echo) == b"m" * 300


@pytest.mark.sim_faults(closes=False)
def test_lossy(sim_net):
    assert echo(sim_net, LossyEcho) == b"m" * 300


def test_any(any_net):
    print("NET=%s" % any_net.net.name)
    assert echo(any_net, Echo) == b"m" * 300


def test_plain():
    pass
"""


def run_pytest(cwd: Any, *args: str, timeout: float = 120) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def project(tmp_path: Any) -> Any:
    (tmp_path / "peers.py").write_text(PEERS)
    (tmp_path / "test_sim.py").write_text(SIM_TESTS)
    return tmp_path


def reported(stdout: str, key: str) -> list:
    return re.findall(r"^%s: (.*)$" % key, stdout, re.M)


def test_sim_net_is_seeded_from_sim_seed_and_has_no_faults_by_default(project):
    r = run_pytest(project, "-s", "-q", "test_sim.py::test_seeded")
    assert r.returncode == 0, r.stdout
    assert "SEED=0 PLAN=FaultPlan()" in r.stdout
    r = run_pytest(project, "-s", "-q", "test_sim.py::test_seeded", "--sim-seed=42")
    assert "SEED=42 PLAN=FaultPlan()" in r.stdout
    assert "asyncore-sim: --sim-seed=42" not in r.stdout  # -q hides the header
    r = run_pytest(project, "-s", "test_sim.py::test_seeded", "--sim-seed=random")
    assert r.returncode == 0, r.stdout
    header_seed = re.search(r"asyncore-sim: --sim-seed=(\d+)", r.stdout)
    assert header_seed, r.stdout
    assert "SEED=%s " % header_seed.group(1) in r.stdout
    r = run_pytest(
        project, "-s", "-q", "test_sim.py::test_seeded", "--sim-faults", "--sim-seed=3"
    )
    assert "SEED=3 PLAN=%r" % (FaultPlan.random(3, closes=False),) in r.stdout


def test_bad_sim_seed_is_a_usage_error(project):
    r = run_pytest(project, "-q", "--sim-seed=abc")
    assert r.returncode == 4
    assert "--sim-seed: expected an integer or 'random', got 'abc'" in r.stderr


def test_markers_select_the_network_arms(project):
    r = run_pytest(project, "-s", "-q", "test_sim.py", "-m", "real_net")
    assert r.returncode == 0, r.stdout
    assert "NET=real" in r.stdout and "NET=fake" not in r.stdout
    assert "1 passed, 4 deselected" in r.stdout
    r = run_pytest(project, "-s", "-q", "test_sim.py", "-m", "fake_net")
    assert "NET=fake" in r.stdout and "NET=real" not in r.stdout
    assert "3 passed, 2 deselected" in r.stdout  # test_seeded, test_lossy, [fake]


def test_a_failure_reports_seed_plan_trace_and_a_command_that_reproduces_it(project):
    # Seed 6's random plan cuts sends: the lossy echo loses bytes.
    r = run_pytest(
        project, "-q", "test_sim.py::test_lossy", "--sim-seed=6", "--sim-faults"
    )
    assert r.returncode == 1, r.stdout
    assert "- asyncore-sim -" in r.stdout
    assert reported(r.stdout, "seed") == ["6"]
    plan = FaultPlan.random(6, closes=False)
    assert reported(r.stdout, "plan") == [repr(plan)]
    # The report lists the plan's entries in words: seed 6's send #2 is
    # cut to 0 bytes (EWOULDBLOCK), its send #3 to a few.
    assert plan.sends[1] == 0 and plan.sends[2]
    assert "  - send #2 fails with EWOULDBLOCK" in r.stdout
    assert "  - send #3 accepts at most %d" % plan.sends[2] in r.stdout
    (command,) = reported(r.stdout, "reproduce")
    assert command == (
        "python -m pytest test_sim.py::test_lossy --sim-seed=6 --sim-faults"
    )
    (trace_file,) = reported(r.stdout, "trace")
    trace = Trace.load(os.path.join(str(project), trace_file))
    assert trace.header["seed"] == "6"
    # Its sequence diagram is drawn next to it.
    (diagram,) = reported(r.stdout, "diagram")
    assert diagram == trace_file[: -len(".trace")] + ".html"
    page = (project / diagram).read_text()
    assert page.startswith("<!DOCTYPE html>") and "send" in page
    assert FaultPlan.from_json(trace.header["plan"]) == plan
    assert trace.header["reproduce"] == command
    first = trace.dumps()
    # The printed command, run as printed, fails the same way, event for event.
    words = command.split()
    assert words[:3] == ["python", "-m", "pytest"]
    again = run_pytest(project, "-q", *words[3:])
    assert again.returncode == 1
    assert Trace.load(os.path.join(str(project), trace_file)).dumps() == first


def test_a_hypothesis_failure_reports_the_minimal_plan(project):
    (project / "test_prop.py").write_text("""
from hypothesis import given, settings
from asyncore_sim.testing.strategies import fault_plans
from asyncore_sim.testing import simulate
from peers import LossyEcho, echo

@settings(max_examples=60, derandomize=True, database=None, deadline=None)
@given(plan=fault_plans(reads=False, delays=False))
def test_lossy(plan):
    with simulate(plan) as sim:
        got = echo(sim, LossyEcho)
    assert got == b"m" * 300
""")
    r = run_pytest(project, "-q", "test_prop.py")
    assert r.returncode == 1, r.stdout
    (plan_text,) = reported(r.stdout, "plan")
    falsifying = re.search(r"plan=(FaultPlan\(.*\)),", r.stdout)
    assert falsifying, r.stdout
    assert plan_text == falsifying.group(1)  # the report shows Hypothesis's minimum
    plan = eval(plan_text, {"FaultPlan": FaultPlan})
    assert plan.size == 1 and len(plan.sends) <= 2
    (trace_file,) = reported(r.stdout, "trace")
    trace = Trace.load(os.path.join(str(project), trace_file))
    assert FaultPlan.from_json(trace.header["plan"]) == plan
    assert "@example(plan=%s)" % plan_text in r.stdout


def test_a_sweep_writes_each_failing_seed_and_a_committed_one_is_replayed(project):
    out = project / "sweep-out"
    r = run_pytest(
        project,
        "test_sim.py",
        "--sim-sweep=12",
        "--sim-sweep-start=0",
        "--sim-trace-dir=%s" % out,
        "-q",
    )
    assert r.returncode == 1, r.stdout
    # Only sim_net tests run, once per seed.
    assert "test_plain" not in r.stdout and "test_any" not in r.stdout
    assert "sweep: 24/24 runs" in r.stdout
    failed = sorted(
        re.findall(
            r"^FAILED test_sim\.py::test_lossy\[sim-seed-(\d+)\]$", r.stdout, re.M
        ),
        key=int,
    )
    assert failed, r.stdout
    assert "test_seeded[" not in " ".join(re.findall(r"^FAILED .*", r.stdout, re.M))
    written = sorted(os.listdir(out / "test_sim" / "test_lossy"))
    assert written == sorted(
        "seed-%s.%s" % (s, ext) for s in failed for ext in ("html", "trace")
    )
    # The summary names each failing seed's trace and its diagram.
    assert len(re.findall(r"^    diagram: .*seed-\d+\.html$", r.stdout, re.M)) == len(
        failed
    ), r.stdout
    seed = failed[0]
    trace = Trace.load(str(out / "test_sim" / "test_lossy" / ("seed-%s.trace" % seed)))
    assert FaultPlan.from_json(trace.header["plan"]) == FaultPlan.random(
        int(seed), closes=False
    )
    # Commit it as a regression case: ordinary runs replay it from now on.
    regressions = project / "traces" / "regressions" / "test_sim" / "test_lossy"
    regressions.mkdir(parents=True)
    (regressions / ("seed-%s.trace" % seed)).write_text(trace.dumps())
    r = run_pytest(project, "-v", "test_sim.py::test_lossy")
    assert "test_lossy[sim-default] PASSED" in r.stdout
    assert "test_lossy[regression-seed-%s] FAILED" % seed in r.stdout
    assert reported(r.stdout, "seed") == [seed]


def test_a_bad_regression_trace_names_the_file(project):
    folder = project / "traces" / "regressions" / "test_sim" / "test_lossy"
    folder.mkdir(parents=True)
    (folder / "seed-1.trace").write_text("# asyncore-sim trace 1\n# plan: {oops\n")
    r = run_pytest(project, "-q", "test_sim.py")
    assert r.returncode != 0
    assert "unusable regression trace" in r.stdout + r.stderr
    assert "seed-1.trace" in r.stdout + r.stderr


def test_bad_sim_faults_options_name_the_test(project):
    (project / "test_bad.py").write_text("""
import pytest

@pytest.mark.sim_faults(colses=False)
def test_typo(sim_net):
    pass
""")
    r = run_pytest(project, "-q", "test_bad.py", "--sim-faults")
    assert r.returncode != 0
    assert "test_bad.py::test_typo: bad @pytest.mark.sim_faults options" in (
        r.stdout + r.stderr
    )


def test_the_sweep_command_spreads_seeds_over_xdist_workers(project):
    pytest.importorskip("xdist")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "asyncore_sim",
            "sweep",
            "test_sim.py",
            "--seeds",
            "10",
            "--start",
            "100",
            "-n",
            "2",
            "--out",
            "found",
        ],
        cwd=str(project),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert "--sim-sweep=10 --sim-sweep-start=100" in r.stdout
    assert "-n 2" in r.stdout
    assert "bringing up nodes" in r.stdout  # ran on xdist workers
    assert "sweep: 20/20 runs" in r.stdout
    failing = re.findall(
        r"^FAILED test_sim\.py::test_lossy\[sim-seed-(\d+)\]$", r.stdout, re.M
    )
    assert failing and all(100 <= int(s) < 110 for s in failing)
    written = os.listdir(project / "found" / "test_sim" / "test_lossy")
    assert sorted(w for w in written if w.endswith(".trace")) == sorted(
        "seed-%s.trace" % s for s in failing
    )


def test_the_readme_sweep_example_finds_the_documented_defects(tmp_path):
    # README: asyncore-sim sweep examples/testing/test_echo_sweep.py --seeds 200
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = run_pytest(
        root,
        "examples/testing/test_echo_sweep.py",
        "--sim-sweep=20",
        "--sim-trace-dir=%s" % tmp_path,
        "-q",
        "--tb=no",
    )
    assert r.returncode == 1, r.stdout
    failed = re.findall(r"^FAILED \S+::(test_\w+)\[sim-seed-(\d+)\]$", r.stdout, re.M)
    assert failed and {name for name, _ in failed} == {"test_documented"}
    written = os.listdir(tmp_path / "test_echo_sweep" / "test_documented")
    assert sorted(w for w in written if w.endswith(".trace")) == sorted(
        "seed-%s.trace" % s for _, s in failed
    )


def test_a_default_sweep_feeds_nothing_into_ordinary_runs_until_promoted(project):
    def collected() -> int:
        r = run_pytest(project, "--collect-only", "-q", "test_sim.py")
        return len([line for line in r.stdout.splitlines() if "::" in line])

    before = collected()
    r = subprocess.run(
        [sys.executable, "-m", "asyncore_sim", "sweep", "test_sim.py", "--seeds", "8",
         "-n", "0"],
        cwd=str(project), capture_output=True, text=True, timeout=180,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    failing = re.findall(r"^FAILED (test_sim\.py::\S+)$", r.stdout, re.M)
    assert failing and len(failing) == len(set(failing))  # each listed once
    sweeps = project / ".asyncore-sim" / "sweeps" / "test_sim" / "test_lossy"
    written = sorted(w for w in os.listdir(sweeps) if w.endswith(".trace"))
    assert written and not (project / "traces" / "regressions").exists()
    assert collected() == before  # nothing the sweep wrote is collected
    assert "asyncore-sim promote TRACE" in r.stdout
    # Keep one on purpose: it becomes one regression case.
    p = subprocess.run(
        [sys.executable, "-m", "asyncore_sim", "promote", str(sweeps / written[0])],
        cwd=str(project), capture_output=True, text=True, timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert (project / "traces" / "regressions" / "test_sim" / "test_lossy"
            / written[0]).exists()
    assert collected() == before + 1
    again = subprocess.run(
        [sys.executable, "-m", "asyncore_sim", "promote", str(sweeps / written[0])],
        cwd=str(project), capture_output=True, text=True, timeout=60,
    )
    assert again.returncode == 2 and "already a regression case" in again.stderr


def test_sim_faults_takes_resets_as_fault_plans_does(project):
    (project / "test_resets.py").write_text("""
import pytest

@pytest.mark.sim_faults(resets=False)
def test_no_resets(sim_net):
    assert sim_net.plan.end is None or sim_net.plan.end.kind == "close"
""")
    r = run_pytest(project, "-q", "test_resets.py", "--sim-faults", "--sim-seed=3")
    assert r.returncode == 0, r.stdout + r.stderr
