"""The ``record``, ``replay`` and ``diff`` subcommands (and the registration of
``sweep`` and ``promote``); ``check`` is :mod:`._check`."""

from __future__ import annotations

import argparse
import contextlib
import os
import runpy
import shlex
import sys
import tempfile
import traceback
from typing import Any, Iterator, List, Optional, Tuple

from asyncore_sim.cli._errors import InputError
from asyncore_sim.trace.scenario import (
    load_scenario,
)
from asyncore_sim.trace import (
    Recorder,
    Trace,
    TraceFormatError,
    first_difference,
    format_difference,
)
from asyncore_sim.trace._compare import (
    Normalization,
    compile_mask,
    normalization_notes,
)
from asyncore_sim.trace._format import (
    check_header_value,
    program_header,
    program_path,
)

__all__ = ["add_commands"]


def add_commands(sub: Any) -> None:

    p = sub.add_parser(
        "record",
        help="run a program and record its trace",
        description="Run PROGRAM as __main__ with a recorder on the network and "
        "write its trace. On the real network it uses real sockets (loopback "
        "only, if you want a deterministic replay later); on fake it uses a "
        "FakeNetwork, or a scenario's network with --scenario (the program "
        "then runs as check runs it: in a fresh folder holding the scenario's "
        "'file's, with its 'env' set). The trace's "
        "'# program:' header names PROGRAM relative to the trace file's "
        "folder, so the trace does not depend on the machine. Everything "
        "after PROGRAM is its arguments.",
    )
    p.add_argument("-o", "--output", required=True, help="trace file to write")
    p.add_argument("--network", choices=("real", "fake"), default="real")
    p.add_argument(
        "--seed", type=int, default=0, help="FakeNetwork seed (with --network fake)"
    )
    p.add_argument(
        "--scenario", help="use this scenario's network (implies --network fake)"
    )
    p.add_argument("program", help="the Python program")
    p.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    p.set_defaults(func=cmd_record)

    p = sub.add_parser(
        "replay",
        help="replay a recorded trace on fake_net and compare",
        description="Run the program again on a ReplayNetwork made from TRACE: "
        "every socket answer comes from the recording. Reports the first "
        "event that differs (exit 1) or that the replay is identical (exit 0).",
    )
    p.add_argument("trace", help="a trace written by 'record'")
    p.add_argument(
        "--program",
        help="the program (default: the trace's '# program:' header, a path "
        "relative to the trace file's folder)",
    )
    p.add_argument(
        "args",
        nargs="*",
        default=[],
        help="its arguments (default: the trace's '# argv:' header); options "
        "before or after TRACE are replay's own: put the program's after --",
    )
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser(
        "diff",
        help="compare two trace files",
        description="Report the first event where B departs from A, with its "
        "index, byte offset and a diff around it. If either trace is a real "
        "recording, ephemeral ports (first seen in a getsockname, getpeername "
        "or accept result) are renumbered <port1>, <port2>... in order of "
        "first appearance. Exit 0: same, 1: different, 2: unusable input.",
    )
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument(
        "--ignore-time",
        action="store_true",
        help="compare events without their time stamps",
    )
    p.add_argument(
        "-C",
        "--context",
        type=_count,
        default=3,
        help="events of context (default 3)",
    )
    p.add_argument(
        "--mask",
        metavar="REGEX",
        action="append",
        type=_mask_arg,
        default=[],
        help="before comparing, turn each match of REGEX in both traces' lines "
        "(after the time stamp) into <masked>; repeatable",
    )
    ports = p.add_mutually_exclusive_group()
    ports.add_argument(
        "--keep-ports",
        dest="ports",
        action="store_false",
        default=None,
        help="compare ports as recorded, even for real recordings",
    )
    ports.add_argument(
        "--renumber-ports",
        dest="ports",
        action="store_true",
        help="renumber ephemeral ports whatever network the traces come from",
    )
    p.set_defaults(func=cmd_diff)

    from asyncore_sim.cli._sweep import add_promote_command, add_sweep_command

    add_sweep_command(sub)
    add_promote_command(sub)


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError("expected a number >= 0, got %r" % text)
    return int(text)


