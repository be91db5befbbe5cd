"""Datagram faults on fake_net: what each rule does to UDP datagrams.

Each rule is checked on the bytes, counts, order and virtual times of what
arrives; then ``skip=``/``times=``/``probability=``/``match=``, the seed
(same seed, same run), the checks on bad arguments, scenario lines, fault
plans (words, JSON, repr), fault coverage and the Hypothesis strategy.
"""

from __future__ import annotations

import socket

import attrs

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import fake_net
from asyncore_sim.testing.strategies import datagram_fault_plans, datagram_faults
from asyncore_sim.trace._scenario_file import ScenarioError, _make_fault
from asyncore_sim.trace.scenario import load_scenario, run_scenario
from fake_net import (
    CorruptDatagram,
    DelayDatagram,
    DropDatagram,
    DuplicateDatagram,
    FakeNetwork,
    FaultPlan,
    Match,
    PartialSend,
    ReorderDatagrams,
    TruncateDatagram,
)

PORT = 9000
DEST = ("127.0.0.1", PORT)


def pair(net):
    """(receiver bound to DEST, sender), both nonblocking."""
    rx = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(DEST)
    rx.setblocking(False)
    tx = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.setblocking(False)
    return rx, tx


def drain(rx):
    out = []
    while True:
        try:
            out.append(rx.recv(65536))
        except BlockingIOError:
            return out


def send_all(tx, messages, dest=DEST):
    for m in messages:
        tx.sendto(m, dest)


MESSAGES = [b"m%d" % i for i in range(6)]


def run(faults, messages=MESSAGES, seed=0, latency=0.0, until=10.0):
    net = FakeNetwork(seed=seed, faults=faults, latency=latency)
    rx, tx = pair(net)
    send_all(tx, messages)
    net.sleep(until)  # everything scheduled arrives
    return net, drain(rx)


def fault_lines(net):
    return [line for line in net.event_lines() if line.split()[1] == "fault"]


# -- each rule ---------------------------------------------------------------


def test_no_rules_every_datagram_once_in_order():
    _, got = run([])
    assert got == MESSAGES


def test_drop_loses_the_datagrams_it_picks_and_logs_each():
    net, got = run([DropDatagram(skip=1, times=2)])
    assert got == [b"m0", b"m3", b"m4", b"m5"]
    lines = fault_lines(net)
    assert len(lines) == 2 and all("'DropDatagram'" in x for x in lines)
    assert net.unfired_faults() == []


def test_duplicate_delivers_copies_gap_apart_in_virtual_time():
    net = FakeNetwork(seed=0, faults=[DuplicateDatagram(copies=2, gap=0.5, times=1)])
    rx, tx = pair(net)
    tx.sendto(b"hello", DEST)
    assert drain(rx) == [b"hello"]  # the original, at once
    net.sleep(0.5)
    assert drain(rx) == [b"hello"]
    net.sleep(0.5)
    assert drain(rx) == [b"hello"]
    tx.sendto(b"once", DEST)  # times=1: the next is untouched
    net.sleep(2.0)
    assert drain(rx) == [b"once"]
    assert rx.received == 4


def test_duplicate_without_gap_arrives_right_behind_the_original():
    _, got = run([DuplicateDatagram(skip=2, times=1)])
    assert got == [b"m0", b"m1", b"m2", b"m2", b"m3", b"m4", b"m5"]


@pytest.mark.parametrize("window", [1, 2, 3])
def test_reorder_lets_window_later_datagrams_overtake(window):
    _, got = run([ReorderDatagrams(window=window, times=1, skip=1)])
    rest = [m for m in MESSAGES if m != b"m1"]
    expected = rest[: 1 + window] + [b"m1"] + rest[1 + window :]
    assert got == expected
    assert sorted(got) == sorted(MESSAGES)  # nothing lost, nothing added


