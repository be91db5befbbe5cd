"""Links: latency and capacity of in-process connections (issue 16, item 2).

``FakeNetwork(links=[Link(...)])`` and the scenario directive ``link``:
per-port or per-connection data latency (each way), capacity (each way)
and accept latency.  Off, nothing changes; with the cost model on, the
conformance suite still passes with links set.
"""

from __future__ import annotations

import math
import select
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, List, Tuple

import pytest

import asyncore_sim as asyncore
import fake_net
from asyncore_sim.trace.scenario import ScenarioError, build_network, load_scenario
from fake_net import Cost, FakeNetwork, Link, conformance

IN, OUT = select.POLLIN, select.POLLOUT


# -- Link, the value ----------------------------------------------------------


def test_link_defaults_change_nothing() -> None:
    link = Link()
    assert link.delays() == (0.0, 0.0)
    assert (link.port, link.conn, link.capacity, link.accept_latency) == (
        None,
        None,
        None,
        0.0,
    )
    assert Link(latency=1e-3, latency_to_client=2e-3).delays() == (1e-3, 2e-3)
    assert Link(latency=1e-3, latency_to_server=0).delays() == (0.0, 1e-3)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"latency": -1e-6}, "latency"),
        ({"latency": math.inf}, "latency"),
        ({"latency": math.nan}, "latency"),
        ({"latency": "1ms"}, "latency"),
        ({"latency": True}, "latency"),
        ({"latency_to_server": -1.0}, "latency_to_server"),
        ({"latency_to_client": "x"}, "latency_to_client"),
        ({"accept_latency": -1.0}, "accept_latency"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 1.5}, "capacity"),
        ({"capacity_to_server": -3}, "capacity_to_server"),
        ({"capacity_to_client": True}, "capacity_to_client"),
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"conn": -1}, "conn"),
    ],
)
def test_link_refuses_bad_values_naming_the_argument(kwargs: Any, name: str) -> None:
    with pytest.raises(ValueError, match=r"Link\(%s=" % name):
        Link(**kwargs)


@pytest.mark.parametrize("bad", [Link, "port=80", {"port": 80}, [Link(), 3]])
def test_network_refuses_links_that_are_not_links(bad: Any) -> None:
    with pytest.raises(ValueError, match="links"):
        FakeNetwork(links=bad, world=False)


def test_exported() -> None:
    assert fake_net.Link is Link and "Link" in fake_net.__all__


# -- what a link does -----------------------------------------------------------


def _connected(net: FakeNetwork, port: int = 8080) -> Tuple[Any, Any, Any]:
    """A listener on ``port``, a client connected to it, the accepted end."""
    lst = net.socket()
    lst.bind(("127.0.0.1", port))
    lst.listen(5)
    lst.setblocking(False)
    cli = net.socket()
    cli.setblocking(False)
    assert cli.connect_ex(("127.0.0.1", port)) in (0, 115)
    net.sleep(1.0)
    srv, _ = lst.accept()
    srv.setblocking(False)
    return lst, cli, srv


def test_without_links_data_is_readable_at_once() -> None:
    net = FakeNetwork(world=False)
    _, cli, srv = _connected(net)
    cli.send(b"hello")
    assert srv.recv(100) == b"hello"


def test_latency_delays_data_by_that_much_virtual_time() -> None:
    net = FakeNetwork(links=[Link(latency=50e-6)], world=False)
    _, cli, srv = _connected(net)
    t0 = net.now
    cli.send(b"hel")
    cli.send(b"lo")
    with pytest.raises(BlockingIOError):
        srv.recv(100)
    net.sleep(49e-6)
    with pytest.raises(BlockingIOError):
        srv.recv(100)
    net.sleep(2e-6)
    assert net.now - t0 == pytest.approx(51e-6)
    assert srv.recv(100) == b"hello"  # in order, both segments
    srv.send(b"back")
    with pytest.raises(BlockingIOError):
        cli.recv(100)
    net.sleep(50e-6)
    assert cli.recv(100) == b"back"


def test_latency_each_way_and_the_fin_follows_the_data() -> None:
    net = FakeNetwork(
        links=[Link(latency_to_server=0.0, latency_to_client=1e-3)], world=False
    )
    _, cli, srv = _connected(net)
    cli.send(b"up")
    assert srv.recv(10) == b"up"  # no latency that way
    srv.send(b"down")
    srv.close()
    with pytest.raises(BlockingIOError):
        cli.recv(10)
    net.sleep(1e-3)
    assert cli.recv(10) == b"down"
    assert cli.recv(10) == b""


