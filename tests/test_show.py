"""``asyncore-sim show``: the diagram model, its text and SVG drawings, the
page's data, and the command's errors, on the documented runs' traces and
on runs made here (the browser half is tests/test_show_browser.py).

The fault locator is checked against the simulated network's own fault log
(``net.events``): for each run under a fault plan, the faults the diagram
finds in the trace must be exactly those the network says it injected, at
the same virtual time, on the same descriptor.
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import Any, Dict, List, Tuple

import pytest

import asyncore_sim as asyncore
from asyncore_sim.cli import main
from asyncore_sim.diagram import build_diagram
from asyncore_sim.diagram._faults import rules_of_trace
from asyncore_sim.diagram._html import render_html
from asyncore_sim.diagram._layout import display
from asyncore_sim.diagram._svg import render_svg
from asyncore_sim.diagram._text import lane_letter, render_text
from asyncore_sim.testing import simulate
from asyncore_sim.testing import SimulationDidNotSettle
from asyncore_sim.trace import Trace, TraceEvent
from asyncore_sim.trace._values import Addr, Err
from fake_net import FaultPlan, Match

# Plans drawn at random often hold faults a short run never reaches; that
# is what these tests look at, not a weakness of the test.
pytestmark = pytest.mark.filterwarnings("ignore:.*never fired:UserWarning")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYMOTW = os.path.join(ROOT, "traces", "pymotw")
HTTP_RUNS = ["001-http-client.trace", "004-http-client.trace"]
ALL_RUNS = sorted(f for f in os.listdir(PYMOTW) if f.endswith(".trace"))


def diagram_of(path: str, **kwargs: Any) -> Any:
    trace = Trace.load(path)
    rules, words, notes = rules_of_trace(trace, path)
    d = build_diagram(trace, path, rules, words, **kwargs)
    d.notes.extend(notes)
    return trace, d


def data_events(trace: Trace, fd: int) -> List[Tuple[str, int]]:
    """(kind, bytes) of each send and recv that moved bytes on ``fd``,
    read from the trace itself."""
    out = []
    for e in trace.events:
        if e.fd != fd or e.kind not in ("send", "recv") or not e.result:
            continue
        data = e.result[-1]
        if isinstance(data, bytes) and data:
            out.append((e.kind, len(data)))
    return out


# -- the model, on the documented runs ----------------------------------------------


@pytest.mark.parametrize("name", HTTP_RUNS)
def test_the_http_run_has_two_connections_to_two_remote_peers(name):
    trace, d = diagram_of(os.path.join(PYMOTW, name))
    made = [c for c in d.connections if c.number >= 0]
    assert sorted(c.number for c in made) == [0, 1]
    targets = sorted(c.target for c in made)
    assert targets == ["www.doughellmann.com:80", "www.python.org:80"]
    for c in made:
        client, peer = d.lifelines[c.client], d.lifelines[c.server]
        assert client.role == "client" and client.fd in (3, 4)
        assert peer.role == "peer" and peer.fd == -1 and peer.name == c.target
        assert peer.host == c.target.split(":")[0]
        # Every segment of the connection is an arrow between its two ends,
        # with the byte count the trace shows, in trace order.
        arrows = [a for a in d.arrows if a.conn == c.index and a.kind == "data"]
        drawn = [("send" if a.src == c.client else "recv", a.nbytes) for a in arrows]
        assert drawn == data_events(trace, client.fd)
        assert all({a.src, a.dst} == {c.client, c.server} for a in arrows)
    # The network numbers connections as they are made: the one whose
    # connect completes first (handle_connect) is connection 0.
    first = next(e for e in trace.events if e.kind == "handle_connect")
    zero = next(c for c in made if c.number == 0)
    assert d.lifelines[zero.client].fd == first.fd


def test_the_echo_run_pairs_the_connect_with_the_accept():
    trace, d = diagram_of(os.path.join(PYMOTW, "001-echo-server.trace"))
    roles = {ln.fd: ln.role for ln in d.lifelines}
    assert roles == {3: "listener", 4: "client", 5: "server"}
    (conn,) = d.connections
    assert (d.lifelines[conn.client].fd, d.lifelines[conn.server].fd) == (4, 5)
    assert {ln.host for ln in d.lifelines} == {"127.0.0.1"}
    # Each send's arrow ends at the recv on the other end that reads its
    # last byte: replay the byte counts and check every end row.
    rows = d.rows
    read: Dict[int, int] = {}
    sent: Dict[int, int] = {}
    ends: Dict[int, int] = {}  # row of a send -> row where its last byte is read
    pending: Dict[int, List[Tuple[int, int]]] = {4: [], 5: []}
    for k, r in enumerate(rows):
        ev = trace.events[r.event] if r.event >= 0 else None
        if ev is None or ev.kind not in ("send", "recv"):
            continue
        other = 5 if ev.fd == 4 else 4
        if ev.kind == "send":
            sent[ev.fd] = sent.get(ev.fd, 0) + ev.result[0]
            pending[other].append((sent[ev.fd], k))
        else:
            read[ev.fd] = read.get(ev.fd, 0) + len(ev.result[0])
            while pending[ev.fd] and pending[ev.fd][0][0] <= read[ev.fd]:
                ends[pending[ev.fd].pop(0)[1]] = k
    data = [a for a in d.arrows if a.kind == "data"]
    assert len(data) == len(ends) == 5  # the client sends twice, the handler thrice
    assert {a.start: a.end for a in data} == ends
    assert all(a.end > a.start for a in data)


def test_the_file_dispatcher_run_shows_its_scenarios_fault_at_the_file():
    trace, d = diagram_of(os.path.join(PYMOTW, "001-file-dispatcher.trace"))
    (fault,) = [f for f in d.faults if f.row >= 0]
    assert fault.rule == "ExceptionalFile"
    assert trace.events[fault.event].kind == "file"
    assert "exceptional condition" in fault.text and "getsockopt" in fault.text
    assert d.rows[fault.row].kind == "fault" and d.rows[fault.row].mark == "fault"
    # The AttributeError the documented run ends with is an error row.
    errors = [r for r in d.rows if r.mark == "error"]
    assert any("AttributeError" in r.text for r in errors)


@pytest.mark.parametrize("name", ALL_RUNS)
def test_every_documented_run_draws_every_event_but_the_quiet_ones(name):
    trace, d = diagram_of(os.path.join(PYMOTW, name))
    waits = [e for e in trace.events if e.kind == "wait"]
    assert d.iterations == len(waits)
    shown = [r.event for r in d.rows if r.event >= 0]
    assert shown == sorted(shown)
    quiet = ("readable", "writable", "getsockname", "getpeername", "getsockopt")
    for i, e in enumerate(trace.events):
        error = e.result is not None and any(isinstance(v, Err) for v in e.result)
        error = error or (
            e.kind == "getsockopt" and str(e.result[0]).startswith("E"))
        assert (i in shown) == (e.kind not in quiet or error), e.line()
    # Lifelines: one per descriptor opened, plus a peer per remote connection.
    opened = [e for e in trace.events if e.kind in ("socket", "file")]
    opened += [e for e in trace.events if e.kind == "accept"]
    traced = [ln for ln in d.lifelines if ln.role != "peer"]
    assert len(traced) == len(opened)
    for ln in d.lifelines:
        assert 0 <= ln.first_row < len(d.rows)
        assert ln.last_row == -1 or ln.first_row <= ln.last_row


def test_the_iterations_and_times_run_down_the_side():
    trace, d = diagram_of(os.path.join(PYMOTW, "001-http-client.trace"))
    waits = [r for r in d.rows if r.kind == "wait"]
    assert [r.iteration for r in waits] == list(range(1, len(waits) + 1))
    assert [r.time for r in waits] == [e.time for e in trace.events if e.kind == "wait"]
    assert all(r.time >= q.time for q, r in zip(d.rows, d.rows[1:]))


# -- faults: located as the network injected them ------------------------------------


class _Handler(asyncore.dispatcher):
    def __init__(self, sock):
        asyncore.dispatcher.__init__(self, sock)
        self.out = b""
        self.eof = False

    def writable(self):
        return bool(self.out)

    def handle_read(self):
        self.out += self.recv(97)

    def handle_write(self):
        n = self.send(self.out[:150])
        self.out = self.out[n:]
        if self.eof and not self.out:
            self.close()

    def handle_close(self):
        self.eof = True
        if not self.out:
            self.close()


class _Server(asyncore.dispatcher):
    def __init__(self):
        asyncore.dispatcher.__init__(self)
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.bind(("localhost", 0))
        self.listen(5)
        self.address = self.socket.getsockname()

    def handle_accept(self):
        _Handler(self.accept()[0])


class _Client(asyncore.dispatcher):
    def __init__(self, address, message):
        asyncore.dispatcher.__init__(self)
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.connect(address)
        self.out = message

    def writable(self):
        return bool(self.out)

    def handle_write(self):
        n = self.send(self.out[:200])
        self.out = self.out[n:]
        if not self.out:
            self.socket.shutdown(socket.SHUT_WR)

    def handle_read(self):
        self.recv(120)

    def handle_close(self):
        self.close()

    def handle_error(self):  # a refused or timed-out connect: just stop
        self.close()


def _run(plan: FaultPlan, seed: int) -> Tuple[Trace, List[Tuple[str, int, float]]]:
    """Two echo clients under ``plan``: the trace and the network's own
    record of every fault it injected (rule, trace descriptor, time)."""
    with simulate(plan, seed=seed) as sim:
        server = _Server()
        for _ in range(2):
            _Client(server.address, bytes(range(65, 91)) * 40)
        try:
            sim.run(max_iterations=800)
        except SimulationDidNotSettle:
            pass  # (a handler left spinning by a fault: the trace is what counts)
    truth = []
    for e in sim.net.events:
        if e.kind != "fault" or (e.data[0] == "DelaySegments" and not e.data[1]):
            continue  # (a zero delay is a verdict, but nothing happened)
        fd = e.fd - 509 if e.fd >= 512 else e.fd  # the world's 512 is the trace's 3
        truth.append((e.data[0], fd, round(e.time, 6)))
    return sim.trace, truth


def _same_faults(truth, got) -> bool:
    """Equal as multisets; the network writes fd -1 for a socket not yet
    accepted (no descriptor), which matches any."""
    left = list(got)
    for exact in (True, False):
        for item in [t for t in truth if (t[1] != -1) == exact]:
            for k, g in enumerate(left):
                same_fd = g[1] == item[1] or not exact
                if g[0] == item[0] and g[2] == item[2] and same_fd:
                    del left[k]
                    break
            else:
                return False
    return not left


def _located(trace: Trace, d: Any) -> List[Tuple[str, int, float]]:
    out = []
    for f in d.faults:
        if f.row >= 0:
            fd = d.lifelines[f.lane].fd if f.lane >= 0 else -1
            out.append((f.rule, fd, round(trace.events[f.event].time, 6)))
    return out


_MATCHES = [Match(), Match(side="server"), Match(side="client"), Match(conn=1)]


def _plan(seed: int) -> FaultPlan:
    """A plan of every kind of fault, drawn from ``seed`` (here, so that
    the cases do not move when FaultPlan.random is tuned)."""
    rng = random.Random(seed)

    def script(low: int, n: int) -> Tuple[Any, ...]:
        return tuple(rng.choice([None, low, rng.randint(low, 64)])
                     for _ in range(rng.randint(0, n)))

    return FaultPlan(
        sends=script(0, 10),
        reads=script(1, 10),
        delays=tuple(rng.choice([0.0, 0.0, round(rng.uniform(0, 0.05), 3)])
                     for _ in range(rng.randint(0, 6))),
        end=rng.choice([None, None, ("close", rng.randint(0, 2000)),
                        ("reset", rng.randint(0, 2000))]),
        oob=(rng.randint(0, 2000),) if rng.random() < 0.3 else (),
        connect=rng.choice([None] * 6 + ["refuse", "timeout"]),
        connect_delay=rng.choice([0.0] * 5 + [0.25]),
        match=_MATCHES[seed % 4],
    )


@pytest.mark.parametrize("seed", range(40))
def test_faults_are_found_where_the_network_injected_them(seed):
    plan = _plan(seed)
    trace, truth = _run(plan, seed)
    assert Trace.loads(trace.dumps()).header["plan"] == plan.to_json()
    rules, words, _ = rules_of_trace(Trace.loads(trace.dumps()))
    d = build_diagram(trace, "run", rules, words)
    got = _located(trace, d)
    assert _same_faults(truth, got), (plan, sorted(truth), sorted(got))
    # The words are the plan's own description of each fault.
    described = plan.describe()
    assert d.installed == described
    for f in d.faults:
        if f.row >= 0 and f.rule in ("CutSends", "CutReads", "DelaySegments"):
            assert f.text in described, (f.text, described)


@pytest.mark.parametrize(
    "plan, rule, words",
    [
        (FaultPlan(connect="refuse"), "RefuseConnect", "is refused"),
        (FaultPlan(connect="timeout"), "ConnectTimeout", "ETIMEDOUT"),
        (FaultPlan(connect_delay=0.5), "ConnectLatency", "takes 0.5s"),
        (FaultPlan(end=("reset", 100), match=Match(side="client")), "PeerReset",
         "a reset (client side) after byte 100"),
        (FaultPlan(end=("close", 0), match=Match(conn=1)), "PeerClose",
         "the peer closes (connection 1) after byte 0"),
        (FaultPlan(oob=(10,), match=Match(side="server")), "InjectOOB",
         "urgent byte"),
        (FaultPlan(sends=(None, 0), match=Match(side="server")), "CutSends",
         "send #2 (server side) fails with EWOULDBLOCK"),
    ],
)
def test_each_kind_of_fault_is_drawn_in_words_on_its_victim(plan, rule, words):
    trace, truth = _run(plan, 0)
    rules, described, _ = rules_of_trace(trace)
    d = build_diagram(trace, "run", rules, described)
    assert _same_faults(truth, _located(trace, d))
    notes = [f for f in d.faults if f.rule == rule and f.row >= 0]
    assert notes and all(words in f.text for f in notes), d.faults
    for f in notes:
        row = d.rows[f.row]
        assert (row.kind, row.mark, row.lane) == ("fault", "fault", f.lane)
        assert row.text == f.text
        assert d.rows[f.row - 1].event <= f.event  # right after where it fired


def test_a_rule_the_trace_cannot_follow_is_listed_not_guessed():
    from fake_net import PartialSend

    plan = FaultPlan(sends=(5,))
    trace, _ = _run(plan, 3)
    rules = [PartialSend(probability=0.5)] + plan.rules()
    d = build_diagram(trace, "run", rules, [])
    assert not [f for f in d.faults if f.row >= 0]
    texts = [f.text for f in d.faults]
    assert any("probability 0.5" in t and "not located" in t for t in texts)
    assert any("CutSends" in t and "another send rule" in t for t in texts)


def test_a_script_entry_never_reached_is_said_so():
    plan = FaultPlan(sends=(None,) * 500 + (1,))
    trace, truth = _run(plan, 0)
    assert truth == []
    rules, words, _ = rules_of_trace(trace)
    d = build_diagram(trace, "run", rules, words)
    assert [f.text for f in d.faults] == ["send #501: not reached"]


# -- idle iterations ------------------------------------------------------------------


def _idle_trace(n_idle: int) -> Trace:
    """A client that waits out ``n_idle`` timeouts before it sends."""
    from asyncore_sim.trace import Recorder
    from fake_net import FakeNetwork

    net = FakeNetwork(world=False)
    rec = Recorder(net)
    m = rec.map()

    class Waiter(asyncore.dispatcher):
        def __init__(self):
            asyncore.dispatcher.__init__(self, map=m)
            self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
            self.bind(("127.0.0.1", 9000))
            self.listen(1)

        def handle_accept(self):
            self.accept()[0].close()

    with rec:
        Waiter()
        asyncore.loop(timeout=1.0, map=m, count=n_idle)
        c = asyncore.dispatcher(map=m)
        c.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        c.connect(("127.0.0.1", 9000))
        asyncore.loop(timeout=1.0, map=m, count=2)
        asyncore.close_all(map=m)
    return rec.trace


def test_repeated_idle_iterations_collapse_into_one_row():
    trace = _idle_trace(12)
    d = build_diagram(trace, "idle")
    idle_waits = [e for e in trace.events if e.kind == "wait" and e.result == ("0",)]
    assert len(idle_waits) >= 12
    (group,) = d.groups
    assert group.count == group.end - group.start + 1 >= 11
    assert all(d.rows[k].kind == "wait" for k in range(group.start, group.end + 1))
    assert "idle iterations" in group.text and "nothing ready" in group.text
    entries, where = display(d)
    assert len(entries) == len(d.rows) - group.count + 1
    assert len(set(where[group.start: group.end + 1])) == 1
    assert len(display(d, expanded=True)[0]) == len(d.rows)
    short = render_text(d)
    full = render_text(d, expanded=True)
    assert len(full.splitlines()) - len(short.splitlines()) == group.count - 1
    assert "~ %s" % group.text in short and "~ " not in full


def test_two_idle_iterations_are_not_a_group():
    d = build_diagram(_idle_trace(2), "idle")
    assert d.groups == []


# -- text and svg ---------------------------------------------------------------------


def test_lane_letters():
    assert [lane_letter(k) for k in (0, 1, 25, 26, 27, 52)] == [
        "A", "B", "Z", "AA", "AB", "BA"]


@pytest.mark.parametrize("name", HTTP_RUNS)
def test_text_rendering_of_the_http_run(name):
    trace, d = diagram_of(os.path.join(PYMOTW, name))
    text = render_text(d)
    lines = text.splitlines()
    head = next(k for k, ln in enumerate(lines)
                if ln.split()[:3] == ["row", "iter", "time"])
    body = lines[head + 1:]
    assert len(body) == len(d.rows)  # no groups in this run
    # One legend line per lifeline and per connection.
    for ln in d.lifelines:
        assert any(line.split()[:1] == [lane_letter(ln.index)] and ln.name in line
                   for line in lines[:head])
    assert sum("conn %d:" % n in text for n in (0, 1)) == 2
    # Each data arrow is drawn on its row, pointing at its destination.
    column = {ln.index: 2 + 6 + 1 + 6 + 1 + 10 + 1 + 4 * ln.index for ln in d.lifelines}
    for a in d.arrows:
        line = body[a.start]
        lo, hi = sorted((column[a.src], column[a.dst]))
        span = line[lo + 1: hi]
        head_char = ">" if column[a.dst] > column[a.src] else "<"
        assert head_char in span and ("-" in span or "." in span), (line, a)
    for r, line in zip(d.rows, body):
        assert line.endswith(r.text) or r.text in line


def test_text_marks_the_first_difference():
    from asyncore_sim.cli._show import render
    from asyncore_sim.trace import first_difference

    a = os.path.join(PYMOTW, "001-loop.trace")
    b = os.path.join(PYMOTW, "004-loop.trace")
    diff = first_difference(Trace.load(a).events, Trace.load(b).events)
    assert diff is not None
    text = render([a, b], "text")
    assert text.startswith("event %d " % diff.index)
    marked = [ln for ln in text.splitlines() if ln.startswith(">>")]
    assert len(marked) == 2  # once in each trace's drawing
    for path, line in zip((a, b), marked):
        _, d = diagram_of(path, mark=diff.index)
        assert d.rows[d.mark_row].event == diff.index
        assert int(line.split()[1]) == d.mark_row  # the row column
        assert line.endswith(d.rows[d.mark_row].text)


@pytest.mark.parametrize("name", ALL_RUNS)
def test_svg_is_well_formed_and_draws_the_model(name):
    trace, d = diagram_of(os.path.join(PYMOTW, name))
    svg = render_svg([d], [name])
    root = ET.fromstring(svg.split("\n", 1)[1])
    ns = "{http://www.w3.org/2000/svg}"
    groups = list(root.iter(ns + "g"))
    arrows = [g for g in groups if g.get("class") == "arrow"]
    assert len(arrows) == len(d.arrows)
    heads = [g for g in groups if (g.get("class") or "").startswith("head lane")]
    assert len(heads) == len(d.lifelines)
    conns = sorted({h.get("data-conn") for h in heads if h.get("data-conn") != "-1"})
    assert conns == sorted({str(c.number) for c in d.connections if c.number >= 0})
    words = [t.text for t in root.iter(ns + "text") if "desc" in (t.get("class") or "")]
    assert len(words) == len(display(d)[0])
    assert "<script" not in svg and "href=" not in svg.replace('url(#ah-', '')


def _hostile_trace(tmp_path) -> str:
    """A trace whose bytes and class name try to break out of the markup."""
    evil = b'</script><script>alert(1)</script> & <!-- ]]> "\'<b>'
    events = [
        TraceEvent(0.0, "socket", 3, ("AF_INET", "SOCK_STREAM")),
        TraceEvent(0.0, "connect", 3, (("evil.example", 80),), ("EINPROGRESS",)),
        TraceEvent(0.0, "handle_write", 3, ("E</script>vil",)),
        TraceEvent(0.0, "send", 3, (len(evil),), (len(evil), evil)),
        TraceEvent(0.0, "close", 3),
    ]
    events[1] = TraceEvent(0.0, "connect", 3, (Addr(("evil.example", 80)),),
                           ("EINPROGRESS",))
    path = tmp_path / "evil.trace"
    Trace(events=events, header={"network": "fake"}).save(path)
    return str(path)


def test_markup_in_the_trace_is_escaped(tmp_path):
    path = _hostile_trace(tmp_path)
    trace, d = diagram_of(path)
    svg = render_svg([d])
    ET.fromstring(svg.split("\n", 1)[1])  # well-formed
    assert "<script" not in svg
    page = render_html([d], [path])
    assert page.count("<script") == 2  # the data block and the page's script
    assert "alert(1)</script>" not in page
    block = re.search(r'<script type="application/json" id="data">(.*?)</script>',
                      page, re.S).group(1)
    data = json.loads(block)
    texts = [r[5] for r in data["traces"][0]["rows"]]
    assert any("</script><script>alert(1)" in t for t in texts)


# -- the page's data -----------------------------------------------------------------


def test_the_page_needs_nothing_from_outside(tmp_path):
    trace, d = diagram_of(os.path.join(PYMOTW, "001-http-client.trace"))
    page = render_html([d], ["run"])
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r'\s(src|href)\s*=', page)
    assert not re.search(r"url\((?!#)", page)
    assert "@import" not in page
    block = re.search(r'id="data">(.*?)</script>', page, re.S).group(1)
    data = json.loads(block)["traces"][0]
    assert len(data["rows"]) == len(d.rows) and len(data["arrows"]) == len(d.arrows)
    assert [ln[0] for ln in data["lanes"]] == [ln.name for ln in d.lifelines]
    assert data["mark"] == -1


def test_rendering_is_deterministic_across_hash_seeds(tmp_path):
    path = os.path.join(PYMOTW, "001-echo-server.trace")
    outs = []
    for seed in ("0", "12345"):
        out = tmp_path / ("o%s.html" % seed)
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=ROOT)
        subprocess.run(
            [sys.executable, "-m", "asyncore_sim", "show", path, "-o", str(out)],
            check=True, env=env, capture_output=True, timeout=120,
        )
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


# -- the command ----------------------------------------------------------------------


def run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def test_show_writes_each_format(tmp_path, capsys, monkeypatch):
    path = os.path.join(PYMOTW, "004-http-client.trace")
    status, out, _ = run(capsys, "show", path, "--format", "text")
    assert status == 0 and "conn 1:" in out and "row   iter time" in out
    for suffix, start in ((".html", "<!DOCTYPE html>"), (".svg", "<?xml")):
        target = tmp_path / ("x" + suffix)
        status, out, _ = run(capsys, "show", path, "-o", target)  # from the suffix
        assert status == 0 and str(target) in out
        assert target.read_text(encoding="utf-8").startswith(start)
    monkeypatch.chdir(tmp_path)
    status, out, _ = run(capsys, "show", path)
    assert status == 0 and (tmp_path / "004-http-client.html").is_file()
    status, out, _ = run(capsys, "show", path, "--format", "svg", "-o", "-")
    assert status == 0 and out.startswith("<?xml")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["show", "{tmp}/missing.trace"], "missing.trace: cannot read"),
        (["show", "{tmp}/bad.trace"], "bad.trace:3: "),
        (["show", "{pymotw}/001-loop.scenario"], "not an asyncore-sim trace"),
        (["show", "{pymotw}/001-loop.trace", "-o", "{tmp}/nowhere/x.html"],
         "no such folder"),
        (["show", "{pymotw}/001-loop.trace", "-o", "{tmp}"], "is a folder"),
        (["show", "{tmp}/good.trace", "-o", "{tmp}/good.trace", "--format", "text"],
         "not writing over it"),
        (["show", "{pymotw}/001-loop.trace", "--format", "pdf"], "invalid choice"),
        (["show", "{pymotw}/001-loop.trace", "a", "b"], "unrecognized arguments"),
        (["show"], "required: trace"),
    ],
)
def test_show_reports_bad_input_cleanly(tmp_path, capsys, argv, message):
    (tmp_path / "bad.trace").write_text(
        "# asyncore-sim trace 1\n0.000000 socket 3 AF_INET SOCK_STREAM\n"
        "0.000000 send 3 5 -> 9 \"abc\"\n")
    good = tmp_path / "good.trace"
    with open(os.path.join(PYMOTW, "001-loop.trace"), "rb") as f:
        good.write_bytes(f.read())
    before = good.read_bytes()
    args = [a.format(tmp=tmp_path, pymotw=PYMOTW) for a in argv]
    status, out, err = run(capsys, *args)
    assert status == 2
    assert "asyncore-sim: error: " in err and message in err, err
    assert good.read_bytes() == before


def test_show_of_two_identical_traces_says_so(tmp_path, capsys):
    path = os.path.join(PYMOTW, "001-echo-server.trace")
    status, out, _ = run(capsys, "show", path, path, "--format", "text")
    assert status == 0 and "identical" in out.splitlines()[0]
    assert not [ln for ln in out.splitlines() if ln.startswith(">>")]


def test_show_draws_a_plans_faults_in_words(tmp_path, capsys):
    plan = FaultPlan(sends=(None, 1), reads=(3,), match=Match(side="server"))
    trace, truth = _run(plan, 1)
    path = tmp_path / "run.trace"
    trace.save(path)
    status, out, _ = run(capsys, "show", path, "--format", "text")
    assert status == 0
    faults = [ln for ln in out.splitlines() if "FAULT: " in ln]
    assert len(faults) == len(truth) == 2
    assert any("send #2 (server side) accepts at most 1" in ln for ln in faults)
    assert any("recv #1 (server side) returns at most 3" in ln for ln in faults)
    assert "faults installed: " + "; ".join(plan.describe()) in out
