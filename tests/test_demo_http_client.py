"""Demonstration: PyMOTW's documented HTTP client under arbitrary response cuts,
delays, early closes and resets on fake_net.  Cuts and delays never change what
it collects; after an early close, or a reset once data flowed, it keeps exactly
the bytes that arrived and closes once, quietly.  That is its defect: HTTP/1.0
ends a response by closing and the client never checks Content-Length, so a
truncated response looks just like a complete one (Hypothesis' minimal plan:
the server closes at byte 0).  A reset before the connect is reported goes to
handle_error under select() but handle_close under poll(), as in CPython 3.11.
"""

from __future__ import annotations

import importlib.util
import logging
import pathlib
import select
from typing import Any, List, NamedTuple, Optional, Tuple

import pytest
import stdlib_ref
from hypothesis import find, given, settings
from hypothesis import strategies as st
from stdlib_ref import STD_ASYNCORE

from asyncore_sim import asyncore as sim_asyncore
from asyncore_sim.testing.strategies import cuts, delay_scripts, fault_plans
from asyncore_sim.testing import simulate
from asyncore_sim.trace import Err
from fake_net import FakeNetwork, FaultPlan, Match, StreamEnd

EXAMPLE = (
    pathlib.Path(__file__).resolve().parent.parent
    / "examples"
    / "pymotw"
    / "asyncore_http_client.py"
)


def _load_example() -> Any:
    # Not a package, and its __main__ block must not run: load it by path
    # under a name of its own.
    spec = importlib.util.spec_from_file_location("pymotw_http_client", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


http_client = _load_example()
HttpClient = http_client.HttpClient

URL = "http://www.python.org/"
REQUEST = b"GET http://www.python.org/ HTTP/1.0\r\n\r\n"
BODY = bytes(range(256)) * 47  # 12032 bytes: more than one recv(8192)
HEAD = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % (
    len(BODY)
)
RESPONSE = HEAD + BODY
FIRST_SEGMENT = 9000  # bigger than 8192 too
# The web server answers 100 ms after it accepts, whether or not the request
# is there (it is scripted by time): later than any request delay drawn here.
ANSWER_AT = 0.1
MAX_DELAY = 0.05

CLIENT = Match(side="client")
SERVER = Match(side="server")

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True, database=None)


@pytest.fixture(autouse=True, scope="module")
def _quiet_client_logger():
    # The client logs every callback at DEBUG under a logger named by its URL.
    logger = logging.getLogger(URL)
    saved = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(saved)


class CheckingHttpClient(HttpClient):
    """The documented client plus the check HTTP/1.0 leaves to the client: a
    response is complete only if its body is as long as Content-Length says.
    (Without a Content-Length no client can tell; this one then says no.)"""

    complete = False

    def handle_close(self) -> None:
        self.complete = is_complete(self.read_buffer.getvalue())
        HttpClient.handle_close(self)


def is_complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/"):
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return value.strip().isdigit() and len(body) == int(value)
    return False


class Run(NamedTuple):
    client: Any
    body: bytes  # what the client collected in read_buffer
    received: bytes  # what the web server got on the connection
    callbacks: List[str]  # handle_* callbacks asyncore made, in order
    handle_closes: int  # calls of client.handle_close(), from anywhere
    closes: int  # close() calls on the client's socket
    io_errors: List[Tuple[str, str]]  # (call, errno name) of failed send/recv
    reads: List[int]  # sizes of the recv() calls that returned data or EOF
    logged: List[Tuple[str, str]]  # dispatcher.log_info() calls
    map_empty: bool  # the socket map, once the run settled

    def count(self, name: str) -> int:
        return self.callbacks.count(name)


