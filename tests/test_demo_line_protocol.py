"""Demonstration: the segmentation checker finds line-protocol bugs that
ordinary tests, which send whole lines, never see.  A dispatcher that splits
each read on CRLF breaks on a cut mid-line; one that buffers but trusts a
trailing CR breaks only on a cut inside the CRLF; async_chat gets both right.
And an async_chat whose QUIT closes the channel still runs the commands
pipelined behind it, but only if they arrived in the same read.
"""

from __future__ import annotations

import pytest

import asyncore_sim
from asyncore_sim.testing.segmentation import (
    SegmentationMismatch,
    TerminatorCall,
    check_segmentation,
)

CRLF = b"\r\n"
SESSION = b"HELO alice\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob>\r\nDATA\r\n"
EXPECTED = [b"HELO alice", b"MAIL FROM:<alice@example.org>", b"RCPT TO:<bob>", b"DATA"]


def lines_of(handler):
    return handler.lines


class NaiveLines(asyncore_sim.dispatcher):
    """The common bug: every read is taken to hold whole lines."""

    def __init__(self, sock, map):
        asyncore_sim.dispatcher.__init__(self, sock, map=map)
        self.lines = []

    def writable(self):
        return False

    def handle_read(self):
        for line in self.recv(4096).split(CRLF):
            if line:
                self.lines.append(line)


class TrustsTrailingCR(NaiveLines):
    """Keeps a partial last line, but takes a read ending in CR or LF to end
    on a line break (``splitlines`` does too)."""

    def __init__(self, sock, map):
        NaiveLines.__init__(self, sock, map)
        self.pending = b""

    def handle_read(self):
        self.pending += self.recv(4096)
        if not self.pending:
            return
        lines = self.pending.splitlines()
        if self.pending.endswith((b"\r", b"\n")):
            self.pending = b""
        else:
            self.pending = lines.pop()
        self.lines.extend(lines)


class ChatLines(asyncore_sim.async_chat):
    """The same protocol on async_chat, which finds terminators across reads."""

    def __init__(self, sock, map):
        asyncore_sim.async_chat.__init__(self, sock, map=map)
        self.set_terminator(CRLF)
        self.buf = []
        self.lines = []

    def collect_incoming_data(self, data):
        self.buf.append(data)

    def found_terminator(self):
        line = b"".join(self.buf)
        self.buf = []
        self.lines.append(line)
        if line == b"QUIT":
            self.quit()

    def quit(self):
        self.close()


class QuitDiscardsInput(ChatLines):
    def quit(self):
        # Drop what was pipelined behind QUIT, however it arrived.
        self.discard_buffers()
        self.close()


def test_naive_dispatcher_is_caught_on_a_cut_mid_line():
    with pytest.raises(SegmentationMismatch) as info:
        check_segmentation(NaiveLines, SESSION, observe=lines_of, terminators=[CRLF])
    err = info.value
    (cut,) = err.cuts
    # The cut splits a line: it is not at a line boundary.
    assert not SESSION[:cut].endswith(CRLF) and cut < len(SESSION)
    assert err.expected == EXPECTED
    assert err.actual != EXPECTED
    assert "cut at %d" % cut in str(err)
    assert "inside data at stream[0:10]" in str(err)


def test_buffering_dispatcher_is_caught_on_a_cut_inside_the_terminator():
    with pytest.raises(SegmentationMismatch) as info:
        check_segmentation(
            TrustsTrailingCR, SESSION, observe=lines_of, terminators=[CRLF]
        )
    err = info.value
    # Every cut before the first CRLF passed; the first failure cuts it.
    assert err.cuts == (11,)
    assert SESSION[10:12] == CRLF
    assert err.actual == EXPECTED[:1] + [b""] + EXPECTED[1:]  # a phantom line
    assert "inside terminator b'\\r\\n' at stream[10:12]" in str(err)
    assert "first difference at item [1]: expected b'MAIL FROM:" in str(err)


@pytest.mark.parametrize("eof", [False, True])
def test_async_chat_line_protocol_passes(eof):
    report = check_segmentation(ChatLines, SESSION, observe=lines_of, eof=eof)
    assert report.exhaustive
    assert report.split_points == frozenset(range(1, len(SESSION)))
    assert report.reference.observed == EXPECTED
    assert [c.data for c in report.reference.calls] == EXPECTED
    assert report.reference.closed == eof


def test_async_chat_quit_runs_pipelined_commands_only_in_the_same_read():
    session = b"HELO alice\r\nQUIT\r\nRSET\r\n"
    with pytest.raises(SegmentationMismatch) as info:
        check_segmentation(ChatLines, session)
    err = info.value
    # In one read, async_chat goes on parsing after close(): RSET is handled
    # by a closed channel.  Cut right after QUIT's CRLF, it never is.
    assert err.cuts == (18,)
    assert err.index == 2
    assert err.expected == TerminatorCall(CRLF, b"RSET")
    assert err.actual is None
    assert err.outcome.closed
    text = str(err)
    assert "just after terminator b'\\r\\n' at stream[16:18]" in text
    assert "no such call (2 calls in all, then the handler closed)" in text
    # Discarding the input buffer on QUIT makes it independent of the cuts.
    report = check_segmentation(QuitDiscardsInput, session, observe=lines_of)
    assert report.reference.observed == [b"HELO alice", b"QUIT"]
