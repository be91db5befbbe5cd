"""Scenario files: a program, the simulated network it runs on, and what it
must print.

A scenario is a plain text file, one directive per line; ``#`` starts a
comment; paths are relative to the scenario file; quoted values use the
trace escapes (``\\n``, ``\\r``, ``\\t``, ``\\xNN``, ``\\\\``, ``\\"``).

Running the program
    ``program PATH``            the Python program, run as ``__main__`` in a
                                fresh directory (``file`` puts data there)
    ``env NAME=VALUE``          set for the run
    ``file NAME PATH``          copy PATH into the run directory as NAME

The network (fake_net)
    ``seed N``                  the network's seed (default 0)
    ``ports N N ...``           ephemeral ports, handed out in this order
    ``name HOST IP``            add HOST to the name table
    ``fault CLASS key=value..`` a fake_net fault rule, e.g.
                                ``fault PartialSend max_bytes=100 side=server``
                                (``port=``, ``fd=``, ``conn=``, ``side=`` make
                                its Match)
    ``server HOST:PORT``        a scripted server outside the process
    ``at TIME HOST:PORT[#K] ACTION [VALUE]``
                                at virtual TIME (``5ms``, ``1.5s``, ``250us``)
                                connection K (default 1) to that server:
                                ``accept`` (the connection completes),
                                ``send N`` (N filler bytes) or ``send "..."``,
                                ``oob "x"``, ``close`` (FIN), ``reset`` (RST).
                                Lines at the same time happen in file order.

What it must print
    ``expect PATH``             the expected output, byte for byte
    ``trace PATH``              the golden event trace of the run (optional)
    ``normalize crlf``          compare after turning CRLF into LF in the
                                output (the documents dropped the CR)
    ``normalize trailing-space`` compare after dropping spaces and tabs at
                                line ends (004's renderer dropped them)
    ``mask "TEXT" /REGEX/ WHY`` in the expected output, TEXT stands for any
                                text the regex matches (on one line); WHY
                                says what no deterministic run can print
    ``source DOC after "LINE" until "LINE" [indent "PREFIX"]``
                                where the expected output was read from (see
                                :func:`extract_block`)

A scenario that cannot be read raises :class:`ScenarioError`, whose message
starts with ``file:line:``.
"""

from __future__ import annotations

import contextlib
import difflib
import gc
import io
import logging
import os
import re
import runpy
import sys
import tempfile
import warnings
from typing import Any, Dict, Iterator, List, Optional, Tuple

import attrs

from asyncore_sim.trace._format import Trace, _unescape
from asyncore_sim.trace._recorder import Recorder

