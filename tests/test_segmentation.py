"""Tests of asyncore_sim.testing.segmentation: the segmentation-invariance checker."""

from __future__ import annotations

import attrs
import pytest

import asyncore_sim
from asyncore_sim.testing.segmentation import (
    Outcome,
    SegmentationError,
    SegmentationMismatch,
    TerminatorCall,
    check_segmentation,
)

CRLF = b"\r\n"
LINES = b"HELO alice\r\nMAIL FROM:<a@b.example>\r\nQUIT\r\n"


class LineChat(asyncore_sim.async_chat):
    """A correct async_chat line parser."""

    def __init__(self, sock, map):
        asyncore_sim.async_chat.__init__(self, sock, map=map)
        self.set_terminator(CRLF)
        self.buf = []
        self.lines = []

    def collect_incoming_data(self, data):
        self.buf.append(data)

    def found_terminator(self):
        self.lines.append(b"".join(self.buf))
        self.buf = []


class ChunkAsLine(LineChat):
    """Broken: takes every collect_incoming_data() chunk for a whole line."""

    def collect_incoming_data(self, data):
        self.lines.append(data)

    def found_terminator(self):
        pass


class SplitPerRead(LineChat):
    """Broken: a "fast" handle_read that splits each read on the terminator,
    so a terminator cut in two is never seen."""

    def handle_read(self):
        data = self.recv(self.ac_in_buffer_size)
        *lines, rest = data.split(CRLF)
        for line in lines:
            self.collect_incoming_data(line)
            self.found_terminator()
        if rest:
            self.collect_incoming_data(rest)


class FramedChat(asyncore_sim.async_chat):
    """Lines, except that ``LEN n`` announces an n-byte body (an int
    terminator), after which lines resume."""

    def __init__(self, sock, map):
        asyncore_sim.async_chat.__init__(self, sock, map=map)
        self.set_terminator(CRLF)
        self.buf = []
        self.items = []

    def collect_incoming_data(self, data):
        self.buf.append(data)

    def found_terminator(self):
        data = b"".join(self.buf)
        self.buf = []
        if isinstance(self.get_terminator(), int):
            self.items.append(("body", data))
            self.set_terminator(CRLF)
        elif data.startswith(b"LEN "):
            self.items.append(("len", data))
            self.set_terminator(int(data[4:]))
        else:
            self.items.append(("line", data))


FRAMED = b"HELO\r\nLEN 5\r\nab\r\nc\r\nNEXT\r\nLEN 3\r\nxyzBYE\r\n"


class SmallBufferChat(LineChat):
    ac_in_buffer_size = 512


def long_stream(lines=400):
    return b"".join(b"line %d %s\r\n" % (i, b"x" * (i % 37)) for i in range(lines))


class LineDispatcher(asyncore_sim.dispatcher):
    """A correct line parser on a plain dispatcher (it keeps partial lines)."""

    def __init__(self, sock, map):
        asyncore_sim.dispatcher.__init__(self, sock, map=map)
        self.pending = b""
        self.lines = []

    def writable(self):
        return False

    def handle_read(self):
        self.pending += self.recv(16)
        *lines, self.pending = self.pending.split(CRLF)
        self.lines.extend(lines)

    def handle_close(self):
        self.lines.append(("eof", self.pending))
        self.close()


# ---------------------------------------------------------------------------
# correct parsers pass, with the coverage the report claims
# ---------------------------------------------------------------------------


def test_line_chat_passes_every_split():
    report = check_segmentation(LineChat, LINES)
    n = len(LINES)
    assert report.exhaustive
    assert report.stream_length == n
    # Every single cut, each once, simplest first...
    singles = [p for p in report.plans if len(p) == 1]
    assert singles == [(i,) for i in range(1, n)]
    assert report.plans[: n - 1] == tuple(singles)
    assert report.single_cut_plans == n - 1
    # ...then multi-cut plans, ending with one byte at a time.
    assert report.plans_run > n - 1
    assert report.plans[-1] == tuple(range(1, n))
    assert report.split_points == frozenset(range(1, n))
    assert len(set(report.plans)) == report.plans_run
    # The reference run parsed what the stream holds.
    assert report.reference.calls == (
        TerminatorCall(CRLF, b"HELO alice"),
        TerminatorCall(CRLF, b"MAIL FROM:<a@b.example>"),
        TerminatorCall(CRLF, b"QUIT"),
    )
    assert report.reference.trailing == b""
    # The cuts around each terminator were targeted: 10 is just before the
    # first, 11 inside it, 12 and 13 after it.
    assert {9, 10, 11, 12, 13} <= report.targeted
    assert report.buffer_size == LineChat.ac_in_buffer_size


