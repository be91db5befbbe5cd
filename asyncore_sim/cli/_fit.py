"""``asyncore-sim fit``: find the scenario lines that reproduce a documented run.

A documented block whose chunking and ordering come from a real kernel's
lags (a segment seen one loop pass late, time passing while Python runs)
does not come out of a plain fake_net run.  ``fit SCENARIO`` runs the
scenario, and if its output differs from the ``expect`` file, tries
candidate additions, simplest first, each a few scenario lines a person can
read:

1. one ``fault HideReady events=E at_pass=K MATCH``: a socket's readiness
   shown one pass late at readiness call K (E: ``r``, then ``w``), for every
   call K of the plain run and every socket it had (MATCH: ``conn=C
   side=client``/``side=server`` for each end of each connection, ``port=P``
   for each listening port);
2. ``cost wait=Q`` (time passes at each wait), for a few quanta;
3. ``cost wait=Q`` with ``link latency=L`` (data arrives L later), for a few
   of each;

and prints the first that reproduces the expected output byte for byte:
the same comparison ``check`` makes (normalizations and masks included),
never a looser one.  Nothing is written unless ``--write FILE`` is given;
then FILE is the scenario with the lines added, for ``check`` to judge.

Rules: candidates are tried in a fixed order, so the same scenario always
gives the same answer; a candidate is judged only by running it.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, Iterator, List, Optional, Tuple

from asyncore_sim.cli._errors import InputError
from asyncore_sim.trace._format import read_text
from asyncore_sim.trace.scenario import (
    ScenarioError,
    compare_output,
    load_scenario,
    run_scenario,
)

__all__ = ["add_fit_command"]

#: Cost quanta and link latencies tried, smallest first.
COST_QUANTA = ("1us", "5us", "20us", "50us", "100us")
LINK_LATENCIES = ("10us", "50us", "200us", "1ms")
#: Readiness calls looked at for HideReady candidates (the first ones).
MAX_WAITS = 200


def add_fit_command(sub: Any) -> None:
    p = sub.add_parser(
        "fit",
        help="find scenario lines (HideReady, cost, link) that reproduce the "
        "expected output",
        description="Run SCENARIO; if its output differs from its expect "
        "file, try candidate scenario lines, simplest first (one HideReady "
        "fault, then a cost model, then a cost model with a link latency), "
        "and print the first that reproduces the expected output byte for "
        "byte. Exit 0 when one does (or the scenario already matches), 1 when "
        "none does, 2 for unusable input.",
    )
    p.add_argument("scenario", help="a scenario file with an expect line")
    p.add_argument(
        "--max",
        type=int,
        default=600,
        metavar="N",
        help="try at most N candidates (default 600)",
    )
    p.add_argument(
        "--write",
        metavar="FILE",
        help="write the scenario with the lines found to FILE",
    )
    p.set_defaults(func=cmd_fit)


def _sockets(trace: Any) -> List[Tuple[str, str]]:
    """(words, match settings) for each socket a HideReady may pick: each
    connection's two ends, then each listening port."""
    conns = sum(1 for e in trace.events if e.kind == "accept")
    out: List[Tuple[str, str]] = []
    for c in range(conns):
        for side in ("client", "server"):
            words = "connection %d's %s end" % (c, side)
            out.append((words, "conn=%d side=%s" % (c, side)))
    bound: Dict[int, int] = {}
    for e in trace.events:
        if e.kind == "bind" and e.args:
            port = str(e.args[0]).rpartition(":")[2]
            if port.isdigit():
                bound[e.fd] = int(port)
        elif e.kind == "listen" and e.fd in bound:
            words = "the sockets on port %d" % bound[e.fd]
            if all(w != words for w, _ in out):
                out.append((words, "port=%d" % bound[e.fd]))
    return out