def _mask_arg(text: str) -> Any:
    try:
        return compile_mask(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


# -- running a program ------------------------------------------------------------


def _run_program(program: str, args: List[str], rec: Recorder) -> Optional[str]:
    """Run ``program`` as __main__ under ``rec``; the escaped exception, if any.

    ``import asyncore``/``import asynchat`` in the program resolve to this
    package for the run (``compat.installed()``): on Python 3.11 they would
    otherwise be the stdlib's, which no recorder sees.
    """
    from asyncore_sim import asyncore as core
    from asyncore_sim import compat

    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [program] + list(args)
    sys.path.insert(0, os.path.dirname(os.path.abspath(program)))
    try:
        with compat.installed(), rec:
            try:
                runpy.run_path(program, run_name="__main__")
            finally:
                core.close_all(ignore_all=True)
    except SystemExit as e:
        if e.code not in (None, 0):
            return "SystemExit(%r)" % (e.code,)
    except BaseException as e:
        from asyncore_sim.trace import ReplayDiverged

        if isinstance(e, ReplayDiverged):
            return str(e)
        return traceback.format_exc()
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return None


def _writable_file(path: str, what: str) -> None:
    """InputError unless ``path`` can be written (checked before any run)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise InputError("%s: is a folder, not a %s" % (path, what))
    if not os.path.isdir(folder):
        raise InputError("%s: no such folder for the %s: %s" % (path, what, folder))
    if not os.access(folder, os.W_OK):
        raise InputError("%s: cannot write the %s in %s" % (path, what, folder))


def _save(trace: Trace, path: str, what: str) -> None:
    try:
        trace.save(path)
    except (OSError, ValueError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise InputError("%s: cannot write the %s: %s" % (path, what, reason)) from None


def cmd_record(ns: argparse.Namespace) -> int:
    if not os.path.isfile(ns.program):
        raise InputError("%s: no such program" % ns.program)
    _writable_file(ns.output, "trace")
    args = ns.args[1:] if ns.args[:1] == ["--"] else ns.args
    header = {
        "program": program_header(ns.program, ns.output),
        "argv": " ".join(shlex.quote(a) for a in args),
    }
    if ns.scenario:
        header["scenario"] = program_header(ns.scenario, ns.output)
    for key, value in header.items():
        try:
            check_header_value(key, value)
        except ValueError as e:
            raise InputError("%s: %s" % (ns.output, e)) from None
    scn = None
    if ns.scenario:
        from asyncore_sim.trace.scenario import build_network

        scn = load_scenario(ns.scenario)
        net: Any = build_network(scn)
        _scenario_notes(scn, ns.program)
    elif ns.network == "fake":
        from fake_net import FakeNetwork

        net = FakeNetwork(seed=ns.seed)
        header["seed"] = str(ns.seed)
    else:
        from real_net import RealNetwork

        net = RealNetwork()
    rec = Recorder(net, header=header)
    with _scenario_folder(scn):
        error = _run_program(
            os.path.abspath(ns.program) if scn else ns.program, args, rec
        )
    if not rec.events and not error:
        # Nothing reached the package: a trace with no events would replay
        # "identically" against anything.
        print(
            "asyncore-sim: error: %s: recorded no events: the program never made a "
            "socket or ran a loop through asyncore-sim (does it use its own copy "
            "of asyncore, or do no I/O?); nothing written" % ns.program,
            file=sys.stderr,
        )
        return 1
    _save(rec.trace, ns.output, "trace")
    print(
        "asyncore-sim: recorded %d events on the %s network to %s"
        % (len(rec.events), rec.name, ns.output),
        file=sys.stderr,
    )
    if error:
        print("asyncore-sim: the program failed:\n%s" % error, file=sys.stderr)
        return 1
    return 0


@contextlib.contextmanager
def _scenario_folder(scn: Any) -> Iterator[None]:
    """Run as ``check`` runs a scenario's program: in a fresh folder that
    holds the scenario's ``file``s, with its ``env`` set; the working
    directory and the environment are restored after.  ``None``: as is."""
    if scn is None:
        yield
        return
    from asyncore_sim.trace.scenario import _copy_files

    saved_cwd, saved_env = os.getcwd(), {k: os.environ.get(k) for k in scn.env}
    with tempfile.TemporaryDirectory(prefix="asyncore-sim-") as workdir:
        _copy_files(scn, workdir)
        os.chdir(workdir)
        try:
            os.environ.update(scn.env)
            yield
        finally:
            os.chdir(saved_cwd)
            for k, v in saved_env.items():
                os.environ.pop(k, None)
                os.environ.update({} if v is None else {k: v})


def _scenario_notes(scn: Any, program: str) -> None:
    """Say what of the scenario ``record`` does not use."""
    unused = [d for d in ("expect", "trace", "source", "normalize") if getattr(scn, d)]
    unused += ["mask"] * bool(scn.masks)
    if scn.program and os.path.abspath(program) != scn.resolve(scn.program):
        unused.append("program (%s is recorded)" % program)
    if unused:
        print(
            "asyncore-sim: note: %s: record uses the scenario's network, env, "
            "files and run folder; its %s line(s) are not used here"
            % (scn.where(None), ", ".join(unused)),
            file=sys.stderr,
        )


def _scenario_of(trace: Trace, path: Optional[str]) -> Any:
    """The scenario of the trace's ``# scenario:`` header (relative to its
    folder), or None (with a note when it is not there)."""
    named = trace.header.get("scenario")
    where = program_path(path, named) if named and path else ""
    if not where:
        return None
    if not os.path.isfile(where):
        print(
            "asyncore-sim: note: %s:%d: scenario %s not found: replaying "
            "without its env, files and run folder"
            % (path, trace.header_lines.get("scenario", 1), where),
            file=sys.stderr,
        )
        return None
    return load_scenario(where)


def replay_trace(
    trace: Trace, program: str, args: List[str], path: Optional[str] = None
) -> Tuple[Trace, Optional[str]]:
    """Run ``program`` on a ReplayNetwork of ``trace``; (new trace, error).
    Given the trace's ``path``, one recorded under a scenario replays in
    that scenario's run folder and env."""
    from asyncore_sim.trace import ReplayNetwork

    scn = _scenario_of(trace, path)
    net = ReplayNetwork(
        trace,
        names=scn.names if scn is not None else None,
        epoch=scn.epoch if scn is not None else None,
    )
    header = dict(trace.header)
    header["network"] = "replay"
    rec = Recorder(net, header=header)
    with _scenario_folder(scn):
        error = _run_program(os.path.abspath(program) if scn else program, args, rec)
    if error is None and not net.finished:
        error = "the program stopped with %d recorded I/O event(s) not replayed" % len(
            net.remaining()
        )
    return rec.trace, error