def run_client(
    plan: FaultPlan,
    server_plan: Optional[FaultPlan] = None,
    client_class: Any = HttpClient,
    use_poll: bool = False,
) -> Run:
    """One fetch of URL on fake_net: the web server sends RESPONSE in two
    segments and closes, one step each from ANSWER_AT on, as the documented
    runs script it; ``plan`` is installed after ``server_plan``."""
    net = FakeNetwork(seed=0)
    web = net.add_remote("www.python.org", 80)
    web.at(ANSWER_AT, "send", RESPONSE[:FIRST_SEGMENT])
    web.at(ANSWER_AT + 0.001, "send", RESPONSE[FIRST_SEGMENT:])
    web.at(ANSWER_AT + 0.002, "close")
    if server_plan is not None:
        server_plan.install(net)
    logged: List[Tuple[str, str]] = []
    with simulate(plan, network=net) as sim:
        client = client_class(URL)
        # Record what handle_error would print, and count handle_close calls
        # (both still do what they did).
        client.log_info = lambda message, type="info": logged.append((type, message))
        handle_closes = []
        documented_handle_close = client.handle_close

        def counting_handle_close() -> None:
            handle_closes.append(sim.net.now)
            documented_handle_close()

        client.handle_close = counting_handle_close
        sim.run(use_poll=use_poll)
        map_empty = not sim.map
    events = sim.trace.events
    return Run(
        client=client,
        body=client.read_buffer.getvalue(),
        received=web.received(),
        callbacks=[e.kind for e in events if e.kind.startswith("handle_")],
        handle_closes=len(handle_closes),
        closes=sum(e.kind == "close" for e in events),
        io_errors=[
            (e.kind, str(e.result[0]))
            for e in events
            if e.kind in ("send", "recv") and e.result and isinstance(e.result[0], Err)
        ],
        reads=[
            len(e.result[0])
            for e in events
            if e.kind == "recv" and e.result and isinstance(e.result[0], bytes)
        ],
        logged=logged,
        map_empty=map_empty,
    )


def assert_closed_once(run: Run) -> None:
    assert run.handle_closes == 1
    assert run.closes == 1
    assert run.map_empty  # the run ended: nothing left in the socket map


def test_fault_free_run_fetches_the_whole_response():
    run = run_client(FaultPlan())
    assert run.body == RESPONSE
    assert run.received == REQUEST
    # recv(8192) takes the 9000-byte segment in two reads; the empty read ends it.
    assert run.reads == [8192, FIRST_SEGMENT - 8192, len(RESPONSE) - FIRST_SEGMENT, 0]
    assert run.callbacks == ["handle_connect", "handle_write"] + ["handle_read"] * 4 + [
        "handle_close"
    ]
    assert run.io_errors == [] and run.logged == []
    assert_closed_once(run)


# -- 1. cuts and delays change nothing ------------------------------------------

client_cuts = st.builds(
    FaultPlan,
    sends=cuts(max_size=len(REQUEST), would_block=True),
    reads=cuts(max_calls=12, max_size=9000),
    delays=delay_scripts(max_delay=MAX_DELAY),
    match=st.just(CLIENT),
)
response_delays = fault_plans(
    sends=False, reads=False, max_delay=MAX_DELAY, match=SERVER
)


@SETTINGS
@given(plan=client_cuts, server_plan=response_delays)
def test_cuts_and_delays_deliver_the_response_byte_for_byte(plan, server_plan):
    run = run_client(plan, server_plan)
    assert run.body == RESPONSE
    assert run.received == REQUEST
    assert_closed_once(run)
    assert run.count("handle_error") == 0 and run.logged == []
    # EWOULDBLOCK from a send cut to 0 is the only failed call there may be.
    assert set(run.io_errors) <= {("send", "EAGAIN")}


# -- 2. an early close: exactly the bytes before it, one close, no error --------


