"""Traces: the file format, recording on both networks, replay, comparison."""

import os
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

import asyncore_sim as asyncore
from asyncore_sim import asyncore as core
from asyncore_sim.__main__ import main
from asyncore_sim.trace import (
    Recorder,
    Trace,
    TraceEvent,
    TraceFormatError,
    check_event,
    first_difference,
    format_difference,
    format_value,
    parse_line,
    parse_value,
)
from asyncore_sim.trace import ReplayDiverged, ReplayNetwork
from fake_net import FakeNetwork, PartialSend

HERE = os.path.dirname(os.path.abspath(__file__))
ECHO = os.path.join(HERE, "data", "echo_program.py")


@pytest.mark.parametrize(
    "value",
    [
        bytes(range(256)),
        b"",
        b'say "hi"\\\r\n\t',
        "plain_word",
        "with space and 'quotes' \\ and \u00e8\u4e2d\U0001f600",
        "123",
        "None",
        "3:rx,4:rwx",
        0,
        -1,
        123456789,
        0.5,
        30.0,
        None,
        True,
        False,
    ],
)
def test_values_round_trip(value):
    token = format_value(value)
    assert " " not in token or token[0] in "\"'"
    assert parse_value(token) == value
    assert type(parse_value(token)) is type(value)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    value=st.one_of(
        st.binary(max_size=40),
        st.text(max_size=40),
        st.integers(min_value=-(10**60), max_value=10**60),
        st.floats(allow_nan=False),
        st.none(),
        st.booleans(),
    )
)
def test_every_value_reads_back_as_written(value):
    assert parse_value(format_value(value)) == value
    assert type(parse_value(format_value(value))) is type(value)


def test_what_a_recording_holds_is_what_the_reader_accepts():
    t = _run_echo(FakeNetwork(seed=2, faults=[PartialSend(max_bytes=2, times=3)]))
    assert Trace.loads(t.dumps()) == t
    for ev in t.events:
        check_event(ev)


def test_replay_raises_an_exception_recorded_by_class_name():
    trace = Trace.loads(
        "# asyncore-sim trace 1\n"
        "0.000000 file 3\n"
        "0.000000 getsockopt 3 SOL_SOCKET SO_ERROR -> !AttributeError\n"
    )
    import socket

    sock = ReplayNetwork(trace).wrap_file(0)
    with pytest.raises(AttributeError):
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)


def test_addresses_and_errors_round_trip():
    line = TraceEvent(1.5, "accept", 3, (), (5, ("::1", 8080))).line()
    assert line == "1.500000 accept 3 -> 5 @[::1]:8080"
    ev = parse_line(line)
    assert ev.result == (5, ("::1", 8080))
    err = parse_line("0.000000 recv 4 100 -> !ECONNRESET")
    assert str(err.result[0]) == "ECONNRESET"
    assert parse_line(err.line()) == err


def test_one_event_per_line_whatever_the_bytes():
    ev = TraceEvent(0.0, "recv", 3, (10,), (b'a\nb\rc\x00"',))
    assert "\n" not in ev.line()
    assert parse_line(ev.line()) == ev


@pytest.mark.parametrize(
    "text, message",
    [
        ("hello\n", "t.trace:1: not an asyncore-sim trace"),
        (
            '# asyncore-sim trace 1\n0.0 recv 3 -> "abc\n',
            "t.trace:2: unterminated bytes",
        ),
        (
            "# asyncore-sim trace 1\n# network: fake\nxyz send 3\n",
            "t.trace:3: bad time",
        ),
        ("# asyncore-sim trace 1\n0.0 send x\n", "t.trace:2: bad fd"),
    ],
)
def test_bad_trace_files_name_file_and_line(text, message):
    with pytest.raises(TraceFormatError) as info:
        Trace.loads(text, "t.trace")
    assert str(info.value).startswith(message)


def _run_echo(network, **kw):
    """The echo program's classes, run on ``network`` under a Recorder."""
    import runpy

    mod = runpy.run_path(ECHO)
    with Recorder(network, **kw) as rec:
        server = mod["Server"]()
        mod["Client"](server.socket.getsockname(), b"hello, traced world\n\x00\xff")
        asyncore.loop(timeout=5)
        asyncore.close_all()
    return rec.trace


def test_fake_recording_is_identical_run_to_run():
    a = _run_echo(FakeNetwork(seed=3))
    b = _run_echo(FakeNetwork(seed=3))
    assert a.dumps() == b.dumps()
    kinds = {e.kind for e in a.events}
    assert {
        "socket",
        "bind",
        "listen",
        "connect",
        "accept",
        "send",
        "recv",
        "close",
        "wait",
    } <= kinds
    assert {
        "readable",
        "writable",
        "handle_accept",
        "handle_connect",
        "handle_write",
        "handle_read",
        "handle_close",
    } <= kinds
    assert "0x" not in a.dumps()  # nothing from id()
    assert core._tracer is None


def test_recorder_fds_are_renumbered_lowest_free():
    t = _run_echo(FakeNetwork(seed=3))
    fds = [e.fd for e in t.events if e.kind in ("socket", "accept")]
    assert fds[:2] == [3, 4]
    assert [e.result[0] for e in t.events if e.kind == "accept"] == [5]