def test_a_held_datagram_arrives_after_hold_when_too_few_follow():
    net = FakeNetwork(seed=0, faults=[ReorderDatagrams(window=5, hold=0.25)])
    rx, tx = pair(net)
    send_all(tx, [b"a", b"b"])  # both held: none goes on to overtake them
    assert drain(rx) == []
    net.sleep(0.2)
    assert drain(rx) == []
    net.sleep(0.1)
    assert drain(rx) == [b"a", b"b"]


def test_reordered_datagrams_travel_with_the_networks_latency():
    net = FakeNetwork(seed=0, latency=0.1, faults=[ReorderDatagrams(window=1, times=1)])
    rx, tx = pair(net)
    send_all(tx, [b"a", b"b"])
    net.sleep(0.05)
    assert drain(rx) == []
    net.sleep(0.1)
    assert drain(rx) == [b"b", b"a"]


def test_truncate_cuts_to_the_mtu_and_spares_shorter_datagrams():
    msgs = [b"x" * 10, b"short", b"y" * 600]
    net, got = run([TruncateDatagram(mtu=8)], msgs)
    assert got == [b"x" * 8, b"short", b"y" * 8]
    assert len(fault_lines(net)) == 2  # the short one did not fire
    _, got = run([TruncateDatagram(mtu=0, times=1)], msgs)
    assert got == [b"", b"short", b"y" * 600]


def test_corrupt_flips_exactly_one_byte():
    _, got = run([CorruptDatagram(offset=1, xor=0x20, times=1)], [b"abc", b"abc"])
    assert got == [b"aBc", b"abc"]
    payload = bytes(range(64))
    for seed in range(5):
        net, (one,) = run([CorruptDatagram()], [payload], seed=seed)
        diffs = [i for i in range(64) if one[i] != payload[i]]
        assert len(one) == 64 and len(diffs) == 1
        assert fault_lines(net)[0].endswith(" %d" % diffs[0])


def test_corrupt_passes_datagrams_too_short_for_its_byte():
    net, got = run([CorruptDatagram(offset=3)], [b"", b"abc", b"abcd"])
    assert got[:2] == [b"", b"abc"] and got[2] != b"abcd"
    assert len(fault_lines(net)) == 1


def test_delay_arrives_late_and_may_be_overtaken():
    net = FakeNetwork(seed=0, faults=[DelayDatagram(seconds=0.5, times=1)])
    rx, tx = pair(net)
    send_all(tx, [b"late", b"early"])
    assert drain(rx) == [b"early"]
    net.sleep(0.49)
    assert drain(rx) == []
    net.sleep(0.01)
    assert drain(rx) == [b"late"]


def test_delay_jitter_is_drawn_from_the_seed_and_bounded():
    def arrivals(seed):
        net, got = run([DelayDatagram(seconds=1.0, jitter=0.5)], seed=seed)
        assert sorted(got) == MESSAGES
        return [e.time for e in net.events if e.kind == "arrive"]

    a = arrivals(3)
    assert a == arrivals(3)
    assert a != arrivals(4)
    assert all(1.0 <= t <= 1.5 for t in a)


# -- skip, times, probability, match, the seed --------------------------------


def test_times_zero_never_fires_and_coverage_says_so():
    net, got = run([DropDatagram(times=0)])
    assert got == MESSAGES
    (unfired,) = net.unfired_faults()
    assert "times=0" in str(unfired)


def test_probability_draws_from_the_seed():
    msgs = [b"%d" % i for i in range(200)]

    def kept(seed):
        return run([DropDatagram(probability=0.5)], msgs, seed=seed)[1]

    a = kept(1)
    assert a == kept(1)  # same seed, same datagrams lost
    assert a != kept(2)
    assert 60 < len(a) < 140
    assert run([DropDatagram(probability=0.0)], msgs)[1] == msgs


