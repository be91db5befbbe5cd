"""The ``show`` subcommand: a sequence diagram of a trace (or of two).

    asyncore-sim show run.trace -o run.html        # one self-contained page
    asyncore-sim show run.trace --format text      # for a terminal or a CI log
    asyncore-sim show a.trace b.trace -o ab.html   # both, marked where they differ

The format is ``--format``'s, else the one ``-o``'s suffix names (``.html``,
``.svg``, ``.txt``), else HTML.  Text goes to stdout unless ``-o`` says
otherwise; HTML and SVG go to ``-o`` (``-`` for stdout), by default to the
first trace's name with the format's suffix, in the current folder.  The
faults drawn are those of the trace's ``# plan:`` header or of the faults in
its ``# scenario:`` (see :mod:`asyncore_sim.diagram._faults`).

Unusable input (a missing or corrupt trace, an output that cannot be
written) is reported as ``asyncore-sim: error: ...`` with exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, List, Optional

from asyncore_sim.cli._errors import InputError
from asyncore_sim.trace import Trace, first_difference, format_difference

__all__ = ["add_show_command", "cmd_show"]

FORMATS = ("html", "svg", "text")
_SUFFIX = {"html": ".html", "svg": ".svg", "text": ".txt"}


def add_show_command(sub: Any) -> None:
    p = sub.add_parser(
        "show",
        help="draw a trace as a sequence diagram (HTML, SVG or text)",
        description="Draw TRACE as a sequence diagram: a lifeline per socket, "
        "grouped by host and connection; arrows for segments with their byte "
        "counts and a preview; loop iterations and virtual time down the "
        "side; callbacks as marks; each injected fault where it fired, in "
        "words. With TRACE2, both, marked at their first difference. HTML "
        "(the default) is one self-contained file that needs no network.",
    )
    p.add_argument("trace", help="a trace file")
    p.add_argument("trace2", nargs="?", help="a second trace, to compare with")
    p.add_argument(
        "-o",
        "--output",
        help="file to write ('-': stdout; default: stdout for text, else the "
        "trace's name with .html or .svg, in the current folder)",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        help="html (default), svg, or text; else the suffix of -o says",
    )
    p.add_argument(
        "--expand-idle",
        action="store_true",
        help="draw every idle iteration instead of one row per run of them "
        "(svg and text; the page has a switch)",
    )
    p.set_defaults(func=cmd_show)


def _format_of(ns: argparse.Namespace) -> str:
    if ns.format:
        return str(ns.format)
    out = ns.output or ""
    for fmt, suffix in _SUFFIX.items():
        if out.lower().endswith(suffix):
            return fmt
    return "html"


def _output_of(ns: argparse.Namespace, fmt: str) -> Optional[str]:
    """The file to write; None for stdout."""
    out = ns.output
    if out == "-" or (out is None and fmt == "text"):
        return None
    if out is None:
        stem = os.path.splitext(os.path.basename(ns.trace))[0] or "trace"
        out = stem + _SUFFIX[fmt]
    for given in (ns.trace, ns.trace2):
        if given and os.path.exists(out) and os.path.samefile(out, given):
            raise InputError("%s: is a trace given to show: not writing over it" % out)
    if os.path.isdir(out):
        raise InputError("%s: is a folder, not a file to write the diagram to" % out)
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise InputError("%s: no such folder: %s" % (out, folder))
    if not os.access(folder, os.W_OK):
        raise InputError("%s: cannot write in %s" % (out, folder))
    return str(out)


def _diagram(trace: Trace, path: str, mark: Optional[int], mark_text: str) -> Any:
    from asyncore_sim.diagram import build_diagram
    from asyncore_sim.diagram._faults import rules_of_trace

    rules, words, notes = rules_of_trace(trace, path)
    d = build_diagram(trace, path, rules, words, mark=mark, mark_text=mark_text)
    d.notes.extend(notes)
    return d


def render(paths: List[str], fmt: str, expanded: bool = False) -> str:
    """The diagram of the trace(s) at ``paths`` in ``fmt`` (TraceFormatError
    for a trace that cannot be read)."""
    from asyncore_sim.diagram._html import render_html
    from asyncore_sim.diagram._svg import render_svg
    from asyncore_sim.diagram._text import render_text

    traces = [Trace.load(p) for p in paths]
    mark: Optional[int] = None
    report = ""
    mark_text = ""
    if len(traces) == 2:
        a, b = traces[0].events, traces[1].events
        diff = first_difference(a, b)
        if diff is None:
            report = "%s and %s: %d events, identical" % (paths[0], paths[1], len(a))
        else:
            mark = diff.index
            report = format_difference(
                diff, a, b, context=3, expected_name=paths[0], actual_name=paths[1]
            )
            mark_text = report.splitlines()[0]
    diagrams = [_diagram(t, p, mark, mark_text) for t, p in zip(traces, paths)]
    if fmt == "html":
        return render_html(diagrams, paths, report or None)
    if fmt == "svg":
        return render_svg(diagrams, paths, expanded=expanded)
    parts = [report] if report else []
    parts.extend(render_text(d, expanded=expanded) for d in diagrams)
    return "\n".join(parts)


def cmd_show(ns: argparse.Namespace) -> int:
    fmt = _format_of(ns)
    paths = [ns.trace] + ([ns.trace2] if ns.trace2 else [])
    out = _output_of(ns, fmt)
    text = render(paths, fmt, expanded=ns.expand_idle)
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    try:
        with open(out, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    except OSError as e:
        raise InputError("%s: cannot write: %s" % (out, e.strerror or e)) from None
    print("%s: wrote the %s diagram of %s" % (out, fmt, " and ".join(paths)))
    return 0
