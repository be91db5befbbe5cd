"""The ``check`` subcommand: the documented runs and every scenario and trace.

Each scenario (``*.scenario``) runs on fake_net, and its output is compared
with the expected output and its event trace with the golden trace; each
recorded trace (``*.trace`` with a ``# program:`` header and no scenario) is
replayed.  ``--twice`` runs each scenario again and reports the first
difference between the two runs (a determinism check); every scenario whose
faults never fired gets a line.  With no paths, ``check`` checks the
documented runs of the source tree the package comes from, whatever the
working directory.
"""

from __future__ import annotations

import argparse
import os
from typing import Any, List, Optional, Tuple

from asyncore_sim.cli._commands import (
    _program_of,
    _save,
    replay_trace,
)
from asyncore_sim.cli._errors import INPUT_ERRORS, InputError, report
from asyncore_sim.trace.scenario import (
    NORMALIZATIONS,
    ScenarioError,
    compare_output,
    extract_block,
    load_scenario,
    run_scenario,
)
from asyncore_sim.trace import (
    Trace,
    first_difference,
    format_difference,
)
from asyncore_sim.trace._format import (
    read_text,
)

__all__ = ["add_check_command", "cmd_check"]


def add_check_command(sub: Any) -> None:
    p = sub.add_parser(
        "check",
        help="replay every golden trace under traces/ and report",
        description="Run every scenario (*.scenario) under the given paths on "
        "fake_net and compare its output with the expected output and its "
        "event trace with the golden trace; replay every recorded trace "
        "(*.trace with a '# program:' header and no scenario) on fake_net. "
        "Prints a table; exits 1 if anything differs, 2 on unusable input.",
    )
    p.add_argument(
        "paths",
        nargs="*",
        default=[],
        help="files or directories (default: the documented runs, the traces/ "
        "folder of the source tree asyncore-sim runs from or was installed "
        "from, whatever the working directory)",
    )
    p.add_argument(
        "--rewrite",
        action="store_true",
        help="write the golden event traces from this run (on purpose: "
        "review the diff before committing)",
    )
    p.add_argument(
        "--seeds",
        metavar="DIR",
        help="also re-read each expected output from its source document "
        "in DIR and compare",
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", help="show every difference in full"
    )
    p.add_argument(
        "--twice",
        action="store_true",
        help="run each scenario twice and report the first difference between "
        "the two runs' traces (a determinism check)",
    )
    p.set_defaults(func=cmd_check)


# -- check --------------------------------------------------------------------------


def _collect(paths: List[str]) -> Tuple[List[str], List[str]]:
    scenarios: List[str] = []
    traces: List[str] = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for f in sorted(files):
                    full = os.path.join(root, f)
                    if f.endswith(".scenario"):
                        scenarios.append(full)
                    elif f.endswith(".trace"):
                        traces.append(full)
        elif not os.path.exists(p):
            raise InputError(
                "%s: no such file or folder (run from the project's top "
                "directory, or give paths)" % p
            )
        elif p.endswith(".scenario"):
            scenarios.append(p)
        elif p.endswith(".trace"):
            traces.append(p)
        else:
            raise InputError("%s: not a folder, .scenario or .trace file" % p)
    return scenarios, traces


Row = Tuple[str, str, str, str]


def _documented_runs() -> str:
    """The ``traces/`` folder of the source tree this package runs from (a
    checkout, an editable install) or was installed from (pip's
    ``direct_url.json``): never the working directory's."""
    import json
    from importlib import metadata
    from urllib.parse import unquote, urlparse

    import asyncore_sim

    here = os.path.dirname(os.path.dirname(os.path.abspath(asyncore_sim.__file__)))
    places = [os.path.join(here, "traces")]
    try:
        raw = metadata.distribution("asyncore-sim").read_text("direct_url.json")
        url = str(json.loads(raw or "{}").get("url", ""))
    except (ImportError, OSError, ValueError, AttributeError):
        url = ""
    if url.startswith("file://"):
        places.append(os.path.join(unquote(urlparse(url).path), "traces"))
    for place in places:
        if os.path.isdir(os.path.join(place, "pymotw")):
            return place
    raise InputError(
        "the documented runs are not where this installation says it came "
        "from (%s); give the folders or files to check" % ", ".join(places)
    )


