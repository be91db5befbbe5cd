"""Trustworthy trace differences (issue 14, item 8 and parts of item 9).

``asyncore-sim diff`` renumbers ephemeral ports (on by default for real
recordings) and masks what a regex matches; its context is difflib's;
divergences at a send show the bytes the program tried to send; a wait
that returned nothing reads as words in reports; the trace glossary names
every event kind; ``check`` finds the documented runs from any directory
and says whether the output matched when the golden trace is missing;
``record --scenario`` runs in the scenario's folder, with its env and
files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

import asyncore_sim as asyncore
from asyncore_sim.__main__ import main
from asyncore_sim.trace import Recorder, Trace, TraceEvent, first_difference
from asyncore_sim.trace import _format
from asyncore_sim.trace._compare import (
    Normalization,
    compile_mask,
    format_difference,
)
from asyncore_sim.trace._format import CALLBACKS, check_event, parse_line
from fake_net import FakeNetwork

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ECHO = os.path.join(HERE, "data", "echo_program.py")
PYMOTW = os.path.join(ROOT, "traces", "pymotw")


def run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, out + err
    return status, out, err


def _echo_trace(tmp_path, name, ports, network):
    """The echo program's trace on fake_net with these ephemeral ports,
    saved with the ``# network:`` header given."""
    import runpy

    mod = runpy.run_path(ECHO)
    with Recorder(FakeNetwork(seed=1, ephemeral_ports=ports)) as rec:
        server = mod["Server"]()
        mod["Client"](server.socket.getsockname(), b"hello, ports\n")
        try:
            asyncore.loop(timeout=5)
        finally:
            asyncore.close_all()
    trace = rec.trace
    trace.header["network"] = network
    path = tmp_path / name
    trace.save(path)
    return str(path)


def read(path):
    with open(path) as f:
        return f.read()


def ev(kind, fd, args=(), result=None, time=0.0):
    return TraceEvent(time, kind, fd, tuple(args), result)


# -- ports ----------------------------------------------------------------------------


def test_real_recordings_differing_only_by_ephemeral_ports_compare_equal(
    tmp_path, capsys
):
    a = _echo_trace(tmp_path, "a.trace", [40001, 40002], "real")
    b = _echo_trace(tmp_path, "b.trace", [50001, 50002], "real")
    assert "40001" in read(a) and "50001" in read(b)
    status, out, _ = run(capsys, "diff", a, b)
    assert status == 0, out
    assert "identical" in out
    assert "40001=<port1>, 40002=<port2>" in out
    assert "50001=<port1>, 50002=<port2>" in out
    # The flag turns it off: the ports differ again.
    status, out, _ = run(capsys, "diff", "--keep-ports", a, b)
    assert status == 1
    assert "-     3" in out and "@127.0.0.1:40001" in out and "@127.0.0.1:50001" in out


def test_ports_are_kept_for_simulated_traces_unless_asked(tmp_path, capsys):
    a = _echo_trace(tmp_path, "a.trace", [40001, 40002], "fake")
    b = _echo_trace(tmp_path, "b.trace", [50001, 50002], "fake")
    assert run(capsys, "diff", a, b)[0] == 1
    status, out, _ = run(capsys, "diff", "--renumber-ports", a, b)
    assert status == 0, out
    # One real recording is enough to renumber both.
    c = _echo_trace(tmp_path, "c.trace", [50001, 50002], "real")
    assert run(capsys, "diff", a, c)[0] == 0


def test_a_port_the_program_gave_is_not_renumbered():
    def trace(port):
        return [
            ev("socket", 3, ("AF_INET", "SOCK_STREAM")),
            ev("bind", 3, (("127.0.0.1", port),)),
            ev("getsockname", 3, (), (("127.0.0.1", port),)),
        ]

    norm = Normalization(ports=True)
    diff = first_difference(trace(8080), trace(8081), normalization=norm)
    assert diff is not None and diff.index == 1
    assert first_difference(trace(8080), trace(8080), normalization=norm) is None


