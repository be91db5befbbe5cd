"""asyncore_sim.asynchat against CPython 3.11's asynchat, side by side.

Every parser input is fed three ways (whole, one byte at a time, and with
trailing data) to a stdlib ``asynchat.async_chat`` subclass and to an
``asyncore_sim.async_chat`` subclass with the same body, both sitting on a
scripted socket double; the recorded call sequences must be identical.  The
output side (push, producers, partial sends, close_when_done) is compared the
same way on the sequence of ``send()`` arguments.  A last group echoes lines
over real loopback sockets with select, poll and epoll.

On Python 3.12+, which has no stdlib asynchat, the package's traces are
compared with the stdlib's as recorded on 3.11 (``tests/stdlib_ref.py``).
"""

from __future__ import annotations

import errno
import itertools
import os
import random
import sys
from collections import deque
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import pytest
import stdlib_ref
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from stdlib_ref import LIVE, STD_ASYNCHAT, STD_ASYNCORE

from asyncore_sim import asynchat as sim_asynchat
from asyncore_sim import asyncore as sim_asyncore

# The stdlib reference (None on 3.12+, where its recorded answers are used).
std_asyncore, std_asynchat = STD_ASYNCORE, STD_ASYNCHAT
#: The implementations run live here: the stdlib's only where it exists.
LIVE_IMPLS = ("std", "sim") if LIVE else ("sim",)
live_only = pytest.mark.skipif(not LIVE, reason=(
    "random inputs from Hypothesis cannot be recorded: on 3.12+ the same "
    "comparison runs on a fixed, recorded corpus "
    "(test_parser_matches_stdlib_on_a_corpus)"))

# ---------------------------------------------------------------------------
# A scripted socket double.
# ---------------------------------------------------------------------------

_fds = itertools.count(70000)


class ScriptedSocket:
    """Just enough of a socket for a dispatcher: scripted recv, recorded send.

    ``chunks`` are handed out by recv() in order (a chunk longer than the
    requested size is split, as a stream socket would); an exception instance
    in the script is raised instead; an empty script raises BlockingIOError.
    ``send_limit`` caps how many bytes one send() accepts (None: all).
    """

    def __init__(self, chunks: Sequence[Any] = (), send_limit: Optional[int] = None,
                 peer: Any = ("127.0.0.1", 4242)) -> None:
        self.fd = next(_fds)
        self.chunks: deque = deque(chunks)
        self.send_limit = send_limit
        self.send_errors: deque = deque()
        self.peer = peer
        self.recv_calls: List[int] = []
        self.send_calls: List[bytes] = []
        self.sent = bytearray()
        self.blocking: Any = None
        self.close_calls = 0

    def fileno(self) -> int:
        return self.fd

    def setblocking(self, flag: bool) -> None:
        self.blocking = flag

    def getpeername(self) -> Any:
        if self.peer is None:
            raise OSError(errno.ENOTCONN, os.strerror(errno.ENOTCONN))
        return self.peer

    def getsockopt(self, level: int, optname: int, buflen: Any = None) -> int:
        return 0

    def recv(self, bufsize: int) -> Any:
        self.recv_calls.append(bufsize)
        if not self.chunks:
            raise BlockingIOError(errno.EAGAIN, os.strerror(errno.EAGAIN))
        item = self.chunks.popleft()
        if isinstance(item, BaseException):
            raise item
        if len(item) > bufsize:
            self.chunks.appendleft(item[bufsize:])
            item = item[:bufsize]
        return item

    def send(self, data: Any) -> int:
        data = bytes(data)
        self.send_calls.append(data)
        if self.send_errors:
            raise self.send_errors.popleft()
        n = len(data) if self.send_limit is None else min(self.send_limit, len(data))
        self.sent += data[:n]
        return n

    def close(self) -> None:
        self.close_calls += 1


# ---------------------------------------------------------------------------
# One subclass body, two bases.
# ---------------------------------------------------------------------------

Policy = Callable[[Any, bytes], None]


class RecorderMixin:
    """Records every collect_incoming_data/found_terminator call.

    ``policy(self, message)`` runs inside found_terminator and may change the
    terminator.  The message is assembled with the stdlib's own helpers
    (_collect_incoming_data/_get_data) so those are exercised too.
    """

    policy: Optional[Policy] = None

    def start(self, terminator: Any, policy: Optional[Policy] = None) -> None:
        self.events: List[Tuple[Any, ...]] = []
        self.messages: List[bytes] = []
        self.state: Dict[str, Any] = {}
        self.policy = policy
        self.set_terminator(terminator)

    def collect_incoming_data(self, data: Any) -> None:
        self.events.append(("data", type(data).__name__, bytes(data)))
        self._collect_incoming_data(data)  # type: ignore[attr-defined]

    def found_terminator(self) -> None:
        message = self._get_data()  # type: ignore[attr-defined]
        self.messages.append(message)
        terminator = self.get_terminator()  # type: ignore[attr-defined]
        self.events.append(("found", terminator))
        if self.policy is not None:
            self.policy(self, message)

    def handle_error(self) -> None:
        t, v = sys.exc_info()[:2]
        self.events.append(("error", t.__name__ if t else None, str(v)))

    def handle_close(self) -> None:
        self.events.append(("close",))
        self.close()  # type: ignore[attr-defined]


