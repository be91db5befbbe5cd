"""The simulated world: the process's socket, select, time and os answer from
fake_net while a network is active, and everything is put back afterwards."""

from __future__ import annotations

import io
import os
import select
import selectors
import socket
import sys
import tempfile
import threading
import time
import types
from typing import Any, List

import pytest

import asyncore_sim as asyncore
from fake_net import FakeNetwork, SimulationError, SimulationStuck
from fake_net._world import WORLD_FIRST_FD, WorldThreadError, active_world

REAL = {
    "socket.socket": socket.socket,
    "socket.getaddrinfo": socket.getaddrinfo,
    "select.select": select.select,
    "time.time": time.time,
    "time.monotonic": time.monotonic,
    "time.sleep": time.sleep,
    "os.read": os.read,
    "os.pipe": os.pipe,
}


def _all_real() -> bool:
    return (
        socket.socket is REAL["socket.socket"]
        and socket.getaddrinfo is REAL["socket.getaddrinfo"]
        and select.select is REAL["select.select"]
        and time.time is REAL["time.time"]
        and time.monotonic is REAL["time.monotonic"]
        and time.sleep is REAL["time.sleep"]
        and os.read is REAL["os.read"]
        and os.pipe is REAL["os.pipe"]
    )


class Upper(asyncore.dispatcher_with_send):
    def handle_read(self) -> None:
        data = self.recv(4096)
        if data:
            self.send(data.upper())


class UpperServer(asyncore.dispatcher):
    def __init__(self, map: Any, port: int = 7000) -> None:
        asyncore.dispatcher.__init__(self, map=map)
        self.create_socket()
        self.bind(("127.0.0.1", port))
        self.listen(5)

    def handle_accepted(self, sock: Any, addr: Any) -> None:
        Upper(sock, map=self._map)


# -- blocking calls run the rest of the world --------------------------------------


def test_a_blocking_recv_runs_the_server_in_its_map_without_a_world() -> None:
    net = FakeNetwork(world=False)
    UpperServer(net.map())
    client = net.socket()
    client.settimeout(5)
    client.connect(("127.0.0.1", 7000))
    client.sendall(b"hello")
    assert client.recv(100) == b"HELLO"
    assert net.now == 0.0
    with pytest.raises(socket.timeout):
        client.recv(100)
    assert net.now == 5.0  # the timeout passed in virtual time


def test_a_blocking_call_that_can_never_complete_is_stuck_not_hung() -> None:
    net = FakeNetwork(world=False)
    UpperServer(net.map())
    client = net.socket()
    client.connect(("127.0.0.1", 7000))  # blocking, no timeout
    with pytest.raises(SimulationStuck, match=r"blocking recv\(\) on fd \d+ can never"):
        client.recv(100)


def test_a_blocking_call_from_a_callback_runs_other_maps_not_its_own() -> None:
    """A server that flushes synchronously: its map is not re-entered."""
    net = FakeNetwork(world=False)
    upstream_map, front_map = net.map(), net.map()
    UpperServer(upstream_map, port=7001)
    answers: List[bytes] = []

    class Front(asyncore.dispatcher):
        def __init__(self, map: Any) -> None:
            asyncore.dispatcher.__init__(self, map=map)
            self.create_socket()
            self.bind(("127.0.0.1", 7002))
            self.listen(5)

        def handle_accepted(self, sock: Any, addr: Any) -> None:
            # Ask upstream with a blocking socket, from inside a callback.
            up = net.socket()
            up.connect(("127.0.0.1", 7001))
            up.sendall(b"abc")
            answers.append(up.recv(10))
            up.close()
            sock.close()

    Front(front_map)
    client = net.socket()
    client.settimeout(1)
    client.connect(("127.0.0.1", 7002))
    assert client.recv(10) == b""  # the front closed after answering upstream
    assert answers == [b"ABC"]


# -- the switch --------------------------------------------------------------------


def test_the_world_replaces_the_modules_and_puts_them_back_after_an_error() -> None:
    net = FakeNetwork()
    assert _all_real()
    with pytest.raises(ZeroDivisionError):
        with net:
            assert active_world() is net
            assert socket.socket is not REAL["socket.socket"]
            assert time.time() == net.epoch
            1 / 0
    assert _all_real()
    assert active_world() is None
    assert time.time() > 1.7e9