def test_match_by_port_fd_and_host():
    net = FakeNetwork(seed=0)
    rx, tx = pair(net)
    other = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("127.0.0.1", 9001))
    other.setblocking(False)
    net.add_fault(DropDatagram(match=Match(port=9001)))
    net.add_fault(DuplicateDatagram(match=Match(fd=other.fd)))
    tx.sendto(b"to-9000", DEST)
    tx.sendto(b"to-9001", ("127.0.0.1", 9001))
    other.sendto(b"from-9001", DEST)  # port 9001 is its source: dropped
    assert drain(rx) == [b"to-9000"]
    assert drain(other) == []
    net2 = FakeNetwork(seed=0, faults=[DuplicateDatagram(match=Match(fd=5))])
    rx2, tx2 = pair(net2)  # fds 3 and 4: no match
    tx2.sendto(b"x", DEST)
    assert drain(rx2) == [b"x"]
    net3 = FakeNetwork(seed=0, faults=[DropDatagram(match=Match(host="10.0.0.9"))])
    rx3, tx3 = pair(net3)
    tx3.sendto(b"kept", DEST)
    assert drain(rx3) == [b"kept"]
    net3.add_fault(DropDatagram(match=Match(host="127.0.0.1")))
    tx3.sendto(b"lost", DEST)
    assert drain(rx3) == []


def test_the_first_rule_that_acts_wins():
    _, got = run([TruncateDatagram(mtu=100), DropDatagram(times=1)], [b"a" * 5])
    assert got == []  # the truncation passed (short), so the drop acted
    _, got = run([DuplicateDatagram(times=1), DropDatagram()], [b"a", b"b"])
    assert got == [b"a", b"a"]


def test_same_seed_same_run_event_for_event():
    faults = [
        DropDatagram(probability=0.3),
        DuplicateDatagram(probability=0.3, gap=0.01),
        ReorderDatagrams(window=2, probability=0.3),
        CorruptDatagram(probability=0.3),
        DelayDatagram(seconds=0.1, jitter=0.2, probability=0.5),
    ]
    msgs = [b"datagram %d" % i for i in range(40)]
    a, b, c = (run(faults, msgs, seed=s) for s in (7, 7, 8))
    assert a[0].event_lines() == b[0].event_lines() and a[1] == b[1]
    assert a[0].event_lines() != c[0].event_lines()


def test_datagram_rules_leave_tcp_alone():
    net = FakeNetwork(seed=0, faults=[DropDatagram(), DuplicateDatagram()])
    a, b = net.socketpair()
    a.send(b"stream bytes")
    assert b.recv(100) == b"stream bytes"
    assert fault_lines(net) == []


def test_match_host_on_a_stream_rule():
    net = FakeNetwork(
        seed=0, faults=[PartialSend(max_bytes=2, match=Match(host="10.9.9.9"))]
    )
    a, b = net.socketpair()
    assert a.send(b"abcdef") == 6  # no socket on that host
    net2 = FakeNetwork(
        seed=0, faults=[PartialSend(max_bytes=2, match=Match(host="127.0.0.1"))]
    )
    a, b = net2.socketpair()
    assert a.send(b"abcdef") == 2


# -- bad arguments -------------------------------------------------------------


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: TruncateDatagram(mtu=-1), "mtu"),
        (lambda: TruncateDatagram(mtu=1.5), "mtu"),
        (lambda: DuplicateDatagram(copies=0), "copies"),
        (lambda: DuplicateDatagram(gap=-0.1), "gap"),
        (lambda: ReorderDatagrams(window=0), "window"),
        (lambda: ReorderDatagrams(hold=float("nan")), "hold"),
        (lambda: CorruptDatagram(offset=-1), "offset"),
        (lambda: CorruptDatagram(xor=0), "xor"),
        (lambda: CorruptDatagram(xor=256), "xor"),
        (lambda: DelayDatagram(seconds=-1), "seconds"),
        (lambda: DelayDatagram(jitter=float("inf")), "jitter"),
        (lambda: DropDatagram(skip=-1), "skip"),
        (lambda: DropDatagram(skip=True), "skip"),
        (lambda: DropDatagram(times=-1), "times"),
        (lambda: DropDatagram(probability=1.5), "probability"),
        (lambda: DropDatagram(match=Match(side="client")), "match"),
        (lambda: DropDatagram(match=Match(conn=0)), "match"),
        (lambda: FaultPlan(datagrams=[PartialSend()]), "datagrams[0]"),
    ],
)
def test_bad_arguments_are_value_errors_naming_the_argument(make, name):
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value).startswith(name), str(info.value)