class SimChat(RecorderMixin, sim_asynchat.async_chat):
    pass


IMPLS: Dict[str, Tuple[Any, Any, Any]] = {
    "sim": (SimChat, sim_asyncore, sim_asynchat)}
if LIVE:
    class StdChat(RecorderMixin, std_asynchat.async_chat):
        pass

    IMPLS["std"] = (StdChat, std_asyncore, std_asynchat)


class Channel:
    """A chat object on a socket double in a private map."""

    def __init__(self, impl: str, terminator: Any = b"\r\n",
                 policy: Optional[Policy] = None, sock: Optional[ScriptedSocket] = None,
                 **attrs: Any) -> None:
        cls, self.core, _ = IMPLS[impl]
        self.map: Dict[int, Any] = {}
        self.sock = sock if sock is not None else ScriptedSocket()
        self.chat = cls(self.sock, map=self.map)
        for name, value in attrs.items():
            setattr(self.chat, name, value)
        self.chat.start(terminator, policy)
        self.after_read: List[Tuple[Any, bytes]] = []

    def feed(self, chunks: Sequence[Any], max_reads: int = 100000) -> None:
        """Script the chunks one at a time and read until each is consumed."""
        for chunk in chunks:
            self.sock.chunks.append(chunk)
            reads = 0
            while self.sock.chunks and self.map:
                self.chat.handle_read()
                self.after_read.append(
                    (self.chat.terminator, bytes(self.chat.ac_in_buffer)))
                reads += 1
                assert reads <= max_reads

    def drain(self, max_writes: int = 100000) -> None:
        """Call handle_write until the output queue is empty or the chat closed."""
        writes = 0
        while self.chat.producer_fifo and self.chat.connected:
            self.chat.handle_write()
            writes += 1
            assert writes <= max_writes, "output never drained"

    def trace(self) -> Dict[str, Any]:
        chat = self.chat
        return {
            "events": list(chat.events),
            "messages": list(chat.messages),
            "terminator": chat.terminator,
            "ac_in_buffer": bytes(chat.ac_in_buffer),
            "incoming": [bytes(x) for x in chat.incoming],
            "after_read": list(self.after_read),
            "recv_calls": list(self.sock.recv_calls),
            "send_calls": list(self.sock.send_calls),
            "sent": bytes(self.sock.sent),
            "fifo": [_entry(x) for x in chat.producer_fifo],
            "connected": chat.connected,
            "in_map": bool(self.map),
            "close_calls": self.sock.close_calls,
        }

    def close(self) -> None:
        self.core.close_all(self.map)


def _entry(x: Any) -> Any:
    if x is None:
        return None
    if isinstance(x, (bytes, bytearray, memoryview)):
        return (type(x).__name__, bytes(x))
    return type(x).__name__


@pytest.fixture
def channel():
    """Make channels (``channel(impl, ...)``); all are closed afterwards."""
    made: List[Channel] = []

    def make(impl: str, *args: Any, **kwargs: Any) -> Channel:
        ch = Channel(impl, *args, **kwargs)
        made.append(ch)
        return ch

    yield make
    for ch in made:
        ch.close()


def compare(fn: Callable[[str], Any], digest: bool = False) -> Any:
    """``fn(impl)`` for the package and for the stdlib (live, or its recorded
    answer on 3.12+) must give equal plain data; returns the package's."""
    return stdlib_ref.compare(fn, "sim", "std", digest)


def _fed_trace(impl: str, chunks: Sequence[Any], terminator: Any,
               policy: Optional[Policy], attrs: Dict[str, Any]) -> Dict[str, Any]:
    ch = Channel(impl, terminator, policy, **attrs)
    try:
        ch.feed(list(chunks))
        return ch.trace()
    finally:
        ch.close()


def run_both(chunks: Sequence[Any], terminator: Any = b"\r\n",
             policy: Optional[Policy] = None, digest: bool = False,
             **attrs: Any) -> Dict[str, Any]:
    """Feed ``chunks`` to both implementations; assert identical traces."""
    return compare(lambda impl: _fed_trace(impl, chunks, terminator, policy, attrs),
                   digest=digest)


WAYS = ("whole", "bytewise", "trailing")


def chunked(data: bytes, way: str, trailing: bytes) -> List[bytes]:
    if way == "whole":
        return [data]
    if way == "bytewise":
        return [data[i:i + 1] for i in range(len(data))]
    assert way == "trailing"
    return [data + trailing]


def check_split_semantics(trace: Dict[str, Any], data: bytes, term: bytes,
                          way: str, trailing: bytes) -> None:
    """Messages are data split on the terminator; trailing bytes are held."""
    assert data.endswith(term)
    assert trace["messages"] == data.split(term)[:-1]
    events = trace["events"]
    last_found = max(i for i, e in enumerate(events) if e[0] == "found")
    after = b"".join(e[2] for e in events[last_found + 1:] if e[0] == "data")
    held = after + trace["ac_in_buffer"]
    assert held == (trailing if way == "trailing" else b"")


# ---------------------------------------------------------------------------
# Input: bytes terminators.
# ---------------------------------------------------------------------------

