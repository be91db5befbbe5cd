"""The diagram as text, for a terminal or a CI log (``--format text``).

A legend names each lifeline by a letter (A, B, ... Z, AA, ...); then one
line per displayed row: the iteration (``#n``, where a loop iteration's
readiness call starts it) and the virtual time down the side, one column per
lifeline, and the row's words.  In the columns::

    |  a traced socket's lifeline      :  a remote peer's (not in the trace)
    +  opened     x  closed     o  a callback     #  a send or recv
    !  an error   F  an injected fault            .  bind, listen, shutdown
    A ---> B  a segment (or ...> a connect, ~~~> bytes never read)

A segment to a traced peer is drawn at its send; the recv that reads its
last byte says so.  ``>>`` in the margin marks the first difference from
the other trace.  Repeated idle iterations are one ``~`` row unless
``expanded``.

Rules (deterministic): a pure function of the diagram(s).
"""

from __future__ import annotations

from typing import Dict, List, Sequence

from asyncore_sim.diagram._layout import display
from asyncore_sim.diagram._model import Diagram, Row

__all__ = ["render_text", "lane_letter"]

CELL = 4  # characters per lifeline column
_GLYPH = {
    "open": "+",
    "close": "x",
    "call": "o",
    "io": "#",
    "info": ".",
    "error": "!",
    "fault": "F",
    "sleep": "z",
}


def lane_letter(index: int) -> str:
    """A, B, ... Z, AA, AB, ..."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def summary_lines(d: Diagram) -> List[str]:
    """The legend above the rows: counts, lifelines, connections, faults."""
    lines = []
    made = [c for c in d.connections if c.number >= 0]
    lines.append(
        "%s: %d events, %d iterations, %d lifelines, %d connections, "
        "%d faults located, %d errors"
        % (
            d.name or "trace",
            d.events,
            d.iterations,
            len(d.lifelines),
            len(made),
            sum(1 for f in d.faults if f.row >= 0),
            d.errors,
        )
    )
    if d.header:
        lines.append(
            "  header: " + ", ".join("%s: %s" % kv for kv in d.header.items())
        )
    lines.append("lifelines:")
    width = max((len(ln.name) for ln in d.lifelines), default=0)
    hwidth = max((len(ln.host) for ln in d.lifelines), default=0)
    for ln in d.lifelines:
        lines.append(
            "  %-3s %-*s  %-*s  %s"
            % (lane_letter(ln.index), width, ln.name, hwidth, ln.host, ln.detail)
        )
    if d.connections:
        lines.append("connections:")
        for c in sorted(d.connections, key=lambda c: (c.number < 0, c.number)):
            a = d.lifelines[c.client]
            b = d.lifelines[c.server] if c.server >= 0 else None
            lines.append(
                "  %s: %s %s -> %s%s"
                % (
                    c.label,
                    lane_letter(a.index),
                    a.name,
                    "%s %s" % (lane_letter(b.index), b.name) if b else c.target,
                    " (%s)" % c.failed if c.failed else "",
                )
            )
    located = [f for f in d.faults if f.row >= 0]
    others = [f for f in d.faults if f.row < 0]
    if d.installed:
        lines.append("faults installed: %s" % "; ".join(d.installed))
    if located:
        lines.append("faults (where they fired):")
        for f in located:
            lane = lane_letter(f.lane) if f.lane >= 0 else "-"
            lines.append("  row %d, %s: %s (%s)" % (f.row, lane, f.text, f.rule))
    if others:
        lines.append("faults not located:")
        lines.extend("  %s" % f.text for f in others)
    lines.extend("note: %s" % n for n in d.notes)
    if d.mark_row >= 0:
        lines.append("first difference: row %d%s" % (
            d.mark_row, ": " + d.mark_text if d.mark_text else ""))
    return lines


def _alive(d: Diagram, entry_rows: Sequence[int]) -> List[List[bool]]:
    """For each lifeline, whether it is open at each displayed row."""
    out = []
    for ln in d.lifelines:
        last = ln.last_row if ln.last_row >= 0 else len(d.rows)
        out.append([ln.first_row <= r <= last for r in entry_rows])
    return out


def _arrow_cells(
    line: List[str], x1: int, x2: int, fill: str
) -> None:
    if x1 == x2:
        return
    step = 1 if x2 > x1 else -1
    for x in range(x1 + step, x2, step):
        line[x] = fill
    line[x2 - step] = ">" if step > 0 else "<"


def render_text(d: Diagram, expanded: bool = False, legend: bool = True) -> str:
    """The diagram as lines of text (see the module docstring)."""
    entries, where = display(d, expanded)
    out: List[str] = summary_lines(d) if legend else []
    out.append("")
    lanes = d.lifelines
    pos = [1 + CELL * ln.index for ln in lanes]
    ncols = CELL * len(lanes) + 1
    head = [" "] * ncols
    for ln in lanes:
        letter = lane_letter(ln.index)
        for k, ch in enumerate(letter):
            if pos[ln.index] + k < ncols:
                head[pos[ln.index] + k] = ch
    gutter = "%-2s%6s %6s %-10s" % ("", "row", "iter", "time")
    out.append(gutter + "".join(head).rstrip())
    entry_rows = [e if e >= 0 else d.groups[-1 - e].start for e in entries]
    alive = _alive(d, entry_rows)
    starts: Dict[int, List[int]] = {}
    ends: Dict[int, List[int]] = {}
    for k, a in enumerate(d.arrows):
        starts.setdefault(where[a.start], []).append(k)
        if a.end != a.start and a.kind != "connect":
            ends.setdefault(where[a.end], []).append(k)
    last_time = None
    for k, e in enumerate(entries):
        line = [" "] * ncols
        for ln in lanes:
            if alive[ln.index][k]:
                line[pos[ln.index]] = ":" if ln.role == "peer" else "|"
        if e < 0:
            grp = d.groups[-1 - e]
            row: Row = d.rows[grp.start]
            text = "~ " + grp.text
            it = "#%d-%d" % (row.iteration, d.rows[grp.end].iteration)
        else:
            row = d.rows[e]
            text = row.text
            it = "#%d" % row.iteration if row.kind == "wait" else ""
            if row.kind == "fault":
                text = "FAULT: %s (%s)" % (row.text, row.what)
            for a_index in starts.get(k, ()):
                a = d.arrows[a_index]
                fill = {"connect": ".", "lost": "~"}.get(a.kind, "-")
                _arrow_cells(line, pos[a.src], pos[a.dst], fill)
            if row.lane >= 0:
                glyph = _GLYPH.get(row.kind)
                if glyph:
                    line[pos[row.lane]] = glyph
            for a_index in ends.get(k, ()):
                a = d.arrows[a_index]
                text += "  [%s %s sent at row %d]" % (
                    "end of the" if a.kind != "lost" else "never read:",
                    a.label.replace(" never read", ""), a.start)
        time = "%.6f" % row.time
        shown_time = time if (time != last_time or row.kind == "wait") else ""
        last_time = time
        flag = ">>" if (e >= 0 and row.mark == "diff") else ""
        out.append(
            "%-2s%6s %6s %-10s%s  %s"
            % (flag, entry_rows[k], it, shown_time, "".join(line), text)
        )
    return "\n".join(out) + "\n"
