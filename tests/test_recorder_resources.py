"""The Recorder's resources: descriptor numbering that scales, events built
only when read, traces written fast and byte for byte as before, streaming
and bounded recordings in constant memory, and what a bounded one says."""

import glob
import io
import itertools
import os
import runpy
import time
import tracemalloc

import pytest
from hypothesis import given, settings, strategies as st

import asyncore_sim as asyncore
from asyncore_sim.__main__ import main
from asyncore_sim.trace import Err, Recorder, Trace, TraceEvent, readiness_text
from asyncore_sim.trace import _records
from asyncore_sim.trace._format import program_path
from asyncore_sim.trace._recorder import IncompleteTrace
from asyncore_sim.trace._values import Addr
from asyncore_sim.trace.scenario import load_scenario, run_scenario
from fake_net import FakeNetwork, PartialSend, PeerReset, ShortRead

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ECHO = os.path.join(HERE, "data", "echo_program.py")
SCENARIOS = sorted(glob.glob(os.path.join(ROOT, "traces", "pymotw", "*.scenario")))


def _net(**kw):
    return FakeNetwork(world=False, record=False, max_steps=1 << 40, **kw)


# -- descriptor numbering --------------------------------------------------------------


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 30)), max_size=80))
def test_trace_descriptors_are_the_lowest_free_from_3(ops):
    """Against the rule itself: the lowest number from 3 not in use."""
    rec = Recorder(_net())
    used = {}  # network fd -> trace fd
    for opening, fd in ops:
        if opening:
            if fd not in used:
                used[fd] = next(n for n in itertools.count(3) if n not in used.values())
            assert rec.tfd(fd) == used[fd]
        else:
            assert rec._close_fd(fd) == used.pop(fd, -1)


def test_a_thousand_traced_socketpairs_take_no_longer_than_untraced_ones_much():
    """The numbering scanned its whole list for every candidate (1,000
    pairs: about 14 s); now it is a heap."""
    n = 3000
    net = _net()
    rec = Recorder(net)
    t0 = time.perf_counter()
    pairs = [rec.socketpair() for _ in range(n)]
    elapsed = time.perf_counter() - t0
    assert [p[0]._tfd for p in pairs[:2]] == [3, 5]
    assert pairs[-1][1]._tfd == 2 * n + 2
    for a, _ in pairs[::2]:
        a.close()
    assert rec.socketpair()[0]._tfd == 3  # the lowest closed number comes back
    assert elapsed < 5.0, "%d traced socketpairs took %.1f s" % (n, elapsed)


# -- events are built when read --------------------------------------------------------


def _echo(rec_kw=None, faults=(), seed=3, message=b"hello, traced world\n\x00\xff"):
    """The echo program on a fresh fake network under Recorder(**rec_kw)."""
    mod = runpy.run_path(ECHO)
    rec = Recorder(FakeNetwork(seed=seed, faults=list(faults)), **(rec_kw or {}))
    with rec:
        server = mod["Server"]()
        mod["Client"](server.socket.getsockname(), message)
        asyncore.loop(timeout=5)
        asyncore.close_all()
    return rec


FAULTY = [
    PartialSend(max_bytes=2, times=5),
    ShortRead(probability=0.5),
    PeerReset(after_bytes=30),
]


def test_no_trace_event_is_built_until_the_trace_is_read(monkeypatch):
    built = []

    class Counting(TraceEvent):
        def __init__(self, *a, **kw):
            built.append(1)
            super().__init__(*a, **kw)

    monkeypatch.setattr(_records, "TraceEvent", Counting)
    rec = _echo()
    assert rec.count > 50 and built == []
    events = rec.events
    assert len(built) == rec.count == len(events)
    assert events is rec.trace.events  # one list, brought up to date when read