def test_capacity_bounds_each_direction() -> None:
    net = FakeNetwork(links=[Link(capacity=100, capacity_to_client=10)], world=False)
    _, cli, srv = _connected(net)
    assert cli.send(b"x" * 500) == 100
    with pytest.raises(BlockingIOError):
        cli.send(b"x")
    assert srv.send(b"y" * 500) == 10
    assert len(srv.recv(1000)) == 100
    assert cli.send(b"x" * 500) == 100


def test_links_choose_connections_by_port_then_conn_first_match_wins() -> None:
    net = FakeNetwork(
        links=[Link(port=9000, capacity=7), Link(conn=1, capacity=3), Link(capacity=5)],
        world=False,
    )
    _, c0, _ = _connected(net, 8080)  # conn 0: the catch-all link
    _, c1, _ = _connected(net, 8081)  # conn 1
    _, c2, _ = _connected(net, 9000)  # conn 2, port 9000
    assert [c.send(b"z" * 50) for c in (c0, c1, c2)] == [5, 3, 7]


def test_a_scripted_servers_connection_takes_its_link_too() -> None:
    net = FakeNetwork(links=[Link(port=80, latency=1e-3)], world=False)
    remote = net.add_remote("www.python.org", 80)
    remote.at(0.0, "send", b"hello")
    cli = net.socket()
    cli.connect(("www.python.org", 80))
    cli.setblocking(False)
    with pytest.raises(BlockingIOError):
        cli.recv(10)
    net.sleep(1e-3)
    assert cli.recv(10) == b"hello"
    cli.send(b"req")
    assert remote.received() == b""
    net.sleep(1e-3)
    assert remote.received() == b"req"


def test_accept_latency_delays_only_the_listener() -> None:
    net = FakeNetwork(links=[Link(port=8080, accept_latency=20e-6)], world=False)
    lst = net.socket()
    lst.bind(("127.0.0.1", 8080))
    lst.listen(1)
    lst.setblocking(False)
    cli = net.socket()
    cli.setblocking(False)
    cli.connect_ex(("127.0.0.1", 8080))
    poller = net.poller("poll")
    answer = dict(poller.wait([cli.fileno(), lst.fileno()], [OUT, IN], True, (), 0.0))
    assert answer.get(cli.fileno(), 0) & OUT  # the client is connected
    assert lst.fileno() not in answer  # the listener does not see it yet
    with pytest.raises(BlockingIOError):
        lst.accept()
    cli.send(b"early")
    net.sleep(20e-6)
    srv, _ = lst.accept()
    assert srv.recv(10) == b"early"


def test_accept_latency_on_a_listener_closed_meanwhile_resets_the_client() -> None:
    net = FakeNetwork(links=[Link(accept_latency=1e-3)], world=False)
    lst = net.socket()
    lst.bind(("127.0.0.1", 8080))
    lst.listen(1)
    cli = net.socket()
    cli.setblocking(False)
    cli.connect_ex(("127.0.0.1", 8080))
    lst.close()
    net.sleep(2e-3)
    with pytest.raises(ConnectionResetError):
        cli.recv(10)
    cli.close()
    assert net.open_fds() == []


class _Writer(asyncore.dispatcher):
    """Always writable: a byte a pass on its own pair (a busy producer)."""

    def __init__(self, sock: Any, map: Any) -> None:
        asyncore.dispatcher.__init__(self, sock, map=map)

    def writable(self) -> bool:
        return True

    def handle_write(self) -> None:
        self.send(b".")

    def handle_read(self) -> None:
        self.recv(4096)


class _Reader(asyncore.dispatcher):
    def __init__(self, sock: Any, map: Any, log: List[int]) -> None:
        asyncore.dispatcher.__init__(self, sock, map=map)
        self.log = log

    def writable(self) -> bool:
        return False

    def handle_read(self) -> None:
        self.recv(4096)
        self.log.append(self.pass_no)


def _pass_data_is_read(cost: Any, latency: float) -> List[int]:
    net = FakeNetwork(cost=cost, links=[Link(latency=latency)], world=False)
    m = net.map()
    log: List[int] = []
    busy = net.socketpair()  # conn 0
    src, dst = net.socketpair()  # conn 1
    _Writer(busy[0], m)
    reader = _Reader(dst, m, log)
    src.send(b"data")
    for n in range(6):
        reader.pass_no = n  # type: ignore[attr-defined]
        asyncore.loop(timeout=0.0, map=m, count=1, use_poll=True)
    for s in (busy[1], src):
        s.close()
    asyncore.close_all(map=m)
    return log