def test_a_renumbered_port_is_the_same_number_wherever_it_appears():
    def trace(mine, connect_to):
        return [
            ev("getsockname", 3, (), (("127.0.0.1", mine),)),
            ev("connect", 4, (("127.0.0.1", connect_to),), ("EINPROGRESS",)),
        ]

    norm = Normalization(ports=True)
    assert (
        first_difference(trace(5000, 5000), trace(6000, 6000), normalization=norm)
        is None
    )
    diff = first_difference(trace(5000, 5000), trace(6000, 7000), normalization=norm)
    assert diff is not None and diff.index == 1
    report = format_difference(
        diff, trace(5000, 5000), trace(6000, 7000), normalization=norm
    )
    assert "connect 4 @127.0.0.1:<port1>" in report
    assert "connect 4 @127.0.0.1:7000" in report  # given, never seen before: kept


def test_renumbered_ports_never_equal_a_fixed_port_of_the_same_number():
    a = [ev("getsockname", 3, (), (("127.0.0.1", 1),))]
    b = [ev("getsockname", 3, (), (("127.0.0.1", 1),))]
    b_given = [ev("connect", 3, (("127.0.0.1", 1),), (0,)), b[0]]
    a_given = [ev("connect", 3, (("127.0.0.1", 1),), (0,)), a[0]]
    norm = Normalization(ports=True)
    assert first_difference(a, b, normalization=norm) is None
    assert first_difference(a_given, b_given, normalization=norm) is None
    # <port1> in one trace, the program's port 1 in the other.
    c = [ev("connect", 3, (("127.0.0.2", 1),), (0,)), b[0]]
    d = [
        ev("connect", 3, (("127.0.0.2", 9),), (0,)),
        ev("getsockname", 3, (), (("127.0.0.1", 1),)),
    ]
    diff = first_difference(c, d, normalization=norm)
    assert diff is not None and diff.index == 0


# -- masks ----------------------------------------------------------------------------


def _http(date):
    request = b"GET / HTTP/1.0\r\nDate: %s\r\n" % date
    return [
        ev("send", 3, (len(request),), (len(request), request)),
        ev("recv", 3, (64,), (b"HTTP/1.0 200 OK\r\n",)),
    ]


def test_mask_hides_what_it_matches_in_both_traces(tmp_path, capsys):
    a, b = tmp_path / "a.trace", tmp_path / "b.trace"
    Trace(_http(b"Mon, 1 Jan")).save(a)
    Trace(_http(b"Tue, 2 Jan")).save(b)
    status, out, _ = run(capsys, "diff", a, b)
    assert status == 1 and "data differ at byte 22 of the event" in out
    status, out, _ = run(capsys, "diff", "--mask", r"Date: [^\\]*", a, b)
    assert status == 0, out
    assert "1 line masked (/Date: [^\\\\]*/)" in out
    # A mask hides only what it matches.
    Trace(
        _http(b"Tue, 2 Jan")[:1] + [ev("recv", 3, (64,), (b"HTTP/1.0 404 No\r\n",))]
    ).save(b)
    status, out, _ = run(capsys, "diff", "--mask", r"Date: [^\\]*", a, b)
    assert status == 1
    assert 'send 3 34 -> 34 "GET / HTTP/1.0\\r\\n<masked>\\r\\n"' in out
    assert "expected bytes" in out and "404" in out


def test_masks_repeat_and_an_empty_match_replaces_nothing(tmp_path):
    a, b = tmp_path / "a.trace", tmp_path / "b.trace"
    Trace(_http(b"Mon, 1 Jan")).save(a)
    Trace(_http(b"Tue, 2 Jan")).save(b)
    # In a fresh process with a deadline: a mask that matches the empty
    # string must neither loop nor sprinkle placeholders.
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "asyncore_sim",
            "diff",
            "--mask",
            "x*",
            "--mask",
            "Mon|Tue",
            "--mask",
            r"[12] Jan",
            str(a),
            str(b),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    norm = Normalization(masks=(compile_mask("x*"),))
    diff = first_difference(_http(b"Mon"), _http(b"Tue"), normalization=norm)
    report = format_difference(diff, _http(b"Mon"), _http(b"Tue"), normalization=norm)
    assert "<masked>" not in report  # nothing in these lines matches x+