def cmd_check(ns: argparse.Namespace) -> int:
    paths = list(ns.paths) or [_documented_runs()]
    scenarios, traces = _collect(paths)
    rows: List[Row] = []
    notes: List[str] = []
    failed = bad_input = 0
    covered = set()
    for path in scenarios:
        try:
            scn = load_scenario(path)
            if scn.trace:
                covered.add(os.path.abspath(scn.resolve(scn.trace)))
            result, events, more = _check_scenario(scn, ns)
        except INPUT_ERRORS as e:
            rows.append((_rel(path), "fake", "-", "ERROR"))
            report(e)
            bad_input += 1
            continue
        rows.append((_rel(path), "fake", str(events), result))
        notes.extend(more)
        if result not in ("ok", "rewritten"):
            failed += 1
    for path in traces:
        if os.path.abspath(path) in covered:
            continue
        try:
            row, more = _check_trace(path)
        except INPUT_ERRORS as e:
            rows.append((_rel(path), "replay", "-", "ERROR"))
            report(e)
            bad_input += 1
            continue
        rows.append(row)
        notes.extend(more)
        if row[3] == "DIFFERS":
            failed += 1
    if not rows:
        raise InputError("%s: no *.scenario or *.trace files there" % ", ".join(paths))
    _table(rows)
    if notes:
        print()
    for n in notes:
        print(n.rstrip())
    print()
    ok = sum(1 for r in rows if r[3] in ("ok", "rewritten"))
    print(
        "%d checked: %d ok, %d differ, %d unusable" % (len(rows), ok, failed, bad_input)
    )
    if bad_input:
        return 2
    return 1 if failed else 0


def _check_trace(path: str) -> Tuple[Row, List[str]]:
    """Replay a recorded trace no scenario uses: its row and notes."""
    trace = Trace.load(path)
    events = str(len(trace.events))
    if "program" not in trace.header:
        return (_rel(path), "-", events, "skipped"), [
            "%s: no scenario uses it and it has no '# program:' header, "
            "so it cannot be replayed" % _rel(path)
        ]
    program, args = _program_of(trace, path, None, [])
    new, error = replay_trace(trace, program, args, path)
    diff = first_difference(trace.events, new.events)
    if diff is None and error is None:
        return (_rel(path), "replay", events, "ok"), []
    notes = []
    if diff is not None:
        notes.append(
            "%s (replayed on fake_net):\n%s"
            % (
                _rel(path),
                format_difference(diff, trace.events, new.events, 3, path, "replay"),
            )
        )
    if error:
        notes.append("%s: %s" % (_rel(path), error.rstrip()))
    return (_rel(path), "replay", events, "DIFFERS"), notes