def _candidates(scn: Any, trace: Any, text: str) -> Iterator[Tuple[str, List[str]]]:
    """(what it is, the lines to add), simplest first."""
    waits = sum(1 for e in trace.events if e.kind == "wait")
    sockets = _sockets(trace)
    for events in ("r", "w"):
        for k in range(min(waits, MAX_WAITS)):
            for words, match in sockets:
                yield (
                    "%s shown %s one readiness call late, at call %d"
                    % (words, "readable" if events == "r" else "writable", k),
                    ["fault HideReady events=%s at_pass=%d %s" % (events, k, match)],
                )
    if scn.cost is None:
        for q in COST_QUANTA:
            yield ("time passes %s at each wait" % q, ["cost wait=%s" % q])
        if not scn.links and "\nlink " not in text:
            for q in COST_QUANTA:
                for lat in LINK_LATENCIES:
                    yield (
                        "time passes %s at each wait, data arrives %s later" % (q, lat),
                        ["cost wait=%s" % q, "link latency=%s" % lat],
                    )


def _parse(path: str, text: str) -> Any:
    from asyncore_sim.trace._scenario_file import parse_scenario

    return parse_scenario(path, text)


def cmd_fit(ns: argparse.Namespace) -> int:
    if ns.max < 1:
        raise InputError("--max must be at least 1, got %d" % ns.max)
    scn = load_scenario(ns.scenario)
    if not scn.expect:
        raise ScenarioError(
            "%s: no expect line: fit needs the expected output to aim at"
            % scn.where(None)
        )
    text = read_text(ns.scenario, "utf-8", ScenarioError)
    expected = read_text(scn.resolve(scn.expect), "utf-8", ScenarioError)
    plain = run_scenario(scn)
    mismatch, _ = compare_output(scn, expected, plain.output)
    name = scn.given or ns.scenario
    if mismatch is None:
        print("%s: the scenario already reproduces %s" % (name, scn.expect))
        return 0
    print(
        "%s: the plain run differs from %s at line %d; trying candidates"
        % (name, scn.expect, mismatch.line),
        file=sys.stderr,
    )
    tried = 0
    closest: List[Tuple[int, str, List[str]]] = []
    for what, lines in _candidates(scn, plain.trace, text):
        if tried >= ns.max:
            break
        tried += 1
        body = text.rstrip("\n") + "\n" + "\n".join(lines) + "\n"
        try:
            cand = _parse(scn.path, body)
        except ScenarioError:
            continue  # not expressible in this scenario (a setting it has)
        res = run_scenario(cand)
        if res.error:
            continue
        miss, _ = compare_output(cand, expected, res.output)
        if miss is None:
            return _found(ns, name, scn, tried, what, lines, body)
        closest.append((miss.line, what, lines))
        if tried % 100 == 0:
            print("  %d candidates tried" % tried, file=sys.stderr)
    closest.sort(key=lambda c: -c[0])
    print(
        "%s: none of %d candidates reproduces %s byte for byte (the plain run "
        "differs at line %d)" % (name, tried, scn.expect, mismatch.line)
    )
    if closest:
        print("the closest (they first differ at the line shown):")
        for line, what, lines in closest[:3]:
            print("  line %d: %s" % (line, what))
            for text_line in lines:
                print("      %s" % text_line)
    return 1


def _found(
    ns: argparse.Namespace,
    name: str,
    scn: Any,
    tried: int,
    what: str,
    lines: List[str],
    body: str,
) -> int:
    print(
        "%s: candidate %d reproduces %s byte for byte: %s"
        % (name, tried, scn.expect, what)
    )
    print("add to the scenario:")
    for line in lines:
        print("    %s" % line)
    out: Optional[str] = ns.write
    if out:
        try:
            with open(out, "w", encoding="utf-8") as f:
                f.write(body)
        except OSError as e:
            raise InputError("--write %s: %s" % (out, e.strerror or e)) from None
        same_dir = os.path.dirname(os.path.abspath(out)) == os.path.dirname(scn.path)
        print(
            "wrote %s; judge it with: asyncore-sim check %s%s"
            % (
                out,
                out,
                ""
                if same_dir
                else " (it names files relative to its folder: keep it beside %s)"
                % name,
            )
        )
    return 0