@pytest.mark.parametrize("regex", ["(", "[a-", "a{2,1}", "(?P<x>a)(?P<x>b)"])
def test_an_invalid_mask_is_a_clean_error(tmp_path, capsys, regex):
    a = tmp_path / "a.trace"
    Trace(_http(b"x")).save(a)
    status, out, err = run(capsys, "diff", "--mask", regex, a, a)
    assert status == 2
    line = err.strip().splitlines()[-1]
    assert line.startswith(
        "asyncore-sim: error: diff: argument --mask: %r is not a "
        "regular expression: " % regex
    ), err


# -- the report: context, bytes, readable waits ---------------------------------------


def _numbered(n, changed=None, inserted=None):
    events = [ev("recv", 3, (8,), (b"%d" % k,), time=float(k)) for k in range(n)]
    if changed is not None:
        events[changed] = ev("recv", 3, (8,), (b"X",), time=float(changed))
    if inserted is not None:
        events.insert(inserted, ev("recv", 3, (8,), (b"NEW",), time=float(inserted)))
    return events


def _marks(report):
    """(prefix, index) of each diff line of a report."""
    return [
        (m.group(1), int(m.group(2)))
        for m in re.finditer(r"^([ +-]) +(\d+)  ", report, re.M)
    ]


def test_equal_events_after_a_change_are_context_not_changes():
    a, b = _numbered(12), _numbered(12, changed=5)
    report = format_difference(first_difference(a, b), a, b, context=3)
    assert _marks(report) == (
        [(" ", 2), (" ", 3), (" ", 4), ("-", 5), ("+", 5), (" ", 6), (" ", 7), (" ", 8)]
    )


def test_an_inserted_event_is_one_plus_line_and_the_rest_realigns():
    a, b = _numbered(12), _numbered(11, inserted=4)
    b = [attr_time(e, k) for k, e in enumerate(b)]
    a = [attr_time(e, k) for k, e in enumerate(a)]
    report = format_difference(
        first_difference(a, b, times=False), a, b, 2, times=False
    )
    assert _marks(report) == [(" ", 2), (" ", 3), ("+", 4), (" ", 4), (" ", 5)]


def attr_time(e, t):
    return TraceEvent(float(t), e.kind, e.fd, e.args, e.result)


def test_context_zero_shows_only_the_changed_events(tmp_path, capsys):
    a, b = tmp_path / "a.trace", tmp_path / "b.trace"
    Trace(_numbered(12)).save(a)
    Trace(_numbered(12, changed=5)).save(b)
    status, out, _ = run(capsys, "diff", "-C", "0", a, b)
    assert status == 1
    assert _marks(out) == [("-", 5), ("+", 5)]
    status, out, _ = run(capsys, "diff", "-C", "2", a, b)
    assert _marks(out) == [(" ", 3), (" ", 4), ("-", 5), ("+", 5), (" ", 6), (" ", 7)]


@pytest.mark.parametrize(
    "argv", [["-C", "-3"], ["--context=-1"], ["-C", "x"], ["-C", "\u00b2"]]
)
def test_a_bad_context_count_is_a_clean_error(tmp_path, capsys, argv):
    a = tmp_path / "a.trace"
    Trace(_numbered(2)).save(a)
    status, out, err = run(capsys, "diff", *argv, a, a)
    assert status == 2
    assert (
        "asyncore-sim: error: diff: argument -C/--context: expected a number >= 0"
        in err
    )


def test_a_send_one_side_raised_at_shows_the_other_sides_bytes():
    a = [ev("send", 4, (7,), (7, b"hello, "))]
    b = [ev("send", 4, (7,), (asyncore_sim_err("EPIPE"),))]
    report = format_difference(first_difference(a, b), a, b, 3, "A", "B")
    assert 'A sent 7 bytes: "hello, "' in report
    assert "-> !EPIPE" in report