# -- the text: byte for byte -----------------------------------------------------------


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False),
    st.binary(max_size=300),
    st.text(max_size=30),
    st.sampled_from(["0", "1", "True", "None", "3:rx,4:w", "SOL_SOCKET", "a b"]),
    st.builds(Err, st.sampled_from(["EAGAIN", "ECONNRESET", "timeout"])),
    st.builds(
        lambda h, p: Addr((h, p)),
        st.sampled_from(["127.0.0.1", "::1"]),
        st.integers(0, 65535),
    ),
)
_record = st.tuples(
    st.floats(0, 1e6, allow_nan=False),
    st.sampled_from(["send", "recv", "wait", "bind", "getsockopt", "readable",
                     "handle_read", "x"]),
    st.integers(-1, 2000),
    st.lists(_values, max_size=4).map(tuple),
    st.one_of(st.none(), st.lists(_values, max_size=3).map(tuple)),
)


class Handler:
    pass


class EchoClient:
    pass


_tricky = st.sampled_from([0, 0.0, -0.0, 1, 1.0, True, False, None, "1", "0"])
_wait = st.tuples(
    st.floats(0, 1e6, allow_nan=False),
    st.just("wait"),
    st.just(-1),
    st.tuples(
        st.sampled_from(["select", "poll", "epoll"]),
        st.sampled_from([None, 0, 0.0, -0.0, 1, 1.0, 30.0, 2**53, True]),
        st.sampled_from(["0", "3:rx", "3:rx,4:w"]),
    ),
    st.tuples(
        st.one_of(st.sampled_from(["0", "3:r"]), st.builds(Err, st.just("EINTR")))
    ),
)
_mixed = st.tuples(
    st.just(0.0),
    st.sampled_from(["setsockopt", "sleep", "wait"]),
    st.integers(-1, 4),
    st.lists(_tricky, max_size=3).map(tuple),
    st.one_of(st.none(), st.lists(_tricky, max_size=2).map(tuple)),
)

_callback = st.tuples(
    st.floats(0, 1e6, allow_nan=False),
    st.sampled_from(["readable", "writable", "handle_read", "handle_close"]),
    st.integers(-1, 20),
    st.sampled_from([Handler, EchoClient]),
    st.booleans(),
)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(st.one_of(_record, _callback, _wait, _mixed), max_size=30))
def test_fast_lines_are_the_lines_of_trace_events(raws):
    """raw_text() (caches and all) writes what TraceEvent.line() writes,
    whatever the values: 1, 1.0 and True, or 'EAGAIN' and !EAGAIN, never
    share a cached text."""
    # The same records twice over, so that the second pass reads the caches.
    text = _records.raw_text(raws) + _records.raw_text(raws)
    lines = [_records._event(r).line() + "\n" for r in raws]
    assert text == "".join(lines) * 2


def test_fast_escape_is_format_values_on_every_byte():
    from asyncore_sim.trace import format_value

    assert _records.escape_bytes is _records._c_escape  # (on CPython)
    for data in (bytes(range(256)), b"\\'\"\\\\''", bytes(range(256))[::-1] * 20):
        assert '"%s"' % _records.escape_bytes(data) == format_value(data)


@pytest.mark.parametrize("faults", [(), FAULTY], ids=["clean", "faulty"])
def test_dumps_and_stream_are_the_traces_own_text(tmp_path, faults):
    kept = _echo(faults=faults)
    text = kept.trace.dumps()
    assert kept.dumps() == text
    kept.save(tmp_path / "saved.trace")
    assert (tmp_path / "saved.trace").read_text() == text
    streamed = _echo({"stream": tmp_path / "streamed.trace"}, faults=faults)
    assert (tmp_path / "streamed.trace").read_text() == text
    assert streamed.count == kept.count and streamed.dropped == kept.count
    buf = io.StringIO()
    _echo({"stream": buf}, faults=faults)
    assert buf.getvalue() == text and not buf.closed


@pytest.mark.parametrize("path", SCENARIOS, ids=os.path.basename)
def test_streamed_documented_runs_are_their_golden_files(path, tmp_path, monkeypatch):
    """The goldens under traces/ are the judges of the text, byte for byte."""
    import asyncore_sim.trace.scenario as scenario_mod

    out = str(tmp_path / "run.trace")

    class Streaming(Recorder):
        def __init__(self, network, header=None):
            super().__init__(network, header, stream=out)

        @property
        def trace(self):
            return Trace.load(out)

    monkeypatch.setattr(scenario_mod, "Recorder", Streaming)
    scn = load_scenario(path)
    res = run_scenario(scn)
    assert res.error is None
    with open(scn.resolve(scn.trace), encoding="ascii", newline="") as f:
        golden = f.read()
    with open(out, encoding="ascii", newline="") as f:
        assert f.read() == golden