BYTES_CASES = [
    # (id, terminator, data, trailing)
    ("len1", b"\n", b"alpha\nbeta\n\n\ngamma delta\n", b"partial"),
    ("len2", b"\r\n", b"line one\r\nline\rtwo\r\n\r\n\r\r\nx\n\r\n", b"tail\r"),
    ("len2-only-terminators", b"\r\n", b"\r\n\r\n\r\n", b"\r"),
    ("len5", b"\r\n.\r\n",
     b"body\r\n.more\r\n\r\n.\r\nnext\r\n.\r\r\n.\r\n\r\n.\r\n", b"x\r\n.\r"),
    ("len5-overlapping", b"abcab", b"ababcabcabxabcab", b"abca"),
]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("case", BYTES_CASES, ids=[c[0] for c in BYTES_CASES])
def test_bytes_terminator(case: Tuple[str, bytes, bytes, bytes], way: str) -> None:
    _, term, data, trailing = case
    trace = run_both(chunked(data, way, trailing), term)
    check_split_semantics(trace, data, term, way, trailing)


@pytest.mark.parametrize("case", BYTES_CASES, ids=[c[0] for c in BYTES_CASES])
def test_bytes_terminator_split_at_every_point(
        case: Tuple[str, bytes, bytes, bytes]) -> None:
    _, term, data, trailing = case
    for full, way in ((data, "whole"), (data + trailing, "trailing")):
        for i in range(1, len(full)):
            trace = run_both([full[:i], full[i:]], term, digest=True)
            check_split_semantics(trace, data, term, way, trailing)


@pytest.mark.parametrize("term", [b"\r\n", b"\r\n.\r\n", b"ENDOFMSG"])
def test_terminator_split_across_three_reads_everywhere(term: bytes) -> None:
    data = b"first" + term + b"second" + term
    start = len(b"first")
    # Cut the first terminator (and its neighbours) at every pair of points.
    for i in range(start - 1, start + len(term) + 1):
        for j in range(i + 1, start + len(term) + 2):
            trace = run_both([data[:i], data[i:j], data[j:]], term, digest=True)
            assert trace["messages"] == [b"first", b"second"]
            assert trace["ac_in_buffer"] == b""


def test_no_empty_collect_before_terminator_at_start() -> None:
    # The stdlib does not report the empty string before a leading terminator.
    trace = run_both([b"\r\nabc\r\n"], b"\r\n")
    assert trace["events"][0] == ("found", b"\r\n")
    assert trace["messages"] == [b"", b"abc"]


# ---------------------------------------------------------------------------
# Input: integer terminators, None, and switching inside found_terminator.
# ---------------------------------------------------------------------------

def _record_only(self: Any, message: bytes) -> None:
    pass


def _count_chain(self: Any, message: bytes) -> None:
    """Integer terminators 3, 1, 4, 1, 5, then CRLF lines."""
    todo = self.state.setdefault("todo", [1, 4, 1, 5, b"\r\n"])
    if todo:
        self.set_terminator(todo.pop(0))


def _http_like(self: Any, message: bytes) -> None:
    """A 'LEN n' header line switches to an n-byte body, then back to lines."""
    if self.state.get("body"):
        self.state["body"] = False
        self.set_terminator(b"\r\n")
    elif message.startswith(b"LEN "):
        self.state["body"] = True
        self.set_terminator(int(message[4:]))
    elif message == b"RAW":
        self.set_terminator(None)
    elif message == b"DATA":
        self.state["body"] = True
        self.set_terminator(b"\r\n.\r\n")


def _set_same_terminator(self: Any, message: bytes) -> None:
    # Setting a fresh int after each count keeps count-down going.
    self.set_terminator(4)


INT_CASES = [
    # (id, terminator, data, trailing, policy)
    ("count10-then-zero", 10, b"0123456789abcdef", b"more", _record_only),
    ("count1", 1, b"x", b"yz", _record_only),
    ("count-exact", 7, b"seven!!", b"\r\n", _record_only),
    ("count-repeat", 4, b"aaaabbbbccccdd", b"ee", _set_same_terminator),
    ("count-chain", 3, b"abc" + b"d" + b"efgh" + b"i" + b"jklmn" + b"line\r\nrest\r\n",
     b"tail\r", _count_chain),
]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("case", INT_CASES, ids=[c[0] for c in INT_CASES])
def test_int_terminator(case: Tuple[Any, ...], way: str) -> None:
    _, term, data, trailing, policy = case
    trace = run_both(chunked(data, way, trailing), term, policy)
    assert trace["messages"], "the count should have been reached"
    if case[0] == "count10-then-zero":
        assert trace["messages"] == [b"0123456789"]
        # After the count is reached the terminator is 0 (falsy): the rest
        # is collected, never found.
        assert trace["terminator"] == 0
        assert trace["events"][-1][0] == "data"
        found_at = [e[0] for e in trace["events"]].index("found")
        rest = data[10:] + (trailing if way == "trailing" else b"")
        assert b"".join(e[2] for e in trace["events"][found_at + 1:]) == rest
    if case[0] == "count-chain":
        assert trace["messages"][:6] == [b"abc", b"d", b"efgh", b"i", b"jklmn", b"line"]