__all__ = [
    "Scenario",
    "ScenarioError",
    "Mask",
    "RunResult",
    "OutputMismatch",
    "load_scenario",
    "run_scenario",
    "compare_output",
    "extract_block",
    "filler",
]


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names file and line."""


@attrs.frozen
class Mask:
    text: str
    regex: str
    why: str
    line: int


@attrs.frozen
class Action:
    time: float
    host: str
    port: int
    conn: int
    action: str
    data: bytes
    line: int


@attrs.define
class Scenario:
    path: str
    program: Optional[str] = None
    env: Dict[str, str] = attrs.field(factory=dict)
    files: List[Tuple[str, str]] = attrs.field(factory=list)
    seed: int = 0
    ports: Optional[List[int]] = None
    names: Dict[str, str] = attrs.field(factory=dict)
    faults: List[Any] = attrs.field(factory=list)
    servers: List[Tuple[str, int, int]] = attrs.field(factory=list)
    actions: List[Action] = attrs.field(factory=list)
    expect: Optional[str] = None
    trace: Optional[str] = None
    normalize: List[str] = attrs.field(factory=list)
    masks: List[Mask] = attrs.field(factory=list)
    source: Optional[Dict[str, str]] = None

    @property
    def name(self) -> str:
        base = os.path.basename(self.path)
        return base[: -len(".scenario")] if base.endswith(".scenario") else base

    def resolve(self, rel: str) -> str:
        return os.path.normpath(os.path.join(os.path.dirname(self.path), rel))


def filler(n: int) -> bytes:
    """The ``send N`` filler: N bytes of a repeating printable pattern."""
    pattern = b"asyncore-sim filler 0123456789\n"
    return (pattern * (n // len(pattern) + 1))[:n]


_TIME = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)(us|ms|s)$")
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
_ENDPOINT = re.compile(r"^([^\s:#]+):(\d+)(?:#(\d+))?$")


def _parse_time(token: str, where: str) -> float:
    m = _TIME.match(token)
    if not m:
        raise ScenarioError(
            "%s: bad time %r (expected a number with us, ms or s, e.g. 5ms)"
            % (where, token)
        )
    return round(float(m.group(1)) * _UNITS[m.group(2)], 9)


def _quoted(token: str, where: str) -> str:
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise ScenarioError(
            '%s: expected a quoted value ("..."), got %s' % (where, token)
        )
    try:
        return _unescape(token[1:-1])
    except ValueError as e:
        raise ScenarioError("%s: %s" % (where, e)) from None


_QTOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|/(?:[^/\\]|\\.)*/(?=\s|$)|\S+')


def _tokens(line: str) -> List[str]:
    return _QTOKEN.findall(line)


def _int(token: str, where: str, what: str) -> int:
    try:
        return int(token)
    except ValueError:
        raise ScenarioError(
            "%s: %s must be a whole number, got %r" % (where, what, token)
        ) from None


def _fault_value(text: str) -> Any:
    if text in ("true", "True"):
        return True
    if text in ("false", "False"):
        return False
    if text in ("none", "None"):
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    if text.startswith('"'):
        return _unescape(text[1:-1]).encode("latin-1")
    return text


def _make_fault(tokens: List[str], where: str) -> Any:
    import fake_net
    from fake_net import _faults

    name = tokens[0]
    cls = getattr(_faults, name, None)
    if (
        not (isinstance(cls, type) and issubclass(cls, _faults.Fault))
        or cls is _faults.Fault
    ):
        known = sorted(
            n
            for n in _faults.__all__
            if isinstance(getattr(_faults, n), type)
            and issubclass(getattr(_faults, n), _faults.Fault)
            and n != "Fault"
        )
        raise ScenarioError(
            "%s: unknown fault %r (known: %s)" % (where, name, ", ".join(known))
        )
    kwargs: Dict[str, Any] = {}
    match: Dict[str, Any] = {}
    for item in tokens[1:]:
        key, sep, value = item.partition("=")
        if not sep:
            raise ScenarioError(
                "%s: expected key=value after the fault name, got %r" % (where, item)
            )
        if key in ("port", "fd", "conn", "side"):
            match[key] = _fault_value(value)
        else:
            kwargs[key] = _fault_value(value)
    try:
        if match:
            kwargs["match"] = fake_net.Match(**match)
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ScenarioError("%s: %s: %s" % (where, name, e)) from None


def load_scenario(path: str) -> Scenario:
    """Read and check a scenario file (see the module docstring)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ScenarioError("%s: cannot read: %s" % (path, e.strerror)) from None
    except UnicodeDecodeError as e:
        raise ScenarioError("%s: not UTF-8 (byte %d)" % (path, e.start)) from None
    scn = Scenario(path=os.path.abspath(path))
    servers: Dict[Tuple[str, int], int] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        where = "%s:%d" % (path, lineno)
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        toks = _tokens(line)
        word, args = toks[0], toks[1:]

        def need(
            n: int, usage: str, args: List[str] = args, where: str = where
        ) -> None:
            if len(args) != n:
                raise ScenarioError("%s: usage: %s" % (where, usage))

        if word == "program":
            need(1, "program PATH")
            scn.program = args[0]
        elif word == "env":
            need(1, "env NAME=VALUE")
            k, sep, v = args[0].partition("=")
            if not sep or not k:
                raise ScenarioError("%s: usage: env NAME=VALUE" % where)
            scn.env[k] = v
        elif word == "file":
            need(2, "file NAME PATH")
            if not os.path.isfile(scn.resolve(args[1])):
                raise ScenarioError(
                    "%s: no such file: %s" % (where, scn.resolve(args[1]))
                )
            scn.files.append((args[0], args[1]))
        elif word == "seed":
            need(1, "seed N")
            scn.seed = _int(args[0], where, "the seed")
        elif word == "ports":
            if not args:
                raise ScenarioError("%s: usage: ports N [N ...]" % where)
            scn.ports = [_int(a, where, "a port") for a in args]
        elif word == "name":
            need(2, "name HOST IP")
            scn.names[args[0]] = args[1]
        elif word == "fault":
            if not args:
                raise ScenarioError("%s: usage: fault CLASS [key=value ...]" % where)
            scn.faults.append(_make_fault(args, where))
        elif word == "server":
            need(1, "server HOST:PORT")
            m = _ENDPOINT.match(args[0])
            if not m or m.group(3):
                raise ScenarioError("%s: expected HOST:PORT, got %r" % (where, args[0]))
            key = (m.group(1), int(m.group(2)))
            if key in servers:
                raise ScenarioError(
                    "%s: server %s:%d already declared on line %d"
                    % (where, key[0], key[1], servers[key])
                )
            servers[key] = lineno
            scn.servers.append((key[0], key[1], lineno))
        elif word == "at":
            if len(args) < 3:
                raise ScenarioError(
                    "%s: usage: at TIME HOST:PORT[#K] "
                    'accept|send N|send "..."|oob "x"|close|reset' % where
                )
            t = _parse_time(args[0], where)
            m = _ENDPOINT.match(args[1])
            if not m:
                raise ScenarioError(
                    "%s: expected HOST:PORT or HOST:PORT#K, got %r" % (where, args[1])
                )
            key = (m.group(1), int(m.group(2)))
            if key not in servers:
                raise ScenarioError(
                    "%s: no 'server %s:%d' line before this one"
                    % (where, key[0], key[1])
                )
            conn = int(m.group(3) or 1)
            if conn < 1:
                raise ScenarioError("%s: connections are numbered from 1" % where)
            action, rest = args[2], args[3:]
            data = b""
            if action in ("accept", "close", "reset"):
                if rest:
                    raise ScenarioError("%s: %s takes no value" % (where, action))
            elif action in ("send", "oob"):
                if len(rest) != 1:
                    raise ScenarioError(
                        '%s: %s needs one value: a byte count or "bytes"'
                        % (where, action)
                    )
                if rest[0].startswith('"'):
                    value = _quoted(rest[0], where)
                    if any(ord(c) > 0xFF for c in value):
                        raise ScenarioError(
                            "%s: bytes values take \\xNN escapes, not \\u" % where
                        )
                    data = value.encode("latin-1")
                elif action == "send":
                    data = filler(_int(rest[0], where, "the byte count"))
                else:
                    raise ScenarioError(
                        '%s: oob needs quoted bytes, e.g. oob "!"' % where
                    )
                if not data:
                    raise ScenarioError("%s: %s of nothing" % (where, action))
            else:
                raise ScenarioError(
                    "%s: unknown action %r (accept, send, oob, close, reset)"
                    % (where, action)
                )
            if scn.actions and t < scn.actions[-1].time:
                raise ScenarioError(
                    "%s: time %s is before the previous 'at' line's (%gs): "
                    "keep the timeline in order"
                    % (where, args[0], scn.actions[-1].time)
                )
            scn.actions.append(Action(t, key[0], key[1], conn, action, data, lineno))
        elif word == "expect":
            need(1, "expect PATH")
            scn.expect = args[0]
        elif word == "trace":
            need(1, "trace PATH")
            scn.trace = args[0]
        elif word == "normalize":
            need(1, "normalize crlf|trailing-space")
            if args[0] not in NORMALIZATIONS:
                raise ScenarioError(
                    "%s: unknown normalization %r (known: %s)"
                    % (where, args[0], ", ".join(NORMALIZATIONS))
                )
            scn.normalize.append(args[0])
        elif word == "mask":
            if (
                len(args) < 3
                or not args[1].startswith("/")
                or not args[1].endswith("/")
                or len(args[1]) < 2
            ):
                raise ScenarioError('%s: usage: mask "TEXT" /REGEX/ WHY' % where)
            masked = _quoted(args[0], where)
            regex = args[1][1:-1].replace("\\/", "/")
            try:
                re.compile(regex)
            except re.error as e:
                raise ScenarioError(
                    "%s: bad regex /%s/: %s" % (where, regex, e)
                ) from None
            why = line.split(args[1], 1)[1].strip()
            scn.masks.append(Mask(masked, regex, why, lineno))
        elif word == "source":
            if (
                len(args) not in (5, 7)
                or args[1] != "after"
                or args[3] != "until"
                or (len(args) == 7 and args[5] != "indent")
            ):
                raise ScenarioError(
                    '%s: usage: source DOC after "LINE" until "LINE" [indent "PREFIX"]'
                    % where
                )
            scn.source = {
                "doc": args[0],
                "after": _quoted(args[2], where),
                "until": _quoted(args[4], where),
                "indent": _quoted(args[6], where) if len(args) == 7 else "",
                "line": str(lineno),
            }
        else:
            raise ScenarioError(
                "%s: unknown directive %r (program, env, file, seed, ports, name, "
                "fault, server, at, expect, trace, normalize, mask, source)"
                % (where, word)
            )
    if scn.program is None:
        raise ScenarioError("%s: no 'program' line" % path)
    if not os.path.isfile(scn.resolve(scn.program)):
        raise ScenarioError(
            "%s: program not found: %s" % (path, scn.resolve(scn.program))
        )
    if scn.expect is not None and not os.path.isfile(scn.resolve(scn.expect)):
        raise ScenarioError(
            "%s: expected output not found: %s" % (path, scn.resolve(scn.expect))
        )
    if scn.masks and scn.expect is not None:
        with open(scn.resolve(scn.expect), "rb") as fb:
            expected = fb.read().decode("utf-8", "surrogateescape")
        for mask in scn.masks:
            if mask.text not in expected:
                raise ScenarioError(
                    "%s:%d: the masked text does not occur in %s"
                    % (path, mask.line, scn.expect)
                )
    return scn


