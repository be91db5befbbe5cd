"""Fault coverage (issue 14, item 11): faults that never fired are reported.

``FakeNetwork.unfired_faults()`` first, rule by rule and entry by entry;
then ``Sim.unfired``; then the pytest plugin (a warning, ``--sim-strict-faults``
and its ini setting, the failure report, drawn plans, Hypothesis, sweeps),
run on small test modules in a subprocess as a user's run would be; then the
``check`` line for a scenario.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from typing import Any, List

import pytest

from asyncore_sim.cli import main as cli_main
from asyncore_sim.testing import simulate
from fake_net import (
    CutReads,
    CutSends,
    DelaySegments,
    ExceptionalFile,
    FakeNetwork,
    FaultPlan,
    InterruptWait,
    Match,
    PartialSend,
    PeerClose,
    PeerReset,
    RefuseConnect,
    ShortRead,
)


def pair(net: FakeNetwork) -> Any:
    a, b = net.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


def texts(net: FakeNetwork) -> List[str]:
    return [str(u) for u in net.unfired_faults()]


# -- FakeNetwork.unfired_faults() -----------------------------------------------------


def test_a_script_entry_past_the_runs_last_send_is_reported_until_its_send_comes():
    net = FakeNetwork(faults=[CutSends(sizes=(None,) * 6 + (1,))])
    a, b = pair(net)
    for _ in range(3):
        a.send(b"abc")
    (u,) = net.unfired_faults()
    assert (u.rule, u.entry) == (0, 6)
    assert str(u) == (
        "send #7 accepts at most 1 (CutSends) never fired: the run made 3 sends"
    )
    for _ in range(3):
        a.send(b"abc")
    assert len(net.unfired_faults()) == 1
    assert a.send(b"abc") == 1  # send #7: it fires
    assert net.unfired_faults() == []


def test_an_entry_whose_call_was_within_the_cap_did_not_fire():
    net = FakeNetwork(faults=[CutSends(sizes=(5, 2)), CutReads(sizes=(10,))])
    a, b = pair(net)
    assert a.send(b"abcd") == 4  # within 5: not cut
    assert a.send(b"abcd") == 2  # cut to 2
    assert b.recv(100) == b"abcdab"  # 6 bytes, within 10
    assert texts(net) == [
        "send #1 accepts at most 5 (CutSends) never fired: send #1 offered only "
        "4 bytes",
        "recv #1 returns at most 10 (CutReads) never fired: recv #1 had only 6 "
        "bytes to return",
    ]


def test_entries_that_do_nothing_are_not_faults():
    net = FakeNetwork(
        faults=[CutSends(sizes=(None, None)), DelaySegments(seconds=(0.0,))]
    )
    assert net.unfired_faults() == []


def test_matching_is_said_and_only_matching_calls_count():
    net = FakeNetwork(faults=[CutSends(sizes=(None, 1), match=Match(side="server"))])
    a, b = pair(net)
    a.send(b"abc")
    a.send(b"abc")  # the client's sends do not count
    b.send(b"abc")
    assert texts(net) == [
        "send #2 (server side) accepts at most 1 (CutSends) never fired: the run "
        "made 1 send by the sockets it matches (server side)"
    ]


def test_a_stream_fault_past_the_bytes_that_arrived_says_how_far_they_got():
    net = FakeNetwork(faults=[PeerReset(after_bytes=4000)])
    a, b = pair(net)
    a.send(b"x" * 300)
    assert texts(net) == [
        "PeerReset(after_bytes=4000) never fired: the most any matching "
        "connection end received was 300 bytes"
    ]
    a.send(b"x" * 4000)
    assert net.unfired_faults() == []


def test_rules_that_match_no_call_or_are_never_drawn():
    net = FakeNetwork(
        faults=[
            RefuseConnect(match=Match(port=9)),
            ShortRead(probability=0.0),
            PartialSend(max_bytes=100),
            InterruptWait(at_step=1000),
            PeerClose(at_time=50.0),
            ExceptionalFile(),  # a setting of every file: never reported
        ]
    )
    a, b = pair(net)
    a.send(b"abc")
    b.recv(100)
    assert texts(net) == [
        "RefuseConnect(match=Match(port=9)) never fired: the run made no connect "
        "to port 9",
        "ShortRead(probability=0.0) never fired: its probability 0 drew none of "
        "its 1 chance",
        "PartialSend(max_bytes=100) never fired: none of the 1 send was larger "
        "than 100 bytes (the largest: 3)",
        "InterruptWait(at_step=1000) never fired: the run made no wait",
        "PeerClose(at_time=50.0) never fired: the run ended at t=0s, before t=50s",
    ]
    assert [u.rule for u in net.unfired_faults()] == [0, 1, 2, 3, 4]  # install order


def test_a_timed_fault_whose_moment_came_with_no_connection_open():
    net = FakeNetwork(faults=[PeerClose(at_time=50.0)])
    net.sleep(60)
    assert texts(net) == [
        "PeerClose(at_time=50.0) never fired: no matching connection was open at t=50s"
    ]


def test_the_same_run_reports_the_same_faults_in_the_same_order():
    def run() -> List[str]:
        plan = FaultPlan(sends=(2, None, 1, 9, 1), reads=(1, 3), end=("close", 999))
        net = plan.network(seed=4)
        net.add_fault(ShortRead(probability=0.5))
        a, b = pair(net)
        for _ in range(3):
            a.send(b"hello")
            b.recv(100)
        return texts(net)

    first = run()
    assert first and first == run()


# -- simulate() ------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::asyncore_sim.testing.UnfiredFaultWarning")
def test_sim_unfired_lists_the_plans_entries_and_rules_added_later():
    plan = FaultPlan(sends=(None, None, None, 1))
    with simulate(plan) as sim:
        sim.net.add_fault(RefuseConnect())
        a, b = pair(sim.net)
        a.send(b"abc")
    assert [(u.rule, u.entry) for u in sim.unfired] == [(0, 3), (1, None)]
    assert list(sim.plan_rules) == [0]
    with simulate(FaultPlan(sends=(1,))) as sim:
        a, b = pair(sim.net)
        a.send(b"abc")
    assert sim.unfired == []


# -- the pytest plugin ---------------------------------------------------------------

TESTS = '''
import pytest
from hypothesis import given, settings, strategies as st
from asyncore_sim.testing import simulate
from fake_net import CutSends, FaultPlan


def pair(net):
    a, b = net.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


def test_idle_plan():
    with simulate(FaultPlan(sends=(None,) * 9 + (1,))) as sim:
        a, b = pair(sim.net)
        a.send(b"abc")


def test_all_fire():
    with simulate(FaultPlan(sends=(1,))) as sim:
        a, b = pair(sim.net)
        assert a.send(b"abc") == 1


def test_rule_on_sim_net(sim_net):
    sim_net.net.add_fault(CutSends(sizes=(None, 1)))
    a, b = pair(sim_net.net)
    a.send(b"abc")


def test_fails_with_idle_plan():
    with simulate(FaultPlan(sends=(None, 1))) as sim:
        a, b = pair(sim.net)
        a.send(b"abc")
    assert False, "the test's own failure"


def test_drawn(sim_net):
    a, b = pair(sim_net.net)
    try:
        a.send(b"abc")
    except BlockingIOError:  # a drawn cut of 0
        pass


@pytest.mark.sim_faults(max_cuts=0, closes=False)
def test_drawn_empty(sim_net):
    test_drawn(sim_net)


@settings(max_examples=5, database=None, derandomize=True)
@given(st.integers(2, 9))
def test_in_hypothesis(n):
    with simulate(FaultPlan(sends=(None,) * n + (1,))) as sim:
        a, b = pair(sim.net)
        a.send(b"abc")
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
    (tmp_path / "test_cov.py").write_text(TESTS)
    return tmp_path


WARNED = ["test_cov.py::test_idle_plan", "test_cov.py::test_rule_on_sim_net"]


def test_pytest_warns_once_per_test_whose_faults_never_fired(project):
    r = run_pytest(project, "-q", "test_cov.py", "-k", "not fails")
    assert r.returncode == 0, r.stdout + r.stderr
    warned = re.findall(
        r"UnfiredFaultWarning: \d+ faults? never fired in (\S+)",
        r.stdout,
    )
    assert sorted(warned) == WARNED
    assert (
        "send #10 accepts at most 1 (CutSends) never fired: the run made 1 send"
        in r.stdout
    )
    assert "send #2 accepts at most 1 (CutSends) never fired" in r.stdout
    line = TESTS.split("\n").index("def test_idle_plan():") + 1
    assert "test_cov.py:%d: UnfiredFaultWarning" % line in r.stdout  # at its def


def test_strict_faults_fails_the_tests_and_names_the_faults(project):
    r = run_pytest(
        project, "-q", "test_cov.py", "-k", "not fails", "--sim-strict-faults"
    )
    assert r.returncode == 1, r.stdout + r.stderr
    failed = sorted(re.findall(r"^FAILED (\S+)", r.stdout, re.M))
    assert failed == WARNED
    assert "--sim-strict-faults: 1 fault never fired" in r.stdout
    assert "send #10 accepts at most 1 (CutSends) never fired" in r.stdout
    # The same from the ini file.
    (project / "pytest.ini").write_text("[pytest]\nsim_strict_faults = true\n")
    r = run_pytest(project, "-q", "test_cov.py", "-k", "not fails")
    assert r.returncode == 1
    assert sorted(re.findall(r"^FAILED (\S+)", r.stdout, re.M)) == failed


def test_a_failing_test_is_not_warned_about_but_its_report_lists_them(project):
    r = run_pytest(project, "-q", "test_cov.py::test_fails_with_idle_plan")
    assert r.returncode == 1
    assert "UnfiredFaultWarning" not in r.stdout
    assert re.search(
        r"^unfired: send #2 accepts at most 1 \(CutSends\) never fired", r.stdout, re.M
    ), r.stdout


def test_drawn_plans_are_not_warned_about_even_when_strict(project):
    # Seed 6 draws a plan with cuts (tests/test_toolkit_plugin.py): the
    # test's 1 send leaves most of them unfired.
    assert len(FaultPlan.random(6).sends) > 1
    r = run_pytest(
        project,
        "-q",
        "test_cov.py::test_drawn",
        "--sim-faults",
        "--sim-seed=6",
        "--sim-strict-faults",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "UnfiredFaultWarning" not in r.stdout


def test_a_sweep_lists_each_passing_seed_with_unfired_faults(project):
    r = run_pytest(project, "-q", "test_cov.py", "-k", "drawn", "--sim-sweep=6")
    assert r.returncode == 0, r.stdout + r.stderr
    listed = re.findall(
        r"^UNFIRED test_cov\.py::(test_drawn\w*)\[sim-seed-(\d+)\]: (\d+) faults? "
        r"never fired: (.*)$",
        r.stdout,
        re.M,
    )

    def unfired(seed: int) -> List[str]:  # test_drawn's body, here
        with simulate(FaultPlan.random(seed), seed=seed, drawn=True) as sim:
            a, b = pair(sim.net)
            try:
                a.send(b"abc")
            except BlockingIOError:
                pass
        return [str(u) for u in sim.unfired]

    expected = []
    for seed in range(6):
        faults = unfired(seed)
        if faults:
            shown = "; ".join(faults[:3])
            if len(faults) > 3:
                shown += "; and %d more" % (len(faults) - 3)
            expected.append(("test_drawn", str(seed), str(len(faults)), shown))
    assert expected and listed == expected  # none for test_drawn_empty's plans
    assert "%d passing runs had faults that never fired" % len(expected) in r.stdout


# -- asyncore-sim check --------------------------------------------------------------

PROGRAM = """
import asyncore_sim as asyncore