def test_int_terminator_counts_down() -> None:
    trace = run_both([b"ab", b"cde", b"f", b"ghij", b"k"], 10)
    # The terminator after each read is the number of bytes still expected.
    assert [t for t, _ in trace["after_read"]] == [8, 5, 4, 0, 0]
    assert trace["events"][:5] == [
        ("data", "bytes", b"ab"), ("data", "bytes", b"cde"), ("data", "bytes", b"f"),
        ("data", "bytes", b"ghij"), ("found", 0),
    ]
    assert trace["events"][5:] == [("data", "bytes", b"k")]


@pytest.mark.parametrize("way", WAYS)
def test_none_terminator(way: str) -> None:
    data = b"anything\r\ngoes\n\x00\xff here"
    trace = run_both(chunked(data, way, b"\r\n.\r\n"), None)
    assert trace["messages"] == []
    assert all(e[0] == "data" for e in trace["events"])
    collected = b"".join(e[2] for e in trace["events"])
    assert collected == data + (b"\r\n.\r\n" if way == "trailing" else b"")
    assert trace["ac_in_buffer"] == b""


@pytest.mark.parametrize("falsy", [0, b""])
def test_other_falsy_terminators_collect_everything(falsy: Any) -> None:
    trace = run_both([b"abc\r\n", b"def"], falsy)
    assert [e[0] for e in trace["events"]] == ["data", "data"]


HTTP_DATA = (
    b"GET /index\r\n"
    b"LEN 5\r\nhello"
    b"LEN 12\r\nhello\r\nworld"
    b"LEN 1\r\n\n"
    b"DATA\r\nline\r\n..dot\r\n.\r\n"
    b"after data\r\n"
    b"RAW\r\nraw bytes \r\n no more terminators\r\n"
)


@pytest.mark.parametrize("way", WAYS)
def test_switching_terminators_http_style(way: str) -> None:
    trace = run_both(chunked(HTTP_DATA, way, b"LEN 3\r\nab"), b"\r\n", _http_like)
    assert trace["messages"] == [
        b"GET /index", b"LEN 5", b"hello", b"LEN 12", b"hello\r\nworld",
        b"LEN 1", b"\n", b"DATA", b"line\r\n..dot", b"after data", b"RAW",
    ]
    assert trace["terminator"] is None


@pytest.mark.parametrize("way", WAYS)
def test_switching_to_zero_length_body(way: str) -> None:
    # set_terminator(0) inside found_terminator: 0 is falsy, so everything
    # after it is collected (a stdlib quirk both must share).
    data = b"LEN 0\r\nGET /x\r\n"
    trace = run_both(chunked(data, way, b"zz"), b"\r\n", _http_like)
    assert trace["messages"] == [b"LEN 0"]
    assert trace["terminator"] == 0


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_in_buffer_size_smaller_than_data(size: int, way: str) -> None:
    trace = run_both(chunked(HTTP_DATA, way, b"\r\n.\r"), b"\r\n", _http_like,
                     digest=True, ac_in_buffer_size=size)
    assert set(trace["recv_calls"]) == {size}
    assert len(trace["messages"]) == 11


def test_set_terminator_negative_int() -> None:
    for impl in LIVE_IMPLS:
        chat = IMPLS[impl][0]()
        chat.set_terminator(5)
        with pytest.raises(ValueError) as info:
            chat.set_terminator(-1)
        assert str(info.value) == "the number of received bytes must be positive"
        assert chat.get_terminator() == 5
        chat.set_terminator(0)
        assert chat.get_terminator() == 0


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("encoding,term", [
    ("latin-1", "\r\n"), ("latin-1", "\xa7\xa7"), ("utf-8", "\xa7"), ("ascii", "END"),
])
def test_str_terminator_with_use_encoding(encoding: str, term: str, way: str) -> None:
    bterm = term.encode(encoding)
    data = b"one" + bterm + b"two" + bterm
    trace = run_both(chunked(data, way, bterm[:-1] or b"x"), term, None,
                     use_encoding=1, encoding=encoding)
    assert trace["terminator"] == bterm
    assert trace["messages"] == [b"one", b"two"]


def test_str_terminator_without_use_encoding_is_kept_and_fails_on_read(
        channel: Any) -> None:
    def run(impl: str) -> Any:
        ch = channel(impl, "\r\n")
        assert ch.chat.get_terminator() == "\r\n"
        ch.sock.chunks.append(b"abc\r\n")
        with pytest.raises(TypeError) as info:
            ch.chat.handle_read()
        return (type(info.value).__name__, ch.chat.events)

    compare(run)


@pytest.mark.xfail(strict=True, reason=(
    "deviation: CPython 3.11's handle_read does bytes(str, encoding) (a bug "
    "that raises TypeError) when recv() returns str and use_encoding is set; "
    "asyncore_sim encodes the data instead"))
def test_str_from_recv_with_use_encoding_matches_stdlib(channel: Any) -> None:
    def run(impl: str) -> Any:
        ch = channel(impl, b"\r\n", use_encoding=1)
        ch.sock.chunks.append("abc\r\n")
        try:
            ch.chat.handle_read()
        except Exception as exc:
            return type(exc).__name__
        return ch.chat.events

    compare(run)


