"""Bad input through the command line: each case of issue 13's audit is a
``file:line: what is wrong`` error with exit status 2, never a traceback, a
hang or a silent misreading."""

import os
import shutil

import pytest

from asyncore_sim.cli import main
from asyncore_sim.trace import Trace, TraceFormatError
from asyncore_sim.trace.scenario import (
    MAX_SEND_BYTES,
    Mask,
    Scenario,
    ScenarioError,
    compare_output,
    load_scenario,
)

HERE = os.path.dirname(os.path.abspath(__file__))
ECHO = os.path.join(HERE, "data", "echo_program.py")

# A program that prints what the scenario's files and environment gave it.
PROGRAM = """\
import os
print("hello", os.environ.get("GREETING", "world"))
if os.path.exists(os.path.join("sub", "x.txt")):
    print(open(os.path.join("sub", "x.txt")).read().strip())
"""


def run(capsys, *argv):
    """main(argv): (exit status, stdout, stderr); never a traceback."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, out + err
    return status, out, err


def bad(capsys, *argv):
    """The one error line of a command that must refuse its input."""
    status, out, err = run(capsys, *argv)
    assert status == 2, (status, out, err)
    errors = [ln for ln in err.splitlines() if ln.startswith("asyncore-sim: error: ")]
    assert errors, err
    return errors[0][len("asyncore-sim: error: ") :]


@pytest.fixture
def scenario(tmp_path):
    """write(body) -> path of a scenario whose line 1 names a program."""
    (tmp_path / "prog.py").write_text(PROGRAM)
    (tmp_path / "data.txt").write_text("data\n")

    def write(body, name="s.scenario"):
        path = tmp_path / name
        path.write_bytes(b"program prog.py\n" + body.encode("utf-8", "surrogateescape"))
        return str(path)

    return write


@pytest.fixture
def recorded(tmp_path):
    """A trace of the echo program recorded on fake_net (program and argv in
    its header), and the program beside it."""
    shutil.copy(ECHO, str(tmp_path / "echo.py"))
    path = str(tmp_path / "echo.trace")
    assert (
        main(["record", "--network", "fake", "-o", path, str(tmp_path / "echo.py")])
        == 0
    )
    return path


def edit(path, old, new, name="bad.trace"):
    """A copy of the trace at ``path`` (beside it) with ``old`` made ``new``."""
    with open(path, encoding="ascii", newline="") as f:
        text = f.read()
    assert old in text, old
    out = os.path.join(os.path.dirname(path), name)
    with open(out, "w", encoding="latin-1", newline="") as f:
        f.write(text.replace(old, new, 1))
    return out


def line_of(path, text):
    with open(path, encoding="latin-1", newline="") as f:
        for n, line in enumerate(f, start=1):
            if text in line:
                return n
    raise AssertionError(text)


# -- escapes in quoted values ------------------------------------------------------


ESCAPES = [
    ('"\\u0100"', "bytes values take \\xNN escapes: U+0100 is not a byte"),
    ('"\\q"', "unknown escape \\q (known: "),
    ('"\\x4"', "bad escape \\x4: \\x takes exactly 2 hex digits"),
    ('"\\U7fffffff"', "bad escape \\U7fffffff: past \\U0010ffff, the last code point"),
    ('"ab\\"', "a lone backslash ends the quoted value"),
]


@pytest.mark.parametrize("value, message", ESCAPES)
@pytest.mark.parametrize(
    "where",
    [
        "fault InjectOOB after_bytes=1 byte=%s\n",
        "server localhost:80\nat 1ms localhost:80 send %s\n",
    ],
    ids=["a fault's byte", "a scripted send"],
)
def test_escapes_in_quoted_values(capsys, scenario, where, value, message):
    path = scenario(where % value)
    line = where.count("\n") + 1
    assert bad(capsys, "check", path).startswith("%s:%d: %s" % (path, line, message))


@pytest.mark.parametrize("command", ["diff", "replay", "check"])
def test_an_escape_past_the_last_code_point_in_a_trace(capsys, recorded, command):
    path = edit(recorded, '-> "hello, "', "-> '\\Uffffffff'")
    argv = [command, path] + ([recorded] if command == "diff" else [])
    error = bad(capsys, *argv)
    line = line_of(path, "Uffffffff")
    assert (
        error
        == "%s:%d: bad escape \\Uffffffff: past \\U0010ffff, the last code point"
        % (
            path,
            line,
        )
    )


# -- unbounded sizes ----------------------------------------------------------------


@pytest.mark.parametrize("n", ["99999999999999999999", "99999999999", "500000000", "0"])
def test_a_send_count_past_the_documented_limit(capsys, scenario, n):
    path = scenario("server localhost:80\nat 1ms localhost:80 send %s\n" % n)
    error = bad(capsys, "check", path)
    assert error == (
        "%s:3: send %s: the byte count must be within 1..%d (1 MiB; write several "
        "lines for more)" % (path, n, MAX_SEND_BYTES)
    )


def test_the_timeline_is_bounded_in_all(capsys, scenario):
    lines = "".join("at 1ms localhost:80 send %d\n" % MAX_SEND_BYTES for _ in range(17))
    path = scenario("server localhost:80\n" + lines)
    error = bad(capsys, "check", path)
    assert error.startswith("%s:19: " % path) and "more than 16777216 bytes" in error


def test_a_spinning_run_ends_at_the_step_budget(capsys, scenario, tmp_path):
    (tmp_path / "spin.py").write_text(
        "import asyncore_sim as asyncore\n"
        "class C(asyncore.dispatcher):\n"
        "    def writable(self): return True\n"
        "    def handle_write(self): self.send(b'x')\n"
        "    def handle_read(self): pass\n"
        "c = C(); c.create_socket(); c.connect(('localhost', 80))\n"
        "asyncore.loop(timeout=0)\n"
    )
    path = tmp_path / "spin.scenario"
    path.write_text(
        "program spin.py\nmax-steps 300\nfault PartialSend max_bytes=0\n"
        "server localhost:80\nat 0ms localhost:80 accept\n"
    )
    status = main(["check", str(path)])
    out = capsys.readouterr().out
    # The program's own failure (its traceback is the report), exit 1.
    assert status == 1
    assert "SimulationBudgetExceeded" in out and "301 step(s)" in out


@pytest.mark.parametrize("n, message", [("0", "within 1..1000000"), ("x", "max-steps")])
def test_max_steps_is_a_bounded_number(capsys, scenario, n, message):
    error = bad(capsys, "check", scenario("max-steps %s\n" % n))
    assert (
        error.startswith(scenario("max-steps %s\n" % n) + ":2: ") and message in error
    )


# -- a mask of nothing ----------------------------------------------------------------


def test_a_mask_of_empty_text_is_refused_not_an_endless_loop(
    capsys, scenario, tmp_path
):
    (tmp_path / "expected.txt").write_text("hello x\n")
    path = scenario('expect expected.txt\nmask "" /x/ why\n')
    error = bad(capsys, "check", path)
    assert error.startswith("%s:3: the masked TEXT is empty" % path)
    # And should one reach the comparison from code, it matches nothing.
    scn = Scenario(path=path, masks=[Mask("", "x", "why", 3)])
    mismatch, _ = compare_output(scn, "hello x\n", "hello y\n")
    assert mismatch is not None and mismatch.line == 1


# -- names, paths and files -------------------------------------------------------


def test_a_server_whose_host_does_not_resolve(capsys, scenario):
    path = scenario("server nosuch.invalid:1\n")
    error = bad(capsys, "check", path)
    assert error.startswith("%s:2: server nosuch.invalid:1: unknown host" % path)
    # record --scenario reads it the same way, before running anything
    assert (
        bad(capsys, "record", "--scenario", path, "-o", path + ".trace", ECHO) == error
    )
    assert not os.path.exists(path + ".trace")


def test_two_servers_on_one_address(capsys, scenario):
    path = scenario("name here 127.0.0.1\nserver localhost:80\nserver here:80\n")
    error = bad(capsys, "check", path)
    assert (
        error == "%s:4: server here:80 is 127.0.0.1:80, already taken on line 3" % path
    )


def test_a_golden_trace_that_is_a_directory(capsys, scenario, tmp_path):
    path = scenario("trace .\n")
    assert bad(capsys, "check", path) == "%s:2: the golden trace %s is not a file" % (
        path,
        tmp_path,
    )


def test_a_golden_trace_in_a_missing_folder(capsys, scenario):
    path = scenario("trace nowhere/x.trace\n")
    assert "%s:2: no folder" % path in bad(capsys, "check", "--rewrite", path)


@pytest.mark.parametrize(
    "line", ["env GREE\x00TING=hi\n", "file da\x00ta.txt data.txt\n"]
)
def test_a_nul_in_an_env_or_file_name(capsys, scenario, line):
    path = scenario(line)
    error = bad(capsys, "check", path)
    assert error.startswith("%s:2: control character 0x00 at column" % path)


def test_a_file_in_a_folder_of_the_run_directory(capsys, scenario, tmp_path):
    (tmp_path / "expected.txt").write_text("hello world\ndata\n")
    path = scenario("file sub/x.txt data.txt\nexpect expected.txt\n")
    status, out, err = run(capsys, "check", path)
    assert status == 0, out + err
    assert "1 ok" in out


@pytest.mark.parametrize("name", ["../x.txt", "/tmp/x.txt", "a//b", "."])
def test_a_file_name_outside_the_run_directory(capsys, scenario, name):
    path = scenario("file %s data.txt\n" % name)
    assert "file NAME must be a relative path" in bad(capsys, "check", path)


def test_a_missing_program_names_the_scenario_line(capsys, tmp_path):
    path = tmp_path / "s.scenario"
    path.write_text("# a comment\nprogram nowhere.py\n")
    assert bad(capsys, "check", path) == "%s:2: program not found: %s" % (
        path,
        tmp_path / "nowhere.py",
    )


# -- encodings: where the byte is ---------------------------------------------------


def test_a_scenario_that_is_not_utf8_says_line_and_column(capsys, scenario):
    path = scenario(
        "seed 1\nname h\xff 1.2.3.4\n".encode("latin-1").decode(
            "utf-8", "surrogateescape"
        )
    )
    error = bad(capsys, "check", path)
    assert error.startswith("%s:3: not UTF-8: byte 0xff at column 7" % path)


def test_an_expected_output_that_is_not_utf8(capsys, scenario, tmp_path):
    (tmp_path / "expected.txt").write_bytes(b"hello\nw\xe9rld\n")
    path = scenario("expect expected.txt\n")
    error = bad(capsys, "check", path)
    assert error.startswith(
        "%s:2: not UTF-8: byte 0xe9 at column 2" % (tmp_path / "expected.txt")
    )


def test_a_trace_that_is_not_ascii_says_line_and_column(capsys, recorded):
    path = edit(recorded, '"hello, "', '"h\u00e9llo,"')
    error = bad(capsys, "diff", path, recorded)
    assert error.startswith(
        "%s:%d: not ASCII: byte 0xe9 at column" % (path, line_of(path, 'llo,"'))
    )


# -- corrupt traces: reported as such, at their line --------------------------------


@pytest.mark.parametrize(
    "old, new, line_text, message",
    [
        ("-> EINPROGRESS", "-> ENOSUCH", "ENOSUCH", "unknown errno name ENOSUCH"),
        ("-> EINPROGRESS", "-> !ENOSUCH", "ENOSUCH", "unknown errno name !ENOSUCH"),
        ("-> 3:r,4:w", "-> 3:q,4:w", "3:q", "bad readiness letters 'q'"),
        ("-> 3:r,4:w", "-> 3:rr,4:w", "3:rr", "bad readiness letters 'rr'"),
        ("-> 3:r,4:w", "-> x:r,4:w", "x:r", "bad readiness 'x:r,4:w'"),
        (
            "accept 3 -> 5 @",
            "accept 3 -> @",
            " accept 3 ->",
            "accept event: expected the result -> the new descriptor",
        ),
        (
            '-> 7 "hello, "',
            "-> 7",
            "send 4 7 -> 7\n",
            "send event: expected the result -> the count sent and those bytes",
        ),
        ('-> 7 "hello, "', '-> 6 "hello, "', "-> 6", "send event: 6 bytes sent but 7"),
        (
            'recv 5 64 -> "hello, "',
            "recv 5 64 -> 6",
            "recv 5 64 -> 6",
            "recv event: expected the result -> the bytes read",
        ),
        (
            'recv 5 64 -> "hello, "',
            'recv 5 3 -> "hello, "',
            "recv 5 3",
            "7 bytes read with a buffer of 3",
        ),
        ("0.000000 socket 4", "nan socket 4", "nan socket", "bad time 'nan'"),
        (
            "0.000000 socket 4",
            "0.000000 sockets 4",
            "sockets",
            "unknown event 'sockets'",
        ),
        (
            "0.000000 close 3",
            "0.000000 close -",
            "close -",
            "close event: needs a descriptor",
        ),
        ("# seed: 0", "# pro\x00gram: x", "pro\x00", "control character 0x00 at col"),
    ],
)
def test_a_corrupt_trace_is_reported_where_it_is_corrupt(
    capsys, recorded, old, new, line_text, message
):
    path = edit(recorded, old, new)
    line = line_of(path, line_text)
    for argv in (["replay", path], ["diff", path, recorded], ["check", path]):
        error = bad(capsys, *argv)
        assert error.startswith("%s:%d: " % (path, line)), error
        assert message in error, error


def test_a_header_argv_that_does_not_split(capsys, recorded):
    path = edit(recorded, "# argv: ", "# argv: 'unbalanced ")
    assert bad(capsys, "replay", path) == (
        "%s:3: the '# argv:' header is not a shell-quoted argument list: no "
        "closing quotation" % path
    )


def test_a_program_header_with_a_nul(capsys, recorded):
    path = edit(recorded, "# program: echo.py", "# program: ec\x00ho.py")
    assert bad(capsys, "replay", path) == (
        "%s:2: control character 0x00 at column 14 (quoted values escape it)" % path
    )


def test_a_trace_without_a_program(capsys, recorded):
    path = edit(recorded, "# program: echo.py\n", "")
    assert bad(capsys, "replay", path) == (
        "%s: no '# program:' header; give --program" % path
    )
    empty = edit(recorded, "# program: echo.py", "# program:", name="empty.trace")
    assert (
        bad(capsys, "replay", empty) == "%s:2: the '# program:' header is empty" % empty
    )


def test_a_truncated_last_line(capsys, recorded):
    with open(recorded, encoding="ascii") as f:
        text = f.read()
    cut = os.path.join(os.path.dirname(recorded), "cut.trace")
    with open(cut, "w", encoding="ascii", newline="") as f:
        f.write(text[:-4])  # "...recv 5 64 -> \"\"\n" loses its end
    lines = text[:-4].count("\n") + 1
    for argv in (["replay", cut], ["diff", cut, recorded], ["check", cut]):
        assert bad(capsys, *argv) == (
            "%s:%d: the last line does not end with a newline: the file was cut "
            "short" % (cut, lines)
        )


def test_times_only_go_forward(capsys, recorded):
    path = edit(recorded, "0.000000 close 3", "0.000000 close 3\n-0.5 close 4")
    assert "bad time '-0.5'" in bad(capsys, "diff", path, recorded)
    later = edit(recorded, "0.000000 socket 4", "1.000000 socket 4", name="later.trace")
    error = bad(capsys, "diff", later, recorded)
    assert "time 0.000000 is before the previous event's 1.000000" in error


def test_a_trace_that_is_a_directory_or_missing(capsys, tmp_path):
    assert bad(capsys, "replay", tmp_path) == "%s: cannot read: a directory" % tmp_path
    missing = tmp_path / "no.trace"
    assert bad(capsys, "diff", missing, missing) == (
        "%s: cannot read: No such file or directory" % missing
    )


def test_the_reader_itself_raises_its_error_type(recorded):
    with pytest.raises(TraceFormatError, match=r"bad\.trace:\d+: unknown errno"):
        Trace.load(edit(recorded, "-> EINPROGRESS", "-> EFOO"))


# -- record and replay: arguments and programs --------------------------------------


def test_record_checks_the_output_folder_before_running(capsys, tmp_path):
    marker = tmp_path / "ran"
    prog = tmp_path / "p.py"
    prog.write_text("open(%r, 'w').close()\n" % str(marker))
    error = bad(capsys, "record", "-o", "/no/such/dir/x.trace", prog)
    assert error == "/no/such/dir/x.trace: no such folder for the trace: /no/such/dir"
    assert not marker.exists()
    assert bad(capsys, "record", "-o", tmp_path, prog) == (
        "%s: is a folder, not a trace" % tmp_path
    )
    assert not marker.exists()


def test_record_refuses_an_argument_a_header_cannot_hold(capsys, tmp_path):
    out = tmp_path / "x.trace"
    error = bad(capsys, "record", "--network", "fake", "-o", out, ECHO, "a\nb")
    assert error.startswith("%s: the '# argv:' header cannot hold '\\n'" % out)


def test_record_of_a_missing_program(capsys, tmp_path):
    assert bad(capsys, "record", "-o", tmp_path / "x.trace", tmp_path / "no.py") == (
        "%s: no such program" % (tmp_path / "no.py")
    )


def test_replay_of_a_trace_whose_program_is_gone(capsys, recorded, tmp_path):
    os.remove(str(tmp_path / "echo.py"))
    assert bad(capsys, "replay", recorded) == (
        "%s:2: program not found: %s (the '# program:' header is a path relative "
        "to the trace's folder)" % (recorded, tmp_path / "echo.py")
    )
    assert bad(capsys, "replay", recorded, "--program", tmp_path / "gone.py") == (
        "%s: no such program (--program)" % (tmp_path / "gone.py")
    )


def test_replay_options_after_the_trace_are_replays_own(capsys, recorded, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    moved = str(other / "echo.trace")
    shutil.move(recorded, moved)  # its program is no longer beside it
    status, out, err = run(capsys, "replay", moved, "--program", tmp_path / "echo.py")
    assert status == 0, out + err
    assert "identical" in out
    # after --, everything is the program's
    status, out, err = run(
        capsys,
        "replay",
        "--program",
        tmp_path / "echo.py",
        moved,
        "--",
        "--program",
        "x",
    )
    assert status == 0, out + err
    # an option replay does not know is refused, not handed to the program
    assert bad(capsys, "replay", moved, "--frobnicate") == (
        "unrecognized arguments: --frobnicate"
    )


def test_a_recorded_program_path_does_not_depend_on_the_machine(
    capsys, tmp_path, monkeypatch
):
    (tmp_path / "progs").mkdir()
    (tmp_path / "runs").mkdir()
    prog = tmp_path / "progs" / "echo.py"
    shutil.copy(ECHO, str(prog))
    out = tmp_path / "runs" / "x.trace"
    status, _, err = run(capsys, "record", "--network", "fake", "-o", out, prog)
    assert status == 0, err
    header = Trace.load(str(out)).header
    assert header["program"] == "../progs/echo.py"
    assert str(tmp_path) not in out.read_text()
    # replay finds it from the trace's folder, whatever the working directory
    monkeypatch.chdir(str(tmp_path / "progs"))
    status, stdout, err = run(capsys, "replay", out)
    assert status == 0 and "identical" in stdout, stdout + err


# -- scenario values -----------------------------------------------------------------


@pytest.mark.parametrize(
    "line, message",
    [
        (
            "fault PartialSend side=middle",
            "PartialSend: 'side' must be in ('client', 'server') (got 'middle')",
        ),
        (
            "fault PartialSend max_bytes=abc",
            "PartialSend: max_bytes must be a whole number or none, got abc",
        ),
        (
            "fault PartialSend port=http",
            "PartialSend: port must be a whole number or none, got http",
        ),
        ("fault PartialSend port=99999", "PartialSend: port must be within 1..65535"),
        (
            "server localhost:99999",
            "the server's port must be within 1..65535, got 99999",
        ),
        ("ports 0 80", "a port must be within 1..65535, got 0"),
        (
            'fault CutSends sizes="9,0"',
            "CutSends: sizes must be a tuple of items that are each a whole number "
            "or none, written with commas and no spaces: 9,0 or (9,0)",
        ),
        ("fault CutSends sizes=9,,0", "CutSends: sizes must be a tuple"),
        ("fault CutSends sizes=9,-1", "CutSends: sizes[1] must be >= 0, got -1"),
        ("fault Delay seconds=inf", "Delay: seconds must be a number, got inf"),
        (
            "fault PartialSend max_bytes=1 max_bytes=2",
            "PartialSend: max_bytes given twice",
        ),
        ("fault PartialSend bytes=3", "PartialSend: unknown setting 'bytes'"),
        (
            "fault ExceptionalFile no_getsockopt=yes",
            "no_getsockopt must be true or false",
        ),
        ("name host not-an-ip", "'not-an-ip' is not an IP address"),
        ("seed 1\nseed 2", "a second 'seed' line (the first is line 2)"),
    ],
)
def test_scenario_values_are_read_as_declared(capsys, scenario, line, message):
    path = scenario(line + "\n")
    error = bad(capsys, "check", path)
    assert error.startswith(path + ":"), error
    assert message in error, error
    assert "Attribute(" not in error and "not supported between" not in error


@pytest.mark.parametrize(
    "text, sizes",
    [
        ("9,0", (9, 0)),
        ("(9,0)", (9, 0)),
        ("(9,)", (9,)),
        ("9", (9,)),
        ("()", ()),
        ("3,none,1", (3, None, 1)),
    ],
)
def test_the_tuple_syntax_of_scripted_rules(scenario, text, sizes):
    scn = load_scenario(scenario("fault CutSends sizes=%s side=server\n" % text))
    (rule,) = scn.faults
    assert rule.sizes == sizes and rule.match.side == "server"


def test_a_scripted_rule_runs_with_its_sizes(capsys, scenario, tmp_path):
    (tmp_path / "expected.txt").write_text("hello world\n")
    path = scenario(
        "fault CutSends sizes=(9,0)\n"
        "fault DelaySegments seconds=0.5,1\n"
        "expect expected.txt\n"
    )
    status, out, err = run(capsys, "check", path)
    assert status == 0, out + err


# -- check's own arguments ---------------------------------------------------------


def test_check_paths(capsys, tmp_path):
    assert bad(capsys, "check", tmp_path / "nowhere") == (
        "%s: no such file or folder (run from the project's top directory, or give "
        "paths)" % (tmp_path / "nowhere")
    )
    (tmp_path / "x.txt").write_text("")
    assert bad(capsys, "check", tmp_path / "x.txt") == (
        "%s: not a folder, .scenario or .trace file" % (tmp_path / "x.txt")
    )
    (tmp_path / "x.txt").unlink()
    assert bad(capsys, "check", tmp_path) == (
        "%s: no *.scenario or *.trace files there" % tmp_path
    )


def test_a_bad_scenario_is_a_row_and_an_error_the_rest_still_run(
    capsys, scenario, tmp_path
):
    (tmp_path / "expected.txt").write_text("hello world\n")
    scenario("expect expected.txt\n", name="a.scenario")
    bad_one = scenario("seed x\n", name="b.scenario")
    status, out, err = run(capsys, "check", tmp_path)
    assert status == 2
    assert "2 checked: 1 ok, 0 differ, 1 unusable" in out
    assert err.strip() == (
        "asyncore-sim: error: %s:2: the seed must be a whole number, got 'x'" % bad_one
    )


def test_usage_errors_are_reported_the_same_way(capsys):
    assert bad(capsys, "diff", "-C", "-1", "a", "b") == (
        "diff: argument -C/--context: expected a number >= 0, got '-1'"
    )
    assert (
        bad(capsys, "replay") == "replay: the following arguments are required: trace"
    )
    assert bad(capsys, "sweep", "nowhere_test.py") == (
        "nowhere_test.py: no such test file or folder"
    )
    assert bad(capsys, "sweep", HERE, "--seeds", "0") == (
        "sweep: --seeds must be >= 1, got 0"
    )
    assert bad(capsys, "sweep", HERE, "-n", "many") == (
        "sweep: -n must be a number >= 0 or auto, got 'many'"
    )


def test_scenario_error_type(scenario):
    with pytest.raises(ScenarioError, match=r"s\.scenario:2: CutSends: sizes must be"):
        load_scenario(scenario('fault CutSends sizes="9,0"\n'))
