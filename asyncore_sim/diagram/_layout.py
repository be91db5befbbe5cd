"""What the drawings of a diagram share: the displayed rows and the geometry.

Idle groups (:class:`~._model.Group`) are shown as one row each unless
expanded; :func:`display` says which model rows (or groups) are shown, in
order, and where each model row lands.  The geometry (pixels for SVG and
HTML) is fixed here once, so that the page's script and the static SVG draw
the same picture.

Rules (deterministic): pure functions of the diagram.
"""

from __future__ import annotations

from typing import List, Tuple

from asyncore_sim.diagram._model import Diagram

__all__ = ["display", "lane_xs", "ROW_H", "LANE_W", "GUTTER_W", "HOST_GAP",
           "HEAD_H", "width"]

ROW_H = 20  # one row
LANE_W = 112  # one lifeline's column
GUTTER_W = 170  # iteration and time, down the side
HOST_GAP = 16  # between two hosts' columns
HEAD_H = 64  # host band and lifeline heads
DESC_W = 560  # the words of each row, right of the lifelines


def display(diagram: Diagram, expanded: bool = False) -> Tuple[List[int], List[int]]:
    """(entries, where): ``entries[k]`` is a model row (>= 0) or ``-1 - g``
    for group ``g`` shown as one row; ``where[row]`` is the entry showing
    model row ``row``."""
    nrows = len(diagram.rows)
    where = [0] * nrows
    entries: List[int] = []
    groups = [] if expanded else diagram.groups
    g = 0
    r = 0
    while r < nrows:
        if g < len(groups) and groups[g].start == r:
            grp = groups[g]
            for k in range(grp.start, grp.end + 1):
                where[k] = len(entries)
            entries.append(-1 - g)
            r = grp.end + 1
            g += 1
            continue
        where[r] = len(entries)
        entries.append(r)
        r += 1
    return entries, where


def lane_xs(diagram: Diagram) -> List[int]:
    """The x of each lifeline's line (its column's middle)."""
    xs: List[int] = []
    x = GUTTER_W
    previous = None
    for lane in diagram.lifelines:
        if previous is not None and lane.host != previous:
            x += HOST_GAP
        xs.append(x + LANE_W // 2)
        x += LANE_W
        previous = lane.host
    return xs


def width(diagram: Diagram) -> int:
    """The x where the words of each row begin."""
    xs = lane_xs(diagram)
    return (xs[-1] + LANE_W // 2 if xs else GUTTER_W) + 12