def asyncore_sim_err(name):
    from asyncore_sim.trace import Err

    return Err(name)


def _timed_out_wait_trace():
    """A run whose select times out with nothing ready."""

    class Idle(asyncore.dispatcher):
        def writable(self):
            return False

    net = FakeNetwork(seed=0)
    with Recorder(net) as rec:
        d = Idle(map=rec.map())
        d.create_socket()
        d.bind(("127.0.0.1", 0))
        d.listen(1)
        asyncore.loop(timeout=1.5, count=1, map=d._map)
        d.close()
    return rec.trace


def test_a_wait_that_timed_out_keeps_its_file_format_and_reads_as_words():
    trace = _timed_out_wait_trace()
    text = trace.dumps()
    assert "wait - select 1.5 3:rx -> '0'\n" in text  # the format is kept
    other = Trace.loads(text.replace("-> '0'", "-> 3:r"))
    report = format_difference(
        first_difference(trace.events, other.events), trace.events, other.events
    )
    assert "-> nothing ready (timed out after 1.5 s)" in report
    assert "'0'" not in report


def test_replay_shows_the_bytes_the_program_tried_to_send(tmp_path, capsys):
    recorded = tmp_path / "echo.trace"
    assert main(["record", "--network", "fake", "-o", str(recorded), ECHO]) == 0
    capsys.readouterr()
    text = recorded.read_text()
    # Other bytes, same size: the recording's and the program's are shown.
    (tmp_path / "bytes.trace").write_text(text.replace('"HELLO, "', '"HELLo, "', 1))
    status, out, _ = run(capsys, "replay", tmp_path / "bytes.trace")
    assert status == 1
    assert "first difference at byte 4 of the send" in out
    assert 'the recording sent         7 bytes: "HELLo, "' in out
    assert 'the program tried to send  7 bytes: "HELLO, "' in out
    # Another size: the program's call does not match, its bytes are shown.
    sent = re.search(r'send (\d) 7 -> 7 "traced "', text)
    assert sent
    shorter = text.replace(sent.group(0), 'send %s 6 -> 6 "traced"' % sent.group(1), 1)
    (tmp_path / "size.trace").write_text(shorter)
    status, out, _ = run(capsys, "replay", tmp_path / "size.trace")
    assert status == 1
    assert "but the program called\n    " in out
    assert 'the program tried to send 7 bytes: "traced "' in out
    assert "agree with the recorded send's bytes on the first 6" in out


# -- the glossary -------------------------------------------------------------------


def test_the_trace_docstring_explains_every_event_kind_with_an_example():
    doc = _format.__doc__
    examples = {}
    for m in re.finditer(r"^``([a-z_]+ [^`]*)``", doc, re.M):
        line = m.group(1)
        examples.setdefault(line.split()[0], line)
    kinds = list(_format._IO_EVENTS) + list(CALLBACKS)
    assert sorted(examples) == sorted(kinds)
    for line in examples.values():
        event = parse_line("0.000000 " + line)
        check_event(event)  # each example is a line a run can record
    assert "wait - select 1 3:rx,4:rwx -> 3:r,4:w" in doc


# -- check and record ---------------------------------------------------------------


@pytest.mark.parametrize("where", ["/", "tmp"])
def test_check_finds_the_documented_runs_from_any_directory(
    capsys, monkeypatch, tmp_path, where
):
    monkeypatch.chdir(tmp_path if where == "tmp" else where)
    status, out, _ = run(capsys, "check")
    assert status == 0, out
    assert "8 checked: 8 ok, 0 differ, 0 unusable" in out