def test_worlds_do_not_nest() -> None:
    a, b = FakeNetwork(), FakeNetwork()
    with a:
        with pytest.raises(SimulationError, match="worlds do not nest"):
            with b:
                pass
        assert active_world() is a
    assert _all_real()


def test_a_network_can_opt_out_of_the_world() -> None:
    with FakeNetwork(world=False):
        assert _all_real()


def test_stdlib_client_code_gets_simulated_sockets() -> None:
    net = FakeNetwork(names={"up.example": "192.0.2.7"})
    with net:
        UpperServer(net.map(), port=80)
        conn = socket.create_connection(("127.0.0.1", 80), timeout=3)
        assert isinstance(conn, socket.socket)
        assert conn.fileno() >= WORLD_FIRST_FD
        assert conn.family == socket.AF_INET and conn.type == socket.SOCK_STREAM
        f = conn.makefile("rwb")
        f.write(b"line one\n")
        f.flush()
        assert conn.recv(100) == b"LINE ONE\n"
        conn.close()  # the file still holds the descriptor, as on CPython
        assert conn.fileno() != -1
        f.close()
        assert conn.fileno() == -1
        assert socket.gethostname() == "sim-host" == socket.getfqdn()
        assert socket.gethostbyname("up.example") == "192.0.2.7"
        (family, kind, _, _, addr), = socket.getaddrinfo("up.example", "80")
        assert (family, kind, addr) == (socket.AF_INET, socket.SOCK_STREAM,
                                        ("192.0.2.7", 80))
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("nowhere.invalid", 80)


def test_settimeout_takes_what_cpython_takes() -> None:
    net = FakeNetwork()
    with net:
        s = socket.socket()
        for bad, error in [
            (socket._GLOBAL_DEFAULT_TIMEOUT, TypeError),  # type: ignore[attr-defined]
            ("1", TypeError),
            (-1, ValueError),
            (float("nan"), ValueError),
        ]:
            with pytest.raises(error):
                s.settimeout(bad)
        s.settimeout(True)
        assert s.gettimeout() == 1.0
        s.close()


def test_clocks_are_virtual_and_sleep_runs_the_world() -> None:
    net = FakeNetwork(epoch=1_234_567_890.0)
    with net:
        assert time.time() == 1_234_567_890.0
        assert time.time_ns() == 1_234_567_890 * 10**9
        assert time.monotonic() == time.perf_counter() == 0.0
        time.sleep(2.5)
        assert time.monotonic() == 2.5 and time.monotonic_ns() == 2_500_000_000
        assert time.time() == 1_234_567_892.5


def test_the_runner_keeps_real_time_and_threads_keep_real_time() -> None:
    runner = types.ModuleType("hypothesis._fake_runner_module")
    exec("import time\ndef now():\n    return time.time()\n", runner.__dict__)
    seen: List[float] = []
    with FakeNetwork():
        assert time.time() == 1_000_000_000.0
        assert runner.now() > 1.7e9  # type: ignore[attr-defined]
        t = threading.Thread(target=lambda: seen.append(time.time()))
        t.start()
        t.join()
    assert seen and seen[0] > 1.7e9


def test_a_name_imported_before_the_world_is_replaced_and_restored() -> None:
    mod = types.ModuleType("app_with_captured_names")
    exec(
        "import time\nfrom time import monotonic\ntimer = time.monotonic\n",
        mod.__dict__,
    )
    sys.modules[mod.__name__] = mod
    try:
        with FakeNetwork() as net:
            time.sleep(3)
            assert mod.monotonic() == mod.timer() == 3.0 == net.now  # type: ignore[attr-defined]
        assert mod.monotonic is REAL["time.monotonic"]  # type: ignore[attr-defined]
        assert mod.timer is REAL["time.monotonic"]  # type: ignore[attr-defined]
    finally:
        del sys.modules[mod.__name__]


