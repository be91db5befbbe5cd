"""The diagram as one static SVG image (``--format svg``).

Hosts are bands across the top, each lifeline a column under its host
(dashed: a remote peer the trace does not hold); down the left side the row
number, the loop iteration and the virtual time; right of the lifelines the
words of each row.  Marks: a circle for a callback, a square for a send or
recv, a bar for a socket opening, a cross for a close, a red ``!`` for an
error, a star for an injected fault (its row tinted orange, errors red, the
first difference yellow).  Arrows: a segment from its send to the recv that
reads its last byte (level for a remote peer), labelled with its byte count;
dotted for a connect, red and dashed for bytes never read.  Repeated idle
iterations are one grey row unless ``expanded``.

The page (:mod:`._html`) draws the same picture with the same classes
(:data:`DIAGRAM_CSS`) and geometry (:mod:`._layout`).

Rules (deterministic): a pure function of the diagram(s); every text is
escaped with :func:`html.escape`.
"""

from __future__ import annotations

import html
import math
from typing import List, Sequence, Tuple

from asyncore_sim.diagram._layout import (
    DESC_W,
    GUTTER_W,
    HEAD_H,
    LANE_W,
    ROW_H,
    display,
    lane_xs,
    width,
)
from asyncore_sim.diagram._model import Diagram

__all__ = ["render_svg", "DIAGRAM_CSS", "MARKERS", "clip"]

#: The drawing's style, shared with the page.
DIAGRAM_CSS = """
svg.sd { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.sd text { fill: #222; white-space: pre; }
.sd .host rect { fill: #e8eef7; stroke: #8aa1c1; }
.sd .host text { font-weight: bold; fill: #234; }
.sd .head rect { fill: #fff; stroke: #8aa1c1; }
.sd .head.peer rect { fill: #f4f4f4; stroke-dasharray: 4 3; }
.sd .head .name { font-weight: bold; font-size: 11px; }
.sd .head .detail { font-size: 10px; fill: #555; }
.sd .life { stroke: #8aa1c1; stroke-width: 1.5; }
.sd .life.peer { stroke-dasharray: 4 4; }
.sd .gut { fill: #667; font-size: 11px; }
.sd .it { fill: #1a4f9c; font-weight: bold; font-size: 11px; }
.sd .band.error { fill: #fde2e2; }
.sd .band.fault { fill: #ffe4c2; }
.sd .band.diff { fill: #fff27a; }
.sd .band.hit { fill: #cdeccd; }
.sd .band.sel { fill: none; stroke: #1a4f9c; stroke-width: 2; }
.sd .band.wait { fill: #f3f6fb; }
.sd .band.group { fill: #ececec; }
.sd .mk { fill: #fff; stroke: #333; stroke-width: 1.2; }
.sd .mk.call { fill: #7fb3ff; }
.sd .mk.io { fill: #333; }
.sd .mk.open, .sd .mk.close { stroke: #333; stroke-width: 2; fill: none; }
.sd .mk.fault { fill: #ff8c00; stroke: #a04000; }
.sd .mk.errtext { fill: #c00; font-weight: bold; stroke: none; }
.sd .ar { stroke: #1f6f3f; stroke-width: 1.4; fill: none; }
.sd .ar.connect { stroke: #666; stroke-dasharray: 2 3; }
.sd .ar.lost { stroke: #c00; stroke-dasharray: 6 3; }
.sd .ar.oob { stroke: #8a2be2; }
.sd .al { font-size: 10px; fill: #1f6f3f; }
.sd .al.lost { fill: #c00; }
.sd .desc.fault { fill: #a04000; font-weight: bold; }
.sd .desc.error { fill: #b00; }
.sd .desc.group { fill: #666; font-style: italic; }
"""

#: Arrow heads, one per arrow kind.
MARKERS = "".join(
    '<marker id="ah-%s" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
    'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
    'fill="%s"/></marker>' % (kind, color)
    for kind, color in (
        ("data", "#1f6f3f"),
        ("connect", "#666"),
        ("lost", "#c00"),
        ("oob", "#8a2be2"),
    )
)