@SETTINGS
@given(
    k=st.integers(0, len(RESPONSE)),
    reads=cuts(max_calls=12, max_size=9000),
)
def test_early_close_keeps_exactly_the_bytes_before_it(k, reads):
    run = run_client(FaultPlan(reads=reads, end=StreamEnd("close", k), match=CLIENT))
    assert run.body == RESPONSE[:k]
    # A close at byte 0 comes with the connection: the client reads the EOF
    # before it ever writes (select() lists reads first), so the request is
    # never sent.  Later closes come after the request went out.
    assert run.received == (REQUEST if k else b"")
    assert_closed_once(run)
    assert run.count("handle_error") == 0 and run.logged == []
    assert run.io_errors == []  # the EOF is an empty read, not an error


# -- 3. a reset -----------------------------------------------------------------


@SETTINGS
@given(
    k=st.integers(1, len(RESPONSE)),
    reads=cuts(max_calls=12, max_size=9000),
)
def test_reset_after_data_looks_like_a_close(k, reads):
    # The bytes that arrived before the RST are still read; the next recv
    # fails with ECONNRESET, which dispatcher.recv() turns into handle_close()
    # and b"" (CPython 3.11: ECONNRESET is in _DISCONNECTED).  The client
    # cannot tell this from the server's normal close.
    run = run_client(FaultPlan(reads=reads, end=StreamEnd("reset", k), match=CLIENT))
    assert run.body == RESPONSE[:k]
    assert run.received == REQUEST
    assert run.io_errors == [("recv", "ECONNRESET")]
    assert_closed_once(run)
    assert run.count("handle_error") == 0 and run.logged == []


def test_reset_before_the_connect_is_reported_goes_to_handle_error_with_select():
    # A reset at byte 0 comes with the connection: SO_ERROR says ECONNRESET
    # when handle_connect_event() looks, and it raises OSError.  Under select()
    # asyncore's read() sends every exception to handle_error(), whose default
    # logs "uncaptured python exception" and closes.
    run = run_client(FaultPlan(end=StreamEnd("reset", 0), match=CLIENT))
    # handle_error() itself calls handle_close(), so asyncore makes one call.
    assert run.callbacks == ["handle_error"]
    assert_closed_once(run)
    ((kind, message),) = run.logged
    assert kind == "error"
    assert "uncaptured python exception" in message
    assert "ConnectionResetError" in message
    assert run.body == b"" and run.received == b""
    assert run.io_errors == []


def test_reset_before_the_connect_is_reported_goes_to_handle_close_with_poll():
    # Under poll(), readwrite() maps an OSError whose errno is in _DISCONNECTED
    # to handle_close(): the same reset is a quiet close.
    run = run_client(FaultPlan(end=StreamEnd("reset", 0), match=CLIENT), use_poll=True)
    assert run.callbacks == ["handle_close"]
    assert run.logged == []
    assert_closed_once(run)
    assert run.body == b"" and run.received == b""


