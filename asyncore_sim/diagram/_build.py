"""Building a :class:`~._model.Diagram` from a trace (:func:`build_diagram`).

After the first pass (:mod:`._scan`) and the fault locator (:mod:`._faults`):
a row per event worth drawing (each readiness call, opens and closes,
sends and recvs, callbacks but readable()/writable(), errors), a note row
per located fault after the event where it fired, the arrows of the
segments and connects, the lifelines in column order (by host, then
connection), and the groups of repeated idle iterations.

Rules (deterministic): a pure function of the trace, the rules and the
mark; lists built in event order; no clock, no random source, no
iteration over sets.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import attrs

from asyncore_sim.diagram._faults import locate_faults
from asyncore_sim.diagram._model import (
    MIN_GROUP,
    QUIET_CALLBACKS,
    QUIET_IO,
    Arrow,
    Diagram,
    FaultNote,
    Group,
    Lifeline,
    THIS_PROGRAM,
    Row,
    addr_text,
    err_words,
    norm_host,
    preview,
    same_addr,
)
from asyncore_sim.diagram._scan import Scan
from asyncore_sim.trace import Trace, TraceEvent
from asyncore_sim.trace._values import format_value

__all__ = ["build_diagram"]


def _iteration_starts(events: Sequence[TraceEvent]) -> List[int]:
    """For each event, the iteration it belongs to: a readiness call starts
    one, together with the readable()/writable() calls just before it."""
    n = len(events)
    starts = [False] * n
    for w in range(n):
        if events[w].kind in ("wait", "sleep"):
            s = w
            while s > 0 and events[s - 1].kind in QUIET_CALLBACKS:
                s -= 1
            starts[s] = True
    out = [0] * n
    it = 0
    for i in range(n):
        if starts[i]:
            it += 1
        out[i] = it
    return out


def _event_text(ev: TraceEvent, scan: Scan, i: int) -> Tuple[str, str, str]:
    """(row kind, text, mark) for a drawn event."""
    kind = ev.kind
    err = scan._failed(ev)
    if ev.is_callback:
        cls = ev.args[0] if ev.args else "?"
        text = "%s() on %s" % (kind, cls)
        if ev.result is not None:
            text += " -> %s" % (ev.result[0],)
        return "call", text, "error" if kind == "handle_error" else ""
    if kind in ("wait", "sleep"):
        if kind == "sleep":
            return "sleep", "sleep %s s" % (ev.args[0],), ""
        method, timeout, interest = ev.args
        got = ev.result[0] if ev.result else "?"
        if err is not None:
            return "wait", "%s(%s s) on %s -> %s" % (
                method, timeout, interest, err_words(err)), "error"
        ready = "nothing ready" if got == "0" else str(got)
        return "wait", "%s(%s s) on %s -> %s" % (method, timeout, interest, ready), ""
    if err is not None:
        what = "%s %s" % (kind, " ".join(format_value(a) for a in ev.args))
        return "error", "%s failed: %s" % (what.strip(), err_words(err)), "error"
    if kind == "send":
        n, data = ev.result or (0, b"")
        offered = ev.args[0]
        oob = " MSG_OOB" if len(ev.args) > 1 else ""
        part = "" if n == offered else " of %d offered" % offered
        return "io", "send%s %d B%s %s" % (oob, n, part, preview(data)), ""
    if kind == "recv":
        data = (ev.result or (b"",))[0]
        oob = " MSG_OOB" if len(ev.args) > 1 else ""
        if not data:
            return "io", "recv%s(%d) -> b'' (end of stream: the peer closed)" % (
                oob, ev.args[0]), ""
        return "io", "recv%s(%d) -> %d B %s" % (
            oob, ev.args[0], len(data), preview(data)), ""
    if kind == "sendto":
        n, data = ev.result or (0, b"")
        to = addr_text(ev.args[-1])
        return "io", "sendto %s %d B %s" % (to, n, preview(data)), ""
    if kind == "recvfrom":
        data, source = ev.result or (b"", "?")
        return "io", "recvfrom(%d) -> %d B from %s %s" % (
            ev.args[0], len(data), addr_text(source), preview(data)), ""
    if kind == "connect":
        r = (ev.result or ("",))[0]
        return "open", "connect to %s -> %s" % (addr_text(ev.args[0]), r), ""
    if kind == "accept":
        newfd, peer = ev.result or (-1, "?")
        return "open", "accept -> fd %s from %s" % (newfd, addr_text(peer)), ""
    if kind == "socket":
        return "open", "socket %s" % " ".join(str(a) for a in ev.args), ""
    if kind == "socketpair":
        return "open", "socketpair -> fds %d and %s" % (
            ev.fd, (ev.result or ("?",))[0]), ""
    if kind == "file":
        return "open", "file_dispatcher on a file", ""
    if kind == "close":
        return "close", "close", ""
    if kind == "bind":
        return "info", "bind %s" % addr_text(ev.args[0]), ""
    if kind == "listen":
        return "info", "listen (backlog %s)" % (ev.args[0],), ""
    if kind == "shutdown":
        return "info", "shutdown %s" % (ev.args[0],), ""
    if kind == "getsockopt" and ev.result and isinstance(ev.result[0], str):
        r = str(ev.result[0])
        if r.startswith("E"):
            return "error", "SO_ERROR -> %s" % err_words(r), "error"
    line = ev.line().split(" ", 1)[1]
    return "info", line if len(line) <= 100 else line[:97] + "...", ""


def _visible(ev: TraceEvent, scan: Scan) -> bool:
    kind = ev.kind
    if kind in QUIET_CALLBACKS:
        return False
    if kind in QUIET_IO:
        if scan._failed(ev) is not None:
            return True
        r = (ev.result or (None,))[0]
        return kind == "getsockopt" and isinstance(r, str) and r.startswith("E")
    return True


def build_diagram(
    trace: Trace,
    name: str = "",
    rules: Sequence[Any] = (),
    rule_words: Sequence[str] = (),
    mark: Optional[int] = None,
    mark_text: str = "",
) -> Diagram:
    """The diagram of ``trace``.

    ``rules`` are the fault rules the run had installed (fake_net values, in
    install order), which :mod:`._faults` locates in the trace;
    ``rule_words`` say what they are, in words (shown as installed).
    ``mark`` is an event index to flag (the first difference from another
    trace; ``len(events)``: the trace ended there), drawn even where its
    event is not.
    """
    events = trace.events
    scan = Scan(events)
    scan.run()
    scan.finish()
    located, unlocated = locate_faults(events, scan, list(rules))
    faults_at: Dict[int, List[Tuple[int, str, str]]] = {}
    for ev_index, lane, rule, text in located:
        faults_at.setdefault(ev_index, []).append((lane, rule, text))
    iteration = _iteration_starts(events)
    rows: List[Row] = []
    row_of = [-1] * len(events)
    notes: List[FaultNote] = []
    mark_row = -1
    for i, ev in enumerate(events):
        forced = i == mark
        if forced or _visible(ev, scan):
            kind, text, flag = _event_text(ev, scan, i)
            if forced:
                flag = "diff"
            row_of[i] = len(rows)
            lane = scan.lane_of[i]
            rows.append(
                Row(i, ev.time, iteration[i], kind, ev.kind, lane, text, flag)
            )
            if forced:
                mark_row = row_of[i]
        for lane, rule, text in faults_at.get(i, ()):
            notes.append(FaultNote(len(rows), i, lane, rule, text))
            rows.append(
                Row(-1, ev.time, iteration[i], "fault", rule, lane, text, "fault")
            )
    if mark is not None and mark >= len(events):
        last = events[-1] if events else None
        mark_row = len(rows)
        rows.append(
            Row(
                -1,
                last.time if last else 0.0,
                iteration[-1] if events else 0,
                "end",
                "end",
                -1,
                "the trace ends here",
                "diff",
            )
        )
    notes.extend(FaultNote(-1, -1, -1, rule, text) for rule, text in unlocated)
    arrows = _arrows(events, scan, row_of, len(rows))
    lanes, order = _columns(scan, row_of, len(rows))
    for r in rows:
        if r.lane >= 0:
            r.lane = order[r.lane]
    for a in arrows:
        a.src, a.dst = order[a.src], order[a.dst]
    for c in scan.conns:
        c.client = order[c.client]
        c.server = order[c.server] if c.server >= 0 else -1
    notes = [
        attrs.evolve(n, lane=order[n.lane]) if n.lane >= 0 else n for n in notes
    ]
    diagram = Diagram(
        name=name,
        header=dict(trace.header),
        events=len(events),
        lifelines=lanes,
        connections=scan.conns,
        rows=rows,
        arrows=arrows,
        groups=_groups(rows),
        faults=notes,
        iterations=iteration[-1] if events else 0,
        mark_row=mark_row,
        mark_text=mark_text,
        installed=list(rule_words),
    )
    return diagram


def _arrows(
    events: Sequence[TraceEvent], scan: Scan, row_of: List[int], nrows: int
) -> List[Arrow]:
    arrows: List[Arrow] = []
    last = max(nrows - 1, 0)
    lanes = scan.lanes
    remote = set(scan.remote_data)
    for i, ev in enumerate(events):
        kind = ev.kind
        if kind == "send" and row_of[i] >= 0 and scan._failed(ev) is None:
            n, data = ev.result or (0, b"")
            src = scan.lane_of[i]
            if n <= 0 or src < 0 or lanes[src].conn < 0:
                continue
            c = lanes[src].conn
            dst = scan.other_end(src)
            if dst < 0:
                continue
            oob = len(ev.args) > 1
            label = "%d B%s" % (n, " (urgent)" if oob else "")
            end_ev = scan.arrow_end.get(i)
            if lanes[dst].role == "peer":
                end, akind = row_of[i], "oob" if oob else "data"
            elif end_ev is not None:
                end, akind = row_of[end_ev], "oob" if oob else "data"
            else:
                lost = scan.lost_at.get(i)
                end = row_of[lost] if lost is not None else last
                akind = "lost"
                label += " never read"
            arrows.append(Arrow(src, dst, row_of[i], end, n, label, akind, c))
        elif kind == "sendto" and row_of[i] >= 0 and scan._failed(ev) is None:
            arrow = _datagram_arrow(scan, i, ev, row_of, last)
            if arrow is not None:
                arrows.append(arrow)
        elif kind == "recv" and i in remote and row_of[i] >= 0:
            data = (ev.result or (b"",))[0]
            dst = scan.lane_of[i]
            src = scan.other_end(dst)
            arrows.append(
                Arrow(src, dst, row_of[i], row_of[i], len(data),
                      "%d B" % len(data), "data", lanes[dst].conn)
            )
        elif kind == "connect" and row_of[i] >= 0:
            src = scan.lane_of[i]
            if src < 0 or lanes[src].conn < 0:
                continue
            conn = scan.conns[lanes[src].conn]
            if conn.client != src or conn.started != i:
                continue
            dst = conn.server
            if dst < 0:
                continue
            end = row_of[i]
            if lanes[dst].role != "peer":
                first = lanes[dst].first_row  # the accept's event index
                end = row_of[first] if row_of[first] >= 0 else end
            arrows.append(Arrow(src, dst, row_of[i], end, 0, "connect", "connect",
                                conn.index))
    return arrows


def _datagram_arrow(
    scan: Scan, i: int, ev: TraceEvent, row_of: List[int], last: int
) -> Optional[Arrow]:
    """A datagram: to the recvfrom that read it, or, never read, to the end
    of the socket bound to its destination (none in the trace: not drawn)."""
    n, data = ev.result or (0, b"")
    src = scan.lane_of[i]
    end_ev = scan.datagram_end.get(i)
    if end_ev is not None and row_of[end_ev] >= 0:
        dst = scan.lane_of[end_ev]
        got = (scan.events[end_ev].result or (b"",))[0]
        label = "%d B datagram" % n
        if len(got) < n:
            label += " (%d read: truncated)" % len(got)
        return Arrow(src, dst, row_of[i], row_of[end_ev], n, label, "data")
    dest = ev.args[-1]
    dest_t = (str(dest[0]), int(dest[1]))
    dst = next(
        (k for k, ln in enumerate(scan.lanes) if same_addr(dest_t, ln.local)
         and ln.role != "peer"),
        -1,
    )
    if dst < 0 or src < 0:
        return None
    return Arrow(src, dst, row_of[i], last, n, "%d B datagram never read" % n, "lost")


def _columns(
    scan: Scan, row_of: List[int], nrows: int
) -> Tuple[List[Lifeline], List[int]]:
    """Lifelines in column order (by host, then connection), with rows for
    their first and last events; and the old index -> column map."""
    lanes = scan.lanes
    for lane in lanes:
        _name_lane(lane, scan)
    hosts: List[str] = []
    for lane in lanes:
        if lane.host not in hosts:
            hosts.append(lane.host)
    # Traced sockets first, then each remote host (in the order of their
    # first connection); in a host, by connection, then as they opened.
    def number(lane: Lifeline) -> int:
        return scan.conns[lane.conn].number if lane.conn >= 0 else -1

    first_conn: Dict[str, int] = {}
    for lane in lanes:
        if lane.role == "peer":
            n = number(lane) if number(lane) >= 0 else 1 << 30
            first_conn[lane.host] = min(first_conn.get(lane.host, n), n)

    def key(lane: Lifeline) -> Tuple[int, int, int, int]:
        if lane.role == "peer":
            return (1, first_conn[lane.host], hosts.index(lane.host), number(lane))
        return (0, hosts.index(lane.host), number(lane), lane.first_row)

    ordered = sorted(lanes, key=key)
    order = [0] * len(lanes)
    for col, lane in enumerate(ordered):
        order[lane.index] = col
    out = []
    for col, lane in enumerate(ordered):
        first = _row_at_or_after(row_of, lane.first_row)
        last = -1 if lane.last_row < 0 else _row_at_or_before(row_of, lane.last_row)
        out.append(attrs.evolve(lane, index=col, first_row=max(first, 0),
                                last_row=last if last >= 0 or lane.last_row < 0
                                else max(first, 0)))
    return out, order


def _row_at_or_after(row_of: List[int], i: int) -> int:
    n = len(row_of)
    while i < n and row_of[i] < 0:
        i += 1
    return row_of[i] if i < n else (max(row_of) if row_of else 0)


def _row_at_or_before(row_of: List[int], i: int) -> int:
    while i >= 0 and row_of[i] < 0:
        i -= 1
    return row_of[i] if i >= 0 else 0


def _name_lane(lane: Lifeline, scan: Scan) -> None:
    conn = scan.conns[lane.conn] if lane.conn >= 0 else None
    label = conn.label if conn is not None else ""
    if lane.role == "peer":
        lane.detail = "remote peer (not in the trace)"
        lane.short = "remote peer"
        if conn is not None and conn.number >= 0:
            lane.detail = "remote peer of %s (not in the trace)" % label
            lane.short = "%s peer" % label
        return
    if lane.role != "file" and lane.local is not None:
        lane.host = norm_host(str(lane.local[0]))
        if lane.host in ("0.0.0.0", "::"):
            lane.host = THIS_PROGRAM
    cls = lane.classes[0] if lane.classes else ""
    lane.name = "fd %d%s" % (lane.fd, " " + cls if cls else "")
    lane.short = "%s %s" % (label, lane.role) if label else lane.role
    if lane.role == "listener":
        where = addr_text(lane.local) if lane.local else "?"
        lane.detail = "listening on %s" % where
        lane.short = "listens :%d" % lane.local[1] if lane.local else "listens"
    elif lane.role == "client" and conn is not None:
        lane.detail = "%s: connects to %s" % (conn.label, conn.target)
        if conn.failed:
            lane.detail += " (%s)" % conn.failed
    elif lane.role == "server" and conn is not None:
        peer = addr_text(lane.remote) if lane.remote else "?"
        lane.detail = "%s: accepted from %s" % (conn.label, peer)
    elif lane.role == "pair" and conn is not None:
        lane.detail = "%s: socket pair" % conn.label
    elif lane.role == "file":
        lane.detail = "file"
    else:
        lane.detail = "socket"


def _groups(rows: List[Row]) -> List[Group]:
    """Runs of repeated idle iterations: wait rows with nothing else in their
    iteration and the same text."""
    groups: List[Group] = []
    n = len(rows)
    i = 0
    while i < n:
        r = rows[i]
        if r.kind != "wait" or r.mark:
            i += 1
            continue
        j = i
        while (
            j + 1 < n
            and rows[j + 1].kind == "wait"
            and rows[j + 1].text == r.text
            and not rows[j + 1].mark
        ):
            j += 1
        # The last wait of the run may start a busy iteration; it stays.
        end = j if j + 1 >= n or rows[j + 1].kind == "wait" else j - 1
        count = end - i + 1
        if count >= MIN_GROUP:
            groups.append(
                Group(
                    i,
                    end,
                    count,
                    "%d idle iterations: %s (t %.6f .. %.6f)"
                    % (count, r.text, r.time, rows[end].time),
                )
            )
        i = j + 1
    return groups
