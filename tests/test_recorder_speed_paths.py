"""The recorder's speed paths (issue 17 item 2) record and write what the
general paths do: the answers the core's recording step puts itself (next
to ``rec.callback``), the arguments a wait or a plain send/recv shares with
the last one, flat send/recv records, and the cache of escaped payloads
seen further back."""

from hypothesis import given, settings, strategies as st

import asyncore_sim as asyncore
from asyncore_sim.trace import Recorder, TraceEvent, format_value
from asyncore_sim.trace import _records
from asyncore_sim.trace._recorder import TracingSocket
from fake_net import PartialSend
from recorded_echo import echo, quiet_net as _net


# -- the answers the core records itself --------------------------------------

_ODD_NAMES = ['we "ird\\ name', "tab\there", "\u00e9cho", "x" * 70, "Echo"]


def _echo_run(rec, name, answers, rounds=12, method="select"):
    """An echo with a handler class called ``name`` whose readable() and
    writable() answer with non-bools; a second map entry without a
    ``_fileno``; ``answers`` False makes the core call rec.callback."""

    def readable(self):
        return [1] if self.ok else ""

    def writable(self):
        return len(self.out_buffer)

    def handle_read(self):
        self.send(self.recv(7))

    handler = type(name, (asyncore.dispatcher_with_send,), {
        "ok": True, "readable": readable, "writable": writable,
        "handle_read": handle_read})

    class Bare:  # a map entry that is no dispatcher (no _fileno)
        accepting = False

        def readable(self):
            return False

        def writable(self):
            return 0

    if not answers:
        rec._answers = None
    return echo(rec, handler, rounds, b"ping\x00 %d\n", b'ping "%d"\\\n\x7f',
                method=method, passes=12, extra={10_000: Bare()})


def test_the_core_records_the_answers_as_rec_callback_does():
    for name in _ODD_NAMES:
        for method in ("select", "poll"):
            fast = _echo_run(Recorder(_net(faults=[PartialSend(max_bytes=5)])),
                             name, True, method=method)
            slow = _echo_run(Recorder(_net(faults=[PartialSend(max_bytes=5)])),
                             name, False, method=method)
            written = fast.dumps()  # from the records, before events are built
            text = fast.trace.dumps()
            assert text == slow.trace.dumps() == written
            assert format_value(name) in text
            assert "readable - Bare -> False" in text
            kinds = [e.kind for e in fast.trace.events]
            assert kinds.count("readable") == kinds.count("writable") > 20


def test_answers_are_bools_in_the_records_and_the_events():
    rec = _echo_run(Recorder(_net()), "Echo", True)
    answers = [e for e in rec.trace.events if e.kind in ("readable", "writable")]
    assert answers and all(type(e.result[0]) is bool for e in answers)


# -- shared arguments keep their values' types ---------------------------------


def test_a_wait_records_each_timeout_as_given():
    timeouts = [1, 1.0, 1, 0.0, 0, 2.5, 2.5, 1.0]
    rec = Recorder(_net())
    with rec:
        m = rec.map()
        server = asyncore.dispatcher(map=m)
        server.create_socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        for t in timeouts:
            asyncore.loop(timeout=t, map=m, count=1)
        asyncore.close_all(map=m)
    waits = [e for e in rec.trace.events if e.kind == "wait"]
    assert [(type(e.args[1]), e.args[1]) for e in waits] == [
        (type(t), t) for t in timeouts]
    lines = [e.line().split(" wait - ")[1].split(" ")[1] for e in waits]
    assert lines == [repr(t) for t in timeouts]


def test_plain_sizes_keep_their_type():
    rec = Recorder(_net())
    with rec:
        a, b = rec.socketpair()
        a.send(b"abcdef")
        assert b.recv(1) == b"a"
        assert b.recv(True) == b"b"
        assert b.recv(2) == b"cd"
        a.close()
        b.close()
    recvs = [e for e in rec.trace.events if e.kind == "recv"]
    assert [(type(e.args[0]), e.args[0]) for e in recvs] == [
        (int, 1), (bool, True), (int, 2)]
    assert " recv 4 True -> " in rec.dumps()


# -- flat send and recv records -------------------------------------------------------


class _OddSocket:
    """A socket whose send() answers with something that is not the count
    of the bytes it took (a bool; more than it was given)."""

    def __init__(self, answers):
        self.answers = list(answers)

    def fileno(self):
        return 42

    def send(self, data, flags=0):
        return self.answers.pop(0)

    def recv(self, n, flags=0):
        return bytearray(b"xy")


def test_a_send_whose_answer_is_not_its_length_is_recorded_as_given():
    rec = Recorder(_net())
    s = TracingSocket(rec, _OddSocket([True, 9, 2]))
    s.send(b"abc")
    s.send(b"abc")
    s.send(b"abc")
    assert s.recv(5) == b"xy"
    events = [e for e in rec.trace.events if e.kind in ("send", "recv")]
    assert [e.result for e in events] == [
        (True, b"a"), (9, b"abc"), (2, b"ab"), (b"xy",)]
    assert type(events[0].result[0]) is bool
    assert type(events[3].result[0]) is bytes
    assert rec.dumps() == rec.trace.dumps()
    assert "".join(e.line() + "\n" for e in events) in rec.dumps()


_payload = st.binary(min_size=0, max_size=200) | st.text(
    alphabet=st.sampled_from(list("ab \\\"'\t\n\r~") + ["\x00", "\x7f", "\x1b"]),
    min_size=60, max_size=400,
).map(lambda s: s.encode("latin-1"))


