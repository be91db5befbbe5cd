"""The recorder's cheaper paths write what the slow ones write: the text
escape of payloads, the cached heads of send and recv lines, and the pieces
a stream or save() writes; and readable()/writable() answers stay in their
exact place when writable() itself records something."""

import io

from hypothesis import given, settings, strategies as st

import asyncore_sim as asyncore
from asyncore_sim.trace import Recorder, TraceEvent, format_value
from asyncore_sim.trace import _records
from fake_net import PartialSend
from recorded_echo import echo, quiet_net as _net


# -- escaping ------------------------------------------------------------------------

_texty = st.binary(max_size=300) | st.text(
    alphabet=st.sampled_from(list("ab \\\"'\t\n\r~") + ["\x00", "\x7f", "\x1f"]),
    max_size=300,
).map(lambda s: s.encode("latin-1"))


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(_texty)
def test_the_text_escape_is_format_values(data):
    assert '"%s"' % _records.escape_bytes(data) == format_value(data)
    assert _records._escape_b(data) == format_value(data)[1:-1].encode("ascii")


def test_text_payloads_take_the_text_path_and_binary_ones_escape_encode(monkeypatch):
    calls = []
    real = _records._encode_escape
    monkeypatch.setattr(
        _records, "_encode_escape", lambda d: calls.append(d) or real(d)
    )
    text = b'GET / HTTP/1.0\r\n\t"quoted" \\ it\'s\n' * 10
    assert _records._c_escape(text) == format_value(text)[1:-1]
    assert calls == []
    binary = text + b"\x01"
    assert _records._c_escape(binary) == format_value(binary)[1:-1]
    assert calls == [binary]


# -- send and recv lines -------------------------------------------------------------

_value = st.one_of(
    st.integers(-3, 70000), st.booleans(), st.just(1.0), st.binary(max_size=80),
    st.sampled_from(["MSG_OOB", "x"]),
)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(
    st.sampled_from(["send", "recv", "sendto"]),
    st.integers(-1, 6) | st.just(True),
    st.lists(_value, min_size=0, max_size=2).map(tuple),
    st.one_of(st.none(), st.lists(_value, min_size=1, max_size=2).map(tuple)),
), max_size=20))
def test_send_and_recv_lines_are_the_lines_of_trace_events(records):
    raws = [(0.5, kind, fd, args, result) for kind, fd, args, result in records]
    text = _records.raw_text(raws) + _records.raw_text(raws)  # caches read too
    lines = "".join(TraceEvent(*r).line() + "\n" for r in raws)
    assert text == lines * 2


# -- one record for readable() and writable() ------------------------------------------


class _Chatty(asyncore.dispatcher):
    """writable() looks up its own address every other time: a recorded
    getsockname between the two answers."""

    passes = 0

    def readable(self):
        return True

    def writable(self):
        self.passes += 1
        if self.passes % 2:
            self.socket.getsockname()
        return False


def _chatty_run(**rec_kw):
    net = _net()
    rec = Recorder(net, **rec_kw)
    with rec:
        m = rec.map()
        d = _Chatty(map=m)
        d.create_socket()
        d.bind(("127.0.0.1", 0))
        d.listen(1)
        asyncore.loop(timeout=0.01, map=m, count=4)
    return rec


def test_answers_are_reported_in_place_when_writable_records_something():
    events = _chatty_run().trace.events
    passes = [k for k, e in enumerate(events) if e.kind == "readable"]
    assert len(passes) == 4
    for n, k in enumerate(passes, 1):
        kinds = [e.kind for e in events[k : k + 3]]
        if n % 2:
            assert kinds == ["readable", "getsockname", "writable"]
        else:
            assert kinds == ["readable", "writable", "wait"]
        assert events[k].result == (True,)
        w = k + 2 if n % 2 else k + 1
        assert events[k].fd == events[w].fd >= 3 and events[w].result == (False,)


def test_each_pass_counts_readable_then_writable_in_the_trace_and_the_text():
    rec = Recorder(_net())
    with rec:
        m = rec.map()
        server = asyncore.dispatcher(map=m)
        server.create_socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        asyncore.loop(timeout=0.01, map=m, count=3)
        assert rec.count == len(rec._pending)
        events = rec.trace.events
    kinds = [e.kind for e in events]
    assert kinds.count("readable") == kinds.count("writable") == 3
    assert rec.count == len(events)
    assert rec.dumps() == rec.trace.dumps()
    for k, e in enumerate(events):
        if e.kind == "readable":
            assert events[k + 1].kind == "writable"
            assert events[k + 1].time == e.time and events[k + 1].fd == e.fd


class _Echo(asyncore.dispatcher_with_send):
    def handle_read(self):
        self.send(self.recv(100))


def _pingpong(rec, rounds=30):
    """An echo of ``rounds`` round trips on ``rec`` (sends cut short)."""
    return echo(rec, _Echo, rounds, b"ping %d\n", b'ping "%d"\\\n')


def test_kept_bounded_and_streamed_recordings_agree_event_for_event(tmp_path):
    whole = _pingpong(Recorder(_net(faults=[PartialSend(max_bytes=5)])))
    text = whole.trace.dumps()
    events = whole.trace.events
    assert rec_kinds_ok(events)
    bounded = _pingpong(Recorder(_net(faults=[PartialSend(max_bytes=5)]), keep=101))
    assert bounded.count == len(events)
    assert bounded.dropped == len(events) - 101
    assert [e.line() for e in bounded.kept.events] == [e.line() for e in events[-101:]]
    path = tmp_path / "streamed.trace"
    streamed = _pingpong(Recorder(_net(faults=[PartialSend(max_bytes=5)]), stream=path))
    assert path.read_text() == text
    assert streamed.count == len(events)
    buf = io.StringIO()
    _pingpong(Recorder(_net(faults=[PartialSend(max_bytes=5)]), stream=buf))
    assert buf.getvalue() == text
    saved = tmp_path / "saved.trace"
    whole.save(saved)
    assert saved.read_bytes() == text.encode("ascii")


def rec_kinds_ok(events):
    """Every readable event is followed, on the same descriptor, by its
    writable one or by what writable() recorded."""
    kinds = [e.kind for e in events]
    return kinds.count("readable") == kinds.count("writable") > 0 and "send" in kinds