@pytest.mark.parametrize("way", WAYS)
def test_helpers_collect_and_get_data(way: str) -> None:
    trace = run_both(chunked(b"ab\r\ncd", way, b"ef\r"), b"\r\n")
    # Data not yet terminated sits in .incoming (the default helpers).
    assert b"".join(trace["incoming"]) + trace["ac_in_buffer"] == (
        b"cdef\r" if way == "trailing" else b"cd")


# ---------------------------------------------------------------------------
# Input: property tests.
# ---------------------------------------------------------------------------

def _brute_prefix_at_end(haystack: Any, needle: Any) -> int:
    """Length of the longest proper, non-empty prefix of needle ending haystack."""
    best = 0
    for n in range(1, len(needle)):
        if haystack.endswith(needle[:n]):
            best = n
    return best


small_bytes = st.binary(max_size=12).map(lambda b: bytes(x % 3 + 97 for x in b))


@settings(max_examples=400, deadline=None)
@given(haystack=small_bytes, needle=small_bytes.filter(bool))
@example(haystack=b"qwerty\r", needle=b"\r\n")
@example(haystack=b"qwertydkjf", needle=b"\r\n")
@example(haystack=b"abab", needle=b"ababc")
def test_find_prefix_at_end_brute_force(haystack: bytes, needle: bytes) -> None:
    got = sim_asynchat.find_prefix_at_end(haystack, needle)
    assert got == _brute_prefix_at_end(haystack, needle)
    if LIVE:
        assert got == std_asynchat.find_prefix_at_end(haystack, needle)


@settings(max_examples=200, deadline=None)
@given(haystack=st.text("ab\r\n", max_size=10), needle=st.text("ab\r\n", max_size=6))
def test_find_prefix_at_end_matches_stdlib_on_str_and_empty(
        haystack: str, needle: str) -> None:
    # Includes the empty needle, for which both return -1.  On 3.12+ the
    # brute-force oracle stands in (the *_corpus test pins it to the stdlib).
    got = sim_asynchat.find_prefix_at_end(haystack, needle)
    assert got == (_brute_prefix_at_end(haystack, needle) if needle else -1)
    if LIVE:
        assert got == std_asynchat.find_prefix_at_end(haystack, needle)


def _prefix_corpus() -> List[Tuple[Any, Any]]:
    """A fixed sample of the two properties' inputs (bytes, str, empty needles)."""
    rng = random.Random(11)
    cases: List[Tuple[Any, Any]] = [(b"qwerty\r", b"\r\n"), (b"abab", b"ababc"),
                                    ("", ""), ("ab", ""), (b"", b"\r\n")]
    for _ in range(150):
        alphabet = rng.choice(["abc", "ab\r\n"])
        haystack = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        needle = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        if rng.random() < 0.5:
            haystack, needle = haystack.encode(), (needle or "a").encode()
        cases.append((haystack, needle))
    return cases


def test_find_prefix_at_end_matches_stdlib_on_a_corpus() -> None:
    cases = _prefix_corpus()
    got = compare(lambda impl: [IMPLS[impl][2].find_prefix_at_end(h, n)
                                for h, n in cases])
    assert got == [_brute_prefix_at_end(h, n) if n else -1 for h, n in cases]


def test_find_prefix_at_end_known_values() -> None:
    f = sim_asynchat.find_prefix_at_end
    assert f(b"qwerty\r", b"\r\n") == 1
    assert f(b"qwertydkjf", b"\r\n") == 0
    assert f(b"x\r\n.\r", b"\r\n.\r\n") == 4
    assert f(b"", b"\r\n") == 0


_terminators = st.one_of(
    st.sampled_from([b"\n", b"\r\n", b"\r\n.\r\n", b"aab", None]),
    st.integers(min_value=1, max_value=9),
)


def _parse_random_stream(impl: str, data: bytes, cuts: List[int], terminator: Any,
                         in_size: int, switch: bool) -> Dict[str, Any]:
    points = sorted({c for c in cuts if 0 < c < len(data)})
    bounds = [0] + points + [len(data)]
    chunks = [data[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]

    def rotate(self: Any, message: bytes) -> None:
        cycle = [b"\r\n", 3, b"\r\n.\r\n", 1, b"a", 2]
        i = self.state.get("i", 0)
        self.state["i"] = i + 1
        self.set_terminator(cycle[i % len(cycle)])

    return _fed_trace(impl, chunks, terminator, rotate if switch else None,
                      {"ac_in_buffer_size": in_size})


@live_only
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=60).map(
           lambda b: bytes(b"ab\r\n."[x % 5] for x in b)),
       cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=8),
       terminator=_terminators,
       in_size=st.sampled_from([65536, 1, 3]),
       switch=st.booleans())
def test_parser_matches_stdlib_on_random_streams(data: bytes, cuts: List[int],
                                                 terminator: Any, in_size: int,
                                                 switch: bool) -> None:
    args = (data, cuts, terminator, in_size, switch)
    assert _parse_random_stream("sim", *args) == _parse_random_stream("std", *args)