def _program_of(
    trace: Trace, path: str, program: Optional[str], args: List[str]
) -> Tuple[str, List[str]]:
    """The program to replay ``trace`` with, and its arguments: those given,
    else the trace's headers (the program relative to the trace's folder)."""
    if program is not None:
        if not os.path.isfile(program):
            raise InputError("%s: no such program (--program)" % program)
    else:
        named = trace.header.get("program")
        if not named:
            raise InputError("%s: no '# program:' header; give --program" % path)
        program = program_path(path, named)
        if not os.path.isfile(program):
            raise TraceFormatError(
                "%s:%d: program not found: %s (the '# program:' header is a path "
                "relative to the trace's folder)"
                % (path, trace.header_lines.get("program", 1), program)
            )
    if not args:
        args = shlex.split(trace.header.get("argv", ""))
    return program, args


def cmd_replay(ns: argparse.Namespace) -> int:
    trace = Trace.load(ns.trace)
    if not any(not e.is_callback for e in trace.events):
        raise InputError(
            "%s: the trace has no I/O events: there is nothing to replay (a "
            "recording of a program that never reached asyncore-sim?)" % ns.trace
        )
    program, args = _program_of(trace, ns.trace, ns.program, list(ns.args))
    new, error = replay_trace(trace, program, args, ns.trace)
    return _report_trace_diff(
        trace.events, new.events, ns.trace, "replay", error, print_ok=True
    )


def _report_trace_diff(
    expected: Any,
    actual: Any,
    exp_name: str,
    act_name: str,
    error: Optional[str],
    print_ok: bool = False,
    context: int = 3,
    times: bool = True,
    normalization: Optional[Normalization] = None,
) -> int:
    for note in normalization_notes(
        expected, actual, normalization, exp_name, act_name
    ):
        print(note)
    diff = first_difference(expected, actual, times, normalization=normalization)
    if diff is None and error is None:
        if print_ok:
            print("%s: %d events, identical" % (exp_name, len(expected)))
        return 0
    if diff is not None:
        print(
            format_difference(
                diff,
                expected,
                actual,
                context,
                exp_name,
                act_name,
                times=times,
                normalization=normalization,
            ),
            end="",
        )
    if error:
        print(error.rstrip())
    return 1


def cmd_diff(ns: argparse.Namespace) -> int:
    a, b = Trace.load(ns.a), Trace.load(ns.b)
    ports = ns.ports
    if ports is None:  # real recordings: the kernel chose their ports
        ports = "real" in (a.header.get("network"), b.header.get("network"))
    return _report_trace_diff(
        a.events,
        b.events,
        ns.a,
        ns.b,
        None,
        print_ok=True,
        context=ns.context,
        times=not ns.ignore_time,
        normalization=Normalization(ports=ports, masks=tuple(ns.mask)),
    )