def test_modules_imported_between_worlds_are_found_and_repeated_entries_agree() -> None:
    # Later entries replace only the names the last scan found while
    # sys.modules is unchanged; a module imported since is scanned.
    with FakeNetwork():
        pass
    late = types.ModuleType("app_imported_after_a_world")
    exec("from time import monotonic\nfrom socket import socket\n", late.__dict__)
    sys.modules[late.__name__] = late
    try:
        for _ in range(3):
            with FakeNetwork() as net:
                time.sleep(1)
                assert late.monotonic() == 1.0 == net.now  # type: ignore[attr-defined]
                assert late.socket is socket.socket  # type: ignore[attr-defined]
            assert late.monotonic is REAL["time.monotonic"]  # type: ignore[attr-defined]
            assert late.socket is REAL["socket.socket"]  # type: ignore[attr-defined]
    finally:
        del sys.modules[late.__name__]
    with FakeNetwork():  # and after it is gone, entries still work
        assert time.monotonic() == 0.0


def test_an_application_select_loop_and_selectors_see_simulated_readiness() -> None:
    net = FakeNetwork()
    with net:
        UpperServer(net.map(), port=7010)
        c = socket.create_connection(("127.0.0.1", 7010))
        c.setblocking(False)
        r, w, x = select.select([c], [c], [], 1.0)
        assert r == [] and w == [c] and x == []
        c.send(b"ping")
        r, _, _ = select.select([c], [], [], 5.0)  # the server answers meanwhile
        assert r == [c] and c.recv(10) == b"PING"
        start = time.monotonic()
        assert select.select([c], [], [], 2.0) == ([], [], [])
        assert time.monotonic() - start == 2.0
        p = select.poll()
        p.register(c, select.POLLIN | select.POLLOUT)
        assert p.poll(0) == [(c.fileno(), select.POLLOUT)]
        with selectors.DefaultSelector() as sel:
            sel.register(c, selectors.EVENT_READ)
            c.send(b"x")
            events = sel.select(timeout=1)
            assert [(key.fileobj, mask) for key, mask in events] == [
                (c, selectors.EVENT_READ)
            ]
        c.close()


def test_real_descriptors_are_refused_by_name_in_a_simulated_wait() -> None:
    r, w = os.pipe()  # a real pipe, made before the world
    try:
        with FakeNetwork():
            message = "descriptor %d is not a simulated" % r
            with pytest.raises(SimulationError, match=message):
                select.select([r], [], [], 0)
    finally:
        os.close(r)
        os.close(w)


def test_os_calls_on_simulated_descriptors_go_to_the_network() -> None:
    with FakeNetwork() as net:
        r, w = os.pipe()
        assert r >= WORLD_FIRST_FD and net.open_fds() == [r, w]
        assert os.write(w, b"wake") == 4
        assert os.read(r, 10) == b"wake"
        os.close(r)
        os.close(w)
        assert net.open_fds() == []


@pytest.mark.skipif(not hasattr(os, "sendfile"), reason="no os.sendfile here")
def test_os_sendfile_from_a_real_file_to_a_simulated_socket() -> None:
    payload = bytes(range(256)) * 1024
    with tempfile.TemporaryFile() as f:
        f.write(payload)
        f.flush()
        with FakeNetwork(world=True) as net:
            a, b = net.socketpair()
            sent = os.sendfile(a.fileno(), f.fileno(), 0, 100_000)
            assert sent == 65536  # what the connection's buffer takes
            assert b.recv(200_000) == payload[:sent]


def test_another_thread_cannot_make_a_socket_in_the_world() -> None:
    errors: List[BaseException] = []

    def server_thread() -> None:
        try:
            socket.socket()
        except BaseException as exc:  # noqa: B902 - reported to the test
            errors.append(exc)

    with FakeNetwork():
        t = threading.Thread(target=server_thread)
        t.start()
        t.join()
    assert len(errors) == 1 and isinstance(errors[0], WorldThreadError)
    assert "belongs to one thread" in str(errors[0])


def test_a_world_run_twice_gives_the_same_events() -> None:
    def run() -> List[str]:
        net = FakeNetwork(seed=3)
        with net:
            UpperServer(net.map(), port=7020)
            c = socket.create_connection(("127.0.0.1", 7020), timeout=1)
            stamp = time.time()
            c.sendall(b"%f" % stamp)
            assert c.recv(100) == (b"%f" % stamp).upper()
            c.close()
        return net.event_lines()

    first = run()
    assert first == run()
    assert len(first) > 10


def test_makefile_text_mode_reads_lines() -> None:
    net = FakeNetwork()
    with net:
        UpperServer(net.map(), port=7030)
        c = socket.create_connection(("127.0.0.1", 7030), timeout=1)
        text = c.makefile("rw", encoding="ascii", newline="\r\n")
        assert isinstance(text, io.TextIOWrapper)
        text.write("one\ntwo\n")  # newline="\r\n" writes CRLF
        text.flush()
        assert text.readline() == "ONE\r\n"
        assert text.readline() == "TWO\r\n"
        text.close()
        c.close()