# -- scenarios -------------------------------------------------------------------


def test_scenario_lines_make_datagram_rules():
    rule = _make_fault(["DropDatagram", "skip=2", "times=1", "port=161"], "s:3")
    assert rule == DropDatagram(skip=2, times=1, match=Match(port=161))
    rule = _make_fault(
        ["CorruptDatagram", "offset=none", "xor=7", "host=127.0.0.1"], "s:4"
    )
    assert rule == CorruptDatagram(xor=7, match=Match(host="127.0.0.1"))
    rule = _make_fault(["DelayDatagram", "seconds=0.5", "probability=0.25"], "s:5")
    assert rule == DelayDatagram(seconds=0.5, probability=0.25)


@pytest.mark.parametrize(
    "tokens, message",
    [
        (
            ["TruncateDatagram", "mtu=-1"],
            "s:9: TruncateDatagram: mtu must be an int >= 0",
        ),
        (
            ["TruncateDatagram", "mtu=big"],
            "s:9: TruncateDatagram: mtu must be a whole number",
        ),
        (["DropDatagram", "side=client"], "s:9: DropDatagram: match: a datagram fault"),
        (["DuplicateDatagram", "copy=2"], "unknown setting 'copy'"),
        (["DropDatagrams"], "unknown fault 'DropDatagrams'"),
    ],
)
def test_bad_scenario_lines_name_the_line_and_setting(tokens, message):
    with pytest.raises(ScenarioError) as info:
        _make_fault(tokens, "s:9")
    assert message in str(info.value)


def test_unknown_fault_lists_the_datagram_rules_too():
    with pytest.raises(ScenarioError) as info:
        _make_fault(["Nope"], "s:1")
    for name in ("DropDatagram", "ReorderDatagrams", "PartialSend"):
        assert name in str(info.value)


PROGRAM = """\
import socket
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("127.0.0.1", 9000))
rx.setblocking(False)
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(4):
    tx.sendto(b"m%d" % i, ("127.0.0.1", 9000))
while True:
    try:
        print(rx.recv(100).decode())
    except BlockingIOError:
        break
"""


def test_a_scenario_runs_a_udp_program_under_its_datagram_faults(tmp_path):
    (tmp_path / "prog.py").write_text(PROGRAM)
    (tmp_path / "udp.scenario").write_text(
        "program prog.py\n"
        "fault DuplicateDatagram skip=1 times=1\n"
        "fault DropDatagram skip=2 times=1 port=9000\n"
        "fault TruncateDatagram mtu=1 port=4242\n"
    )
    result = run_scenario(load_scenario(str(tmp_path / "udp.scenario")))
    assert result.error is None, result.error
    assert result.output.split() == ["m0", "m1", "m1", "m2"]
    (unfired,) = result.unfired
    assert "TruncateDatagram(mtu=1, match=Match(port=4242)) never fired" in str(unfired)
    assert "no datagram it matches (port 4242)" in str(unfired)