def test_trailing_partial_line_is_compared_too():
    report = check_segmentation(LineChat, LINES + b"RSET\r")
    assert report.reference.trailing == b"RSET"
    assert len(report.reference.calls) == 3


def test_changing_terminators_pass_and_bodies_are_targeted():
    report = check_segmentation(FramedChat, FRAMED)
    calls = report.reference.calls
    assert [c.terminator for c in calls] == [CRLF, CRLF, 5, CRLF, CRLF, CRLF, 3, CRLF]
    assert [c.data for c in calls] == [
        b"HELO",
        b"LEN 5",
        b"ab\r\nc",  # a counted body may hold the line terminator
        b"",
        b"NEXT",
        b"LEN 3",
        b"xyz",
        b"BYE",
    ]
    assert report.reference.trailing == b""
    # The 5-byte body is FRAMED[13:18]; its edges were targeted.
    body = FRAMED.index(b"ab\r\nc")
    assert {body - 1, body, body + 1, body + 4, body + 5, body + 6} <= report.targeted
    assert report.exhaustive


def test_changing_terminators_catch_a_parser_that_forgets_the_count():
    class Forgetful(FramedChat):
        """Broken: reads the body from whatever the current read holds."""

        def found_terminator(self):
            super().found_terminator()
            term = self.get_terminator()
            if isinstance(term, int) and 0 < len(self.ac_in_buffer) < term:
                # "Not all here yet? Then take what there is."
                self.set_terminator(len(self.ac_in_buffer))

    with pytest.raises(SegmentationMismatch) as info:
        check_segmentation(Forgetful, FRAMED)
    err = info.value
    assert err.what == "found_terminator"
    assert len(err.cuts) == 1
    # The first failing cut falls inside the first body (FRAMED[13:18]).
    assert 13 < err.cuts[0] < 18
    assert "5-byte counted body at stream[13:18]" in str(err)


# ---------------------------------------------------------------------------
# broken parsers are caught, and the message says where
# ---------------------------------------------------------------------------


def test_chunk_as_line_is_caught_with_observe():
    with pytest.raises(SegmentationMismatch) as info:
        check_segmentation(ChunkAsLine, LINES, observe=lambda h: h.lines)
    err = info.value
    # The simplest failing plan: the first single cut.
    assert err.cuts == (1,)
    assert err.pieces == (1, len(LINES) - 1)
    assert err.what == "observe"
    assert err.expected == [b"HELO alice", b"MAIL FROM:<a@b.example>", b"QUIT"]
    assert err.actual[:2] == [b"H", b"ELO alice"]
    text = str(err)
    assert "cut at 1 (pieces 1+%d)" % (len(LINES) - 1) in text
    assert "observe(handler) differs" in text
    assert isinstance(err, AssertionError)


def test_split_per_read_is_caught_inside_the_terminator():
    # No observe: the found_terminator() calls themselves differ.
    with pytest.raises(SegmentationMismatch) as info:
        check_segmentation(SplitPerRead, LINES)
    err = info.value
    assert err.cuts == (11,)  # between b"\r" and b"\n" of the first CRLF
    assert err.what == "found_terminator"
    assert err.index == 0
    assert err.expected == TerminatorCall(CRLF, b"HELO alice")
    assert err.actual == TerminatorCall(CRLF, b"HELO alice\r\nMAIL FROM:<a@b.example>")
    text = str(err)
    assert "cut at 11 (pieces 11+%d)" % (len(LINES) - 11) in text
    assert "inside terminator b'\\r\\n' at stream[10:12]" in text
    assert "found_terminator() call #0 differs" in text
    assert "expected: terminator b'\\r\\n' after data b'HELO alice'" in text