# -- readiness caches ------------------------------------------------------------------


def test_a_network_descriptor_renumbered_is_not_written_by_its_old_number():
    net = _net(idle_limit=1 << 40)
    rec = Recorder(net)
    poller = rec.poller("poll")
    p = rec.socketpair()  # network 3, 4: trace 3, 4
    q = rec.socketpair()  # network 5, 6: trace 5, 6
    poller.wait([q[0].fileno()], [4], True, [], 0.0)
    assert rec.events[-1].args[2] == "5:w"
    p[0].close()  # frees network 3 and trace 3
    q[0].close()  # frees network 5 and trace 5
    other = net.socket()  # behind the recorder's back: network 3
    again = rec.socket()  # network 5, now trace 3
    assert (other.fileno(), again.fileno(), again._tfd) == (3, 5, 3)
    poller.wait([again.fileno()], [4], True, [], 0.0)
    assert rec.events[-1].args[2] == "3:w"


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["open", "close", "wait", "raw open", "raw close"]),
            st.integers(0, 5),
            st.integers(0, 7),
        ),
        max_size=40,
    )
)
def test_cached_readiness_texts_follow_the_numbering(ops):
    """Each wait's interest and answer as the recorder wrote them, against
    the texts made afresh from the numbering of that moment (sockets made
    behind the recorder's back take network descriptors it never sees, so
    one network descriptor comes to stand for another trace number)."""
    net = _net(idle_limit=1 << 40)
    rec = Recorder(net)
    poller = rec.poller("poll")
    socks, raw = [], []
    last = None
    for op, i, mask in ops:
        if op == "open":
            socks.append(rec.socketpair())
        elif op == "raw open":
            raw.append(net.socketpair())
        elif op == "close" and socks:
            socks.pop(i % len(socks))[0].close()
        elif op == "raw close" and raw:
            for s in raw.pop(i % len(raw)):
                s.close()
        elif op == "wait" and socks:
            fds = [s.fileno() for pair in socks for s in pair if s._fd >= 0][: i + 1]
            masks = [(mask >> k) % 2 * 5 or 1 for k in range(len(fds))]
            interest = readiness_text((rec.tfd(fd), m) for fd, m in zip(fds, masks))
            answer = poller.wait(fds, masks, (fds, masks) != last, [], 0.0)
            last = (fds, masks)
            in_order = sorted(answer, key=lambda e: fds.index(e[0]))
            ready = readiness_text((rec.tfd(fd), m) for fd, m in in_order)
            ev = rec.events[-1]
            assert ev.args[2] == interest and ev.result == (ready,)
        if op != "wait":
            last = None  # another map: the core passes changed=True


# -- constant memory -------------------------------------------------------------------


def _held_after(rounds, **kw):
    """Bytes newly held after ``rounds`` echo round trips of 4 KiB, each a
    new message, under Recorder(**kw) (recorder still alive)."""
    net = _net()
    rec = Recorder(net, **kw)
    messages = [os.urandom(4096) for _ in range(8)]
    with rec:
        a, b = rec.socketpair()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for i in range(rounds):
                a.send(bytes(bytearray(messages[i % 8])))  # a new object each time
                b.send(b.recv(65536))
                a.recv(65536)
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    return after - before, rec


def test_bounded_and_streamed_recordings_hold_constant_memory(tmp_path):
    kept, _ = _held_after(600)
    assert kept > 600 * 4096  # the control: the default keeps every byte
    bounded_small, _ = _held_after(200, keep=100)
    bounded_big, rec = _held_after(1200, keep=100)
    assert bounded_big - bounded_small < 200_000, (bounded_small, bounded_big)
    assert rec.dropped == rec.count - 100 > 0
    streamed_small, _ = _held_after(200, stream=tmp_path / "a.trace")
    streamed_big, rec = _held_after(1200, stream=tmp_path / "b.trace")
    assert streamed_big - streamed_small < 200_000, (streamed_small, streamed_big)
    assert len(Trace.load(tmp_path / "b.trace").events) == rec.count


