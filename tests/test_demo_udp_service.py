"""Demonstration: a UDP request/response service under datagram faults.

An SNMP-like agent (an asyncore dispatcher on a UDP socket) answers each
request ``b"<id> <payload>"`` with ``b"<id> <PAYLOAD>"``; a client
dispatcher sends its requests one at a time over a connected UDP socket
and, when no answer came within a virtual-time timeout, sends the same
request (same id) again, up to ``RETRIES`` times, then reports a time-out.

The property, over Hypothesis' datagram fault plans (loss, duplication,
reordering, delay): *every request is answered exactly once, with its own
answer, or the client reports a time-out for it*.  The correct client
holds it for every plan.  A client with a planted bug, one that takes
whatever datagram arrives while it waits as the answer to its current
request (so a duplicated or late answer to an earlier request counts as a
fresh one), breaks it, and Hypothesis finds a plan that shows it and
shrinks that plan to a single rule: one datagram delivered twice.
"""

from __future__ import annotations

import socket
from typing import Callable, Dict, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, find, given, settings

import asyncore_sim as asyncore
from asyncore_sim.testing.strategies import datagram_fault_plans
from fake_net import (
    DropDatagram,
    DuplicateDatagram,
    FaultPlan,
    ReorderDatagrams,
)

REQUESTS = [b"sysName", b"sysUpTime", b"ifNumber"]
TIMEOUT = 1.0  # virtual seconds before a retry
RETRIES = 2  # so at most 3 attempts per request
LATENCY = 0.01
MAX_PASSES = 5000

SETTINGS = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


class Agent(asyncore.dispatcher):
    """Answers every request datagram (duplicates too: answering is
    idempotent) with the request's id and its payload upper-cased."""

    def __init__(self, map):
        super().__init__(map=map)
        self.create_socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.bind(("127.0.0.1", 1161))
        self.requests_seen = 0

    def writable(self):
        return False

    def handle_read(self):
        data, peer = self.socket.recvfrom(2048)
        self.requests_seen += 1
        rid, _, payload = data.partition(b" ")
        self.socket.sendto(rid + b" " + payload.upper(), peer)


class Client(asyncore.dispatcher):
    """Sends each request, retries it on a timeout, keeps what it accepted.

    ``answers[i]``: the answers accepted for request ``i``; ``timed_out``:
    the requests it gave up on.  An answer whose id is not the request's is
    dropped as stale (a duplicate, or one that came after a retry).
    """

    def __init__(self, map, address, requests, clock: Callable[[], float]):
        super().__init__(map=map)
        self.create_socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.connect(address)
        self.clock = clock
        self.todo: List[Tuple[int, bytes]] = list(enumerate(requests))
        self.current: Optional[Tuple[int, bytes]] = None
        self.attempts = 0
        self.deadline = 0.0
        self.answers: Dict[int, List[bytes]] = {}
        self.timed_out: List[int] = []

    @property
    def done(self) -> bool:
        return self.current is None and not self.todo

    def handle_connect(self):
        pass

    def writable(self):
        if self.current is None:
            return bool(self.todo)
        return self.clock() >= self.deadline

    def handle_write(self):
        if self.current is not None and self.clock() >= self.deadline:
            if self.attempts > RETRIES:
                self.timed_out.append(self.current[0])
                self.current = None
            else:
                self._send()
                return
        self._next()

    def _next(self):
        """The next request goes out at once (from a write or a read)."""
        if self.current is None and self.todo:
            self.current = self.todo.pop(0)
            self.attempts = 0
            self._send()

    def _send(self):
        assert self.current is not None
        rid, payload = self.current
        self.attempts += 1
        self.deadline = self.clock() + TIMEOUT
        self.send(b"%d %s" % (rid, payload))

    def handle_read(self):
        data = self.socket.recv(2048)
        rid, _, _ = data.partition(b" ")
        if self.current is not None and self.accepts(int(rid)):
            self.answers.setdefault(self.current[0], []).append(data)
            self.current = None
            self._next()

    def accepts(self, rid: int) -> bool:
        assert self.current is not None
        return rid == self.current[0]