# -- running ---------------------------------------------------------------------


@attrs.frozen
class RunResult:
    scenario: Scenario
    output: str
    trace: Trace
    error: Optional[str]  # an exception that escaped the program, formatted


class _Tee(io.TextIOBase):
    """stdout and stderr of the program, in the order written."""

    def __init__(self) -> None:
        self.parts: List[str] = []

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self.parts.append(s)
        return len(s)

    def getvalue(self) -> str:
        return "".join(self.parts)


@contextlib.contextmanager
def _isolated(scn: Scenario, workdir: str, out: _Tee) -> Iterator[None]:
    """Run as a fresh process would: own cwd, argv, env, sys.path[0],
    stdout/stderr, logging configuration and example modules."""
    program = scn.resolve(scn.program or "")
    saved_cwd = os.getcwd()
    saved_argv = sys.argv[:]
    saved_path = sys.path[:]
    saved_env = {k: os.environ.get(k) for k in scn.env}
    saved_streams = sys.stdout, sys.stderr
    saved_modules = set(sys.modules)
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    from asyncore_sim import asyncore as core

    leftover = dict(core.socket_map)
    core.socket_map.clear()
    try:
        os.chdir(workdir)
        sys.argv = [program]
        sys.path.insert(0, os.path.dirname(program))
        os.environ.update(scn.env)
        root.handlers = []
        root.setLevel(logging.WARNING)
        sys.stdout = sys.stderr = out  # type: ignore[assignment]
        yield
    finally:
        sys.stdout, sys.stderr = saved_streams
        for h in root.handlers:
            if h not in saved_handlers:
                h.close()
        root.handlers = saved_handlers
        root.setLevel(saved_level)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        sys.path[:] = saved_path
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        for name in [m for m in sys.modules if m not in saved_modules]:
            mod_file = getattr(sys.modules.get(name), "__file__", None)
            if isinstance(mod_file, str) and os.path.dirname(
                os.path.abspath(mod_file)
            ) == os.path.dirname(program):
                del sys.modules[name]
        core.socket_map.clear()
        core.socket_map.update(leftover)