# -- what a bounded or streamed recording says -----------------------------------------


def test_a_bounded_recording_says_what_it_dropped():
    full = _echo()
    n = full.count
    whole = _echo({"keep": n})
    assert whole.dropped == 0 and whole.trace.dumps() == full.trace.dumps()
    part = _echo({"keep": 10})
    assert (part.count, part.dropped) == (n, n - 10)
    with pytest.raises(IncompleteTrace) as info:
        part.trace
    assert "keeps only the last 10 events" in str(info.value)
    assert "%d of the %d recorded were dropped" % (n - 10, n) in str(info.value)
    with pytest.raises(IncompleteTrace):
        part.events
    with pytest.raises(IncompleteTrace):
        part.dumps()
    kept = part.kept
    assert kept.events == full.trace.events[-10:]
    assert kept.header["dropped"] == "%d events before these (Recorder keep=10)" % (
        n - 10
    )
    assert Trace.loads(kept.dumps()).header["dropped"] == kept.header["dropped"]


def test_a_streamed_recording_says_where_its_events_are(tmp_path):
    path = tmp_path / "s.trace"
    rec = _echo({"stream": path})
    with pytest.raises(IncompleteTrace) as info:
        rec.trace
    assert str(path) in str(info.value) and "Trace.load" in str(info.value)
    with pytest.raises(IncompleteTrace):
        rec.kept
    both = _echo({"stream": tmp_path / "t.trace", "keep": 5})
    assert both.kept.events == Trace.load(tmp_path / "t.trace").events[-5:]


def test_a_stream_is_complete_when_the_recording_stops(tmp_path):
    path = tmp_path / "s.trace"
    rec = Recorder(_net(), header={"test": "t"}, stream=path)
    assert path.read_text() == "# asyncore-sim trace 1\n# test: t\n# network: fake\n"
    a, b = rec.socketpair()  # before start(): written at once
    assert path.read_text().endswith(" socketpair 3 -> 4\n")
    with rec:
        a.send(b"x")
        assert rec._stream.file is not None  # open while active, batched
    assert path.read_text().endswith(' send 3 1 -> 1 "x"\n')
    assert rec._stream.file is None  # closed when the recording stops
    b.close()  # after stop(): appended at once
    assert path.read_text().endswith(" close 4\n")
    assert len(Trace.load(path).events) == rec.count == 3


def test_bad_options_are_refused_at_once(tmp_path):
    with pytest.raises(ValueError, match="keep=0"):
        Recorder(_net(), keep=0)
    with pytest.raises(ValueError, match="keep=True"):
        Recorder(_net(), keep=True)
    with pytest.raises(TypeError, match="a path or an open text file"):
        Recorder(_net(), stream=42)
    with pytest.raises(TypeError, match="a text file"):
        Recorder(_net(), stream=io.BytesIO())
    with pytest.raises(ValueError, match="printable ASCII"):
        Recorder(_net(), header={"x": "caf\u00e9"}, stream=tmp_path / "x.trace")
    with pytest.raises(OSError):
        Recorder(_net(), stream=tmp_path / "no" / "such" / "dir.trace")


# -- nothing in a trace depends on the machine -----------------------------------------


def test_record_writes_the_program_relative_to_the_trace(tmp_path, capsys):
    out = tmp_path / "deep" / "x.trace"
    out.parent.mkdir()
    assert main(["record", "--network", "fake", "-o", str(out), ECHO]) == 0
    text = out.read_text()
    header = Trace.load(out).header["program"]
    assert not os.path.isabs(header) and "\\" not in header
    assert program_path(str(out), header) == os.path.normpath(ECHO)
    assert str(tmp_path) not in text
    values = [line.split(": ", 1)[-1] for line in text.splitlines()]
    assert not any(v.startswith("/") for v in values)