def _traffic_run(rec, payloads, chunk):
    """Each payload sent in chunks over a socketpair and received; returns
    the send and recv events expected, built from what the calls did."""
    expected = []
    with rec:
        a, b = rec.socketpair()
        for p in payloads + payloads[::-1]:
            view = memoryview(p)
            while view:
                piece = view[:chunk]
                n = a.send(piece)
                expected.append(("send", 3, (len(piece),), (n, bytes(view[:n]))))
                view = view[n:]
                got = b.recv(chunk)
                expected.append(("recv", 4, (chunk,), (got,)))
        a.close()
        b.close()
    return expected


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(payloads=st.lists(_payload, min_size=1, max_size=12), chunk=st.integers(1, 64))
def test_flat_records_write_the_lines_of_their_events(
    tmp_path_factory, payloads, chunk
):
    rec = Recorder(_net())
    expected = _traffic_run(rec, payloads, chunk)
    text = rec.trace.dumps()
    assert rec.dumps() == text
    lines = [e.line() for e in _traffic_events(expected, 0.0)]
    assert [ln for ln in text.splitlines() if " send " in ln or " recv " in ln] == lines
    bounded = Recorder(_net(), keep=7)
    _traffic_run(bounded, payloads, chunk)
    assert [e.line() for e in bounded.kept.events] == [
        e.line() for e in rec.trace.events][-7:]
    path = tmp_path_factory.mktemp("flat") / "run.trace"
    _traffic_run(Recorder(_net(), stream=path), payloads, chunk)
    assert path.read_text() == text


def _traffic_events(expected, t):
    return [TraceEvent(t, kind, fd, args, res) for kind, fd, args, res in expected]


# -- escaped payloads seen further back -----------------------------------------------

_body = st.binary(min_size=0, max_size=300)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(_body, st.binary(min_size=0, max_size=3)), min_size=1,
                max_size=30), st.randoms(use_true_random=False))
def test_payloads_seen_again_escape_as_format_value(parts, rnd):
    # Payloads of one length with the same 32-byte ends and other middles
    # (they share a key), repeated, in an order drawn.
    ends = b"E" * 32
    payloads = []
    for body, mid in parts:
        p = ends + body + mid + ends
        payloads.append(p)
        payloads.append(ends + body + bytes(len(mid)) + ends)
    for _ in range(3):
        rnd.shuffle(payloads)
        for p in payloads:
            same = bytes(bytearray(p))  # an equal payload, another object
            assert _records._escaped(p) == format_value(p)[1:-1].encode("ascii")
            assert _records._escaped(same) == format_value(p)[1:-1].encode("ascii")


def test_the_cache_of_seen_payloads_is_bounded(monkeypatch):
    monkeypatch.setattr(_records, "_SEEN_BYTES", 10_000)
    for i in range(200):
        p = b"%05d" % i + b"z" * 995
        assert _records._escaped(p) == format_value(p)[1:-1].encode("ascii")
        assert _records._seen_size[0] <= 10_000
        assert sum(len(v) for v, _ in _records._seen.values()) <= 10_000


# -- the recording step's interest masks -------------------------------------------


class _Spy:
    """A poller that remembers the masks it is asked to wait on."""

    def __init__(self, inner, seen):
        self.inner, self.seen = inner, seen

    def wait(self, fds, masks, changed, reset, timeout):
        self.seen.append(list(masks))
        return self.inner.wait(fds, masks, changed, reset, timeout)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _masks_of_one_pass(method, answers, traced):
    net = _net()
    seen = []
    real_poller = net.poller
    net.poller = lambda m: _Spy(real_poller(m), seen)
    rec = Recorder(net) if traced else None
    if rec is not None:
        rec.start()
    try:
        m = rec.map() if rec is not None else net.map()
        for r, w, acc in answers:
            cls = type("D", (asyncore.dispatcher,), {
                "readable": lambda self, r=r: r, "writable": lambda self, w=w: w})
            d = cls(map=m)
            d.create_socket()
            d.accepting = acc
        asyncore.loop(timeout=0.01, use_poll=method, map=m, count=1)
        asyncore.close_all(map=m)
    finally:
        if rec is not None:
            rec.stop()
    return seen


def test_the_recording_step_asks_for_the_masks_of_the_plain_step():
    combos = [(r, w, acc) for r in (True, False, [], [0])
              for w in (True, False, 0, "x") for acc in (True, False)]
    for method in ("select", "poll"):
        plain = _masks_of_one_pass(method, combos, traced=False)
        traced = _masks_of_one_pass(method, combos, traced=True)
        assert traced == plain and len(plain[0]) == len(combos)
        assert len(set(plain[0])) >= 3


# -- whole callback lines, while time stands still and while it moves ---------


def test_callback_lines_are_written_alike_whether_time_moves_or_not(tmp_path):
    from fake_net import Cost

    for cost in (None, Cost(wait=3e-6, send=1e-6, recv=2e-6)):
        def net(cost=cost):
            return _net(faults=[PartialSend(max_bytes=5)], cost=cost)

        rec = _echo_run(Recorder(net()), "Echo", True, rounds=20)
        written = rec.dumps()  # from the records (before rec.trace builds events)
        again = rec.dumps()
        text = rec.trace.dumps()  # TraceEvent.line, the general spelling
        assert written == again == text
        waits = [e.time for e in rec.trace.events if e.kind == "wait"]
        still = sum(a == b for a, b in zip(waits, waits[1:]))  # time stood still
        assert (still > 5) == (cost is None) and (still == 0) == (cost is not None)
        path = tmp_path / "run.trace"
        _echo_run(Recorder(net(), stream=path), "Echo", True, rounds=20)
        assert path.read_text() == text