def build_network(scn: Scenario) -> Any:
    from fake_net import FakeNetwork

    net = FakeNetwork(
        seed=scn.seed, names=scn.names, faults=scn.faults, ephemeral_ports=scn.ports
    )
    remotes = {}
    for host, port, line in scn.servers:
        try:
            remotes[(host, port)] = net.add_remote(host, port)
        except OSError as e:
            raise ScenarioError(
                "%s:%d: server %s:%d: %s" % (scn.path, line, host, port, e)
            ) from None
    for a in scn.actions:
        remote = remotes[(a.host, a.port)]
        if a.action == "accept":
            remote.accept_at(a.time, conn=a.conn)
        else:
            remote.at(a.time, a.action, a.data, conn=a.conn)
    return net


def run_scenario(scn: Scenario) -> RunResult:
    """Run the scenario's program on fake_net, recording its trace."""
    import traceback

    from asyncore_sim import asyncore as core

    net = build_network(scn)
    out = _Tee()
    error = None
    rec = Recorder(
        net, header={"scenario": os.path.basename(scn.path), "seed": str(scn.seed)}
    )
    with tempfile.TemporaryDirectory(prefix="asyncore-sim-") as workdir:
        for name, rel in scn.files:
            with (
                open(scn.resolve(rel), "rb") as src,
                open(os.path.join(workdir, name), "wb") as dst,
            ):
                dst.write(src.read())
        with warnings.catch_warnings():
            # The documented programs leave files to the garbage collector.
            warnings.simplefilter("ignore", ResourceWarning)
            with _isolated(scn, workdir, out):
                try:
                    with rec:
                        try:
                            runpy.run_path(
                                scn.resolve(scn.program or ""), run_name="__main__"
                            )
                        finally:
                            core.close_all(ignore_all=True)
                except SystemExit as e:
                    if e.code not in (None, 0):
                        error = "SystemExit(%r)" % (e.code,)
                except BaseException:
                    error = traceback.format_exc()
                gc.collect()
    return RunResult(scn, out.getvalue(), rec.trace, error)