class Sender(asyncore.dispatcher):
    def __init__(self):
        super().__init__()
        self.out = b"hello"
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


Sender()
asyncore.loop(timeout=1)
"""


def test_check_prints_a_line_for_a_scenario_with_unfired_faults(tmp_path, capsys):
    (tmp_path / "prog.py").write_text(PROGRAM)
    scenario = tmp_path / "send.scenario"
    scenario.write_text(
        textwrap.dedent(
            """\
            program prog.py
            server 192.0.2.9:7
            at 1ms 192.0.2.9:7 accept
            fault CutSends sizes=2
            fault RefuseConnect port=80
            """
        )
    )
    assert cli_main(["check", str(scenario)]) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if "never fired" in ln]
    assert lines == [
        "%s: 1 fault never fired: RefuseConnect(match=Match(port=80)) never fired: "
        "the run made no connect to port 80" % scenario
    ]
    # Refused, the connect fires the rule; then the cut has no send to cut.
    scenario.write_text(scenario.read_text().replace("port=80", "port=7"))
    assert cli_main(["check", str(scenario)]) == 0
    out = capsys.readouterr().out
    assert [ln for ln in out.splitlines() if "never fired" in ln] == [
        "%s: 1 fault never fired: send #1 accepts at most 2 (CutSends) never "
        "fired: the run made no send" % scenario
    ]