def test_multi_cut_failures_are_shrunk():
    class ThreeByteTerm(LineChat):
        """Broken for a 3-byte terminator only when it is cut twice."""

        def __init__(self, sock, map):
            LineChat.__init__(self, sock, map)
            self.set_terminator(b"END")
            self.last_held = b""

        def handle_read(self):
            held = self.ac_in_buffer
            if held == b"EN" and self.last_held == b"E":
                # "A terminator still incomplete after two reads is data."
                self.ac_in_buffer = b""
                self.collect_incoming_data(held)
            self.last_held = held
            LineChat.handle_read(self)

    stream = b"abcENDdefENDghi"
    with pytest.raises(SegmentationMismatch) as info:
        check_segmentation(ThreeByteTerm, stream)
    err = info.value
    # No single cut fails: it takes reads ending in b"E", then b"N", i.e.
    # two cuts inside one terminator.  The first failing plan had more
    # cuts; it was shrunk to two.
    assert err.cuts in {(4, 5), (10, 11)}
    s = err.cuts[0] - 1
    text = str(err)
    assert "cuts at %d, %d (pieces " % err.cuts in text
    assert "inside terminator b'END' at stream[%d:%d]" % (s, s + 3) in text
    assert "(shrunk from plan" in text


def test_an_exception_under_one_plan_is_reported():
    class Strict(LineChat):
        """Broken: insists that a line arrives in one chunk."""

        def found_terminator(self):
            if len(self.buf) > 1:
                raise ValueError("line in %d chunks" % len(self.buf))
            LineChat.found_terminator(self)

    with pytest.raises(SegmentationMismatch) as info:
        check_segmentation(Strict, LINES)
    err = info.value
    assert err.cuts == (1,)
    assert err.reference.error is None
    assert err.outcome.error == "ValueError: line in 2 chunks"
    assert err.outcome.closed  # handle_error() closed it, as asyncore does
    # found_terminator() call #0 itself was made (the wrapper records it
    # before calling the handler's); #1 never was.
    assert (err.what, err.index, err.actual) == ("found_terminator", 1, None)
    text = str(err)
    assert "then the handler closed" in text
    assert "under this plan the handler raised ValueError: line in 2 chunks" in text


def test_long_stream_is_sampled_with_buffer_boundaries():
    stream = long_stream()
    report = check_segmentation(SmallBufferChat, stream, samples=40)
    n = len(stream)
    assert n > 10_000
    assert not report.exhaustive
    assert report.buffer_size == 512
    boundaries = set()
    for k in range(512, n, 512):
        boundaries |= {k - 1, k, k + 1}
    assert boundaries <= report.targeted
    # Each boundary cut also ran on its own.
    assert {(p,) for p in boundaries} <= set(report.plans)
    assert report.single_cut_plans < n // 10  # not exhaustive
    # Sampled multi-cut plans ran, and cuts through every CRLF.
    assert sum(1 for p in report.plans if len(p) > 1) >= 40
    crlf_middles = {i + 1 for i in range(n) if stream.startswith(CRLF, i)}
    assert crlf_middles <= report.split_points
    assert len(report.reference.calls) == 400


def test_long_stream_catches_a_bug_at_a_buffer_boundary():
    class LosesBoundaryByte(SmallBufferChat):
        """Broken: loses a byte when 1025 bytes have been read so far."""

        got = 0

        def recv(self, size):
            data = SmallBufferChat.recv(self, size)
            self.got += len(data)
            if self.got == 1025:
                data = data[:-1]
            return data

    with pytest.raises(SegmentationMismatch) as info:
        check_segmentation(LosesBoundaryByte, long_stream(), samples=10)
    err = info.value
    # In one piece the reads end at 512, 1024, 1536...; a cut at 513 makes
    # them end at 513, 1025: the first failing targeted cut.
    assert err.cuts == (513,)
    text = str(err)
    assert "cut at 513 (pieces 513+%d)" % (len(long_stream()) - 513) in text
    assert "at 1*512+1 (read size)" in text


def test_same_seed_same_plans_other_seed_other_samples():
    stream = long_stream(60)
    assert len(stream) > 256
    one = check_segmentation(LineChat, stream, samples=30, seed=1)
    again = check_segmentation(LineChat, stream, samples=30, seed=1)
    other = check_segmentation(LineChat, stream, samples=30, seed=2)
    assert one.plans == again.plans
    assert one.plans != other.plans
    # The targeted plans do not depend on the seed.
    assert one.targeted == other.targeted
    singles = [p for p in one.plans if len(p) == 1]
    assert singles == [p for p in other.plans if len(p) == 1]
    # Simplest first: the number of cuts never goes down.
    sizes = [len(p) for p in one.plans]
    assert sizes == sorted(sizes)


# ---------------------------------------------------------------------------
# dispatchers, EOF, misuse
# ---------------------------------------------------------------------------