# -- comparing output -------------------------------------------------------------


@attrs.frozen
class OutputMismatch:
    line: int  # 1-based line of the expected output
    column: int  # 1-based
    expected: str
    actual: str
    diff: str


#: The declared normalizations: what a document's rendering changed that
#: is not output.  They apply to the program's output before comparing.
NORMALIZATIONS = {
    "crlf": "CRLF becomes LF (001 and 004 dropped the CR of the HTTP requests)",
    "trailing-space": "spaces and tabs at the end of a line are dropped (004's "
    "renderer dropped one; its blocks show 255 characters for a 256-byte read)",
}


def normalize_output(scn: Scenario, text: str) -> str:
    if "crlf" in scn.normalize:
        text = text.replace("\r\n", "\n")
    if "trailing-space" in scn.normalize:
        text = re.sub(r"[ \t]+(?=\n)", "", text)
    return text


def _line_pattern(line: str, masks: List[Mask]) -> Optional["re.Pattern[str]"]:
    hits = [m for m in masks if m.text in line]
    if not hits:
        return None
    parts = []
    rest = line
    while rest:
        first = None
        for m in hits:
            i = rest.find(m.text)
            if i >= 0 and (first is None or i < first[0]):
                first = (i, m)
        if first is None:
            parts.append(re.escape(rest))
            break
        i, m = first
        parts.append(re.escape(rest[:i]))
        parts.append("(?:%s)" % m.regex)
        rest = rest[i + len(m.text) :]
    return re.compile("".join(parts))