def test_parser_matches_stdlib_on_a_corpus() -> None:
    # A fixed, seeded sample of the random streams above, so that 3.12+
    # compares with the stdlib's recorded traces (one digest per stream).
    rng = random.Random(7)
    terminators = [b"\n", b"\r\n", b"\r\n.\r\n", b"aab", None] + list(range(1, 10))
    for _ in range(60):
        data = bytes(rng.choice(b"ab\r\n.") for _ in range(rng.randint(0, 60)))
        cuts = [rng.randint(0, 60) for _ in range(rng.randint(0, 8))]
        args = (data, cuts, rng.choice(terminators), rng.choice([65536, 1, 3]),
                rng.random() < 0.5)
        compare(lambda impl, args=args: _parse_random_stream(impl, *args), digest=True)


# ---------------------------------------------------------------------------
# Input: errors and end of file.
# ---------------------------------------------------------------------------

def test_recv_blocking_io_error_returns_quietly() -> None:
    trace = run_both([BlockingIOError(errno.EAGAIN, "again"), b"ok\r\n"])
    assert trace["events"] == [("data", "bytes", b"ok"), ("found", b"\r\n")]


def test_recv_empty_script_is_blocking() -> None:
    for impl in LIVE_IMPLS:
        ch = Channel(impl)
        try:
            ch.chat.handle_read()  # the double raises BlockingIOError
            assert ch.chat.events == []
            assert ch.map
        finally:
            ch.close()


@pytest.mark.parametrize("exc", [
    OSError(errno.EIO, "I/O error"),
    OSError("no errno"),
    TimeoutError(errno.ETIMEDOUT, "timed out"),
], ids=["EIO", "no-errno", "timeout"])
def test_recv_other_oserror_goes_to_handle_error(exc: OSError) -> None:
    trace = run_both([b"ab", exc, b"\r\n"])
    assert trace["events"][1][0] == "error"
    assert trace["events"][1][1] == type(exc).__name__
    # The channel stays usable: handle_error was ours and did not close.
    assert trace["messages"] == [b"ab"]


@pytest.mark.parametrize("code", [errno.ECONNRESET, errno.ENOTCONN, errno.EPIPE,
                                  errno.ECONNABORTED, errno.ESHUTDOWN, errno.EBADF])
def test_recv_disconnect_errno_closes(code: int) -> None:
    trace = run_both([b"ab\r\ncd", OSError(code, os.strerror(code))])
    assert trace["events"][-1] == ("close",)
    assert not trace["in_map"]
    assert trace["close_calls"] == 1


def test_recv_eof_closes() -> None:
    trace = run_both([b"ab\r\ncd", b""])
    assert trace["events"] == [("data", "bytes", b"ab"), ("found", b"\r\n"),
                               ("data", "bytes", b"cd"), ("close",)]
    assert not trace["in_map"] and not trace["connected"]


def test_exception_in_found_terminator_propagates_from_handle_read(
        channel: Any) -> None:
    def boom(self: Any, message: bytes) -> None:
        raise ZeroDivisionError("boom")

    def run(impl: str) -> Any:
        ch = channel(impl, b"\n", boom)
        ch.sock.chunks.append(b"a\nb\n")
        with pytest.raises(ZeroDivisionError):
            ch.chat.handle_read()
        return (ch.chat.events, bytes(ch.chat.ac_in_buffer))

    assert compare(run)[1] == b"b\n"


# ---------------------------------------------------------------------------
# Output.
# ---------------------------------------------------------------------------

def test_push_larger_than_out_buffer_is_split(channel: Any) -> None:
    def run(impl: str) -> Any:
        ch = channel(impl, sock=None, ac_out_buffer_size=4)
        ch.sock.send_limit = 0  # would block: everything stays queued
        ch.chat.push(b"0123456789")
        ch.chat.push(bytearray(b"abcdefgh"))
        ch.chat.push(memoryview(b"xyz"))
        ch.chat.push(b"exactly4"[:4])
        return ch.trace()

    assert compare(run)["fifo"] == [
        ("bytes", b"0123"), ("bytes", b"4567"), ("bytes", b"89"),
        ("bytearray", b"abcd"), ("bytearray", b"efgh"),
        ("memoryview", b"xyz"), ("bytes", b"exac"),
    ]


@pytest.mark.parametrize("bad", ["text", 42, None, ["b"]])
def test_push_non_bytes_raises_type_error(bad: Any) -> None:
    def run(impl: str) -> Any:
        chat = IMPLS[impl][0]()
        with pytest.raises(TypeError) as info:
            chat.push(bad)
        assert not chat.producer_fifo
        return [a if isinstance(a, str) else repr(a) for a in info.value.args]

    compare(run)


@pytest.mark.parametrize("buffer_size", [1, 5, 512, 10000])
@pytest.mark.parametrize("obs", [3, 64, 65536])
def test_push_with_simple_producer(channel: Any, buffer_size: int, obs: int) -> None:
    data = bytes(range(256)) * 7

    def run(impl: str) -> Any:
        ch = channel(impl, sock=None, ac_out_buffer_size=obs)
        mod = IMPLS[impl][2]
        ch.chat.push(b"head")
        ch.chat.push_with_producer(mod.simple_producer(data, buffer_size=buffer_size))
        ch.chat.push(b"tail")
        ch.drain()
        return ch.trace()

    sent = compare(run, digest=True)["send_calls"]
    assert b"".join(sent) == b"head" + data + b"tail"
    assert all(len(c) <= obs for c in sent)
    if buffer_size <= obs:
        assert len(sent) >= len(data) // buffer_size