def test_check_says_where_it_looked_when_the_documented_runs_are_not_there(
    capsys, monkeypatch, tmp_path
):
    from importlib import metadata

    monkeypatch.setattr(
        asyncore, "__file__", str(tmp_path / "site" / "asyncore_sim" / "__init__.py")
    )

    def no_distribution(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", no_distribution)
    monkeypatch.chdir(ROOT)  # a traces/ here must not be used silently
    status, out, err = run(capsys, "check")
    assert status == 2
    assert err.startswith("asyncore-sim: error: the documented runs are not where")
    assert str(tmp_path / "site" / "traces") in err


def _scenario_copy(tmp_path, golden=False):
    for name in (
        "004-file-dispatcher.scenario",
        "004-file-dispatcher.expected",
        "lorem-004.txt",
    ) + (("004-file-dispatcher.trace",) if golden else ()):
        shutil.copy(os.path.join(PYMOTW, name), tmp_path / name)
    scn = tmp_path / "004-file-dispatcher.scenario"
    scn.write_text(
        scn.read_text().replace("program ../../examples", "program %s/examples" % ROOT)
    )
    return scn


def test_a_missing_golden_still_says_whether_the_output_matched(tmp_path, capsys):
    scn = _scenario_copy(tmp_path)
    status, out, _ = run(capsys, "check", scn)
    assert status == 1
    assert "DIFFERS (no golden trace; output ok)" in out
    assert "(the output matched 004-file-dispatcher.expected)" in out
    expected = tmp_path / "004-file-dispatcher.expected"
    expected.write_text(expected.read_text().replace("Vivamus", "VIVAMUS", 1))
    status, out, _ = run(capsys, "check", scn)
    assert status == 1
    assert "no golden trace; output differs" in out
    assert "(the output differs from 004-file-dispatcher.expected)" in out


SCENARIO_PROGRAM = """
import os
import asyncore_sim as asyncore

print("env:", os.environ.get("GREETING"))
with open(os.path.join("sub", "data.txt")) as f:
    print("file:", f.read().strip())
print("folder:", os.path.basename(os.getcwd()).startswith("asyncore-sim-"))
d = asyncore.dispatcher()
d.create_socket()
d.close()
"""


def test_record_with_a_scenario_applies_its_env_files_and_run_folder(
    tmp_path, capsys, monkeypatch
):
    (tmp_path / "prog.py").write_text(SCENARIO_PROGRAM)
    (tmp_path / "data.txt").write_text("from the scenario\n")
    scn = tmp_path / "s.scenario"
    scn.write_text("program prog.py\nenv GREETING=hi\nfile sub/data.txt data.txt\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("GREETING", raising=False)
    out_path = tmp_path / "rec.trace"
    status, out, err = run(
        capsys, "record", "--scenario", scn, "-o", out_path, tmp_path / "prog.py"
    )
    assert status == 0, err
    assert out.splitlines() == ["env: hi", "file: from the scenario", "folder: True"]
    assert os.getcwd() == str(elsewhere) and "GREETING" not in os.environ
    assert "note" not in err  # nothing of this scenario goes unused
    # Its replay runs the same way, wherever it is started.
    monkeypatch.chdir("/")
    status, out, err = run(capsys, "replay", out_path)
    assert status == 0, out + err
    assert out.splitlines()[:3] == [
        "env: hi",
        "file: from the scenario",
        "folder: True",
    ]
    assert "identical" in out


# The documented program leaves lorem.txt to the garbage collector.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_record_with_a_documented_scenario_reproduces_its_golden(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # no lorem.txt here: the scenario's is used
    scn = os.path.join(PYMOTW, "004-echo-server.scenario")
    program = os.path.join(ROOT, "examples", "pymotw", "asyncore_echo_server.py")
    out_path = tmp_path / "rec.trace"
    status, out, err = run(capsys, "record", "--scenario", scn, "-o", out_path, program)
    assert status == 0, err
    # What record does not use is named.
    assert "its expect, trace, source, normalize line(s) are not used here" in err
    golden = Trace.load(os.path.join(PYMOTW, "004-echo-server.trace"))
    assert first_difference(golden.events, Trace.load(out_path).events) is None


def test_a_long_run_of_changed_events_is_cut_and_counted():
    a, b = _numbered(20), _numbered(5)
    report = format_difference(first_difference(a, b), a, b, context=2)
    assert _marks(report) == [
        (" ", 3),
        (" ", 4),
        ("-", 5),
        ("-", 6),
        ("-", 7),
        ("-", 8),
    ]
    assert "-   ...  (11 more)" in report
