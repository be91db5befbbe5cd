"""Demonstration: ``http.client`` and ``urllib.request``, unmodified, fetch
pages from an asynchat HTTP server inside one simulated world.

The server puts ``Date:`` in every response from ``time.time()``; in the
world that is the network's epoch plus virtual time, so the response, and
the whole run's trace, is the same every time.
"""

from __future__ import annotations

import http.client
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, List, Tuple

import pytest

from asyncore_sim.testing import simulate
from fake_net import FaultPlan, Match

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "world"))
from http_server import HTTPServer  # noqa: E402

PAGES = {"/": b"front page\n", "/big": b"".join(b"%06d\n" % i for i in range(20000))}
ADDRESS = ("192.0.2.80", 80)


def _fetch_all(
    plan: Any = None, seed: int = 0, drawn: bool = False
) -> Tuple[Any, List[Any]]:
    # drawn: the plan came from FaultPlan.random (its unused entries are
    # not the test's doing, so no UnfiredFaultWarning).
    with simulate(plan, seed=seed, drawn=drawn) as sim:
        sim.net.names["www.example"] = ADDRESS[0]
        server = HTTPServer(ADDRESS, PAGES)
        got: List[Any] = []
        conn = http.client.HTTPConnection("www.example", 80, timeout=10)
        conn.request("GET", "/")
        response = conn.getresponse()
        got.append((response.status, response.getheader("Date"), response.read()))
        conn.close()
        # urllib.request, with no proxy whatever the environment says.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open("http://www.example/big", timeout=10) as page:
            got.append((page.status, page.headers["Date"], page.read()))
        try:
            opener.open("http://www.example/nowhere", timeout=10)
        except urllib.error.HTTPError as exc:
            got.append((exc.code, exc.headers["Date"], exc.read()))
            exc.close()
        sim.run()
        assert server.requests == [("GET", "/"), ("GET", "/big"), ("GET", "/nowhere")]
        server.close()
    return sim, got


def test_http_client_and_urllib_fetch_pages_with_a_virtual_date() -> None:
    _, got = _fetch_all()
    # The network's epoch, 2001-09-09 01:46:40 UTC, plus no time at all.
    date = "Sun, 09 Sep 2001 01:46:40 GMT"
    assert got == [
        (200, date, PAGES["/"]),
        (200, date, PAGES["/big"]),
        (404, date, b"no such page\n"),
    ]


def test_two_runs_give_the_same_trace() -> None:
    first, _ = _fetch_all(FaultPlan(sends=(7, None, 100), reads=(3, 50)))
    second, _ = _fetch_all(FaultPlan(sends=(7, None, 100), reads=(3, 50)))
    assert first.trace.dumps() == second.trace.dumps()


@pytest.mark.parametrize("side", ["client", "server"])
@pytest.mark.parametrize("seed", range(6))
def test_pages_arrive_whole_under_cuts_and_delays(side: str, seed: int) -> None:
    drawn = FaultPlan.random(seed, closes=False, oob=False, connect=False)
    plan = FaultPlan(
        sends=drawn.sends,
        reads=drawn.reads,
        delays=drawn.delays,
        match=Match(side=side),
    )
    _, got = _fetch_all(plan, seed=seed, drawn=True)
    assert [(status, body) for status, _, body in got] == [
        (200, PAGES["/"]),
        (200, PAGES["/big"]),
        (404, b"no such page\n"),
    ], plan
