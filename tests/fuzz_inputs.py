"""Mutation fuzzing of what the command line reads (issue 13, part 2).

The real files under ``traces/pymotw/`` (scenarios, expected outputs, golden
traces, and traces recorded from the scenarios so that they name their
program) are mutated: byte flips and inserted bytes, line deletions,
duplications, swaps and insertions of known-bad lines, token swaps and
tokens taken from other files, random escapes in quoted values, random
numbers, truncation.  Each mutated input goes through the scenario reader,
the trace reader, or a subcommand (``check``, ``replay``, ``diff``,
``record``).

The invariant, :func:`Workspace.run`: exit status 0, 1 or 2; status 2 with an
``asyncore-sim: error: file...`` line and no traceback; no exception out of
the reader or ``main()``; no traceback from our own code (a program's own
failure under a mutated network is a report, not a crash); never more than
:data:`LIMIT` seconds.  A violation is returned as a *crash signature*: the
target and what went wrong, without the input's details, so that one bug
found many times counts once.

Used by ``tests/test_fuzz_inputs.py`` (a fast sample in the default run) and
``tests/long/test_fuzz_long.py`` (minutes, opt-in).
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import re
import shutil
import signal
import time
import warnings
from collections import Counter
from typing import Any, Dict, Iterator, List, Optional, Tuple

from hypothesis import strategies as st

from asyncore_sim.cli import main
from asyncore_sim.trace import Trace, TraceFormatError
from asyncore_sim.trace.scenario import ScenarioError, load_scenario

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYMOTW = os.path.join(ROOT, "traces", "pymotw")
EXAMPLES = os.path.join(ROOT, "examples", "pymotw")
SEEDS = os.environ.get("ASYNCORE_SIM_SEEDS") or os.path.join(
    os.path.dirname(ROOT), "shared", "seeds"
)

#: The most seconds one input may take, whatever it is.
LIMIT = 5.0

ESCAPES = [
    "\\u0100",
    "\\q",
    "\\x4",
    "\\U7fffffff",
    "\\Uffffffff",
    "\\U0010ffff",
    "\\ud800",
    "\\x00",
    "\\xff",
    "\\",
    '\\"',
    "\\'",
    "\\n",
    "\\\\",
    '"',
]
NUMBERS = [
    "0",
    "-1",
    "1",
    "2",
    "255",
    "256",
    "65535",
    "65536",
    "99999",
    "1048576",
    "1048577",
    "500000000",
    "99999999999",
    "99999999999999999999",
    "9" * 5000,
    "1e309",
    "nan",
    "inf",
    "-inf",
    "0.5",
    "-0.0",
    "1_000",
    "0x10",
    "",
    "abc",
]
BAD_SCENARIO_LINES = [
    'mask "" /x/ why',
    'mask "Connection" /(a+)+$/ a catastrophic regex',
    "server nosuch.invalid:1",
    "server localhost:99999",
    "server www.python.org:80",
    "name www.python.org 127.0.0.1",
    "name here 151.101.0.223",
    "server here:80",
    "trace .",
    "trace nowhere/x.trace",
    "env A\x00B=1",
    "env PYMOTW_LANG=xx",
    "file sub/x.txt lorem-004.txt",
    "file ../x lorem-004.txt",
    "file lorem.txt/x lorem-004.txt",
    'fault CutSends sizes="9,0"',
    "fault CutSends sizes=9,0",
    "fault CutReads sizes=(1,1,1,none)",
    "fault DelaySegments seconds=0.5,1e308",
    "fault PartialSend max_bytes=0",
    "fault PartialSend max_bytes=1 side=server",
    "fault PartialSend side=middle",
    "fault PartialSend max_bytes=abc",
    "fault PartialSend port=http",
    "fault ShortRead max_bytes=1",
    "fault SpuriousReady",
    "fault InterruptWait",
    "fault PeerReset after_bytes=3",
    "fault PeerClose at_time=0.001",
    'fault InjectOOB after_bytes=1 byte="\\u0100"',
    'fault InjectOOB after_bytes=5 byte="!"',
    "fault PendingError at_time=0 errno=104",
    "fault RefuseConnect",
    "fault ConnectTimeout after=1e300",
    "fault ConnectLatency seconds=0.25",
    "fault Delay seconds=1e308",
    "fault ExceptionalFile no_getsockopt=true",
    "at 1ms www.python.org:80 send 500000000",
    "at 1ms www.python.org:80#2 reset",
    'at 1ms www.python.org:80 oob "!"',
    "at 86400s www.python.org:80 close",
    "at 99999999999999s www.python.org:80 close",
    "max-steps 1000000",
    "max-steps 0",
    "ports 1 2 3",
    "ports 0",
    "seed -1",
    "seed 99999999999999999999",
    "program .",
    "program ../../examples/pymotw/asyncore_loop.py",
    "program 001-loop.expected",
    "expect 001-loop.trace",
    "expect lorem-001.txt",
    "normalize crlf",
    'source 001_a0de40b51f70ea37.txt after "a" until "b"',
    # this session's directives and rules
    "cost loopback",
    "cost wait=1e308s",
    "epoch 2024-05-01T12:00:00Z",
    "epoch 1e400",
    "epoch 2024-02-30T00:00:00Z",
    "link latency=1e308s",
    "link port=8080 capacity=1 accept_latency=1ms",
    "link conn=0 latency_to_client=5us",
    "fault HideReady events=rwx at_pass=0 conn=0 side=server",
    "fault DropDatagram skip=1 times=1 port=161",
    "fault DuplicateDatagram copies=99999 gap=0",
    "fault ReorderDatagrams window=0",
    "fault TruncateDatagram mtu=-1",
    "fault CorruptDatagram offset=99999999",
    "fault DelayDatagram seconds=1e308 jitter=1e308",
    "fault DropDatagram side=client",
]
BAD_TRACE_LINES = [
    "0.000000 recv 5 100 -> 6",
    "# argv: 'a",
    "# argv: a\\",
    "# program:",
    "# program: ../../examples/pymotw/asyncore_loop.py",
    "# program: /nonexistent/x.py",
    "0.000000 wait - select 30.0 3:rx -> 3:q",
    "0.000000 wait - poll 30.0 3:rx -> 99:r",
    "0.000000 wait - select nan 3:rx -> 3:r",
    "nan socket 3 AF_INET SOCK_STREAM",
    "1e309 socket 3 AF_INET SOCK_STREAM",
    "0.000000 connect 3 @1.2.3.4:80 -> ENOSUCH",
    "0.000000 connect 3 @1.2.3.4:80 -> !ENOSUCH",
    "0.000000 connect 3 @1.2.3.4:99999 -> 0",
    "0.000000 accept 3 -> @1.2.3.4:1",
    "0.000000 accept 3 -> 3 'unix-path'",
    '0.000000 send 3 5 -> 9 "ab"',
    '0.000000 recv 3 5 -> "\\Uffffffff"',
    "0.000000 recv 3 5 -> '\\Uffffffff'",
    "9.000000 close 3",
    "0.000000 socket 9 AF_INET SOCK_STREAM",
    "0.000000 socket - AF_INET SOCK_STREAM -> !EMFILE",
    "0.000000 getsockname 3 -> 5",
    "0.000000 getsockopt 3 SOL_SOCKET SO_ERROR -> ECONNREFUSED",
    "0.000000 getsockopt 3 SOL_SOCKET SO_ERROR -> EFOO",
    "0.000000 sleep - 1e309",
    "0.000000 handle_read 3 X -> 1",
    "0.000000 readable 3 X -> 1",
    "0.000000 file 3",
    "0.000000 file 3 -> !EBADF",
    "0.000000 close 99999999999",
    '0.000000 sendto 3 2 @127.0.0.1:9 -> 2 "ab"',
    '0.000000 sendto 3 2 -> 2 "ab"',
    '0.000000 recvfrom 3 9 -> "ab" @[::1]:9/0/0',
    '0.000000 recvfrom 3 9 -> "ab"',
    "0.000000 bind 3 @[::1]:99999/0/0",
    '0.000000 bind 3 "\x00abstract"',
]
INSERT_BYTES = [
    b"\xef\xbb\xbf",
    b"\x00",
    b"\r",
    b"\xff",
    b"\t",
    b"\x85",
    b"\xe2\x80\xa8",
    b" ",
]

OPS = (
    "flip",
    "insert_bytes",
    "delete_line",
    "dup_line",
    "swap_lines",
    "insert_line",
    "swap_tokens",
    "foreign_token",
    "escape",
    "number",
    "payload",
    "payload",
    "payload",
    "truncate",
    "crlf",
)

#: One mutation: an operation and two numbers that pick where and what
#: (taken modulo the sizes they index, so every pair means something).
mutations = st.tuples(
    st.sampled_from(OPS), st.integers(0, 1 << 16), st.integers(0, 1 << 16)
)
TARGETS = ("scenario", "trace", "check", "check-trace", "replay", "diff", "record")

#: A fuzz case: the target, which corpus file, what is mutated, and how.
cases = st.tuples(
    st.sampled_from(TARGETS),
    st.integers(0, 1 << 8),
    st.sampled_from(("scenario", "expected", "golden")),
    st.lists(mutations, min_size=1, max_size=5),
)
reader_cases = st.tuples(
    st.sampled_from(("scenario", "trace")),
    st.integers(0, 1 << 8),
    st.just("scenario"),
    st.lists(mutations, min_size=1, max_size=5),
)

_TOKEN_RE = re.compile(rb"\S+")
_NUMBER_RE = re.compile(rb"\d+(?:\.\d+)?")


def mutate(
    data: bytes, ops: List[Tuple[str, int, int]], pool: List[bytes], lines: List[str]
) -> bytes:
    """``data`` after each mutation of ``ops`` in turn."""
    for op, a, b in ops:
        data = _mutate_once(data, op, a, b, pool, lines)
    return data


def _mutate_once(
    data: bytes, op: str, a: int, b: int, pool: List[bytes], lines: List[str]
) -> bytes:
    n = len(data)
    if op == "flip" and n:
        i = a % n
        return data[:i] + bytes([b % 256]) + data[i + 1 :]
    if op == "insert_bytes":
        i = a % (n + 1)
        return data[:i] + INSERT_BYTES[b % len(INSERT_BYTES)] + data[i:]
    if op == "truncate":
        return data[: a % (n + 1)]
    if op == "crlf":
        return data.replace(b"\n", b"\r\n")
    if op in ("delete_line", "dup_line", "swap_lines", "insert_line"):
        parts = data.split(b"\n")
        i, j = a % len(parts), b % len(parts)
        if op == "delete_line":
            del parts[i]
        elif op == "dup_line":
            parts.insert(j, parts[i])
        elif op == "swap_lines":
            parts[i], parts[j] = parts[j], parts[i]
        else:
            parts.insert(i, lines[b % len(lines)].encode("latin-1"))
        return b"\n".join(parts)
    if op in ("swap_tokens", "foreign_token", "number"):
        rx = _NUMBER_RE if op == "number" else _TOKEN_RE
        spans = [m.span() for m in rx.finditer(data)]
        if not spans:
            return data
        s, e = spans[a % len(spans)]
        if op == "number":
            new = NUMBERS[b % len(NUMBERS)].encode()
        elif op == "foreign_token":
            new = pool[b % len(pool)]
        else:
            s2, e2 = spans[b % len(spans)]
            if s2 < s:
                s, e, s2, e2 = s2, e2, s, e
            if s2 < e:
                return data
            return data[:s] + data[s2:e2] + data[e:s2] + data[s:e] + data[e2:]
        return data[:s] + new + data[e:]
    if op == "payload":
        # another printable byte inside a quoted value: the file stays
        # well-formed, what it says changes
        inside = [m.start() + 1 for m in re.finditer(rb'"[A-Za-z0-9 ,.]', data)]
        if not inside:
            return data
        i = inside[a % len(inside)]
        return (
            data[:i]
            + bytes([0x20 + b % 95]).replace(b'"', b"'").replace(b"\\", b"/")
            + data[i + 1 :]
        )
    if op == "escape":
        quotes = [m.start() for m in re.finditer(rb"[\"']", data)]
        i = quotes[a % len(quotes)] + 1 if quotes else a % (n + 1)
        return data[:i] + ESCAPES[b % len(ESCAPES)].encode("latin-1") + data[i:]
    return data


# -- the workspace ---------------------------------------------------------------


def _copy_tree(src: str, dst: str) -> None:
    shutil.copytree(src, dst, dirs_exist_ok=True)


class Workspace:
    """A copy of traces/pymotw and examples/pymotw (so that relative paths
    hold), traces recorded from each scenario, and the runner."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.pymotw = os.path.join(root, "traces", "pymotw")
        _copy_tree(PYMOTW, self.pymotw)
        _copy_tree(EXAMPLES, os.path.join(root, "examples", "pymotw"))
        self.seeds: Optional[str] = None
        if os.path.isdir(SEEDS):
            self.seeds = os.path.join(root, "seeds")
            _copy_tree(SEEDS, self.seeds)
        # Programs that read lorem.txt find it in the working directory.
        self.cwd = os.path.join(root, "run")
        os.makedirs(self.cwd)
        shutil.copy(
            os.path.join(PYMOTW, "lorem-004.txt"), os.path.join(self.cwd, "lorem.txt")
        )
        self.recorded_dir = os.path.join(root, "recorded")
        os.makedirs(self.recorded_dir)
        self.out = os.path.join(root, "out")
        os.makedirs(self.out)
        names = sorted(f for f in os.listdir(PYMOTW) if f.endswith(".scenario"))
        self.scenarios = [os.path.join(self.pymotw, f) for f in names]
        self.recorded: List[str] = []
        self.programs: Dict[str, str] = {}
        with self.inside():
            for path in self.scenarios:
                scn = load_scenario(path)
                program = scn.resolve(scn.program or "")
                self.programs[path] = program
                out = os.path.join(self.recorded_dir, os.path.basename(path) + ".trace")
                with _quiet():
                    status = main(["record", "--scenario", path, "-o", out, program])
                if status in (0, 1) and os.path.exists(out):
                    self.recorded.append(out)
        pool: List[bytes] = []
        for f in sorted(os.listdir(PYMOTW)):
            with open(os.path.join(PYMOTW, f), "rb") as fh:
                pool.extend(_TOKEN_RE.findall(fh.read())[:400])
        self.pool = sorted(set(pool))
        self.count: Counter[str] = Counter()  # inputs tried, per target
        self.statuses: Counter[Tuple[str, Any]] = Counter()  # (target, status)
        self.program_failures = 0
        self.failure_kinds: Counter[str] = Counter()  # the programs' own

    @contextlib.contextmanager
    def inside(self) -> Iterator[None]:
        """In the run directory, with the programs' unclosed files (the
        documented programs leave them to the collector) collected here."""
        saved = os.getcwd()
        os.chdir(self.cwd)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                try:
                    yield
                finally:
                    gc.collect()
        finally:
            os.chdir(saved)

    # -- one case -----------------------------------------------------------------

    def write(self, name: str, data: bytes) -> str:
        path = os.path.join(self.pymotw, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def prepare(self, target: str, pick: int, part: str, ops: Any) -> List[str]:
        """Write the mutated input; the argument list (or [path] for a reader)."""
        scenario = self.scenarios[pick % len(self.scenarios)]
        if target in ("trace", "check-trace", "replay", "diff"):
            sources = self.recorded + sorted(
                os.path.join(self.pymotw, f)
                for f in os.listdir(PYMOTW)
                if f.endswith(".trace")
            )
            source = sources[pick % len(sources)]
            with open(source, "rb") as f:
                data = mutate(f.read(), ops, self.pool, BAD_TRACE_LINES)
            # beside the recorded traces, so that '# program:' still resolves
            path = os.path.join(self.recorded_dir, "fuzz.trace")
            with open(path, "wb") as f:
                f.write(data)
            if target == "trace":
                return [path]
            if target == "diff":
                return ["diff", path, source]
            if target == "replay":
                return ["replay", path]
            return ["check", path]
        with open(scenario, "rb") as f:
            text = f.read()
        if target in ("check", "record") and part != "scenario":
            # mutate the scenario's expected output or golden trace instead
            word = b"expect" if part == "expected" else b"trace"
            m = re.search(rb"^" + word + rb" (\S+)$", text, re.M)
            if m:
                with open(os.path.join(self.pymotw, m.group(1).decode()), "rb") as f:
                    other = mutate(f.read(), ops, self.pool, BAD_TRACE_LINES)
                name = "fuzz." + part
                self.write(name, other)
                text = text[: m.start(1)] + name.encode() + text[m.end(1) :]
            path = self.write("fuzz.scenario", text)
        else:
            path = self.write(
                "fuzz.scenario", mutate(text, ops, self.pool, BAD_SCENARIO_LINES)
            )
        if target == "scenario":
            return [path]
        if target == "record":
            out = os.path.join(self.out, "x.trace")
            return ["record", "--scenario", path, "-o", out, self.programs[scenario]]
        argv = ["check", "-v", path]
        if self.seeds and pick % 3 == 0:
            argv[1:1] = ["--seeds", self.seeds]
        return argv

    def run(self, case: Tuple[str, int, str, Any]) -> Optional[str]:
        """Run one case; its crash signature, or None if the invariant held."""
        target, pick, part, ops = case
        with self.inside():
            argv = self.prepare(target, pick, part, ops)
            self.count[target] += 1
            start = time.monotonic()
            stdout, stderr = io.StringIO(), io.StringIO()
            try:
                with (
                    _alarm(max(30.0, 6 * LIMIT)),
                    contextlib.redirect_stdout(stdout),
                    contextlib.redirect_stderr(stderr),
                ):
                    if target == "scenario":
                        _read(load_scenario, ScenarioError, argv[0])
                        status = 0
                    elif target == "trace":
                        _read(Trace.load, TraceFormatError, argv[0])
                        status = 0
                    else:
                        status = main(argv)
            except BaseException as e:  # noqa: BLE001 - what the fuzz is for
                if isinstance(e, KeyboardInterrupt):
                    raise
                return "%s: %s escaped%s" % (target, type(e).__name__, _where(e))
            elapsed = time.monotonic() - start
        self.statuses[(target, status)] += 1
        return self.judge(target, status, stdout.getvalue(), stderr.getvalue(), elapsed)

    def judge(
        self, target: str, status: Any, out: str, err: str, elapsed: float
    ) -> Optional[str]:
        if elapsed > LIMIT:
            return "%s: took %.1fs (more than %gs)" % (target, elapsed, LIMIT)
        if status not in (0, 1, 2):
            return "%s: exit status %r" % (target, status)
        tracebacks = _tracebacks(out + err)
        if status == 2:
            if tracebacks:
                return "%s: a traceback with exit status 2" % target
            if (
                not re.search(r"^asyncore-sim: error: \S", err, re.M)
                and "usage:" not in err
            ):
                return "%s: exit status 2 without an error line" % target
        for frame, exc in tracebacks:
            if frame.endswith("(_raise_recorded)"):
                continue  # the replay raising what the recording says was raised
            if "/asyncore_sim/trace/" in frame or "/asyncore_sim/cli/" in frame:
                return "%s: %s in our code at %s" % (target, exc, frame)
            if "/fake_net/" in frame and exc not in EXPECTED_FROM_THE_NETWORK:
                return "%s: %s in fake_net at %s" % (target, exc, frame)
        if tracebacks:
            self.program_failures += 1
            frame, exc = tracebacks[-1]
            self.failure_kinds["%s in %s" % (exc, frame.split(":")[0])] += 1
        return None


#: What the simulated network may raise into a program (a mutated scenario
#: or trace makes it do so): socket errors and the end of a simulation.
EXPECTED_FROM_THE_NETWORK = {
    "OSError",
    "BlockingIOError",
    "BrokenPipeError",
    "ConnectionError",
    "ConnectionResetError",
    "ConnectionRefusedError",
    "ConnectionAbortedError",
    "TimeoutError",
    "InterruptedError",
    "gaierror",
    "timeout",
    "SimulationError",
    "SimulationStuck",
    "SimulationBudgetExceeded",
    "RealSocketForbidden",
    # ExceptionalFile(no_getsockopt=True): file_wrapper has no getsockopt
    "AttributeError",
}


def _read(reader: Any, error: type, path: str) -> None:
    try:
        reader(path)
    except error:
        pass


def _where(e: BaseException) -> str:
    tb = e.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return ""
    code = last.tb_frame.f_code
    return " at %s:%s (%s)" % (
        os.path.relpath(code.co_filename, ROOT),
        last.tb_lineno,
        code.co_name,
    )


_FRAME = re.compile(r'^\s+File "([^"]+)", line (\d+), in (\S+)$')


# asyncore's compact traceback (handle_error): [file|function|line] ...
_COMPACT = re.compile(r"\(<class '([^']+)'>:.*\[([^\]|]+)\|([^|\]]+)\|(\d+)\]\)\s*$")


def _tracebacks(text: str) -> List[Tuple[str, str]]:
    """(innermost frame, exception type) of each traceback in ``text``, in
    Python's form or in asyncore's compact one (``handle_error``)."""
    found = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _COMPACT.search(line)
        if m:
            exc, path, func, lineno = m.groups()
            found.append(("%s:%s (%s)" % (path, lineno, func), exc.rsplit(".", 1)[-1]))
            continue
        if not line.strip().startswith("Traceback (most recent call last):"):
            continue
        frame, exc = "", "?"
        for ln in lines[i + 1 :]:
            m = _FRAME.match(ln)
            if m:
                frame = "%s:%s (%s)" % m.groups()
            elif ln and not ln[0].isspace():
                exc = ln.split(":", 1)[0].rsplit(".", 1)[-1]
                break
        found.append((frame, exc))
    return found


class _Timeout(Exception):
    pass


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Interrupt a run that hangs (the main thread only; elsewhere, none)."""
    try:
        old = signal.signal(signal.SIGALRM, _on_alarm)
    except (ValueError, AttributeError):  # not the main thread, or no SIGALRM
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Timeout("the run did not end")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        yield