def test_check_reports_a_bad_datagram_fault_line_as_an_error(tmp_path, capsys):
    from asyncore_sim.cli import main

    (tmp_path / "prog.py").write_text(PROGRAM)
    (tmp_path / "bad.scenario").write_text(
        "program prog.py\nfault TruncateDatagram mtu=-5\n"
    )
    assert main(["check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "bad.scenario:2: TruncateDatagram: mtu must be an int >= 0, got -5" in err
    assert "Traceback" not in err


# -- plans, words and coverage ----------------------------------------------------


PLAN = FaultPlan(
    sends=(None, 3),
    datagrams=[
        DropDatagram(skip=2, times=1, match=Match(port=161)),
        DuplicateDatagram(copies=2, gap=0.25),
        ReorderDatagrams(window=2, times=3),
        TruncateDatagram(mtu=512, probability=0.5),
        CorruptDatagram(offset=4),
        DelayDatagram(seconds=1.5, skip=1, times=1),
    ],
)


def test_a_plan_describes_its_datagram_rules_readably():
    lines = PLAN.describe()
    assert lines == [
        "send #2 accepts at most 3",
        "datagram #3 (port 161) is lost",
        "every datagram arrives 3 times (0.25s apart)",
        "each of datagrams #1 to #3 is overtaken by 2 later datagrams"
        " (held at most 1s)",
        "every datagram, with probability 0.5, is cut to 512 bytes",
        "every datagram has byte 4 flipped",
        "datagram #2 arrives 1.5s late",
    ]
    assert PLAN.size == 7
    assert PLAN.rules()[-6:] == list(PLAN.datagrams)


def test_a_plan_with_datagram_rules_round_trips_as_python_and_json():
    assert eval(repr(PLAN), vars(fake_net)) == PLAN
    assert "DropDatagram(skip=2, times=1, match=Match(port=161))" in repr(PLAN)
    assert FaultPlan.from_json(PLAN.to_json()) == PLAN
    assert FaultPlan().to_json() == "{}"


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"datagrams": {}}', "datagrams must be a list"),
        ('{"datagrams": [{"fault": "Nope"}]}', "datagrams[0] must be an object"),
        ('{"datagrams": [{"fault": "DropDatagram", "skip": -1}]}', "skip must be"),
        ('{"datagrams": [{"fault": "DropDatagram", "sikp": 1}]}', "datagrams[0]:"),
    ],
)
def test_bad_datagram_entries_in_json_plans(text, message):
    with pytest.raises(ValueError) as info:
        FaultPlan.from_json(text)
    assert message in str(info.value)


def test_coverage_says_why_a_datagram_rule_never_fired():
    net, _ = run(
        [
            DropDatagram(skip=10),
            TruncateDatagram(mtu=64),
            CorruptDatagram(offset=9),
            DuplicateDatagram(probability=0.001),
            ReorderDatagrams(match=Match(port=1)),
            DelayDatagram(seconds=1.0, times=1),
        ]
    )
    reasons = [str(u) for u in net.unfired_faults()]
    assert reasons == [
        "DropDatagram(skip=10) never fired: the run sent 6 datagrams, "
        "and it skips the first 10",
        "TruncateDatagram(mtu=64) never fired: none of the 6 datagrams was "
        "longer than 64 bytes (the longest: 2)",
        "CorruptDatagram(offset=9) never fired: none of the 6 datagrams had a "
        "byte 9 (the longest: 2)",
        "DuplicateDatagram(probability=0.001) never fired: its probability 0.001 "
        "drew none of its 6 chances",
        "ReorderDatagrams(match=Match(port=1)) never fired: the run sent no "
        "datagram it matches (port 1)",
    ]


# -- the strategy ----------------------------------------------------------------

QUICK = settings(max_examples=40, derandomize=True, database=None, deadline=None)


def test_datagram_plans_shrink_to_every_datagram_delivered_once_in_order():
    assert find(datagram_fault_plans(), lambda p: True) == FaultPlan()
    assert find(datagram_fault_plans(), lambda p: p.size > 0) == FaultPlan(
        datagrams=[DropDatagram(times=1)]
    )
    late = find(
        datagram_fault_plans(),
        lambda p: any(
            isinstance(r, DelayDatagram) and r.seconds > 1 for r in p.datagrams
        ),
    )
    assert late == FaultPlan(datagrams=[DelayDatagram(seconds=1.001, times=1)])