def test_calendar_clocks_and_datetime_agree_with_the_virtual_clock() -> None:
    import datetime as dt
    from email.utils import formatdate

    real_datetime = dt.datetime
    with FakeNetwork(epoch=1_234_567_890.0) as net:
        time.sleep(10)
        now = dt.datetime.now()
        assert type(now) is real_datetime and isinstance(now, dt.datetime)
        assert now == real_datetime(2009, 2, 13, 23, 31, 40)  # the host keeps UTC
        assert dt.datetime.now(dt.timezone.utc).timestamp() == net.epoch + 10
        assert dt.date.today() == dt.date(2009, 2, 13)
        assert time.strftime("%Y-%m-%d %H:%M:%S") == "2009-02-13 23:31:40"
        assert time.localtime()[:6] == time.gmtime()[:6] == (2009, 2, 13, 23, 31, 40)
        assert formatdate(usegmt=True) == "Fri, 13 Feb 2009 23:31:40 GMT"
        assert dt.datetime(2020, 1, 2).year == 2020
    assert dt.datetime is real_datetime
    assert dt.datetime.now().year >= 2025


def test_a_real_socket_in_a_simulated_map_is_named_not_ebadf() -> None:
    net = FakeNetwork(world=False)
    m = net.map()
    real = REAL["socket.socket"]()
    try:
        asyncore.dispatcher(real, map=m)
        with pytest.raises(SimulationError) as info:
            asyncore.loop(0, map=m, count=1)
        message = str(info.value)
        assert "descriptor %d" % real.fileno() in message
        assert "never made by that network" in message
        assert "It belongs to dispatcher (socket <socket.socket" in message
        assert "in a NetworkMap" in message
    finally:
        asyncore.close_all(m)


def test_a_blocking_call_from_another_thread_is_refused() -> None:
    errors: List[BaseException] = []
    with FakeNetwork() as net:
        UpperServer(net.map(), port=7040)
        c = socket.create_connection(("127.0.0.1", 7040))

        def reader() -> None:
            try:
                c.recv(10)
            except BaseException as exc:  # noqa: B902 - reported to the test
                errors.append(exc)

        t = threading.Thread(target=reader)
        t.start()
        t.join()
        c.close()
    assert len(errors) == 1 and isinstance(errors[0], WorldThreadError)
    assert "recv() on simulated fd" in str(errors[0])


def test_non_blocking_calls_from_another_thread_are_refused_too() -> None:
    """Not only calls that would wait: any socket call on a simulated socket
    from a thread that is not the world's gets WorldThreadError, naming it."""
    errors: List[BaseException] = []
    with FakeNetwork() as net:
        UpperServer(net.map(), port=7041)
        c = socket.create_connection(("127.0.0.1", 7041))
        c.setblocking(False)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 7042))
        listener.listen(1)
        listener.setblocking(False)
        fresh = socket.socket()
        fresh.setblocking(False)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        calls = [
            ("send", lambda: c.send(b"x")),
            ("recv", lambda: c.recv(10)),
            ("accept", listener.accept),
            ("connect", lambda: fresh.connect_ex(("127.0.0.1", 7041))),
            ("sendto", lambda: udp.sendto(b"x", ("127.0.0.1", 9))),
        ]

        def other() -> None:
            for _, call in calls:
                try:
                    call()
                except BaseException as exc:  # noqa: B902 - reported to the test
                    errors.append(exc)

        t = threading.Thread(target=other)
        t.start()
        t.join()
        # The world's own thread still may.
        assert c.send(b"y") == 1
        for s in (c, listener, fresh, udp):
            s.close()
    assert [type(e) for e in errors] == [WorldThreadError] * len(calls)
    for (name, _), err in zip(calls, errors):
        assert "%s() on simulated fd" % name in str(err)
    # Outside a world, threads are free again (nothing to guard).
    plain = FakeNetwork(world=False)
    a, b = plain.socketpair()
    t = threading.Thread(target=lambda: a.send(b"z"))
    t.start()
    t.join()
    assert b.recv(1) == b"z"