def _rel(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _check_twice_and_faults(
    scn: Any,
    res: Any,
    name: str,
    ns: argparse.Namespace,
    problems: List[str],
    notes: List[str],
) -> None:
    """check's determinism check (``--twice``: run it again, compare the
    traces) and its line for the scenario's faults that never fired."""
    if getattr(ns, "twice", False):
        again = run_scenario(scn)
        diff = first_difference(res.trace.events, again.trace.events)
        if diff is not None:
            problems.append("not deterministic")
            notes.append(
                "%s: not deterministic: a second run differs from the first:\n%s"
                % (
                    name,
                    format_difference(
                        diff,
                        res.trace.events,
                        again.trace.events,
                        3,
                        "first run",
                        "second run",
                    ),
                )
            )
    unfired = getattr(res, "unfired", ())
    if unfired:
        notes.append(
            "%s: %d fault%s never fired: %s"
            % (
                name,
                len(unfired),
                "" if len(unfired) == 1 else "s",
                "; ".join(str(u) for u in unfired),
            )
        )


def _check_scenario(scn: Any, ns: argparse.Namespace) -> Tuple[str, int, List[str]]:
    notes: List[str] = []
    name = _rel(scn.path)
    problems = []
    if ns.seeds and scn.source and scn.expect:
        doc = os.path.join(ns.seeds, scn.source["doc"])
        try:
            block = extract_block(
                read_text(doc, "utf-8", ScenarioError),
                scn.source["after"],
                scn.source["until"],
                scn.source["indent"],
                doc,
            )
            committed = read_text(scn.resolve(scn.expect), "utf-8", ScenarioError)
            if block != committed:
                problems.append("expected output differs from the block in %s" % doc)
                notes.append(
                    "%s: %s no longer equals the block read from %s"
                    % (name, scn.expect, doc)
                )
        except ScenarioError as e:
            problems.append("source")
            notes.append("%s: cannot re-read the expected output: %s" % (name, e))
    res = run_scenario(scn)
    events = len(res.trace.events)
    _check_twice_and_faults(scn, res, name, ns, problems, notes)
    if res.error:
        problems.append("error")
        notes.append("%s: the program failed:\n%s" % (name, res.error.rstrip()))
    output_ok: Optional[bool] = None  # None: no expect line, not compared
    if scn.expect:
        expected = read_text(scn.resolve(scn.expect), "utf-8", ScenarioError)
        mismatch, used = compare_output(scn, expected, res.output)
        output_ok = mismatch is None
        if mismatch is not None:
            problems.append("output")
            notes.append(
                "%s: output differs at line %d, column %d\n"
                "  expected: %r\n  actual:   %r\n%s"
                % (
                    name,
                    mismatch.line,
                    mismatch.column,
                    mismatch.expected[:120],
                    mismatch.actual[:120],
                    mismatch.diff if ns.verbose else _head(mismatch.diff, 30),
                )
            )
        else:
            for n in scn.normalize:
                notes.append("%s: normalized: %s" % (name, NORMALIZATIONS[n]))
            seen = set()
            for mask, got in used:
                if mask.line in seen:
                    continue
                seen.add(mask.line)
                notes.append(
                    "%s: masked (line %d, %s): %r matched %r"
                    % (name, mask.line, mask.why, _clip(mask.text), _clip(got))
                )
    rewritten = False
    if scn.trace:
        golden_path = scn.resolve(scn.trace)
        if ns.rewrite:
            _save(res.trace, golden_path, "golden trace")
            rewritten = True
        elif not os.path.exists(golden_path):
            said = {None: "not compared", True: "ok", False: "differs"}[output_ok]
            problems.append("no golden trace; output %s" % said)
            what = ("matched %s" if output_ok else "differs from %s") % scn.expect
            notes.append(
                "%s: golden trace %s is missing: create it with 'asyncore-sim "
                "check --rewrite %s' (the output %s)"
                % (name, scn.trace, name, what if scn.expect else "was not compared")
            )
        else:
            golden = Trace.load(golden_path)
            diff = first_difference(golden.events, res.trace.events)
            if diff is not None:
                problems.append("trace")
                notes.append(
                    "%s: the event trace differs from %s:\n%s"
                    % (
                        name,
                        scn.trace,
                        format_difference(
                            diff,
                            golden.events,
                            res.trace.events,
                            3,
                            scn.trace,
                            "this run",
                        ),
                    )
                )
    if problems:
        return "DIFFERS (%s)" % ", ".join(problems), events, notes
    return ("rewritten" if rewritten else "ok"), events, notes


def _clip(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."


def _head(text: str, lines: int) -> str:
    parts = text.splitlines()
    if len(parts) <= lines:
        return text
    return "\n".join(parts[:lines]) + "\n... (%d more diff lines; -v shows all)" % (
        len(parts) - lines
    )


def _table(rows: List[Row]) -> None:
    head = ("trace", "network", "events", "result")
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
    fmt = "%-*s  %-*s  %*s  %s"
    print(fmt % (widths[0], head[0], widths[1], head[1], widths[2], head[2], head[3]))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(fmt % (widths[0], r[0], widths[1], r[1], widths[2], r[2], r[3]))