class _Raises:
    """A stand-in dispatcher whose read event fails with ``exc``."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.calls: List[str] = []

    def handle_read_event(self) -> None:
        raise self.exc

    def handle_error(self) -> None:
        self.calls.append("handle_error")

    def handle_close(self) -> None:
        self.calls.append("handle_close")


def test_select_and_poll_dispatch_disagree_on_a_reset_as_in_cpython():
    def run(core: Any) -> Tuple[List[str], List[str]]:
        by_read = _Raises(ConnectionResetError(104, "Connection reset by peer"))
        core.read(by_read)
        by_readwrite = _Raises(ConnectionResetError(104, "Connection reset by peer"))
        core.readwrite(by_readwrite, select.POLLIN)
        return by_read.calls, by_readwrite.calls

    ours = stdlib_ref.compare(run, sim_asyncore, STD_ASYNCORE)  # recorded on 3.12+
    assert ours == (["handle_error"], ["handle_close"])


# -- the defect: a truncated response is accepted as a whole one ----------------


def reports_success(run: Run) -> bool:
    """All the documented program can say: the fetch ended without an error
    (it then prints "<url> got N bytes")."""
    return run.count("handle_error") == 0 and not run.logged


ending_plans = fault_plans(
    closes=True, resets=True, max_offset=len(RESPONSE), match=CLIENT
)


def test_documented_client_cannot_tell_a_truncated_response():
    # Property "whenever the client reports success it holds the whole
    # response": Hypothesis falsifies it and shrinks to the smallest plan.
    def accepted_truncation(plan: FaultPlan) -> bool:
        run = run_client(plan)
        return reports_success(run) and run.body != RESPONSE

    minimal = find(
        ending_plans,
        accepted_truncation,
        settings=settings(max_examples=200, derandomize=True, database=None),
    )
    assert minimal == FaultPlan(end=StreamEnd("close", 0), match=CLIENT)
    assert minimal.size == 1

    # It is not about the request never going out: a response cut one byte
    # short of its end is reported the same way as the complete one.
    whole = run_client(FaultPlan())
    short = run_client(
        FaultPlan(end=StreamEnd("close", len(RESPONSE) - 1), match=CLIENT)
    )
    assert short.body == RESPONSE[:-1]
    assert reports_success(short) and reports_success(whole)
    assert short.callbacks == whole.callbacks
    assert short.received == whole.received == REQUEST

    # Checking Content-Length tells them apart.
    assert run_client(FaultPlan(), client_class=CheckingHttpClient).client.complete
    cut = FaultPlan(end=StreamEnd("close", len(RESPONSE) - 1), match=CLIENT)
    assert not run_client(cut, client_class=CheckingHttpClient).client.complete


@SETTINGS
@given(plan=ending_plans)
def test_checking_client_knows_whether_it_got_the_whole_response(plan):
    run = run_client(plan, client_class=CheckingHttpClient)
    assert run.client.complete == (run.body == RESPONSE)
    assert run.body == RESPONSE[: len(run.body)]
    assert run.map_empty


# -- 4. the server goes away before the request is all there -------------------

request_cuts = cuts(max_size=len(REQUEST) - 1, would_block=True)


@SETTINGS
@given(k=st.integers(1, len(REQUEST) - 1), sends=request_cuts)
def test_reset_while_the_request_arrives(k, sends):
    # The web server's end is reset once k bytes of the request reached it
    # (a reset hits both ends).  The client's send() of those bytes has
    # already returned; the documented client's readable() is always True and
    # select() lists reads first, so it learns of the reset from recv()
    # (ECONNRESET -> handle_close), never from send(): the EPIPE branch of
    # dispatcher.send() is not reached.
    run = run_client(
        FaultPlan(sends=sends, match=CLIENT),
        server_plan=FaultPlan(end=StreamEnd("reset", k), match=SERVER),
    )
    assert run.received == REQUEST[:k]
    assert run.body == b""
    assert [e for e in run.io_errors if e != ("send", "EAGAIN")] == [
        ("recv", "ECONNRESET")
    ]
    assert_closed_once(run)
    assert run.count("handle_error") == 0 and run.logged == []


@SETTINGS
@given(sends=request_cuts)
def test_close_at_byte_zero_while_the_request_is_cut(sends):
    # The server has closed (and gone: a later segment would be answered with
    # an RST) before the client wrote a byte.  However its sends would be cut,
    # the client reads the EOF first and closes without sending anything, so
    # the EPIPE a send would meet never happens.  CPython 3.11's asyncore is the
    # same: poll() handles the read list before the write list, and its send()
    # would map EPIPE to handle_close() anyway (EPIPE is in _DISCONNECTED).
    run = run_client(FaultPlan(sends=sends, end=StreamEnd("close", 0), match=CLIENT))
    assert run.received == b""
    assert run.client.write_buffer == REQUEST  # still unsent
    assert run.callbacks == ["handle_connect", "handle_read", "handle_close"]
    assert run.io_errors == [] and run.logged == []
    assert_closed_once(run)