def test_dispatcher_with_observe_and_eof():
    stream = LINES + b"RSET"
    report = check_segmentation(
        LineDispatcher, stream, observe=lambda h: h.lines, eof=True
    )
    assert report.exhaustive
    assert report.reference.observed == [
        b"HELO alice",
        b"MAIL FROM:<a@b.example>",
        b"QUIT",
        ("eof", b"RSET"),
    ]
    assert report.reference.closed
    assert report.reference.calls == ()
    # The read size was learnt from the handler's recv(16) calls.
    assert report.buffer_size == 16
    assert {15, 16, 17, 31, 32, 33} <= report.targeted


@pytest.mark.parametrize("use_poll", [False, True, "epoll"])
def test_dispatcher_terminators_target_cuts(use_poll):
    report = check_segmentation(
        LineDispatcher,
        long_stream(30),
        observe=lambda h: h.lines,
        terminators=[CRLF],
        exhaustive_max=16,
        samples=5,
        use_poll=use_poll,
    )
    stream = long_stream(30)
    assert not report.exhaustive
    first = stream.index(CRLF)
    assert {first - 1, first, first + 1, first + 2, first + 3} <= report.targeted


def test_dispatcher_without_observe_is_a_type_error():
    with pytest.raises(TypeError, match="plain dispatcher.*observe="):
        check_segmentation(LineDispatcher, LINES)


def test_factory_must_return_a_dispatcher_in_the_map():
    with pytest.raises(TypeError, match="must return the asyncore_sim dispatcher"):
        check_segmentation(lambda sock, map: None, LINES)

    def outside(sock, map):
        return LineChat(sock, {})

    with pytest.raises(SegmentationError, match="not in the map"):
        check_segmentation(outside, LINES)


def test_a_handler_that_stops_reading_is_reported_not_hung():
    class StopsAfterOneLine(LineChat):
        def readable(self):
            return not self.lines

    with pytest.raises(SegmentationMismatch) as info:
        check_segmentation(StopsAfterOneLine, LINES)
    err = info.value
    # In one piece everything is read at once; cut after the first line,
    # the rest is never read.
    assert err.cuts == (12,)
    assert err.reference.unread == 0
    # (states: what its found_terminator() made of the line, compared too)
    assert attrs.evolve(err.outcome, states=()) == Outcome(
        calls=(TerminatorCall(CRLF, b"HELO alice"),), unread=len(LINES) - 12
    )
    assert err.what == "found_terminator"
    assert (err.index, err.actual) == (1, None)
    assert (
        "no such call (1 call in all, then the handler stopped reading with "
        "31 bytes unread)" in str(err)
    )


def test_stream_must_be_bytes():
    with pytest.raises(TypeError, match="stream must be bytes"):
        check_segmentation(LineChat, "HELO\r\n")  # type: ignore[arg-type]


def test_streams_too_short_to_cut():
    report = check_segmentation(LineChat, b"x")
    assert report.plans_run == 0
    assert report.reference.trailing == b"x"


class _LastChunkOnly(asyncore_sim.async_chat):
    """The classic bug: assumes a whole line arrives in one recv."""

    def __init__(self, sock, map):
        asyncore_sim.async_chat.__init__(self, sock, map=map)
        self.set_terminator(b"\r\n")
        self.buf = b""
        self.lines = []
        self.reads = 0  # a counter: may differ with the cuts, and is ignored

    def collect_incoming_data(self, data):
        self.buf = data
        self.reads += 1

    def found_terminator(self):
        self.lines.append(self.buf)
        self.buf = b""


class _Accumulates(_LastChunkOnly):
    def collect_incoming_data(self, data):
        self.buf += data
        self.reads += 1


def test_the_default_catches_a_handler_that_keeps_only_the_last_chunk():
    stream = b"HELO a\r\nQUIT\r\n"
    assert check_segmentation(_Accumulates, stream).exhaustive
    with pytest.raises(SegmentationMismatch) as info:
        check_segmentation(_LastChunkOnly, stream)
    message = str(info.value)
    assert "the handler's own data after found_terminator() call #0 differs" in message
    assert "('lines', (b'HELO a',))" in message
    assert info.value.what == "handler state"


def test_observe_replaces_the_default_state_comparison():
    # With observe= the user says what matters: here only the line count.
    report = check_segmentation(
        _LastChunkOnly, b"HELO a\r\nQUIT\r\n", observe=lambda h: len(h.lines)
    )
    assert report.plans_run > 10
