"""Sequence diagrams of traces: ``asyncore-sim show``.

One model (:mod:`._model`'s values: lifelines per socket grouped by host
and connection, rows per event, arrows per segment, marks per callback, the
faults a run's rules injected; worked out by :mod:`._scan`, located by
:mod:`._faults`, put together by :mod:`._build`), drawn three ways: a
self-contained HTML page (:mod:`._html`: its script and style inline, no
network access), a static SVG (:mod:`._svg`) and text for a
terminal or a CI log (:mod:`._text`).  :mod:`._layout` holds what the
drawings share (collapsed rows, geometry).

Rules (deterministic): the same trace(s) and options give the same bytes
out; nothing reads a clock, a random source, or iterates a set.

This room sits on the traces (and what they sit on); the command line sits
on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asyncore_sim.diagram._build import build_diagram
from asyncore_sim.diagram._model import (
    Arrow,
    Connection,
    Diagram,
    FaultNote,
    Group,
    Lifeline,
    Row,
)

if TYPE_CHECKING:  # pragma: no cover
    from asyncore_sim.trace import Trace

__all__ = [
    "page_of_trace",
    "Arrow",
    "Connection",
    "Diagram",
    "FaultNote",
    "Group",
    "Lifeline",
    "Row",
    "build_diagram",
]


def page_of_trace(trace: "Trace", path: str) -> str:
    """The HTML page of ``trace`` (saved at ``path``), with the faults of
    its ``# plan:`` or scenario located: what ``asyncore-sim show`` writes,
    and what a failing test's report names next to its trace."""
    from asyncore_sim.diagram._faults import rules_of_trace
    from asyncore_sim.diagram._html import render_html

    rules, words, notes = rules_of_trace(trace, path)
    d = build_diagram(trace, path, rules, words)
    d.notes.extend(notes)
    return render_html([d], [path])