def test_latency_lands_between_busy_passes_only_with_the_cost_model() -> None:
    # Off: time stands still while the writer is busy; the data never lands.
    assert _pass_data_is_read(None, 50e-6) == []
    # With the cost model, each pass takes 20 us: the data lands at the
    # third wait (60 us); with no latency, at the first.
    cost = Cost(wait=20e-6)
    assert _pass_data_is_read(cost, 50e-6) == [2]
    assert _pass_data_is_read(cost, 0.0) == [0]


def test_no_links_no_change_in_the_event_log() -> None:
    def run(**kw: Any) -> List[str]:
        net = FakeNetwork(seed=3, world=False, **kw)
        _, cli, srv = _connected(net)
        cli.send(b"abc")
        net.sleep(0.01)
        srv.send(srv.recv(10))
        net.sleep(0.01)
        cli.recv(10)
        return net.event_lines()

    assert run() == run(links=())
    # A link that sets nothing is the same run too.
    assert run() == run(links=[Link(port=8080)])
    assert run() != run(links=[Link(capacity=2)])


# -- conformance with the cost model and links on -------------------------------


def _with_links(seed: int) -> Callable[[], Any]:
    def make() -> Any:
        return FakeNetwork(
            seed=seed,
            cost=Cost(wait=20e-6, send=5e-6, recv=5e-6),
            links=[Link(latency=30e-6, accept_latency=10e-6)],
        )

    return make


def _loopback_cost() -> Any:
    return FakeNetwork(cost=Cost.loopback())


@pytest.mark.parametrize(
    "make_net",
    [_with_links(0), _with_links(7), _loopback_cost],
    ids=["s0", "s7", "loopback"],
)
@pytest.mark.parametrize(
    "check", conformance.CHECKS, ids=[c.__name__ for c in conformance.CHECKS]
)
def test_conformance_with_cost_and_links(
    check: Callable[[Any], None], make_net: Any
) -> None:
    net = make_net()
    check(net)
    assert net.open_fds() == [], net.netstat()


# -- the scenario directive --------------------------------------------------------


@pytest.fixture
def scenario(tmp_path: Path) -> Callable[[str], str]:
    (tmp_path / "prog.py").write_text("print('hello')\n")
    (tmp_path / "out.expected").write_text("hello\n")

    def write(body: str) -> str:
        path = tmp_path / "s.scenario"
        path.write_text("program prog.py\nexpect out.expected\n" + body)
        return str(path)

    return write


def test_link_directive_reads_a_table(scenario: Callable[[str], str]) -> None:
    scn = load_scenario(
        scenario(
            "link port=8080 latency=50us capacity=4096 accept_latency=20us\n"
            "link conn=2 latency_to_client=1ms capacity_to_server=10\n"
        )
    )
    assert scn.links == [
        Link(port=8080, latency=50e-6, capacity=4096, accept_latency=20e-6),
        Link(conn=2, latency_to_client=1e-3, capacity_to_server=10),
    ]
    net = build_network(scn)
    assert net._link_table == tuple(scn.links)
    assert load_scenario(scenario("")).links == []


@pytest.mark.parametrize(
    "line, message",
    [
        ("link\n", "usage: link"),
        ("link fast\n", "unknown setting 'fast'"),
        ("link speed=1\n", "unknown setting 'speed=1'"),
        ("link latency=5\n", "bad time"),
        ("link latency=-5us\n", "bad time"),
        ("link capacity=0\n", "capacity must be 1 or more"),
        ("link capacity=4k\n", "capacity must be a whole number"),
        ("link port=0\n", "port must be within 1..65535"),
        ("link conn=-1\n", "conn must be 0 or more"),
        ("link latency=1us latency=2us\n", "latency given twice"),
    ],
)
def test_link_directive_errors_name_file_and_line(
    scenario: Callable[[str], str], line: str, message: str
) -> None:
    path = scenario(line)
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(path)
    assert str(info.value).startswith(path + ":3:")


def test_cli_reports_a_bad_link_line_cleanly(scenario: Callable[[str], str]) -> None:
    path = scenario("link latency=soon\n")
    proc = subprocess.run(
        [sys.executable, "-m", "asyncore_sim", "check", path],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "asyncore-sim: error: %s:3: bad time" % path in proc.stderr
    assert "Traceback" not in proc.stderr