class TrustingClient(Client):
    """The planted bug: any datagram that arrives while a request waits is
    taken as its answer, a duplicate of an earlier answer included."""

    def accepts(self, rid: int) -> bool:
        return True


def run_service(plan: FaultPlan, client_cls=Client):
    net = plan.network(seed=0, latency=LATENCY, register_random=False)
    map = net.map()
    agent = Agent(map)
    client = client_cls(map, ("127.0.0.1", 1161), REQUESTS, net.monotonic)
    for _ in range(MAX_PASSES):
        if client.done:
            break
        asyncore.loop(map=map, timeout=0.05, count=1)
    else:
        raise AssertionError("the client never finished under %r" % (plan,))
    asyncore.close_all(map)
    return net, agent, client


def holds(client: Client) -> bool:
    """Each request: answered exactly once with its own answer, or a
    time-out reported (and not both)."""
    for rid, payload in enumerate(REQUESTS):
        got = client.answers.get(rid, [])
        expected = [b"%d %s" % (rid, payload.upper())]
        if rid in client.timed_out:
            if got:
                return False
        elif got != expected:
            return False
    return True


def test_without_faults_every_request_is_answered_once():
    net, agent, client = run_service(FaultPlan())
    assert holds(client)
    assert client.timed_out == []
    assert agent.requests_seen == len(REQUESTS)
    assert net.now < TIMEOUT  # no retry was needed


def test_a_lost_request_is_retried_and_a_lost_service_times_out():
    # The first request is lost once: one retry, a second later.
    net, agent, client = run_service(FaultPlan(datagrams=[DropDatagram(times=1)]))
    assert holds(client) and client.timed_out == []
    assert agent.requests_seen == len(REQUESTS)
    assert TIMEOUT <= net.now < 2 * TIMEOUT
    # Every datagram is lost: each request times out after its retries.
    net, agent, client = run_service(FaultPlan(datagrams=[DropDatagram()]))
    assert holds(client)
    assert client.timed_out == [0, 1, 2]
    assert agent.requests_seen == 0
    assert net.now >= len(REQUESTS) * (RETRIES + 1) * TIMEOUT


def test_the_planted_bug_breaks_on_a_duplicate_the_correct_client_does_not():
    plan = FaultPlan(datagrams=[DuplicateDatagram(times=1)])
    _, _, good = run_service(plan)
    assert holds(good)
    _, _, bad = run_service(plan, TrustingClient)
    assert not holds(bad)
    assert bad.answers[1] == [b"0 SYSNAME"]  # request 0's answer, taken for 1's


@SETTINGS
@given(plan=datagram_fault_plans(max_skip=6))
def test_the_correct_client_answers_once_or_times_out_under_every_plan(plan):
    _, _, client = run_service(plan)
    assert holds(client), (plan, client.answers, client.timed_out)


def test_reordered_answers_are_matched_by_id():
    plan = FaultPlan(datagrams=[ReorderDatagrams(window=1, hold=3.0, times=1)])
    net, _, client = run_service(plan)
    assert holds(client)
    assert any(line.split()[1] == "fault" for line in net.event_lines())


@pytest.mark.parametrize("client_cls", [Client, TrustingClient])
def test_hypothesis_finds_the_planted_bug_and_shrinks_it(client_cls):
    def breaks(plan):
        return not holds(run_service(plan, client_cls)[2])

    strategy = datagram_fault_plans(max_skip=6)
    search = settings(SETTINGS, max_examples=300)
    if client_cls is Client:
        from hypothesis.errors import NoSuchExample

        with pytest.raises(NoSuchExample):
            find(strategy, breaks, settings=search)
        return
    plan = find(strategy, breaks, settings=search)
    assert plan.size == 1, plan
    (rule,) = plan.datagrams
    assert isinstance(rule, DuplicateDatagram), plan
    assert rule.times == 1 and rule.copies == 1, plan
    assert breaks(plan)  # and the shrunk plan still shows the bug