_E = html.escape


def clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: max(n - 1, 1)] + "\u2026"


def _head(d: Diagram, xs: List[int]) -> List[str]:
    out = []
    for host, lanes in d.hosts:
        x0 = xs[lanes[0]] - LANE_W // 2 + 2
        x1 = xs[lanes[-1]] + LANE_W // 2 - 2
        out.append(
            '<g class="host"><rect x="%d" y="1" width="%d" height="18" rx="3"/>'
            '<text x="%d" y="14">%s</text><title>%s</title></g>'
            % (x0, x1 - x0, x0 + 5, _E(clip(host, (x1 - x0) // 7)), _E(host))
        )
    for ln in d.lifelines:
        x = xs[ln.index]
        conn = d.connections[ln.conn].number if ln.conn >= 0 else -1
        out.append(
            '<g class="head lane %s" data-lane="%d" data-conn="%d"><rect x="%d" '
            'y="22" width="%d" height="%d" rx="3"/><text class="name" x="%d" '
            'y="36" text-anchor="middle">%s</text><text class="detail" x="%d" '
            'y="50" text-anchor="middle">%s</text><title>%s</title></g>'
            % (
                ln.role,
                ln.index,
                conn,
                x - LANE_W // 2 + 4,
                LANE_W - 8,
                HEAD_H - 26,
                x,
                _E(clip(ln.name, 15)),
                x,
                _E(clip(ln.short, 18)),
                _E("%s (%s): %s" % (ln.name, ln.host, ln.detail)),
            )
        )
    return out


def _mark(kind: str, x: int, y: int) -> str:
    if kind == "call":
        return '<circle class="mk call" cx="%d" cy="%d" r="4"/>' % (x, y)
    if kind == "io":
        return '<rect class="mk io" x="%d" y="%d" width="7" height="7"/>' % (
            x - 3, y - 3)
    if kind == "open":
        return '<path class="mk open" d="M%d,%dh14"/>' % (x - 7, y)
    if kind == "close":
        return '<path class="mk close" d="M%d,%dl8,8m0,-8l-8,8"/>' % (x - 4, y - 4)
    if kind == "fault":
        pts = []
        for k in range(10):
            r = 7 if k % 2 == 0 else 3
            a = math.pi / 2 + k * math.pi / 5
            pts.append("%.1f,%.1f" % (x + r * math.cos(a), y - r * math.sin(a)))
        return '<polygon class="mk fault" points="%s"/>' % " ".join(pts)
    if kind == "error":
        return (
            '<text class="mk errtext" x="%d" y="%d" text-anchor="middle">!</text>'
            % (x, y + 4)
        )
    if kind in ("info", "sleep"):
        return '<circle class="mk" cx="%d" cy="%d" r="2.5"/>' % (x, y)
    return ""


def _body(d: Diagram, expanded: bool) -> Tuple[List[str], int]:
    xs = lane_xs(d)
    desc_x = width(d)
    entries, where = display(d, expanded)
    total_w = desc_x + DESC_W
    out: List[str] = []
    bands: List[str] = []
    n = len(entries)
    for k, e in enumerate(entries):
        y = k * ROW_H
        mid = y + ROW_H // 2
        if e < 0:
            grp = d.groups[-1 - e]
            row = d.rows[grp.start]
            band, text, desc = "group", "\u2026 " + grp.text, "group"
            it = "#%d\u2013%d" % (row.iteration, d.rows[grp.end].iteration)
            number = grp.start
        else:
            row = d.rows[e]
            band = row.mark or ("wait" if row.kind == "wait" else "")
            text = ("FAULT: %s" % row.text) if row.kind == "fault" else row.text
            desc = row.mark or row.kind
            it = "#%d" % row.iteration if row.kind == "wait" else ""
            number = e
        if band:
            bands.append('<rect class="band %s" x="0" y="%d" width="%d" height="%d"/>'
                         % (band, y, total_w, ROW_H))
        out.append('<text class="gut" x="4" y="%d">%d</text>' % (mid + 4, number))
        if it:
            out.append('<text class="it" x="42" y="%d">%s</text>' % (mid + 4, it))
        if it or k == 0 or (e >= 0 and _time_changed(d, entries, k)):
            out.append('<text class="gut" x="%d" y="%d">%.6f</text>'
                       % (GUTTER_W - 72, mid + 4, row.time))
        out.append('<text class="desc %s" x="%d" y="%d">%s</text>'
                   % (desc, desc_x, mid + 4, _E(clip(text, 150))))
    # Lifelines under everything drawn on them.
    lines = []
    for ln in d.lifelines:
        y0 = where[ln.first_row] * ROW_H + ROW_H // 2 if d.rows else 0
        last = where[ln.last_row] if ln.last_row >= 0 else n - 1
        y1 = max(last, 0) * ROW_H + ROW_H // 2
        lines.append('<line class="life %s" x1="%d" y1="%d" x2="%d" y2="%d"/>'
                     % ("peer" if ln.role == "peer" else "", xs[ln.index], y0,
                        xs[ln.index], max(y1, y0)))
    out[:0] = bands + lines
    for a in d.arrows:
        out.append(_arrow(a.kind, a.label, a.src, a.dst, where[a.start],
                          where[a.end], xs, a.conn))
    for k, e in enumerate(entries):
        if e >= 0 and d.rows[e].lane >= 0:
            row = d.rows[e]
            out.append(_mark(row.kind, xs[row.lane], k * ROW_H + ROW_H // 2))
    return out, n * ROW_H


def _time_changed(d: Diagram, entries: Sequence[int], k: int) -> bool:
    prev = entries[k - 1]
    prev_row = d.rows[prev] if prev >= 0 else d.rows[d.groups[-1 - prev].end]
    return "%.6f" % prev_row.time != "%.6f" % d.rows[entries[k]].time


def _arrow(kind: str, label: str, src: int, dst: int, r0: int, r1: int,
           xs: List[int], conn: int) -> str:
    x1, x2 = xs[src], xs[dst]
    y1, y2 = r0 * ROW_H + ROW_H // 2, r1 * ROW_H + ROW_H // 2
    step = 6 if x2 > x1 else -6
    lx = x1 + (x2 - x1) * 0.5 if y1 == y2 else x1 + step * 2
    anchor = "middle" if y1 == y2 else ("start" if step > 0 else "end")
    return (
        '<g class="arrow" data-conn="%d" data-kind="%s"><line class="ar %s" x1="%d" '
        'y1="%d" x2="%d" y2="%d" marker-end="url(#ah-%s)"/><text class="al %s" '
        'x="%.0f" y="%d" text-anchor="%s">%s</text></g>'
        % (conn, kind, kind, x1 + step, y1, x2 - step, y2, kind, kind, lx, y1 - 3,
           anchor, _E(label))
    )


def render_svg(
    diagrams: Sequence[Diagram], titles: Sequence[str] = (), expanded: bool = False
) -> str:
    """One SVG document: each diagram under its title, one above the other."""
    parts: List[str] = []
    y = 0
    full_w = 0
    for k, d in enumerate(diagrams):
        title = titles[k] if k < len(titles) else d.name
        body, h = _body(d, expanded)
        w = width(d) + DESC_W
        full_w = max(full_w, w)
        parts.append('<g transform="translate(0,%d)">' % y)
        parts.append('<text x="4" y="16" style="font-weight:bold;font-size:14px">'
                     '%s</text>' % _E(title))
        parts.append('<g transform="translate(0,24)">')
        parts.extend(_head(d, lane_xs(d)))
        parts.append('<g transform="translate(0,%d)">' % HEAD_H)
        parts.extend(body)
        parts.append("</g></g></g>")
        y += 24 + HEAD_H + h + 32
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" class="sd" width="%d" height="%d" '
        'viewBox="0 0 %d %d"><style>%s</style><defs>%s</defs>'
        '<rect width="100%%" height="100%%" fill="#fff"/>%s</svg>\n'
        % (full_w, y, full_w, y, DIAGRAM_CSS, MARKERS, "".join(parts))
    )