def compare_output(
    scn: Scenario, expected: str, actual: str
) -> Tuple[Optional[OutputMismatch], List[Tuple[Mask, str]]]:
    """Compare ``actual`` (normalized) with ``expected``; masked spans match
    their regex.  Returns (the first mismatch or None, [(mask, what it
    matched)])."""
    actual = normalize_output(scn, actual)
    exp_lines = expected.split("\n")
    act_lines = actual.split("\n")
    used: List[Tuple[Mask, str]] = []
    for i in range(max(len(exp_lines), len(act_lines))):
        e = exp_lines[i] if i < len(exp_lines) else None
        a = act_lines[i] if i < len(act_lines) else None
        ok = e == a
        if not ok and e is not None and a is not None:
            pat = _line_pattern(e, scn.masks)
            if pat is not None:
                m = pat.fullmatch(a)
                if m:
                    ok = True
                    for mask in scn.masks:
                        if mask.text in e:
                            found = re.search(mask.regex, a)
                            used.append((mask, found.group(0) if found else ""))
        if not ok:
            col = 1
            if e is not None and a is not None:
                col = (
                    next(
                        (k for k in range(min(len(e), len(a))) if e[k] != a[k]),
                        min(len(e), len(a)),
                    )
                    + 1
                )
            diff = "".join(
                difflib.unified_diff(
                    expected.splitlines(True),
                    actual.splitlines(True),
                    "expected (%s)" % (scn.expect or "?"),
                    "actual",
                    n=3,
                )
            )
            return OutputMismatch(
                i + 1, col, e or "<end of output>", a or "<end of output>", diff
            ), used
    return None, used


# -- reading documented blocks ------------------------------------------------------


def extract_block(
    text: str, after: str, until: str, indent: str = "", where: str = "<doc>"
) -> str:
    """The literal block of a document that follows the line ``after``.

    How a documented block becomes expected output (the one place this is
    said): the block starts at the first line, after the line whose stripped
    text equals ``after`` (the ``$ python program.py`` line), that is not
    blank; it ends before the first later line whose stripped text equals
    ``until``; blank lines at its end are dropped; ``indent`` (a tab in
    PyMOTW 001, nothing in 004) is removed from the start of every line,
    and a line that is only the indent becomes empty.  Every other byte is
    kept; lines are joined with LF and the block ends with one LF.
    """
    lines = text.split("\n")
    starts = [i for i, ln in enumerate(lines) if ln.strip() == after]
    if len(starts) != 1:
        raise ScenarioError(
            "%s: %d lines read %r (expected exactly one)" % (where, len(starts), after)
        )
    i = starts[0] + 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    block: List[str] = []
    while i < len(lines) and lines[i].strip() != until:
        block.append(lines[i])
        i += 1
    if i >= len(lines):
        raise ScenarioError("%s: no line %r after %r" % (where, until, after))
    while block and not block[-1].strip():
        block.pop()
    out = []
    for k, ln in enumerate(block):
        if indent and ln.startswith(indent):
            ln = ln[len(indent) :]
        elif indent and ln.strip():
            raise ScenarioError(
                "%s: line %d of the block does not start with the indent %r: %r"
                % (where, k + 1, indent, ln[:40])
            )
        elif indent:
            ln = ""
        out.append(ln)
    return "\n".join(out) + "\n"