def test_simple_producer_chunks_match_stdlib() -> None:
    for size in (1, 3, 512, 1000):
        data = b"x" * 700 + b"y" * 13

        def run(impl: str, data: bytes = data, size: int = size) -> Any:
            producer = IMPLS[impl][2].simple_producer(data, size)
            return [producer.more() for _ in range(800)]

        out = compare(run, digest=True)
        assert sim_asynchat.simple_producer(data, size).buffer_size == size
        assert b"".join(out) == data
        assert all(len(c) <= size for c in out)
    assert sim_asynchat.simple_producer(b"abc").buffer_size == 512


class ListProducer:
    """A producer handing out scripted chunks (bytes, bytearray or b'')."""

    def __init__(self, chunks: Sequence[Any]) -> None:
        self.chunks = list(chunks)

    def more(self) -> Any:
        return self.chunks.pop(0) if self.chunks else b""


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 64, None])
@pytest.mark.parametrize("obs", [4, 10, 65536])
def test_partial_sends(channel: Any, limit: Optional[int], obs: int) -> None:
    expect = []

    def run(impl: str) -> Any:
        ch = channel(impl, sock=None, ac_out_buffer_size=obs)
        ch.sock.send_limit = limit
        items: List[Any] = [
            b"alpha", b"x" * 25, bytearray(b"beta-bytearray"), memoryview(b"gamma" * 3),
            ListProducer([b"p1", bytearray(b"p2p2p2p2p2p2p2p2"), b"p3" * 9]),
            b"omega",
        ]
        pushed = b""
        for item in items:
            if isinstance(item, ListProducer):
                pushed += b"".join(bytes(c) for c in item.chunks)
                ch.chat.push_with_producer(item)
            else:
                pushed += bytes(item)
                ch.chat.push(item)
        expect.append(pushed)
        ch.drain()
        return ch.trace()

    trace = compare(run)
    assert trace["sent"] == expect[0]
    if limit is not None:
        assert all(len(c) <= obs for c in trace["send_calls"])


def test_one_send_per_initiate_send(channel: Any) -> None:
    for impl in LIVE_IMPLS:
        ch = channel(impl, sock=None, ac_out_buffer_size=4)
        ch.sock.send_limit = 0
        ch.chat.push(b"abcdefgh")
        ch.chat.push(b"ij")
        calls_before = len(ch.sock.send_calls)
        ch.sock.send_limit = None
        ch.chat.initiate_send()
        assert len(ch.sock.send_calls) == calls_before + 1
        assert ch.sock.send_calls[-1] == b"abcd"


def test_close_when_done_closes_after_drain(channel: Any) -> None:
    def run(impl: str) -> Any:
        ch = channel(impl, sock=None, ac_out_buffer_size=8)
        ch.sock.send_limit = 3
        ch.chat.push(b"first message")
        ch.chat.close_when_done()
        ch.chat.push(b"never sent")  # after the close marker
        assert ch.chat.connected
        ch.drain()
        return ch.trace()

    t = compare(run)
    assert t["sent"] == b"first message"
    assert t["events"] == [("close",)]
    assert not t["in_map"] and not t["connected"] and t["close_calls"] == 1
    # The rest of the queue is left behind, as in the stdlib.
    assert t["fifo"] == [("bytes", b"never se"), ("bytes", b"nt")]


def test_close_when_done_on_empty_queue(channel: Any) -> None:
    def run(impl: str) -> Any:
        ch = channel(impl, sock=None)
        ch.chat.close_when_done()
        assert ch.chat.writable()
        ch.chat.handle_write()
        return ch.trace()

    trace = compare(run)
    assert trace["events"] == [("close",)] and trace["send_calls"] == []


def test_empty_bytes_entry_in_fifo(channel: Any) -> None:
    def run(impl: str) -> Any:
        ch = channel(impl, sock=None)
        ch.sock.send_limit = 0
        ch.chat.push(b"a")
        ch.chat.push(b"")
        ch.chat.push(bytearray())
        ch.chat.producer_fifo.append(b"")
        ch.chat.push_with_producer(ListProducer([]))
        ch.chat.push(b"b")
        ch.sock.send_limit = None
        ch.drain()
        return ch.trace()

    trace = compare(run)
    assert trace["sent"] == b"ab"
    # An empty entry is dropped and then b"" is sent once (stdlib quirk).
    assert b"" in trace["send_calls"]


def test_send_errors(channel: Any) -> None:
    def run(impl: str) -> Any:
        ch = channel(impl, sock=None)
        ch.sock.send_errors.extend([
            BlockingIOError(errno.EWOULDBLOCK, "would block"),
            OSError(errno.EIO, "I/O error"),
        ])
        ch.chat.push(b"hello")  # EWOULDBLOCK: dispatcher.send returns 0
        ch.chat.handle_write()  # EIO: initiate_send calls handle_error
        ch.chat.handle_write()  # sent
        ch.sock.send_errors.append(OSError(errno.EPIPE, "broken pipe"))
        ch.chat.push(b"more")  # EPIPE: handle_close
        return ch.trace()

    trace = compare(run)
    assert [e[0] for e in trace["events"]] == ["error", "close"]
    assert trace["sent"] == b"hello"


