"""The diagram as one self-contained HTML page (``--format html``, the default).

One file, no external resources: the data of each diagram travels in the
page as a JSON block, the style and the script (:mod:`._script`) inline, and
a Content-Security-Policy forbids fetching anything at all.  The page's
summary (counts, connections, faults where they fired and those not
located, the first difference of two traces) is written here, escaped with
:func:`html.escape`; the rows are drawn by the script, as many as are in
view, so that large traces stay usable.

Rules (deterministic): a pure function of the diagrams and titles given.
"""

from __future__ import annotations

import html
import json
from typing import Any, Dict, List, Optional, Sequence

from asyncore_sim.diagram._layout import (
    DESC_W,
    GUTTER_W,
    HEAD_H,
    LANE_W,
    ROW_H,
    lane_xs,
    width,
)
from asyncore_sim.diagram._model import Diagram
from asyncore_sim.diagram._script import PAGE_CSS, PAGE_JS
from asyncore_sim.diagram._svg import DIAGRAM_CSS, MARKERS

__all__ = ["render_html", "page_data"]

_E = html.escape
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


def page_data(d: Diagram, title: str = "") -> Dict[str, Any]:
    """The JSON the page's script draws from (compact: lists, not objects)."""
    xs = lane_xs(d)
    conn_number = [c.number for c in d.connections]
    return {
        "name": d.name,
        "title": title or d.name,
        "geo": {
            "rowH": ROW_H,
            "laneW": LANE_W,
            "gutterW": GUTTER_W,
            "headH": HEAD_H,
            "descX": width(d),
            "descW": DESC_W,
        },
        "xs": xs,
        "hosts": [[h, lanes[0], lanes[-1]] for h, lanes in d.hosts],
        "lanes": [
            [
                ln.name,
                ln.detail,
                ln.host,
                ln.role,
                ln.first_row,
                ln.last_row,
                conn_number[ln.conn] if ln.conn >= 0 else -1,
                ln.short,
            ]
            for ln in d.lifelines
        ],
        "rows": [
            [r.event, r.time, r.iteration, r.kind, r.lane, r.text, r.mark]
            for r in d.rows
        ],
        "arrows": [
            [a.src, a.dst, a.start, a.end, a.label, a.kind,
             conn_number[a.conn] if a.conn >= 0 else -1]
            for a in d.arrows
        ],
        "groups": [[g.start, g.end, g.count, g.text] for g in d.groups],
        "mark": d.mark_row,
    }


def _json_for_script(value: Any) -> str:
    """JSON that cannot end its <script> block or open a comment in it."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _summary(d: Diagram, k: int) -> str:
    made = [c for c in d.connections if c.number >= 0]
    out = ['<div class="summary">']
    out.append(
        "<div><b>%s</b>: %d events, %d iterations, %d lifelines, "
        '<span class="nconn" data-connections="%d">%d connections</span>, '
        "%d faults located, %d errors</div>"
        % (_E(d.name), d.events, d.iterations, len(d.lifelines), len(made),
           len(made), sum(1 for f in d.faults if f.row >= 0), d.errors)
    )
    if d.header:
        out.append("<div>%s</div>" % _E(
            ", ".join("%s: %s" % kv for kv in d.header.items())))
    if d.connections:
        out.append('<ul class="conns">')
        for c in sorted(d.connections, key=lambda c: (c.number < 0, c.number)):
            a = d.lifelines[c.client]
            b = d.lifelines[c.server].name if c.server >= 0 else c.target
            out.append(
                '<li class="conn" data-conn="%d">%s: %s &rarr; %s%s</li>'
                % (c.number, _E(c.label), _E(a.name), _E(b),
                   _E(" (%s)" % c.failed) if c.failed else "")
            )
        out.append("</ul>")
    located = [f for f in d.faults if f.row >= 0]
    if d.installed:
        out.append("<div>faults installed: %s</div>" % _E("; ".join(d.installed)))
    if located:
        out.append('<div>faults, where they fired:</div><ul class="faults">')
        out.extend(
            '<li><a data-trace="%d" data-row="%d">row %d</a>: %s (%s)</li>'
            % (k, f.row, f.row, _E(f.text), _E(f.rule))
            for f in located
        )
        out.append("</ul>")
    others = [f for f in d.faults if f.row < 0]
    if others:
        out.append('<div>faults not located:</div><ul class="unlocated">')
        out.extend("<li>%s</li>" % _E(f.text) for f in others)
        out.append("</ul>")
    for note in d.notes:
        out.append("<div>note: %s</div>" % _E(note))
    if d.mark_row >= 0:
        out.append(
            '<div>first difference: <a data-trace="%d" data-row="%d">row %d</a></div>'
            % (k, d.mark_row, d.mark_row)
        )
    out.append("</div>")
    return "".join(out)


def render_html(
    diagrams: Sequence[Diagram],
    titles: Sequence[str] = (),
    difference: Optional[str] = None,
) -> str:
    """The page for one diagram, or two (as tabs) with ``difference``, the
    report of their first difference."""
    titles = [titles[k] if k < len(titles) else d.name for k, d in enumerate(diagrams)]
    data = {"traces": [page_data(d, t) for d, t in zip(diagrams, titles)]}
    heading = " vs ".join(titles) if titles else "trace"
    tabs = ""
    if len(diagrams) > 1:
        tabs = '<div class="tabs">%s</div>' % "".join(
            "<button>%s %s</button>" % ("AB"[k] if k < 2 else k, _E(t))
            for k, t in enumerate(titles)
        )
    panels = "".join(
        '<div class="panel">%s</div>' % _summary(d, k) for k, d in enumerate(diagrams)
    )
    diff = ""
    if difference:
        diff = '<pre class="diff">%s</pre>' % _E(difference)
    parts: List[str] = [
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        '<meta http-equiv="Content-Security-Policy" content="%s">' % _CSP,
        "<title>asyncore-sim show: %s</title>" % _E(heading),
        "<style>%s%s</style></head><body>" % (PAGE_CSS, DIAGRAM_CSS),
        '<div id="top"><h1>asyncore-sim show: %s</h1>' % _E(heading),
        '<div id="status" data-state="loading">loading\u2026 (this page needs '
        "JavaScript)</div>",
        tabs,
        diff,
        panels,
        "</div>",
        '<div id="bar"><input id="q" type="search" placeholder="search rows '
        '(Enter: next, Shift+Enter: previous)"><span id="found"></span>'
        '<label><input id="idle" type="checkbox"> expand idle iterations</label>'
        '<button id="diffbtn">first difference</button></div>',
        '<div id="view"><div id="head"><svg id="headsvg" class="sd" '
        'xmlns="http://www.w3.org/2000/svg"></svg></div>'
        '<div id="canvas"><svg id="rows" class="sd" '
        'xmlns="http://www.w3.org/2000/svg"></svg></div></div>',
        '<svg width="0" height="0" style="position:absolute" '
        'xmlns="http://www.w3.org/2000/svg"><defs>%s</defs></svg>' % MARKERS,
        '<div id="detail">click a row for its details</div>',
        '<script type="application/json" id="data">%s</script>'
        % _json_for_script(data),
        "<script>%s</script></body></html>\n" % PAGE_JS,
    ]
    return "".join(parts)
