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

__all__ = [
    "Arrow",
    "Connection",
    "Diagram",
    "FaultNote",
    "Group",
    "Lifeline",
    "Row",
    "build_diagram",
]