def test_discard_buffers(channel: Any) -> None:
    def run(impl: str) -> Any:
        ch = channel(impl, sock=None)
        ch.sock.send_limit = 0
        ch.feed([b"partial line\r"])
        ch.chat.push(b"queued")
        ch.chat.push_with_producer(ListProducer([b"x"]))
        assert ch.chat.incoming and ch.chat.ac_in_buffer and ch.chat.producer_fifo
        ch.chat.discard_buffers()
        discarded = ch.trace()
        assert not ch.chat.writable()
        # Parsing carries on from a clean state.
        ch.feed([b"\nnext\r\n"])
        return (discarded, ch.trace())

    discarded, after = compare(run)
    assert discarded["ac_in_buffer"] == b"" and discarded["incoming"] == []
    assert discarded["fifo"] == []
    assert after["messages"] == [b"\nnext"]


def test_writable_semantics(channel: Any) -> None:
    for impl in LIVE_IMPLS:
        chat = IMPLS[impl][0]()  # no socket: not connected
        assert chat.writable() is True
        assert chat.readable() == 1
        chat = channel(impl, sock=None).chat
        sock = chat.socket
        assert chat.connected
        assert not chat.writable()
        sock.send_limit = 0
        chat.push(b"x")
        assert chat.writable() is chat.producer_fifo  # the deque itself
        sock.send_limit = None
        while chat.producer_fifo and chat.connected:
            chat.handle_write()
        assert chat.writable() is False


def test_unconnected_socket_queues_without_sending(channel: Any) -> None:
    def run(impl: str) -> Any:
        ch = channel(impl, sock=ScriptedSocket(peer=None))
        assert not ch.chat.connected
        assert ch.map  # still registered
        ch.chat.push(b"queued")
        ch.chat.close_when_done()
        assert ch.chat.writable()
        return ch.trace()

    trace = compare(run)
    assert trace["send_calls"] == [] and trace["events"] == []


def test_handle_write_and_handle_close_are_stdlib_shaped() -> None:
    # The default handle_close of async_chat closes without logging.
    def run(impl: str) -> Any:
        mod = IMPLS[impl][2]
        m: Dict[int, Any] = {}
        sock = ScriptedSocket()
        chat = mod.async_chat(sock, map=m)
        assert m
        chat.handle_close()
        with pytest.raises(NotImplementedError):
            chat.collect_incoming_data(b"x")
        with pytest.raises(NotImplementedError):
            chat.found_terminator()
        return (bool(m), chat.connected, sock.close_calls)

    assert compare(run) == (False, False, 1)


# ---------------------------------------------------------------------------
# Real loopback sockets.
# ---------------------------------------------------------------------------

def _lines() -> List[bytes]:
    out = []
    for i in range(50):
        length = (i * i * 37 + i * 11) % 3001
        out.append(bytes(b"abcdefghij\r\t "[(i + k) % 13] for k in range(length)))
    return out


class EchoHandler(sim_asynchat.async_chat):
    def __init__(self, sock: Any, map: Any) -> None:
        super().__init__(sock, map)
        self.set_terminator(b"\n")

    def collect_incoming_data(self, data: bytes) -> None:
        self._collect_incoming_data(data)

    def found_terminator(self) -> None:
        self.push(self._get_data() + b"\n")


class EchoServer(sim_asyncore.dispatcher):
    def __init__(self, map: Any) -> None:
        super().__init__(map=map)
        self.create_socket()
        self.set_reuse_addr()
        self.bind(("127.0.0.1", 0))
        self.listen(5)
        self.port = self.socket.getsockname()[1]

    def handle_accepted(self, sock: Any, addr: Any) -> None:
        EchoHandler(sock, self._map)


class LineClient(sim_asynchat.async_chat):
    ac_in_buffer_size = 1000

    def __init__(self, port: int, lines: List[bytes], map: Any) -> None:
        super().__init__(map=map)
        self.set_terminator(b"\n")
        self.received: List[bytes] = []
        self.expected = len(lines)
        self.create_socket()
        self.connect(("127.0.0.1", port))
        for line in lines:
            self.push(line + b"\n")

    def handle_connect(self) -> None:
        pass

    def collect_incoming_data(self, data: bytes) -> None:
        self._collect_incoming_data(data)

    def found_terminator(self) -> None:
        self.received.append(self._get_data())
        if len(self.received) == self.expected:
            self.close()


@pytest.mark.network
@pytest.mark.parametrize("use_poll", [False, True, "epoll"])
def test_loopback_line_echo(use_poll: Any) -> None:
    m: Dict[int, Any] = {}
    try:
        server = EchoServer(m)
        lines = _lines()
        client = LineClient(server.port, lines, m)
        for _ in range(3000):
            if client.received and len(client.received) == len(lines):
                break
            sim_asyncore.loop(timeout=0.05, use_poll=use_poll, map=m, count=5)
        assert client.received == lines
        assert client._fileno is None and not client.connected
    finally:
        sim_asyncore.close_all(m)
    assert m == {}