@QUICK
@given(plan=datagram_fault_plans(truncation=True, corruption=True, max_rules=4))
def test_drawn_plans_are_valid_scripts(plan):
    assert plan.size == len(plan.datagrams) <= 4
    assert not (plan.sends or plan.reads or plan.delays)
    assert all(r.probability == 1.0 for r in plan.datagrams)
    assert FaultPlan.from_json(plan.to_json()) == plan
    run(plan.rules())  # installs and runs


@QUICK
@given(
    rule=datagram_faults(
        loss=False, duplication=False, reordering=False, delays=False, truncation=True
    )
)
def test_disabled_kinds_never_appear(rule):
    assert isinstance(rule, TruncateDatagram)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"max_skip": -1}, ValueError),
        ({"max_times": 0}, ValueError),
        ({"max_delay": 0}, ValueError),
        ({"match": "port 1"}, TypeError),
        (
            {"loss": False, "duplication": False, "reordering": False, "delays": False},
            ValueError,
        ),
    ],
)
def test_strategy_arguments_are_checked(kwargs, error):
    with pytest.raises(error):
        datagram_faults(**kwargs)
    with pytest.raises(ValueError):
        datagram_fault_plans(max_rules=-1)


@QUICK
@given(st.data())
def test_a_plan_and_its_seed_give_the_same_run(data):
    plan = data.draw(datagram_fault_plans(corruption=True))
    seed = data.draw(st.integers(0, 3))
    a = run(plan.rules(), seed=seed)
    b = run(plan.rules(), seed=seed)
    assert a[0].event_lines() == b[0].event_lines()


def test_a_simulated_run_carries_its_datagram_plan_in_the_trace(tmp_path, capsys):
    import asyncore_sim as asyncore
    from asyncore_sim.cli import main
    from asyncore_sim.testing import simulate
    from asyncore_sim.trace import Trace

    plan = FaultPlan(datagrams=[DuplicateDatagram(times=1)])
    with simulate(plan) as sim:
        rx = sim.net.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind(DEST)
        tx = sim.net.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tx.sendto(b"once", DEST)
        assert rx.recv(10) == rx.recv(10) == b"once"
        asyncore.close_all(sim.map)
        assert sim.unfired == []
        path = sim.save_trace(str(tmp_path / "run.trace"))
    header = Trace.load(path).header
    assert FaultPlan.from_json(header["plan"]) == plan
    assert main(["show", "--format", "text", path]) == 0
    out = capsys.readouterr().out
    assert "faults installed: datagram #1 arrives twice" in out
    assert "not located (datagram faults are not followed in diagrams yet)" in out


# -- FaultPlan.random(datagrams=True) ----------------------------------------------


def test_random_plans_draw_datagram_rules_only_when_asked():
    drawn = [FaultPlan.random(seed, datagrams=True) for seed in range(40)]
    plain = [FaultPlan.random(seed) for seed in range(40)]
    assert all(p.datagrams == () for p in plain)
    assert sum(1 for p in drawn if p.datagrams) >= 20
    kinds = {type(r).__name__ for p in drawn for r in p.datagrams}
    assert kinds == {"DropDatagram", "DuplicateDatagram", "ReorderDatagrams",
                     "DelayDatagram"}
    # The stream rules of a seed do not change when datagrams are added.
    for a, b in zip(plain, drawn):
        assert attrs.evolve(b, datagrams=()) == a
    assert drawn == [FaultPlan.random(seed, datagrams=True) for seed in range(40)]


def test_a_stream_only_match_gives_datagram_rules_every_socket():
    plans = [
        FaultPlan.random(seed, datagrams=True, match=Match(conn=0, side="client"))
        for seed in range(20)
    ]
    rules = [r for p in plans for r in p.datagrams]
    assert rules and all(r.match == Match() for r in rules)
