"""Scenario files: a program, the simulated network it runs on, and what it
must print.

A scenario is a UTF-8 text file, one directive per line; ``#`` starts a
comment; paths are relative to the scenario file; quoted values use the
trace escapes (``\\n``, ``\\r``, ``\\t``, ``\\xNN``, ``\\uNNNN`` (strings
only), ``\\\\``, ``\\"``; any other backslash is an error).  Directives that
say one thing (``program``, ``seed``, ``ports``, ``max-steps``, ``expect``,
``trace``, ``source``) may appear once; a control character other than a tab
is an error anywhere (write it as an escape in a quoted value).  A scenario
file is at most 16 MiB.

Running the program
    ``program PATH``            the Python program, run as ``__main__`` in a
                                fresh directory (``file`` puts data there)
    ``env NAME=VALUE``          set for the run (once per NAME)
    ``file NAME PATH``          copy PATH into the run directory as NAME (a
                                relative path: ``data/x.txt`` makes ``data/``)

The network (fake_net)
    ``seed N``                  the network's seed (default 0)
    ``ports N N ...``           ephemeral ports (1..65535), handed out in order
    ``max-steps N``             the run's budget of waits and sleeps (default
                                10,000, at most 1,000,000): a run that needs
                                more fails with SimulationBudgetExceeded, so
                                a program that spins ends in a few seconds
    ``name HOST IP``            add HOST to the name table
    ``fault CLASS key=value..`` a fake_net fault rule, e.g.
                                ``fault PartialSend max_bytes=100 side=server``
                                (``port=``, ``fd=``, ``conn=``, ``side=``,
                                ``host=`` make its Match); datagram rules
                                too (``fault DropDatagram skip=2 times=1
                                port=161``).  Each value is read as its setting
                                is declared: a whole number, a number, ``true``
                                or ``false``, ``none``, a word (``side=client``)
                                or quoted bytes (``byte="!"``); a tuple is
                                written with commas and no spaces, in
                                parentheses or not: ``CutSends sizes=9,0,none``
                                or ``sizes=(9,)``; ``sizes=()`` is empty
                                (``HideReady events=r passes=1 at_pass=7
                                fd=515`` hides a ready bit for chosen waits)
    ``cost wait=T send=T recv=T`` the cost model (fake_net ``Cost``, off when
                                absent): each readiness wait, each send that
                                moves bytes and each recv that returns bytes
                                advances virtual time by its TIME (``20us``,
                                ``0.5ms``, ``0s``); any key may be left out;
                                ``cost loopback`` is ``Cost.loopback()``, the
                                quanta measured on a real Linux loopback
    ``epoch WHEN``              ``time.time()`` at virtual time 0 in the
                                program's world (and in its replay): seconds
                                since 1970 or a UTC time,
                                ``epoch 2024-05-01T12:00:00Z`` (default
                                2001-09-09T01:46:40Z)
    ``link key=value ..``       latency and capacity of the program's own
                                connections (fake_net ``Link``; several lines
                                make a table, the first that matches a
                                connection is its link): ``port=N`` (the
                                listening port) or ``conn=N`` (0 for the
                                first connection) choose them, none: all;
                                ``latency=T`` (data, each way; or
                                ``latency_to_server=T``, ``latency_to_client=T``),
                                ``capacity=BYTES`` (bytes one direction holds;
                                or ``capacity_to_server``, ``capacity_to_client``),
                                ``accept_latency=T`` (from the connect
                                completing to the listener seeing it), e.g.
                                ``link port=8080 latency=50us capacity=4096``
    ``host NAME IP[,IP] [ALIAS]`` a simulated host with its addresses and
                                names (fake_net ``Host``): a socket bound to
                                one of them is on that host
    ``hostlink A B key=value``  the link between two hosts: ``latency=T``,
                                ``jitter=T`` (drawn from the seed),
                                ``bandwidth=BYTES`` (a second)
    ``at TIME VERB HOST [HOST]`` a host event: ``partition A B``, ``heal A
                                B``, ``hold A B``, ``release A B``,
                                ``crash H``, ``restart H`` (in time order)
    ``server HOST:PORT``        a scripted server outside the process (HOST
                                an IP address or a name in the table; PORT
                                1..65535)
    ``at TIME HOST:PORT[#K] ACTION [VALUE]``
                                at virtual TIME (``5ms``, ``1.5s``, ``250us``;
                                at most a day, the network's ``max_time``)
                                connection K (default 1) to that server:
                                ``accept`` (the connection completes),
                                ``send N`` (N filler bytes, 1..1 MiB) or
                                ``send "..."``, ``oob "x"``, ``close`` (FIN),
                                ``reset`` (RST).  Lines at the same time happen
                                in file order.  Limits: ``send N`` is 1..1 MiB
                                (:data:`MAX_SEND_BYTES`), and a scenario's
                                timeline sends at most 16 MiB in all
                                (:data:`MAX_SCRIPT_BYTES`).

What it must print
    ``expect PATH``             the expected output (UTF-8), byte for byte
    ``trace PATH``              the golden event trace of the run (optional)
    ``normalize crlf``          compare after turning CRLF into LF in the
                                output (the documents dropped the CR)
    ``normalize trailing-space`` compare after dropping spaces and tabs at
                                line ends (004's renderer dropped them)
    ``mask "TEXT" /REGEX/ WHY`` in the expected output, TEXT (not empty)
                                stands for any text the regex matches (on one
                                line); WHY says what no deterministic run can
                                print
    ``source DOC after "LINE" until "LINE" [indent "PREFIX"]``
                                where the expected output was read from (see
                                :func:`extract_block`)

A scenario that cannot be read or used raises :class:`ScenarioError`, whose
message starts with ``file:line:`` (``file:`` alone where no line applies).
Reading a scenario is deterministic: it reads no clock and no random source.
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
from typing import Any, Iterator, List, Optional, Tuple

import attrs

from asyncore_sim.trace._format import Trace
from asyncore_sim.trace._recorder import Recorder
from asyncore_sim.trace._scenario_file import (
    MAX_SCENARIO_FILE as MAX_SCENARIO_FILE,
    MAX_SCRIPT_BYTES,
    MAX_SEND_BYTES,
    MAX_STEPS as MAX_STEPS,
    MAX_TIME as MAX_TIME,
    NORMALIZATIONS as NORMALIZATIONS,
    Action as Action,
    Mask,
    Scenario,
    ScenarioError,
    filler,
    load_scenario,
)

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
    "MAX_SEND_BYTES",
    "MAX_SCRIPT_BYTES",
]

# The reader (load_scenario, Scenario...) is ._scenario_file; this module
# runs a scenario and compares what it printed.

# -- running ---------------------------------------------------------------------


@attrs.frozen
class RunResult:
    scenario: Scenario
    output: str
    trace: Trace
    error: Optional[str]  # an exception that escaped the program, formatted
    #: The scenario's faults that never fired (fake_net.UnfiredFault values).
    unfired: Tuple[Any, ...] = ()


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
    from fake_net._world import DEFAULT_EPOCH

    net = FakeNetwork(
        seed=scn.seed,
        names=scn.names,
        faults=scn.faults,
        ephemeral_ports=scn.ports,
        max_steps=scn.max_steps,
        cost=scn.cost,
        epoch=DEFAULT_EPOCH if scn.epoch is None else scn.epoch,
        links=scn.links,
        hosts=scn.hosts,
        host_links=scn.host_links,
    )
    for when, verb, hosts, _ in scn.host_events:
        if when <= net.now:  # "at 0s": in force before the program starts
            getattr(net, verb)(*hosts)
        else:
            net.at(when, verb, *hosts)
    remotes = {}
    for host, port, line in scn.servers:
        try:
            remotes[(host, port)] = net.add_remote(host, port)
        except (OSError, RuntimeError) as e:  # load_scenario checked them
            raise ScenarioError(
                "%s: server %s:%d: %s" % (scn.where(line), host, port, e)
            ) from None
    for a in scn.actions:
        remote = remotes[(a.host, a.port)]
        if a.action == "accept":
            remote.accept_at(a.time, conn=a.conn)
        else:
            remote.at(a.time, a.action, a.data, conn=a.conn)
    return net


def _copy_files(scn: Scenario, workdir: str) -> None:
    """The ``file`` lines: each PATH copied into the run directory as NAME
    (its folders made)."""
    for name, rel in scn.files:
        dest = os.path.join(workdir, *name.split("/"))
        try:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(scn.resolve(rel), "rb") as src:
                data = src.read()
            with open(dest, "wb") as dst:
                dst.write(data)
        except OSError as e:
            raise ScenarioError(
                "%s: file %s: cannot copy %s: %s"
                % (scn.where(None), name, scn.resolve(rel), e.strerror or e)
            ) from None


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
        _copy_files(scn, workdir)
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
    return RunResult(
        scn, out.getvalue(), rec.trace, error, tuple(net.unfired_faults())
    )


# -- comparing output -------------------------------------------------------------


@attrs.frozen
class OutputMismatch:
    line: int  # 1-based line of the expected output
    column: int  # 1-based
    expected: str
    actual: str
    diff: str


def normalize_output(scn: Scenario, text: str) -> str:
    if "crlf" in scn.normalize:
        text = text.replace("\r\n", "\n")
    if "trailing-space" in scn.normalize:
        text = re.sub(r"[ \t]+(?=\n)", "", text)
    return text


def _line_pattern(line: str, masks: List[Mask]) -> Optional["re.Pattern[str]"]:
    hits = [m for m in masks if m.text and m.text in line]
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