@pytest.mark.network
def test_real_recording_replays_identically_on_fake_net():
    from real_net import RealNetwork

    recorded = _run_echo(RealNetwork())
    assert recorded.header["network"] == "real"
    replayed = _run_echo(ReplayNetwork(Trace.loads(recorded.dumps())))
    assert first_difference(recorded.events, replayed.events) is None  # times too


def test_replay_reports_the_first_departure_with_byte_offset():
    recorded = _run_echo(FakeNetwork(seed=1))
    import runpy

    mod = runpy.run_path(ECHO)
    net = ReplayNetwork(recorded)
    with pytest.raises(ReplayDiverged) as info:
        with Recorder(net) as rec:
            server = mod["Server"]()
            mod["Client"](server.socket.getsockname(), b"hello, TRACED world\n\x00\xff")
            try:
                asyncore.loop(timeout=5)
            finally:
                asyncore.close_all()
    # "hello, " is the first 7-byte send; the second differs from its byte 0.
    assert "first difference at byte 0 of the send" in str(info.value)
    assert "event %d:" % info.value.index in str(info.value)
    diff = first_difference(recorded.events, rec.trace.events)
    assert diff is not None and diff.expected.kind == "send"
    # "hello, " is 7 bytes: the client's second send carries the change.
    assert diff.expected.result[1] == b"traced "
    report = format_difference(diff, recorded.events, rec.trace.events)
    assert "event %d" % diff.index in report and "- %5d" % diff.index in report


def test_first_difference_gives_event_and_stream_offsets():
    def ev(data):
        return TraceEvent(0.0, "recv", 3, (8,), (data,))

    a = [ev(b"abcd"), ev(b"efgh")]
    b = [ev(b"abcd"), ev(b"efXh")]
    d = first_difference(a, b)
    assert (d.index, d.byte_offset, d.stream_offset) == (1, 2, 6)
    assert first_difference(a, a[:1]).actual is None
    assert first_difference(a, a) is None


def test_recorders_do_not_nest():
    with Recorder(FakeNetwork()):
        with pytest.raises(RuntimeError):
            Recorder(FakeNetwork()).__enter__()
    assert core._tracer is None


def test_faults_show_in_the_trace_as_what_the_program_saw():
    t = _run_echo(FakeNetwork(seed=2, faults=[PartialSend(max_bytes=2, times=3)]))
    sends = [e for e in t.events if e.kind == "send"]
    assert any(e.result[0] < e.args[0] for e in sends)


@pytest.mark.network
def test_cli_record_replay_and_diff(tmp_path, capsys):
    real = str(tmp_path / "real.trace")
    fake = str(tmp_path / "fake.trace")
    assert main(["record", "-o", real, ECHO]) == 0
    assert main(["record", "--network", "fake", "-o", fake, ECHO]) == 0
    assert main(["replay", real]) == 0
    assert "identical" in capsys.readouterr().out
    assert main(["diff", real, real]) == 0
    # Real and fake runs differ only in the ephemeral port (and times);
    # diff renumbers the ports of real recordings unless told not to.
    assert main(["diff", "--ignore-time", "--keep-ports", real, fake]) == 1
    out = capsys.readouterr().out
    assert "getsockname 3" in out
    # A trace edited by hand no longer replays: the report says where.
    text = (tmp_path / "real.trace").read_text().replace('"HELLO, "', '"HELLo, "', 1)
    assert '"HELLo, "' in text
    edited = tmp_path / "edited.trace"
    edited.write_text(text)
    assert main(["replay", str(edited)]) == 1
    out = capsys.readouterr().out
    assert "differs" in out and "HELLo" in out


GOLDEN_TEST = """
import asyncore_sim as asyncore
from fake_net import FakeNetwork

class Quiet(asyncore.dispatcher):
    def writable(self):
        return False
    def handle_read(self):
        self.recv(MSG)

MSG = 10

def test_run(golden_trace):
    net = FakeNetwork(seed=1)
    with golden_trace.record(net) as rec:
        m = rec.map()
        a, b = rec.socketpair()
        b.send(b"x" * 4)
        b.close()
        Quiet(a, map=m)
        asyncore.loop(map=m, timeout=1)
"""


def test_golden_trace_fixture(tmp_path):
    (tmp_path / "test_g.py").write_text(GOLDEN_TEST)
    golden = tmp_path / "traces" / "test_g" / "test_run.trace"

    def pytest_run(*args):
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "test_g.py",
                *args,
            ],
            cwd=str(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
        )

    r = pytest_run()
    assert r.returncode == 1, r.stdout
    assert "no golden trace at" in r.stdout and "--sim-rewrite-goldens" in r.stdout
    r = pytest_run("--sim-rewrite-goldens")
    assert r.returncode == 0, r.stdout
    assert "recv" in golden.read_text()
    assert pytest_run().returncode == 0
    (tmp_path / "test_g.py").write_text(GOLDEN_TEST.replace("MSG = 10", "MSG = 3"))
    r = pytest_run()
    assert r.returncode == 1
    assert "differs from its golden trace" in r.stdout and "recv" in r.stdout
